"""Mail goes out (issue 4): the smtp delivery agent, retries and bounces,
end to end with real DNS.

Everything runs inside one network namespace (test/netns.py) with an nsd
serving the test zones on 127.0.0.53 and capture SMTP servers standing as
the remote domains' MX hosts on other loopback addresses:

  127.0.0.1   postern (mx.example.test, port 25), the instance under test
  127.0.0.2   capture, STARTTLS with a certificate from the test CA
              (mx.deliver.test, mx.verify.test)
  127.0.0.3   capture without STARTTLS (mx.plain.test)
  127.0.0.4   nothing listens (first MX of order.test: connect refused)
  127.0.0.5   capture answering 421 on connect (second MX of order.test)
  127.0.0.6   capture (third MX of order.test; primary of prefer.test)
  127.0.0.7   capture (backup MX of prefer.test: must see nothing)
  127.0.0.8   capture (arec.test: no MX, an A record)
  127.0.0.9   capture: 451 for the first RCPT, then success
  127.0.0.10  capture rejecting one recipient with 550
  127.0.0.11  capture on 587: the relayhost, STARTTLS + AUTH PLAIN required
              (then, in RealSaslRelayTest, a real Postfix on 587 with
              Dovecot SASL, as the same relayhost)
  127.0.0.12  capture answering the data slowly (crash tests)
  127.0.0.20  a real Postfix (postfix.test)

Each test uses its own domain, so the tests share one postern instance
(plus small ones for relayhost, the queue lifetime and the crash tests).
Bounces go to ptalice@example.test, a local user of the instance, and are
read from her Maildir with Python's email package.
"""
import email
import email.policy
import os
import re
import shutil
import signal
import tempfile
import time
import unittest

import instance
from instance import (BIN, MASTER_CF, Instance, clear_maildir, is_root,
                      maildir_of, read_maildir, wait_for)

from netns import CaptureSMTP, Dovecot, Nsd, NetNS, Postfix, TestCA

SENDER = "ptalice@example.test"

OUT_SERVICES = (
    ("smtp", "smtp      unix  -       -       y       -       -       smtp"),
    ("relay", "relay     unix  -       -       y       -       -       smtp"),
    ("lmtp", "lmtp      unix  -       -       y       -       -       smtp"),
    ("bounce", "bounce    unix  -       -       y       -       0       bounce"),
)


def out_master_cf():
    """instance.MASTER_CF_OUTBOUND (the smtp agent's own lines) or
    MASTER_CF, plus any issue-4 service neither lists."""
    text = getattr(instance, "MASTER_CF_OUTBOUND", MASTER_CF)
    have = {l.split()[0] for l in text.splitlines()
            if l.strip() and not l.startswith("#")}
    for name, line in OUT_SERVICES:
        if name not in have:
            text += line + "\n"
    return text


def need(testcase, *programs):
    """Fail (never skip) when an issue-4 program has not been built."""
    for p in programs:
        if not os.path.exists(os.path.join(BIN, p)):
            testcase.fail(f"{BIN}/{p} does not exist: the issue-4 '{p}' "
                          f"program is not built yet")


ZONES = {
    "example.test": [("@", "MX", "10 mx"), ("mx", "A", "127.0.0.1")],
    "deliver.test": [("@", "MX", "10 mx"), ("mx", "A", "127.0.0.2")],
    "verify.test": [("@", "MX", "10 mx"), ("mx", "A", "127.0.0.2")],
    "plain.test": [("@", "MX", "10 mx"), ("mx", "A", "127.0.0.3")],
    "clear.test": [("@", "MX", "10 mx.plain.test.")],
    "order.test": [("@", "MX", "30 mx3"), ("@", "MX", "10 mx1"),
                   ("@", "MX", "20 mx2"), ("mx1", "A", "127.0.0.4"),
                   ("mx2", "A", "127.0.0.5"), ("mx3", "A", "127.0.0.6")],
    "prefer.test": [("@", "MX", "20 backup"), ("@", "MX", "10 primary"),
                    ("backup", "A", "127.0.0.7"),
                    ("primary", "A", "127.0.0.6")],
    "arec.test": [("@", "A", "127.0.0.8")],
    "nullmx.test": [("@", "MX", "0 ."), ("@", "A", "127.0.0.8")],
    "tempfail.test": [("@", "MX", "10 mx"), ("mx", "A", "127.0.0.9")],
    "three.test": [("@", "MX", "10 mx"), ("mx", "A", "127.0.0.10")],
    "remote.test": [("relay", "A", "127.0.0.11")],
    "crash.test": [("@", "MX", "10 mx"), ("mx", "A", "127.0.0.12")],
    "postfix.test": [("@", "MX", "10 mx"), ("mx", "A", "127.0.0.20")],
}

# Shared by every class of this module (created once: nsd and a CA take a
# second or two).
WORLD = {}


