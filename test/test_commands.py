"""The commands people type: postern, sendmail, mailq, newaliases, make install.

Each test drives the real binaries (POSTERN_BIN) the way an administrator
or a local user would, and checks what they would see: exit status, the
message on stdout/stderr, the mail in the Maildir, the files on disk.

The system users ptalice and ptbob are shared with other test files, so
messages are recognised by a unique marker in their Subject rather than by
counting the Maildir, and only messages carrying our marker are removed.
"""
import fcntl
import glob
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid

from instance import (BIN, INSIDE, Instance, is_root, maildir_of, wait_for)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEEDS_ROOT = "needs root: real users, setuid delivery and privilege separation"


def marker():
    return "cmdtests-" + uuid.uuid4().hex[:12]


def take_mail(user, mark, count=1, timeout=20.0):
    """Messages in USER's Maildir/new holding MARK (waiting for COUNT of
    them), removed from the Maildir once read."""
    def found():
        out = []
        for f in glob.glob(os.path.join(maildir_of(user), "new", "*")):
            try:
                with open(f, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if mark.encode() in data:
                out.append((f, data))
        return out if len(out) >= count else None
    got = wait_for(found, timeout) or []
    for f, _ in got:
        try:
            os.unlink(f)
        except OSError:
            pass
    return [d for _, d in got]


def header(msg, name):
    """The first NAME: header of MSG (bytes, LF line ends), unfolded."""
    head = msg.split(b"\n\n", 1)[0].decode(errors="replace")
    m = re.search(r"^%s:[ \t]*(.*(?:\n[ \t].*)*)" % re.escape(name), head,
                  re.M | re.I)
    return re.sub(r"\n[ \t]+", " ", m.group(1)) if m else None


def run_as(user, cmd, input=None, timeout=60):
    """CMD run as USER (uid, gid and no supplementary groups)."""
    return subprocess.run(cmd, input=input, capture_output=True,
                          timeout=timeout, user=user, group=user,
                          extra_groups=[], cwd="/")


def alive(pid):
    """PID runs (a zombie waiting for its parent to reap it does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def append(path, text):
    """Append TEXT to PATH; returns the number of the first new line."""
    with open(path) as f:
        first = len(f.read().splitlines()) + 1
    with open(path, "a") as f:
        f.write(text)
    return first


class CommandCase(unittest.TestCase):
    """One instance per test, stopped and removed afterwards."""
    main = None

    def setUp(self):
        try:
            self.inst = Instance("cmd", main=self.main)
        except PermissionError as e:
            if is_root():
                raise
            self.skipTest(f"not root and cannot make an instance: {e}")

    def tearDown(self):
        self.inst.cleanup()

    def postern(self, *args, **kw):
        return self.inst.postern(*args, **kw)

    def assert_exit(self, p, code, what):
        out = p.stdout + p.stderr
        if isinstance(out, bytes):
            out = out.decode(errors="replace")
        self.assertEqual(p.returncode, code,
                         f"{what}: exit {p.returncode}, output: {out!r}")


# -- postern check ------------------------------------------------------------
class CheckTest(CommandCase):
    def main_cf(self):
        return os.path.join(self.inst.conf, "main.cf")

    def master_cf(self):
        return os.path.join(self.inst.conf, "master.cf")

    def test_check_good_config(self):
        p = self.postern("check")
        self.assert_exit(p, 0, "postern check on a good configuration")
        self.assertEqual(p.stderr, "", "a good configuration prints no problem")

    def test_check_unknown_parameter(self):
        n = append(self.main_cf(), "smtpd_bogus_parameter = yes\n")
        p = self.postern("check")
        self.assert_exit(p, 1, "unknown parameter")
        self.assertIn(f"{self.main_cf()}, line {n}:", p.stderr)
        self.assertIn("smtpd_bogus_parameter", p.stderr)

    def test_check_line_without_equals(self):
        n = append(self.main_cf(), "this line has no equals sign\n")
        p = self.postern("check")
        self.assert_exit(p, 1, "line without '='")
        self.assertRegex(p.stderr, re.escape(f"{self.main_cf()}, line {n}:") +
                         r".*'='")

    def test_check_bad_time_value(self):
        n = append(self.main_cf(), "maximal_backoff_time = 10 fortnights\n")
        p = self.postern("check")
        self.assert_exit(p, 1, "bad time value")
        self.assertRegex(p.stderr, re.escape(f"{self.main_cf()}, line {n}:") +
                         r".*maximal_backoff_time")

    def test_check_reports_every_problem(self):
        n = append(self.main_cf(), "smtpd_bogus_parameter = yes\n"
                                   "no equals here\n"
                                   "minimal_backoff_time = 10q\n")
        p = self.postern("check")
        self.assert_exit(p, 1, "three problems")
        for i in range(3):
            self.assertIn(f"{self.main_cf()}, line {n + i}:", p.stderr)

    def test_check_master_cf_bad_column(self):
        good = "pickup         unix  n       -       y       60      1       pickup\n"
        cases = [
            ("private column", "pickup         unix  x       -       y       60      1       pickup\n"),
            ("type column", "pickup         tcp   n       -       y       60      1       pickup\n"),
            ("wakeup column", "pickup         unix  n       -       y       soon    1       pickup\n"),
            ("maxproc column", "pickup         unix  n       -       y       60      many    pickup\n"),
            ("too few columns", "pickup         unix  n       -       y       60\n"),
        ]
        with open(self.master_cf()) as f:
            orig = f.read()
        lines = orig.splitlines(keepends=True)
        n = lines.index(good) + 1
        for what, bad in cases:
            with self.subTest(what):
                lines[n - 1] = bad
                with open(self.master_cf(), "w") as f:
                    f.write("".join(lines))
                p = self.postern("check")
                self.assert_exit(p, 1, f"master.cf with a bad {what}")
                self.assertIn(f"{self.master_cf()}, line {n}:", p.stderr)
        with open(self.master_cf(), "w") as f:
            f.write(orig)
        self.assert_exit(self.postern("check"), 0, "master.cf restored")

    def test_check_smtpd_tls_and_sasl(self):
        append(self.master_cf(),
               "127.0.0.1:0 inet n - y - 1 smtpd -o smtpd_tls_wrappermode=yes"
               " -o smtpd_tls_cert_file=/nonexistent/cert.pem\n")
        n = append(self.master_cf(),
                   "127.0.0.1:1 inet n - y - 1 smtpd "
                   "-o smtpd_tls_security_level=may "
                   "-o smtpd_sasl_auth_enable=yes -o smtpd_sasl_type=cyrus\n")
        # Warnings: a service without its certificate must not keep
        # `postern start` (which runs the check) from starting the rest.
        p = self.postern("check")
        self.assert_exit(p, 0, "warnings only")
        self.assertIn(f"warning: {self.master_cf()}, line {n - 1}: service "
                      "127.0.0.1:0: TLS: /nonexistent/cert.pem", p.stderr)
        self.assertIn("(the service refuses every client)", p.stderr)
        self.assertIn(f"warning: {self.master_cf()}, line {n}: service "
                      "127.0.0.1:1: TLS: no certificate configured", p.stderr)
        self.assertIn(f"warning: {self.master_cf()}, line {n}: service "
                      "127.0.0.1:1: smtpd_sasl_type = cyrus needs the sasl "
                      "service", p.stderr)

    def test_start_refused_with_bad_config(self):
        n = append(self.main_cf(), "smtpd_bogus_parameter = yes\n")
        p = self.postern("start")
        self.assert_exit(p, 1, "start with a bad main.cf")
        self.assertIn(f"line {n}", p.stderr)
        self.assertIsNone(self.inst.master_pid(), "no master was started")
        self.assert_exit(self.postern("status"), 1, "status after refusal")


# -- postern map ----------------------------------------------------------------
class MapTest(CommandCase):
    def write(self, name, text):
        path = os.path.join(self.inst.conf, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_map_build_and_query(self):
        path = self.write("virtual", "# comment\n\n"
                                     "a@example.test   alice\n"
                                     "b@example.test\tbob@example.org\n")
        p = self.postern("map", "build", path)
        self.assert_exit(p, 0, "map build")
        self.assertTrue(os.path.exists(path + ".lmdb"))
        for spec in (path, "lmdb:" + path):
            q = self.postern("map", "query", spec, "a@example.test")
            self.assert_exit(q, 0, f"query {spec}")
            self.assertEqual(q.stdout, "alice\n")
        q = self.postern("map", "query", path, "b@example.test")
        self.assertEqual(q.stdout, "bob@example.org\n")
        q = self.postern("map", "query", path, "nobody@example.test")
        self.assert_exit(q, 1, "query of a missing key")
        self.assertEqual(q.stdout, "")
        q = self.postern("map", "query", path, "# comment")
        self.assert_exit(q, 1, "a comment is not a key")

    def test_map_build_malformed_line(self):
        path = self.write("transport", "good.test   value\n")
        self.assert_exit(self.postern("map", "build", path), 0, "first build")
        self.write("transport", "good.test   value\nother.test   v2\n"
                                "keywithoutvalue\n")
        p = self.postern("map", "build", path)
        self.assertNotEqual(p.returncode, 0, "a malformed line fails the build")
        self.assertIn(f"{path}, line 3", p.stderr)
        # The old table is still there, unchanged (atomic build).
        q = self.postern("map", "query", path, "good.test")
        self.assert_exit(q, 0, "old table after a failed build")
        self.assert_exit(self.postern("map", "query", path, "other.test"), 1,
                         "nothing of the failed build is visible")

    def test_map_build_aliases(self):
        path = self.write("lists", "# lists\n"
                                   "postmaster: root\n"
                                   "staff: ptalice,\n"
                                   "  ptbob\n"
                                   "Sales: \"|/bin/cat\", ptbob\n")
        p = self.postern("map", "build", "-a", path)
        self.assert_exit(p, 0, "map build -a")
        q = self.postern("map", "query", path, "postmaster")
        self.assert_exit(q, 0, "query postmaster")
        self.assertEqual(q.stdout.strip(), "root")
        q = self.postern("map", "query", path, "staff")
        self.assert_exit(q, 0, "query a continued alias")
        self.assertRegex(q.stdout, r"ptalice,\s*ptbob")
        q = self.postern("map", "query", path, "sales")
        self.assert_exit(q, 0, "alias names are case-insensitive")
        q = self.postern("map", "query", path, "nobody")
        self.assert_exit(q, 1, "query of a missing alias")

    def test_map_build_aliases_malformed_line(self):
        path = self.write("lists", "ok: ptalice\n\nthis is not an alias\n")
        p = self.postern("map", "build", "-a", path)
        self.assertNotEqual(p.returncode, 0, "malformed alias line")
        self.assertIn(f"{path}, line 3", p.stderr)

    def test_map_query_missing_table(self):
        path = os.path.join(self.inst.conf, "never-built")
        p = self.postern("map", "query", path, "x")
        self.assertNotIn(p.returncode, (0, 1),
                         "a table that cannot open is an error, not 'not found'")
        self.assertIn("never-built", p.stderr)


# -- postern start/status/reload/stop ------------------------------------------
@unittest.skipUnless(is_root(), NEEDS_ROOT)
class ControlTest(CommandCase):
    def pid_path(self, name):
        return os.path.join(self.inst.queue, "pid", name)

    def lock_is_held(self):
        fd = os.open(self.pid_path("master.lock"), os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def test_start_status_stop(self):
        p = self.postern("status")
        self.assert_exit(p, 1, "status before start")
        self.assertIn("not running", p.stdout + p.stderr)

        self.assert_exit(self.postern("start"), 0, "start")
        self.assertTrue(wait_for(self.inst.can_connect, 10), "smtpd listens")
        pid = self.inst.master_pid()
        self.assertIsNotNone(pid, "master.pid written")
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        self.assertEqual(os.path.basename(argv[0]), b"master")
        self.assertIn(self.inst.conf.encode(), argv)
        self.assertTrue(self.lock_is_held(), "master holds master.lock")

        p = self.postern("status")
        self.assert_exit(p, 0, "status while running")
        self.assertIn(str(pid), p.stdout)

        p = self.postern("start")
        self.assert_exit(p, 1, "second start")
        self.assertIn("already running", p.stderr)
        self.assertEqual(self.inst.master_pid(), pid, "the first master stays")

        p = self.postern("stop")
        self.assert_exit(p, 0, "stop")
        self.assertTrue(wait_for(lambda: not alive(pid), 5), "master gone")
        self.assertFalse(self.lock_is_held(), "lock released")
        self.assertFalse(self.inst.can_connect(), "port closed")
        self.assertFalse(any(self.inst.daemon_pids(d) for d in
                             ("smtpd", "cleanup", "qmgr", "pickup")),
                         "no daemon outlives stop")
        self.assert_exit(self.postern("status"), 1, "status after stop")
        self.assert_exit(self.postern("stop"), 1, "stop when stopped")

    def test_reload(self):
        self.assert_exit(self.postern("reload"), 1, "reload when stopped")
        self.inst.start()
        pid = self.inst.master_pid()
        raw = self.inst.raw()
        code, text = raw.reply()
        raw.close()
        self.assertEqual(code, 220)
        self.assertIn("mx.example.test", text)
        main_cf = os.path.join(self.inst.conf, "main.cf")
        with open(main_cf) as f:
            cf = f.read()
        with open(main_cf, "w") as f:
            f.write(cf.replace("myhostname = mx.example.test",
                               "myhostname = reloaded.example.test"))
        p = self.postern("reload")
        self.assert_exit(p, 0, "reload")

        def banner():
            try:
                r = self.inst.raw()
                _, t = r.reply()
                r.close()
                return "reloaded.example.test" in t and t
            except OSError:
                return False
        self.assertTrue(wait_for(banner, 10),
                        "new smtpd processes use the reloaded main.cf")
        self.assertEqual(self.inst.master_pid(), pid, "same master after reload")
        self.assert_exit(self.postern("status"), 0, "status after reload")

    def test_stale_pid_file(self):
        self.inst.start()
        self.assert_exit(self.postern("stop"), 0, "stop")
        # A pid file left behind, naming a live process that is not ours.
        with open(self.pid_path("master.pid"), "w") as f:
            f.write(f"{os.getpid()}\n")
        p = self.postern("status")
        self.assert_exit(p, 1, "status with a stale pid file")
        self.assertIn("not running", p.stdout + p.stderr)
        self.assert_exit(self.postern("reload"), 1, "reload with a stale pid file")
        self.assert_exit(self.postern("start"), 0, "start over a stale pid file")
        self.assertTrue(wait_for(self.inst.can_connect, 10))
        pid = self.inst.master_pid()
        self.assertNotEqual(pid, os.getpid())
        self.assertTrue(alive(pid))
        self.assert_exit(self.postern("status"), 0, "status")


# -- postern queue list / flush ---------------------------------------------------
@unittest.skipUnless(is_root(), NEEDS_ROOT)
class QueueTest(CommandCase):
    # No automatic retry during a test: only flush makes qmgr try again.
    main = {"minimal_backoff_time": "1h", "maximal_backoff_time": "2h"}

    def defer_one(self):
        """A message from mynetworks to a remote domain: with no outbound
        transport it is deferred. Returns its queue ID."""
        self.inst.start()
        with self.inst.smtp(INSIDE) as s:
            s.ehlo("client.example.test")
            s.sendmail("sender@example.test", ["someone@remote.example"],
                       b"Subject: deferred\r\n\r\nwait for me\r\n")
        files = wait_for(lambda: self.inst.queue_files("deferred"), 20)
        self.assertEqual(len(files), 1, "one message in deferred/")
        return os.path.basename(files[0])

    def attempts(self, qid):
        return len(re.findall(re.escape(qid) + r": to=<someone@remote\.example>.*"
                              r"status=deferred", self.inst.logtext()))

    def test_queue_list_empty(self):
        self.inst.start()
        p = self.postern("queue", "list")
        self.assert_exit(p, 0, "queue list")
        self.assertEqual(p.stdout.strip(), "Mail queue is empty")

    def test_queue_list_deferred_with_reason(self):
        qid = self.defer_one()
        m = re.search(re.escape(qid) + r": to=<someone@remote\.example>.*"
                      r"status=deferred \((.*)\)$", self.inst.logtext(), re.M)
        self.assertIsNotNone(m, "deferral logged")
        reason = m.group(1)
        p = self.postern("queue", "list")
        self.assert_exit(p, 0, "queue list")
        out = p.stdout
        self.assertRegex(out, r"(?m)^" + re.escape(qid) + r"\s+\d+ .*"
                         r"sender@example\.test$")
        self.assertRegex(out, r"(?m)^\s*\(" + re.escape(reason) + r"\)\n"
                         r"\s+someone@remote\.example$")
        self.assertIn("1 Request", out)
        self.assertNotIn("Mail queue is empty", out)

    def test_flush(self):
        qid = self.defer_one()
        wait_for(lambda: self.attempts(qid) >= 1, 10)
        self.assertEqual(self.attempts(qid), 1)
        time.sleep(1.5)
        self.assertEqual(self.attempts(qid), 1, "no retry before flush (1h backoff)")
        p = self.postern("flush")
        self.assert_exit(p, 0, "flush")
        self.assertTrue(wait_for(lambda: self.attempts(qid) >= 2, 10),
                        "flush made qmgr try the deferred message again")
        self.assertTrue(wait_for(lambda: self.inst.queue_files("deferred"), 10),
                        "deferred again after the retry")
        self.inst.stop()
        p = self.postern("flush")
        self.assert_exit(p, 1, "flush when stopped")
        self.assertIn("running", p.stderr)

    def defer_to(self, rcpt, subject="deferred"):
        """Another message, to RCPT, deferred like defer_one's."""
        before = set(self.inst.queue_files("deferred"))
        with self.inst.smtp(INSIDE) as s:
            s.ehlo("client.example.test")
            s.sendmail("sender@example.test", [rcpt],
                       f"Subject: {subject}\r\n\r\nwait\r\n".encode())
        files = wait_for(lambda: set(self.inst.queue_files("deferred")) -
                         before, 20)
        self.assertEqual(len(files), 1, "one more message in deferred/")
        return os.path.basename(files.pop())

    def test_queue_show(self):
        qid = self.defer_one()
        p = self.postern("queue", "show", qid)
        self.assert_exit(p, 0, "queue show")
        out = p.stdout
        self.assertIn(f"*** ENVELOPE deferred/{qid} ***\n", out)
        self.assertIn(f"queue_id: {qid}\n", out)
        self.assertRegex(out, r"(?m)^queue: deferred \(next attempt .+\)$")
        self.assertRegex(out, r"(?m)^arrival: \w{3}, \d\d \w{3} \d{4} ")
        self.assertIn("sender: sender@example.test\n", out)
        self.assertRegex(out, r"(?m)^size: \d+$")
        self.assertRegex(out, r"(?m)^client: \S+\[127\.0\.0\.1\]$")
        self.assertIn("helo: client.example.test\n", out)
        self.assertRegex(out, r"(?m)^recipient: someone@remote\.example\n"
                         r"    state: pending, deferred at .+ \(dsn=4\.4\.1, "
                         r"relay=none\): outbound delivery is not available")
        head, _, rest = out.partition(f"*** MESSAGE CONTENTS deferred/{qid} ***\n")
        self.assertTrue(rest, out)
        self.assertRegex(rest, r"(?m)^Received: from client\.example\.test")
        self.assertIn("Subject: deferred\n", rest)
        self.assertTrue(rest.endswith(f"\nwait for me\n*** END OF MESSAGE "
                                      f"deferred/{qid} ***\n"), rest[-200:])
        self.assertRegex(self.inst.logtext(),
                         r"postern\[\d+\]: uid 0 \(root\): show " + qid)
        # content is private: other users are refused, nothing shown
        p = self.postern("queue", "show", qid, user="ptbob")
        self.assert_exit(p, 1, "queue show by ptbob")
        self.assertIn("permission denied: only root and the mail owner may "
                      "read queued messages", p.stderr)
        self.assertNotIn("wait for me", p.stdout + p.stderr)
        self.assertNotIn("someone@remote", p.stdout + p.stderr)
        # the mail owner may
        p = self.postern("queue", "show", qid, user="postern")
        self.assert_exit(p, 0, "queue show by the mail owner")
        self.assertIn("wait for me", p.stdout)
        p = self.postern("queue", "show", "ABCDEF0123")
        self.assert_exit(p, 1, "queue show of an unknown ID")
        self.assertIn("ABCDEF0123: no such message in the queue", p.stderr)
        p = self.postern("queue", "show", "../etc")
        self.assert_exit(p, 2, "queue show of a bad ID")
        self.assertIn("not a queue ID", p.stderr)

    def test_flush_domain(self):
        first = self.defer_one()
        other = self.defer_to("x@elsewhere.example")
        log = self.inst.logtext

        def tries(qid, rcpt):
            return len(re.findall(re.escape(qid) + r": to=<" + re.escape(rcpt)
                                  + r">.*status=deferred", log()))
        wait_for(lambda: tries(other, "x@elsewhere.example") >= 1, 10)
        p = self.postern("flush", "ELSEWHERE.example")
        self.assert_exit(p, 0, "flush DOMAIN")
        self.assertIn("postern: flush ELSEWHERE.example: done (1 message)",
                      p.stdout)
        self.assertTrue(wait_for(lambda: tries(other, "x@elsewhere.example")
                                 >= 2, 10), "the domain's message retried")
        self.assertIn("uid 0 (root): flush ELSEWHERE.example", log())
        self.assertIn("flush requested for ELSEWHERE.example: 1 deferred "
                      "message(s) due now", log())
        time.sleep(1.5)
        self.assertEqual(self.attempts(first), 1, "other domains wait")
        p = self.postern("queue", "flush", "nowhere.example")
        self.assert_exit(p, 0, "flush of a domain with no mail")
        self.assertIn("done (0 messages)", p.stdout)
        p = self.postern("flush", "a b")
        self.assert_exit(p, 2, "flush of a malformed domain")
        self.assertEqual(self.attempts(first), 1)

    def test_hold_release_requeue_delete(self):
        qid = self.defer_one()
        log = self.inst.logtext
        wait_for(lambda: self.attempts(qid) >= 1, 10)
        steps = [
            ("hold", f"{qid}: placed on hold", "hold"),
            ("release", f"{qid}: released from hold", "deferred"),
            ("hold", f"{qid}: placed on hold", "hold"),
            ("release", f"{qid}: released from hold", "deferred"),
            ("requeue", f"{qid}: requeued", "deferred"),
            ("delete", f"{qid}: removed (deleted by request)", None),
        ]
        for i, (action, effect, where) in enumerate(steps):
            with self.subTest(action=action, step=i):
                before = log().count(effect)
                tried = self.attempts(qid)
                p = self.postern("queue", action, qid)
                self.assert_exit(p, 0, f"queue {action}")
                self.assertIn(f"postern: {action} {qid}: done (1 message)",
                              p.stdout)
                self.assertTrue(wait_for(lambda: log().count(effect) > before,
                                         10), f"qmgr logged {effect!r}")
                self.assertRegex(log(), r"postern\[\d+\]: uid 0 \(root\): " +
                                 action + " " + qid)
                if action in ("release", "requeue"):
                    # retried at once, and deferred again
                    self.assertTrue(wait_for(lambda: self.attempts(qid) >
                                             tried, 10), "retried")
                if where:
                    self.assertTrue(wait_for(lambda: self.inst.queue_files(
                        where), 10), f"in {where}/")
                    if where == "hold":
                        p = self.postern("queue", "list")
                        self.assertRegex(p.stdout, r"(?m)^" + qid + r"!")
        self.assertEqual(self.inst.queue_files(), [])
        self.assertFalse(os.path.exists(os.path.join(self.inst.queue, "log",
                                                     qid)))
        p = self.postern("queue", "delete", qid)
        self.assert_exit(p, 1, "delete of a message that is gone")
        self.assertIn("no such message in the queue", p.stderr)
        # ALL: every message, and nothing to do is not an error
        a = self.defer_to("a@elsewhere.example")
        b = self.defer_to("b@elsewhere.example")
        p = self.postern("queue", "hold", "ALL")
        self.assert_exit(p, 0, "hold ALL")
        self.assertIn("postern: hold ALL: done (2 messages)", p.stdout)
        self.assertIn(f"{a}: placed on hold", log())
        self.assertIn(f"{b}: placed on hold", log())
        self.assertIn("uid 0 (root): hold ALL", log())
        p = self.postern("queue", "delete", "ALL")
        self.assert_exit(p, 0, "delete ALL")
        self.assertEqual(self.inst.queue_files(), [])
        p = self.postern("queue", "requeue", "ALL")
        self.assert_exit(p, 0, "requeue ALL of an empty queue")
        self.assertIn("done (0 messages)", p.stdout)


# -- sendmail, mailq, newaliases --------------------------------------------------
@unittest.skipUnless(is_root(), NEEDS_ROOT)
class SendmailTest(CommandCase):
    def sendmail(self, args, message, user=None, argv0="sendmail"):
        cmd = [os.path.join(BIN, "sendmail")]
        if argv0 != "sendmail":
            d = tempfile.mkdtemp(prefix="cmdtests-")
            self.addCleanup(shutil.rmtree, d, True)
            os.chmod(d, 0o755)
            os.symlink(cmd[0], os.path.join(d, argv0))
            cmd = [os.path.join(d, argv0)]
        cmd += ["-C", self.inst.conf] + list(args)
        if user:
            return run_as(user, cmd, message)
        return subprocess.run(cmd, input=message, capture_output=True,
                              timeout=60)

    def test_sendmail_from_local_user(self):
        self.inst.start()
        mark = marker()
        p = self.sendmail(["ptalice"], f"Subject: {mark}\n\nhello\n".encode(),
                          user="ptbob")
        self.assert_exit(p, 0, "sendmail ptalice, run by ptbob")
        msgs = take_mail("ptalice", mark)
        self.assertEqual(len(msgs), 1, "delivered to ptalice's Maildir")
        m = msgs[0]
        self.assertEqual(header(m, "Return-Path"), "<ptbob@mx.example.test>")
        self.assertIn("ptbob@mx.example.test", header(m, "From") or "")
        self.assertTrue(header(m, "Message-ID"), "Message-ID added")
        self.assertTrue(header(m, "Date"), "Date added")
        self.assertTrue(m.endswith(b"\n\nhello\n"), m[-100:])

    def test_sendmail_f_and_F(self):
        self.inst.start()
        mark = marker()
        p = self.sendmail(["-f", "list-bounces@example.org", "-F", "Sam Sender",
                           "ptalice@example.test"],
                          f"Subject: {mark}\n\nbody\n".encode())
        self.assert_exit(p, 0, "sendmail -f -F")
        msgs = take_mail("ptalice", mark)
        self.assertEqual(len(msgs), 1)
        self.assertEqual(header(msgs[0], "Return-Path"),
                         "<list-bounces@example.org>")
        frm = header(msgs[0], "From") or ""
        self.assertIn("Sam Sender", frm)
        self.assertIn("list-bounces@example.org", frm)

    def test_sendmail_keeps_existing_from(self):
        self.inst.start()
        mark = marker()
        p = self.sendmail(["-F", "Not Used", "ptalice"],
                          f"From: Real Author <author@example.test>\n"
                          f"Subject: {mark}\n\nbody\n".encode())
        self.assert_exit(p, 0, "sendmail with a From header")
        msgs = take_mail("ptalice", mark)
        self.assertEqual(len(msgs), 1)
        self.assertEqual(header(msgs[0], "From"),
                         "Real Author <author@example.test>")

    def test_sendmail_bs(self):
        self.inst.start()
        mark = marker()
        script = ("EHLO client.example.test\r\n"
                  "MAIL FROM:<smtp-user@example.test>\r\n"
                  "RCPT TO:<ptbob@example.test>\r\n"
                  "DATA\r\n"
                  f"Subject: {mark}\r\n\r\nover stdin\r\n..dot\r\n.\r\n"
                  "QUIT\r\n").encode()
        p = self.sendmail(["-bs"], script)
        self.assert_exit(p, 0, "sendmail -bs")
        codes = re.findall(rb"(?m)^(\d{3}) ", p.stdout)
        self.assertEqual(codes, [b"220", b"250", b"250", b"250", b"354",
                                 b"250", b"221"], p.stdout)
        self.assertRegex(p.stdout, rb"250 .*queued")
        msgs = take_mail("ptbob", mark)
        self.assertEqual(len(msgs), 1)
        self.assertEqual(header(msgs[0], "Return-Path"),
                         "<smtp-user@example.test>")
        self.assertTrue(msgs[0].endswith(b"\n\nover stdin\n.dot\n"),
                        msgs[0][-100:])

    def test_mailq(self):
        self.inst.start()
        p = self.sendmail([], None, argv0="mailq")
        self.assert_exit(p, 0, "mailq on an empty queue")
        self.assertIn(b"Mail queue is empty", p.stdout)
        with self.inst.smtp(INSIDE) as s:
            s.ehlo("client.example.test")
            s.sendmail("sender@example.test", ["far@remote.example"],
                       b"Subject: q\r\n\r\nx\r\n")
        files = wait_for(lambda: self.inst.queue_files("deferred"), 20)
        self.assertTrue(files, "deferred")
        qid = os.path.basename(files[0]).encode()
        for how, args, argv0 in (("mailq", [], "mailq"),
                                 ("sendmail -bp", ["-bp"], "sendmail")):
            with self.subTest(how):
                p = self.sendmail(args, None, argv0=argv0)
                self.assert_exit(p, 0, how)
                self.assertIn(qid, p.stdout)
                self.assertIn(b"far@remote.example", p.stdout)
                self.assertRegex(p.stdout, rb"(?m)^\s*\(.+\)$",
                                 "the deferral reason is shown")

    def test_mailq_as_user(self):
        # Postfix lets every local user run mailq; so must we.
        self.inst.start()
        p = self.sendmail([], None, user="ptbob", argv0="mailq")
        self.assert_exit(p, 0, "mailq run by ptbob")
        self.assertIn(b"Mail queue is empty", p.stdout)

    def test_sendmail_t(self):
        self.inst.start()
        mark = marker()
        p = self.sendmail(["-t", "-i"],
                          (f"To: ptalice\nBcc: ptbob@example.test\n"
                           f"Subject: {mark}\n\n.\nline after a lone dot\n")
                          .encode())
        self.assert_exit(p, 0, "sendmail -t -i")
        for user in ("ptalice", "ptbob"):
            with self.subTest(user):
                msgs = take_mail(user, mark)
                self.assertEqual(len(msgs), 1, f"{user} got the -t message")
                self.assertIsNone(header(msgs[0], "Bcc"), "Bcc removed")
                self.assertTrue(msgs[0].endswith(b"\n.\nline after a lone dot\n"),
                                "-i: a lone dot does not end the message")

    def test_newaliases(self):
        self.inst.start()
        aliases = os.path.join(self.inst.conf, "aliases")
        with open(aliases, "a") as f:
            f.write("cmdtests-list: ptbob\n")
        q = self.postern("map", "query", "lmdb:" + aliases, "cmdtests-list")
        self.assert_exit(q, 1, "not in the table before newaliases")
        p = self.sendmail([], None, argv0="newaliases")
        self.assert_exit(p, 0, "newaliases")
        q = self.postern("map", "query", "lmdb:" + aliases, "cmdtests-list")
        self.assert_exit(q, 0, "in the table after newaliases")
        self.assertEqual(q.stdout.strip(), "ptbob")
        # The running daemons see the rebuilt table without a restart.
        mark = marker()
        p = self.sendmail(["cmdtests-list@example.test"],
                          f"Subject: {mark}\n\nvia the new alias\n".encode())
        self.assert_exit(p, 0, "sendmail to the new alias")
        self.assertEqual(len(take_mail("ptbob", mark)), 1,
                         "mail to the new alias reached ptbob")
        # sendmail -bi is the same thing.
        with open(aliases, "a") as f:
            f.write("cmdtests-two: ptalice\n")
        self.assert_exit(self.sendmail(["-bi"], None), 0, "sendmail -bi")
        self.assert_exit(self.postern("map", "query", "lmdb:" + aliases,
                                      "cmdtests-two"), 0, "after -bi")

    def test_newaliases_malformed_line(self):
        aliases = os.path.join(self.inst.conf, "aliases")
        n = append(aliases, "this line is not an alias\n")
        p = self.sendmail([], None, argv0="newaliases")
        self.assertNotEqual(p.returncode, 0, "newaliases with a bad line")
        self.assertIn(f"{aliases}, line {n}".encode(), p.stderr)

    def test_submit_while_stopped(self):
        self.inst.start()
        self.inst.stop()
        self.assert_exit(self.postern("status"), 1, "stopped")
        mark = marker()
        p = self.sendmail(["ptalice"], f"Subject: {mark}\n\nqueued while "
                          f"stopped\n".encode(), user="ptbob")
        self.assert_exit(p, 0, "sendmail while postern is stopped")
        maildrop = os.path.join(self.inst.queue, "maildrop")
        waiting = [f for f in os.listdir(maildrop) if not f.startswith(".")]
        self.assertEqual(len(waiting), 1, "the message waits in maildrop/")
        self.assertEqual(take_mail("ptalice", mark, timeout=1), [],
                         "nothing delivered while stopped")
        self.inst.start()
        msgs = take_mail("ptalice", mark)
        self.assertEqual(len(msgs), 1, "delivered after postern start")
        self.assertEqual(header(msgs[0], "Return-Path"),
                         "<ptbob@mx.example.test>")
        self.assertTrue(wait_for(lambda: not [f for f in os.listdir(maildrop)
                                              if not f.startswith(".")], 10),
                        "maildrop/ emptied")

    def test_submit_while_stopped_as_root(self):
        self.inst.start()
        self.inst.stop()
        mark = marker()
        p = self.sendmail(["ptalice"], f"Subject: {mark}\n\nroot, stopped\n"
                          .encode())
        self.assert_exit(p, 0, "sendmail while postern is stopped")
        self.inst.start()
        self.assertEqual(len(take_mail("ptalice", mark)), 1,
                         "delivered after postern start")


# -- make install -------------------------------------------------------------------
class InstallTest(unittest.TestCase):
    PROGS = ("master", "smtpd", "cleanup", "qmgr", "local", "virtual", "pickup")

    @classmethod
    def setUpClass(cls):
        bindir = os.path.dirname(os.path.abspath(BIN))
        if os.path.dirname(bindir) == ROOT:
            cls.build = os.path.basename(bindir)
        else:
            cls.build = "build"
        cls.dest = tempfile.mkdtemp(prefix="cmdtests-install-")
        cls.make = cls.install()

    @classmethod
    def install(cls):
        extra = ["SANITIZE=1"] if cls.build == "build-san" else []
        return subprocess.run(["make", "-C", ROOT, "--no-print-directory",
                               "B=" + cls.build, "install",
                               "DESTDIR=" + cls.dest, "PREFIX=/usr"] + extra,
                              capture_output=True, text=True, timeout=600)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dest, ignore_errors=True)

    def path(self, p):
        return os.path.join(self.dest, p)

    def setUp(self):
        self.assertEqual(self.make.returncode, 0,
                         "make install failed:\n" + self.make.stdout[-2000:] +
                         self.make.stderr[-2000:])

    def assert_exec(self, p):
        self.assertTrue(os.path.isfile(self.path(p)), p + " installed")
        self.assertTrue(os.access(self.path(p), os.X_OK), p + " executable")

    def test_install_layout(self):
        for p in ("usr/sbin/postern", "usr/sbin/sendmail"):
            self.assert_exec(p)
        for link in ("mailq", "newaliases"):
            p = self.path("usr/sbin/" + link)
            self.assertTrue(os.path.islink(p), link + " is a link")
            self.assertEqual(os.path.realpath(p),
                             os.path.realpath(self.path("usr/sbin/sendmail")))
        for prog in self.PROGS:
            self.assert_exec("usr/lib/postern/" + prog)
        self.assertFalse(os.path.exists(self.path("usr/sbin/master")),
                         "daemons are not in sbin")
        for f in ("main.cf", "master.cf", "aliases"):
            self.assertTrue(os.path.isfile(self.path("etc/postern/" + f)),
                            f + " installed")
        self.assertFalse(os.path.exists(self.path("usr/local")),
                         "nothing under /usr/local with PREFIX=/usr")
        self.assertTrue(os.path.isfile(self.path("usr/share/man/man8/postern.8")),
                        "postern(8) installed")
        self.assertTrue(glob.glob(self.path("usr/share/man/man5/*.5")),
                        "section 5 man pages installed")

    def test_installed_config_is_valid(self):
        # The shipped main.cf and master.cf parse without a problem; only
        # what the temporary root cannot have (daemons, queue, aliases.lmdb)
        # may be reported.
        conf = tempfile.mkdtemp(prefix="cmdtests-conf-")
        self.addCleanup(shutil.rmtree, conf, True)
        for f in ("main.cf", "master.cf", "aliases"):
            shutil.copy(self.path("etc/postern/" + f), conf)
        p = subprocess.run([self.path("usr/sbin/postern"), "-c", conf, "check"],
                           capture_output=True, text=True, timeout=60)
        # The certificate is the admin's to add (INSTALL): without it the
        # TLS-only services 587 and 465 are reported, and port 25 warns.
        problems = [l for l in p.stderr.splitlines()
                    if re.search(r"(main|master)\.cf, line \d+:", l) and
                    "no such program" not in l and
                    "TLS: no certificate configured" not in l]
        self.assertEqual(problems, [], p.stderr)
        self.assertIn("service submissions: TLS: no certificate", p.stderr)

    def test_installed_commands_use_prefix(self):
        # Built without PREFIX, installed with PREFIX=/usr: the installed
        # postern must still look for its daemons under /usr/lib/postern.
        conf = tempfile.mkdtemp(prefix="cmdtests-conf-")
        self.addCleanup(shutil.rmtree, conf, True)
        with open(os.path.join(conf, "main.cf"), "w") as f:
            f.write(f"queue_directory = {conf}/queue\n")
        with open(os.path.join(conf, "master.cf"), "w") as f:
            f.write("pickup unix n - y 60 1 pickup\n")
        p = subprocess.run([self.path("usr/sbin/postern"), "-c", conf, "check"],
                           capture_output=True, text=True, timeout=60)
        wrong = [l for l in p.stderr.splitlines()
                 if "no such program" in l and "/usr/lib/postern/" not in l]
        self.assertEqual(wrong, [], "daemon_directory compiled in is not "
                         "$PREFIX/lib/postern")

    def test_reinstall_keeps_edited_config(self):
        main_cf = self.path("etc/postern/main.cf")
        with open(main_cf, "a") as f:
            f.write("# edited by the admin\n")
        again = self.install()
        self.assertEqual(again.returncode, 0, again.stderr[-2000:])
        with open(main_cf) as f:
            self.assertIn("# edited by the admin", f.read(),
                          "make install must not overwrite an edited main.cf")


if __name__ == "__main__":
    unittest.main()
