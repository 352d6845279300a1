#!/usr/bin/python3
"""Servers that misbehave slowly, and a recording forward proxy, for deadline and proxy tests.

  slowserver.py --mode MODE [--listen 127.0.0.1] [--port 0] [--url-file F] [--hold SECONDS]
                [--interval SECONDS] [--rate BYTES_PER_S] [--record FILE]
                [--upstream URL] [--tunnel-to HOST:PORT] [--proxy-user U:P]

Modes:
  silent        accept, read the request, never answer (the connection is held open)
  drip-headers  "HTTP/1.1 200 OK" then one header line every --interval seconds, never the end
                (--interval 0: as fast as the client takes them)
  huge-header   a 401 whose WWW-Authenticate line is 200 KB long
  trickle-body  GET /v2/ answers at once like a registry; any other request gets complete
                headers (a manifest of --size bytes, default 4096) and then a body at --rate
                bytes/s (default 2; 0: all at once)
  leaky         a registry that puts secrets where a trace could show them: Set-Cookie,
                X-Auth-Token, a Location with signed-URL parameters, and a tags/list Link whose
                next page URL carries access_token= (the values all start with "SECRET-")
  by-path       each request as the mode its repository's first component names:
                /v2/silent/..., /v2/drip/... (--interval), /v2/flood/... (drip-headers with
                no interval), /v2/huge-header/..., /v2/trickle/... (--rate, 4096 bytes),
                /v2/big/... (--size bytes at once), /v2/leaky/...; GET /v2/ answers 200;
                CONNECT is never answered (a proxy that hangs)
  proxy         a forward HTTP proxy that writes one JSON line per request to --record
                ({"method", "target", "headers"}): absolute-URI requests are forwarded to
                --upstream (whatever host they name), CONNECT is tunnelled to --tunnel-to or
                refused with 502; --proxy-user U:P answers 407 unless Proxy-Authorization
                carries them

Every connection is closed after --hold seconds (default 60) at the latest, so nothing it
starts outlives a test by long; run it under harness.py (start-slowserver), which kills it when
its owner exits. Loopback only, stdlib only.
"""
import base64
import http.client
import json
import os
import select
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reglib  # noqa: E402


