"""Delivery status notifications (RFC 3464) from a whole instance.

Local deliveries that fail for good (an unknown local user: local says
5.1.1) must come back to the sender as multipart/report with the right
Status and Diagnostic-Code, honour NOTIFY, RET, ENVID and ORCPT, never
bounce a bounce (null sender -> postmaster), and deferred mail must get
exactly one delay warning after delay_warning_time.
"""
import email
import email.policy
import os
import re
import time
import unittest
import uuid

from instance import (Instance, is_root, maildir_of,
                      read_maildir, wait_for)
import test_qmgr     # its standalone qmgr and fake agents (module only:
                     # importing the class would run its tests twice)


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def wait_marked(user, marker, timeout=30):
    """The messages in user's Maildir that contain marker (other tests
    running at the same time may deliver to the same test users)."""
    def found():
        return [m for m in read_maildir(maildir_of(user)) if marker in m]
    return wait_for(found, timeout) or []


def marker():
    return uuid.uuid4().hex.encode()


def report_parts(msg):
    """(text, [per-message fields, per-recipient fields...], returned)."""
    parts = msg.get_payload()
    status = parts[1].get_payload()    # message/delivery-status: a list
    return parts[0], [dict(p.items()) for p in status], parts[2]


@unittest.skipUnless(is_root(), "needs root: real users and privilege separation")
class BounceTest(unittest.TestCase):
    # smtpd refuses unknown local users; "gone" passes smtpd and fails in
    # local (5.1.1 unknown user), as a stale alias does.
    ALIASES = ("postmaster: ptalice\n"
               "staff: ptalice, ptbob\n"
               "alice: ptalice\n"
               "gone: nobodyhere\n")

    @classmethod
    def setUpClass(cls):
        cls.inst = Instance("bounce", main={
            "delay_warning_time": "3s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "queue_run_delay": "1s",
        })
        cls.inst.write_aliases(cls.ALIASES)
        cls.inst.start()

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()

    def smtp_send(self, sender, rcpts, body, mail_options=(),
                  rcpt_options=()):
        with self.inst.smtp() as s:
            s.ehlo("client.example.test")
            return s.sendmail(sender, rcpts, body, list(mail_options),
                              list(rcpt_options))

    def wait_removed(self):
        """Wait until the queue and log/ are empty again."""
        self.assertTrue(wait_for(lambda: self.inst.queue_files() == [] and
                                 os.listdir(os.path.join(self.inst.queue,
                                                         "log")) == [],
                                 timeout=20),
                        self.inst.logtext()[-3000:])

    def test_unknown_local_user_bounces_to_sender(self):
        mark = marker()
        p = self.inst.sendmail(
            ["nosuch@example.test", "ptbob@example.test"],
            b"Subject: for nobody " + mark +
            b"\n\nbody of the lost message\n", user="ptalice")
        self.assertEqual(p.returncode, 0, p.stderr)
        # ptbob gets his copy; ptalice the notice about nosuch only
        self.assertEqual(len(wait_marked("ptbob", mark)), 1)
        msgs = wait_marked("ptalice", mark)
        self.assertEqual(len(msgs), 1, self.inst.logtext()[-3000:])
        raw = msgs[0]
        self.assertTrue(raw.startswith(b"Return-Path: <>\n"), raw[:200])
        msg = parse(raw)
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        self.assertEqual(msg["Subject"], "Undelivered Mail Returned to Sender")
        self.assertEqual(msg["From"],
                         "Mail Delivery System <MAILER-DAEMON@mx.example.test>")
        self.assertEqual(msg["To"], "<ptalice@mx.example.test>")
        self.assertEqual(msg["Auto-Submitted"], "auto-replied")
        self.assertIsNotNone(msg["Message-ID"])
        self.assertIsNotNone(msg["Date"])
        text, status, returned = report_parts(msg)
        self.assertEqual(text.get_content_type(), "text/plain")
        self.assertIn("<nosuch@example.test>: unknown user",
                      text.get_payload())
        self.assertNotIn("ptbob", text.get_payload())
        self.assertEqual(status[0]["Reporting-MTA"], "dns; mx.example.test")
        self.assertIn("Arrival-Date", status[0])
        self.assertEqual(len(status), 2)
        rcpt = status[1]
        self.assertEqual(rcpt["Final-Recipient"], "rfc822; nosuch@example.test")
        self.assertEqual(rcpt["Action"], "failed")
        self.assertEqual(rcpt["Status"], "5.1.1")
        self.assertTrue(rcpt["Diagnostic-Code"].startswith(
            "x-postern; unknown user"), rcpt)
        # RET absent and small: the whole original comes back
        self.assertEqual(returned.get_content_type(), "message/rfc822")
        self.assertIn("body of the lost message",
                      returned.get_payload()[0].get_payload())
        self.assertRegex(self.inst.logtext(), r"[0-9A-F]+: sender "
                         r"non-delivery notification: [0-9A-F]+")
        self.wait_removed()

    def test_notify_never_and_success_give_no_report(self):
        mark = marker()
        before = self.inst.logtext().count("no non-delivery notice wanted")
        for notify in ("NEVER", "SUCCESS"):
            self.smtp_send("ptalice@example.test", ["gone@example.test"],
                           b"Subject: " + mark + b"\r\n\r\nx\r\n",
                           rcpt_options=[f"NOTIFY={notify}"])
        self.assertTrue(wait_for(lambda: self.inst.logtext().count(
            "no non-delivery notice wanted") >= before + 2),
            self.inst.logtext()[-3000:])
        self.wait_removed()
        self.assertEqual(wait_marked("ptalice", mark, timeout=1), [])

    def test_ret_hdrs_envid_orcpt(self):
        mark = marker()
        self.smtp_send("ptalice@example.test", ["gone@example.test"],
                       b"Subject: headers only " + mark +
                       b"\r\n\r\nsecret body\r\n",
                       mail_options=["RET=HDRS", "ENVID=env+2Dxyz"],
                       rcpt_options=["NOTIFY=FAILURE",
                                     "ORCPT=rfc822;Gone@example.test"])
        msgs = wait_marked("ptalice", mark)
        self.assertEqual(len(msgs), 1, self.inst.logtext()[-3000:])
        _, status, returned = report_parts(parse(msgs[0]))
        self.assertEqual(status[0]["Original-Envelope-Id"], "env-xyz")
        self.assertEqual(status[1]["Final-Recipient"],
                         "rfc822; gone@example.test")
        self.assertEqual(status[1]["Original-Recipient"],
                         "rfc822; Gone@example.test")
        self.assertEqual(returned.get_content_type(), "text/rfc822-headers")
        self.assertIn("Subject: headers only", returned.get_payload())
        self.assertNotIn(b"secret body", msgs[0])
        self.wait_removed()

    def test_ret_full(self):
        mark = marker()
        self.smtp_send("ptalice@example.test", ["gone@example.test"],
                       b"Subject: full " + mark +
                       b"\r\n\r\nthe full body\r\n",
                       mail_options=["RET=FULL"])
        msgs = wait_marked("ptalice", mark)
        self.assertEqual(len(msgs), 1, self.inst.logtext()[-3000:])
        _, _, returned = report_parts(parse(msgs[0]))
        self.assertEqual(returned.get_content_type(), "message/rfc822")
        inner = returned.get_payload()[0]
        self.assertEqual(inner["Subject"], "full " + mark.decode())
        self.assertIn("the full body", inner.get_payload())
        self.wait_removed()

    def test_null_sender_goes_to_postmaster(self):
        mark = marker()
        self.smtp_send("", ["gone@example.test"],
                       b"Subject: a bounce that bounces " + mark +
                       b"\r\n\r\nx\r\n")
        # postmaster is an alias of ptalice
        msgs = wait_marked("ptalice", mark)
        self.assertEqual(len(msgs), 1, self.inst.logtext()[-3000:])
        self.assertTrue(msgs[0].startswith(
            b"Return-Path: <double-bounce@mx.example.test>\n"), msgs[0][:200])
        msg = parse(msgs[0])
        self.assertEqual(msg["Subject"], "Postmaster Copy: Undelivered Mail")
        _, status, _ = report_parts(msg)
        self.assertEqual(status[1]["Status"], "5.1.1")
        self.wait_removed()

    def test_failed_postmaster_notice_is_only_logged(self):
        mark = marker()
        self.inst.write_aliases(self.ALIASES.replace("postmaster: ptalice",
                                                     "postmaster: nosuchpm"))
        try:
            self.smtp_send("", ["gone@example.test"],
                           b"Subject: double " + mark + b"\r\n\r\nx\r\n")
            self.assertTrue(wait_for(lambda: "undeliverable postmaster "
                                     "notification discarded" in
                                     self.inst.logtext(), timeout=20),
                            self.inst.logtext()[-3000:])
            self.wait_removed()
        finally:
            self.inst.write_aliases(self.ALIASES)
        self.assertEqual(wait_marked("ptalice", mark, timeout=1), [])

    def test_delay_warning_once(self):
        mark = marker()
        # No smtp transport (or no DNS) for remote.test here: deferred.
        self.smtp_send("ptalice@example.test", ["someone@remote.test"],
                       b"Subject: slow " + mark + b"\r\n\r\nwaiting\r\n")
        msgs = wait_marked("ptalice", mark)
        self.assertEqual(len(msgs), 1, self.inst.logtext()[-3000:])
        msg = parse(msgs[0])
        self.assertEqual(msg["Subject"], "Delayed Mail (still being retried)")
        text, status, returned = report_parts(msg)
        self.assertIn("THIS IS A WARNING ONLY", text.get_payload())
        self.assertEqual(status[1]["Action"], "delayed")
        self.assertRegex(status[1]["Status"], r"^4\.\d+\.\d+$")
        self.assertIn("Will-Retry-Until", status[1])
        qid = re.search(r"([0-9A-F]+): sender delay notification: ",
                        self.inst.logtext()).group(1)
        self.addCleanup(self.wait_removed)
        self.addCleanup(self.inst.postern, "queue", "delete", qid)
        # retried twice more after the warning, never warned again
        tries = self.inst.logtext().count(f"{qid}: to=<someone@remote.test>")
        self.assertTrue(wait_for(lambda: self.inst.logtext().count(
            f"{qid}: to=<someone@remote.test>") >= tries + 2, timeout=30))
        self.assertEqual(self.inst.logtext().count(
            f"{qid}: sender delay notification"), 1)
        self.assertEqual(len(re.findall(r"from=<>, .*\(delay warning for "
                                        + qid, self.inst.logtext())), 1)


