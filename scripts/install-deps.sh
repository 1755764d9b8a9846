#!/bin/sh
# Install the Debian 12 packages pg_lm needs to build, test and run.
# Idempotent: does nothing when everything is already installed.
set -e
PACKAGES="build-essential clang postgresql-15 postgresql-server-dev-15 libopenblas-dev \
libutf8proc-dev libpcre2-dev libjansson-dev libxxhash-dev python3-nltk python3-gensim \
python3-jinja2"
missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
