"""SMTP AUTH in smtpd with real clients (smtplib, swaks, curl, msmtp)
against the three backends: Cyrus SASL with sasldb and with saslauthd
(through postern's sasl daemon), and a real Dovecot auth socket.

The backend classes (AuthChecks) run without TLS and with
smtpd_tls_auth_only=no, so that every client and failure path is tried
against each backend. AuthOnlyTest checks the defaults (no AUTH on a
service that does not enable it, none before TLS); TlsAuthTest the shipped
layout (25 without AUTH, 587 with STARTTLS then AUTH, 465) with swaks,
curl (smtp:// --ssl-reqd and smtps://), msmtp and smtplib;
DovecotSecuredTest that only a TLS session is "secured" for Dovecot."""
import base64
import grp
import os
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from instance import (Instance, MASTER_CF, INSIDE, OUTSIDE, is_root,
                      wait_for, wait_maildir, maildir_of, clear_maildir,
                      read_maildir)

MASTER_CF_SASL = MASTER_CF + """\
sasl           unix  -       -       n       -       -       sasl
"""

USER = "alice"
PASSWORD = "S3cret-pass-XyZ"
WRONG = "Wrong-guess-QqQ"
MSG = ("From: alice@example.test\r\nTo: someone@remote.test\r\n"
       "Subject: %s\r\n\r\nhello\r\n")


def b64(s):
    return base64.b64encode(s.encode()).decode()


def sasl_main(extra=None):
    main = {
        "smtpd_sasl_auth_enable": "yes",
        "smtpd_tls_auth_only": "no",
        "smtpd_relay_restrictions": "permit_mynetworks, "
                                    "permit_sasl_authenticated, "
                                    "reject_unauth_destination",
        "smtpd_error_sleep_time": "2s",
    }
    main.update(extra or {})
    return main


