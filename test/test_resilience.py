"""Privilege separation, crashes, reloads: no message that got 250 is lost."""
import os
import random
import re
import smtplib
import threading
import time
import unittest

from instance import (Instance, INSIDE, clear_maildir, is_root, maildir_of,
                      read_maildir, uid_of, wait_for, wait_maildir)


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.split()
    return fields


@unittest.skipUnless(is_root(), "needs root: real users and privilege separation")
class PrivsepTest(unittest.TestCase):
    def test_users_and_chroots(self):
        inst = Instance("privsep").start()
        try:
            with inst.smtp() as s:   # makes smtpd and cleanup run
                s.ehlo("client.test")
                s.sendmail("a@b.test", ["ptalice@example.test"], b"Subject: p\r\n\r\nx\r\n")
                s.mail("a@b.test")   # keep the session (and smtpd) alive
                postern = uid_of("postern")
                want = {"master": (0, "/"), "qmgr": (postern, inst.queue),
                        "pickup": (postern, inst.queue),
                        "smtpd": (postern, inst.queue),
                        "cleanup": (postern, inst.queue)}
                for name, (uid, root) in want.items():
                    pids = wait_for(lambda: inst.daemon_pids(name), 10)
                    self.assertTrue(pids, f"no {name} process")
                    for pid in pids:
                        st = proc_status(pid)
                        self.assertEqual([int(x) for x in st["Uid"]], [uid] * 4, name)
                        self.assertEqual(os.readlink(f"/proc/{pid}/root"), root, name)
                        # daemon_batch_scheduling: SCHED_BATCH (3); the
                        # master keeps the default (0).
                        with open(f"/proc/{pid}/stat") as f:
                            policy = int(f.read().rsplit(")", 1)[1].split()[38])
                        self.assertEqual(policy, 0 if name == "master" else 3,
                                         name)
                # local runs as root, unjailed, and changes uid per delivery.
                for pid in inst.daemon_pids("local"):
                    self.assertEqual(os.readlink(f"/proc/{pid}/root"), "/")
        finally:
            inst.cleanup()


def send_many(inst, count, sessions, accepted, errors):
    """count messages over `sessions` parallel sessions; record the
    Subject of every message that got 250."""
    lock = threading.Lock()
    per = count // sessions

    def worker(w):
        i = 0
        while i < per:
            try:
                with inst.smtp(timeout=20) as s:
                    s.ehlo("load.test")
                    while i < per:
                        subj = f"load-{w}-{i}"
                        try:
                            s.sendmail("load@example.test", ["ptbob@example.test"],
                                       f"Subject: {subj}\r\n\r\nbody {subj}\r\n".encode())
                            with lock:
                                accepted.add(subj)
                        except smtplib.SMTPResponseException:
                            pass   # 4xx: the client retries the same message
                        i += 1
                        if i % 10 == 0:
                            break   # reconnect now and then
            except (OSError, smtplib.SMTPException) as e:
                with lock:
                    errors.append(repr(e))
                time.sleep(0.1)   # a killed smtpd: retry the message

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(sessions)]
    for t in threads:
        t.start()
    return threads


def delivered_subjects(maildir):
    out = []
    for m in read_maildir(maildir):
        mm = re.search(rb"\nSubject: (load-\d+-\d+)\n", m)
        if mm:
            out.append(mm.group(1).decode())
    return out