def read_head(sock, limit=65536):
    """Read up to the end of the request head; (head bytes, rest) or (None, b'') at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return None, b""
        data += chunk
        if len(data) > limit:
            return None, b""
    head, rest = data.split(b"\r\n\r\n", 1)
    return head, rest


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip()] = v.strip()
    return method, target, headers


def hold_until_closed(sock, seconds):
    """Keep the connection open, reading and dropping, until the peer closes or time is up."""
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        r, _, _ = select.select([sock], [], [], min(left, 1.0))
        if r:
            try:
                if not sock.recv(65536):
                    return
            except OSError:
                return


def send_slowly(sock, data, interval, end):
    """Send data piece by piece, one piece per interval; False when the peer went away."""
    for piece in data:
        if time.monotonic() >= end:
            return False
        try:
            sock.sendall(piece)
        except OSError:
            return False
        r, _, _ = select.select([sock], [], [], interval)
        if r:
            try:
                if not sock.recv(65536):
                    return False
            except OSError:
                return False
    return True


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        o = self.server.opts
        sock = self.request
        try:
            getattr(self, "mode_" + o.mode.replace("-", "_"))(sock, o)
        except OSError:
            pass

    def mode_by_path(self, sock, o):
        end = time.monotonic() + o.hold
        while time.monotonic() < end:
            head, _ = read_head(sock)
            if head is None:
                return
            method, target, _ = parse_head(head)
            if method == "CONNECT":
                return self.mode_silent(sock, o, head)  # a proxy that never answers
            parts = urllib.parse.urlsplit(target).path.split("/")
            if len(parts) < 4 or parts[1] != "v2":
                body = b"{}"
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Docker-Distribution-API-Version: registry/2.0\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                continue
            mode = parts[2]
            if mode == "silent":
                return self.mode_silent(sock, o, head)
            if mode == "drip":
                return self.mode_drip_headers(sock, o, head)
            if mode == "flood":
                return self.mode_drip_headers(sock, o, head, interval=0)
            if mode == "huge-header":
                return self.mode_huge_header(sock, o, head)
            if mode == "trickle":
                return self.mode_trickle_body(sock, o, head, size=4096)
            if mode == "big":
                return self.mode_trickle_body(sock, o, head, rate=0)
            if mode == "leaky":
                return self.mode_leaky(sock, o, head)
            sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    def mode_silent(self, sock, o, head=None):
        hold_until_closed(sock, o.hold)

    def mode_drip_headers(self, sock, o, head=None, interval=None):
        if head is None:
            head, _ = read_head(sock)
            if head is None:
                return
        end = time.monotonic() + o.hold
        pieces = [b"HTTP/1.1 200 OK\r\n"] + \
            [b"X-Drip-%d: %s\r\n" % (i, b"x" * 16) for i in range(100000)]
        send_slowly(sock, pieces, o.interval if interval is None else interval, end)

    def mode_huge_header(self, sock, o, head=None):
        if head is None:
            head, _ = read_head(sock)
            if head is None:
                return
        sock.sendall(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"" +
                     b"a" * 200000 + b"\"\r\nContent-Length: 0\r\n\r\n")

    def mode_trickle_body(self, sock, o, head=None, size=None, rate=None):
        end = time.monotonic() + o.hold
        size = o.size if size is None else size
        rate = o.rate if rate is None else rate
        while time.monotonic() < end:
            if head is None:
                head, _ = read_head(sock)
                if head is None:
                    return
            method, target, _ = parse_head(head)
            head = None
            if urllib.parse.urlsplit(target).path == "/v2/":
                body = b"{}"
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Docker-Distribution-API-Version: registry/2.0\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                continue
            sock.sendall(b"HTTP/1.1 200 OK\r\n"
                         b"Content-Type: application/vnd.oci.image.manifest.v1+json\r\n"
                         b"Docker-Distribution-API-Version: registry/2.0\r\n"
                         b"Content-Length: %d\r\n\r\n" % size)
            if method == "HEAD":
                continue
            if rate <= 0:
                sock.sendall(b"{" + b" " * (size - 2) + b"}")
                continue
            send_slowly(sock, [b"{"] + [b" "] * (size - 1), 1.0 / rate, end)
            return

    def mode_leaky(self, sock, o, head=None):
        end = time.monotonic() + o.hold
        while time.monotonic() < end:
            if head is None:
                head, _ = read_head(sock)
                if head is None:
                    return
            method, target, _ = parse_head(head)
            head = None
            u = urllib.parse.urlsplit(target)
            extra = ""
            if u.path.endswith("/tags/list") and "access_token" not in u.query:
                body = b'{"name":"x","tags":["one"]}'
                extra = ("Link: <%s?n=1&last=one&access_token=SECRET-link-token>; "
                         "rel=\"next\"\r\n" % u.path)
            elif u.path.endswith("/tags/list"):
                body = b'{"name":"x","tags":["two"]}'
            else:
                body = b"{}"
            head_out = ("HTTP/1.1 200 OK\r\n"
                        "Content-Type: application/json\r\n"
                        "Docker-Distribution-API-Version: registry/2.0\r\n"
                        "Set-Cookie: session=SECRET-cookie; HttpOnly\r\n"
                        "X-Auth-Token: SECRET-header-token\r\n"
                        "Content-Location: https://blobs.example/b?X-Amz-Credential=SECRET-cred"
                        "&X-Amz-Signature=SECRET-sig&sig=SECRET-sas\r\n"
                        "%sContent-Length: %d\r\n\r\n" % (extra, len(body)))
            sock.sendall(head_out.encode() + (body if method != "HEAD" else b""))

    # ---- forward proxy ----

    def record(self, o, method, target, headers):
        with self.server.record_lock:
            with open(o.record, "a") as f:
                f.write(json.dumps({"method": method, "target": target,
                                    "headers": headers}) + "\n")

    def proxy_auth_ok(self, o, headers):
        if not o.proxy_user:
            return True
        want = "Basic " + base64.b64encode(o.proxy_user.encode()).decode()
        got = next((v for k, v in headers.items() if k.lower() == "proxy-authorization"), "")
        return got == want

    def mode_proxy(self, sock, o):
        head, rest = read_head(sock)
        if head is None:
            return
        method, target, headers = parse_head(head)
        if o.record:
            self.record(o, method, target, headers)
        if not self.proxy_auth_ok(o, headers):
            sock.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                         b"Proxy-Authenticate: Basic realm=\"proxy\"\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            return
        if method == "CONNECT":
            if not o.tunnel_to:
                sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")
                return
            host, port = o.tunnel_to.rsplit(":", 1)
            up = socket.create_connection((host, int(port)), timeout=10)
            sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                up.sendall(rest)
            self.splice(sock, up, o.hold)
            return
        if not o.upstream or not target.startswith("http://"):
            sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
            return
        u = urllib.parse.urlsplit(target)
        up = urllib.parse.urlsplit(o.upstream)
        length = int(headers.get("Content-Length", "0") or 0)
        body = rest
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return
            body += chunk
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
        fwd = {k: v for k, v in headers.items()
               if k.lower() not in ("proxy-authorization", "proxy-connection", "connection",
                                    "host")}
        fwd["Host"] = up.netloc
        path = u.path + ("?" + u.query if u.query else "")
        conn.request(method, path, body=body or None, headers=fwd)
        resp = conn.getresponse()
        data = resp.read()
        out = ["HTTP/1.1 %d %s" % (resp.status, resp.reason)]
        for k, v in resp.getheaders():
            if k.lower() in ("connection", "transfer-encoding", "content-length"):
                continue
            out.append("%s: %s" % (k, v))
        out.append("Content-Length: %d" % len(data))
        out.append("Connection: close")
        sock.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + data)
        conn.close()

    @staticmethod
    def splice(a, b, seconds):
        end = time.monotonic() + seconds
        socks = [a, b]
        while time.monotonic() < end:
            r, _, _ = select.select(socks, [], [], 1.0)
            for s in r:
                try:
                    data = s.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                (b if s is a else a).sendall(data)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, opts):
        self.opts = opts
        self.record_lock = threading.Lock()
        super().__init__(addr, Handler)


def main(argv=None):
    p = reglib.server_parser(__doc__, upstream="optional")
    p.add_argument("--mode", required=True,
                   choices=["silent", "drip-headers", "huge-header", "trickle-body", "leaky",
                            "by-path", "proxy"])
    p.add_argument("--hold", type=float, default=60.0)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--rate", type=float, default=2.0)
    p.add_argument("--size", type=int, default=4096)
    p.add_argument("--record")
    p.add_argument("--tunnel-to")
    p.add_argument("--proxy-user")
    opts = reglib.parse_server_args(p, argv)
    srv = Server((opts.listen, opts.port), opts)
    reglib.serve(srv, opts.url_file)


if __name__ == "__main__":
    main()
