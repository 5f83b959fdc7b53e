"""LMTP delivery into a real Dovecot (issue 4).

The test starts its own Dovecot (test/netns.py Dovecot: own config and
base_dir, Maildirs under a temp directory, users carol and dave only) with
an LMTP listener on a unix socket inside postern's queue directory,
private/dovecot-lmtp, the path Postfix setups use too: the lmtp agent is
chrooted there, so the nexthop is relative to the queue directory. postern
routes virtual.test with virtual_transport and dove.test with a
transport_maps entry to lmtp:unix:private/dovecot-lmtp. What arrives is
read back with Dovecot's own doveadm. Everything runs in a network
namespace of its own.
"""
import os
import re
import unittest

from instance import Instance, clear_maildir, is_root, maildir_of, wait_for
from netns import Dovecot, NetNS
from test_outbound import (SENDER, dsns_for, message, need, out_master_cf,
                           rcpt_block, send, wait_dsn, wait_log)

LMTP_NEXTHOP = "lmtp:unix:private/dovecot-lmtp"


@unittest.skipUnless(is_root(), "needs root: network namespaces, Dovecot, "
                     "privilege separation")
class LmtpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ns = NetNS("lmtp")
        cls.addClassCleanup(cls.ns.close)
        cls.inst = Instance("lmtp", master_cf=out_master_cf(), netns=cls.ns,
                            main={
            "virtual_transport": LMTP_NEXTHOP,
            "transport_maps": "inline:{ {dove.test=%s} }" % LMTP_NEXTHOP,
            "minimal_backoff_time": "60s",
            "maximal_backoff_time": "120s",
        })
        cls.addClassCleanup(cls.inst.cleanup)
        cls.inst.start()
        sock = os.path.join(cls.inst.queue, "private", "dovecot-lmtp")
        cls.dovecot = Dovecot(cls.ns, sock, users=["carol", "dave"])
        cls.addClassCleanup(cls.dovecot.close)
        cls.dovecot.start()

    def setUp(self):
        clear_maildir(maildir_of("ptalice"))

    def dump(self):
        return ("\n--- maillog (tail) ---\n" + self.inst.logtext()[-4000:] +
                "\n--- dovecot ---\n" + self.dovecot.logtext()[-2000:])

    def fetched(self, user, subject):
        try:
            text = self.dovecot.fetch(user)
        except RuntimeError:
            return ""
        return text if ("Subject: %s" % subject) in text else ""

    def test_virtual_transport_into_dovecot(self):
        need(self, "smtp")
        qid = send(self.inst, ["carol@virtual.test"],
                   message("lmtp-virtual", "Hello Dovecot.\r\n.dot line\r\n"))
        text = wait_for(lambda: self.fetched("carol", "lmtp-virtual"), 20,
                        0.2)
        self.assertTrue(text, "doveadm finds no message for carol" +
                        self.dump())
        self.assertIn("Hello Dovecot.", text)
        self.assertIn("\n.dot line", text)
        self.assertIn("Return-Path: <%s>" % SENDER, text)
        self.assertIn("Delivered-To: carol@virtual.test", text)
        self.assertTrue(wait_log(
            self.inst, rf"{qid}: to=<carol@virtual\.test>,.* status=sent"),
            self.dump())
        # Not delivered by postern's own virtual agent as well.
        self.assertEqual(os.listdir(self.inst.mail), [])

    def test_per_recipient_lmtp_replies(self):
        need(self, "smtp", "bounce")
        rcpts = ["carol@dove.test", "ghost@dove.test", "dave@dove.test"]
        qid = send(self.inst, rcpts, message("lmtp-mixed"))
        for user in ("carol", "dave"):
            text = wait_for(lambda: self.fetched(user, "lmtp-mixed"), 20,
                            0.2)
            self.assertTrue(text, "doveadm finds nothing for %s%s" % (
                user, self.dump()))
        self.assertTrue(wait_log(
            self.inst, rf"{qid}: to=<ghost@dove\.test>,.* dsn=5\.1\.1, "
            rf"status=bounced"), self.dump())
        for r in ("carol@dove.test", "dave@dove.test"):
            self.assertTrue(wait_log(
                self.inst, rf"{qid}: to=<{re.escape(r)}>,.* status=sent"),
                self.dump())
        dsns = wait_dsn("ptalice", "ghost@dove.test")
        self.assertEqual(len(dsns), 1, self.dump())
        msg, per_msg, per_rcpt, raw = dsns[0]
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(len(per_rcpt), 1)
        r = rcpt_block(per_rcpt, "ghost@dove.test")
        self.assertEqual(r["Status"].strip(), "5.1.1")
        self.assertIn("doesn't exist", " ".join(r["Diagnostic-Code"].split()))
        self.assertEqual(dsns_for("ptalice", "carol@dove.test"), [])


if __name__ == "__main__":
    unittest.main()
