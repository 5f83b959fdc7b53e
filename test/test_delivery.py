"""Mail flows end to end: SMTP in, queue, Maildir out."""
import email
import os
import unittest

from instance import (Instance, INSIDE, OUTSIDE, clear_maildir, is_root,
                      maildir_of, read_maildir, wait_maildir, wait_for)


@unittest.skipUnless(is_root(), "needs root: real users and privilege separation")
class DeliveryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.inst = Instance("delivery").start()

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()

    def setUp(self):
        for u in ("ptalice", "ptbob"):
            clear_maildir(maildir_of(u))
        for v in ("carol", "dave"):
            clear_maildir(self.inst.vmaildir(v))

    def send(self, rcpts, body, sender="sender@outside.test", source=INSIDE):
        with self.inst.smtp(source) as s:
            s.ehlo("client.outside.test")
            return s.sendmail(sender, rcpts, body)

    def test_system_user_byte_exact(self):
        body = (b"Subject: exact\r\nFrom: a@outside.test\r\n\r\n"
                b"line one\r\n.leading dot\r\n..two dots\r\n"
                b"8bit: \xc3\xa9t\xc3\xa9\r\n\r\ntrailing\r\n")
        self.send(["ptalice@example.test"], body)
        msgs = wait_maildir(maildir_of("ptalice"))
        self.assertEqual(len(msgs), 1)
        m = msgs[0]
        self.assertTrue(m.startswith(b"Return-Path: <sender@outside.test>\n"
                                     b"Delivered-To: ptalice@example.test\n"), m[:200])
        self.assertIn(b"\nReceived: from client.outside.test", m)
        # Body exactly as sent, with LF line ends and dots unstuffed.
        want = body.replace(b"\r\n", b"\n")
        self.assertTrue(m.endswith(want), m[-300:])

    def test_large_attachment(self):
        import base64
        blob = base64.encodebytes(os.urandom(5 * 1024 * 1024 * 3 // 4))
        body = (b"Subject: big\r\nMIME-Version: 1.0\r\n"
                b"Content-Type: application/octet-stream\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n" +
                blob.replace(b"\n", b"\r\n"))
        self.assertGreater(len(body), 5_000_000)
        self.send(["ptbob@example.test"], body)
        msgs = wait_maildir(maildir_of("ptbob"), timeout=60)
        self.assertEqual(len(msgs), 1)
        self.assertTrue(msgs[0].endswith(body.replace(b"\r\n", b"\n")))

    def test_swaks_client(self):
        import subprocess
        p = subprocess.run(
            ["swaks", "--server", f"{self.inst.host}:{self.inst.port}",
             "--ehlo", "swaks.outside.test", "--from", "s@outside.test",
             "--to", "ptalice@example.test", "--header", "Subject: by swaks",
             "--body", "swaks body line"], capture_output=True, text=True,
            timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"250 2\.0\.0 Ok: queued as [0-9A-F]+")
        msgs = wait_maildir(maildir_of("ptalice"))
        self.assertEqual(len(msgs), 1)
        self.assertIn(b"Subject: by swaks\n", msgs[0])
        self.assertIn(b"swaks body line", msgs[0])

    def test_virtual_mailbox(self):
        self.send(["carol@virtual.test"], b"Subject: v\r\n\r\nhello carol\r\n")
        msgs = wait_maildir(self.inst.vmaildir("carol"))
        self.assertEqual(len(msgs), 1)
        self.assertIn(b"Delivered-To: carol@virtual.test\n", msgs[0])
        st = os.stat(os.path.join(self.inst.vmaildir("carol"), "new"))
        self.assertNotEqual(st.st_uid, 0)

    def test_virtual_alias_to_virtual(self):
        self.send(["info@virtual.test"], b"Subject: va\r\n\r\nvia alias\r\n")
        msgs = wait_maildir(self.inst.vmaildir("carol"))
        self.assertEqual(len(msgs), 1)

    def test_alias_list_and_plus(self):
        self.send(["alice@example.test", "staff@example.test",
                   "ptbob+lists@example.test"],
                  b"Subject: aliases\r\n\r\nhi all\r\n")
        alice = wait_maildir(maildir_of("ptalice"), 2)
        bob = wait_maildir(maildir_of("ptbob"), 2)
        self.assertEqual(len(alice), 2, "alias + list alias")
        self.assertEqual(len(bob), 2, "list alias + plus address")
        self.assertTrue(any(b"Delivered-To: ptbob+lists@example.test" in m
                            for m in bob))

    def test_case_insensitive_local_part(self):
        self.send(["PtAlice@Example.TEST"], b"Subject: case\r\n\r\nx\r\n")
        self.assertEqual(len(wait_maildir(maildir_of("ptalice"))), 1)

    def test_virtual_alias_list(self):
        self.send(["team@example.test"], b"Subject: team\r\n\r\nx\r\n")
        self.assertEqual(len(wait_maildir(maildir_of("ptalice"))), 1)
        self.assertEqual(len(wait_maildir(maildir_of("ptbob"))), 1)

    def test_unknown_user_rejected_at_rcpt(self):
        with self.inst.smtp(OUTSIDE) as s:
            s.ehlo("client.outside.test")
            s.mail("x@outside.test")
            code, msg = s.rcpt("nosuchuser@example.test")
            self.assertEqual(code, 550)
            self.assertIn(b"5.1.1", msg)
            code, msg = s.rcpt("nobody-here@virtual.test")
            self.assertEqual(code, 550)
            self.assertIn(b"5.1.1", msg)

    def test_relay_denied_from_internet(self):
        before = len(self.inst.queue_files())
        with self.inst.smtp(OUTSIDE) as s:
            s.ehlo("client.outside.test")
            s.mail("x@outside.test")
            code, msg = s.rcpt("someone@elsewhere.test")
            self.assertEqual(code, 554)
            self.assertIn(b"5.7.1", msg)
        self.assertEqual(len(self.inst.queue_files()), before)
        self.assertIn("Relay access denied", self.inst.logtext())

    def test_relay_allowed_from_mynetworks(self):
        with self.inst.smtp(INSIDE) as s:
            s.ehlo("inside.example.test")
            s.mail("ptalice@example.test")
            code, _ = s.rcpt("someone@elsewhere.test")
            self.assertEqual(code, 250)
            s.rset()

    def test_sendmail_t_from_local_user(self):
        msg = (b"To: ptbob@example.test\nCc: ptalice@example.test\n"
               b"Subject: from cron\n\nbody line\n.\nafter dot\n")
        p = self.inst.sendmail(["-t", "-i"], msg, user="ptalice")
        self.assertEqual(p.returncode, 0, p.stderr)
        bob = wait_maildir(maildir_of("ptbob"))
        self.assertEqual(len(bob), 1)
        m = email.message_from_bytes(bob[0])
        self.assertEqual(m["Subject"], "from cron")
        self.assertIn("ptalice", m["From"] or "")
        self.assertIsNotNone(m["Message-ID"])
        self.assertIsNotNone(m["Date"])
        self.assertTrue(bob[0].endswith(b"body line\n.\nafter dot\n"))
        self.assertEqual(len(wait_maildir(maildir_of("ptalice"))), 1)


if __name__ == "__main__":
    unittest.main()
