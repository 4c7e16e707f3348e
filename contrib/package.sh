#!/usr/bin/env bash
# Build the Debian package of berth, berth_VERSION_ARCH.deb, from this tree.
#
#   contrib/package.sh [OUTDIR]     (default: the current directory)
#
# A release build (--buildtype=release --prefix=/usr) in BERTH_PKG_BUILD
# (default build-release/ in the source tree; set up on the first run,
# reconfigured and rebuilt on later ones) is installed with `meson install
# --destdir --strip` into a staging tree: berth in /usr/bin, berth(1) and
# berth-manifests(5) gzipped in /usr/share/man, the completions in
# /usr/share/bash-completion/completions, /usr/share/zsh/vendor-completions
# and /usr/share/fish/vendor_completions.d, the units in
# /lib/systemd/system. The package depends on the libraries berth links
# with (dpkg-shlibdeps) and on adduser for contrib/debian/postinst, which
# creates the system users berth and berth-agent; prerm and postrm leave
# the state, the configuration and the users alone. Prints the path of
# the package. Needs the build dependencies and dpkg-dev.
#
#   DEBFULLNAME, DEBEMAIL   the Maintainer field (as dch reads them)
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-.}
mkdir -p "$out"
out=$(cd "$out" && pwd)
build=${BERTH_PKG_BUILD:-$src/build-release}

opts=(--buildtype=release --prefix=/usr -Dbench=false -Dsystemdunitdir=/lib/systemd/system)
if [ -f "$build/build.ninja" ]; then
	meson setup --reconfigure "$build" "$src" "${opts[@]}" >/dev/null
else
	meson setup "$build" "$src" "${opts[@]}" >/dev/null
fi
meson compile -C "$build" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/berth-package.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
# dpkg-shlibdeps wants the files in debian/PACKAGE of a source tree,
# with a DEBIAN directory
root=$work/debian/berth
meson install -C "$build" --destdir "$root" --no-rebuild --strip --quiet
gzip -9n "$root"/usr/share/man/man*/*
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -exec chmod 0644 {} +
chmod 0755 "$root"/usr/bin/*

version=$(meson introspect --projectinfo "$build" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
arch=$(dpkg --print-architecture)
mkdir -m 0755 "$root/DEBIAN"
printf 'Source: berth\n\nPackage: berth\nArchitecture: any\n' > "$work/debian/control"
shlibs=$(cd "$work" && dpkg-shlibdeps -O -edebian/berth/usr/bin/berth)
shlibs=${shlibs#shlibs:Depends=}
[ -n "$shlibs" ] || { echo "contrib/package.sh: dpkg-shlibdeps found no libraries" >&2; exit 1; }

# /usr/share/doc/berth: the licence as Debian's copyright file, and a changelog
mkdir -p -m 0755 "$root/usr/share/doc/berth"
{
	printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n'
	printf 'Upstream-Name: berth\n\nFiles: *\nCopyright: 2026 the berth authors\nLicense: MIT\n'
	sed -n '/^Permission/,$p' "$src/LICENSE" | sed 's/^$/./; s/^/ /'
} > "$root/usr/share/doc/berth/copyright"
printf 'berth (%s) stable; urgency=medium\n\n  * Release %s.\n\n -- %s <%s>  %s\n' \
	"$version" "$version" "${DEBFULLNAME:-berth}" "${DEBEMAIL:-berth@berth.invalid}" \
	"$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(git -C "$src" log -1 --format=%ct 2>/dev/null || echo 0)}")" |
	gzip -9n > "$root/usr/share/doc/berth/changelog.Debian.gz"
chmod 0644 "$root/usr/share/doc/berth/copyright" "$root/usr/share/doc/berth/changelog.Debian.gz"

for s in postinst prerm postrm; do
	install -m 0755 "$src/contrib/debian/$s" "$root/DEBIAN/$s"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
	xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
cat > "$root/DEBIAN/control" <<X
Package: berth
Version: $version
Architecture: $arch
Maintainer: ${DEBFULLNAME:-berth} <${DEBEMAIL:-berth@berth.invalid}>
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Depends: adduser, $shlibs
Suggests: incus
Section: admin
Priority: optional
Description: declarative reconciler for Incus hosting fleets
 berth reads the manifests of Incus hosts, clusters, resource pools,
 plans, images and instances from a git commit, checks them, converges
 the servers with them and records every change in an append-only,
 hash-chained ledger. Its agent on every host sends signed reports of
 the host and its instances to berth serve.
 .
 The package has berth, its man pages and shell completions, and the
 systemd units for the control host (berth-reconcile.timer,
 berth-serve.service) and for each host (berth-agent.service).
X
chmod 0644 "$root/DEBIAN/control"
deb=$out/berth_${version}_${arch}.deb
dpkg-deb --build --root-owner-group "$root" "$deb" >/dev/null
echo "$deb"