def setUpModule():
    if not is_root():
        return
    ns = NetNS("out")
    WORLD["ns"] = ns
    try:
        WORLD["nsd"] = Nsd(ns, ZONES)
        ca = TestCA()
        WORLD["ca"] = ca
        WORLD["cert"] = ca.issue("mx.deliver.test",
                                 dns_names=["mx.verify.test"],
                                 ips=["127.0.0.2"])
        WORLD["relaycert"] = ca.issue("relay.remote.test",
                                      ips=["127.0.0.11"])
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    for k in ("nsd", "ca", "ns"):
        obj = WORLD.pop(k, None)
        if obj is not None:
            obj.close()
    WORLD.clear()


def send(inst, rcpts, body, sender=SENDER, mail_options=(), rcpt_options=()):
    """Submit over SMTP from inside the namespace; returns the queue ID."""
    if isinstance(body, str):
        body = body.encode()
    with inst.smtp() as s:
        s.ehlo("client.example.test")
        code, resp = s.mail(sender, list(mail_options))
        assert code == 250, (code, resp)
        for r in rcpts:
            code, resp = s.rcpt(r, list(rcpt_options))
            assert code == 250, (r, code, resp)
        code, resp = s.data(body)
        assert code == 250, (code, resp)
    m = re.search(rb"queued as ([0-9A-Za-z]+)", resp)
    assert m, resp
    return m.group(1).decode()


def wait_log(inst, pattern, timeout=20):
    rx = re.compile(pattern, re.M)
    found = wait_for(lambda: rx.search(inst.logtext()), timeout, 0.1)
    return found


def parse_dsn(raw):
    """(message, per-message fields, [per-recipient fields]) of a DSN."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    if msg.get_content_type() != "multipart/report":
        return msg, None, []
    status = None
    for part in msg.walk():
        if part.get_content_type() == "message/delivery-status":
            status = part
            break
    if status is None:
        return msg, None, []
    blocks = status.get_payload()
    if not isinstance(blocks, list) or not blocks:
        return msg, None, []
    return msg, blocks[0], blocks[1:]


def dsns_for(user, rcpt):
    """The DSNs in USER's Maildir that report on RCPT."""
    out = []
    for raw in read_maildir(maildir_of(user)):
        msg, per_msg, per_rcpt = parse_dsn(raw)
        for r in per_rcpt:
            if rcpt.lower() in (r.get("Final-Recipient", "") or "").lower():
                out.append((msg, per_msg, per_rcpt, raw))
                break
    return out


def wait_dsn(user, rcpt, timeout=20):
    wait_for(lambda: dsns_for(user, rcpt), timeout, 0.2)
    return dsns_for(user, rcpt)


def rcpt_block(per_rcpt, rcpt):
    for r in per_rcpt:
        if rcpt.lower() in (r.get("Final-Recipient", "") or "").lower():
            return r
    return None


def message(subject, body="Hello from postern.\r\n"):
    return (f"From: Alice <{SENDER}>\r\nTo: someone\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{subject}@example.test>\r\n"
            f"\r\n{body}").encode()


class OutboundBase(unittest.TestCase):

    @classmethod
    def capture(cls, addr, port=25, **script):
        cap = CaptureSMTP(WORLD["ns"], addr, port, script)
        cls.addClassCleanup(cap.close)
        return cap

    @classmethod
    def instance(cls, name, main=None, maps=None, **kw):
        """A started instance in the namespace; maps: {file: text} built
        with `postern map build` in its conf/ before the start."""
        ca = WORLD["ca"]
        settings = {
            "smtp_tls_CAfile": ca.cert,
            "smtp_tls_security_level": "may",
            "relay_domains": "",
            "minimal_backoff_time": "60s",
            "maximal_backoff_time": "120s",
        }
        settings.update(main or {})
        inst = Instance(name, main=settings, master_cf=out_master_cf(),
                        netns=WORLD["ns"], **kw)
        # Class cleanups run even when setUpClass fails half way.
        cls.addClassCleanup(inst.cleanup)
        for fname, text in (maps or {}).items():
            path = os.path.join(inst.conf, fname)
            with open(path, "w") as f:
                f.write(text)
            inst.postern("map", "build", path, check=True)
        inst.start()
        return inst

    def dump(self, inst):
        return "\n--- maillog (tail) ---\n" + inst.logtext()[-4000:]


@unittest.skipUnless(is_root(), "needs root: network namespaces, nsd, "
                     "privilege separation")
