#!/usr/bin/python3
"""A fault-injecting streaming reverse proxy in front of a registry, for tests.

  faultproxy.py --upstream URL [--upstream-ca CA] [--listen 127.0.0.1] [--port 0] [--url-file F]
                [--seed S] [--rate R] [--faults KIND,KIND...] [--only KIND] [--once] [--skip N]
                [--match REGEX] [--log FILE] [--requests FILE] [--retry-after SECS|date+SECS]
                [--delay-ms MS]
  faultproxy.py --upstream URL --hostile MODE [--foreign-origin URL] [--log FILE] ...
  faultproxy.py --upstream URL --hop [--hop-status 307] [--record FILE]

Fault mode (the default). For every request the proxy looks at which fault kinds could apply to
it (below) and are enabled (--faults, default all; --only KIND = just that one); if any, it
injects one with probability --rate (default 0: pass everything through). Which one, and
whether, is a pure function of (--seed, the request's key, how many times that key was seen),
where the key is the method, the path with upload ids masked, the `digest` query parameter and
the Content-Range and Range headers, so a run is reproducible whatever the thread interleaving
(up to the order of concurrent requests that share a key, e.g. the POSTs that start uploads).

  kind            applies to                                  what the client sees
  reset-upload    PUT/PATCH with a body under /blobs/uploads/  half the body is read, then a TCP
                                                               RST; the registry never sees it
  short-range     PATCH with a body (>= 2 bytes)              only the first half is forwarded, so
                                                               the registry's Range shows it kept
                                                               less than was sent
  reset-download  blob GET answered 200/206 (>= 2 bytes)      headers and half the body, then RST
  truncate        blob or manifest GET answered 200/206       headers (full Content-Length) and
                                                               half the body, then a clean close
  flip            blob GET answered 200/206                   the middle byte of the body flipped
  500 502 503     any /v2/ request                            that status (registry-style JSON for
                                                               500/503, an HTML page for 502)
  429             any /v2/ request                            429 TOOMANYREQUESTS + Retry-After
  delay           any /v2/ request                            answered --delay-ms later (default 500)

  --once          inject one fault in all (the first one drawn that could be applied)
  --skip N        leave the first N requests that could get a fault alone
  --match REGEX   only requests whose "METHOD PATH?QUERY" matches (re.search) can get a fault
  --log FILE      one JSON line per injected fault: t, kind, method, path, key, n, seed
  --requests FILE one JSON line per request: t, method, path, range, status, fault, req_bytes,
                  resp_bytes

Hostile mode (--hostile MODE): answers that a client must reject, logged like faults:
  big-manifest          every manifest GET: a valid OCI manifest of 4 MiB + 4 KiB
  big-manifest-chunked  the same, sent chunked (no Content-Length)
  deep-json             every manifest GET: [[[[...]]]] nested 100000 deep
  long-length           every manifest GET: the real manifest, a Content-Length 1000 bytes larger,
                        then the connection is closed
  short-length          every manifest GET: the real manifest with a Content-Length 16 bytes
                        smaller (and Connection: close)
  bad-digest            every manifest GET: the real bytes with a Docker-Content-Digest that is
                        not theirs
  foreign-location      every upload POST answered 201/202: the Location moved to
                        --foreign-origin (same path and query)
  blob-digest           every blob upload or mount answered 201 (the final PUT ?digest=, a
                        POST ?mount=): a Docker-Content-Digest that is not the blob's
  chunk-min-length      every upload POST answered 202: OCI-Chunk-Min-Length: 2^60 (a registry
                        asking for chunks no client can hold in memory)

Hop mode (--hop): a foreign origin that records each request (method, path, headers as JSON
lines in --record FILE) and answers --hop-status (307) with Location: UPSTREAM + path; chain a
few to test redirects that go through several origins.

Bodies are streamed both ways (except where a fault needs the whole body); chunked request
bodies are forwarded chunked. Only 127.0.0.1/::1 are ever contacted in tests.
"""

import argparse
import email.utils
import hashlib
import http.client
import http.server
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reglib  # noqa: E402

KINDS = ("reset-upload", "short-range", "reset-download", "truncate", "flip", "500", "502", "503",
         "429", "delay")
HOSTILE = ("big-manifest", "big-manifest-chunked", "deep-json", "long-length", "short-length",
           "bad-digest", "foreign-location", "blob-digest", "chunk-min-length")
HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
       "trailers", "transfer-encoding", "upgrade", "expect", "proxy-connection"}
