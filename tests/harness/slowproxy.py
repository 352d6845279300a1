#!/usr/bin/python3
"""A throttling streaming reverse proxy in front of a registry, for interruption tests.

  slowproxy.py --upstream URL [--listen 127.0.0.1] [--port 0] [--url-file F]
               [--rate BYTES_PER_SEC] [--min-size BYTES] [--ready FILE] [--ready-after BYTES]
               [--max-seconds S]

Blob bodies of at least --min-size bytes (default 64 KiB), in both directions (blob GETs
answered 200/206, and PUT/PATCH upload bodies), are relayed in 16 KiB pieces at about --rate
bytes a second (default 256 KiB/s); everything else passes at full speed. Once --ready-after
bytes (default 64 KiB) of one throttled body went through, the proxy writes --ready FILE
(atomically; again for every such body): a test removes it, starts a transfer and waits for that file, so it knows a transfer is under way, before it
interrupts the client. The proxy exits after --max-seconds (default 120) whatever happens, and
is started under harness.py's supervisor (it dies with its owner). Only 127.0.0.1/::1 are
contacted.
"""
import http.client
import http.server
import os
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reglib  # noqa: E402

HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
       "transfer-encoding", "upgrade"}
PIECE = 16 * 1024


class SlowProxy(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, opts):
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        super().__init__(addr, Handler)
        self.opts = opts
        u = urllib.parse.urlsplit(opts.upstream.rstrip("/"))
        self.up_netloc = u.netloc
        self.lock = threading.Lock()

    def ready(self, n):
        """A body passed --ready-after throttled bytes: write the readiness file (again)."""
        if not self.opts.ready:
            return
        with self.lock:
            tmp = self.opts.ready + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % n)
            os.rename(tmp, self.opts.ready)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "regship-test-slowproxy/1"

    def log_message(self, fmt, *args):
        pass

    def throttle_write(self, write, data):
        """Write data in PIECE pieces at about --rate bytes a second."""
        opts = self.server.opts
        for off in range(0, len(data), PIECE):
            piece = data[off:off + PIECE]
            write(piece)
            before = self.throttled
            self.throttled += len(piece)
            if before < opts.ready_after <= self.throttled:
                self.server.ready(self.throttled)
            time.sleep(len(piece) / float(opts.rate))

    def do_GET(self):
        try:
            self.handle_any()
        except (ConnectionError, BrokenPipeError, socket.timeout, OSError):
            self.close_connection = True

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def handle_any(self):
        opts = self.server.opts
        self.throttled = 0  # bytes of this body slowed down so far
        body = reglib.BodyReader(self.rfile, self.headers)
        up = http.client.HTTPConnection(self.server.up_netloc, timeout=60)
        try:
            up.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            if (self.headers.get("Expect") or "").lower() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                self.wfile.flush()
            for k, v in self.headers.items():
                if k.lower() in HOP or k.lower() in ("content-length", "expect"):
                    continue
                up.putheader(k, v)
            upload = self.command in ("PUT", "PATCH") and body.has_body()
            if body.chunked:
                up.putheader("Transfer-Encoding", "chunked")
                up.endheaders()
                for data in body.chunks():  # a streamed upload: throttled too
                    piece = b"%x\r\n%s\r\n" % (len(data), data)
                    self.throttle_write(up.send, piece) if upload else up.send(piece)
                up.send(b"0\r\n\r\n")
            else:
                if body.remaining or self.command in ("POST", "PUT", "PATCH"):
                    up.putheader("Content-Length", str(body.remaining))
                up.endheaders()
                slow = upload and body.remaining >= opts.min_size
                for data in body.chunks():
                    if slow:
                        self.throttle_write(up.send, data)
                    else:
                        up.send(data)
            resp = up.getresponse()
            self.send_response_only(resp.status, resp.reason)
            length = resp.getheader("Content-Length")
            for k, v in resp.getheaders():
                if k.lower() in HOP:
                    continue
                self.send_header(k, v)
            chunked = length is None and self.command != "HEAD" and resp.status >= 200 and \
                resp.status not in (204, 304)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            slow = ("/blobs/" in self.path and self.command == "GET" and
                    resp.status in (200, 206) and length is not None and
                    int(length) >= opts.min_size)
            while True:
                data = resp.read(64 * 1024)
                if not data:
                    break
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                elif slow:
                    self.throttle_write(self.wfile.write, data)
                else:
                    self.wfile.write(data)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        finally:
            up.close()


def main(argv=None):
    p = reglib.server_parser(__doc__, upstream="required")
    p.add_argument("--rate", type=int, default=256 * 1024)
    p.add_argument("--min-size", type=int, default=64 * 1024)
    p.add_argument("--ready")
    p.add_argument("--ready-after", type=int, default=64 * 1024)
    p.add_argument("--max-seconds", type=float, default=120.0)
    opts = reglib.parse_server_args(p, argv)
    if opts.rate <= 0:
        p.error("--rate must be positive")
    srv = SlowProxy((opts.listen, opts.port), opts)
    timer = threading.Timer(opts.max_seconds, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    reglib.serve(srv, opts.url_file)


if __name__ == "__main__":
    main()
