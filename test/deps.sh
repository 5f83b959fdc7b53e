#!/bin/sh
# deps.sh - install the Debian packages postern builds and tests with.
#
# Run by `make deps` (and so by `make test` and `make run`). As root it
# installs whatever is missing; as a normal user it only says what is
# missing. Nothing is downloaded from anywhere but Debian's archive.
set -e
PKGS="gcc make clang libc6-dev liblmdb-dev libpcre2-dev lmdb-utils swaks
python3 libclang-rt-14-dev procps iproute2 passwd"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run 'sudo make deps' (or install them) first" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends $missing >/dev/null ||
	{ apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null; }