class OutboundTest(OutboundBase):
    """The main instance: MX routing, TLS, retries, bounces."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        crt, key = WORLD["cert"]
        tls = {"cert": crt, "key": key}
        cls.tls_mx = cls.capture("127.0.0.2", starttls=tls,
                                 hostname="mx.deliver.test")
        cls.plain_mx = cls.capture("127.0.0.3", hostname="mx.plain.test")
        cls.mx421 = cls.capture("127.0.0.5", hostname="mx2.order.test",
                                greeting="421 4.3.2 mx2 is too busy")
        cls.mx3 = cls.capture("127.0.0.6", hostname="mx3.order.test")
        cls.backup = cls.capture("127.0.0.7", hostname="backup.prefer.test")
        cls.amx = cls.capture("127.0.0.8", hostname="arec.test")
        cls.tempfail = cls.capture("127.0.0.9", hostname="mx.tempfail.test",
                                   tempfail_first=1)
        cls.three = cls.capture(
            "127.0.0.10", hostname="mx.three.test",
            rcpt={"bad@three.test": "550 5.1.1 <bad@three.test>: "
                                    "Recipient address rejected: "
                                    "User unknown in virtual mailbox table"})
        cls.inst = cls.instance("outbound", port=25, listen_host="127.0.0.1",
                                main={
            "smtp_tls_policy_maps": "inline:{ {plain.test=encrypt}, "
                                    "{verify.test=verify} }",
        })

    def setUp(self):
        clear_maildir(maildir_of("ptalice"))

    # -- delivery ----------------------------------------------------------
    def test_mx_delivery_message_intact(self):
        need(self, "smtp")
        body = (b"Line one\r\n.leading dot stays\r\n..two dots\r\n"
                b"8bit: \xc3\xa9t\xc3\xa9\r\n" + b"x" * 990 + b"\r\n"
                b"\r\nlast line\r\n")
        raw = (b"From: Alice <ptalice@example.test>\r\nTo: bob@deliver.test\r\n"
               b"Subject: intact\r\nMessage-ID: <intact@example.test>\r\n"
               b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
               b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body)
        qid = send(self.inst, ["bob@deliver.test", "carl@deliver.test"], raw,
                   mail_options=["BODY=8BITMIME"])
        msgs = self.tls_mx.wait_messages(1)
        mine = [m for m in msgs if "bob@deliver.test" in m["rcpts"]]
        self.assertEqual(len(mine), 1, self.dump(self.inst))
        m = mine[0]
        self.assertEqual(m["mail_from"], SENDER)
        self.assertEqual(sorted(m["rcpts"]),
                         ["bob@deliver.test", "carl@deliver.test"])
        data = m["data"].encode("latin-1")
        self.assertTrue(data.endswith(body), data[-400:])
        self.assertIn(b"\r\nSubject: intact\r\n", data)
        self.assertIn(b"Received: ", data)
        params = [p.upper() for p in m["mail_params"]]
        self.assertIn("BODY=8BITMIME", params)
        self.assertTrue(any(p.startswith("SIZE=") for p in params), params)
        self.assertTrue(m["esmtp"])
        # One Postfix-style line per recipient, naming the MX.
        for r in ("bob@deliver.test", "carl@deliver.test"):
            self.assertTrue(wait_log(
                self.inst, rf"{qid}: to=<{re.escape(r)}>,.* "
                rf"relay=mx\.deliver\.test\[127\.0\.0\.2\]:25,.* "
                rf"dsn=2\.\d\.\d+, status=sent \(250"), self.dump(self.inst))
        wait_for(lambda: not self.inst.queue_files(), 10)
        self.assertEqual(self.inst.queue_files(), [])

    def test_starttls_to_a_peer_that_offers_it(self):
        need(self, "smtp")
        send(self.inst, ["tls@deliver.test"], message("tls-may"))
        wait_for(lambda: [m for m in self.tls_mx.messages()
                          if "tls@deliver.test" in m["rcpts"]])
        mine = [m for m in self.tls_mx.messages()
                if "tls@deliver.test" in m["rcpts"]]
        self.assertEqual(len(mine), 1, self.dump(self.inst))
        self.assertTrue(mine[0]["tls"], mine[0])
        self.assertIn(mine[0]["tls_version"], ("TLSv1.2", "TLSv1.3"))
        self.assertTrue(wait_log(
            self.inst, r"(Trusted|Verified) TLS connection established to "
            r"mx\.deliver\.test\[127\.0\.0\.2\]:25: TLSv1\.[23] with cipher "),
            self.dump(self.inst))

    def test_tls_verify_policy(self):
        need(self, "smtp")
        send(self.inst, ["v@verify.test"], message("tls-verify"))
        wait_for(lambda: [m for m in self.tls_mx.messages()
                          if "v@verify.test" in m["rcpts"]])
        mine = [m for m in self.tls_mx.messages()
                if "v@verify.test" in m["rcpts"]]
        self.assertEqual(len(mine), 1, self.dump(self.inst))
        self.assertTrue(mine[0]["tls"])
        self.assertTrue(wait_log(
            self.inst, r"Verified TLS connection established to "
            r"mx\.verify\.test\[127\.0\.0\.2\]:25"), self.dump(self.inst))

    def test_encrypt_refuses_a_peer_without_starttls(self):
        need(self, "smtp")
        qid = send(self.inst, ["enc@plain.test"], message("tls-encrypt"))
        self.assertTrue(wait_log(
            self.inst, rf"{qid}: to=<enc@plain\.test>,.* dsn=4\.7\.\d+, "
            rf"status=deferred \(.*TLS is required"), self.dump(self.inst))
        self.assertFalse([m for m in self.plain_mx.messages()
                          if "enc@plain.test" in m["rcpts"]])
        self.assertFalse([e for e in self.plain_mx.events()
                          if e.startswith("rcpt <enc@plain.test>")])
        # Still queued, not bounced.
        self.assertTrue(self.inst.queue_files("deferred") or
                        self.inst.queue_files("active"))
        self.inst.postern("queue", "delete", qid)

    def test_may_delivers_in_clear_without_starttls(self):
        need(self, "smtp")
        send(self.inst, ["clear@clear.test"], message("tls-clear"))
        wait_for(lambda: [m for m in self.plain_mx.messages()
                          if "clear@clear.test" in m["rcpts"]])
        mine = [m for m in self.plain_mx.messages()
                if "clear@clear.test" in m["rcpts"]]
        self.assertEqual(len(mine), 1, self.dump(self.inst))
        self.assertFalse(mine[0]["tls"])

    # -- routing -----------------------------------------------------------
    def test_mx_fallback_past_refused_and_421(self):
        need(self, "smtp")
        qid = send(self.inst, ["o@order.test"], message("mx-order"))
        wait_for(lambda: [m for m in self.mx3.messages()
                          if "o@order.test" in m["rcpts"]])
        mine = [m for m in self.mx3.messages() if "o@order.test" in m["rcpts"]]
        self.assertEqual(len(mine), 1, self.dump(self.inst))
        # The 421 host (second preference) was tried before the third.
        self.assertIn("greeting 421", self.mx421.events())
        self.assertTrue(wait_log(
            self.inst, rf"{qid}: to=<o@order\.test>,.* "
            rf"relay=mx3\.order\.test\[127\.0\.0\.6\]:25,.* status=sent"),
            self.dump(self.inst))

    def test_mx_preference_order(self):
        need(self, "smtp")
        send(self.inst, ["p@prefer.test"], message("mx-prefer"))
        wait_for(lambda: [m for m in self.mx3.messages()
                          if "p@prefer.test" in m["rcpts"]])
        mine = [m for m in self.mx3.messages() if "p@prefer.test" in m["rcpts"]]
        self.assertEqual(len(mine), 1, self.dump(self.inst))
        self.assertEqual(self.backup.events(), [],
                         "the backup MX (preference 20) was contacted")

    def test_a_record_fallback(self):
        need(self, "smtp")
        qid = send(self.inst, ["a@arec.test"], message("a-record"))
        msgs = self.amx.wait_messages(1)
        mine = [m for m in msgs if "a@arec.test" in m["rcpts"]]
        self.assertEqual(len(mine), 1, self.dump(self.inst))
        self.assertTrue(wait_log(
            self.inst, rf"{qid}: to=<a@arec\.test>,.* "
            rf"relay=arec\.test\[127\.0\.0\.8\]:25,.* status=sent"),
            self.dump(self.inst))

    def test_idle_cached_connection_is_closed(self):
        """A connection kept for the next request is closed with QUIT once
        idle for smtp_connection_cache_time_limit (2s), though no request
        comes, instead of being held until the process exits."""
        need(self, "smtp")
        before = len(self.amx.events())
        send(self.inst, ["idle@arec.test"], message("cache-idle"))

        def after_data():
            ev = self.amx.events()[before:]
            data = [i for i, e in enumerate(ev) if e.startswith("data ")]
            return ev[data[-1] + 1:] if data else None
        self.assertTrue(wait_for(lambda: after_data() is not None),
                        self.dump(self.inst))
        seen = time.time()
        self.assertTrue(wait_for(lambda: "quit" in after_data(), 8),
                        "%s\n--- arec.test events ---\n%s" % (
                            self.dump(self.inst),
                            "\n".join(self.amx.events()[before:])))
        # Kept for reuse first: not closed as soon as the mail was sent.
        self.assertGreaterEqual(time.time() - seen, 1.0)

    def test_null_mx_bounces_at_once(self):
        need(self, "smtp", "bounce")
        qid = send(self.inst, ["n@nullmx.test"], message("null-mx"))
        self.assertTrue(wait_log(
            self.inst, rf"{qid}: to=<n@nullmx\.test>,.* dsn=5\.1\.10, "
            rf"status=bounced"), self.dump(self.inst))
        dsns = wait_dsn("ptalice", "n@nullmx.test")
        self.assertEqual(len(dsns), 1, self.dump(self.inst))
        msg, per_msg, per_rcpt, raw = dsns[0]
        r = rcpt_block(per_rcpt, "n@nullmx.test")
        self.assertEqual(r["Action"].strip(), "failed")
        self.assertEqual(r["Status"].strip(), "5.1.10")
        # The A record of a null-MX domain is never used.
        self.assertFalse([m for m in self.amx.messages()
                          if "n@nullmx.test" in m["rcpts"]])

    def test_nonexistent_domain_bounces(self):
        need(self, "smtp", "bounce")
        qid = send(self.inst, ["x@nosuch.deliver.test"], message("nxdomain"))
        self.assertTrue(wait_log(
            self.inst, rf"{qid}: to=<x@nosuch\.deliver\.test>,.* "
            rf"dsn=5\.1\.2, status=bounced"), self.dump(self.inst))
        dsns = wait_dsn("ptalice", "x@nosuch.deliver.test")
        self.assertEqual(len(dsns), 1, self.dump(self.inst))
        r = rcpt_block(dsns[0][2], "x@nosuch.deliver.test")
        self.assertEqual(r["Status"].strip(), "5.1.2")

    # -- retries and bounces -----------------------------------------------
    def test_451_then_success_after_flush(self):
        need(self, "smtp")
        qid = send(self.inst, ["t@tempfail.test"], message("tempfail"))
        self.assertTrue(wait_log(
            self.inst, rf"{qid}: to=<t@tempfail\.test>,.* "
            rf"relay=mx\.tempfail\.test\[127\.0\.0\.9\]:25,.* dsn=4\.7\.1, "
            rf"status=deferred \(.*451"), self.dump(self.inst))
        self.assertEqual(self.tempfail.messages(), [])
        # minimal_backoff_time is 60s here: only the flush brings it back.
        wait_for(lambda: self.inst.queue_files("deferred"), 10)
        self.assertTrue(self.inst.queue_files("deferred"),
                        self.dump(self.inst))
        p = self.inst.postern("flush")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        msgs = self.tempfail.wait_messages(1, timeout=15)
        self.assertEqual(len(msgs), 1, self.dump(self.inst))
        self.assertEqual(msgs[0]["rcpts"], ["t@tempfail.test"])
        self.assertTrue(wait_log(self.inst, rf"{qid}: to=<t@tempfail\.test>,"
                                 rf".* status=sent"), self.dump(self.inst))
        self.assertTrue(wait_for(lambda: not self.inst.queue_files(), 10),
                        self.dump(self.inst))

    def test_550_for_one_of_three_gives_one_dsn(self):
        need(self, "smtp", "bounce")
        rcpts = ["good1@three.test", "bad@three.test", "good2@three.test"]
        qid = send(self.inst, rcpts, message("three-rcpts"))
        msgs = self.three.wait_messages(1)
        self.assertEqual(len(msgs), 1, self.dump(self.inst))
        self.assertEqual(sorted(msgs[0]["rcpts"]),
                         ["good1@three.test", "good2@three.test"])
        self.assertTrue(wait_log(
            self.inst, rf"{qid}: to=<bad@three\.test>,.* dsn=5\.1\.1, "
            rf"status=bounced \(.*550 5\.1\.1"), self.dump(self.inst))
        dsns = wait_dsn("ptalice", "bad@three.test")
        self.assertEqual(len(dsns), 1, self.dump(self.inst))
        msg, per_msg, per_rcpt, raw = dsns[0]
        # Give a second bounce the time to show up, if one were coming.
        time.sleep(1)
        back = [m for m in read_maildir(maildir_of("ptalice"))
                if b"three-rcpts" in m]
        self.assertLessEqual(len(back), 1,
                             "more than one message came back to the sender")
        self.assertEqual(msg.get_content_type(), "multipart/report")
        self.assertEqual(msg.get_param("report-type"), "delivery-status")
        self.assertIn("ptalice@example.test", msg["To"])
        self.assertTrue(msg["From"] and "MAILER-DAEMON" in msg["From"].upper(),
                        msg["From"])
        self.assertEqual(raw.split(b"\n", 1)[0].strip(), b"Return-Path: <>")
        self.assertIn("dns;", per_msg["Reporting-MTA"].replace(" ", ""))
        # Only the failed recipient is listed.
        self.assertEqual(len(per_rcpt), 1, [dict(r) for r in per_rcpt])
        r = per_rcpt[0]
        self.assertEqual(r["Final-Recipient"].replace(" ", "").lower(),
                         "rfc822;bad@three.test")
        self.assertEqual(r["Action"].strip(), "failed")
        self.assertEqual(r["Status"].strip(), "5.1.1")
        diag = " ".join(r["Diagnostic-Code"].split())
        self.assertTrue(diag.lower().startswith("smtp;"), diag)
        self.assertIn("550 5.1.1", diag)
        self.assertIn("User unknown", diag)
        self.assertIn("mx.three.test", r.get("Remote-MTA", ""))
        # The human part names the recipient; the original headers return.
        parts = msg.get_payload()
        self.assertEqual(parts[0].get_content_type(), "text/plain")
        self.assertIn("bad@three.test", parts[0].get_payload(decode=True)
                      .decode("utf-8", "replace"))
        self.assertIn(parts[2].get_content_type(),
                      ("message/rfc822", "text/rfc822-headers"))
        self.assertIn(b"Subject: three-rcpts", raw)

    # -- a real Postfix on the other side ----------------------------------
    def test_real_postfix_both_ways(self):
        need(self, "smtp")
        pf = Postfix(WORLD["ns"], "127.0.0.20", "postfix.test",
                     "mx.postfix.test")
        try:
            pf.start()
            # postern -> Postfix
            send(self.inst, ["pat@postfix.test"], message("to-postfix"))
            got = wait_for(lambda: pf.read_maildir(), 20, 0.2)
            self.assertTrue(got, "Postfix received nothing" +
                            self.dump(self.inst) + "\n--- postfix ---\n" +
                            pf.logtext()[-3000:])
            self.assertIn(b"Subject: to-postfix", got[0])
            self.assertIn(b"Hello from postern.", got[0])
            self.assertRegex(pf.logtext(), r"status=sent|postfix/virtual")
            # Postfix -> postern (example.test's MX is 127.0.0.1:25)
            clear_maildir(maildir_of("ptbob"))
            p = pf.sendmail("pat@postfix.test", ["ptbob@example.test"],
                            b"From: pat@postfix.test\nSubject: from-postfix\n"
                            b"\nHello from Postfix.\n")
            self.assertEqual(p.returncode, 0, p.stderr)
            mine = wait_for(lambda: [m for m in read_maildir(
                maildir_of("ptbob")) if b"Subject: from-postfix" in m], 30,
                0.2)
            self.assertTrue(mine, "postern did not receive Postfix's mail\n"
                            "--- postfix ---\n" + pf.logtext()[-3000:] +
                            self.dump(self.inst))
            self.assertIn(b"Hello from Postfix.", mine[0])
            self.assertIn(b"mx.postfix.test", mine[0])
            self.assertRegex(pf.logtext(), r"to=<ptbob@example\.test>, "
                             r"relay=mx\.example\.test\[127\.0\.0\.1\]:25.*"
                             r"status=sent")
        finally:
            pf.close()


@unittest.skipUnless(is_root(), "needs root: network namespaces, nsd, "
                     "privilege separation")
class RelayhostTest(OutboundBase):
    """relayhost [host]:587, SASL PLAIN over STARTTLS, password from a map."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        crt, key = WORLD["relaycert"]
        cls.relay = cls.capture("127.0.0.11", 587, hostname="relay.remote.test",
                                starttls={"cert": crt, "key": key},
                                auth={"relayuser": "s3cret-Pw"},
                                require_tls=True, require_auth=True)
        cls.inst = cls.instance("relayhost", main={
            "relayhost": "[relay.remote.test]:587",
            "smtp_sasl_auth_enable": "yes",
            "smtp_sasl_password_maps": "lmdb:$config_directory/sasl_passwd",
        }, maps={
            "sasl_passwd": "[relay.remote.test]:587 relayuser:s3cret-Pw\n",
        })

    def test_relayhost_sasl_over_starttls(self):
        need(self, "smtp")
        # deliver.test has an MX (127.0.0.2): the relayhost must win.
        qid = send(self.inst, ["far@deliver.test"], message("via-relay"))
        msgs = self.relay.wait_messages(1)
        self.assertEqual(len(msgs), 1, self.dump(self.inst) +
                         "\n--- relay events ---\n" +
                         "\n".join(self.relay.events()))
        m = msgs[0]
        self.assertEqual(m["rcpts"], ["far@deliver.test"])
        self.assertTrue(m["tls"])
        self.assertEqual(m["auth_user"], "relayuser")
        self.assertIn("auth PLAIN relayuser", self.relay.events())
        self.assertTrue(wait_log(
            self.inst, rf"{qid}: to=<far@deliver\.test>,.* "
            rf"relay=relay\.remote\.test\[127\.0\.0\.11\]:587,.* "
            rf"status=sent"), self.dump(self.inst))
        self.assertNotIn("s3cret-Pw", self.inst.logtext())


