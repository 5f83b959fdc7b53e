"""netns.py - play several hosts with real DNS on loopback, for the
outbound tests (issue 4).

Everything lives in a network namespace the test creates (NetNS): only a
loopback interface, so every 127.0.0.0/8 address is a "host" and nothing
reaches the real network. /etc/netns/NAME/resolv.conf points at
127.0.0.53, where an nsd (Nsd) serves the test's zones; processes started
with `ip netns exec` see that file as /etc/resolv.conf (ip bind-mounts it).

  NetNS        the namespace; run()/spawn() commands in it; entered() is a
               context manager that moves the calling thread into it, so
               the test's own sockets (smtplib, DNS probes) live there too.
  Nsd          authoritative DNS from zones given as Python data.
  TestCA       a CA and server certificates made with the openssl CLI.
  CaptureSMTP  test/capture_smtp.py as a subprocess in the namespace: a
               scripted SMTP server writing each transaction as JSON.
  Postfix      a real Postfix instance in its own directory.
  Dovecot      a real Dovecot with an LMTP listener on a unix socket.

Every process is started here and stopped by its PID at teardown; the
namespace and /etc/netns/NAME go with it. Root only.
"""
import ctypes
import glob
import itertools
import json
import os
import pwd
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DNS_ADDR = "127.0.0.53"
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_counter = itertools.count()


