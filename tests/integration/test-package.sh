#!/usr/bin/env bash
# contrib/package.sh builds a Debian package of this tree that installs
# into a fresh Debian 12 (debootstrap --variant=minbase) with apt-get
# resolving its dependencies from the Debian mirror; there berth version
# and berth --help run, the man pages, completions and units are in their
# places, bash completes with the installed script, the system users
# exist, and dpkg -r and --purge remove berth and leave its state,
# configuration and users alone; installing it again finds them in place.
# The release build and the pristine chroot (a tarball) are kept under
# the build directory, so that later runs skip the compile and the
# download. Needs root (chroot), debootstrap, dpkg-dev and the mirror.
. "$SOURCE_ROOT/tests/integration/lib.sh"

[ "$(id -u)" = 0 ] || { echo "needs root (chroot)"; exit 77; }
for t in debootstrap dpkg-deb dpkg-shlibdeps; do
	command -v "$t" >/dev/null || { echo "needs $t"; exit 77; }
done
MIRROR=${BERTH_DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=$BUILD_ROOT/package-test
R=$T/root

# Whatever is mounted below $T (debootstrap mounts /proc and /sys in its
# target while it works) is unmounted, deepest first.
test_cleanup() {
	awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount "$m" || umount -l "$m"; done
}

mkdir -p "$CACHE"
if BERTH_PKG_BUILD=$CACHE/build "$SOURCE_ROOT/contrib/package.sh" "$T/pkg" >"$T/deb" 2>"$T/package.log"; then
	pass "contrib/package.sh builds a package"
else
	fail "contrib/package.sh:"; sed 's/^/    | /' "$T/package.log"; finish
fi
version=$("$BERTH" version --format json | jq -r .version)
arch=$(dpkg --print-architecture)
deb=$(cat "$T/deb")
[ "$deb" = "$T/pkg/berth_${version}_${arch}.deb" ] && [ -s "$deb" ] &&
	pass "it is berth_${version}_${arch}.deb" || fail "the package is \"$deb\""
dpkg-deb -f "$deb" Depends >"$T/depends"
for d in adduser libc6 libcurl4 libgit2 libjansson4 libmicrohttpd libsqlite3-0 libssl3 libyaml-0-2; do
	has "it depends on $d" "$T/depends" "$d"
done

# A pristine Debian 12, made once.
tarball=$CACHE/bookworm-minbase.tar
if [ ! -s "$tarball" ]; then
	if debootstrap --variant=minbase bookworm "$T/boot" "$MIRROR" >"$T/debootstrap.log" 2>&1; then
		tar -C "$T/boot" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
		rm -rf --one-file-system "${T:?}/boot"
	else
		fail "debootstrap:"; tail -n 20 "$T/debootstrap.log" | sed 's/^/    | /'; finish
	fi
fi
mkdir "$R"
tar -C "$R" -xf "$tarball"
cp /etc/resolv.conf "$R/etc/resolv.conf"
cp "$deb" "$R/tmp/"
grep -qx '12\(\..*\)\?' "$R/etc/debian_version" && pass "the chroot is Debian $(cat "$R/etc/debian_version")" ||
	fail "the chroot is not Debian 12: $(cat "$R/etc/debian_version")"

# in_root CMD...: CMD in the chroot, with a clean environment.
in_root() {
	chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}
# expect_in NAME WANT-EXIT CMD...: expect, also showing the end of the
# standard output when it fails (apt and dpkg say there what went wrong).
expect_in() {
	local before=$fails
	expect "$@"
	if [ "$fails" != "$before" ]; then tail -n 15 "$T/out" | sed 's/^/    | /'; fi
}

expect_in "apt-get update in the chroot" 0 in_root apt-get update -q
[ ! -e "$R/usr/bin/berth" ] && pass "the chroot has no berth before" || fail "the chroot has a berth already"
expect_in "apt-get install ./${deb##*/}" 0 in_root apt-get install -y -q --no-install-recommends "/tmp/${deb##*/}"
has "apt-get installed the libraries too" "$T/out" "libgit2-1.5"
expect "berth version in the chroot" 0 in_root berth version
has "it is this version" "$T/out" "berth $version"
expect "berth --help in the chroot" 0 in_root berth --help
has "the help lists the commands" "$T/out" "reconcile"
in_root ldd /usr/bin/berth >"$T/ldd" 2>&1
grep -q 'not found' "$T/ldd" && { fail "a library is missing:"; grep 'not found' "$T/ldd"; } ||
	pass "every library berth needs is installed"

missing=
for f in /usr/share/man/man1/berth.1.gz /usr/share/man/man5/berth-manifests.5.gz \
	/usr/share/bash-completion/completions/berth /usr/share/zsh/vendor-completions/_berth \
	/usr/share/fish/vendor_completions.d/berth.fish /lib/systemd/system/berth-reconcile.service \
	/lib/systemd/system/berth-reconcile.timer /lib/systemd/system/berth-serve.service \
	/lib/systemd/system/berth-agent.service /usr/share/doc/berth/copyright \
	/usr/share/doc/berth/changelog.Debian.gz; do
	[ -s "$R$f" ] || missing="$missing $f"
done
grep -q '^License: MIT$' "$R/usr/share/doc/berth/copyright" && pass "the copyright file names the licence" ||
	fail "copyright: $(head -5 "$R/usr/share/doc/berth/copyright")"
[ -z "$missing" ] && pass "man pages, completions and units are installed" || fail "not installed:$missing"
"$BERTH" help --man >"$T/berth.1"
gzip -dc "$R/usr/share/man/man1/berth.1.gz" | cmp -s - "$T/berth.1" &&
	pass "the installed berth(1) is this berth's" || fail "the installed berth(1) differs"
grep -q '^ExecStart=/usr/bin/berth ' "$R/lib/systemd/system/berth-serve.service" &&
	pass "the units run /usr/bin/berth" || fail "berth-serve.service runs another berth"
# shellcheck disable=SC2016
in_root bash --norc --noprofile -c '. /usr/share/bash-completion/completions/berth
	COMP_WORDS=(berth pl); COMP_CWORD=1; _berth; echo "${COMPREPLY[*]}"' >"$T/comp" 2>&1
[ "$(cat "$T/comp")" = "plan place" ] && pass "bash completes with the installed script" ||
	fail "bash completion in the chroot: $(cat "$T/comp")"

for u in berth berth-agent; do
	expect "the user $u exists" 0 in_root getent passwd "$u"
	uid=$(cut -d: -f3 "$T/out")
	[ -n "$uid" ] && [ "$uid" -lt 1000 ] && grep -q ":/var/lib/$u:/usr/sbin/nologin\$" "$T/out" &&
		pass "$u is a system user with home /var/lib/$u and no shell" || fail "$u: $(cat "$T/out")"
	expect "the group $u exists" 0 in_root getent group "$u"
done

# Removal leaves the data alone.
mkdir -p "$R/var/lib/berth" "$R/etc/berth"
echo ledger >"$R/var/lib/berth/berth.db"
echo BERTH_REPO=/srv/fleet >"$R/etc/berth/berth.env"
expect_in "dpkg -r berth" 0 in_root dpkg -r berth
[ ! -e "$R/usr/bin/berth" ] && [ ! -e "$R/lib/systemd/system/berth-serve.service" ] &&
	[ ! -e "$R/usr/share/man/man1/berth.1.gz" ] && pass "berth, its units and man pages are gone" ||
	fail "dpkg -r left berth's files"
expect_in "dpkg --purge berth" 0 in_root dpkg --purge berth
[ "$(cat "$R/var/lib/berth/berth.db")" = ledger ] && [ -s "$R/etc/berth/berth.env" ] &&
	pass "the state and the configuration stay" || fail "removal took berth's data"
in_root getent passwd berth berth-agent >"$T/users"
[ "$(wc -l < "$T/users")" = 2 ] && pass "the users stay" || fail "removal took the users"
expect_in "installing again, with the users in place" 0 in_root dpkg -i "/tmp/${deb##*/}"
expect "berth version after installing again" 0 in_root berth version
finish
