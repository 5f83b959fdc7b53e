"""instance.py - start whole postern instances for integration tests.

Each Instance lives in its own directory: conf/ (main.cf, master.cf,
aliases), queue/ (the queue, also the daemons' chroot), mail/ (virtual
mailboxes) and maillog (maillog_file, since CI has no syslog daemon). It is
started with the real `postern -c DIR start` and stopped by PID.

Tests run as root so that privilege separation is real; the system users
they need (postern, ptalice, ptbob, ptvmail) are created here when missing.
"""
import glob
import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time

BIN = os.environ.get("POSTERN_BIN") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "bin")
HOMES = "/var/tmp/postern-test-homes"
TEST_USERS = ("ptalice", "ptbob", "ptvmail")
INSIDE = "127.0.0.1"      # in mynetworks
OUTSIDE = "127.0.0.66"    # "the internet"


def is_root():
    return os.geteuid() == 0


def ensure_users():
    """Create the mail owner and the test users (root only)."""
    if not is_root():
        return
    os.makedirs(HOMES, mode=0o755, exist_ok=True)
    os.chmod(HOMES, 0o755)
    try:
        pwd.getpwnam("postern")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell",
                        "/usr/sbin/nologin", "postern"], check=True)
    for u in TEST_USERS:
        try:
            pwd.getpwnam(u)
        except KeyError:
            subprocess.run(["useradd", "--create-home", "--home-dir",
                            os.path.join(HOMES, u), "--shell", "/bin/sh", u],
                           check=True)


def uid_of(user):
    return pwd.getpwnam(user).pw_uid


def free_port(host=INSIDE):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def maildir_of(user):
    return os.path.join(pwd.getpwnam(user).pw_dir, "Maildir")


def clear_maildir(path):
    for sub in ("new", "cur", "tmp"):
        for f in glob.glob(os.path.join(path, sub, "*")):
            os.unlink(f)


def read_maildir(path):
    """Messages in path/new, oldest first, as bytes."""
    files = sorted(glob.glob(os.path.join(path, "new", "*")),
                   key=os.path.getmtime)
    out = []
    for f in files:
        with open(f, "rb") as fh:
            out.append(fh.read())
    return out