@unittest.skipUnless(is_root(), "needs root: network namespaces, nsd, "
                     "privilege separation")
class RealSaslRelayTest(OutboundBase):
    """relayhost [relay.remote.test]:587 is a real Postfix: STARTTLS
    required (smtpd_tls_security_level = encrypt), SASL checked by a real
    Dovecot auth server (smtpd_sasl_type = dovecot, a passwd-file user),
    relaying only for authenticated clients, and delivering mail for
    sasl.test into its own Maildir. Two postern instances use it, one
    with the right password in its lmdb map and one with a wrong one."""

    USER = "relayuser"
    PASSWORD = "Real-s3cret-Pw"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ns = WORLD["ns"]
        crt, key = WORLD["relaycert"]
        run = tempfile.mkdtemp(prefix="realsasl-", dir="/var/tmp")
        os.chmod(run, 0o755)
        cls.addClassCleanup(shutil.rmtree, run, ignore_errors=True)
        authsock = os.path.join(run, "auth")
        cls.dovecot = Dovecot(ns, os.path.join(run, "lmtp"),
                              auth_users={cls.USER: cls.PASSWORD},
                              auth_socket=authsock)
        cls.addClassCleanup(cls.dovecot.close)
        cls.dovecot.start()
        if not wait_for(lambda: os.path.exists(authsock), 10, 0.1):
            raise RuntimeError("no dovecot auth socket: " +
                               cls.dovecot.logtext())
        cls.pf = Postfix(ns, "127.0.0.11", "sasl.test", "relay.remote.test",
                         port=587, extra={
            "smtpd_tls_security_level": "encrypt",
            "smtpd_tls_cert_file": crt,
            "smtpd_tls_key_file": key,
            "smtpd_tls_loglevel": "1",
            "smtpd_tls_auth_only": "yes",
            "smtpd_sasl_auth_enable": "yes",
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": authsock,
            "smtpd_relay_restrictions": "permit_sasl_authenticated, reject",
            "smtpd_recipient_restrictions": "",
            "mynetworks": "192.0.2.1/32",
        })
        cls.addClassCleanup(cls.pf.close)
        cls.pf.start()
        sasl = {
            "relayhost": "[relay.remote.test]:587",
            "smtp_sasl_auth_enable": "yes",
            "smtp_sasl_password_maps": "lmdb:$config_directory/sasl_passwd",
        }
        cls.good = cls.instance("realsasl", main=sasl, maps={
            "sasl_passwd": "[relay.remote.test]:587 %s:%s\n"
                           % (cls.USER, cls.PASSWORD)})
        cls.bad = cls.instance("realsaslbad", main=sasl, maps={
            "sasl_passwd": "[relay.remote.test]:587 %s:Wrong-Pw-123\n"
                           % cls.USER})

    def dump_pf(self, inst):
        return (self.dump(inst) + "\n--- postfix (tail) ---\n" +
                self.pf.logtext()[-4000:] + "\n--- dovecot ---\n" +
                self.dovecot.logtext()[-2000:])

    def arrived(self, subject):
        return [m for m in self.pf.read_maildir()
                if b"Subject: " + subject.encode() + b"\n" in
                m.replace(b"\r\n", b"\n")]

    def test_relayhost_sasl_real_postfix(self):
        need(self, "smtp")
        qid = send(self.good, ["far@sasl.test"], message("real-sasl-ok"))
        got = wait_for(lambda: self.arrived("real-sasl-ok"), 20, 0.2)
        self.assertTrue(got, "Postfix did not deliver the message" +
                        self.dump_pf(self.good))
        self.assertEqual(len(got), 1)
        self.assertIn(b"Hello from postern.", got[0])
        self.assertIn(b"Delivered-To: far@sasl.test", got[0])
        self.assertTrue(wait_log(
            self.good, rf"{qid}: to=<far@sasl\.test>,.* "
            rf"relay=relay\.remote\.test\[127\.0\.0\.11\]:587,.* "
            rf"status=sent \(250"), self.dump_pf(self.good))
        self.assertTrue(wait_log(
            self.good, r"TLS connection established to "
            r"relay\.remote\.test\[127\.0\.0\.11\]:587"),
            self.dump_pf(self.good))
        pflog = self.pf.logtext()
        self.assertRegex(pflog, r"TLS connection established from "
                         r"\S+\[127\.0\.0\.\d+\]", pflog[-3000:])
        self.assertRegex(pflog, r"postfix/smtpd\[\d+\]: [0-9A-F]+: "
                         r"client=\S+\[127\.0\.0\.\d+\], "
                         r"sasl_method=(PLAIN|LOGIN), "
                         rf"sasl_username={self.USER}\b", pflog[-3000:])
        self.assertRegex(pflog, r"to=<far@sasl\.test>, .*status=sent",
                         pflog[-3000:])
        self.assertNotIn(self.PASSWORD, self.good.logtext())
        wait_for(lambda: not self.good.queue_files(), 10)
        self.assertEqual(self.good.queue_files(), [])

    def test_relayhost_sasl_real_postfix_wrong_password(self):
        need(self, "smtp")
        qid = send(self.bad, ["nope@sasl.test"], message("real-sasl-bad"))
        self.assertTrue(wait_log(
            self.bad, rf"{qid}: to=<nope@sasl\.test>,.* "
            rf"relay=relay\.remote\.test\[127\.0\.0\.11\]:587,.* "
            rf"dsn=4\.7\.8, status=deferred \(SASL authentication failed"),
            self.dump_pf(self.bad))
        self.assertRegex(self.pf.logtext(),
                         r"warning: \S+\[127\.0\.0\.\d+\]: "
                         r"SASL (PLAIN|LOGIN) authentication failed")
        # Give a wrong delivery the time to show up, if one were coming.
        time.sleep(1)
        self.assertEqual(self.arrived("real-sasl-bad"), [],
                         self.dump_pf(self.bad))
        self.assertNotRegex(self.pf.logtext(), r"to=<nope@sasl\.test>")
        self.assertNotIn("Wrong-Pw-123", self.bad.logtext())
        # Still queued (deferred, not bounced).
        self.assertTrue(self.bad.queue_files("deferred") or
                        self.bad.queue_files("active"), self.dump(self.bad))
        self.bad.postern("queue", "delete", qid)