@unittest.skipUnless(os.access(test_qmgr.QMGR, os.X_OK), "qmgr not built")
class QmgrBounceTest(unittest.TestCase):
    """qmgr against a fake bounce service: a notice that was not queued
    keeps the message (deferred, nothing delivered twice) until it is."""

    def setUp(self):
        self.q = test_qmgr.Qmgr("minimal_backoff_time = 1s\n"
                                "maximal_backoff_time = 1s\n")
        self.agents = []

    def tearDown(self):
        for a in self.agents:
            a.close()
        self.q.stop()
        log = self.q.log()
        self.q.cleanup()
        self.assertNotIn("AddressSanitizer", log)
        self.assertNotIn("runtime error:", log)

    def agent(self, name):
        a = test_qmgr.FakeAgent(self.q.queue, name)
        self.agents.append(a)
        return a

    def test_failed_notice_keeps_message(self):
        q = self.q
        local = self.agent("local")
        bounce = self.agent("bounce")
        bounce.bounce_reply = "proto=bounce/1\nstatus=451\ntext=cleanup down\n\n"
        qid = q.add("s@example.org", ["sent-a@example.test",
                                      "bounce-b@example.test"])
        q.start()
        self.assertTrue(wait_for(lambda: "notification not queued" in q.log()
                                 and q.files("deferred") == [qid]), q.log())
        self.assertIn("will try again: cleanup down", q.log())
        # every recipient is done on disk: nothing is delivered again
        text = q.queue_text("deferred", qid)
        self.assertIn("done=sent-a@example.test", text)
        self.assertIn("done=bounce-b@example.test", text)
        with open(os.path.join(q.queue, "log", qid)) as f:
            self.assertIn("status=bounced", f.read())
        # bounce works again: the retry only asks for the notice
        bounce.bounce_reply = "proto=bounce/1\nstatus=ok\nqid=ABCDEF\n\n"
        self.assertTrue(wait_for(lambda: f"{qid}: removed" in q.log(),
                                 timeout=20), q.log())
        self.assertIn(f"{qid}: sender non-delivery notification: ABCDEF",
                      q.log())
        self.assertEqual(sorted(local.delivered()),
                         ["bounce-b@example.test", "sent-a@example.test"])
        self.assertEqual(q.files("log"), [])
        self.assertEqual(q.files("deferred"), [])
        self.assertGreaterEqual(len(bounce.requests), 2)

    def test_no_bounce_service_keeps_message(self):
        q = self.q
        self.agent("local")
        qid = q.add("s@example.org", ["bounce-a@example.test"])
        q.start()
        self.assertTrue(wait_for(lambda: q.files("deferred") == [qid]),
                        q.log())
        self.assertIn("bounce service not available", q.log())
        self.assertIn("done=bounce-a@example.test",
                      q.queue_text("deferred", qid))

    def test_delay_warning_requested_once(self):
        q = test_qmgr.Qmgr("minimal_backoff_time = 1s\n"
                           "maximal_backoff_time = 1s\n"
                           "delay_warning_time = 1h\n")
        self.q.cleanup()
        self.q = q
        local = self.agent("local")
        bounce = self.agent("bounce")
        qid = q.add("s@example.org", ["defer-a@example.test"],
                    arrival=time.time() - 7200)
        q.start()
        self.assertTrue(wait_for(lambda: q.log().count(
            "to=<defer-a@example.test>") >= 3 or
            len(local.requests) >= 3, timeout=20), q.log())
        self.assertEqual(bounce.requests, [[
            ("proto", "bounce/1"), ("request", "warn"), ("qid", qid),
            ("queue_file", f"active/{qid}")]])
        self.assertIn(f"{qid}: sender delay notification: B0B0", q.log())
        with open(os.path.join(q.queue, "log", qid)) as f:
            self.assertIn("warned=", f.read())


if __name__ == "__main__":
    unittest.main()
