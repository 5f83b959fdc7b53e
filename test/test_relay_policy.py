"""Relay policy: who may send where, with real clients (smtplib, swaks,
curl) against instances with a real Dovecot for SMTP AUTH.

RelayPolicyTest: the policy's parts one by one on a plain instance (no TLS,
smtpd_tls_auth_only=no, so AUTH works in clear on loopback).

ShippedConfigTest: an instance made from the shipped etc/main.cf and
etc/master.cf, only paths, ports, host and domain names, a test
certificate and the SASL socket filled in (and mynetworks narrowed to
127.0.0.1, since the shipped 127.0.0.0/8 would make the test's "internet"
address 127.0.0.66 local). It must implement the self-hoster's table:
LAN anywhere, internet only to our domains, authenticated users anywhere
but only as their own addresses, everyone else refused."""
import base64
import os
import re
import smtplib
import ssl
import subprocess
import unittest

from instance import (BIN, Instance, MASTER_CF, INSIDE, OUTSIDE, free_port,
                      is_root, wait_for)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORDS = {"alice": "Alice-pass-1x", "bob": "Bob-pass-2y"}
MSG = ("From: %s\r\nTo: %s\r\nSubject: relay policy\r\n\r\nhello\r\n")


def start_dovecot(test_class, inst):
    """A Dovecot answering SASL on inst's queue/private/auth; stopped with
    the class."""
    from netns import NetNS, Dovecot
    test_class.ns = NetNS("relay")
    test_class.addClassCleanup(test_class.ns.close)
    auth = os.path.join(inst.queue, "private", "auth")
    lmtp = os.path.join(inst.queue, "private", "dovecot-lmtp")
    test_class.dovecot = Dovecot(test_class.ns, lmtp, auth_users=PASSWORDS,
                                 auth_socket=auth)
    test_class.addClassCleanup(test_class.dovecot.close)
    test_class.dovecot.start()
    if not wait_for(lambda: os.path.exists(auth), 10):
        raise RuntimeError("Dovecot did not make " + auth)


def write_sender_login(inst):
    path = os.path.join(inst.conf, "sender_login")
    with open(path, "w") as f:
        f.write("alice@example.test   alice\n"
                "team@example.test    alice, bob\n"
                "bob@example.test     bob\n")
    inst.postern("map", "build", path, check=True)


class PolicyAsserts:
    def assertLogged(self, pattern, inst=None):
        inst = inst or self.inst
        found = wait_for(lambda: re.search(pattern, inst.logtext(), re.M),
                         10)
        self.assertTrue(found, "log has no line matching %r:\n%s" %
                        (pattern, inst.logtext()[-3000:]))

    def refused(self, smtp, sender, rcpt):
        """Send and expect RCPT to be refused: its (code, text)."""
        with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
            smtp.sendmail(sender, [rcpt], MSG % (sender, rcpt))
        code, text = cm.exception.recipients[rcpt]
        return code, text.decode()


