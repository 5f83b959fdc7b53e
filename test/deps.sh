#!/bin/sh
# deps.sh - install the Debian packages postern builds and tests with.
#
# Run by `make deps` (and so by `make test` and `make run`). As root it
# installs whatever is missing; as a normal user it only says what is
# missing. Nothing is downloaded from anywhere but Debian's archive.
#
# The outbound tests (issue 4) play DNS (nsd), a test CA (openssl), Dovecot
# (LMTP target) and Postfix; their packages must not leave system-wide
# daemons running: service starts are denied while installing (a
# policy-rc.d of our own when none exists) and any that started anyway
# are stopped afterwards.
set -e
PKGS="gcc make clang libc6-dev liblmdb-dev libpcre2-dev lmdb-utils swaks
python3 libclang-rt-14-dev procps iproute2 passwd
libldns-dev libssl-dev
nsd openssl dovecot-core dovecot-lmtpd postfix dnsutils
libsasl2-dev sasl2-bin libsasl2-modules msmtp curl
libnet-ssleay-perl
fail2ban python3-yaml"
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
# postfix asks debconf questions; answer them for a machine that sends
# nothing by itself (the tests configure their own Postfix instances).
echo "postfix postfix/main_mailer_type select No configuration" |
	debconf-set-selections 2>/dev/null || true
# Deny service starts during the install (invoke-rc.d honours policy-rc.d);
# remove our policy afterwards, keep one that was there before.
ourpolicy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	ourpolicy=1
fi
trap 'if [ -n "$ourpolicy" ]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
# Daemons already running before the install are the admin's; leave them.
before=""
for d in nsd dovecot; do
	pidof "$d" >/dev/null 2>&1 && before="$before $d"
done
f2b_before=$(pgrep -f fail2ban-server 2>/dev/null || true)
apt-get install -y -q --no-install-recommends $missing >/dev/null ||
	{ apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null; }
# Whatever started anyway (no init system: postinst scripts may run the
# daemons directly) must not hold ports 53/24/143 system-wide.
for d in nsd dovecot; do
	case " $before " in *" $d "*) continue ;; esac
	pids=$(pidof "$d" 2>/dev/null) || continue
	echo "deps: stopping the $d the package started"
	(service "$d" stop || kill $pids) >/dev/null 2>&1 || true
done
# fail2ban: the tests run only fail2ban-regex; a server the package
# started would ban the test clients' addresses.
if [ -z "$f2b_before" ] && pgrep -f fail2ban-server >/dev/null 2>&1; then
	echo "deps: stopping the fail2ban the package started"
	fail2ban-client stop >/dev/null 2>&1 || true
fi
exit 0
