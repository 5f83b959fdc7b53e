"""smtpd's protocol hardening: sequence errors, limits, smuggling."""
import time
import unittest

from instance import Instance, INSIDE, OUTSIDE, is_root, wait_for


@unittest.skipUnless(is_root(), "needs root: real users and privilege separation")
class ProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.inst = Instance("protocol", main={
            "smtpd_recipient_limit": "5",
            "message_size_limit": "100000",
            "smtpd_helo_required": "yes",
            "smtpd_greet_pause": "1s",
            "smtpd_junk_command_limit": "3",
            "smtpd_error_sleep_time": "0s",
        }).start()

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()

    def client(self, source=INSIDE):
        c = self.inst.raw(source)
        code, text = c.reply()
        self.assertEqual(code, 220, text)
        self.assertIn("mx.example.test", text)
        return c

    def assertReply(self, got, code, dsn=None):
        self.assertEqual(got[0], code, got[1])
        if dsn:
            self.assertIn(dsn, got[1])

    def queued(self):
        return len(self.inst.queue_files())

    def test_ehlo_keywords(self):
        c = self.client()
        code, text = c.cmd("EHLO client.test")
        self.assertEqual(code, 250)
        for kw in ("PIPELINING", "SIZE 100000", "8BITMIME", "SMTPUTF8",
                   "CHUNKING", "ENHANCEDSTATUSCODES", "DSN"):
            self.assertIn(kw, text)
        self.assertNotIn("VRFY", text)
        self.assertReply(c.cmd("VRFY ptalice"), 502, "5.5.1")
        self.assertReply(c.cmd("NOOP"), 250)
        self.assertReply(c.cmd("HELP"), 214)
        self.assertReply(c.cmd("QUIT"), 221)

    def test_sequence_errors(self):
        c = self.client()
        self.assertReply(c.cmd("MAIL FROM:<a@b.test>"), 503, "5.5.1")  # helo required
        self.assertReply(c.cmd("EHLO client.test"), 250)
        self.assertReply(c.cmd("RCPT TO:<ptalice@example.test>"), 503, "5.5.1")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1")
        self.assertReply(c.cmd("MAIL FROM:<a@b.test>"), 250)
        self.assertReply(c.cmd("MAIL FROM:<a@b.test>"), 503, "5.5.1")
        self.assertReply(c.cmd("DATA"), 503, "5.5.1")
        self.assertReply(c.cmd("RSET"), 250)
        self.assertReply(c.cmd("RCPT TO:<ptalice@example.test>"), 503, "5.5.1")
        self.assertReply(c.cmd("BOGUS"), 502, "5.5.2")
        self.assertReply(c.cmd("MAIL FROM:bad address"), 501)
        self.assertReply(c.cmd("QUIT"), 221)

    def test_too_many_recipients(self):
        c = self.client()
        c.cmd("EHLO client.test")
        c.cmd("MAIL FROM:<a@b.test>")
        for i in range(5):
            self.assertReply(c.cmd("RCPT TO:<ptalice@example.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<ptalice@example.test>"), 452, "4.5.3")

    def test_line_too_long(self):
        c = self.client()
        c.cmd("EHLO client.test")
        self.assertReply(c.cmd("MAIL FROM:<" + "a" * 5000 + "@b.test>"), 500, "5.5.2")
        self.assertReply(c.cmd("NOOP"), 250)

    def test_declared_size_too_big(self):
        c = self.client()
        c.cmd("EHLO client.test")
        self.assertReply(c.cmd("MAIL FROM:<a@b.test> SIZE=200000"), 552, "5.3.4")

    def test_actual_size_too_big(self):
        before = self.queued()
        c = self.client()
        c.cmd("EHLO client.test")
        self.assertReply(c.cmd("MAIL FROM:<a@b.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<ptalice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 200 + b".\r\n")
        self.assertReply(c.reply(), 552, "5.3.4")
        time.sleep(0.5)
        self.assertEqual(self.queued(), before)

    def test_client_leaves_during_data(self):
        """A client gone during DATA leaves nothing queued, and the
        cleanup connection it never used no warning (a new instance: no
        pooled connection, so smtpd connects at DATA)."""
        inst = Instance("leaves").start()
        try:
            for partial in (b"short", b"x" * 70000):
                c = inst.raw()
                self.assertEqual(c.reply()[0], 220)
                c.cmd("EHLO client.test")
                self.assertReply(c.cmd("MAIL FROM:<a@b.test>"), 250)
                self.assertReply(c.cmd("RCPT TO:<ptalice@example.test>"),
                                 250)
                self.assertReply(c.cmd("DATA"), 354)
                c.send(b"Subject: gone\r\n\r\n" + partial)
                time.sleep(0.2)
                c.close()
            time.sleep(0.5)
            self.assertEqual(inst.queue_files(), [])
            log = inst.logtext()
            self.assertIn("message discarded", log)   # the big one
            self.assertNotIn("cannot read cleanup request", log)
        finally:
            inst.cleanup()

    def smuggle(self, payload, want):
        before = self.queued()
        c = self.client()
        c.cmd("EHLO client.test")
        self.assertReply(c.cmd("MAIL FROM:<a@b.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<ptalice@example.test>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send(b"Subject: smuggle\r\n\r\nhello\r\n" + payload +
               b"MAIL FROM:<evil@b.test>\r\nRCPT TO:<ptbob@example.test>\r\n"
               b"DATA\r\nevil\r\n.\r\n")
        code, text = c.reply()
        self.assertEqual(code, want, text)
        # The smuggled commands were data, not commands: one reply only.
        self.assertReply(c.cmd("NOOP"), 250)
        time.sleep(0.3)
        self.assertEqual(self.queued(), before)

    def test_smuggling_bare_lf_dot(self):
        self.smuggle(b"\n.\n", 550)

    def test_smuggling_crlf_dot_lf(self):
        self.smuggle(b"\r\n.\n", 550)

    def test_smuggling_lf_dot_crlf(self):
        self.smuggle(b"\n.\r\n", 550)

    def test_smuggling_bare_cr(self):
        self.smuggle(b"\r.\r", 550)

    def test_early_talker(self):
        c = self.inst.raw()
        c.send("EHLO early.test\r\n")
        code, text = c.reply()
        self.assertEqual(code, 554, text)
        self.assertTrue(c.closed())

    def test_junk_commands_limited(self):
        c = self.client()
        c.cmd("EHLO client.test")
        codes = []
        for _ in range(30):
            codes.append(c.cmd("NOOP")[0])
            if codes[-1] != 250:
                break
        self.assertEqual(codes[:3], [250, 250, 250])
        # Past the junk limit (3) every NOOP is an error; the 20th error
        # (smtpd_hard_error_limit) ends the session.
        self.assertEqual(codes[-1], 421, "NOOPs past the junk limit never "
                         "hit the hard error limit")
        self.assertLessEqual(len(codes), 25)
        self.assertTrue(c.closed())

    def test_no_valid_recipients(self):
        c = self.client(OUTSIDE)
        c.cmd("EHLO client.test")
        c.cmd("MAIL FROM:<a@b.test>")
        self.assertReply(c.cmd("RCPT TO:<x@elsewhere.test>"), 554, "5.7.1")
        self.assertReply(c.cmd("DATA"), 554, "5.5.1")

    def test_bdat(self):
        c = self.client()
        c.cmd("EHLO client.test")
        self.assertReply(c.cmd("MAIL FROM:<a@b.test>"), 250)
        self.assertReply(c.cmd("RCPT TO:<ptalice@example.test>"), 250)
        chunk = b"Subject: bdat\r\n\r\nchunked body\r\n"
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        code, text = c.reply()
        self.assertEqual(code, 250, text)
        self.assertIn("queued as", text)


if __name__ == "__main__":
    unittest.main()