@unittest.skipUnless(is_root(), "needs root: real users and privilege separation")
class CrashTest(unittest.TestCase):
    def setUp(self):
        clear_maildir(maildir_of("ptbob"))
        self.inst = Instance("crash", smtpd_procs=4).start()

    def tearDown(self):
        self.inst.cleanup()

    def run_load_with(self, disrupt, count=1000, sessions=10):
        accepted, errors = set(), []
        threads = send_many(self.inst, count, sessions, accepted, errors)
        disrupt(threads)
        for t in threads:
            t.join(300)
        # Everything queued must drain: restart the instance if the test
        # killed the master.
        if not self.inst.master_pid() or not os.path.exists(f"/proc/{self.inst.master_pid()}"):
            self.inst.start()
        self.inst.postern("flush")
        box = maildir_of("ptbob")
        wait_for(lambda: accepted <= set(delivered_subjects(box)), 120, 0.5)
        got = delivered_subjects(box)
        missing = accepted - set(got)
        dups = len(got) - len(set(got))
        print(f"\n  accepted {len(accepted)}, delivered {len(set(got))}, "
              f"duplicates {dups}, client errors {len(errors)}")
        self.assertFalse(missing, f"{len(missing)} accepted messages lost: "
                         f"{sorted(missing)[:5]}")
        self.assertGreater(len(accepted), count // 2)
        return got

    def test_kill_daemons_under_load(self):
        killed = []

        def disrupt(threads):
            rnd = random.Random(7)
            names = ["smtpd", "cleanup", "qmgr", "local"]
            end = time.time() + 60
            # Until the load is sent and each daemon was killed once:
            # delivery goes on after the last 250.
            while time.time() < end and (
                    any(t.is_alive() for t in threads) or
                    set(names) - set(killed)):
                time.sleep(rnd.uniform(0.1, 0.4))
                # Every daemon in turn, a random process of it.
                name = names[len(killed) % len(names)]
                pids = self.inst.daemon_pids(name)
                if pids:
                    try:
                        os.kill(rnd.choice(pids), 9)
                        killed.append(name)
                    except ProcessLookupError:
                        pass
        self.run_load_with(disrupt)
        print(f"  killed: {', '.join(killed)}")
        for name in ("smtpd", "cleanup", "qmgr", "local"):
            self.assertIn(name, killed, f"{name} was never killed")
        self.assertRegex(self.inst.logtext(), r"killed by signal 9")

    def test_kill_master_under_load(self):
        def disrupt(threads):
            time.sleep(1.0)
            pid = self.inst.master_pid()
            os.kill(pid, 9)
            # Children of a killed master finish what they hold; kill them
            # too, as a crash of the whole box would.
            time.sleep(0.5)
            for name in ("smtpd", "cleanup", "qmgr", "local", "pickup", "virtual"):
                for p in self.inst.daemon_pids(name):
                    try:
                        os.kill(p, 9)
                    except ProcessLookupError:
                        pass
            time.sleep(0.5)
            self.inst.start()
        self.run_load_with(disrupt, count=300)

    def test_reload_under_load(self):
        def disrupt(threads):
            for _ in range(5):
                time.sleep(0.5)
                self.inst.postern("reload", check=True)
        self.run_load_with(disrupt, count=300)

    def test_crashed_daemon_restarted(self):
        qmgr = wait_for(lambda: self.inst.daemon_pids("qmgr"), 10)
        self.assertTrue(qmgr)
        os.kill(qmgr[0], 9)
        new = wait_for(lambda: [p for p in self.inst.daemon_pids("qmgr")
                                if p != qmgr[0]], 15)
        self.assertTrue(new, "qmgr was not restarted")
        self.assertRegex(self.inst.logtext(), r"qmgr.*(killed by signal 9|signal 9)")


@unittest.skipUnless(is_root(), "needs root: real users and privilege separation")
class RetireTest(unittest.TestCase):
    def test_retiring_smtpd_is_replaced_at_once(self):
        """At max_use the successor starts when the old process stops
        accepting, not when the next client is already waiting."""
        clear_maildir(maildir_of("ptalice"))
        inst = Instance("retire", main={"max_use": "2"}, smtpd_procs=1).start()
        try:
            first = wait_for(lambda: inst.daemon_pids("smtpd"), 10)
            self.assertEqual(len(first), 1)
            sent = 0
            while first[0] in inst.daemon_pids("smtpd"):
                self.assertLess(sent, 2, "max_use = 2 did not retire smtpd")
                with inst.smtp() as s:
                    s.sendmail("a@b.test", ["ptalice@example.test"],
                               b"Subject: r%d\r\n\r\nx\r\n" % sent)
                sent += 1
                wait_for(lambda: first[0] not in inst.daemon_pids("smtpd"), 2)
            # No client connects while we wait: the successor must come
            # on its own (the wait covers only its fork and exec).
            self.assertTrue(wait_for(lambda: inst.daemon_pids("smtpd"), 3),
                            "no successor before the next client")
            with inst.smtp() as s:
                s.sendmail("a@b.test", ["ptalice@example.test"],
                           b"Subject: last\r\n\r\nx\r\n")
            self.assertEqual(len(wait_maildir(maildir_of("ptalice"), sent + 1)),
                             sent + 1)
        finally:
            inst.cleanup()

    def test_successor_starts_at_half_max_use(self):
        """Past half its max_use an smtpd goes on accepting, and its
        successor is already running when it stops."""
        clear_maildir(maildir_of("ptalice"))
        inst = Instance("leave", main={"max_use": "8"}, smtpd_procs=2).start()
        try:
            first = wait_for(lambda: inst.daemon_pids("smtpd"), 10)
            self.assertEqual(len(first), 1)

            def served(pid):
                return len(re.findall(r"smtpd\[%d\]: connect from" % pid,
                                      inst.logtext()))
            sent = 0
            at_successor = None
            while first[0] in inst.daemon_pids("smtpd") and sent < 12:
                with inst.smtp() as s:
                    s.sendmail("a@b.test", ["ptalice@example.test"],
                               b"Subject: h%d\r\n\r\nx\r\n" % sent)
                sent += 1
                time.sleep(0.3)
                pids = inst.daemon_pids("smtpd")
                if at_successor is None and len(pids) == 2:
                    self.assertIn(first[0], pids)
                    at_successor = served(first[0])
            self.assertIsNotNone(at_successor, "no successor before max_use")
            # Started at half (the start-up probe counts as a session),
            # while the first still had sessions to serve.
            self.assertGreaterEqual(at_successor, 4)
            self.assertLess(at_successor, 8)
            self.assertNotIn(first[0], inst.daemon_pids("smtpd"),
                             "the first smtpd outlived its max_use")
            self.assertEqual(served(first[0]), 8)
            self.assertEqual(len(wait_maildir(maildir_of("ptalice"), sent)),
                             sent)
        finally:
            inst.cleanup()


@unittest.skipUnless(is_root(), "needs root: real users and privilege separation")
class PooledCleanupTest(unittest.TestCase):
    def test_cleanup_ends_pooled_connection_during_data(self):
        """smtpd takes its pooled cleanup connection at DATA but sends
        the message only with its end; when cleanup ended that connection
        meanwhile, the message goes over a new one, exactly once."""
        clear_maildir(maildir_of("ptalice"))
        inst = Instance("pooled", smtpd_procs=1).start()
        try:
            with inst.smtp() as s:   # leaves a pooled cleanup connection
                s.sendmail("a@b.test", ["ptalice@example.test"],
                           b"Subject: first\r\n\r\nx\r\n")
            self.assertEqual(len(inst.daemon_pids("smtpd")), 1)
            c = inst.raw()
            self.assertEqual(c.reply()[0], 220)
            self.assertEqual(c.cmd("EHLO client.test")[0], 250)
            self.assertEqual(c.cmd("MAIL FROM:<a@b.test>")[0], 250)
            self.assertEqual(c.cmd("RCPT TO:<ptalice@example.test>")[0], 250)
            self.assertEqual(c.cmd("DATA")[0], 354)
            # The cleanup that served the first message ends its
            # connection, as it does when idle, reloaded or stopped.
            old = inst.daemon_pids("cleanup")
            self.assertTrue(old)
            for pid in old:
                os.kill(pid, 15)
            self.assertTrue(wait_for(lambda: not set(old) &
                                     set(inst.daemon_pids("cleanup")), 10))
            code, text = c.cmd("Subject: second\r\n\r\nbody\r\n.")
            self.assertEqual(code, 250, text)
            c.cmd("QUIT")
            c.close()
            box = maildir_of("ptalice")
            self.assertEqual(len(wait_maildir(box, 2)), 2)
            time.sleep(0.5)
            subjects = sorted(re.search(rb"\nSubject: (\w+)\n", m).group(1)
                              for m in read_maildir(box))
            self.assertEqual(subjects, [b"first", b"second"])
        finally:
            inst.cleanup()


if __name__ == "__main__":
    unittest.main()
