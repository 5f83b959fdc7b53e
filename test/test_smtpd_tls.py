"""TLS in smtpd: STARTTLS, implicit TLS (465), protocol floor, chains,
RSA + ECDSA, encrypt level, STARTTLS injection, certificate reload.

One instance with five smtpd services:
  mx      "port 25": STARTTLS may, RSA and ECDSA chain files
  sub     "port 587": STARTTLS encrypt
  subs    "port 465": smtpd_tls_wrappermode, cert_file + key_file
  broken  a certificate file that does not exist
  reload  its own certificate, replaced on disk by test_reload
The certificates come from a test CA through an intermediate CA, so that a
client holding only the root verifies the chain only if the server sends
the intermediate. Every private key is root's, mode 0600: smtpd reads it
before it drops privilege.
"""
import glob
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import unittest

from instance import (Instance, INSIDE, MASTER_CF, free_port, is_root,
                      read_maildir, wait_for)
from netns import TestCA


def ossl(*args, input=None, timeout=20):
    return subprocess.run(["openssl"] + list(args), capture_output=True,
                          text=True, input=input, timeout=timeout)


def must(p):
    if p.returncode != 0:
        raise RuntimeError("openssl failed: %s%s" % (p.stdout, p.stderr))
    return p


class Chain:
    """An intermediate CA under a TestCA, and leaves it signs."""

    def __init__(self, ca):
        self.ca = ca
        self.dir = ca.dir
        self.key = os.path.join(self.dir, "inter.key")
        self.cert = os.path.join(self.dir, "inter.pem")
        csr = os.path.join(self.dir, "inter.csr")
        ext = os.path.join(self.dir, "inter.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:TRUE\n"
                    "keyUsage=critical,keyCertSign,cRLSign\n")
        must(ossl("req", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
                  "/CN=postern test intermediate", "-keyout", self.key,
                  "-out", csr))
        must(ossl("x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey",
                  ca.key, "-CAcreateserial", "-days", "2", "-out", self.cert,
                  "-extfile", ext))

    def leaf(self, name, kind="ec", serial=None):
        """(key_file, fullchain_file, chain_file): chain_file is key, leaf
        and intermediate in one file (smtpd_tls_chain_files)."""
        key = os.path.join(self.dir, name + ".key")
        csr = os.path.join(self.dir, name + ".csr")
        crt = os.path.join(self.dir, name + ".crt")
        ext = os.path.join(self.dir, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:mx.example.test,DNS:localhost,"
                    "IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
                    "basicConstraints=CA:FALSE\n")
        if kind == "rsa":
            newkey = ["-newkey", "rsa:2048"]
        else:
            newkey = ["-newkey", "ec", "-pkeyopt",
                      "ec_paramgen_curve:prime256v1"]
        must(ossl("req", *newkey, "-nodes", "-subj", "/CN=" + name,
                  "-keyout", key, "-out", csr))
        sign = ["x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey",
                self.key, "-days", "2", "-out", crt, "-extfile", ext]
        sign += ["-set_serial", str(serial)] if serial else ["-CAcreateserial"]
        must(ossl(*sign))
        full = os.path.join(self.dir, name + ".fullchain.pem")
        chain = os.path.join(self.dir, name + ".chain.pem")
        with open(crt) as f:
            leaf = f.read()
        with open(self.cert) as f:
            inter = f.read()
        with open(key) as f:
            keytext = f.read()
        with open(full, "w") as f:
            f.write(leaf + inter)
        with open(chain, "w") as f:
            f.write(keytext + leaf + inter)
        for p in (key, chain):
            os.chown(p, 0, 0)
            os.chmod(p, 0o600)
        return key, full, chain