def _wait(predicate, timeout, interval=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    return predicate()


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


class NetNS:
    """A network namespace postern-tN with loopback up."""

    def __init__(self, tag="t"):
        self.name = "postern-%s%d-%d" % (tag, os.getpid() % 100000,
                                         next(_counter))
        self.procs = []
        self.etc = os.path.join("/etc/netns", self.name)
        subprocess.run(["ip", "netns", "del", self.name],
                       capture_output=True)
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        try:
            subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"],
                           check=True)
            os.makedirs(self.etc, exist_ok=True)
            with open(os.path.join(self.etc, "resolv.conf"), "w") as f:
                f.write("nameserver %s\noptions timeout:1 attempts:2\n"
                        % DNS_ADDR)
            # /etc/hosts is the real one; the tests name hosts by DNS only.
        except Exception:
            self.close()
            raise

    def add_address(self, addr):
        """An extra address on lo (IPv6 beyond ::1 needs one)."""
        subprocess.run(["ip", "-n", self.name, "addr", "add", addr,
                        "dev", "lo"], check=True)

    def cmd(self, argv):
        return ["ip", "netns", "exec", self.name] + list(argv)

    def run(self, argv, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        kw.setdefault("timeout", 60)
        return subprocess.run(self.cmd(argv), **kw)

    def spawn(self, argv, **kw):
        """A long-running process in the namespace, killed at close()."""
        p = subprocess.Popen(self.cmd(argv), **kw)
        self.procs.append(p)
        return p

    def enter(self):
        """Move the calling thread into the namespace; returns a token
        for leave()."""
        old = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        new = os.open("/run/netns/" + self.name, os.O_RDONLY)
        try:
            _setns(new)
        finally:
            os.close(new)
        return old

    @staticmethod
    def leave(old):
        try:
            _setns(old)
        finally:
            os.close(old)

    def entered(self):
        ns = self

        class _Ctx:
            def __enter__(self):
                self.old = ns.enter()
                return ns

            def __exit__(self, *exc):
                ns.leave(self.old)
                return False
        return _Ctx()

    def connect(self, host, port, timeout=5):
        with self.entered():
            return socket.create_connection((host, port), timeout)

    def can_connect(self, host, port):
        try:
            self.connect(host, port, 1).close()
            return True
        except OSError:
            return False

    def smtp(self, host, port=25, timeout=30):
        import smtplib
        with self.entered():
            return smtplib.SMTP(host, port, timeout=timeout)

    def kill(self, p, sig=signal.SIGTERM, wait=5):
        if p.poll() is not None:
            return
        try:
            os.kill(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(wait)
        except subprocess.TimeoutExpired:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(5)

    def close(self):
        for p in reversed(self.procs):
            self.kill(p)
        self.procs = []
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
        shutil.rmtree(self.etc, ignore_errors=True)


# -- DNS ----------------------------------------------------------------------

def dns_query(ns, qname, qtype=6, server=DNS_ADDR, timeout=1.0):
    """One UDP query from inside the namespace; returns (rcode, aa,
    ancount) or None on timeout. qtype 6 = SOA, 15 = MX, 1 = A."""
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in qname.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    with ns.entered():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(q, (server, 53))
        data, _ = s.recvfrom(4096)
    except OSError:
        return None
    finally:
        s.close()
    rid, flags, _qd, an = struct.unpack(">HHHH", data[:8])
    if rid != qid:
        return None
    return (flags & 0xF, bool(flags & 0x0400), an)


class Nsd:
    """nsd serving ZONES on 127.0.0.53:53 inside NS.

    zones: {"remote.test": [("@", "MX", "10 mx1"), ("mx1", "A",
    "127.0.0.2"), ...]}; names are relative to the zone unless they end in
    a dot. SOA and NS records are added. set_zones() rewrites and reloads
    (serial + 1) by restarting nsd, which is quick and simple."""

    def __init__(self, ns, zones):
        self.ns = ns
        self.dir = tempfile.mkdtemp(prefix="nsd-", dir="/var/tmp")
        os.chmod(self.dir, 0o755)
        self.serial = int(time.time()) % 1000000000
        self.proc = None
        self.set_zones(zones)

    def _write(self, zones):
        self.serial += 1
        conf = ["server:",
                "    ip-address: %s" % DNS_ADDR,
                "    port: 53",
                "    username: \"\"",
                "    chroot: \"\"",
                "    zonesdir: \"%s\"" % self.dir,
                "    pidfile: \"%s/nsd.pid\"" % self.dir,
                "    database: \"\"",
                "    zonelistfile: \"%s/zone.list\"" % self.dir,
                "    xfrdfile: \"%s/xfrd.state\"" % self.dir,
                "    xfrdir: \"%s\"" % self.dir,
                "    logfile: \"%s/nsd.log\"" % self.dir,
                "    server-count: 1",
                "    verbosity: 1",
                "    hide-version: yes",
                "remote-control:",
                "    control-enable: no",
                ""]
        for zone, records in zones.items():
            fname = zone + ".zone"
            conf += ["zone:", "    name: \"%s\"" % zone,
                     "    zonefile: \"%s\"" % fname, ""]
            lines = ["$ORIGIN %s." % zone, "$TTL 60",
                     "@ IN SOA ns.%s. hostmaster.%s. %d 3600 600 86400 60"
                     % (zone, zone, self.serial),
                     "@ IN NS ns.%s." % zone]
            for name, rtype, data in records:
                if rtype == "TXT" and not data.startswith('"'):
                    data = '"%s"' % data
                lines.append("%s IN %s %s" % (name, rtype, data))
            with open(os.path.join(self.dir, fname), "w") as f:
                f.write("\n".join(lines) + "\n")
        with open(os.path.join(self.dir, "nsd.conf"), "w") as f:
            f.write("\n".join(conf))
        self.zones = dict(zones)

    def set_zones(self, zones):
        self.stop()
        self._write(zones)
        chk = subprocess.run(["nsd-checkconf",
                              os.path.join(self.dir, "nsd.conf")],
                             capture_output=True, text=True)
        if chk.returncode != 0:
            raise RuntimeError("nsd-checkconf: " + chk.stdout + chk.stderr)
        self.proc = self.ns.spawn(["nsd", "-d", "-c",
                                   os.path.join(self.dir, "nsd.conf")],
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        zone = next(iter(zones))
        ok = _wait(lambda: self._answers(zone), 10, 0.1)
        if not ok:
            raise RuntimeError("nsd does not answer: %s" % self.logtext())

    def _answers(self, zone):
        if self.proc.poll() is not None:
            raise RuntimeError("nsd exited: %s" % self.logtext())
        r = dns_query(self.ns, zone, 6, timeout=0.3)
        return r is not None and r[0] == 0 and r[1]

    def logtext(self):
        try:
            with open(os.path.join(self.dir, "nsd.log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            self.ns.kill(self.proc)
            self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# -- certificates -------------------------------------------------------------

class TestCA:
    """A CA made with the openssl CLI; issue() makes a server certificate
    for names and addresses, signed by it."""

    def __init__(self, directory=None):
        self.dir = directory or tempfile.mkdtemp(prefix="ca-", dir="/var/tmp")
        os.chmod(self.dir, 0o755)
        self.key = os.path.join(self.dir, "ca.key")
        self.cert = os.path.join(self.dir, "ca.pem")
        self._ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                   "-subj", "/CN=postern test CA", "-keyout", self.key,
                   "-out", self.cert, "-addext",
                   "basicConstraints=critical,CA:TRUE", "-addext",
                   "keyUsage=critical,keyCertSign,cRLSign")

    def _ossl(self, *args):
        p = subprocess.run(["openssl"] + list(args), capture_output=True,
                           text=True)
        if p.returncode != 0:
            raise RuntimeError("openssl %s: %s" % (args[0], p.stderr))

    def issue(self, name, dns_names=(), ips=()):
        """(cert_file, key_file) for CN=name with the given SANs."""
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        crt = os.path.join(self.dir, name + ".pem")
        ext = os.path.join(self.dir, name + ".ext")
        sans = ["DNS:" + n for n in ([name] + list(dns_names))]
        sans += ["IP:" + a for a in ips]
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n"
                    "basicConstraints=CA:FALSE\n" % ",".join(sans))
        self._ossl("req", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
                   "/CN=" + name, "-keyout", key, "-out", csr)
        self._ossl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey",
                   self.key, "-CAcreateserial", "-days", "2", "-out", crt,
                   "-extfile", ext)
        os.chmod(key, 0o644)    # read by unprivileged test servers
        return crt, key

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# -- capture SMTP server ------------------------------------------------------

class CaptureSMTP:
    """test/capture_smtp.py on ADDR:PORT inside NS; script is the dict
    capture_smtp.py documents (greeting, rcpt replies, temp failures,
    STARTTLS cert, AUTH users...)."""

    def __init__(self, ns, addr, port=25, script=None, name=None):
        self.ns = ns
        self.addr = addr
        self.port = port
        self.spool = tempfile.mkdtemp(prefix="capture-", dir="/var/tmp")
        os.chmod(self.spool, 0o755)
        self.script = dict(script or {})
        self.script.setdefault("hostname", name or "mx.%s" % addr)
        self.proc = None
        self.start()

    def start(self):
        with open(os.path.join(self.spool, "script.json"), "w") as f:
            json.dump(self.script, f)
        with open(os.path.join(self.spool, "stderr"), "w") as err:
            self.proc = self.ns.spawn(
                [sys.executable, os.path.join(HERE, "capture_smtp.py"),
                 "--listen", "%s:%d" % (self.addr, self.port),
                 "--spool", self.spool,
                 "--script", os.path.join(self.spool, "script.json")],
                stdout=subprocess.DEVNULL, stderr=err)
        if not _wait(lambda: self._ready(), 10):
            raise RuntimeError("capture server on %s:%d did not start: %s"
                               % (self.addr, self.port, self.stderr()))

    def _ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError("capture server exited: " + self.stderr())
        return os.path.exists(os.path.join(self.spool, "ready"))

    def stderr(self):
        try:
            with open(os.path.join(self.spool, "stderr")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None:
            self.ns.kill(self.proc)
            self.proc = None
            try:
                os.unlink(os.path.join(self.spool, "ready"))
            except FileNotFoundError:
                pass

    def restart(self, script=None):
        self.stop()
        if script is not None:
            self.script = dict(script)
            self.script.setdefault("hostname", "mx.%s" % self.addr)
        self.start()

    def messages(self):
        """Received transactions, oldest first: dicts with helo, peer,
        mail_from, mail_params, rcpts (accepted), rcpt_params, data (str,
        latin-1 decoded bytes as sent, dot-unstuffed, CRLF), tls,
        tls_version, tls_cipher, auth_user, esmtp."""
        out = []
        for f in sorted(glob.glob(os.path.join(self.spool, "msg-*.json"))):
            with open(f) as fh:
                out.append(json.load(fh))
        return out

    def wait_messages(self, count=1, timeout=20):
        _wait(lambda: len(self.messages()) >= count, timeout, 0.1)
        return self.messages()

    def events(self):
        """One line per session event ("connect", "greeting 421", "rcpt
        x@y 550", "starttls", "auth user", ...)."""
        try:
            with open(os.path.join(self.spool, "events.log")) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def clear(self):
        for f in glob.glob(os.path.join(self.spool, "msg-*.json")):
            os.unlink(f)

    def close(self):
        self.stop()
        if not os.environ.get("POSTERN_KEEP"):
            shutil.rmtree(self.spool, ignore_errors=True)


# -- Postfix --------------------------------------------------------------------

POSTFIX_MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    """A real Postfix in its own directory, started inside NS with its
    services unchrooted (so they read the namespace's resolv.conf), on
    ADDR:PORT (25), accepting mail for DOMAIN into a Maildir and sending the
    rest by MX."""

    def __init__(self, ns, addr, domain, hostname, extra=None, port=25):
        self.ns = ns
        self.addr = addr
        self.port = port
        self.domain = domain
        self.dir = tempfile.mkdtemp(prefix="postfix-", dir="/var/tmp")
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "conf")
        os.makedirs(self.conf)
        os.makedirs(os.path.join(self.dir, "mail"))
        os.makedirs(os.path.join(self.dir, "data"))
        pw = pwd.getpwnam("postfix")
        os.chown(os.path.join(self.dir, "mail"), pw.pw_uid, pw.pw_gid)
        os.chown(os.path.join(self.dir, "data"), pw.pw_uid, pw.pw_gid)
        self.maildir = os.path.join(self.dir, "mail", "Maildir")
        self.log = os.path.join(self.dir, "maillog")
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": self.dir + "/queue",
            "data_directory": self.dir + "/data",
            "maillog_file": self.log,
            "myhostname": hostname,
            "mydomain": domain,
            "myorigin": domain,
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "inet_interfaces": addr,
            "inet_protocols": "ipv4",
            "smtp_bind_address": addr,
            "alias_maps": "",
            "alias_database": "",
            "virtual_mailbox_domains": domain,
            "virtual_mailbox_base": self.dir + "/mail",
            "virtual_mailbox_maps": "static:Maildir/",
            "virtual_uid_maps": "static:%d" % pw.pw_uid,
            "virtual_gid_maps": "static:%d" % pw.pw_gid,
            "smtpd_relay_restrictions":
                "permit_mynetworks, reject_unauth_destination",
            "smtp_dns_support_level": "enabled",
            "smtp_tls_security_level": "none",
            "smtpd_peername_lookup": "no",
            "biff": "no",
            "minimal_backoff_time": "5s",
            "maximal_backoff_time": "10s",
            "queue_run_delay": "5s",
        }
        settings.update(extra or {})
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            for k, v in settings.items():
                f.write("%s = %s\n" % (k, v))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(POSTFIX_MASTER_CF.format(listen="%s:%d" % (addr, port)))

    def postfix(self, *args, check=True):
        p = self.ns.run(["postfix", "-c", self.conf] + list(args))
        if check and p.returncode != 0:
            raise RuntimeError("postfix %s: %s%s" % (args, p.stdout, p.stderr))
        return p

    def start(self):
        # Postfix insists that inet_interfaces be an address of an
        # interface: 127.0.0.0/8 routed to lo is not enough.
        self.ns.run(["ip", "addr", "add", self.addr + "/32", "dev", "lo"])
        os.makedirs(self.dir + "/queue", exist_ok=True)
        self.postfix("post-install", "create-missing")
        self.postfix("start")
        if not _wait(lambda: self.ns.can_connect(self.addr, self.port), 15,
                     0.1):
            raise RuntimeError("Postfix did not start: " + self.logtext())
        return self

    def sendmail(self, sender, rcpts, message):
        return self.ns.run(["/usr/sbin/sendmail", "-C", self.conf, "-f",
                            sender, "--"] + list(rcpts),
                           input=message, text=False)

    def master_pid(self):
        try:
            with open(self.dir + "/queue/pid/master.pid") as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def logtext(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def read_maildir(self):
        files = sorted(glob.glob(os.path.join(self.maildir, "new", "*")),
                       key=os.path.getmtime)
        out = []
        for fn in files:
            with open(fn, "rb") as f:
                out.append(f.read())
        return out

    def close(self):
        pid = self.master_pid()
        self.postfix("stop", check=False)
        if pid:
            _wait(lambda: not os.path.exists("/proc/%d" % pid), 10, 0.1)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if not os.environ.get("POSTERN_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


# -- Dovecot --------------------------------------------------------------------

class Dovecot:
    """A real Dovecot with its own config and base_dir, Maildirs under its
    directory, one static user database (every user is VUSER, with mail in
    DIR/mail/%u/Maildir), and an LMTP listener on SOCKET (a unix socket
    path, mode 0666).

    auth_users ({user: password}) with auth_socket (a unix socket path):
    also a SASL authentication server for Postfix (smtpd_sasl_type =
    dovecot) on that socket, checking plaintext passwords from a
    passwd-file, mechanisms PLAIN and LOGIN."""

    def __init__(self, ns, socket_path, vuser="ptvmail", users=None,
                 auth_users=None, auth_socket=None):
        self.ns = ns
        self.socket = socket_path
        self.dir = tempfile.mkdtemp(prefix="dovecot-", dir="/var/tmp")
        os.chmod(self.dir, 0o755)
        self.mail = os.path.join(self.dir, "mail")
        os.makedirs(self.mail)
        pw = pwd.getpwnam(vuser)
        os.chown(self.mail, pw.pw_uid, pw.pw_gid)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.log = os.path.join(self.dir, "dovecot.log")
        base = os.path.join(self.dir, "run")
        # users: the only users that exist (others get 550 at RCPT); None:
        # every user exists.
        if users is None:
            udriver, uargs = "static", "uid=%d gid=%d home=%s/%%n" % (
                pw.pw_uid, pw.pw_gid, self.mail)
        else:
            ufile = os.path.join(self.dir, "users")
            with open(ufile, "w") as f:
                for u in users:
                    f.write("%s:::::::\n" % u)
            udriver, uargs = "passwd-file", "username_format=%n " + ufile
        passdb = "driver = static\n  args = password=unused"
        auth = ""
        if auth_users:
            pfile = os.path.join(self.dir, "passwd")
            with open(pfile, "w") as f:
                for u, pw_ in auth_users.items():
                    f.write("%s:{PLAIN}%s::::::\n" % (u, pw_))
            passdb = "driver = passwd-file\n  args = " + pfile
            auth = ("auth_mechanisms = plain login\n"
                    "disable_plaintext_auth = no\n"
                    "auth_failure_delay = 0\n"
                    "service auth {\n  unix_listener %s {\n"
                    "    mode = 0666\n  }\n}\n" % auth_socket)
        with open(self.conf, "w") as f:
            f.write("""\
protocols = lmtp
base_dir = {base}
instance_name = {name}
log_path = {log}
info_log_path = {log}
ssl = no
listen = 127.0.0.1
mail_location = maildir:{mail}/%n/Maildir
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 1
lmtp_save_to_detail_mailbox = no
passdb {{
  {passdb}
}}
userdb {{
  driver = {udriver}
  args = {uargs}
  default_fields = uid={uid} gid={gid} home={mail}/%n
}}
service lmtp {{
  unix_listener {sock} {{
    mode = 0666
  }}
}}
service anvil {{
  chroot =
}}
{auth}""".format(base=base, passdb=passdb, auth=auth,
                name=os.path.basename(self.dir), log=self.log,
                mail=self.mail, uid=pw.pw_uid, gid=pw.pw_gid,
                sock=socket_path, udriver=udriver, uargs=uargs))
        self.proc = None

    def start(self):
        with open(self.log + ".err", "w") as err:
            self.proc = self.ns.spawn(["dovecot", "-F", "-c", self.conf],
                                      stdout=subprocess.DEVNULL, stderr=err)
        ok = _wait(lambda: self.proc.poll() is None and
                   os.path.exists(self.socket), 10, 0.1)
        if not ok:
            raise RuntimeError("dovecot did not start: " + self.logtext())
        return self

    def logtext(self):
        out = ""
        for f in (self.log, self.log + ".err"):
            try:
                with open(f, errors="replace") as fh:
                    out += fh.read()
            except OSError:
                pass
        return out[-4000:]

    def fetch(self, user):
        """The messages of USER as doveadm prints them (text of all)."""
        p = subprocess.run(["doveadm", "-c", self.conf, "fetch", "-u", user,
                            "text", "mailbox", "INBOX", "all"],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise RuntimeError("doveadm fetch: " + p.stdout + p.stderr)
        return p.stdout

    def maildir_new(self, user):
        d = os.path.join(self.mail, user, "Maildir")
        return sorted(glob.glob(os.path.join(d, "new", "*")) +
                      glob.glob(os.path.join(d, "cur", "*")))

    def close(self):
        if self.proc is not None:
            self.ns.kill(self.proc)
            self.proc = None
        if not os.environ.get("POSTERN_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
