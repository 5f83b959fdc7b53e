#!/usr/bin/python3
"""capture_smtp.py - a scripted SMTP server that records what it receives.

  capture_smtp.py --listen ADDR:PORT --spool DIR [--script FILE.json]

Python 3.11 stdlib only (asyncio streams; StreamWriter.start_tls for
STARTTLS). Each accepted transaction is written, before the final 250 is
sent, to DIR/msg-NNNNNNNN-PID-N.json: helo, peer, esmtp, mail_from,
mail_params, rcpts (accepted), rcpt_params, data (the message as received,
dot-unstuffed, CRLF line ends, bytes decoded as latin-1), tls, tls_version,
tls_cipher, auth_user. Every session event is appended to DIR/events.log
("connect", "greeting 421", "rcpt <x> 550", ...). DIR/ready appears once
the socket listens.

The script (JSON object; every key optional):
  hostname          name in the greeting and EHLO reply
  greeting          reply to send on connect (default "220 HOST ESMTP");
                    a 4xx/5xx greeting is followed by closing the connection
  ehlo_reject       true: EHLO gets 502 (the client must fall back to HELO)
  pipelining, 8bitmime, smtputf8, dsn   advertise (default true)
  size              SIZE value advertised (default 10240000; 0 = no SIZE)
  starttls          {"cert": FILE, "key": FILE}: offer STARTTLS
  require_tls       true: MAIL before STARTTLS gets 530 5.7.0
  auth              {"user": "password", ...}: offer AUTH PLAIN LOGIN (only
                    after STARTTLS when starttls is set), check credentials
  require_auth      true: MAIL before AUTH gets 530 5.7.0
  rcpt              {"addr@dom": "550 5.1.1 No such user", ...}
  tempfail_first    N: the first N RCPT commands (counted over the life of
                    the spool directory) get "451 4.7.1 Try again later"
  mail_reply        reply to every MAIL (default 250)
  data_reply        final reply after the data (default 250 2.0.0 Ok ...)
  data_delay        seconds to wait before the final data reply
  lmtp              true: speak LMTP (LHLO; one reply per recipient)
"""
import argparse
import asyncio
import base64
import json
import os
import ssl
import sys
import time

SCRIPT = {}
SPOOL = "."
_seq = 0


def event(text):
    with open(os.path.join(SPOOL, "events.log"), "a") as f:
        f.write(text + "\n")


def tempfail_take():
    """1 while the tempfail_first budget lasts (persisted in the spool)."""
    n = int(SCRIPT.get("tempfail_first", 0))
    if n <= 0:
        return False
    path = os.path.join(SPOOL, "tempfail.count")
    try:
        with open(path) as f:
            used = int(f.read() or 0)
    except FileNotFoundError:
        used = 0
    if used >= n:
        return False
    with open(path, "w") as f:
        f.write(str(used + 1))
    return True