CHUNK = 64 * 1024
MANIFEST_RE = re.compile(r"^/v2/(.+)/manifests/([^/]+)$")
BLOB_RE = re.compile(r"^/v2/(.+)/blobs/([A-Za-z][A-Za-z0-9+._-]*:[A-Za-z0-9=_-]+)$")
UPLOADS_RE = re.compile(r"^/v2/(.+)/blobs/uploads/")
UPLOAD_ID_RE = re.compile(r"(/blobs/uploads/)[^/?]+")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class Abort(Exception):
    """The connection to the client was reset on purpose: stop handling this request."""


class FaultProxy(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, addr, opts):
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        super().__init__(addr, Handler)
        self.opts = opts
        u = urllib.parse.urlsplit(opts.upstream.rstrip("/"))
        self.up_scheme, self.up_netloc = u.scheme, u.netloc
        self.up_ctx = reglib.ssl_context(opts.upstream_ca) if u.scheme == "https" else None
        self.lock = threading.Lock()
        self.logf = open(opts.log, "a", buffering=1) if opts.log else None
        self.reqf = open(opts.requests, "a", buffering=1) if opts.requests else None
        self.recordf = open(opts.record, "a", buffering=1) if opts.record else None
        self.match = re.compile(opts.match) if opts.match else None
        self.seen = {}  # key -> times seen
        self.candidates = 0  # requests that could have got a fault
        self.once_taken = False
        if opts.only:
            self.enabled = {opts.only}
        elif opts.faults:
            self.enabled = set(opts.faults)
        else:
            self.enabled = set(KINDS)

    def write_line(self, f, rec):
        if f is None:
            return
        with self.lock:
            f.write(json.dumps(rec, sort_keys=True) + "\n")

    def decide(self, method, path, headers, eligible):
        """The fault kind to inject into this request, or None."""
        u = urllib.parse.urlsplit(path)
        digest = urllib.parse.parse_qs(u.query).get("digest", [""])[0]
        key = "%s %s %s %s %s" % (method, UPLOAD_ID_RE.sub(r"\1*", u.path), digest,
                                  headers.get("Content-Range") or "", headers.get("Range") or "")
        with self.lock:
            n = self.seen[key] = self.seen.get(key, 0) + 1
            cands = [k for k in KINDS if k in eligible and k in self.enabled]
            if not cands or (self.match and not self.match.search(method + " " + path)):
                return None, key, n
            if self.opts.once and self.once_taken:
                return None, key, n
            self.candidates += 1
            if self.candidates <= self.opts.skip:
                return None, key, n
            h = hashlib.sha256(("%s|%s|%d" % (self.opts.seed, key, n)).encode()).digest()
            if int.from_bytes(h[:8], "big") / 2.0 ** 64 >= self.opts.rate:
                return None, key, n
            if self.opts.once:
                self.once_taken = True
            return cands[int.from_bytes(h[8:16], "big") % len(cands)], key, n

    def release(self):
        """A drawn fault turned out not to apply (e.g. an error answer): --once is not used up."""
        with self.lock:
            self.once_taken = False


