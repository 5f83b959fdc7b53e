#!/bin/sh
# make-run.sh BIN RUNDIR - start a private postern instance for trying it out.
#
# Everything lives in RUNDIR: conf/, queue/, mail/ and maillog. It listens
# on 127.0.0.1:2525 and delivers every recipient at localhost to one
# Maildir, RUNDIR/mail/Maildir, as the invoking user (as postern's
# mail_owner when run by root).
set -e
BIN=$1
RUN=$2
mkdir -p "$RUN/conf" "$RUN/mail"
if [ "$(id -u)" = 0 ]; then
	id postern >/dev/null 2>&1 ||
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin postern
	owner=postern
else
	owner=$(id -un)
fi
uid=$(id -u "$owner")
gid=$(id -g "$owner")
chown "$uid:$gid" "$RUN/mail"
chmod 755 "$RUN"
"$BIN/postern" -c "$RUN/conf" stop >/dev/null 2>&1 || true
cat > "$RUN/conf/main.cf" <<EOT
# Written by 'make run': a private instance in $RUN
queue_directory = $RUN/queue
daemon_directory = $BIN
command_directory = $BIN
maillog_file = $RUN/maillog
mail_owner = $owner
myhostname = localhost
mydestination =
mynetworks = 127.0.0.0/8 [::1]/128
alias_maps =
alias_database =
virtual_mailbox_domains = localhost
virtual_mailbox_base = $RUN/mail
virtual_mailbox_maps = static:Maildir/
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
EOT
cat > "$RUN/conf/master.cf" <<EOT
127.0.0.1:2525 inet n       -       y       -       -       smtpd
pickup         unix n       -       y       60      1       pickup
cleanup        unix -       -       y       -       0       cleanup
qmgr           unix n       -       y       300     1       qmgr
virtual        unix -       n       n       -       -       virtual
anvil          unix -       -       y       -       1       anvil
EOT
if [ "$(id -u)" != 0 ]; then
	# Not root: every daemon runs as you; unpriv/chroot are skipped.
	:
fi
"$BIN/postern" -c "$RUN/conf" start
cat <<EOT

postern is running from $RUN (log: $RUN/maillog).

Send it a message:
  swaks --server 127.0.0.1:2525 --to you@localhost
or
  python3 -c "import smtplib; smtplib.SMTP('127.0.0.1', 2525).sendmail('me@localhost', ['you@localhost'], 'Subject: hi\r\n\r\nhello\r\n')"

It lands in:
  $RUN/mail/Maildir/new/

Queue:  $BIN/postern -c $RUN/conf queue list
Stop:   $BIN/postern -c $RUN/conf stop
EOT
