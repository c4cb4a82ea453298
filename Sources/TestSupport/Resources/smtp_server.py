#!/usr/bin/env python3
"""A real SMTP server for the tests (aiosmtpd). Every accepted message is written to DIR as N.eml with
its envelope in N.json. Modes: accept, reject (550 on RCPT), tempfail (451 on DATA), drop (the connection
is cut after DATA). TLS: none, starttls, implicit. --auth user:password requires AUTH (PLAIN or LOGIN).
Prints "READY <port>" when listening; stops on SIGTERM or when stdin closes."""
import argparse, asyncio, json, os, signal, ssl, sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--dir", required=True)
parser.add_argument("--mode", default="accept", choices=["accept", "reject", "tempfail", "drop"])
parser.add_argument("--tls", default="none", choices=["none", "starttls", "implicit"])
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--auth")
parser.add_argument("--mechanisms", default="PLAIN,LOGIN")
args = parser.parse_args()
os.makedirs(args.dir, exist_ok=True)
counter = [0]
lock = threading.Lock()


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if args.mode == "reject":
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if args.mode == "tempfail":
            return "451 4.3.0 try again later"
        if args.mode == "drop":
            server.transport.abort()
            return "250 never seen"
        with lock:
            counter[0] += 1
            n = counter[0]
        with open(os.path.join(args.dir, "%d.eml" % n), "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(os.path.join(args.dir, "%d.json" % n), "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                       "tls": server.transport.get_extra_info("ssl_object") is not None, "auth": session.authenticated}, f)
        return "250 2.0.0 queued as %d" % n


def authenticator(server, session, envelope, mechanism, auth_data):
    if not args.auth:
        return AuthResult(success=False)
    user, password = args.auth.split(":", 1)
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False)


context = None
if args.tls != "none":
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)

kwargs = {}
if args.auth:
    excluded = [m for m in ["PLAIN", "LOGIN"] if m not in args.mechanisms.split(",")]
    kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=args.tls == "starttls",  # aiosmtpd only sees STARTTLS as TLS
                  auth_exclude_mechanism=excluded)
if args.tls == "starttls":
    kwargs.update(tls_context=context, require_starttls=True)
elif args.tls == "implicit":
    kwargs.update(ssl_context=context)

controller = Controller(Handler(), hostname="127.0.0.1", port=args.port, server_hostname="localhost", **kwargs)
controller.start()
print("READY %d" % controller.port, flush=True)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
done.wait()
controller.stop()
