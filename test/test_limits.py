"""Abuse limits through the anvil service (issue 5): connection count and
rate, message and recipient rate, AUTH failures; clients in
smtpd_client_event_limit_exceptions (mynetworks) are never limited; a
killed anvil is restarted and smtpd serves on meanwhile.

Clients are real: sockets that read the greeting, Python's smtplib, and
swaks for AUTH. OUTSIDE-style addresses (127.0.0.66 and up) are "the
internet"; 127.0.0.1 is in mynetworks and exempt.
"""
import base64
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from instance import INSIDE, MASTER_CF, Instance, free_port, is_root, wait_for
from netns import Dovecot, NetNS, TestCA

MSG = b"Subject: limits\r\n\r\nhello\r\n"


def connect(inst, source, timeout=10):
    """A socket from source; returns (socket, first reply line)."""
    if inst.netns is not None:
        with inst.netns.entered():
            s = socket.create_connection((inst.host, inst.port), timeout,
                                         source_address=(source, 0))
    else:
        s = socket.create_connection((inst.host, inst.port), timeout,
                                     source_address=(source, 0))
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return s, data.decode(errors="replace").split("\r\n")[0]


def log_has(inst, pattern, timeout=10):
    return wait_for(lambda: re.search(pattern, inst.logtext()), timeout)