def save(tx):
    global _seq
    _seq += 1
    name = "msg-%012d-%d-%d.json" % (time.time_ns() // 1000, os.getpid(), _seq)
    tmp = os.path.join(SPOOL, "." + name)
    with open(tmp, "w") as f:
        json.dump(tx, f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, os.path.join(SPOOL, name))


def parse_path(arg, keyword):
    """'FROM:<a@b> P=V ...' -> (address, [params]) or None."""
    if not arg[:len(keyword) + 1].upper() == keyword + ":":
        return None
    rest = arg[len(keyword) + 1:].strip()
    if not rest.startswith("<"):
        parts = rest.split()
        return (parts[0] if parts else "", parts[1:])
    end = rest.find(">")
    if end < 0:
        return None
    return rest[1:end], rest[end + 1:].split()


class Session:
    def __init__(self, reader, writer):
        self.r = reader
        self.w = writer
        self.host = SCRIPT.get("hostname", "capture.test")
        self.lmtp = bool(SCRIPT.get("lmtp"))
        self.tls = False
        self.tls_version = self.tls_cipher = None
        self.auth_user = None
        self.helo = None
        self.esmtp = False
        self.reset()

    def reset(self):
        self.mail_from = None
        self.mail_params = []
        self.rcpts = []
        self.rcpt_params = {}

    async def send(self, text):
        self.w.write((text + "\r\n").encode())
        await self.w.drain()

    async def line(self):
        data = await self.r.readline()
        if not data:
            return None
        return data.decode("latin-1").rstrip("\r\n")

    def extensions(self):
        ext = []
        if SCRIPT.get("pipelining", True):
            ext.append("PIPELINING")
        size = SCRIPT.get("size", 10240000)
        if size:
            ext.append("SIZE %d" % size)
        if SCRIPT.get("8bitmime", True):
            ext.append("8BITMIME")
        if SCRIPT.get("smtputf8", True):
            ext.append("SMTPUTF8")
        if SCRIPT.get("dsn", True):
            ext.append("DSN")
        ext.append("ENHANCEDSTATUSCODES")
        if SCRIPT.get("starttls") and not self.tls:
            ext.append("STARTTLS")
        if SCRIPT.get("auth") and (self.tls or not SCRIPT.get("starttls")) \
                and self.auth_user is None:
            ext.append("AUTH PLAIN LOGIN")
        return ext

    async def run(self):
        peer = self.w.get_extra_info("peername")
        self.peer = "%s:%s" % (peer[0], peer[1]) if peer else "?"
        event("connect %s" % self.peer)
        greeting = SCRIPT.get("greeting", "220 %s ESMTP capture" % self.host)
        await self.send(greeting)
        event("greeting %s" % greeting[:3])
        if not greeting.startswith("2"):
            # A 421 greeting closes; a 554 one answers 503 until QUIT.
            if greeting.startswith("4"):
                return
        while True:
            line = await self.line()
            if line is None:
                event("disconnect")
                return
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if not greeting.startswith("2") and verb != "QUIT":
                await self.send("503 5.5.1 No service")
                continue
            handler = getattr(self, "do_" + verb, None)
            if handler is None:
                await self.send("502 5.5.2 Command not recognized")
                continue
            if await handler(arg) == "quit":
                return

    async def do_QUIT(self, arg):
        await self.send("221 2.0.0 Bye")
        event("quit")
        return "quit"

    async def do_NOOP(self, arg):
        await self.send("250 2.0.0 Ok")

    async def do_RSET(self, arg):
        self.reset()
        event("rset")
        await self.send("250 2.0.0 Ok")

    async def do_HELO(self, arg):
        if self.lmtp:
            return await self.send("500 5.5.1 LMTP speaks LHLO")
        self.helo = arg
        self.esmtp = False
        self.reset()
        event("helo %s" % arg)
        await self.send("250 %s" % self.host)

    async def ehlo(self, arg):
        self.helo = arg
        self.esmtp = True
        self.reset()
        lines = [self.host] + self.extensions()
        for l in lines[:-1]:
            self.w.write(("250-%s\r\n" % l).encode())
        await self.send("250 %s" % lines[-1])

    async def do_EHLO(self, arg):
        if self.lmtp:
            return await self.send("500 5.5.1 LMTP speaks LHLO")
        event("ehlo %s" % arg)
        if SCRIPT.get("ehlo_reject"):
            return await self.send("502 5.5.2 EHLO not supported")
        await self.ehlo(arg)

    async def do_LHLO(self, arg):
        if not self.lmtp:
            return await self.send("502 5.5.2 Command not recognized")
        event("lhlo %s" % arg)
        await self.ehlo(arg)

    async def do_STARTTLS(self, arg):
        cfg = SCRIPT.get("starttls")
        if not cfg or self.tls:
            return await self.send("502 5.5.2 STARTTLS not available")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cfg["cert"], cfg["key"])
        await self.send("220 2.0.0 Ready to start TLS")
        try:
            await self.w.start_tls(ctx)
        except (ssl.SSLError, OSError) as e:
            event("starttls failed %s" % e)
            raise ConnectionError("TLS handshake failed")
        obj = self.w.get_extra_info("ssl_object")
        self.tls = True
        self.tls_version = obj.version() if obj else None
        self.tls_cipher = obj.cipher()[0] if obj else None
        self.helo = None
        self.reset()
        event("starttls %s %s" % (self.tls_version, self.tls_cipher))

    async def do_AUTH(self, arg):
        users = SCRIPT.get("auth")
        if not users or self.auth_user is not None:
            return await self.send("503 5.5.1 AUTH not available")
        if SCRIPT.get("starttls") and not self.tls:
            return await self.send("538 5.7.11 Encryption required")
        parts = arg.split()
        mech = parts[0].upper() if parts else ""
        if mech == "PLAIN":
            resp = parts[1] if len(parts) > 1 else None
            if resp is None:
                await self.send("334 ")
                resp = await self.line()
            try:
                raw = base64.b64decode(resp, validate=True).decode()
                _authz, user, password = raw.split("\0")
            except Exception:
                return await self.send("501 5.5.2 Bad AUTH PLAIN data")
        elif mech == "LOGIN":
            try:
                if len(parts) > 1:
                    user = base64.b64decode(parts[1]).decode()
                else:
                    await self.send("334 VXNlcm5hbWU6")
                    user = base64.b64decode(await self.line()).decode()
                await self.send("334 UGFzc3dvcmQ6")
                password = base64.b64decode(await self.line()).decode()
            except Exception:
                return await self.send("501 5.5.2 Bad AUTH LOGIN data")
        else:
            return await self.send("504 5.5.4 Unrecognized mechanism")
        if users.get(user) != password:
            event("auth failed %s %s" % (mech, user))
            return await self.send("535 5.7.8 Authentication failed")
        self.auth_user = user
        event("auth %s %s" % (mech, user))
        await self.send("235 2.7.0 Authentication successful")

    async def do_MAIL(self, arg):
        if self.helo is None:
            return await self.send("503 5.5.1 EHLO first")
        if self.mail_from is not None:
            return await self.send("503 5.5.1 Nested MAIL")
        if SCRIPT.get("require_tls") and not self.tls:
            return await self.send("530 5.7.0 Must issue STARTTLS first")
        if SCRIPT.get("require_auth") and self.auth_user is None:
            return await self.send("530 5.7.0 Authentication required")
        p = parse_path(arg, "FROM")
        if p is None:
            return await self.send("501 5.5.4 Syntax: MAIL FROM:<address>")
        reply = SCRIPT.get("mail_reply", "250 2.1.0 Ok")
        event("mail <%s> %s" % (p[0], reply[:3]))
        if reply.startswith("2"):
            self.mail_from, self.mail_params = p
        await self.send(reply)

    async def do_RCPT(self, arg):
        if self.mail_from is None:
            return await self.send("503 5.5.1 MAIL first")
        p = parse_path(arg, "TO")
        if p is None:
            return await self.send("501 5.5.4 Syntax: RCPT TO:<address>")
        addr, params = p
        reply = SCRIPT.get("rcpt", {}).get(addr.lower())
        if reply is None and tempfail_take():
            reply = "451 4.7.1 <%s>: Try again later" % addr
        if reply is None:
            reply = "250 2.1.5 Ok"
        event("rcpt <%s> %s" % (addr, reply[:3]))
        if reply.startswith("2"):
            self.rcpts.append(addr)
            self.rcpt_params[addr] = params
        await self.send(reply)

    async def do_DATA(self, arg):
        if self.mail_from is None:
            return await self.send("503 5.5.1 MAIL first")
        if not self.rcpts:
            return await self.send("554 5.5.1 No valid recipients")
        await self.send("354 End data with <CR><LF>.<CR><LF>")
        chunks = []
        while True:
            data = await self.r.readline()
            if not data:
                event("disconnect in data")
                raise ConnectionError("eof in data")
            if data in (b".\r\n", b".\n"):
                break
            if data.startswith(b"."):
                data = data[1:]
            chunks.append(data)
        body = b"".join(chunks)
        delay = float(SCRIPT.get("data_delay", 0))
        if delay:
            await asyncio.sleep(delay)
        reply = SCRIPT.get("data_reply", "250 2.0.0 Ok: queued")
        if reply.startswith("2"):
            save({"helo": self.helo, "peer": self.peer, "esmtp": self.esmtp,
                  "lmtp": self.lmtp, "mail_from": self.mail_from,
                  "mail_params": self.mail_params, "rcpts": self.rcpts,
                  "rcpt_params": self.rcpt_params,
                  "data": body.decode("latin-1"), "tls": self.tls,
                  "tls_version": self.tls_version,
                  "tls_cipher": self.tls_cipher,
                  "auth_user": self.auth_user})
        event("data %d bytes %s" % (len(body), reply[:3]))
        if self.lmtp:
            for _ in self.rcpts:
                self.w.write((reply + "\r\n").encode())
            await self.w.drain()
        else:
            await self.send(reply)
        self.reset()


async def handle(reader, writer):
    s = Session(reader, writer)
    try:
        await s.run()
    except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError,
            OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    global SCRIPT, SPOOL
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--spool", required=True)
    ap.add_argument("--script")
    a = ap.parse_args()
    SPOOL = a.spool
    if a.script:
        with open(a.script) as f:
            SCRIPT = json.load(f)
    host, _, port = a.listen.rpartition(":")
    host = host.strip("[]")
    server = await asyncio.start_server(handle, host, int(port),
                                        reuse_address=True)
    with open(os.path.join(SPOOL, "ready"), "w") as f:
        f.write(str(os.getpid()))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
