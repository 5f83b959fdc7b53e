"""The shipped fail2ban filter and crowdsec parser against real log lines.

One instance (Dovecot for AUTH, anvil for the limits, a second smtpd
service with smtpd_greet_pause for early talkers) meets one misbehaving
client per loopback address, with real clients (smtplib, swaks, sockets):
  127.0.0.66  three wrong passwords (PLAIN twice, LOGIN once)
  127.0.0.67  two relay attempts
  127.0.0.68  junk commands up to smtpd_hard_error_limit
  127.0.0.69  talks before the greeting
  127.0.0.70  connects faster than smtpd_client_connection_rate_limit
  127.0.0.71  a good user: authenticates, sends, never matched
  127.0.0.1   mynetworks, relays: never matched
Then `fail2ban-regex MAILLOG etc/fail2ban/filter.d/postern.conf` must
match exactly those events, and the crowdsec parser
(etc/crowdsec/parsers/s01-parse/postern-logs.yaml) must classify the same
lines. crowdsec itself is not installed here (Debian's package registers
with the central API in its postinst, which fails offline), so its grok
patterns are translated to Python regular expressions by a small grok
expander below and applied as crowdsec would: program filter, node
filters, first matching node. (Checked by hand with crowdsec 1.4.6 run on
these lines in syslog form: the same events, and both scenarios overflow
on 6 AUTH failures and 4 error floods from one address.)
"""
import base64
import os
import re
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
import unittest

from instance import (Instance, MASTER_CF, INSIDE, free_port, is_root,
                      wait_for)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILTER = os.path.join(ROOT, "etc", "fail2ban", "filter.d", "postern.conf")
JAIL = os.path.join(ROOT, "etc", "fail2ban", "jail.d", "postern.conf")
PARSER = os.path.join(ROOT, "etc", "crowdsec", "parsers", "s01-parse",
                      "postern-logs.yaml")
SCENARIOS = [os.path.join(ROOT, "etc", "crowdsec", "scenarios", n)
             for n in ("postern-bf.yaml", "postern-abuse.yaml")]
PASSWORD = "Right-pass-9z"
WRONG = "Wrong-pass-8y"

AUTH = "127.0.0.66"
RELAY = "127.0.0.67"
ERRORS = "127.0.0.68"
EARLY = "127.0.0.69"
RATE = "127.0.0.70"
GOOD = "127.0.0.71"
# What fail2ban must count, per address.
EXPECTED = {AUTH: 3, RELAY: 2, ERRORS: 1, EARLY: 1, RATE: 1}
KINDS = {AUTH: {"auth_failed"}, RELAY: {"relay_denied"},
         ERRORS: {"too_many_errors"}, EARLY: {"early_talker"},
         RATE: {"limit_exceeded"}}


def load_yaml(path):
    """PyYAML in this interpreter, or Debian's python3-yaml (test/deps.sh)
    through /usr/bin/python3 when the tests run under another Python."""
    try:
        import yaml
    except ImportError:
        import json
        p = subprocess.run(["/usr/bin/python3", "-c",
                            "import json, sys, yaml; print(json.dumps("
                            "yaml.safe_load(open(sys.argv[1]))))", path],
                           capture_output=True, text=True, check=True)
        return json.loads(p.stdout)
    with open(path) as f:
        return yaml.safe_load(f)


def greeting(sock):
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