@unittest.skipUnless(is_root(), "needs root: real users and privilege separation")
class LimitsTest(unittest.TestCase):
    """One instance; each test uses its own client address so that the
    counters of one test do not reach into another."""

    @classmethod
    def setUpClass(cls):
        cls.inst = Instance("limits", main={
            "smtpd_client_connection_count_limit": "3",
            "smtpd_client_connection_rate_limit": "8",
            "smtpd_client_message_rate_limit": "2",
            "smtpd_client_recipient_rate_limit": "3",
            "anvil_rate_time_unit": "60s",
            "anvil_status_update_time": "2s",
            "smtpd_error_sleep_time": "0",
        }).start()
        cls.service = "%s:%d" % (cls.inst.host, cls.inst.port)

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()

    def dump(self):
        return self.inst.logtext()[-6000:]

    def test_connection_count(self):
        src = "127.0.0.66"
        held = []
        try:
            for _ in range(3):
                s, line = connect(self.inst, src)
                held.append(s)
                self.assertTrue(line.startswith("220 "), line)
            s, line = connect(self.inst, src)
            held.append(s)
            self.assertEqual(line, "421 4.7.0 mx.example.test Error: too "
                             "many connections from %s" % src, self.dump())
            # mynetworks is exempt: more sessions than the limit.
            for _ in range(5):
                s, line = connect(self.inst, INSIDE)
                held.append(s)
                self.assertTrue(line.startswith("220 "), line)
            # Another outside address has its own count.
            s, line = connect(self.inst, "127.0.0.76")
            held.append(s)
            self.assertTrue(line.startswith("220 "), line)
            self.assertTrue(log_has(self.inst, re.escape(
                "warning: Connection concurrency limit exceeded: 4 from "
                "unknown[%s] for service %s" % (src, self.service))),
                self.dump())
            # A session that ends frees its place.
            held[0].close()
            held.pop(0)

            def again():
                s, line = connect(self.inst, src)
                if line.startswith("220 "):
                    held.append(s)
                    return True
                s.close()
                return False
            self.assertTrue(wait_for(again, 10, 0.3), self.dump())
        finally:
            for s in held:
                s.close()

    def test_connection_rate(self):
        src = "127.0.0.67"
        for i in range(8):
            s, line = connect(self.inst, src)
            self.assertTrue(line.startswith("220 "), (i, line))
            s.sendall(b"QUIT\r\n")
            s.close()
        s, line = connect(self.inst, src)
        s.close()
        self.assertEqual(line, "421 4.7.0 mx.example.test Error: too many "
                         "connection requests from %s" % src)
        self.assertTrue(log_has(self.inst, re.escape(
            "warning: Connection rate limit exceeded: 9 from unknown[%s] "
            "for service %s" % (src, self.service))), self.dump())
        for _ in range(10):
            s, line = connect(self.inst, INSIDE)
            s.close()
            self.assertTrue(line.startswith("220 "), line)

    def test_message_rate(self):
        src = "127.0.0.68"
        with self.inst.smtp(source=src) as c:
            for i in range(2):
                c.sendmail("a@remote.test", ["ptalice@example.test"], MSG)
            code, text = c.mail("a@remote.test")
            self.assertEqual(code, 450)
            self.assertEqual(text.decode(), "4.7.0 Error: too much mail "
                             "from %s" % src)
            # Refused MAIL leaves no transaction: RCPT needs MAIL.
            self.assertEqual(c.rcpt("ptalice@example.test")[0], 503)
        self.assertTrue(log_has(self.inst, re.escape(
            "warning: Message delivery request rate limit exceeded: 3 from "
            "unknown[%s] for service %s" % (src, self.service))),
            self.dump())
        with self.inst.smtp(source=INSIDE) as c:
            for i in range(4):
                c.sendmail("a@remote.test", ["ptalice@example.test"], MSG)

    def test_recipient_rate(self):
        src = "127.0.0.69"
        with self.inst.smtp(source=src) as c:
            c.ehlo("client.test")
            self.assertEqual(c.mail("a@remote.test")[0], 250)
            for i in range(3):
                self.assertEqual(c.rcpt("ptalice@example.test")[0], 250)
            code, text = c.rcpt("ptbob@example.test")
            self.assertEqual(code, 450)
            self.assertEqual(text.decode(), "4.7.0 Error: too many "
                             "recipients from %s" % src)
            # The accepted recipients still get the message.
            code, _ = c.data(MSG)
            self.assertEqual(code, 250)
        self.assertTrue(log_has(self.inst, re.escape(
            "warning: Recipient address rate limit exceeded: 4 from "
            "unknown[%s] for service %s" % (src, self.service))),
            self.dump())

    def test_pipelined(self):
        """Commands pipelined behind a waiting one are answered in
        order."""
        src = "127.0.0.70"
        s, line = connect(self.inst, src)
        try:
            self.assertTrue(line.startswith("220 "))
            s.sendall(b"EHLO client.test\r\nMAIL FROM:<a@remote.test>\r\n"
                      b"RCPT TO:<ptalice@example.test>\r\n"
                      b"RCPT TO:<ptbob@example.test>\r\nRSET\r\n"
                      b"MAIL FROM:<b@remote.test>\r\n"
                      b"MAIL FROM:<c@remote.test>\r\nQUIT\r\n")
            data = b""
            s.settimeout(10)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            codes = [l[:3] for l in data.decode().split("\r\n")
                     if l[3:4] == " "]
            # EHLO, MAIL, RCPT, RCPT, RSET, MAIL, MAIL (nested), QUIT
            self.assertEqual(codes, ["250", "250", "250", "250", "250",
                                     "250", "503", "221"], data)
        finally:
            s.close()

    def test_statistics(self):
        self.assertTrue(log_has(self.inst, r"postern/anvil\[\d+\]: "
                                r"statistics: max (connection count|"
                                r"connection rate) \d+(/60s)? for "
                                r"\(127\.0\.0\.1:\d+:127\.0\.0\.\d+\) at ",
                                20), self.dump())

    def test_z_anvil_killed(self):
        """anvil dies: smtpd keeps serving (without limits), the master
        starts a new anvil, limits apply again."""
        # Make sure anvil runs, then kill it.
        s, line = connect(self.inst, "127.0.0.71")
        s.close()
        pids = wait_for(lambda: self.inst.daemon_pids("anvil"), 10)
        self.assertEqual(len(pids), 1, pids)
        os.kill(pids[0], signal.SIGKILL)
        for i in range(5):
            # One address each: the new anvil may already count.
            with self.inst.smtp(source="127.0.0.%d" % (80 + i)) as c:
                c.sendmail("a@remote.test", ["ptalice@example.test"], MSG)
        self.assertTrue(log_has(self.inst, r"warning: problem talking to "
                                r"server private/anvil"), self.dump())
        # A new anvil counts again.
        self.assertTrue(wait_for(lambda: [p for p in
                                          self.inst.daemon_pids("anvil")
                                          if p != pids[0]], 15), self.dump())
        src = "127.0.0.73"

        def limited():
            held = []
            try:
                for _ in range(4):
                    s, line = connect(self.inst, src)
                    held.append(s)
                return line.startswith("421 4.7.0")
            finally:
                for s in held:
                    s.close()
                time.sleep(0.2)
        self.assertTrue(wait_for(limited, 15, 0.5), self.dump())


