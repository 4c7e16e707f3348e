#!/usr/bin/env bash
# Build berth and run every test suite (unit, integration against a real
# Incus lab, fuzz corpus replay, ajv agreement). On a bare Debian 12, as root,
# it first installs everything it needs. Exits non-zero on any failure.
#
#   BUILDDIR=build    where to build (default: build/ in the checkout)
#   MESON_TEST_ARGS   extra arguments for `meson test` (e.g. --suite unit)
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
# shellcheck source=contrib/deps.sh
. contrib/deps.sh
berth_install_deps

builddir=${BUILDDIR:-$top/build}
setup_args=(-Dbench=true)
[ "${CI:-}" = true ] && setup_args+=(-Dwerror=true)
if [ -f "$builddir/build.ninja" ]; then
	meson setup --reconfigure "$builddir" "${setup_args[@]}" >/dev/null
else
	meson setup "$builddir" "${setup_args[@]}"
fi
meson compile -C "$builddir"

# ajv-cli, the independent JSON Schema validator the schema tests compare with.
if [ ! -x "$builddir/ajv/node_modules/.bin/ajv" ]; then
	npm install --silent --no-audit --no-fund --prefix "$builddir/ajv" ajv-cli@5 ajv-formats@2 >/dev/null
fi

# shellcheck disable=SC2086
meson test -C "$builddir" --print-errorlogs --num-processes 2 ${MESON_TEST_ARGS:-}