@unittest.skipUnless(is_root(), "needs root: network namespaces, nsd, "
                     "privilege separation")
class QueueLifetimeTest(OutboundBase):
    """An unresolvable domain is deferred, then bounced when the (short)
    maximal_queue_lifetime has passed."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.inst = cls.instance("lifetime", main={
            "maximal_queue_lifetime": "8s",
            "bounce_queue_lifetime": "8s",
            "minimal_backoff_time": "2s",
            "maximal_backoff_time": "3s",
            "queue_run_delay": "1s",
        })

    def test_unresolvable_deferred_then_bounced(self):
        need(self, "smtp", "bounce")
        clear_maildir(maildir_of("ptalice"))
        # nsd serves no zone "invalid": it answers REFUSED, a lookup
        # failure, which is temporary.
        rcpt = "u@unknown.invalid"
        qid = send(self.inst, [rcpt], message("unresolvable"))
        self.assertTrue(wait_log(
            self.inst, rf"{qid}: to=<u@unknown\.invalid>,.* dsn=4\.\d\.\d+, "
            rf"status=deferred"), self.dump(self.inst))
        self.assertTrue(self.inst.queue_files(), "deferred mail vanished")
        self.assertEqual(dsns_for("ptalice", rcpt), [])
        dsns = wait_dsn("ptalice", rcpt, timeout=30)
        self.assertEqual(len(dsns), 1, self.dump(self.inst))
        msg, per_msg, per_rcpt, raw = dsns[0]
        self.assertEqual(msg.get_content_type(), "multipart/report")
        r = rcpt_block(per_rcpt, rcpt)
        self.assertEqual(r["Action"].strip(), "failed")
        self.assertEqual(r["Status"].strip(), "5.4.7")
        self.assertTrue(wait_log(self.inst, rf"{qid}: to=<u@unknown\.invalid>"
                                 rf",.* status=bounced"), self.dump(self.inst))
        self.assertTrue(wait_for(lambda: not self.inst.queue_files(), 10),
                        self.dump(self.inst))


@unittest.skipUnless(is_root(), "needs root: network namespaces, nsd, "
                     "privilege separation")
class OutboundCrashTest(OutboundBase):
    """No loss across restarts and kill -9 of smtp and qmgr while mail is
    going out: every message ends delivered (duplicates are allowed)."""

    N = 24

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.slow = cls.capture("127.0.0.12", hostname="mx.crash.test",
                               data_delay=0.6)
        cls.inst = cls.instance("crash", main={
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "queue_run_delay": "1s",
            "default_destination_concurrency_limit": "4",
        })

    def delivered_subjects(self):
        out = set()
        for m in self.slow.messages():
            mm = re.search(r"\r\nSubject: (crash-\d+)\r\n", m["data"])
            if mm:
                out.add(mm.group(1))
        return out

    def test_kill_smtp_and_qmgr_and_restart(self):
        need(self, "smtp")
        want = set()
        for i in range(self.N):
            subj = "crash-%d" % i
            send(self.inst, ["r%d@crash.test" % i], message(subj))
            want.add(subj)
        # Deliveries are under way (each takes 0.6s at the server).
        self.assertTrue(wait_for(lambda: self.inst.daemon_pids("smtp"), 10),
                        "no smtp agent ever ran" + self.dump(self.inst))
        self.assertLess(len(self.delivered_subjects()), self.N,
                        "all delivered before the first kill: the test "
                        "would prove nothing")
        for pid in self.inst.daemon_pids("smtp"):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.7)
        for pid in self.inst.daemon_pids("qmgr"):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.7)
        for pid in self.inst.daemon_pids("smtp"):
            os.kill(pid, signal.SIGKILL)
        # A whole stop and start in the middle of it all.
        self.inst.stop()
        wait_for(lambda: not self.inst.daemon_pids("smtp") and
                 not self.inst.daemon_pids("qmgr"), 10)
        self.inst.start()
        done = wait_for(lambda: want <= self.delivered_subjects() and
                        not self.inst.queue_files(), 60, 0.2)
        missing = sorted(want - self.delivered_subjects())
        self.assertFalse(missing, "never delivered: %s (queue: %s)%s" % (
            missing, self.inst.queue_files(), self.dump(self.inst)))
        self.assertTrue(done, "queue not empty: %s" % self.inst.queue_files())
        # Nothing bounced: the agent died, the mail did not fail.
        self.assertNotRegex(self.inst.logtext(), r"to=<r\d+@crash\.test>.*"
                            r"status=bounced")


if __name__ == "__main__":
    unittest.main()