@unittest.skipUnless(is_root(), "needs root: real users and privilege separation")
class SmtpdTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ca = TestCA()
        cls.chain = Chain(cls.ca)
        _, _, ec_chain = cls.chain.leaf("mx-ec")
        _, _, rsa_chain = cls.chain.leaf("mx-rsa", "rsa")
        cls.subs_key, cls.subs_full, _ = cls.chain.leaf("subs")
        cls.reload_key, cls.reload_full, _ = cls.chain.leaf("reload",
                                                            serial=1001)
        cls.ports = {n: free_port() for n in ("sub", "subs", "broken",
                                              "reload")}
        extra = (
            "127.0.0.1:%(sub)d inet n - y - - smtpd\n"
            "  -o smtpd_tls_security_level=encrypt\n"
            "127.0.0.1:%(subs)d inet n - y - - smtpd\n"
            "  -o smtpd_tls_wrappermode=yes\n"
            "  -o smtpd_tls_chain_files=\n"
            "  -o smtpd_tls_cert_file=" + cls.subs_full + "\n"
            "  -o smtpd_tls_key_file=" + cls.subs_key + "\n"
            "127.0.0.1:%(broken)d inet n - y - - smtpd\n"
            "  -o smtpd_tls_chain_files=/nonexistent/postern-test.pem\n"
            "127.0.0.1:%(reload)d inet n - y - - smtpd\n"
            "  -o smtpd_tls_chain_files=\n"
            "  -o smtpd_tls_cert_file=" + cls.reload_full + "\n"
            "  -o smtpd_tls_key_file=" + cls.reload_key + "\n"
        ) % cls.ports
        cls.inst = Instance("tls", master_cf=MASTER_CF + extra.replace(
            "{", "{{").replace("}", "}}"), main={
            "smtpd_tls_security_level": "may",
            "smtpd_tls_chain_files": rsa_chain + ", " + ec_chain,
            "smtpd_tls_received_header": "yes",
            "smtpd_error_sleep_time": "0s",
            "smtpd_timeout": "30s",
        }).start()
        for p in cls.ports.values():
            wait_for(lambda: cls.can_connect(p), 10)

    @classmethod
    def tearDownClass(cls):
        cls.inst.cleanup()
        cls.ca.close()

    @staticmethod
    def can_connect(port):
        try:
            with socket.create_connection((INSIDE, port), 1):
                return True
        except OSError:
            return False

    def port(self, name):
        return self.inst.port if name == "mx" else self.ports[name]

    def context(self):
        ctx = ssl.create_default_context(cafile=self.ca.cert)
        return ctx

    def raw(self, name="mx"):
        c = self.inst.raw()
        if name != "mx":
            c.sock.close()
            c.sock = socket.create_connection((INSIDE, self.port(name)), 10,
                                              source_address=(INSIDE, 0))
        return c

    def starttls(self, c, ehlo=True, greeting=True):
        """Greeting, EHLO, STARTTLS, handshake on the RawClient c."""
        if greeting:
            code, text = c.reply()
            self.assertEqual(code, 220, text)
        if ehlo:
            code, text = c.cmd("EHLO client.test")
            self.assertEqual(code, 250, text)
        code, text = c.cmd("STARTTLS")
        self.assertEqual(code, 220, text)
        self.assertEqual(c.buf, b"")
        c.sock = self.context().wrap_socket(c.sock,
                                            server_hostname="127.0.0.1")
        return c

    def s_client(self, name, *args, starttls=True, input="QUIT\r\n"):
        argv = ["s_client", "-connect", "127.0.0.1:%d" % self.port(name),
                "-servername", "mx.example.test"]
        if starttls:
            argv += ["-starttls", "smtp"]
        return ossl(*(argv + list(args)), input=input)

    def delivered(self, marker):
        def find():
            for m in read_maildir(self.inst.vmaildir("carol")):
                if marker.encode() in m:
                    return m.decode(errors="replace")
            return None
        msg = wait_for(find, 20)
        if msg is None:
            self.fail("no message with %s in carol's maildir" % marker)
        return msg

    # -- EHLO ----------------------------------------------------------------
    def test_ehlo_offers_starttls_not_auth(self):
        c = self.raw()
        self.assertEqual(c.reply()[0], 220)
        code, text = c.cmd("EHLO client.test")
        self.assertEqual(code, 250, text)
        self.assertIn("STARTTLS", text)
        self.assertNotIn("AUTH", text)
        self.starttls(c, ehlo=False, greeting=False)
        code, text = c.cmd("EHLO client.test")
        self.assertEqual(code, 250, text)
        self.assertNotIn("STARTTLS", text)   # not once it is active
        self.assertEqual(c.cmd("QUIT")[0], 221)

    def test_starttls_errors(self):
        c = self.raw()
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd("EHLO client.test")[0], 250)
        code, text = c.cmd("STARTTLS now")
        self.assertEqual(code, 501, text)
        self.assertIn("5.5.4", text)
        c.close()
        # Second STARTTLS inside TLS.
        c = self.starttls(self.raw())
        self.assertEqual(c.cmd("EHLO client.test")[0], 250)
        code, text = c.cmd("STARTTLS")
        self.assertEqual(code, 554, text)
        self.assertIn("5.5.1 Error: TLS already active", text)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        c.close()

    def test_broken_certificate_not_offered(self):
        c = self.raw("broken")
        self.assertEqual(c.reply()[0], 220)
        code, text = c.cmd("EHLO client.test")
        self.assertEqual(code, 250, text)
        self.assertNotIn("STARTTLS", text)
        code, text = c.cmd("STARTTLS")
        self.assertEqual(code, 454, text)
        self.assertIn("4.7.0", text)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        log = self.inst.logtext()
        self.assertIn("/nonexistent/postern-test.pem: cannot open: "
                      "No such file or directory: disabling TLS support",
                      log)

    # -- real clients deliver ------------------------------------------------
    def test_swaks_starttls(self):
        p = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(self.inst.port),
             "--tls", "--helo", "client.test", "--from", "s@example.org",
             "--to", "carol@virtual.test", "--header", "Subject: swaks-tls",
             "--body", "swaks over STARTTLS"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        msg = self.delivered("swaks-tls")
        received = msg.split("\n\n")[0]
        self.assertRegex(received, r"with ESMTPS id")
        self.assertRegex(received, r"\(using TLSv1\.3 with cipher "
                         r"TLS_[A-Z0-9_]+ \(\d+/\d+ bits\)\)")
        self.assertRegex(self.inst.logtext(),
                         r"Anonymous TLS connection established from "
                         r"unknown\[127\.0\.0\.1\]: TLSv1\.3 with cipher "
                         r"TLS_\w+ \(\d+/\d+ bits\)")
        self.assertRegex(self.inst.logtext(), r"disconnect from unknown"
                         r"\[127\.0\.0\.1\] ehlo=2 starttls=1 mail=1")

    def curl(self, url, marker):
        path = os.path.join(self.inst.dir, marker + ".eml")
        with open(path, "w") as f:
            f.write("From: s@example.org\r\nSubject: %s\r\n\r\nhi\r\n"
                    % marker)
        return subprocess.run(
            ["curl", "-sS", "--ssl-reqd", "--cacert", self.ca.cert,
             "--mail-from", "s@example.org", "--mail-rcpt",
             "carol@virtual.test", "-T", path, url],
            capture_output=True, text=True, timeout=60)

    def test_curl_starttls(self):
        p = self.curl("smtp://127.0.0.1:%d" % self.inst.port, "curl-starttls")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        msg = self.delivered("curl-starttls")
        self.assertIn("with ESMTPS id", msg)

    def test_curl_smtps_wrappermode(self):
        p = self.curl("smtps://127.0.0.1:%d" % self.ports["subs"],
                      "curl-smtps")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        msg = self.delivered("curl-smtps")
        self.assertIn("with ESMTPS id", msg)

    def test_wrappermode_speaks_tls_first(self):
        p = self.s_client("subs", "-verify_return_error", "-CAfile",
                          self.ca.cert, "-ign_eof", starttls=False,
                          input="EHLO client.test\r\nQUIT\r\n")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"(?m)^220 mx\.example\.test")
        self.assertIn("Verify return code: 0 (ok)", p.stdout)
        self.assertNotIn("STARTTLS", p.stdout)   # already TLS
        # A plaintext client gets no greeting, only a failed handshake.
        s = socket.create_connection((INSIDE, self.ports["subs"]), 5)
        s.settimeout(3)
        s.sendall(b"EHLO client.test\r\n")
        try:
            data = s.recv(100)
        except OSError:
            data = b""
        s.close()
        self.assertFalse(data.startswith(b"220"), data)

    # -- protocol floor, chain, key types -------------------------------------
    def test_old_protocols_refused(self):
        # The client is willing: it completes TLS 1.1 with openssl s_server.
        port = free_port()
        srv = subprocess.Popen(
            ["openssl", "s_server", "-accept", "127.0.0.1:%d" % port,
             "-cert", self.subs_full, "-key", self.subs_key, "-cipher",
             "DEFAULT@SECLEVEL=0", "-tls1_1", "-naccept", "1", "-quiet"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: self.can_connect_once(port, srv), 10)
            p = ossl("s_client", "-connect", "127.0.0.1:%d" % port,
                     "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", input="")
            self.assertIn("Protocol  : TLSv1.1", p.stdout, p.stderr)
            self.assertRegex(p.stdout, r"New, TLSv1[.0-9]*, Cipher is "
                             r"ECDHE-", p.stderr)   # it did complete
        finally:
            srv.kill()
            srv.wait()
        for version in ("-tls1_1", "-tls1"):
            for name, starttls in (("mx", True), ("subs", False)):
                p = self.s_client(name, version, "-cipher",
                                  "DEFAULT@SECLEVEL=0", starttls=starttls)
                self.assertNotEqual(p.returncode, 0, p.stdout)
                self.assertRegex(p.stderr, r"alert protocol version|"
                                 r"unsupported protocol|wrong version",
                                 (name, version))
                self.assertIn("Cipher is (NONE)", p.stdout)

    @staticmethod
    def can_connect_once(port, proc):
        # s_server -naccept 1 would be used up by a probe: just wait for
        # the socket to be bound.
        out = subprocess.run(["ss", "-ltn", "sport = :%d" % port],
                             capture_output=True, text=True).stdout
        return str(port) in out

    def test_chain_verifies(self):
        for name, starttls in (("mx", True), ("subs", False)):
            p = self.s_client(name, "-verify_return_error", "-CAfile",
                              self.ca.cert, "-showcerts", starttls=starttls)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertIn("Verify return code: 0 (ok)", p.stdout)
            self.assertIn("postern test intermediate", p.stdout)

    def test_rsa_and_ecdsa(self):
        cases = (
            (["-tls1_3", "-sigalgs", "rsa_pss_rsae_sha256"], "mx-rsa"),
            (["-tls1_3", "-sigalgs", "ecdsa_secp256r1_sha256"], "mx-ec"),
            (["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"], "mx-rsa"),
            (["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
             "mx-ec"),
        )
        for args, cn in cases:
            p = self.s_client("mx", "-CAfile", self.ca.cert, *args)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertRegex(p.stdout, r"subject=CN ?= ?%s\n" % cn, args)
            self.assertIn("Verify return code: 0 (ok)", p.stdout)

    def test_cbc_sha1_and_plain_rsa_kx_refused(self):
        # No forward secrecy (RSA key exchange) or SHA-1 MACs.
        for cipher in ("AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA"):
            p = self.s_client("mx", "-tls1_2", "-cipher", cipher)
            self.assertNotEqual(p.returncode, 0, (cipher, p.stdout))

    def test_key_file_root_only(self):
        for path in glob.glob(os.path.join(self.ca.dir, "*.key")):
            if os.path.basename(path) in ("ca.key", "inter.key"):
                continue
            st = os.stat(path)
            self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o600),
                             path)
        # smtpd runs as postern, yet serves them (read before the drop).
        pids = self.inst.daemon_pids("smtpd")
        self.assertTrue(pids)
        p = self.s_client("subs", "-CAfile", self.ca.cert, starttls=False)
        self.assertIn("Verify return code: 0 (ok)", p.stdout)
        for pid in self.inst.daemon_pids("smtpd"):
            with open("/proc/%d/status" % pid) as f:
                uid = re.search(r"(?m)^Uid:\s+(\d+)", f.read()).group(1)
            self.assertNotEqual(uid, "0")

    # -- encrypt level -------------------------------------------------------
    def test_encrypt_requires_starttls(self):
        c = self.raw("sub")
        self.assertEqual(c.reply()[0], 220)
        code, text = c.cmd("EHLO client.test")
        self.assertIn("STARTTLS", text)
        code, text = c.cmd("MAIL FROM:<s@example.org>")
        self.assertEqual(code, 530, text)
        self.assertIn("5.7.0 Must issue a STARTTLS command first", text)
        code, text = c.cmd("STARTTLS")
        self.assertEqual(code, 220, text)
        c.sock = self.context().wrap_socket(c.sock,
                                            server_hostname="127.0.0.1")
        self.assertEqual(c.cmd("EHLO client.test")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<s@example.org>")[0], 250)
        self.assertEqual(c.cmd("RCPT TO:<carol@virtual.test>")[0], 250)
        self.assertEqual(c.cmd("DATA")[0], 354)
        code, text = c.cmd("Subject: encrypt-level\r\n\r\nhi\r\n.")
        self.assertEqual(code, 250, text)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        self.assertIn("with ESMTPS id", self.delivered("encrypt-level"))

    # -- STARTTLS injection (CVE-2011-0411) ----------------------------------
    def test_plaintext_injection_discarded(self):
        c = self.raw()
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd("EHLO client.test")[0], 250)
        # One packet: STARTTLS plus commands that must not run.
        c.send("STARTTLS\r\nRSET\r\nMAIL FROM:<evil@example.org>\r\n")
        code, text = c.reply()
        self.assertEqual(code, 220, text)
        self.assertEqual(c.buf, b"")    # nothing answered in plaintext
        c.sock = self.context().wrap_socket(c.sock,
                                            server_hostname="127.0.0.1")
        c.sock.settimeout(1.5)
        try:
            early = c.sock.recv(1000)
        except socket.timeout:
            early = b""
        self.assertEqual(early, b"", "a reply to an injected command")
        c.sock.settimeout(10)
        # State was reset too: no HELO known, no transaction open.
        self.assertEqual(c.cmd("EHLO client.test")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<ok@example.org>")[0], 250)
        self.assertEqual(c.cmd("QUIT")[0], 221)
        c.close()
        self.assertNotIn("evil@example.org", self.inst.logtext())

    def test_injection_mail_transaction_forgotten(self):
        # RFC 3207 4.2: what was said before TLS does not count after it.
        c = self.raw()
        self.assertEqual(c.reply()[0], 220)
        self.assertEqual(c.cmd("EHLO client.test")[0], 250)
        self.assertEqual(c.cmd("MAIL FROM:<before@example.org>")[0], 250)
        code, text = c.cmd("STARTTLS")
        self.assertEqual(code, 220, text)
        c.sock = self.context().wrap_socket(c.sock,
                                            server_hostname="127.0.0.1")
        self.assertEqual(c.cmd("RCPT TO:<carol@virtual.test>")[0], 503)
        c.close()

    # -- reload ---------------------------------------------------------------
    def served_serial(self, name):
        p = self.s_client(name, "-CAfile", self.ca.cert)
        p2 = ossl("x509", "-noout", "-serial", input=p.stdout)
        return p2.stdout.strip()

    def test_reload_new_certificate_old_session_completes(self):
        self.assertEqual(self.served_serial("reload"), "serial=03E9")
        old = self.starttls(self.raw("reload"))
        self.assertEqual(old.cmd("EHLO client.test")[0], 250)
        self.assertEqual(old.cmd("MAIL FROM:<s@example.org>")[0], 250)
        old_pids = set(self.inst.daemon_pids("smtpd"))
        # The certbot case: new files in place, then reload.
        key, full, _ = self.chain.leaf("reload-new", serial=2002)
        shutil.copy(key, self.reload_key)
        shutil.copy(full, self.reload_full)
        reloaded = time.time()
        self.inst.postern("reload", check=True)
        self.assertTrue(wait_for(
            lambda: self.served_serial("reload") == "serial=07D2", 15),
            self.served_serial("reload"))
        # Past the 5 s an event server used to get after SIGTERM.
        time.sleep(max(0, 6.5 - (time.time() - reloaded)))
        self.assertEqual(old.cmd("RCPT TO:<carol@virtual.test>")[0], 250)
        self.assertEqual(old.cmd("DATA")[0], 354)
        code, text = old.cmd("Subject: reload-old-session\r\n\r\nhi\r\n.")
        self.assertEqual(code, 250, text)
        self.assertEqual(old.cmd("QUIT")[0], 221)
        old.close()
        self.assertIn("with ESMTPS id", self.delivered("reload-old-session"))
        # The retired processes exit once their sessions are gone.
        self.assertTrue(wait_for(lambda: not (old_pids & set(
            self.inst.daemon_pids("smtpd"))), 10))


if __name__ == "__main__":
    unittest.main()
