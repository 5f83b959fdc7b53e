"""smtpd_standalone_test.py - smtpd alone against a fake cleanup.

Runs build*/bin/smtpd -S with a listening socket on descriptor 3 and a
tiny cleanup/1 server (Python) on private/cleanup in a temporary queue
directory, so smtpd's protocol, streaming and abort paths can be tested
without master, cleanup and qmgr. test/run.py runs it with the rest; alone:
    POSTERN_BIN=build/bin python3 test/test_smtpd_standalone.py
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

SMTPD = os.path.abspath(os.path.join(
    os.environ.get("POSTERN_BIN") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        "build", "bin"), "smtpd"))


class FakeCleanup(threading.Thread):
    """cleanup/1: envelope record, reply 1, chunks, final reply."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        self.messages = []      # (envelope lines, content) of queued mail
        self.aborted = 0
        self.reject = None      # final reply instead of ok
        self.count = 0

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,),
                             daemon=True).start()

    def serve(self, conn):
        f = conn.makefile("rb")
        env = []
        while True:
            line = f.readline()
            if not line:
                return
            if line == b"\n":
                break
            env.append(line.decode().rstrip("\n"))
        self.count += 1
        qid = "ABC%03d" % self.count
        conn.sendall(b"proto=cleanup/1\nstatus=ok\nqid=%s\n\n" % qid.encode())
        content = b""
        while True:
            head = f.readline()
            if not head:
                self.aborted += 1
                return
            n = int(head)
            if n == 0:
                break
            data = f.read(n)
            if len(data) != n:
                self.aborted += 1
                return
            content += data
        if self.reject:
            conn.sendall(b"proto=cleanup/1\nstatus=550\ndsn=5.7.1\n"
                         b"text=header rejected\n\n")
        else:
            self.messages.append((env, content))
            conn.sendall(b"proto=cleanup/1\nstatus=ok\nqid=%s\n\n" %
                         qid.encode())
        conn.close()


class Client:
    def __init__(self, port, greet=True):
        self.sock = socket.create_connection(("127.0.0.1", port), 10)
        self.buf = b""
        if greet:
            code, text = self.reply()
            assert code == 220, text

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                d = self.sock.recv(65536)
                if not d:
                    return None, b"\n".join(lines).decode()
                self.buf += d
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line)
            if line[3:4] != b"-":
                break
        return int(lines[-1][:3]), b"\n".join(lines).decode()

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def closed(self):
        try:
            return self.sock.recv(100) == b""
        except OSError:
            return True


class SmtpdTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="smtpd-test-")
        conf = os.path.join(cls.dir, "conf")
        queue = os.path.join(cls.dir, "queue")
        os.makedirs(conf)
        os.makedirs(os.path.join(queue, "private"))
        with open(os.path.join(conf, "main.cf"), "w") as f:
            f.write("queue_directory = %s\n" % queue)
            f.write("myhostname = mx.example.test\n")
            f.write("mail_owner = nobody\n")
            f.write("mydestination = $myhostname, example.test\n")
            f.write("mynetworks = 127.0.0.1/32\n")
            f.write("local_recipient_maps = inline:{ alice=1, bob=1 }\n")
            f.write("virtual_mailbox_domains = virtual.test\n")
            f.write("virtual_mailbox_maps = inline:{ carol@virtual.test=x }\n")
            f.write("virtual_alias_maps =\n")
            f.write("smtpd_relay_restrictions = permit_mynetworks, "
                    "reject_unauth_destination\n")
            f.write("smtpd_recipient_restrictions = check_recipient_access "
                    "inline:{ {blocked@example.test=REJECT go away} }\n")
            f.write("message_size_limit = 100000\n")
            f.write("smtpd_recipient_limit = 5\n")
            f.write("smtpd_greet_pause = 0\n")
            f.write("smtpd_timeout = 3s\n")
            f.write("smtpd_soft_error_limit = 18\n")
        cls.cleanup = FakeCleanup(os.path.join(queue, "private", "cleanup"))
        cls.cleanup.start()
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(64)
        cls.port = lsock.getsockname()[1]
        cls.log = open(os.path.join(cls.dir, "log"), "w+")
        cls.proc = cls.start(lsock, conf)
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(64)
        cls.pause_port = lsock.getsockname()[1]
        cls.pause_proc = cls.start(lsock, conf, "-o",
                                   "smtpd_greet_pause=1s")
        time.sleep(0.3)

    @classmethod
    def start(cls, lsock, conf, *args):
        fd = lsock.fileno()

        def listen_on_3():
            # Not pass_fds=(3, ...): Popen checks those before this runs,
            # and fails with EBADF when the runner has no fd 3 open.
            os.set_inheritable(fd, True)
            if fd != 3:
                os.dup2(fd, 3)

        proc = subprocess.Popen([SMTPD, "-S", "-c", conf] + list(args),
                                close_fds=False, stdout=cls.log,
                                stderr=cls.log, preexec_fn=listen_on_3)
        lsock.close()
        return proc

    @classmethod
    def tearDownClass(cls):
        for p in (cls.proc, cls.pause_proc):
            p.terminate()
            p.wait(10)

    def logtext(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def test_ehlo(self):
        c = Client(self.port)
        code, text = c.cmd("EHLO client.test")
        self.assertEqual(code, 250)
        for kw in ("PIPELINING", "SIZE 100000", "CHUNKING", "DSN",
                   "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8"):
            self.assertIn(kw, text)
        self.assertNotIn("VRFY", text)
        self.assertEqual(c.cmd("VRFY alice")[0], 502)
        self.assertEqual(c.cmd("HELP")[0], 214)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertTrue(c.closed())

    def test_send_and_stuffing(self):
        c = Client(self.port)
        c.cmd("EHLO client.test")
        self.assertEqual(c.cmd("MAIL FROM:<a@b.test> BODY=8BITMIME "
                               "RET=HDRS ENVID=x+2By")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.test> "
                               "NOTIFY=FAILURE,DELAY "
                               "ORCPT=rfc822;alice+40example.test")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<carol@virtual.test>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send(b"Subject: t\r\n\r\n..dot\r\nline\r\n.\r\n")
        code, text = c.reply()
        self.assertEqual(code, 250, text)
        self.assertIn("queued as ABC", text)
        env, content = self.cleanup.messages[-1]
        self.assertEqual(content, b"Subject: t\n\n.dot\nline\n")
        self.assertIn("sender=a@b.test", env)
        self.assertIn("rcpt=alice@example.test", env)
        self.assertIn("notify=FAILURE,DELAY", env)
        self.assertIn("orcpt=rfc822;alice@example.test", env)
        self.assertIn("envid=x+y", env)
        self.assertIn("body=8BITMIME", env)
        self.assertIn("ret=HDRS", env)
        self.assertIn("client_addr=127.0.0.1", env)
        self.assertEqual(c.cmd("QUIT")[0], 221)

    def test_pipelining_and_big_message(self):
        c = Client(self.port)
        c.cmd("EHLO client.test")
        c.send("MAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\n"
               "RCPT TO:<nobody@example.test>\r\nDATA\r\n")
        self.assertEqual(c.reply()[0], 250)
        self.assertEqual(c.reply()[0], 250)
        code, text = c.reply()
        self.assertEqual(code, 550, text)
        self.assertIn("5.1.1", text)
        self.assertEqual(c.reply()[0], 354)
        body = (b"x" * 78 + b"\r\n") * 1200
        c.send(body + b".\r\nQUIT\r\n")
        code, text = c.reply()
        self.assertEqual(code, 250, text)
        self.assertEqual(c.reply()[0], 221)
        self.assertEqual(len(self.cleanup.messages[-1][1]), 79 * 1200)

    def test_whole_session_then_half_close(self):
        before = len(self.cleanup.messages)
        c = Client(self.port)
        c.send("EHLO client.test\r\nMAIL FROM:<a@b.test>\r\n"
               "RCPT TO:<alice@example.test>\r\nDATA\r\n"
               "Subject: batch\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        c.sock.shutdown(socket.SHUT_WR)
        codes = [c.reply()[0] for _ in range(6)]
        self.assertEqual(codes, [250, 250, 250, 354, 250, 221])
        self.assertEqual(len(self.cleanup.messages), before + 1)

    def test_relay_denied_and_log(self):
        c = Client(self.port)
        c.cmd("EHLO client.test")
        c.cmd("MAIL FROM:<a@b.test>")
        # From 127.0.0.1 (mynetworks) relaying is allowed; the access
        # table still rejects.
        code, text = c.cmd("RCPT TO:<blocked@example.test>")
        self.assertEqual(code, 554, text)
        self.assertIn("Recipient address rejected: go away", text)
        time.sleep(0.1)
        self.assertIn("NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 554 "
                      "5.7.1 <blocked@example.test>: Recipient address "
                      "rejected: go away; from=<a@b.test> "
                      "to=<blocked@example.test> proto=ESMTP "
                      "helo=<client.test>", self.logtext())
        self.assertEqual(c.cmd("DATA")[0], 554)

    def test_bdat(self):
        c = Client(self.port)
        c.cmd("EHLO client.test")
        c.cmd("MAIL FROM:<a@b.test>")
        c.cmd("RCPT TO:<bob@example.test>")
        c.send(b"BDAT 10\r\nSubject: \r")
        self.assertEqual(c.reply()[0], 250)
        c.send(b"BDAT 10 LAST\r\n\nbody\r\n.\r\n")
        code, text = c.reply()
        self.assertEqual(code, 250, text)
        self.assertEqual(self.cleanup.messages[-1][1], b"Subject: \nbody\n.\n")
        # BDAT without MAIL: the chunk is read and refused.
        c.send(b"BDAT 5 LAST\r\nhello")
        self.assertEqual(c.reply()[0], 503)
        self.assertEqual(c.cmd("NOOP")[0], 250)

    def test_smuggling(self):
        for payload, what in ((b"\n.\n", "LF"), (b"\r\n.\n", "LF"),
                              (b"\n.\r\n", "LF"), (b"\r.\r", "CR")):
            before = len(self.cleanup.messages)
            c = Client(self.port)
            c.cmd("EHLO client.test")
            c.cmd("MAIL FROM:<a@b.test>")
            c.cmd("RCPT TO:<alice@example.test>")
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: s\r\n\r\nhello\r\n" + payload +
                   b"MAIL FROM:<e@b.test>\r\nRCPT TO:<bob@example.test>\r\n"
                   b"DATA\r\nevil\r\n.\r\n")
            code, text = c.reply()
            self.assertEqual(code, 550, text)
            self.assertIn("bare <%s>" % what, text)
            self.assertEqual(c.cmd("NOOP")[0], 250)
            time.sleep(0.1)
            self.assertEqual(len(self.cleanup.messages), before)

    def test_too_big(self):
        before = len(self.cleanup.messages)
        c = Client(self.port)
        c.cmd("EHLO client.test")
        self.assertEqual(c.cmd("MAIL FROM:<a@b.test> SIZE=200000")[0], 552)
        c.cmd("MAIL FROM:<a@b.test>")
        c.cmd("RCPT TO:<alice@example.test>")
        self.assertEqual(c.cmd("DATA")[0], 354)
        c.send((b"x" * 998 + b"\r\n") * 200 + b".\r\n")
        code, text = c.reply()
        self.assertEqual(code, 552, text)
        self.assertEqual(len(self.cleanup.messages), before)

    def test_limits_and_errors(self):
        c = Client(self.port)
        self.assertEqual(c.cmd("MAIL FROM:<" + "a" * 5000 + "@b>")[0], 500)
        self.assertEqual(c.cmd("NOOP")[0], 250)
        c.cmd("HELO client.test")
        c.cmd("MAIL FROM:<a@b.test>")
        for i in range(5):
            self.assertEqual(c.cmd("RCPT TO:<alice@example.test>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<alice@example.test>")[0], 452)
        self.assertEqual(c.cmd("MAIL FROM:<a@b.test>")[0], 503)
        self.assertEqual(c.cmd("MAIL FROM:bad address")[0], 503)
        c.cmd("RSET")
        self.assertEqual(c.cmd("MAIL FROM:bad address")[0], 501)
        self.assertEqual(c.cmd("BOGUS")[0], 502)
        self.assertEqual(c.cmd("NOOP\0MAIL FROM:<a@b.test>")[0], 500)
        self.assertEqual(c.cmd("GET / HTTP/1.0")[0], 221)
        self.assertTrue(c.closed())

    def test_hard_error_limit(self):
        c = Client(self.port)
        # Soft limit 10 sleeps 1s per error beyond it; use a pipeline.
        c.send("BOGUS\r\n" * 25)
        codes = [c.reply()[0] for _ in range(21)]
        self.assertEqual(codes[:20], [502] * 20)
        self.assertEqual(codes[20], 421)
        self.assertTrue(c.closed())

    def test_early_talker(self):
        c = Client(self.pause_port, greet=False)
        c.send("EHLO early.test\r\n")
        code, text = c.reply()
        self.assertEqual(code, 554, text)
        self.assertIn("5.5.1 Error: SMTP protocol synchronization", text)
        self.assertTrue(c.closed())
        c = Client(self.pause_port)     # a patient client is greeted
        self.assertEqual(c.cmd("QUIT")[0], 221)

    def test_timeout(self):
        c = Client(self.port)
        code, text = c.reply()
        self.assertEqual(code, 421, text)
        self.assertIn("4.4.2", text)

    def test_abort_on_disconnect(self):
        # A small part never leaves smtpd; a big one reaches cleanup,
        # which hears the abort. Neither is queued.
        for partial, told in ((b"partial", 0), (b"x" * 100000, 1)):
            aborted = self.cleanup.aborted
            queued = len(self.cleanup.messages)
            c = Client(self.port)
            c.cmd("EHLO client.test")
            c.cmd("MAIL FROM:<a@b.test>")
            c.cmd("RCPT TO:<alice@example.test>")
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: x\r\n\r\n" + partial)
            time.sleep(0.2)
            c.sock.close()
            time.sleep(0.3)
            self.assertEqual(self.cleanup.aborted, aborted + told)
            self.assertEqual(len(self.cleanup.messages), queued)
        self.assertIn("disconnect from unknown[127.0.0.1]", self.logtext())

    def test_cleanup_rejects(self):
        self.cleanup.reject = True
        try:
            c = Client(self.port)
            c.cmd("EHLO client.test")
            c.cmd("MAIL FROM:<a@b.test>")
            c.cmd("RCPT TO:<alice@example.test>")
            self.assertEqual(c.cmd("DATA")[0], 354)
            c.send(b"Subject: x\r\n\r\nbody\r\n.\r\n")
            code, text = c.reply()
            self.assertEqual(code, 550, text)
            self.assertIn("5.7.1 header rejected", text)
        finally:
            self.cleanup.reject = None


if __name__ == "__main__":
    warnings.simplefilter("ignore", ResourceWarning)
    unittest.main()
