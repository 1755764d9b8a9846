#!/bin/sh
# Build and install Citus (the distributed engine pg_lm's scale-out tests run
# on) into PostgreSQL 15, from the source in shared/peers/:
#   scripts/citus-build.sh
# Idempotent: does nothing when the citus.so this script installed from the
# same tarball and patch is in place.  The built tree is kept in
# $CITUS_BUILD_CACHE (default /var/cache/pg_lm-citus), so that a reinstall
# (after a PostgreSQL package upgrade removed the files, say) is a
# `make install` and not a fresh build.  The build skips the LLVM bitcode that
# PGXS would also compile for JIT inlining (with_llvm=no): 78 s instead of
# 140 s on two cores.
set -e
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${PG_LM_SHARED:-$(cd "$ROOT/.." && pwd)/shared}
VERSION=13.2.2
TARBALL="$SHARED/peers/citus-$VERSION.tar.gz"
PATCH="$SHARED/peers/citus-$VERSION-pg15.20.patch"
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
CACHE=${CITUS_BUILD_CACHE:-/var/cache/pg_lm-citus}
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo

[ -f "$TARBALL" ] || { echo "citus-build: $TARBALL not found (set PG_LM_SHARED)" >&2; exit 1; }
[ -x "$PG_CONFIG" ] || { echo "citus-build: $PG_CONFIG not found (run scripts/install-deps.sh)" >&2; exit 1; }

# What identifies the build: the sources' digests and the PostgreSQL it is for.
STAMP="citus $VERSION $(sha256sum "$TARBALL" | cut -c1-16) $( [ -f "$PATCH" ] && sha256sum "$PATCH" | cut -c1-16) $($PG_CONFIG --version)"
PKGLIBDIR=$($PG_CONFIG --pkglibdir)
SHAREDIR=$($PG_CONFIG --sharedir)
STAMP_FILE="$SHAREDIR/extension/citus.pg_lm-build"
if [ -f "$PKGLIBDIR/citus.so" ] && [ -f "$STAMP_FILE" ] && [ "$(cat "$STAMP_FILE")" = "$STAMP" ]; then
	exit 0
fi

# Build dependencies (beyond scripts/install-deps.sh's PostgreSQL headers).
PACKAGES="build-essential postgresql-server-dev-15 libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev"
missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "citus-build: installing:$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

$SUDO mkdir -p "$CACHE"
SRC="$CACHE/citus-$VERSION"
# A tree built from other sources, or one whose build did not finish, is built anew.
if [ ! -f "$SRC/.pg_lm-build" ] || [ "$(cat "$SRC/.pg_lm-build")" != "$STAMP" ]; then
	echo "citus-build: building Citus $VERSION in $SRC"
	$SUDO rm -rf "$SRC"
	$SUDO tar xzf "$TARBALL" -C "$CACHE"
	[ -f "$PATCH" ] && (cd "$SRC" && $SUDO patch -s -p0 <"$PATCH")
	log="$CACHE/build.log"
	if ! (cd "$SRC" && $SUDO ./configure PG_CONFIG=$PG_CONFIG && $SUDO make -j"$(nproc)" with_llvm=no) >"$log" 2>&1; then
		tail -n 60 "$log" >&2; echo "citus-build: the build failed (log: $log)" >&2; exit 1
	fi
	echo "$STAMP" | $SUDO tee "$SRC/.pg_lm-build" >/dev/null
fi
(cd "$SRC" && $SUDO make install with_llvm=no) >"$CACHE/install.log" 2>&1 \
	|| { tail -n 30 "$CACHE/install.log" >&2; echo "citus-build: make install failed" >&2; exit 1; }
echo "$STAMP" | $SUDO tee "$STAMP_FILE" >/dev/null
echo "citus-build: Citus $VERSION installed into $PKGLIBDIR"