@unittest.skipUnless(is_root(), "needs root: real users and privilege separation")
class NewTlsLimitTest(unittest.TestCase):
    """smtpd_client_new_tls_session_rate_limit: STARTTLS on one port,
    implicit TLS on another (each service counts apart)."""

    @classmethod
    def setUpClass(cls):
        cls.ca = TestCA()
        cls.addClassCleanup(cls.ca.close)
        crt, key = cls.ca.issue("mx.example.test", ips=["127.0.0.1"])
        cls.subs = free_port()
        extra = ("127.0.0.1:%d inet n - y - - smtpd\n"
                 "  -o smtpd_tls_wrappermode=yes\n" % cls.subs)
        cls.inst = Instance("tlslim", master_cf=MASTER_CF + extra, main={
            "smtpd_tls_security_level": "may",
            "smtpd_tls_cert_file": crt,
            "smtpd_tls_key_file": key,
            "smtpd_client_new_tls_session_rate_limit": "2",
            "smtpd_error_sleep_time": "0",
        })
        cls.addClassCleanup(cls.inst.cleanup)
        cls.inst.start()
        wait_for(lambda: cls.inst.can_connect(), 10)
        cls.ctx = ssl.create_default_context(cafile=cls.ca.cert)

    def starttls(self, source):
        with self.inst.smtp(source=source) as c:
            c.ehlo("client.test")
            try:
                code = c.starttls(context=self.ctx)[0]
            except smplib_error as e:
                return e.smtp_code, e.smtp_error.decode()
            c.ehlo("client.test")
            return code, ""

    def implicit(self, source):
        raw = socket.create_connection((INSIDE, self.subs), 10,
                                       source_address=(source, 0))
        with self.ctx.wrap_socket(raw, server_hostname="mx.example.test") as s:
            data = b""
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.decode(errors="replace").split("\r\n")[0]

    def test_starttls(self):
        src = "127.0.0.90"
        self.assertEqual(self.starttls(src)[0], 220)
        self.assertEqual(self.starttls(src)[0], 220)
        code, text = self.starttls(src)
        self.assertEqual(code, 421)
        self.assertEqual(text, "4.7.0 mx.example.test Error: too many new "
                         "TLS sessions from " + src)
        self.assertTrue(log_has(self.inst, r"warning: New TLS session rate "
                                r"limit exceeded: 3 from unknown\[%s\] for "
                                r"service " % re.escape(src)),
                        self.inst.logtext()[-3000:])
        self.assertEqual(self.starttls(INSIDE)[0], 220)   # exempt

    def test_implicit(self):
        src = "127.0.0.91"
        for _ in range(2):
            self.assertTrue(self.implicit(src).startswith("220 "))
        self.assertEqual(self.implicit(src), "421 4.7.0 mx.example.test "
                         "Error: too many new TLS sessions from " + src)
        for _ in range(3):
            self.assertTrue(self.implicit(INSIDE).startswith("220 "))


smplib_error = smtplib.SMTPResponseException


def auth_plain(user, password):
    return base64.b64encode(b"\0" + user.encode() + b"\0" +
                            password.encode()).decode()


@unittest.skipUnless(is_root() and shutil.which("dovecot"),
                     "needs root and dovecot")
