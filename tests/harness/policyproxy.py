#!/usr/bin/python3
"""A reverse proxy in front of a registry that answers like a registry with policies, for tests.

  policyproxy.py --upstream URL [--url-file F] [--listen 127.0.0.1] [--port 0]
                 [--immutable] [--immutable-status 400] [--immutable-code TAG_INVALID]
                 [--ratelimit REGEX] [--retry-after SECS] [--deny REGEX]

  --immutable       a manifest PUT by tag, when that tag already exists upstream, is refused
                    with --immutable-status (400) and the --immutable-code (TAG_INVALID) error
                    saying the tag is immutable (what ECR, Harbor, GAR answer); new tags pass
  --ratelimit REGEX requests whose "METHOD PATH" matches (re.search) are answered 429
                    TOOMANYREQUESTS with Retry-After (--retry-after, default 1) and Docker Hub's
                    RateLimit-Limit / RateLimit-Remaining headers
  --deny REGEX      requests whose "METHOD PATH" matches are answered 403 DENIED

Everything else is forwarded (bodies read whole: test images are small), the Host header kept so
that the registry's Location headers point back at the proxy. Only loopback is contacted.
"""
import http.client
import http.server
import json
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reglib  # noqa: E402

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-connection", "content-length"}


def read_body(rfile, headers):
    if headers.get("Transfer-Encoding", "").lower() == "chunked":
        out = b""
        while True:
            line = rfile.readline().strip()
            n = int(line.split(b";")[0], 16)
            if n == 0:
                while rfile.readline().strip():
                    pass
                return out
            out += rfile.read(n)
            rfile.readline()
    n = int(headers.get("Content-Length") or 0)
    return rfile.read(n) if n else b""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("policyproxy: " + (fmt % args) + "\n")

    def upstream(self, method, path, body=None, headers=None):
        u = self.server.up
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp, data

    def answer(self, status, code, message, extra=()):
        body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        opts = self.server.opts
        body = read_body(self.rfile, self.headers)
        line = "%s %s" % (self.command, self.path)
        if opts.ratelimit and re.search(opts.ratelimit, line):
            return self.answer(429, "TOOMANYREQUESTS", "You have reached your pull rate limit.",
                               [("Retry-After", str(opts.retry_after)),
                                ("RateLimit-Limit", "100;w=21600"),
                                ("RateLimit-Remaining", "0;w=21600")])
        if opts.deny and re.search(opts.deny, line):
            return self.answer(403, "DENIED", "requested access to the resource is denied")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        m = re.match(r"^/v2/(.+)/manifests/([^/?]+)$", self.path)
        if opts.immutable and self.command == "PUT" and m and ":" not in m.group(2):
            h = {k: v for k, v in headers.items() if k.lower() in ("authorization", "host")}
            h["Accept"] = ", ".join([
                "application/vnd.oci.image.index.v1+json",
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.docker.distribution.manifest.list.v2+json",
                "application/vnd.docker.distribution.manifest.v2+json"])
            resp, _ = self.upstream("HEAD", self.path, headers=h)
            if resp.status == 200:
                return self.answer(
                    opts.immutable_status, opts.immutable_code,
                    "The image tag '%s' already exists in the '%s' repository and cannot be "
                    "overwritten because the repository is immutable." % (m.group(2), m.group(1)))
        resp, data = self.upstream(self.command, self.path, body=body if body else None,
                                   headers=headers)
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        length = resp.getheader("Content-Length") if self.command == "HEAD" else str(len(data))
        if length is not None:
            self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


def main():
    p = reglib.server_parser(__doc__, upstream="required")
    p.add_argument("--immutable", action="store_true")
    p.add_argument("--immutable-status", type=int, default=400)
    p.add_argument("--immutable-code", default="TAG_INVALID")
    p.add_argument("--ratelimit")
    p.add_argument("--retry-after", type=int, default=1)
    p.add_argument("--deny")
    opts = reglib.parse_server_args(p)
    srv = http.server.ThreadingHTTPServer((opts.listen, opts.port), Handler)
    srv.daemon_threads = True
    srv.opts = opts
    srv.up = urllib.parse.urlparse(opts.upstream)
    reglib.serve(srv, opts.url_file)


if __name__ == "__main__":
    main()