def wait_for(predicate, timeout=20.0, interval=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    return predicate()


def wait_maildir(path, count=1, timeout=20.0):
    wait_for(lambda: len(glob.glob(os.path.join(path, "new", "*"))) >= count,
             timeout)
    return read_maildir(path)


MASTER_CF = """\
# service      type private unpriv chroot wakeup maxproc command
{listen}      inet  n       -       y       -       {smtpd_procs} smtpd
pickup         unix  n       -       y       60      1       pickup
cleanup        unix  -       -       y       -       0       cleanup
qmgr           unix  n       -       y       300     1       qmgr
local          unix  -       n       n       -       -       local
virtual        unix  -       n       n       -       -       virtual
bounce         unix  -       -       y       -       0       bounce
anvil          unix  -       -       y       -       1       anvil
"""

# The outbound agents (issue 4): the smtp program as the smtp, relay and
# lmtp services. Not in MASTER_CF, whose tests expect mail to remote
# domains to wait ("outbound delivery is not available").
MASTER_CF_OUTBOUND = MASTER_CF + """\
smtp           unix  -       -       y       -       -       smtp
relay          unix  -       -       y       -       -       smtp
lmtp           unix  -       -       n       -       -       smtp
"""


class Instance:
    """One postern instance in its own directory."""

    def __init__(self, name="t", main=None, master_cf=None, smtpd_procs=2,
                 listen_host=INSIDE, netns=None, port=None):
        ensure_users()
        base = "/var/tmp/postern-tests"
        os.makedirs(base, mode=0o755, exist_ok=True)
        os.chmod(base, 0o755)
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=base)
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "conf")
        self.queue = os.path.join(self.dir, "queue")
        self.mail = os.path.join(self.dir, "mail")
        self.log = os.path.join(self.dir, "maillog")
        os.makedirs(self.conf)
        os.makedirs(self.mail)
        self.host = listen_host
        # netns: a test/netns.py NetNS; master and every daemon then run
        # inside it (`ip netns exec`), and the test's clients connect there.
        self.netns = netns
        if port is not None:
            self.port = port
        elif netns is not None:
            with netns.entered():
                self.port = free_port(listen_host)
        else:
            self.port = free_port(listen_host)
        if is_root():
            os.chown(self.mail, uid_of("ptvmail"), uid_of("ptvmail"))
        settings = {
            "queue_directory": self.queue,
            "daemon_directory": BIN,
            "command_directory": BIN,
            "maillog_file": self.log,
            "myhostname": "mx.example.test",
            "mydomain": "example.test",
            "mydestination": "$myhostname, example.test, localhost",
            "mynetworks": "127.0.0.1/32 [::1]/128",
            "alias_maps": "lmdb:" + os.path.join(self.conf, "aliases"),
            "alias_database": "lmdb:" + os.path.join(self.conf, "aliases"),
            "virtual_mailbox_domains": "virtual.test",
            "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": "inline:{ {carol@virtual.test=carol/}, "
                                    "{dave@virtual.test=dave/} }",
            "virtual_uid_maps": "static:%d" % (uid_of("ptvmail") if is_root() else os.getuid()),
            "virtual_gid_maps": "static:%d" % (uid_of("ptvmail") if is_root() else os.getgid()),
            "virtual_alias_maps": "inline:{ {team@example.test=ptalice@example.test,ptbob@example.test}, "
                                  "{info@virtual.test=carol@virtual.test} }",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "message_size_limit": "10240000",
            "minimal_backoff_time": "2s",
            # Sanitizer builds: reports land in the queue directory (see
            # sanitizer_reports()), which is every daemon's cwd and jail.
            "import_environment": "MAIL_CONFIG TZ LANG=C ASAN_OPTIONS "
                                  "UBSAN_OPTIONS",
            "maximal_backoff_time": "4s",
        }
        settings.update(main or {})
        self.settings = settings
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            for k, v in settings.items():
                f.write(f"{k} = {v}\n")
        listen = f"{listen_host}:{self.port}"
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write((master_cf or MASTER_CF).format(listen=listen,
                                                    smtpd_procs=smtpd_procs))
        self.write_aliases("postmaster: ptalice\n"
                           "staff: ptalice, ptbob\n"
                           "alice: ptalice\n")

    # -- files -------------------------------------------------------------
    def write_aliases(self, text):
        path = os.path.join(self.conf, "aliases")
        with open(path, "w") as f:
            f.write(text)
        self.postern("map", "build", path, check=True)

    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def vmaildir(self, name):
        return os.path.join(self.mail, name)

    def queue_files(self, sub=None):
        subs = [sub] if sub else ["incoming", "active", "deferred", "hold"]
        out = []
        for s in subs:
            out += [f for f in glob.glob(os.path.join(self.queue, s, "*"))
                    if not os.path.basename(f).startswith(".")]
        return out

    # -- commands ----------------------------------------------------------
    def postern(self, *args, check=False, input=None, user=None):
        cmd = [os.path.join(BIN, "postern"), "-c", self.conf] + list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, input=input,
                           timeout=60, user=user)
        if check and p.returncode != 0:
            raise AssertionError(f"{cmd} failed: {p.stdout}{p.stderr}")
        return p

    def sendmail(self, args, message, user=None):
        cmd = [os.path.join(BIN, "sendmail"), "-C", self.conf] + list(args)
        return subprocess.run(cmd, input=message, capture_output=True,
                              timeout=60, user=user)

    def start(self):
        if self.netns is not None:
            p = self.netns.run([os.path.join(BIN, "postern"), "-c", self.conf,
                                "start"])
            if p.returncode != 0:
                raise AssertionError(f"postern start in {self.netns.name} "
                                     f"failed: {p.stdout}{p.stderr}")
            wait_for(lambda: self.can_connect(), 10)
            return self
        self.postern("start", check=True)
        wait_for(lambda: self.can_connect(), 10)
        return self

    def stop(self):
        self.postern("stop")
        pid = self.master_pid()
        if pid:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def cleanup(self):
        self.stop()
        reports = self.sanitizer_reports()
        if not os.environ.get("POSTERN_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        if reports:
            raise AssertionError("sanitizer reports from the daemons:\n" +
                                 "\n".join(reports))

    def sanitizer_reports(self):
        """ASan/UBSan reports the daemons wrote (test/run.py sets
        log_path=sanitizer, relative to the queue directory)."""
        out = []
        for f in sorted(glob.glob(os.path.join(self.queue, "sanitizer.*"))):
            with open(f, errors="replace") as fh:
                out.append(f"--- {f}\n{fh.read()[-4000:]}")
        return out

    def can_connect(self):
        if self.netns is not None:
            return self.netns.can_connect(self.host, self.port)
        try:
            with socket.create_connection((self.host, self.port), 1):
                return True
        except OSError:
            return False

    # -- clients -----------------------------------------------------------
    def smtp(self, source=INSIDE, timeout=30):
        if self.netns is not None:
            with self.netns.entered():
                return smtplib.SMTP(self.host, self.port, timeout=timeout,
                                    source_address=(source, 0))
        return smtplib.SMTP(self.host, self.port, timeout=timeout,
                            source_address=(source, 0))

    def raw(self, source=INSIDE, timeout=10):
        """A bare socket to the server, for protocol abuse tests."""
        s = socket.create_connection((self.host, self.port), timeout,
                                     source_address=(source, 0))
        return RawClient(s)

    def daemon_pids(self, name):
        """PIDs of this instance's processes running daemon NAME."""
        out = []
        for d in glob.glob("/proc/[0-9]*"):
            try:
                with open(d + "/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if (argv and os.path.basename(argv[0]) == name.encode() and
                    self.conf.encode() in argv):
                out.append(int(os.path.basename(d)))
        return out


class RawClient:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self):
        """One whole (possibly multi-line) reply: (code, text)."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return (None, b"".join(lines).decode(errors="replace"))
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                break
        code = int(lines[-1][:3]) if lines[-1][:3].isdigit() else None
        return code, "\n".join(l.decode(errors="replace") for l in lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
        except OSError:
            return True

    def close(self):
        self.sock.close()