@unittest.skipUnless(is_root(), "needs root: Dovecot, privilege separation")
class RelayPolicyTest(PolicyAsserts, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.inst = Instance("relay", main={
            "smtpd_sasl_auth_enable": "yes",
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": "private/auth",
            "smtpd_tls_auth_only": "no",
            "smtpd_relay_restrictions": "permit_mynetworks, "
                                        "permit_sasl_authenticated, "
                                        "reject_unauth_destination",
            "smtpd_sender_restrictions": "reject_sender_login_mismatch",
            "smtpd_sender_login_maps": "lmdb:$config_directory/sender_login",
        })
        cls.addClassCleanup(cls.inst.cleanup)
        write_sender_login(cls.inst)
        cls.inst.start()
        start_dovecot(cls, cls.inst)

    def test_internet_relay_refused(self):
        with self.inst.smtp(OUTSIDE) as s:
            s.ehlo("client.test")
            code, text = self.refused(s, "x@outside.test", "x@remote.test")
        self.assertEqual(code, 554)
        self.assertIn("5.7.1 <x@remote.test>: Relay access denied", text)
        self.assertLogged(
            r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.66\]: 554 5\.7\.1 "
            r"<x@remote\.test>: Relay access denied; from=<x@outside\.test> "
            r"to=<x@remote\.test> proto=ESMTP helo=<client\.test>$")

    def test_internet_to_our_domain_accepted(self):
        with self.inst.smtp(OUTSIDE) as s:
            s.ehlo("client.test")
            refused = s.sendmail("x@outside.test", ["ptalice@example.test"],
                                 MSG % ("x@outside.test",
                                        "ptalice@example.test"))
        self.assertEqual(refused, {})

    def test_unauthenticated_owner_address_refused(self):
        # reject_sender_login_mismatch: an owned address needs its login.
        with self.inst.smtp(OUTSIDE) as s:
            s.ehlo("client.test")
            code, text = self.refused(s, "alice@example.test",
                                      "ptalice@example.test")
        self.assertEqual(code, 553)
        self.assertIn("<alice@example.test>: Sender address rejected: not "
                      "logged in", text)

    def test_mynetworks_relays(self):
        p = subprocess.run(["swaks", "--server", self.inst.host, "--port",
                            str(self.inst.port), "--local-interface", INSIDE,
                            "--from", "lan@example.test", "--to",
                            "x@remote.test", "--quit-after", "RCPT"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("250 2.1.5 Ok", p.stdout)

    def test_authenticated_relay_accepted(self):
        with self.inst.smtp(OUTSIDE) as s:
            s.ehlo("client.test")
            self.assertEqual(s.login("alice", PASSWORDS["alice"])[0], 235)
            refused = s.sendmail("alice@example.test", ["x@remote.test"],
                                 MSG % ("alice@example.test",
                                        "x@remote.test"))
        self.assertEqual(refused, {})
        self.assertLogged(r"client=unknown\[127\.0\.0\.66\], "
                          r"sasl_method=\w+, sasl_username=alice")

    def test_authenticated_relay_curl(self):
        p = subprocess.run(["curl", "-sS", "--interface", OUTSIDE,
                            "smtp://%s:%d" % (self.inst.host, self.inst.port),
                            "--mail-from", "bob@example.test",
                            "--mail-rcpt", "y@remote.test",
                            "--user", "bob:" + PASSWORDS["bob"],
                            "--upload-file", "-"],
                           input=MSG % ("bob@example.test", "y@remote.test"),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_shared_address(self):
        # "team@example.test  alice, bob": either owner may use it.
        with self.inst.smtp(OUTSIDE) as s:
            s.ehlo("client.test")
            s.login("bob", PASSWORDS["bob"])
            refused = s.sendmail("team@example.test", ["x@remote.test"],
                                 MSG % ("team@example.test",
                                        "x@remote.test"))
        self.assertEqual(refused, {})

    def test_other_users_address_refused(self):
        for sender in ("bob@example.test", "stranger@elsewhere.test"):
            with self.inst.smtp(OUTSIDE) as s:
                s.ehlo("client.test")
                s.login("alice", PASSWORDS["alice"])
                code, text = self.refused(s, sender, "x@remote.test")
            self.assertEqual(code, 553, text)
            self.assertIn("5.7.1 <%s>: Sender address rejected: not owned "
                          "by user alice" % sender, text)
            self.assertLogged(
                r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.66\]: 553 "
                r"5\.7\.1 <%s>: Sender address rejected: not owned by user "
                r"alice; from=<%s> to=<x@remote\.test> proto=ESMTP "
                r"helo=<client\.test>$" % (re.escape(sender),
                                           re.escape(sender)))

    def test_swaks_wrong_sender(self):
        p = subprocess.run(["swaks", "--server", self.inst.host, "--port",
                            str(self.inst.port), "--local-interface",
                            OUTSIDE, "--from", "bob@example.test", "--to",
                            "x@remote.test", "--auth", "PLAIN",
                            "--auth-user", "alice", "--auth-password",
                            PASSWORDS["alice"], "--quit-after", "RCPT"],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("553 5.7.1 <bob@example.test>: Sender address "
                      "rejected: not owned by user alice", p.stdout)


def shipped_instance(name, ca):
    """An Instance whose main.cf and master.cf are the shipped ones with the
    test's paths, ports and names."""
    inst = Instance(name)
    crt, key = ca.issue("mx.example.test", ips=["127.0.0.1"])
    ports = {"smtp": inst.port, "submission": free_port(),
             "submissions": free_port()}
    with open(os.path.join(ROOT, "etc", "main.cf")) as f:
        main = f.read()
    # Later lines win, as in Postfix: the test's settings follow the
    # shipped file unchanged.
    settings = dict(inst.settings)
    for k in ("smtpd_relay_restrictions", "mydestination"):
        settings.pop(k, None)     # the shipped values are under test
    settings.update({
        "mynetworks": "127.0.0.1/32",
        "smtpd_tls_cert_file": crt,
        "smtpd_tls_key_file": key,
        "smtpd_sasl_type": "dovecot",
        "smtpd_sasl_path": "private/auth",
    })
    main += "\n# -- the test's paths and names\n" + "".join(
        "%s = %s\n" % kv for kv in settings.items())
    with open(os.path.join(inst.conf, "main.cf"), "w") as f:
        f.write(main)
    with open(os.path.join(ROOT, "etc", "master.cf")) as f:
        master = f.read()
    out = []
    for line in master.splitlines(True):
        words = line.split()
        if len(words) >= 2 and words[1] == "inet" and words[0] in ports:
            line = line.replace(words[0], "%s:%d" % (INSIDE, ports[words[0]]),
                                1)
        elif len(words) >= 2 and words[1] == "unix" and \
                words[0] in ("smtp", "relay", "lmtp"):
            # No outbound delivery: mail to remote domains stays queued
            # (no DNS queries leave the machine).
            line = "#" + line
        out.append(line)
    with open(os.path.join(inst.conf, "master.cf"), "w") as f:
        f.write("".join(out))
    inst.ports = ports
    # No sender_login table: each user owns their own address
    # (smtpd_sender_login_self), with nothing to fill in.
    return inst


@unittest.skipUnless(is_root(), "needs root: Dovecot, privilege separation")
class ShippedConfigTest(PolicyAsserts, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from netns import TestCA
        cls.ca = TestCA()
        cls.addClassCleanup(cls.ca.close)
        cls.inst = shipped_instance("shipped", cls.ca)
        cls.addClassCleanup(cls.inst.cleanup)
        p = cls.inst.postern("check")
        if re.search(r"(main|master)\.cf, line \d+:", p.stderr):
            raise AssertionError("postern check: " + p.stderr)
        cls.inst.start()
        start_dovecot(cls, cls.inst)
        wait_for(lambda: all(cls.can_connect(p) for p in
                             cls.inst.ports.values()), 10)

    @staticmethod
    def can_connect(port):
        import socket
        try:
            with socket.create_connection((INSIDE, port), 1):
                return True
        except OSError:
            return False

    def tls_context(self):
        return ssl.create_default_context(cafile=self.ca.cert)

    def smtp(self, service, source=OUTSIDE):
        port = self.inst.ports[service]
        if service == "submissions":
            s = smtplib.SMTP_SSL(INSIDE, port, timeout=30,
                                 source_address=(source, 0),
                                 context=self.tls_context())
        else:
            s = smtplib.SMTP(INSIDE, port, timeout=30,
                             source_address=(source, 0))
        self.addCleanup(s.close)
        s.ehlo("client.test")
        if service == "submission":
            s.starttls(context=self.tls_context())
            s.ehlo("client.test")
        return s

    # -- port 25 -------------------------------------------------------------
    def test_25_no_auth(self):
        s = self.smtp("smtp")
        self.assertFalse(s.has_extn("auth"), s.esmtp_features)

    def test_25_internet_only_to_our_domains(self):
        s = self.smtp("smtp")
        code, text = self.refused(s, "x@outside.test", "x@remote.test")
        self.assertEqual((code, "5.7.1 <x@remote.test>: Relay access denied"),
                         (554, text))
        self.assertLogged(r"NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.66"
                          r"\]: 554 5\.7\.1 <x@remote\.test>: Relay access "
                          r"denied;")
        s = self.smtp("smtp")
        self.assertEqual(s.sendmail("x@outside.test", ["ptalice@example.test"],
                                    MSG % ("x", "ptalice@example.test")), {})

    def test_25_lan_anywhere(self):
        s = self.smtp("smtp", INSIDE)
        self.assertEqual(s.sendmail("lan@example.test", ["x@remote.test"],
                                    MSG % ("lan@example.test",
                                           "x@remote.test")), {})

    # -- submission (587) and submissions (465) ---------------------------------
    def test_587_needs_tls_then_auth(self):
        s = smtplib.SMTP(INSIDE, self.inst.ports["submission"], timeout=30,
                         source_address=(OUTSIDE, 0))
        self.addCleanup(s.close)
        s.ehlo("client.test")
        self.assertFalse(s.has_extn("auth"), "AUTH offered before STARTTLS")
        self.assertEqual(s.mail("x@outside.test")[0], 530)
        s.starttls(context=self.tls_context())
        s.ehlo("client.test")
        self.assertTrue(s.has_extn("auth"))
        # Without AUTH: nothing, not even to our domains, not from the LAN.
        code, text = self.refused(s, "alice@example.test",
                                  "ptalice@example.test")
        self.assertEqual(code, 554, text)
        self.assertIn("Client host rejected: Access denied", text)

    def test_587_lan_needs_auth_too(self):
        s = self.smtp("submission", INSIDE)
        code, text = self.refused(s, "lan@example.test", "x@remote.test")
        self.assertEqual(code, 554, text)

    def test_587_authenticated_anywhere(self):
        s = self.smtp("submission")
        self.assertEqual(s.login("alice", PASSWORDS["alice"])[0], 235)
        self.assertEqual(s.sendmail("alice@example.test", ["x@remote.test"],
                                    MSG % ("alice@example.test",
                                           "x@remote.test")), {})

    def test_587_only_own_addresses(self):
        s = self.smtp("submission")
        s.login("alice", PASSWORDS["alice"])
        code, text = self.refused(s, "bob@example.test", "x@remote.test")
        self.assertEqual(code, 553, text)
        self.assertIn("not owned by user alice", text)
        self.assertLogged(r"postern/submission/smtpd\[\d+\]: NOQUEUE: reject: "
                          r"RCPT from unknown\[127\.0\.0\.66\]: 553 5\.7\.1 "
                          r"<bob@example\.test>: Sender address rejected: "
                          r"not owned by user alice;")

    def test_587_own_address_variants(self):
        s = self.smtp("submission")
        s.login("alice", PASSWORDS["alice"])
        self.assertEqual(s.sendmail("Alice+news@example.test",
                                    ["x@remote.test"],
                                    MSG % ("alice", "x@remote.test")), {})
        # alice does not own alice@ a domain that is not ours.
        s = self.smtp("submission")
        s.login("alice", PASSWORDS["alice"])
        code, text = self.refused(s, "alice@remote.test", "x@remote.test")
        self.assertEqual(code, 553, text)

    def test_465_authenticated_anywhere(self):
        s = self.smtp("submissions")
        self.assertEqual(s.login("bob", PASSWORDS["bob"])[0], 235)
        self.assertEqual(s.sendmail("bob@example.test", ["y@remote.test"],
                                    MSG % ("bob@example.test",
                                           "y@remote.test")), {})
        s = self.smtp("submissions")
        s.login("bob", PASSWORDS["bob"])
        code, text = self.refused(s, "alice@example.test", "y@remote.test")
        self.assertEqual(code, 553, text)

    def test_465_curl_smtps(self):
        p = subprocess.run(["curl", "-sS", "--interface", OUTSIDE,
                            "--cacert", self.ca.cert,
                            "smtps://mx.example.test:%d" %
                            self.inst.ports["submissions"],
                            "--resolve", "mx.example.test:%d:%s" %
                            (self.inst.ports["submissions"], INSIDE),
                            "--mail-from", "alice@example.test",
                            "--mail-rcpt", "z@remote.test",
                            "--user", "alice:" + PASSWORDS["alice"],
                            "--upload-file", "-"],
                           input=MSG % ("alice@example.test",
                                        "z@remote.test"),
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()
