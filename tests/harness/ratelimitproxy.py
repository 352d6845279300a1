#!/usr/bin/python3
"""A reverse proxy in front of a registry that adds Docker Hub's rate-limit headers, for tests.

  ratelimitproxy.py --upstream URL --url-file FILE [--limit "100;w=21600"]
                    [--remaining "76;w=21600"] [--source 192.0.2.1] [--owner-pid PID]

Every answer to a manifest request (GET or HEAD /v2/<name>/manifests/<ref>) gets
RateLimit-Limit, RateLimit-Remaining and Docker-RateLimit-Source (each only when given);
everything else passes through unchanged. Only 127.0.0.1 is listened on; the proxy exits when
PID (the test's process) is gone.
"""
import http.server
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reglib  # noqa: E402

MANIFEST_RE = re.compile(r"^/v2/.+/manifests/[^/]+$")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def relay(self):
        opts = self.server.opts
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None

        def extra(r):
            if not MANIFEST_RE.match(urllib.parse.urlsplit(self.path).path):
                return []
            return [(k, v) for k, v in (("RateLimit-Limit", opts.limit),
                                        ("RateLimit-Remaining", opts.remaining),
                                        ("Docker-RateLimit-Source", opts.source)) if v]

        reglib.relay_buffered(self, self.server.up_netloc, body, extra)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = relay


def main():
    p = reglib.server_parser(__doc__, upstream="required")
    p.add_argument("--limit")
    p.add_argument("--remaining")
    p.add_argument("--source")
    reglib.serve_upstream_proxy(p, Handler)


if __name__ == "__main__":
    main()