class AuthChecks:
    """Tests shared by every backend; the class sets inst, user, password
    (a right one), wrong."""
    user = USER
    password = PASSWORD

    def client(self, source=OUTSIDE):
        c = self.inst.raw(source)
        self.addCleanup(c.close)
        code, text = c.reply()
        self.assertEqual(code, 220, text)
        return c

    def assertReply(self, got, code, dsn=None):
        self.assertEqual(got[0], code, got[1])
        if dsn:
            self.assertIn(dsn, got[1])

    def assertNoSecrets(self):
        log = self.inst.logtext()
        for secret in (self.password, WRONG, b64(self.password),
                       b64("\0%s\0%s" % (self.user, self.password)),
                       b64("\0%s\0%s" % (self.user, WRONG))):
            self.assertNotIn(secret, log)

    def test_ehlo_offers_auth(self):
        c = self.client()
        code, text = c.cmd("EHLO client.test")
        self.assertEqual(code, 250)
        self.assertIn("AUTH PLAIN LOGIN", text)

    def test_plain_smtplib_relays(self):
        with self.inst.smtp(OUTSIDE) as s:
            s.ehlo("client.test")
            code, _ = s.login(self.user, self.password)
            self.assertEqual(code, 235)
            s.sendmail("alice@example.test", ["someone@remote.test"],
                       MSG % "plain")
        self.assertTrue(wait_for(lambda: "sasl_method=PLAIN, sasl_username="
                                 + self.user in self.inst.logtext(), 10),
                        self.inst.logtext()[-3000:])
        self.assertNoSecrets()

    def test_unauthenticated_relay_refused(self):
        with self.inst.smtp(OUTSIDE) as s:
            s.ehlo("client.test")
            with self.assertRaises(smtplib.SMTPRecipientsRefused):
                s.sendmail("x@example.test", ["someone@remote.test"],
                           MSG % "norelay")

    def test_login_swaks(self):
        p = subprocess.run(["swaks", "--server", self.inst.host, "--port",
                            str(self.inst.port), "--local-interface",
                            OUTSIDE, "--from", "alice@example.test", "--to",
                            "ptalice@example.test", "--auth", "LOGIN",
                            "--auth-user", self.user, "--auth-password",
                            self.password, "--header", "Subject: login"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("235 2.7.0 Authentication successful", p.stdout)
        self.assertTrue(wait_for(lambda: "sasl_method=LOGIN" in
                                 self.inst.logtext(), 10))
        self.assertNoSecrets()

    def test_plain_swaks_wrong_password(self):
        p = subprocess.run(["swaks", "--server", self.inst.host, "--port",
                            str(self.inst.port), "--local-interface",
                            OUTSIDE, "--from", "alice@example.test", "--to",
                            "ptalice@example.test", "--auth", "PLAIN",
                            "--auth-user", self.user, "--auth-password",
                            WRONG, "--quit-after", "AUTH"],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("535 5.7.8 Error: authentication failed", p.stdout)
        self.assertTrue(wait_for(lambda: "warning: unknown[%s]: SASL PLAIN "
                                 "authentication failed" % OUTSIDE in
                                 self.inst.logtext(), 10),
                        self.inst.logtext()[-3000:])
        self.assertNoSecrets()

    def test_curl(self):
        p = subprocess.run(["curl", "-sS", "--interface", OUTSIDE,
                            "smtp://%s:%d" % (self.inst.host, self.inst.port),
                            "--mail-from", "alice@example.test",
                            "--mail-rcpt", "someone@remote.test",
                            "--user", "%s:%s" % (self.user, self.password),
                            "--upload-file", "-"],
                           input=MSG % "curl", capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run(["curl", "-sS", "--interface", OUTSIDE,
                            "smtp://%s:%d" % (self.inst.host, self.inst.port),
                            "--mail-from", "alice@example.test",
                            "--mail-rcpt", "someone@remote.test",
                            "--user", "%s:%s" % (self.user, WRONG),
                            "--upload-file", "-"],
                           input=MSG % "curl", capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 67, p.stderr)   # login denied
        self.assertNoSecrets()

    def test_msmtp(self):
        d = tempfile.mkdtemp(prefix="msmtp-", dir=self.inst.dir)
        rc = os.path.join(d, "msmtprc")
        with open(rc, "w") as f:
            f.write("account test\nhost %s\nport %d\nfrom alice@example.test\n"
                    "auth plain\nuser %s\npassword %s\ntls off\n"
                    "source_ip %s\naccount default : test\n"
                    % (self.inst.host, self.inst.port, self.user,
                       self.password, OUTSIDE))
        os.chmod(rc, 0o600)
        p = subprocess.run(["msmtp", "-C", rc, "someone@remote.test"],
                           input=MSG % "msmtp", capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_protocol_errors(self):
        c = self.client()
        self.assertReply(c.cmd("AUTH PLAIN"), 503, "5.5.1")   # no EHLO
        c.cmd("EHLO client.test")
        self.assertReply(c.cmd("AUTH"), 501, "5.5.4")
        self.assertReply(c.cmd("AUTH CRAM-MD5"), 504, "5.5.4")
        self.assertReply(c.cmd("AUTH PLAIN"), 334)
        self.assertReply(c.cmd("*"), 501, "5.7.0")
        self.assertReply(c.cmd("AUTH PLAIN !!!notbase64"), 501, "5.5.2")
        self.assertReply(c.cmd("AUTH LOGIN"), 334, "VXNlcm5hbWU6")
        self.assertReply(c.cmd(b64(self.user)), 334, "UGFzc3dvcmQ6")
        self.assertReply(c.cmd("*"), 501, "5.7.0")
        self.assertReply(c.cmd("AUTH PLAIN"), 334)
        self.assertReply(c.cmd("QUFB" * 1000), 500, "5.5.6")
        self.assertReply(c.cmd("MAIL FROM:<a@example.test>"), 250)
        self.assertReply(c.cmd("AUTH PLAIN " +
                               b64("\0%s\0%s" % (self.user, self.password))),
                         503, "5.5.1")                      # transaction
        self.assertReply(c.cmd("RSET"), 250)
        self.assertReply(c.cmd("AUTH PLAIN " +
                               b64("\0%s\0%s" % (self.user, self.password))),
                         235, "2.7.0")
        self.assertReply(c.cmd("AUTH PLAIN " +
                               b64("\0%s\0%s" % (self.user, self.password))),
                         503, "5.5.1")                      # already
        self.assertReply(c.cmd("MAIL FROM:<alice@example.test> "
                               "AUTH=alice+40example.test"), 250)
        self.assertReply(c.cmd("RCPT TO:<someone@remote.test>"), 250)
        self.assertReply(c.cmd("QUIT"), 221)

    def test_failure_pauses_only_that_session(self):
        c = self.client()
        c.cmd("EHLO client.test")
        c.send(("AUTH PLAIN %s\r\n" % b64("\0%s\0%s" % (self.user, WRONG)))
               .encode())
        start = time.monotonic()
        # Meanwhile another client is served at once.
        other = self.client(INSIDE)
        t0 = time.monotonic()
        self.assertReply(other.cmd("EHLO other.test"), 250)
        self.assertLess(time.monotonic() - t0, 1.0)
        other.cmd("QUIT")
        code, text = c.reply()
        self.assertEqual(code, 535, text)
        self.assertIn("5.7.8", text)
        self.assertGreaterEqual(time.monotonic() - start, 1.8)
        self.assertNoSecrets()

    def test_received_with_esmtpa(self):
        path = maildir_of("ptalice")
        clear_maildir(path)
        with self.inst.smtp(OUTSIDE) as s:
            s.ehlo("client.test")
            s.login(self.user, self.password)
            s.sendmail("alice@example.test", ["ptalice@example.test"],
                       MSG % "esmtpa",
                       mail_options=["AUTH=alice+40example.test"])
        msgs = wait_maildir(path)
        self.assertIn(", sasl_username=%s, sasl_sender=alice@example.test"
                      % self.user, self.inst.logtext())
        self.assertTrue(msgs, self.inst.logtext()[-3000:])
        self.assertIn(b"with ESMTPA id", msgs[-1])
        if self.inst.settings.get("smtpd_sasl_authenticated_header") == "yes":
            self.assertIn(b"(Authenticated sender: %s)" % self.user.encode(),
                          msgs[-1])
        else:
            self.assertNotIn(b"Authenticated sender", msgs[-1])


def make_sasldb(directory, user, password, realm):
    db = os.path.join(directory, "sasldb2")
    subprocess.run(["saslpasswd2", "-p", "-c", "-f", db, "-u", realm, user],
                   input=password, text=True, check=True,
                   capture_output=True)
    return db


@unittest.skipUnless(is_root(), "needs root: real users and privilege separation")
class CyrusSasldbTest(AuthChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sasl_dir = tempfile.mkdtemp(prefix="sasl-", dir="/var/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.sasl_dir, True)
        os.chmod(cls.sasl_dir, 0o755)
        db = make_sasldb(cls.sasl_dir, USER, PASSWORD, "mx.example.test")
        # As Debian ships /etc/sasldb2: root:sasl, 0640, and the admin
        # runs `adduser postern sasl`. The sasl daemon must get that group
        # (server.c sets mail_owner's supplementary groups).
        if subprocess.run(["getent", "group", "sasl"],
                          capture_output=True).returncode != 0:
            subprocess.run(["groupadd", "--system", "sasl"], check=True)
        subprocess.run(["usermod", "-a", "-G", "sasl", "postern"],
                       check=True)
        os.chown(db, 0, grp.getgrnam("sasl").gr_gid)
        os.chmod(db, 0o640)
        with open(os.path.join(cls.sasl_dir, "smtpd.conf"), "w") as f:
            f.write("pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
                    "sasldb_path: %s\nmech_list: PLAIN LOGIN\n" % db)
        cls.inst = Instance("auth-sasldb", master_cf=MASTER_CF_SASL,
                            main=sasl_main({
                                "smtpd_sasl_type": "cyrus",
                                "cyrus_sasl_config_path": cls.sasl_dir,
                            }))
        cls.addClassCleanup(cls.inst.cleanup)
        cls.inst.start()


@unittest.skipUnless(is_root(), "needs root: real users and privilege separation")
class CyrusSaslauthdTest(AuthChecks, unittest.TestCase):
    """pwcheck_method: saslauthd, with a saslauthd of our own (-a sasldb
    reads /etc/sasldb2, -a shadow the system users: we use shadow with the
    test user ptbob, whose password we set)."""
    user = "ptbob"

    @classmethod
    def setUpClass(cls):
        cls.sasl_dir = tempfile.mkdtemp(prefix="saslauthd-", dir="/var/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.sasl_dir, True)
        os.chmod(cls.sasl_dir, 0o755)
        cls.inst = Instance("auth-saslauthd", master_cf=MASTER_CF_SASL,
                            main=sasl_main({
                                "smtpd_sasl_type": "cyrus",
                                "cyrus_sasl_config_path": cls.sasl_dir,
                            }))
        cls.addClassCleanup(cls.inst.cleanup)
        subprocess.run(["chpasswd"], input="ptbob:%s\n" % PASSWORD,
                       text=True, check=True)
        run = os.path.join(cls.sasl_dir, "run")
        os.makedirs(run)
        os.chmod(run, 0o755)
        with open(os.path.join(cls.sasl_dir, "smtpd.conf"), "w") as f:
            f.write("pwcheck_method: saslauthd\nsaslauthd_path: %s/mux\n"
                    "mech_list: PLAIN LOGIN\n" % run)
        cls.saslauthd = subprocess.Popen(
            ["saslauthd", "-d", "-a", "shadow", "-m", run, "-n", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            # saslauthd signals its whole process group when it stops.
            start_new_session=True)
        cls.addClassCleanup(cls.stop_saslauthd)
        if not wait_for(lambda: os.path.exists(os.path.join(run, "mux")), 10):
            raise RuntimeError("saslauthd did not start")
        cls.inst.start()

    @classmethod
    def stop_saslauthd(cls):
        try:
            os.kill(cls.saslauthd.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            cls.saslauthd.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(cls.saslauthd.pid, signal.SIGKILL)
            cls.saslauthd.wait(5)


@unittest.skipUnless(is_root(), "needs root: network namespaces, Dovecot, "
                     "privilege separation")
class DovecotAuthTest(AuthChecks, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from netns import NetNS, Dovecot
        cls.inst = Instance("auth-dovecot", main=sasl_main({
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": "private/auth",
            "smtpd_sasl_authenticated_header": "yes",
        }))
        cls.addClassCleanup(cls.inst.cleanup)
        cls.inst.start()
        # Dovecot only serves unix sockets here; the namespace just keeps
        # its processes together (and killed at the end).
        cls.ns = NetNS("auth")
        cls.addClassCleanup(cls.ns.close)
        auth = os.path.join(cls.inst.queue, "private", "auth")
        lmtp = os.path.join(cls.inst.queue, "private", "dovecot-lmtp")
        cls.dovecot = Dovecot(cls.ns, lmtp, auth_users={USER: PASSWORD},
                              auth_socket=auth)
        cls.addClassCleanup(cls.dovecot.close)
        cls.dovecot.start()
        wait_for(lambda: os.path.exists(auth), 10)

    def test_dead_backend_is_temporary(self):
        """A second instance whose auth socket does not exist: 454."""
        c = self.client()
        c.cmd("EHLO client.test")
        inst = Instance("auth-nobackend", main=sasl_main({
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": "private/nonexistent",
        }))
        try:
            inst.start()
            c2 = inst.raw(OUTSIDE)
            c2.reply()
            c2.cmd("EHLO client.test")
            self.assertReply(c2.cmd("AUTH PLAIN " + b64("\0a\0b")), 454,
                             "4.7.0")
            self.assertIn("Connection lost to authentication server",
                          inst.logtext())
        finally:
            inst.cleanup()


@unittest.skipUnless(is_root(), "needs root: real users and privilege separation")
class AuthOnlyTest(unittest.TestCase):
    """The defaults: no AUTH on a service that does not enable it; with
    smtpd_sasl_auth_enable=yes, no AUTH before TLS."""

    @classmethod
    def setUpClass(cls):
        cls.inst = Instance("auth-tlsonly", master_cf=MASTER_CF_SASL,
                            main={"smtpd_sasl_auth_enable": "yes"})
        cls.addClassCleanup(cls.inst.cleanup)
        cls.inst.start()
        cls.plain = Instance("auth-port25", master_cf=MASTER_CF_SASL)
        cls.addClassCleanup(cls.plain.cleanup)
        cls.plain.start()

    def test_not_offered_before_tls(self):
        c = self.inst.raw(OUTSIDE)
        c.reply()
        code, text = c.cmd("EHLO client.test")
        self.assertEqual(code, 250)
        self.assertNotIn("AUTH", text)
        code, text = c.cmd("AUTH PLAIN " + b64("\0alice\0x"))
        self.assertEqual(code, 530, text)
        self.assertIn("5.7.0 Must issue a STARTTLS command first", text)

    def test_not_offered_by_default(self):
        c = self.plain.raw(OUTSIDE)
        c.reply()
        code, text = c.cmd("EHLO client.test")
        self.assertNotIn("AUTH", text)
        code, text = c.cmd("AUTH PLAIN " + b64("\0alice\0x"))
        self.assertEqual(code, 503, text)


@unittest.skipUnless(is_root(), "needs root: real users and privilege separation")
class TlsAuthTest(unittest.TestCase):
    """The shipped way: port 25 without AUTH, submission (587) with
    STARTTLS and AUTH only after it, submissions (465) with TLS from the
    first byte; sasldb through the sasl daemon; real clients."""

    @classmethod
    def setUpClass(cls):
        from netns import TestCA
        cls.ca = TestCA()
        cls.addClassCleanup(cls.ca.close)
        cert, key = cls.ca.issue("mx.example.test", ips=["127.0.0.1"])
        cls.sasl_dir = tempfile.mkdtemp(prefix="sasl-", dir="/var/tmp")
        cls.addClassCleanup(shutil.rmtree, cls.sasl_dir, True)
        os.chmod(cls.sasl_dir, 0o755)
        db = make_sasldb(cls.sasl_dir, USER, PASSWORD, "mx.example.test")
        pw = pwd.getpwnam("postern")
        os.chown(db, pw.pw_uid, pw.pw_gid)
        with open(os.path.join(cls.sasl_dir, "smtpd.conf"), "w") as f:
            f.write("pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
                    "sasldb_path: %s\n" % db)
        from instance import free_port
        cls.sub_port = free_port()
        cls.subs_port = free_port()
        extra = (
            "%s:%d inet n - y - - smtpd\n"
            "  -o smtpd_tls_security_level=encrypt\n"
            "  -o smtpd_sasl_auth_enable=yes\n"
            "%s:%d inet n - y - - smtpd\n"
            "  -o smtpd_tls_wrappermode=yes\n"
            "  -o smtpd_sasl_auth_enable=yes\n"
            % (INSIDE, cls.sub_port, INSIDE, cls.subs_port))
        cls.inst = Instance("auth-tls", master_cf=MASTER_CF_SASL + extra,
                            main={
                                "smtpd_tls_security_level": "may",
                                "smtpd_tls_cert_file": cert,
                                "smtpd_tls_key_file": key,
                                "cyrus_sasl_config_path": cls.sasl_dir,
                                "smtpd_relay_restrictions":
                                    "permit_mynetworks, "
                                    "permit_sasl_authenticated, "
                                    "reject_unauth_destination",
                            })
        cls.addClassCleanup(cls.inst.cleanup)
        cls.inst.start()
        wait_for(lambda: cls.connectable(cls.sub_port), 10)
        wait_for(lambda: cls.connectable(cls.subs_port), 10)

    @staticmethod
    def connectable(port):
        try:
            socket.create_connection((INSIDE, port), 1).close()
            return True
        except OSError:
            return False

    def context(self):
        import ssl
        ctx = ssl.create_default_context(cafile=self.ca.cert)
        ctx.check_hostname = False
        return ctx

    def smtp(self, port):
        return smtplib.SMTP(INSIDE, port, timeout=30,
                            source_address=(OUTSIDE, 0))

    def test_port25_never_offers_auth(self):
        with self.smtp(self.inst.port) as s:
            s.ehlo("client.test")
            self.assertTrue(s.has_extn("starttls"))
            self.assertFalse(s.has_extn("auth"))
            s.starttls(context=self.context())
            s.ehlo("client.test")
            self.assertFalse(s.has_extn("auth"))
            code, text = s.docmd("AUTH", "PLAIN " +
                                 b64("\0%s\0%s" % (USER, PASSWORD)))
            self.assertEqual(code, 503, text)

    def test_submission_auth_after_starttls(self):
        with self.smtp(self.sub_port) as s:
            s.ehlo("client.test")
            self.assertFalse(s.has_extn("auth"))
            code, text = s.docmd("AUTH", "PLAIN " +
                                 b64("\0%s\0%s" % (USER, PASSWORD)))
            self.assertEqual(code, 530, text)
            self.assertIn(b"5.7.0 Must issue a STARTTLS command first", text)
            s.starttls(context=self.context())
            s.ehlo("client.test")
            self.assertIn("PLAIN", s.esmtp_features.get("auth", ""))
            self.assertIn("LOGIN", s.esmtp_features.get("auth", ""))
            self.assertEqual(s.login(USER, PASSWORD)[0], 235)
            path = maildir_of("ptalice")
            clear_maildir(path)
            s.sendmail("alice@example.test", ["ptalice@example.test"],
                       MSG % "esmtpsa")
        msgs = wait_maildir(path)
        self.assertTrue(msgs, self.inst.logtext()[-3000:])
        self.assertIn(b"with ESMTPSA id", msgs[-1])

    def test_swaks_starttls(self):
        for mech in ("PLAIN", "LOGIN"):
            p = subprocess.run(["swaks", "--server", INSIDE, "--port",
                                str(self.sub_port), "--local-interface",
                                OUTSIDE, "--tls", "--from",
                                "alice@example.test", "--to",
                                "someone@remote.test", "--auth", mech,
                                "--auth-user", USER, "--auth-password",
                                PASSWORD], capture_output=True, text=True,
                               timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("235 2.7.0", p.stdout)
        p = subprocess.run(["swaks", "--server", INSIDE, "--port",
                            str(self.sub_port), "--local-interface",
                            OUTSIDE, "--tls", "--from", "alice@example.test",
                            "--to", "someone@remote.test", "--auth", "PLAIN",
                            "--auth-user", USER, "--auth-password", WRONG,
                            "--quit-after", "AUTH"],
                           capture_output=True, text=True, timeout=60)
        self.assertIn("535 5.7.8", p.stdout)
        log = self.inst.logtext()
        self.assertNotIn(WRONG, log)
        self.assertNotIn(PASSWORD, log)

    def test_curl_starttls_and_smtps(self):
        for url, extra in (("smtp://%s:%d" % (INSIDE, self.sub_port),
                            ["--ssl-reqd"]),
                           ("smtps://%s:%d" % (INSIDE, self.subs_port), [])):
            p = subprocess.run(["curl", "-sS", "--interface", OUTSIDE,
                                "--cacert", self.ca.cert] + extra +
                               [url, "--mail-from", "alice@example.test",
                                "--mail-rcpt", "someone@remote.test",
                                "--user", "%s:%s" % (USER, PASSWORD),
                                "--upload-file", "-"],
                               input=MSG % "curl", capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, 0, url + ": " + p.stderr)

    def test_msmtp_starttls(self):
        rc = os.path.join(self.inst.dir, "msmtprc-tls")
        with open(rc, "w") as f:
            f.write("account test\nhost %s\nport %d\n"
                    "from alice@example.test\nauth on\nuser %s\n"
                    "password %s\ntls on\ntls_starttls on\n"
                    "tls_trust_file %s\ntls_certcheck on\n"
                    "source_ip %s\naccount default : test\n"
                    % (INSIDE, self.sub_port, USER, PASSWORD, self.ca.cert,
                       OUTSIDE))
        os.chmod(rc, 0o600)
        p = subprocess.run(["msmtp", "-C", rc, "someone@remote.test"],
                           input=MSG % "msmtp", capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


@unittest.skipUnless(is_root(), "needs root: network namespaces, Dovecot, "
                     "privilege separation")
class DovecotSecuredTest(unittest.TestCase):
    """Dovecot with its default disable_plaintext_auth = yes (which lets
    loopback clients in anyway, so the test reads Dovecot's debug log):
    smtpd flags a TLS session "secured", and only a TLS session."""

    @classmethod
    def setUpClass(cls):
        from netns import NetNS, Dovecot, TestCA
        cls.ca = TestCA()
        cls.addClassCleanup(cls.ca.close)
        cert, key = cls.ca.issue("mx.example.test", ips=["127.0.0.1"])
        cls.inst = Instance("auth-dovecot-tls", main=sasl_main({
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": "private/auth",
            "smtpd_tls_security_level": "may",
            "smtpd_tls_cert_file": cert,
            "smtpd_tls_key_file": key,
        }))
        cls.addClassCleanup(cls.inst.cleanup)
        cls.inst.start()
        cls.ns = NetNS("autht")
        cls.addClassCleanup(cls.ns.close)
        auth = os.path.join(cls.inst.queue, "private", "auth")
        lmtp = os.path.join(cls.inst.queue, "private", "dovecot-lmtp")
        cls.dovecot = Dovecot(cls.ns, lmtp, auth_users={USER: PASSWORD},
                              auth_socket=auth)
        cls.addClassCleanup(cls.dovecot.close)
        with open(cls.dovecot.conf) as f:
            conf = f.read()
        with open(cls.dovecot.conf, "w") as f:
            f.write(conf.replace("disable_plaintext_auth = no",
                                 "disable_plaintext_auth = yes\n"
                                 "auth_debug = yes"))
        cls.dovecot.start()
        wait_for(lambda: os.path.exists(auth), 10)

    def test_secured_only_with_tls(self):
        import ssl
        with self.inst.smtp(OUTSIDE) as s:
            s.ehlo("client.test")
            self.assertEqual(s.login(USER, PASSWORD)[0], 235)
        self.assertTrue(wait_for(lambda: "\tPLAIN\tservice=smtp\tnologin\t"
                                 "rip=127.0.0.66" in self.dovecot.logtext(),
                                 10), self.dovecot.logtext())
        with self.inst.smtp(OUTSIDE) as s:
            ctx = ssl.create_default_context(cafile=self.ca.cert)
            ctx.check_hostname = False
            s.starttls(context=ctx)
            s.ehlo("client.test")
            self.assertEqual(s.login(USER, PASSWORD)[0], 235)
        self.assertTrue(wait_for(lambda: "\tnologin\tsecured\trip=127.0.0.66"
                                 in self.dovecot.logtext(), 10),
                        self.dovecot.logtext())
        self.assertNotIn(PASSWORD, self.dovecot.logtext())


if __name__ == "__main__":
    unittest.main()