@unittest.skipUnless(is_root(), "needs root: Dovecot, privilege separation")
@unittest.skipUnless(shutil.which("fail2ban-regex"), "fail2ban not installed")
class Fail2banTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from netns import NetNS, Dovecot
        cls.pause_port = free_port()
        master = MASTER_CF + (
            "%s:%d inet n - y - 1 smtpd -o smtpd_greet_pause=1\n" %
            (INSIDE, cls.pause_port))
        cls.inst = Instance("f2b", master_cf=master, main={
            "smtpd_sasl_auth_enable": "yes",
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": "private/auth",
            "smtpd_tls_auth_only": "no",
            "smtpd_relay_restrictions": "permit_mynetworks, "
                                        "permit_sasl_authenticated, "
                                        "reject_unauth_destination",
            "smtpd_hard_error_limit": "3",
            "smtpd_error_sleep_time": "0",
            "smtpd_client_connection_rate_limit": "4",
        })
        cls.addClassCleanup(cls.inst.cleanup)
        cls.inst.start()
        cls.ns = NetNS("f2b")
        cls.addClassCleanup(cls.ns.close)
        auth = os.path.join(cls.inst.queue, "private", "auth")
        lmtp = os.path.join(cls.inst.queue, "private", "dovecot-lmtp")
        cls.dovecot = Dovecot(cls.ns, lmtp, auth_users={"alice": PASSWORD},
                              auth_socket=auth)
        cls.addClassCleanup(cls.dovecot.close)
        cls.dovecot.start()
        if not wait_for(lambda: os.path.exists(auth), 10):
            raise RuntimeError("Dovecot did not start")
        cls.misbehave()
        # The last events are logged by then; a little more for the
        # disconnects.
        wait_for(lambda: "Connection rate limit exceeded" in
                 cls.inst.logtext(), 10)
        time.sleep(0.5)
        cls.log = cls.inst.logtext()

    @classmethod
    def misbehave(cls):
        inst = cls.inst
        # Wrong passwords: two PLAIN with smtplib, one LOGIN with swaks.
        for _ in range(2):
            with inst.smtp(AUTH) as s:
                s.ehlo("guesser.test")
                # One mechanism: login() would try PLAIN, then LOGIN.
                s.user, s.password = "alice", WRONG
                try:
                    s.auth("PLAIN", s.auth_plain)
                except smtplib.SMTPAuthenticationError:
                    pass
        subprocess.run(["swaks", "--server", inst.host, "--port",
                        str(inst.port), "--local-interface", AUTH,
                        "--from", "alice@example.test", "--to",
                        "ptalice@example.test", "--auth", "LOGIN",
                        "--auth-user", "alice", "--auth-password", WRONG,
                        "--quit-after", "AUTH"],
                       capture_output=True, timeout=60)
        # Relay attempts.
        with inst.smtp(RELAY) as s:
            s.ehlo("relay.test")
            s.mail("spam@relay.test")
            for rcpt in ("a@remote.test", "b@remote.test"):
                s.rcpt(rcpt)
        # Junk until the hard error limit closes the session.
        c = inst.raw(ERRORS)
        c.reply()
        for _ in range(3):
            c.send("JUNK\r\n")
        c.closed()
        c.close()
        # An early talker on the service with a greeting pause.
        s = socket.create_connection((INSIDE, cls.pause_port), 10,
                                     source_address=(EARLY, 0))
        s.sendall(b"EHLO early.test\r\n")
        greeting(s)
        s.close()
        # Five connections where four a minute are allowed.
        socks = []
        for _ in range(5):
            s = socket.create_connection((inst.host, inst.port), 10,
                                         source_address=(RATE, 0))
            greeting(s)
            socks.append(s)
        for s in socks:
            s.close()
        # A good user and the LAN: nothing to match.
        with inst.smtp(GOOD) as s:
            s.ehlo("good.test")
            s.login("alice", PASSWORD)
            s.sendmail("alice@example.test", ["x@remote.test"],
                       "Subject: hi\r\n\r\nhi\r\n")
        with inst.smtp(INSIDE) as s:
            s.ehlo("lan.test")
            s.sendmail("lan@example.test", ["y@remote.test"],
                       "Subject: hi\r\n\r\nhi\r\n")

    def fail2ban_regex(self, *args):
        # The filter includes common.conf from its own directory: run it
        # from a copy beside the system's common.conf.
        d = tempfile.mkdtemp(prefix="f2b-")
        self.addCleanup(shutil.rmtree, d, True)
        shutil.copy(FILTER, d)
        for f in ("common.conf",):
            src = os.path.join("/etc/fail2ban/filter.d", f)
            if os.path.exists(src):
                shutil.copy(src, d)
        log = os.path.join(d, "maillog")
        with open(log, "w") as f:
            f.write(self.log)
        p = subprocess.run(["fail2ban-regex"] + list(args) +
                           [log, os.path.join(d, "postern.conf")],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def test_lines_are_there(self):
        for pattern in (
                r"warning: unknown\[127\.0\.0\.66\]: SASL PLAIN "
                r"authentication failed: ",
                r"warning: unknown\[127\.0\.0\.66\]: SASL LOGIN "
                r"authentication failed: ",
                r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.67\]: 554 "
                r"5\.7\.1 <a@remote\.test>: Relay access denied; "
                r"from=<spam@relay\.test> to=<a@remote\.test> proto=ESMTP "
                r"helo=<relay\.test>",
                r"too many errors after UNKNOWN from unknown\[127\.0\.0\.68\]$",
                r"improper command pipelining after CONNECT from "
                r"unknown\[127\.0\.0\.69\]: EHLO early\.test\\r\\n$",
                r"warning: Connection rate limit exceeded: 5 from "
                r"unknown\[127\.0\.0\.70\] for service \S+$"):
            self.assertRegex(self.log, re.compile(pattern, re.M))
        self.assertNotIn(WRONG, self.log)
        self.assertNotIn(PASSWORD, self.log)

    def test_abuse_lines_hide_auth(self):
        # Pipelined and over-long AUTH commands are logged as protocol
        # abuse, with the mechanism but never the payload.
        secret = base64.b64encode(b"\0alice\0" + PASSWORD.encode()).decode()
        c = self.inst.raw("127.0.0.72")
        self.addCleanup(c.close)
        c.reply()
        c.send("EHLO pipe.test\r\nAUTH PLAIN %s\r\n" % secret)
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.reply()[0], 235)
        c2 = self.inst.raw("127.0.0.72")
        self.addCleanup(c2.close)
        c2.reply()
        c2.cmd("EHLO long.test")
        long_payload = secret * (3000 // len(secret) + 1)
        self.assertEqual(c2.cmd("AUTH PLAIN " + long_payload)[0], 500)
        self.assertTrue(wait_for(lambda: "request longer than" in
                                 self.inst.logtext(), 10))
        log = self.inst.logtext()
        self.assertRegex(log, r"(?m)improper command pipelining after EHLO "
                         r"from unknown\[127\.0\.0\.72\]: AUTH PLAIN\.\.\.$")
        self.assertRegex(log, r"(?m)warning: unknown\[127\.0\.0\.72\]: "
                         r"request longer than 2048: AUTH PLAIN\.\.\.$")
        self.assertNotIn(secret[:12], log)
        self.assertNotIn(PASSWORD, log)

    def test_fail2ban_regex_counts(self):
        out = self.fail2ban_regex()
        total = sum(EXPECTED.values())
        self.assertRegex(out, r"Lines: \d+ lines, 0 ignored, %d matched" %
                         total, out[-3000:])

    def test_fail2ban_regex_addresses(self):
        ips = self.fail2ban_regex("-o", "ip").split()
        counts = {}
        for ip in ips:
            counts[ip] = counts.get(ip, 0) + 1
        self.assertEqual(counts, EXPECTED)

    def test_jail(self):
        # fail2ban itself reads the jail: a copy of the system's
        # configuration with only our jail, its log pointed at the test's.
        d = tempfile.mkdtemp(prefix="f2bconf-")
        self.addCleanup(shutil.rmtree, d, True)
        conf = os.path.join(d, "fail2ban")
        shutil.copytree("/etc/fail2ban", conf)
        for f in os.listdir(os.path.join(conf, "jail.d")):
            os.unlink(os.path.join(conf, "jail.d", f))
        shutil.copy(FILTER, os.path.join(conf, "filter.d"))
        shutil.copy(JAIL, os.path.join(conf, "jail.d"))
        with open(os.path.join(conf, "jail.d", "test.local"), "w") as f:
            f.write("[postern]\nlogpath = %s\n" % self.inst.log)
        p = subprocess.run(["fail2ban-client", "-c", conf, "--test"],
                           capture_output=True, text=True, timeout=60)
        self.assertIn("OK: configuration test is successful",
                      p.stdout + p.stderr, p.stdout + p.stderr)
        p = subprocess.run(["fail2ban-client", "-c", conf, "-d"],
                           capture_output=True, text=True, timeout=60)
        dump = p.stdout
        self.assertIn("['add', 'postern',", dump)
        self.assertIn("['set', 'postern', 'maxretry', 5]", dump)
        self.assertIn("'addjournalmatch', '_SYSTEMD_UNIT=postern.service'",
                      dump)
        with open(JAIL) as f:
            self.assertRegex(f.read(),
                             r"(?m)^port\s*=\s*smtp,465,submission$")

    def test_crowdsec_parser(self):
        parser = CrowdsecParser(PARSER)
        got = {}
        for line in self.log.splitlines():
            # crowdsec's syslog-logs parser: time stamp, host,
            # program[pid]: message (maillog_file writes that form).
            m = re.match(r"^\S+ \S+ (\S+)\[\d+\]: (.*)$", line)
            if not m:
                continue
            ev = parser.parse(m.group(1), m.group(2))
            if ev is not None:
                got.setdefault(ev["source_ip"], []).append(ev["log_type_enh"])
        self.assertEqual({ip: len(v) for ip, v in got.items()}, EXPECTED)
        for ip, kinds in KINDS.items():
            self.assertEqual(set(got[ip]), kinds, ip)

    def test_crowdsec_scenarios(self):
        kinds = set().union(*KINDS.values())
        covered = set()
        for path in SCENARIOS:
            s = load_yaml(path)
            self.assertEqual(s["type"], "leaky")
            self.assertEqual(s["groupby"], "evt.Meta.source_ip")
            self.assertTrue(s["labels"]["remediation"])
            self.assertRegex(s["leakspeed"], r"^\d+[smh]$")
            self.assertGreater(int(s["capacity"]), 0)
            m = re.search(r"evt\.Meta\.log_type == 'postern' && "
                          r"evt\.Meta\.log_type_enh in \[([^\]]*)\]",
                          s["filter"])
            self.assertTrue(m, s["filter"])
            covered |= set(re.findall(r"'(\w+)'", m.group(1)))
        self.assertEqual(covered, kinds)


# -- a small grok expander, enough for the shipped parser ------------------------

GROK_BASE = {
    "HOSTNAME": r"\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})"
                r"(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*(?:\.?|\b)",
    "IPV4": r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)",
    "IPV6": r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.:]*",
    "IP": r"(?:%{IPV6}|%{IPV4})",
    "NOTSPACE": r"\S+",
    "DATA": r".*?",
    "GREEDYDATA": r".*",
    "INT": r"(?:[+-]?(?:[0-9]+))",
    "WORD": r"\b\w+\b",
}


