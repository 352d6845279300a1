#!/usr/bin/python3
"""A small streaming HTTP/1.1 reverse proxy in front of a registry, for tests.

  proxy.py --upstream URL [--upstream-ca CA] [--listen 127.0.0.1] [--port 0] [--url-file FILE]
           [--paginate N] [--redirect-manifests-to PREFIX] [--redirect-blobs-to PREFIX]
           [--redirect-same-origin] [--count FILE] [--flip-byte-in-blobs]
  proxy.py --recorder --record FILE --upstream URL [--user U:P] [--upstream-ca CA] ...

Modes (combinable unless noted):
  --paginate N        GET /v2/<name>/tags/list is answered N tags per page (sorted), honouring
                      the request's n and last, with Link: </v2/<name>/tags/list?n=N&last=X>;
                      rel="next" while more remain.
  --redirect-manifests-to PREFIX, --redirect-blobs-to PREFIX
                      a GET of a manifest / blob that the upstream would answer 200 (checked with
                      a HEAD carrying the client's headers) gets 307 Location: PREFIX + path.
  --redirect-same-origin
                      same, but to this proxy under /_same/v2/..., which the proxy serves by
                      forwarding the request (with whatever Authorization the client resent).
  --count FILE        one JSON line per request: method, path, req_bytes, status, resp_bytes,
                      auth (whether Authorization was sent), redirect (Location if we redirected).
  --flip-byte-in-blobs
                      flip the middle byte of every blob GET body (status 200/206).
  --recorder          act as a foreign origin (e.g. the target of --redirect-*-to): record every
                      request's method, path and headers as JSON lines to --record FILE and serve
                      the content by fetching it from --upstream with its own credentials (--user);
                      the client's Authorization is recorded but never forwarded.

Everything else passes through unchanged (status, headers incl. WWW-Authenticate, body).
Bodies are streamed both ways; chunked request bodies are forwarded chunked.
"""

import http.client
import http.server
import json
import os
import re
import sys
import threading
import urllib.parse

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reglib  # noqa: E402

HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
       "trailers", "transfer-encoding", "upgrade", "expect", "proxy-connection"}
CHUNK = 64 * 1024
SAME = "/_same"
MANIFEST_RE = re.compile(r"^/v2/(.+)/manifests/([^/]+)$")
BLOB_RE = re.compile(r"^/v2/(.+)/blobs/([A-Za-z][A-Za-z0-9+._-]*:[A-Za-z0-9=_-]+)$")
TAGS_RE = re.compile(r"^/v2/(.+)/tags/list$")


class Proxy(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, addr, opts):
        super().__init__(addr, Handler)
        self.opts = opts
        u = urllib.parse.urlsplit(opts.upstream.rstrip("/"))
        self.up_scheme, self.up_netloc = u.scheme, u.netloc
        self.up_ctx = reglib.ssl_context(opts.upstream_ca) if u.scheme == "https" else None
        self.lock = threading.Lock()
        self.countf = open(opts.count, "a", buffering=1) if opts.count else None
        self.recordf = open(opts.record, "a", buffering=1) if opts.record else None
        self.tokens = {}
        if opts.user:
            self.user, _, self.password = opts.user.partition(":")
        else:
            self.user = self.password = None

    def write_line(self, f, rec):
        if f is None:
            return
        with self.lock:
            f.write(json.dumps(rec, sort_keys=True) + "\n")


