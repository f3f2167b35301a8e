#!/usr/bin/env python3
"""A real SMTP server on loopback for Keywright's email tests (aiosmtpd).

STARTTLS required on the given certificate, AUTH (PLAIN/LOGIN) required after it.
Each accepted message is written to OUT as NNNN.eml (the bytes received) and
NNNN.json (envelope, decoded headers, body text, attachments in base64), both
complete before they appear (written aside, then renamed). Prints "PORT <n>" once
listening, then serves until killed.

  --reject ADDR      550 for this recipient (repeatable)
  --defer ADDR:N     451 for this recipient the first N times (repeatable)
  --size-limit N     the largest message taken (552 beyond it)
  --delay S          wait S seconds before accepting each message
  --hold S           wait S seconds after writing each message, before answering 250
                     (a client killed then has been accepted without knowing it)
"""

import argparse
import asyncio
import base64
import email
import email.policy
import json
import os
import socket
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler:
    def __init__(self, out, reject, defer, delay, hold):
        self.out = out
        self.reject = set(a.lower() for a in reject)
        self.defer = {}
        for d in defer:
            addr, n = d.rsplit(":", 1)
            self.defer[addr.lower()] = int(n)
        self.delay = delay
        self.hold = hold
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        a = address.lower()
        if a in self.reject:
            return "550 5.1.1 <%s>: no such user here" % address
        if self.defer.get(a, 0) > 0:
            self.defer[a] -= 1
            return "451 4.3.0 <%s>: try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.count += 1
        stem = os.path.join(self.out, "%04d" % self.count)
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = None
        attachments = []
        for part in msg.walk():
            if part.is_multipart():
                continue
            if part.get_filename():
                attachments.append({
                    "filename": part.get_filename(),
                    "contentType": part.get_content_type(),
                    "base64": base64.b64encode(part.get_payload(decode=True)).decode(),
                })
            elif body is None and part.get_content_type() == "text/plain":
                body = part.get_content()
        summary = {
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            "authenticated": bool(session.authenticated),
            "tls": session.ssl is not None,
            "headers": {k: str(v) for k, v in msg.items()},
            "body": body,
            "attachments": attachments,
        }
        for ext, data in ((".eml", raw), (".json", json.dumps(summary).encode())):
            with open(stem + ext + ".part", "wb") as f:
                f.write(data)
            os.replace(stem + ext + ".part", stem + ext)
        if self.hold:
            await asyncio.sleep(self.hold)
        return "250 2.0.0 Message accepted"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--reject", action="append", default=[])
    p.add_argument("--defer", action="append", default=[])
    p.add_argument("--size-limit", type=int, default=10 * 1024 * 1024)
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--hold", type=float, default=0.0)
    args = p.parse_args()

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login == args.user.encode()
              and auth_data.password == args.password.encode())
        return AuthResult(success=ok, handled=False)

    port = free_port()
    controller = Controller(
        Handler(args.out, args.reject, args.defer, args.delay, args.hold),
        hostname="127.0.0.1",
        port=port,
        tls_context=ctx,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
        data_size_limit=args.size_limit,
    )
    controller.start()
    print("PORT %d" % port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