class AuthLimitTest(unittest.TestCase):
    """20 wrong passwords from one address trip the AUTH failure limit;
    another client still authenticates. Real Dovecot SASL."""
    USER = "limituser"
    PASSWORD = "Right-Pw-42"

    @classmethod
    def setUpClass(cls):
        cls.ns = NetNS("lim")
        cls.addClassCleanup(cls.ns.close)
        cls.inst = Instance("authlim", netns=cls.ns, main={
            "smtpd_sasl_auth_enable": "yes",
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": "private/auth",
            "smtpd_tls_auth_only": "no",
            "smtpd_error_sleep_time": "0",
            "smtpd_client_auth_failure_limit": "10",
        })
        cls.addClassCleanup(cls.inst.cleanup)
        cls.inst.start()
        run = tempfile.mkdtemp(prefix="authlim-", dir="/var/tmp")
        os.chmod(run, 0o755)
        cls.addClassCleanup(shutil.rmtree, run, ignore_errors=True)
        authsock = os.path.join(cls.inst.queue, "private", "auth")
        cls.dovecot = Dovecot(cls.ns, os.path.join(run, "lmtp"),
                              auth_users={cls.USER: cls.PASSWORD},
                              auth_socket=authsock)
        cls.addClassCleanup(cls.dovecot.close)
        # Dovecot's own penalty (2, 4, 8, 15 s per failure from one
        # address) would slow the test down; our limit is under test.
        with open(cls.dovecot.conf) as f:
            conf = f.read()
        conf = conf.replace("service anvil {\n", "service anvil {\n"
                            "  unix_listener anvil-auth-penalty {\n"
                            "    mode = 0\n  }\n", 1)
        with open(cls.dovecot.conf, "w") as f:
            f.write(conf)
        cls.dovecot.start()
        if not wait_for(lambda: os.path.exists(authsock), 10, 0.1):
            raise RuntimeError("no dovecot auth socket: " +
                               cls.dovecot.logtext())

    def dump(self):
        return (self.inst.logtext()[-6000:] + "\n--- dovecot ---\n" +
                self.dovecot.logtext()[-2000:])

    def attempt(self, source, password):
        """One AUTH PLAIN in a fresh session: (code, text)."""
        try:
            with self.inst.smtp(source=source, timeout=15) as c:
                c.ehlo("client.test")
                code, text = c.docmd("AUTH", "PLAIN " +
                                     auth_plain(self.USER, password))
                return code, text.decode(errors="replace")
        except smtplib.SMTPServerDisconnected as e:
            return None, str(e)

    def test_failure_limit(self):
        bad = "127.0.0.66"
        codes = [self.attempt(bad, "wrong-%d" % i) for i in range(20)]
        self.assertEqual([c for c, _ in codes[:10]], [535] * 10,
                         (codes, self.dump()))
        for code, text in codes[10:]:
            self.assertEqual(code, 421, (codes, self.dump()))
            self.assertIn("4.7.0 mx.example.test Error: too many AUTH "
                          "failures from " + bad, text)
        # Even the right password: this address is cut off for now.
        self.assertEqual(self.attempt(bad, self.PASSWORD)[0], 421)
        # Another client is unaffected, with a real client (swaks).
        p = self.ns.run(["swaks", "--server", "%s:%d" % (self.inst.host,
                                                         self.inst.port),
                         "--local-interface", "127.0.0.67",
                         "--auth", "PLAIN", "--auth-user", self.USER,
                         "--auth-password", self.PASSWORD,
                         "--from", "a@remote.test",
                         "--to", "ptalice@example.test",
                         "--quit-after", "AUTH"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("235 2.7.0", p.stdout)
        log = self.inst.logtext()
        self.assertEqual(len(re.findall(
            r"warning: unknown\[127\.0\.0\.66\]: SASL PLAIN authentication "
            r"failed", log)), 10, self.dump())
        self.assertRegex(log, r"warning: AUTH failure limit exceeded: 10 "
                         r"from unknown\[127\.0\.0\.66\] for service ")
        self.assertNotIn("wrong-", log)
        self.assertNotIn(self.PASSWORD, log)


if __name__ == "__main__":
    unittest.main()
