#!/usr/bin/python3
"""Docker registry token server for tests (distribution 2.8 `auth.token`).

  tokenserver.py --key KEY.pem --cert CERT.pem --log FILE [--port-file FILE]
                 [--listen 127.0.0.1] [--port 0] [--service S] [--issuer I] [--ttl SECONDS]

Users: admin:adminpass may do anything asked (incl. registry:catalog:*),
reader:readerpass gets only `pull`, anonymous gets `pull` on repositories under
`public/`, a wrong password gets 401. The grant is the intersection of the
requested and the allowed actions; an empty grant is still a 200.

GET  /token?service=&scope=&scope=[&offline_token=true]   (Basic auth optional)
POST /token  grant_type=password&username=&password=[&access_type=offline]
             grant_type=refresh_token&refresh_token=     (scope space-separated)

Tokens: compact JWS, ES256 (P-256, raw r||s), header x5c = [the cert], claims
iss/sub/aud(string)/exp/nbf/iat/jti/access. Each request is logged as a JSON
line to --log.
"""

import argparse
import base64
import datetime
import http.server
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reglib  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature  # noqa: E402

USERS = {"admin": "adminpass", "reader": "readerpass"}


def allowed_actions(user, rtype, name, requested):
    if user == "admin":
        return list(requested)
    if rtype != "repository":
        return []
    if user == "reader":
        return [a for a in requested if a == "pull"]
    if name.startswith("public/"):
        return [a for a in requested if a == "pull"]
    return []


class TokenServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, addr, opts):
        super().__init__(addr, Handler)
        self.opts = opts
        with open(opts.key, "rb") as f:
            self.key = serialization.load_pem_private_key(f.read(), None)
        with open(opts.cert, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        self.x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self.refresh = {}  # refresh token -> user
        self.lock = threading.Lock()
        self.logf = open(opts.log, "a", buffering=1)

    def log_json(self, rec):
        with self.lock:
            self.logf.write(json.dumps(rec, sort_keys=True) + "\n")

    def make_token(self, user, access):
        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": [self.x5c]}
        claims = {
            "iss": self.opts.issuer,
            "sub": user or "",
            "aud": self.opts.service,
            "exp": now + self.opts.ttl,
            "nbf": now - 1,
            "iat": now,
            "jti": secrets.token_hex(16),
            "access": access,
        }
        signing_input = (reglib.b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         reglib.b64url(json.dumps(claims, separators=(",", ":")).encode()))
        der = self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return signing_input + "." + reglib.b64url(sig), now


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "regship-test-token/1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, doc, extra=None):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _basic_user(self):
        """-> (present, user or None, ok)"""
        h = self.headers.get("Authorization")
        if not h:
            return False, None, True
        if not h.lower().startswith("basic "):
            return True, None, False
        try:
            raw = base64.b64decode(h[6:].strip()).decode()
        except Exception:
            return True, None, False
        user, _, pw = raw.partition(":")
        return True, user, USERS.get(user) == pw

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        present, user, ok = self._basic_user()
        scopes = q.get("scope", [])
        offline = q.get("offline_token", [""])[0] == "true"
        self._answer("GET", u.path, q.get("service", [None])[0], scopes, present, user, ok,
                     offline, "basic" if present else "anonymous")

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode(), keep_blank_values=True)
        g = form.get("grant_type", [""])[0]
        scopes = []
        for s in form.get("scope", []):
            scopes.extend(s.split())
        service = form.get("service", [None])[0]
        present = "Authorization" in self.headers
        if g == "password":
            user = form.get("username", [""])[0]
            ok = USERS.get(user) == form.get("password", [None])[0]
            offline = form.get("access_type", [""])[0] == "offline"
        elif g == "refresh_token":
            rt = form.get("refresh_token", [""])[0]
            with self.server.lock:
                user = self.server.refresh.get(rt)
            ok = user is not None
            offline = True
        else:
            self.server.log_json({"method": "POST", "path": u.path, "grant_type": g,
                                  "status": 400, "authorization": present})
            return self._send(400, {"error": "unsupported_grant_type",
                                    "details": "grant_type must be password or refresh_token"})
        self._answer("POST", u.path, service, scopes, present, user, ok, offline, g, reuse_rt=(
            form.get("refresh_token", [None])[0] if g == "refresh_token" else None))

    def _answer(self, method, path, service, scopes, present, user, ok, offline, grant,
                reuse_rt=None):
        srv = self.server
        rec = {"method": method, "path": path, "service": service, "scopes": scopes,
               "user": user, "authorization": present, "grant_type": grant}
        if path != srv.opts.path:
            rec["status"] = 404
            srv.log_json(rec)
            return self._send(404, {"error": "not found"})
        if service is not None and service != srv.opts.service:
            rec["status"] = 400
            srv.log_json(rec)
            return self._send(400, {"error": "invalid_request",
                                    "details": "unknown service %r" % service})
        if not ok:
            rec["status"] = 401
            srv.log_json(rec)
            return self._send(401, {"error": "invalid_grant", "details": "bad credentials"},
                              {"WWW-Authenticate": 'Basic realm="regship-test-token"'})
        access = []
        for s in scopes:
            parsed = reglib.parse_scope(s)
            if not parsed:
                continue
            rtype, name, actions = parsed
            granted = allowed_actions(user, rtype, name, actions)
            access.append({"type": rtype, "name": name, "actions": granted})
        tok, now = srv.make_token(user, access)
        doc = {"token": tok, "access_token": tok, "expires_in": srv.opts.ttl,
               "issued_at": datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
               .strftime("%Y-%m-%dT%H:%M:%SZ")}
        if offline and user:
            rt = reuse_rt or secrets.token_hex(24)
            with srv.lock:
                srv.refresh[rt] = user
            doc["refresh_token"] = rt
        rec["status"] = 200
        rec["access"] = access
        srv.log_json(rec)
        self._send(200, doc)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--port-file")
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--service", default="regship-test")
    p.add_argument("--issuer", default="regship-test-issuer")
    p.add_argument("--path", default="/token")
    p.add_argument("--ttl", type=int, default=300)
    p.add_argument("--dir", help="ignored; lets pgrep find the process by its directory")
    opts = p.parse_args(argv)
    srv = TokenServer((opts.listen, opts.port), opts)
    port = srv.server_address[1]
    if opts.port_file:
        tmp = opts.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, opts.port_file)
    print("token server listening on %s:%d" % (opts.listen, port), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