BodyReader = reglib.BodyReader


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "regship-test-proxy/1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        self.up = None
        self.client = None

    def finish(self):
        super().finish()
        if self.up is not None:
            self.up.close()
        if self.client is not None:
            self.client.close()

    # all methods go through one place
    def do_GET(self):
        self.handle_any()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def upstream(self):
        srv = self.server
        if self.up is None:
            if srv.up_scheme == "https":
                self.up = http.client.HTTPSConnection(srv.up_netloc, context=srv.up_ctx,
                                                      timeout=300)
            else:
                self.up = http.client.HTTPConnection(srv.up_netloc, timeout=300)
        return self.up

    def handle_any(self):
        srv = self.server
        opts = srv.opts
        self.rec = {"method": self.command, "path": self.path,
                    "auth": "Authorization" in self.headers, "status": None, "resp_bytes": 0}
        self.body = BodyReader(self.rfile, self.headers)
        try:
            if opts.recorder:
                return self.serve_recorder()
            u = urllib.parse.urlsplit(self.path)
            path = u.path
            if path.startswith(SAME + "/"):
                return self.forward(self.path[len(SAME):])
            if self.command == "GET":
                if opts.paginate and TAGS_RE.match(path):
                    return self.paginate(u)
                target = None
                if MANIFEST_RE.match(path):
                    target = opts.redirect_manifests_to
                elif BLOB_RE.match(path):
                    target = opts.redirect_blobs_to
                if target is None and opts.redirect_same_origin and (MANIFEST_RE.match(path) or
                                                                     BLOB_RE.match(path)):
                    host = self.headers.get("Host") or "%s:%d" % srv.server_address[:2]
                    target = "http://" + host + SAME
                if target is not None:
                    return self.maybe_redirect(target.rstrip("/") + self.path)
            return self.forward(self.path)
        finally:
            self.rec["req_bytes"] = self.body.total
            srv.write_line(srv.countf, self.rec)

    # --- plain forwarding ---------------------------------------------------------------------

    def send_upstream(self, method, path, with_body=True):
        """Send the client's request upstream; returns the http.client response."""
        srv = self.server
        for attempt in range(2):
            conn = self.upstream()
            try:
                conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                for k, v in self.headers.items():
                    if k.lower() in HOP or k.lower() == "content-length":
                        continue
                    conn.putheader(k, v)
                if "Host" not in self.headers:
                    conn.putheader("Host", srv.up_netloc)
                if "X-Forwarded-Proto" not in self.headers:
                    conn.putheader("X-Forwarded-Proto", "http")
                if with_body and self.body.chunked:
                    conn.putheader("Transfer-Encoding", "chunked")
                    conn.endheaders()
                    for data in self.body.chunks():
                        conn.send(b"%x\r\n%s\r\n" % (len(data), data))
                    conn.send(b"0\r\n\r\n")
                else:
                    n = self.body.remaining if with_body else 0
                    if with_body or method in ("POST", "PUT", "PATCH"):
                        conn.putheader("Content-Length", str(n))
                    conn.endheaders()
                    if with_body:
                        for data in self.body.chunks():
                            conn.send(data)
                return conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()
                self.up = None
                if attempt == 1 or (with_body and self.body.total > 0):
                    raise

    def relay(self, resp, flip=False, override_body=None, extra_headers=None):
        no_body = self.command == "HEAD" or resp.status in (204, 304) or resp.status < 200
        self.send_response_only(resp.status, resp.reason)
        length = resp.getheader("Content-Length")
        for k, v in resp.getheaders():
            lk = k.lower()
            if lk in HOP or (lk == "content-length" and override_body is not None):
                continue
            self.send_header(k, v)
        for k, v in (extra_headers or []):
            self.send_header(k, v)
        self.rec["status"] = resp.status
        if override_body is not None:
            self.send_header("Content-Length", str(len(override_body)))
            self.end_headers()
            if not no_body:
                self.wfile.write(override_body)
                self.rec["resp_bytes"] = len(override_body)
            return
        chunked = not no_body and length is None
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        if resp.getheader("Connection", "").lower() == "close" and length is None and not chunked:
            self.close_connection = True
        self.end_headers()
        if no_body:
            resp.read()
            return
        flip_at = int(length) // 2 if (flip and length) else -1
        pos = 0
        while True:
            data = resp.read(CHUNK)
            if not data:
                break
            if pos <= flip_at < pos + len(data):
                b = bytearray(data)
                b[flip_at - pos] ^= 0xFF
                data = bytes(b)
            pos += len(data)
            if chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.rec["resp_bytes"] = pos

    def forward(self, path):
        resp = self.send_upstream(self.command, path)
        flip = (self.server.opts.flip_byte_in_blobs and self.command == "GET" and
                resp.status in (200, 206) and BLOB_RE.match(urllib.parse.urlsplit(path).path))
        self.relay(resp, flip=bool(flip))

    # --- modes ------------------------------------------------------------------------------

    def maybe_redirect(self, location):
        resp = self.send_upstream("HEAD", self.path, with_body=False)
        resp.read()
        if resp.status != 200:
            return self.forward(self.path)
        self.body.drain()
        self.send_response_only(307, "Temporary Redirect")
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.end_headers()
        self.rec["status"] = 307
        self.rec["redirect"] = location

    def paginate(self, u):
        m = TAGS_RE.match(u.path)
        qs = urllib.parse.parse_qs(u.query)
        try:
            n = int(qs["n"][0]) if "n" in qs else self.server.opts.paginate
        except ValueError:
            n = self.server.opts.paginate
        last = qs.get("last", [None])[0]
        resp = self.send_upstream("GET", u.path)
        body = resp.read()
        if resp.status != 200:
            return self.relay(resp, override_body=body)
        doc = json.loads(body)
        tags = sorted(doc.get("tags") or [])
        if last is not None:
            tags = [t for t in tags if t > last]
        page = tags[:max(n, 0)]
        extra = []
        if len(tags) > len(page) and page:
            link = "/v2/%s/tags/list?%s" % (m.group(1), urllib.parse.urlencode(
                [("n", n), ("last", page[-1])]))
            extra.append(("Link", '<%s>; rel="next"' % link))
        out = json.dumps({"name": doc.get("name", m.group(1)), "tags": page}).encode()
        self.relay(resp, override_body=out, extra_headers=extra)

    def serve_recorder(self):
        srv = self.server
        srv.write_line(srv.recordf, {"method": self.command, "path": self.path,
                                     "headers": {k: v for k, v in self.headers.items()}})
        self.body.drain()
        if self.client is None:
            self.client = reglib.RegistryClient(srv.opts.upstream, srv.user, srv.password,
                                                srv.opts.upstream_ca, srv.tokens)
        headers = {}
        for k in ("Accept", "Range"):
            if k in self.headers:
                headers[k] = self.headers[k]
        if MANIFEST_RE.match(urllib.parse.urlsplit(self.path).path) and "Accept" not in headers:
            headers["Accept"] = reglib.ALL_MANIFEST_TYPES
        method = self.command if self.command in ("GET", "HEAD") else "GET"
        r = self.client.request(method, self.path, headers=headers)
        self.relay(r.resp)


def main(argv=None):
    p = reglib.server_parser(__doc__, upstream="required")
    p.add_argument("--paginate", type=int)
    p.add_argument("--redirect-manifests-to")
    p.add_argument("--redirect-blobs-to")
    p.add_argument("--redirect-same-origin", action="store_true")
    p.add_argument("--count")
    p.add_argument("--flip-byte-in-blobs", action="store_true")
    p.add_argument("--recorder", action="store_true")
    p.add_argument("--record")
    p.add_argument("--user")
    opts = reglib.parse_server_args(p, argv)
    if opts.recorder and not opts.record:
        p.error("--recorder needs --record FILE")
    srv = Proxy((opts.listen, opts.port), opts)
    reglib.serve(srv, opts.url_file)


if __name__ == "__main__":
    main()
