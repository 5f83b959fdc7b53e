"""qmgr against fake delivery agents, in a private queue directory.

No master: qmgr runs standalone (`qmgr -S -c DIR`) with the qmgr/1 socket
(queue/public/qmgr) on descriptor 3, and Python threads play the delivery
agents on queue/private/TRANSPORT. Queue files are written here in
lib/queue.h's format. What a recipient's fake agent answers is chosen by
its local part: sent-*, bounce-*, defer-*, crash-* (close without a
reply), hang-* (never answer); an agent whose `down` is set defers every
recipient with 4.4.1 as if the destination refused connections.
"""
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
import unittest

BIN = os.environ.get("POSTERN_BIN") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "bin")
QMGR = os.path.join(BIN, "qmgr")
QUEUES = ("incoming", "active", "deferred", "hold", "corrupt", "free",
          "maildrop", "private", "public", "pid", "log")


def wait_for(predicate, timeout=15.0, interval=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    return predicate()


def encode(value):
    return "".join(c if 0x20 <= ord(c) < 0x7f and c != "%" else
                   "%%%02X" % ord(c) for c in value)


def parse_record(text):
    attrs = []
    for line in text.split("\n"):
        if not line:
            continue
        name, _, value = line.partition("=")
        attrs.append((name, re.sub(r"%([0-9A-Fa-f]{2})",
                                   lambda m: chr(int(m.group(1), 16)), value)))
    return attrs


def read_record(sock, timeout=10):
    sock.settimeout(timeout)
    data = b""
    while b"\n\n" not in data and not data.startswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    return parse_record(data.split(b"\n\n", 1)[0].decode())


class FakeAgent:
    """A delivery agent on queue/private/NAME."""

    def __init__(self, queue, name, delay=0.0, backlog=128, accept_delay=0.0):
        self.name = name
        self.delay = delay
        self.path = os.path.join(queue, "private", name)
        self.requests = []
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.per_rcpt = {}
        self.max_per_rcpt = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(backlog)
        self.accept_delay = accept_delay
        self.down = False       # defer everything: "Connection refused"
        self.bounce_reply = "proto=bounce/1\nstatus=ok\nqid=B0B0\n\n"
        self.starts = []        # deliveries running as each one started
        self.stopped = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        time.sleep(self.accept_delay)
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,),
                             daemon=True).start()

    def handle(self, conn):
        with conn:
            req = read_record(conn)
            if req is None:
                return
            if req[:1] == [("proto", "bounce/1")]:
                # the bounce daemon: bounce_reply is its answer
                with self.lock:
                    self.requests.append(req)
                conn.sendall(self.bounce_reply.encode())
                return
            rcpts = [v for n, v in req if n == "rcpt"]
            with self.lock:
                self.requests.append(req)
                self.active += 1
                self.max_active = max(self.max_active, self.active)
                self.starts.append(self.active)
                for r in rcpts:
                    self.per_rcpt[r] = self.per_rcpt.get(r, 0) + 1
                    self.max_per_rcpt = max(self.max_per_rcpt,
                                            self.per_rcpt[r])
            finished = False
            try:
                if self.delay:
                    time.sleep(self.delay)
                if any(r.startswith("crash-") for r in rcpts):
                    return
                if any(r.startswith("hang-") for r in rcpts):
                    time.sleep(30)
                    return
                out = ["proto=delivery/1"]
                group = None
                for n, v in req:
                    if n == "rcpt":
                        group = v
                    elif n == "index" and group is not None:
                        kind = "down" if self.down else \
                            group.split("-", 1)[0]
                        status, dsn, reason = {
                            "down": ("deferred", "4.4.1", "connect to "
                                     "mx.remote.test[192.0.2.1]:25: "
                                     "Connection refused"),
                            "bounce": ("bounced", "5.1.1", "unknown user"),
                            "defer": ("deferred", "4.2.2", "mailbox full"),
                        }.get(kind, ("sent", "2.0.0", "delivered to maildir"))
                        out += [f"rcpt={encode(group)}", f"index={v}",
                                f"status={status}", f"dsn={dsn}",
                                f"reason={reason}"]
                # Done before the reply goes out: qmgr may start the next
                # delivery the moment it reads it, and that one must not
                # be counted as overlapping this one.
                self.finish(rcpts)
                finished = True
                conn.sendall(("\n".join(out) + "\n\n").encode())
            finally:
                if not finished:
                    self.finish(rcpts)

    def finish(self, rcpts):
        with self.lock:
            self.active -= 1
            for r in rcpts:
                self.per_rcpt[r] -= 1

    def delivered(self):
        with self.lock:
            return [v for req in self.requests for n, v in req if n == "rcpt"]

    def close(self):
        self.stopped = True
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class Qmgr:
    """A queue directory, its main.cf and a standalone qmgr."""

    counter = 0

    def __init__(self, extra=""):
        self.dir = tempfile.mkdtemp(prefix="qmgr-test-")
        self.conf = os.path.join(self.dir, "conf")
        self.queue = os.path.join(self.dir, "queue")
        self.logfile = os.path.join(self.dir, "qmgr.log")
        os.makedirs(self.conf)
        for q in QUEUES:
            os.makedirs(os.path.join(self.queue, q))
        params = {
            "queue_directory": self.queue,
            "myhostname": "mail.example.test",
            "mydomain": "example.test",
            "mydestination": "$myhostname, localhost, example.test",
            "virtual_mailbox_domains": "virt.test",
            "mail_owner": "root",
            "minimal_backoff_time": "2s",
            "maximal_backoff_time": "4s",
            "queue_run_delay": "1s",
            "ipc_timeout": "3s",
            "maillog_file": self.logfile,
        }
        for line in extra.splitlines():
            name, _, value = line.partition("=")
            params[name.strip()] = value.strip()
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write("".join(f"{k} = {v}\n" for k, v in params.items()))
        self.pid = None
        self.listener = None

    def start(self):
        path = os.path.join(self.queue, "public", "qmgr")
        if self.listener is None:
            self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.listener.bind(path)
            self.listener.listen(16)
        fd = self.listener.fileno()
        err = os.open(self.logfile + ".err",
                      os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            # the listening socket on descriptor 3, as the master does
            self.pid = os.posix_spawn(QMGR, [QMGR, "-S", "-c", self.conf],
                                      os.environ, file_actions=[
                (os.POSIX_SPAWN_DUP2, err, 2),
                (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                (os.POSIX_SPAWN_DUP2, fd, 3),
            ])
        finally:
            os.close(err)
        return self

    def running(self):
        if self.pid is None:
            return False
        pid, _ = os.waitpid(self.pid, os.WNOHANG)
        if pid == self.pid:
            self.pid = None
            return False
        return True

    def kill(self):
        if self.running():
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = None

    def stop(self):
        if self.running():
            os.kill(self.pid, signal.SIGTERM)
            if not wait_for(lambda: not self.running(), timeout=10):
                self.kill()

    def cleanup(self):
        self.stop()
        if self.listener:
            self.listener.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        text = ""
        for p in (self.logfile, self.logfile + ".err"):
            try:
                with open(p) as f:
                    text += f.read()
            except FileNotFoundError:
                pass
        return text

    def files(self, sub):
        d = os.path.join(self.queue, sub)
        return sorted(n for n in os.listdir(d) if not n.startswith("."))

    def add(self, sender, rcpts, body="Subject: t\n\nhello\n", sub="incoming",
            done=(), arrival=None):
        Qmgr.counter += 1
        now = time.time()
        qid = "%09X%05X%X" % (int(now), Qmgr.counter, os.getpid())
        lines = ["proto=queue/1", f"qid={qid}",
                 f"arrival={int(arrival or now)}", f"sender={encode(sender)}"]
        for i, r in enumerate(rcpts):
            lines.append(("done" if i in done else "rcpt") + "=" + encode(r))
        content = body.encode()
        data = ("\n".join(lines) + "\n\n").encode()
        data += b"%d\n" % len(content) + content + b"0\n"
        data += b"end=%d\n\n" % len(content)
        tmp = os.path.join(self.queue, sub, "." + qid)
        with open(tmp, "wb") as f:
            f.write(data)
        os.rename(tmp, os.path.join(self.queue, sub, qid))
        return qid

    def request(self, request, **attrs):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with s:
            s.connect(os.path.join(self.queue, "public", "qmgr"))
            text = f"proto=qmgr/1\nrequest={request}\n"
            text += "".join(f"{k}={v}\n" for k, v in attrs.items())
            s.sendall((text + "\n").encode())
            return dict(read_record(s))

    def queue_text(self, sub, qid):
        with open(os.path.join(self.queue, sub, qid), "rb") as f:
            return f.read().decode(errors="replace")


@unittest.skipUnless(os.access(QMGR, os.X_OK), "qmgr not built")
class QmgrTest(unittest.TestCase):
    def setUp(self):
        self.q = None
        self.agents = []

    def tearDown(self):
        for a in self.agents:
            a.close()
        if self.q:
            self.q.stop()
            log = self.q.log()
            if self._outcome_failed():
                print(log[-4000:])
            self.q.cleanup()
            # a sanitizer build reports on stderr
            self.assertNotIn("AddressSanitizer", log)
            self.assertNotIn("runtime error:", log)

    def _outcome_failed(self):
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        return bool(result and (result.failures or result.errors))

    def qmgr(self, extra=""):
        self.q = Qmgr(extra)
        return self.q

    def agent(self, name, delay=0.0, **kw):
        a = FakeAgent(self.q.queue, name, delay, **kw)
        self.agents.append(a)
        return a

    def test_delivered_and_removed(self):
        q = self.qmgr()
        local = self.agent("local")
        virtual = self.agent("virtual")
        qid = q.add("sender@example.org", ["sent-a@example.test",
                                           "sent-b@localhost", "root",
                                           "sent-v@virt.test"])
        q.start()
        self.assertTrue(wait_for(lambda: f"{qid}: removed" in q.log()),
                        q.log())
        log = q.log()
        self.assertIn(f"{qid}: from=<sender@example.org>, size=18, nrcpt=4 "
                      "(queue active)", log)
        # Agents log their own results (one line per delivery, as
        # Postfix's do); qmgr must not log them a second time.
        self.assertNotIn("status=sent", log)
        self.assertEqual(sorted(local.delivered()),
                         ["root", "sent-a@example.test", "sent-b@localhost"])
        self.assertEqual(virtual.delivered(), ["sent-v@virt.test"])
        # local: one recipient per request; the request names the file
        for req in local.requests:
            d = dict(req)
            self.assertEqual(d["proto"], "delivery/1")
            self.assertEqual(d["queue_file"], f"active/{qid}")
            self.assertEqual(d["sender"], "sender@example.org")
            self.assertEqual([n for n, _ in req].count("rcpt"), 1)
        self.assertEqual(dict(virtual.requests[0])["index"], "3")
        self.assertEqual(dict(virtual.requests[0])["nexthop"], "virt.test")
        for sub in ("incoming", "active", "deferred", "log"):
            self.assertEqual(q.files(sub), [])

    def test_deferred_bounced_then_flushed(self):
        q = self.qmgr("minimal_backoff_time = 300s\n"
                      "maximal_backoff_time = 600s\n")
        local = self.agent("local")
        bounce = self.agent("bounce")
        qid = q.add("", ["sent-a@example.test", "defer-b@example.test",
                         "bounce-c@example.test", "x@remote.test"])
        q.start()
        self.assertTrue(wait_for(lambda: q.files("deferred") == [qid]),
                        q.log())
        log = q.log()
        # Results the agent reported are in log/QID, not logged twice.
        self.assertNotIn(f"{qid}: to=<defer-b@example.test>, relay=local", log)
        self.assertRegex(log, r"to=<x@remote.test>, relay=none, .*dsn=4\.4\.1,"
                         r" status=deferred \(outbound delivery is not "
                         r"available yet \(no smtp transport configured\)\)")
        # the next attempt is the file's mtime: now + minimal_backoff_time
        mtime = os.stat(os.path.join(q.queue, "deferred", qid)).st_mtime
        self.assertAlmostEqual(mtime, time.time() + 300, delta=10)
        text = q.queue_text("deferred", qid)
        self.assertIn("done=sent-a@example.test", text)
        self.assertIn("done=bounce-c@example.test", text)
        self.assertIn("rcpt=defer-b@example.test", text)
        with open(os.path.join(q.queue, "log", qid)) as f:
            reasons = f.read()
        self.assertIn("rcpt=defer-b@example.test\nindex=1\nstatus=deferred\n"
                      "dsn=4.2.2\nreason=mailbox full\n", reasons)
        self.assertIn("rcpt=x@remote.test\nindex=3\nstatus=deferred\n"
                      "dsn=4.4.1\n", reasons)
        self.assertIn("status=bounced", reasons)

        # an smtp agent appears; defer-b now succeeds; flush retries at once
        smtp = self.agent("smtp")
        local.close()
        self.agents.remove(local)
        os.rename(os.path.join(q.queue, "deferred", qid),
                  os.path.join(q.queue, "hold", qid))     # edit safely
        text = q.queue_text("hold", qid).replace("rcpt=defer-b", "rcpt=sent-b")
        with open(os.path.join(q.queue, "hold", qid), "w") as f:
            f.write(text)
        os.utime(os.path.join(q.queue, "hold", qid),
                 (time.time(), time.time() + 300))
        os.rename(os.path.join(q.queue, "hold", qid),
                  os.path.join(q.queue, "deferred", qid))
        local = self.agent("local")
        time.sleep(1.5)
        self.assertEqual(q.files("deferred"), [qid])     # not due yet
        self.assertEqual(q.request("flush")["status"], "ok")
        self.assertTrue(wait_for(lambda: f"{qid}: removed" in q.log()),
                        q.log())
        self.assertEqual(local.delivered(), ["sent-b@example.test"])
        self.assertEqual(smtp.delivered(), ["x@remote.test"])
        self.assertEqual(dict(smtp.requests[0])["nexthop"], "remote.test")
        # bounce was asked for the notice before the file went away
        self.assertEqual(bounce.requests, [[
            ("proto", "bounce/1"), ("request", "flush"), ("qid", qid),
            ("queue_file", f"active/{qid}")]])
        # (from <>: the notice goes to the postmaster)
        self.assertIn(f"{qid}: postmaster non-delivery notification: B0B0",
                      q.log())
        self.assertEqual(q.files("log"), [])

    def test_agent_crash_and_timeout_defer(self):
        q = self.qmgr()
        self.agent("local")
        qid = q.add("s@example.org", ["crash-a@example.test",
                                      "hang-b@example.test",
                                      "sent-c@example.test"])
        q.start()
        self.assertTrue(wait_for(lambda: q.files("deferred") == [qid]),
                        q.log())
        log = q.log()
        self.assertRegex(log, r"to=<crash-a@example.test>, relay=local, "
                         r".*dsn=4\.3\.0, status=deferred \(delivery agent "
                         r"local crashed or timed out")
        self.assertRegex(log, r"to=<hang-b@example.test>, relay=local, "
                         r".*dsn=4\.3\.0, status=deferred \(delivery agent "
                         r"local crashed or timed out")
        self.assertNotIn("to=<sent-c@example.test>, relay=local", log)
        text = q.queue_text("deferred", qid)
        self.assertIn("rcpt=crash-a@example.test", text)
        self.assertIn("rcpt=hang-b@example.test", text)
        self.assertIn("done=sent-c@example.test", text)
        # retried after the back-off (2s here)
        self.assertTrue(wait_for(lambda: q.log().count(
            "to=<crash-a@example.test>") >= 2, timeout=20), q.log())

    def test_no_agent_defers(self):
        q = self.qmgr()
        qid = q.add("s@example.org", ["a@example.test"])
        q.start()
        self.assertTrue(wait_for(lambda: q.files("deferred") == [qid]),
                        q.log())
        self.assertRegex(q.log(), r"dsn=4\.3\.0, status=deferred \(mail "
                         r"transport local is not available")

    def test_expired_bounces(self):
        q = self.qmgr("maximal_queue_lifetime = 1h\n")
        self.agent("local")
        self.agent("bounce")
        qid = q.add("s@example.org", ["defer-a@example.test",
                                      "sent-b@example.test"],
                    arrival=time.time() - 7200)
        q.start()
        self.assertTrue(wait_for(lambda: f"{qid}: removed" in q.log()),
                        q.log())
        self.assertRegex(q.log(), r"to=<defer-a@example.test>, .*dsn=5\.4\.7,"
                         r" status=bounced \(message expired after 3600 "
                         r"seconds in the queue: mailbox full\)")

    def test_error_and_discard_transports(self):
        q = self.qmgr("transport_maps = inline:{ "
                      "{err.test=error:5.7.1 we do not take mail for it}, "
                      "{later.test=error:4.3.2 try again later}, "
                      "{null.test=discard:silenced} }\n")
        self.agent("bounce")
        qid = q.add("s@example.org", ["a@err.test", "b@null.test"])
        qid2 = q.add("s@example.org", ["c@later.test"])
        q.start()
        self.assertTrue(wait_for(lambda: f"{qid}: removed" in q.log()),
                        q.log())
        log = q.log()
        self.assertRegex(log, r"to=<a@err.test>, relay=error, .*dsn=5\.7\.1, "
                         r"status=bounced \(we do not take mail for it\)")
        self.assertRegex(log, r"to=<b@null.test>, relay=discard, .*dsn=2\.0\.0, "
                         r"status=sent \(silenced\)")
        self.assertTrue(wait_for(lambda: q.files("deferred") == [qid2]), log)
        self.assertRegex(q.log(), r"to=<c@later.test>, relay=error, .*dsn=4\.3\.2, "
                         r"status=deferred \(try again later\)")

    def test_recovery_after_kill(self):
        q = self.qmgr()
        local = self.agent("local")
        # left in active/ by a crash, one recipient already done
        qid = q.add("s@example.org", ["sent-a@example.test",
                                      "sent-b@example.test"],
                    sub="active", done=(0,))
        # killed -9 while an agent is busy: nothing is lost
        q.start()
        self.assertTrue(wait_for(lambda: f"{qid}: removed" in q.log()),
                        q.log())
        self.assertEqual(local.delivered(), ["sent-b@example.test"])
        self.assertIn("recovered 1 message(s) from active/", q.log())

        local.close()
        self.agents.remove(local)
        slow = self.agent("local", delay=30)
        qid2 = q.add("s@example.org", ["sent-c@example.test"])
        self.assertTrue(wait_for(lambda: slow.delivered() ==
                                 ["sent-c@example.test"]), q.log())
        q.kill()
        self.assertEqual(q.files("active"), [qid2])
        slow.close()
        self.agents.remove(slow)
        fast = self.agent("local")
        q.start()
        self.assertTrue(wait_for(lambda: f"{qid2}: removed" in q.log()),
                        q.log())
        self.assertEqual(fast.delivered(), ["sent-c@example.test"])

    def test_free_pool_and_crash_leftovers(self):
        q = self.qmgr()
        local = self.agent("local")
        # A committed message whose rename out of free/ a crash undid
        # (cleanup writes messages in place there), an incomplete file
        # there, and finished files that were emptied or blanked but not
        # yet moved.
        qid = q.add("s@example.org", ["sent-a@example.test"], sub="free")
        partial = os.path.join(q.queue, "free", "ABCDEF01")
        with open(partial, "w") as f:
            f.write("proto=queue/1\nqid=ABCDEF01\n\n5\nhel")
        open(os.path.join(q.queue, "active", "ABCDEF02"), "w").close()
        with open(os.path.join(q.queue, "active", "ABCDEF03"), "wb") as f:
            f.write(bytes(1500))
        q.start()
        self.assertTrue(wait_for(lambda: f"{qid}: removed" in q.log()),
                        q.log())
        log = q.log()
        self.assertEqual(local.delivered(), ["sent-a@example.test"])
        self.assertIn(f"{qid}: recovered from free/{qid}", log)
        self.assertIn("emptied incomplete queue file free/ABCDEF01", log)
        self.assertEqual(os.path.getsize(partial), 0)
        self.assertIn("ABCDEF02: removed empty queue file", log)
        self.assertIn("ABCDEF03: removed empty queue file", log)
        self.assertEqual(q.files("corrupt"), [])
        self.assertEqual(q.files("active"), [])
        # The finished file waits in free/, blanked (zeros where its bytes
        # were, or empty), for cleanup to reuse.
        self.assertIn(qid, q.files("free"))
        with open(os.path.join(q.queue, "free", qid), "rb") as f:
            self.assertEqual(f.read().strip(b"\0"), b"")

    def test_busy_agent_retried(self):
        # a full listen backlog refuses non-blocking connects (EAGAIN):
        # qmgr must retry, not defer
        q = self.qmgr()
        local = self.agent("local", backlog=1, accept_delay=2.0)
        qids = [q.add("s@example.org", [f"sent-{i}@example.test"])
                for i in range(8)]
        q.start()
        self.assertTrue(wait_for(lambda: all(f"{x}: removed" in q.log()
                                             for x in qids)), q.log())
        self.assertEqual(len(local.delivered()), 8)
        self.assertNotIn("status=deferred", q.log())

    def test_corrupt_file_moved(self):
        q = self.qmgr()
        self.agent("local")
        path = os.path.join(q.queue, "incoming", "ABCDEF0123")
        with open(path, "w") as f:
            f.write("proto=queue/1\nrcpt=a@example.test\n\n5\nhel")
        q.start()
        self.assertTrue(wait_for(lambda: q.files("corrupt") == ["ABCDEF0123"]),
                        q.log())

    def test_concurrency_limits(self):
        q = self.qmgr()
        local = self.agent("local", delay=0.3)
        virtual = self.agent("virtual", delay=0.3)
        qids = []
        for i in range(15):
            qids.append(q.add("s@example.org", [f"sent-{i}@example.test",
                                                "sent-same@example.test",
                                                f"sent-v{i}@virt.test"]))
        q.start()
        self.assertTrue(wait_for(lambda: all(f"{x}: removed" in q.log()
                                             for x in qids), timeout=30),
                        q.log())
        self.assertEqual(len(local.delivered()), 30)
        self.assertLessEqual(local.max_active, 20)
        self.assertGreater(local.max_active, 2)
        self.assertLessEqual(local.max_per_rcpt, 2)   # one mailbox
        # virtual: 50 recipients per request, one destination
        self.assertEqual(len(virtual.delivered()), 15)

    def test_commands(self):
        q = self.qmgr()
        local = self.agent("local")
        q.start()
        held = q.add("s@example.org", ["sent-h@example.test"], sub="hold")
        gone = q.add("s@example.org", ["sent-g@example.test"], sub="hold")
        self.assertEqual(q.request("wakeup")["status"], "ok")
        self.assertEqual(q.request("delete", qid=gone)["status"], "ok")
        self.assertEqual(q.request("delete", qid=gone)["status"], "550")
        self.assertEqual(q.request("hold", qid="../x")["status"], "501")
        self.assertEqual(q.request("bogus")["status"], "501")
        time.sleep(1.5)
        self.assertEqual(q.files("hold"), [held])
        self.assertEqual(q.request("release", qid=held)["status"], "ok")
        self.assertTrue(wait_for(lambda: f"{held}: removed" in q.log()),
                        q.log())
        self.assertEqual(local.delivered(), ["sent-h@example.test"])

    def test_flush_domain(self):
        # only deferred messages with a pending recipient in the domain
        q = self.qmgr()
        q.start()
        later = time.time() + 3600
        ids = {}
        for name, rcpts, done in (
                ("match", ["a@other.test", "b@Remote.Test"], ()),
                ("done", ["a@remote.test", "b@other.test"], (0,)),
                ("other", ["a@other.test"], ()),
                ("sub", ["a@sub.remote.test"], ())):
            ids[name] = q.add("s@example.org", rcpts, sub="deferred",
                              done=done)
            os.utime(os.path.join(q.queue, "deferred", ids[name]),
                     (later, later))
        reply = q.request("flush", domain="remote.TEST")
        self.assertEqual(reply["status"], "ok")
        self.assertEqual(reply["count"], "1")
        self.assertIn("flush requested for remote.TEST: 1 deferred "
                      "message(s) due now", q.log())
        self.assertTrue(wait_for(lambda: ids["match"] not in
                                 q.files("deferred") or
                                 f"{ids['match']}: from=" in q.log()),
                        q.log())
        for name in ("done", "other", "sub"):
            self.assertIn(ids[name], q.files("deferred"))
            self.assertNotIn(f"{ids[name]}: from=", q.log())
        self.assertEqual(q.request("flush", domain="a b")["status"], "501")
        self.assertEqual(q.request("flush", domain="")["status"], "501")
        reply = q.request("flush")
        self.assertEqual(reply["count"], "4")

    # -- per-destination concurrency (qmgr_dest.c) --------------------------
    def test_destination_concurrency_grows(self):
        # slow start at initial_destination_concurrency, one more after
        # each delivery the destination answered, never above its limit
        q = self.qmgr("smtp_destination_concurrency_limit = 8\n")
        smtp = self.agent("smtp", delay=0.3)
        qids = [q.add("s@example.org", [f"sent-{i}@remote.test"])
                for i in range(40)]
        q.start()
        self.assertTrue(wait_for(lambda: all(f"{x}: removed" in q.log()
                                             for x in qids), timeout=30),
                        q.log())
        self.assertEqual(len(smtp.delivered()), 40)
        self.assertLessEqual(max(smtp.starts[:5]), 5, smtp.starts)
        self.assertEqual(smtp.max_active, 8, smtp.starts)
        self.assertNotIn("suspended", q.log())

    def test_destination_backoff_and_dead(self):
        # a destination that refuses every connection: 5 -> 2 -> 1 ->
        # dead; the rest of its mail is deferred without a connection
        # until minimal_backoff_time has passed, then it is tried again
        q = self.qmgr("minimal_backoff_time = 3s\n")
        smtp = self.agent("smtp", delay=0.5)
        smtp.down = True
        qids = [q.add("s@example.org", [f"sent-{i}@remote.test"])
                for i in range(20)]
        q.start()
        self.assertTrue(wait_for(lambda: len(q.files("deferred")) == 20),
                        q.log())
        log = q.log()
        self.assertEqual(len(smtp.requests), 5, smtp.starts)
        self.assertLessEqual(smtp.max_active, 5)
        self.assertIn("smtp destination remote.test: not reachable, "
                      "delivery suspended for 3 seconds: connect to "
                      "mx.remote.test[192.0.2.1]:25: Connection refused", log)
        suspended = re.findall(r"to=<(sent-\d+)@remote.test>, relay=none, "
                               r".*dsn=4\.4\.1, status=deferred \(delivery "
                               r"temporarily suspended: connect to "
                               r"mx\.remote\.test\[192\.0\.2\.1\]:25: "
                               r"Connection refused\)", log)
        self.assertEqual(len(set(suspended)), 15, log)
        # back after the dead time: everything is delivered
        smtp.down = False
        self.assertTrue(wait_for(lambda: all(f"{x}: removed" in q.log()
                                             for x in qids), timeout=30),
                        q.log())
        self.assertEqual(len(smtp.delivered()), 25)
        self.assertEqual(len(set(smtp.delivered())), 20)

    def test_destination_deferrals_are_not_failures(self):
        # a server that answers 4xx (mailbox full, greylisting) is
        # reachable: no back-off, no suspension
        q = self.qmgr("minimal_backoff_time = 300s\n"
                      "maximal_backoff_time = 600s\n")
        smtp = self.agent("smtp", delay=0.3)
        for i in range(10):
            q.add("s@example.org", [f"defer-{i}@remote.test"])
        q.start()
        self.assertTrue(wait_for(lambda: len(q.files("deferred")) == 10),
                        q.log())
        self.assertEqual(len(smtp.requests), 10)
        self.assertEqual(smtp.max_active, 5)
        self.assertNotIn("suspended", q.log())

    def test_destination_recipient_limit(self):
        q = self.qmgr("smtp_destination_recipient_limit = 2\n")
        smtp = self.agent("smtp")
        qid = q.add("s@example.org", [f"sent-{i}@remote.test"
                                      for i in range(5)] +
                    ["sent-x@other.test"])
        q.start()
        self.assertTrue(wait_for(lambda: f"{qid}: removed" in q.log()),
                        q.log())
        sizes = sorted([n for n, _ in req].count("rcpt")
                       for req in smtp.requests)
        self.assertEqual(sizes, [1, 1, 2, 2])
        self.assertEqual(sorted(dict(r)["nexthop"] for r in smtp.requests),
                         ["other.test"] + ["remote.test"] * 3)


if __name__ == "__main__":
    unittest.main()