BodyReader = reglib.BodyReader


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "regship-test-faultproxy/1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        self.up = None

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        self.drop_upstream()

    def drop_upstream(self):
        if self.up is not None:
            self.up.close()
            self.up = None

    def do_GET(self):
        try:
            self.handle_any()
        except Abort:
            self.close_connection = True
        except (ConnectionError, BrokenPipeError, socket.timeout, OSError):
            self.close_connection = True

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    # --- plumbing -----------------------------------------------------------------------------

    def upstream(self):
        srv = self.server
        if self.up is None:
            if srv.up_scheme == "https":
                self.up = http.client.HTTPSConnection(srv.up_netloc, context=srv.up_ctx,
                                                      timeout=300)
            else:
                self.up = http.client.HTTPConnection(srv.up_netloc, timeout=300)
        return self.up

    def send_upstream(self, method, path, body=None, headers_override=None):
        """Send the client's request upstream (its body streamed, or `body` bytes instead)."""
        srv = self.server
        override = {k.lower(): v for k, v in (headers_override or {}).items()}
        for attempt in range(2):
            conn = self.upstream()
            try:
                conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                for k, v in self.headers.items():
                    lk = k.lower()
                    if lk in HOP or lk == "content-length" or lk in override:
                        continue
                    conn.putheader(k, v)
                for k, v in (headers_override or {}).items():
                    conn.putheader(k, v)
                if "Host" not in self.headers:
                    conn.putheader("Host", srv.up_netloc)
                if "X-Forwarded-Proto" not in self.headers:
                    conn.putheader("X-Forwarded-Proto", "http")
                if body is not None:
                    conn.putheader("Content-Length", str(len(body)))
                    conn.endheaders()
                    conn.send(body)
                elif self.body.chunked:
                    conn.putheader("Transfer-Encoding", "chunked")
                    conn.endheaders()
                    for data in self.body.chunks():
                        conn.send(b"%x\r\n%s\r\n" % (len(data), data))
                    conn.send(b"0\r\n\r\n")
                else:
                    if self.body.remaining or method in ("POST", "PUT", "PATCH"):
                        conn.putheader("Content-Length", str(self.body.remaining))
                    conn.endheaders()
                    for data in self.body.chunks():
                        conn.send(data)
                return conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.drop_upstream()
                if attempt == 1 or self.body.total > 0:
                    raise

    def reset(self):
        """Abort the client connection with a TCP RST (SO_LINGER 0)."""
        try:
            self.wfile.flush()
        except OSError:
            pass
        self.drop_upstream()
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            os.close(self.connection.detach())
        except OSError:
            pass
        raise Abort()

    def log_fault(self, kind, key=None, n=None, **extra):
        srv = self.server
        rec = {"t": time.time(), "kind": kind, "method": self.command, "path": self.path,
               "key": key, "n": n, "seed": srv.opts.seed}
        rec.update(extra)
        self.rec["fault"] = kind
        srv.write_line(srv.logf, rec)

    def send_simple(self, status, body, ctype, headers=(), chunked=False, length=None):
        self.send_response_only(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        for k, v in headers:
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.rec["status"] = status
        if self.command == "HEAD":
            return
        if chunked:
            for i in range(0, len(body), CHUNK):
                piece = body[i:i + CHUNK]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)
        self.rec["resp_bytes"] = len(body)

    def relay(self, resp, mutate=None, headers_override=None, body=None, close=False):
        """Send resp to the client. mutate: reset-download | truncate | flip (already checked to
        apply); body: send these bytes instead of resp's (resp already read)."""
        no_body = self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200
        override = {k.lower(): v for k, v in (headers_override or {}).items()}
        self.send_response_only(resp.status, resp.reason)
        length = resp.getheader("Content-Length")
        for k, v in resp.getheaders():
            lk = k.lower()
            if lk in HOP or lk in override or (lk == "content-length" and body is not None):
                continue
            self.send_header(k, v)
        for k, v in (headers_override or {}).items():
            self.send_header(k, v)
        if body is not None and "content-length" not in override:
            self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.rec["status"] = resp.status
        if body is not None:
            self.end_headers()
            if not no_body:
                self.wfile.write(body)
                self.rec["resp_bytes"] = len(body)
            if close:
                self.drop_upstream()
            return
        chunked = not no_body and length is None
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if no_body:
            resp.read()
            return
        cut = int(length) // 2 if mutate in ("reset-download", "truncate") else -1
        flip_at = int(length) // 2 if mutate == "flip" else -1
        pos = 0
        while True:
            data = resp.read(CHUNK)
            if not data:
                break
            if 0 <= cut < pos + len(data):
                data = data[:cut - pos]
            if pos <= flip_at < pos + len(data):
                b = bytearray(data)
                b[flip_at - pos] ^= 0xFF
                data = bytes(b)
            pos += len(data)
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            elif data:
                self.wfile.write(data)
            if pos == cut:
                self.rec["resp_bytes"] = pos
                if mutate == "reset-download":
                    self.reset()
                # truncate: a clean close with bytes still owed
                self.drop_upstream()
                self.close_connection = True
                return
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.rec["resp_bytes"] = pos

    # --- request dispatch -----------------------------------------------------------------------

    def handle_any(self):
        srv = self.server
        opts = srv.opts
        self.rec = {"t": time.time(), "method": self.command, "path": self.path,
                    "range": self.headers.get("Range"), "status": None, "resp_bytes": 0,
                    "fault": None, "auth": "Authorization" in self.headers}
        self.body = BodyReader(self.rfile, self.headers)
        try:
            if opts.hop:
                return self.hop()
            if opts.hostile:
                return self.hostile()
            return self.faulty()
        finally:
            self.rec["req_bytes"] = self.body.total
            srv.write_line(srv.reqf, self.rec)

    def eligible(self, path):
        m = self.command
        kinds = {"500", "502", "503", "429", "delay"} if path.startswith("/v2/") else set()
        has_body = self.body.has_body()
        if UPLOADS_RE.match(path) and has_body:
            if m in ("PUT", "PATCH"):
                kinds.add("reset-upload")
            if m == "PATCH" and (self.body.chunked or self.body.remaining >= 2):
                kinds.add("short-range")
        if m == "GET" and BLOB_RE.match(path):
            kinds.update(("reset-download", "truncate", "flip"))
        if m == "GET" and MANIFEST_RE.match(path):
            kinds.add("truncate")
        return kinds

    def faulty(self):
        srv = self.server
        opts = srv.opts
        path = urllib.parse.urlsplit(self.path).path
        kind, key, n = srv.decide(self.command, self.path, self.headers, self.eligible(path))
        if kind in ("500", "502", "503", "429"):
            self.body.drain()
            self.log_fault(kind, key, n)
            return self.answer_error(int(kind))
        if kind == "delay":
            self.log_fault(kind, key, n, ms=opts.delay_ms)
            time.sleep(opts.delay_ms / 1000.0)
            return self.relay(self.send_upstream(self.command, self.path))
        if kind == "reset-upload":
            half = max(self.body.remaining // 2, 1) if not self.body.chunked else 1
            for _ in self.body.chunks(limit=half):
                pass
            self.log_fault(kind, key, n, read=self.body.total)
            return self.reset()
        if kind == "short-range":
            data = self.body.read_all()
            if len(data) < 2:
                srv.release()
                return self.relay(self.send_upstream(self.command, self.path, body=data))
            half = len(data) // 2
            extra = {}
            cr = re.match(r"^\s*(\d+)-(\d+)\s*$", self.headers.get("Content-Range") or "")
            if cr:
                start = int(cr.group(1))
                extra["Content-Range"] = "%d-%d" % (start, start + half - 1)
            self.log_fault(kind, key, n, sent=len(data), forwarded=half)
            return self.relay(self.send_upstream(self.command, self.path, body=data[:half],
                                                 headers_override=extra))
        resp = self.send_upstream(self.command, self.path)
        if kind in ("reset-download", "truncate", "flip"):
            length = resp.getheader("Content-Length")
            if resp.status in (200, 206) and length is not None and int(length) >= 2:
                self.log_fault(kind, key, n, status=resp.status, length=int(length))
            else:
                srv.release()
                kind = None
        return self.relay(resp, mutate=kind)

    def answer_error(self, status):
        if status == 502:
            body = b"<html><body><h1>502 Bad Gateway</h1>injected by faultproxy</body></html>\n"
            return self.send_simple(502, body, "text/html")
        code, msg = {500: ("UNKNOWN", "unknown error (injected fault)"),
                     503: ("UNAVAILABLE", "service unavailable (injected fault)"),
                     429: ("TOOMANYREQUESTS", "too many requests (injected fault)")}[status]
        body = json.dumps({"errors": [{"code": code, "message": msg}]}).encode() + b"\n"
        ra = self.server.opts.retry_after
        if ra.startswith("date+"):
            # the HTTP-date form, that many seconds from now
            ra = email.utils.formatdate(time.time() + float(ra[5:]), usegmt=True)
        headers = [("Retry-After", ra)] if status == 429 else []
        return self.send_simple(status, body, "application/json; charset=utf-8", headers)

    # --- hostile answers --------------------------------------------------------------------------

    def hostile(self):
        srv = self.server
        mode = srv.opts.hostile
        path = urllib.parse.urlsplit(self.path).path
        if mode == "foreign-location":
            resp = self.send_upstream(self.command, self.path)
            loc = resp.getheader("Location")
            if self.command == "POST" and UPLOADS_RE.match(path) and \
                    resp.status in (201, 202) and loc:
                lu = urllib.parse.urlsplit(loc)
                moved = srv.opts.foreign_origin.rstrip("/") + lu.path + \
                    ("?" + lu.query if lu.query else "")
                body = resp.read()
                self.log_fault(mode, location=moved)
                return self.relay(resp, headers_override={"Location": moved}, body=body)
            return self.relay(resp)
        if mode in ("blob-digest", "chunk-min-length") and UPLOADS_RE.match(path):
            resp = self.send_upstream(self.command, self.path)
            body = resp.read()
            if mode == "blob-digest" and resp.status == 201:
                wrong = "sha256:" + hashlib.sha256(self.path.encode()).hexdigest()
                self.log_fault(mode, claimed=wrong, stored=resp.getheader("Docker-Content-Digest"))
                return self.relay(resp, body=body,
                                  headers_override={"Docker-Content-Digest": wrong})
            if mode == "chunk-min-length" and self.command == "POST" and resp.status == 202:
                self.log_fault(mode, length=1 << 60)
                return self.relay(resp, body=body,
                                  headers_override={"OCI-Chunk-Min-Length": str(1 << 60)})
            return self.relay(resp, body=body)
        if self.command != "GET" or not MANIFEST_RE.match(path):
            return self.relay(self.send_upstream(self.command, self.path))
        if mode in ("big-manifest", "big-manifest-chunked", "deep-json"):
            self.body.drain()
            if mode == "deep-json":
                depth = 100000
                body = b"[" * depth + b"]" * depth
            else:
                pad = "x" * (4 * 1024 * 1024 + 4096)
                body = json.dumps({
                    "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest(),
                               "size": 2},
                    "layers": [], "annotations": {"org.regship.padding": pad}}).encode()
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            self.log_fault(mode, size=len(body))
            return self.send_simple(200, body, OCI_MANIFEST,
                                    headers=[("Docker-Content-Digest", digest)],
                                    chunked=mode == "big-manifest-chunked")
        resp = self.send_upstream(self.command, self.path)
        body = resp.read()
        if resp.status != 200 or len(body) < 32:
            return self.relay(resp, body=body)
        if mode == "long-length":
            self.log_fault(mode, length=len(body), claimed=len(body) + 1000)
            return self.relay(resp, body=body, close=True,
                              headers_override={"Content-Length": str(len(body) + 1000)})
        if mode == "short-length":
            self.log_fault(mode, length=len(body), claimed=len(body) - 16)
            return self.relay(resp, body=body, close=True,
                              headers_override={"Content-Length": str(len(body) - 16)})
        if mode == "bad-digest":
            wrong = "sha256:" + hashlib.sha256(body + b"not these bytes").hexdigest()
            self.log_fault(mode, claimed=wrong,
                           actual="sha256:" + hashlib.sha256(body).hexdigest())
            return self.relay(resp, body=body, headers_override={"Docker-Content-Digest": wrong})
        return self.relay(resp, body=body)

    # --- redirect hop -----------------------------------------------------------------------------

    def hop(self):
        srv = self.server
        srv.write_line(srv.recordf, {"method": self.command, "path": self.path,
                                     "headers": {k: v for k, v in self.headers.items()}})
        self.body.drain()
        location = srv.opts.upstream.rstrip("/") + self.path
        self.send_response_only(srv.opts.hop_status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.rec["status"] = srv.opts.hop_status
        self.rec["redirect"] = location


def kinds_list(s):
    out = [k.strip() for k in s.split(",") if k.strip()]
    bad = [k for k in out if k not in KINDS]
    if bad:
        raise argparse.ArgumentTypeError("unknown fault kind(s) %s (known: %s)" %
                                         (", ".join(bad), ", ".join(KINDS)))
    return out


def main(argv=None):
    p = reglib.server_parser(__doc__, upstream="required")
    p.add_argument("--seed", default="0")
    p.add_argument("--rate", type=float, default=0.0)
    p.add_argument("--faults", type=kinds_list)
    p.add_argument("--only", choices=KINDS)
    p.add_argument("--once", action="store_true")
    p.add_argument("--skip", type=int, default=0)
    p.add_argument("--match")
    p.add_argument("--log")
    p.add_argument("--requests")
    p.add_argument("--retry-after", default="1")  # seconds, or date+N: an HTTP-date N s ahead
    p.add_argument("--delay-ms", type=int, default=500)
    p.add_argument("--hostile", choices=HOSTILE)
    p.add_argument("--foreign-origin")
    p.add_argument("--hop", action="store_true")
    p.add_argument("--hop-status", type=int, default=307, choices=[301, 302, 303, 307, 308])
    p.add_argument("--record")
    opts = reglib.parse_server_args(p, argv)
    if not 0.0 <= opts.rate <= 1.0:
        p.error("--rate must be between 0 and 1")
    if opts.hostile == "foreign-location" and not opts.foreign_origin:
        p.error("--hostile foreign-location needs --foreign-origin URL")
    srv = FaultProxy((opts.listen, opts.port), opts)
    reglib.serve(srv, opts.url_file)


if __name__ == "__main__":
    main()