def grok_expand(pattern, library):
    def repl(m):
        name, field = m.group(1), m.group(2)
        if name not in library:
            raise KeyError("grok pattern %s unknown to the test" % name)
        inner = grok_expand(library[name], library)
        return "(?P<%s>%s)" % (field, inner) if field else "(?:%s)" % inner
    return re.sub(r"%\{(\w+)(?::(\w+))?\}", repl, pattern)


class CrowdsecParser:
    """The s01 parser applied as crowdsec applies it: the parser filter on
    evt.Parsed.program, each node's filter and grok on the message, the
    first node that matches wins, then the statics."""

    def __init__(self, path):
        self.conf = load_yaml(path)
        library = dict(GROK_BASE)
        library.update(self.conf.get("pattern_syntax", {}))
        self.nodes = []
        for node in self.conf["nodes"]:
            grok = node["grok"]
            assert grok["apply_on"] == "message"
            regex = re.compile(grok_expand(grok["pattern"], library))
            static = {s["meta"]: s["value"] for s in node.get("statics", [])}
            self.nodes.append((node.get("filter"), regex, static))
        f = self.conf["filter"]
        m = re.fullmatch(r"evt\.Parsed\.program startsWith '([^']+)' && "
                         r"evt\.Parsed\.program endsWith '([^']+)'", f)
        assert m, "parser filter the test cannot read: " + f
        self.prefix, self.suffix = m.groups()

    @staticmethod
    def node_filter(expr, message):
        if expr is None:
            return True
        m = re.fullmatch(r"!\(evt\.Parsed\.message contains '([^']+)'\)",
                         expr)
        assert m, "node filter the test cannot read: " + expr
        return m.group(1) not in message

    def parse(self, program, message):
        if not (program.startswith(self.prefix) and
                program.endswith(self.suffix)):
            return None
        for expr, regex, static in self.nodes:
            if not self.node_filter(expr, message):
                continue
            m = regex.search(message)
            if m is None:
                continue
            ev = dict(static)
            for s in self.conf["statics"]:
                if "value" in s:
                    ev[s["meta"]] = s["value"]
                else:
                    field = re.fullmatch(r"evt\.Parsed\.(\w+)",
                                         s["expression"]).group(1)
                    ev[s["meta"]] = m.group(field)
            return ev
        return None


if __name__ == "__main__":
    unittest.main()
