#!/usr/bin/python3
"""A scripted hostile registry for tests: every URL it hands back, every string it sends and every
token answer is chosen to trip a client that trusts servers.

  hostile.py [--listen 127.0.0.1] [--port 0] [--url-file F] [--upstream IGNORED]
             [--auth none|basic|bearer] [--user U:P] [--foreign URL] [--record FILE]
             [--catalog evil|loop] [--not-registry] [--release-file F]

Behaviour is chosen by the repository name, so one server serves many cases:

  tags/list of
    link-foreign     one tag, then Link: <--foreign URL + same path>; rel="next"
    link-foreign-deny  the same, to a path where the recorder answers 401 with a Bearer
                     challenge whose realm is the recorder's /evil-realm
    link-loop        Link back to the page itself
    link-cycle       page 1 -> page 2 -> page 1
    link-file        Link: <file:///etc/passwd>; rel="next"
    link-userinfo    Link to this server with user:password@ in the URL
    many-names       8 MiB of 1000-byte names a page, Link to the next page, forever
    link-empty       pages without a name, each with a Link to the next page, forever
    stream           page 1 (tag "first"), then page 2 ("second") is answered only once
                     --release-file exists (at most 60 s later); then RELEASE_FILE.served
                     is created
    evil             tags with a newline, ESC sequences, a backslash, BEL, C1 CSI, bidi override
    errmsg           404 NAME_UNKNOWN whose message and detail hold ESC sequences and newlines
  manifests/<tag> of dig (tags: sha512-bad, sha512-good, sha256-bad, md5, md5-esc, malformed)
    a small OCI manifest with that kind of Docker-Content-Digest
    link-malformed   a Link header with no closing '>' and an ESC sequence
  manifests/v1 of redirect-file: 302 to file:///etc/passwd; of redirect-loop: 302 to itself
  Bearer realm of repository realm-file: file:///etc/passwd; of realm-userinfo: user:pw@
  POST blobs/uploads/ of upload-file, upload-plain, upload-userinfo: 202 with a Location on
    file://, plain HTTP on 192.0.2.1 (never contacted by a client that checks), or user:pw@
    (blob HEADs answer 404 BLOB_UNKNOWN, as for any unknown path)
  bearer auth (--auth bearer): the realm is this server's /token/<mode>, where mode comes from a
    repository named tok-<mode>: notjson (HTML), huge (a 2 MiB JSON token), notoken ({}),
    anything else: a good token. Repository bigchallenge: a 200 KiB WWW-Authenticate.
  /v2/_catalog (--catalog): evil names, or a page that links to itself (loop).
  --not-registry: a plain web server: 404 "Not Found" (text/plain) for every path.
  --record FILE: a foreign origin: every request's method, path and headers as a JSON line; tags
    lists answer {"tags": ["from-foreign"]}, paths under /deny/ a 401 Bearer challenge.

Only 127.0.0.1/::1 are listened on; the harness supervisor stops it with its owner.
"""
import base64
import hashlib
import http.server
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reglib  # noqa: E402

TOKEN = "hostile-bearer-token-0123456789"
MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": "sha256:" + "0" * 64, "size": 2},
    "layers": []}, sort_keys=True).encode()
EVIL_TAGS = ["ok", "evil\nforged", "\x1b[31mred\x1b[0m", "back\\slash", "bell\x07",
             "c1\u009b2J", "bidi\u202egnp.exe", "cr\rover"]
EVIL_REPOS = ["team/ok", "team/evil\nforged", "team/\x1b]0;pwned\x07title"]


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, opts):
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        super().__init__(addr, Handler)
        self.opts = opts
        self.lock = threading.Lock()
        self.recordf = open(opts.record, "a", buffering=1) if opts.record else None

    @property
    def url(self):
        host, port = self.server_address[:2]
        return "http://%s:%d" % (host if ":" not in host else "[%s]" % host, port)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go in two writes: without TCP_NODELAY the body waits for the client's
    # delayed ACK (40 ms a request)
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.requestline, fmt % args))

    # --- answers ---------------------------------------------------------------------------
    def answer(self, status, body=b"", ctype="application/json", headers=(), registry=True):
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        if registry:
            self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        if body or status not in (204, 304):
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def raw_header(self, name, value):
        """A header value sent byte for byte (control characters included)."""
        self.wfile.write(("%s: " % name).encode() + value + b"\r\n")

    def challenge(self, name):
        srv = self.server
        if srv.opts.auth == "basic":
            return 'Basic realm="hostile"'
        if name == "realm-file":
            return 'Bearer realm="file:///etc/passwd",service="hostile"'
        if name == "realm-userinfo":
            return 'Bearer realm="%s/token/good",service="hostile"' % srv.url.replace(
                "http://", "http://user:pw@")
        mode = name[4:] if name.startswith("tok-") else "good"
        return 'Bearer realm="%s/token/%s",service="hostile",scope="repository:%s:pull"' % (
            srv.url, mode, name)

    def authorized(self):
        srv = self.server
        got = self.headers.get("Authorization") or ""
        if srv.opts.auth == "none":
            return True
        if srv.opts.auth == "basic":
            return got == "Basic " + base64.b64encode(srv.opts.user.encode()).decode()
        return got == "Bearer " + TOKEN

    def deny(self, name):
        if name == "bigchallenge":
            self.send_response(401)
            self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
            self.send_header("WWW-Authenticate", 'Bearer realm="%s/token/good",service="%s"' % (
                self.server.url, "x" * (200 * 1024)))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                    headers=[("WWW-Authenticate", self.challenge(name))])

    # --- dispatch ----------------------------------------------------------------------------
    def do_GET(self):
        self.route()

    def do_HEAD(self):
        self.route()

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(min(n, 1 << 20))
        self.route()

    def route(self):
        srv = self.server
        u = urllib.parse.urlsplit(self.path)
        if srv.recordf is not None:
            with srv.lock:
                srv.recordf.write(json.dumps({"method": self.command, "path": self.path,
                                              "headers": dict(self.headers.items())},
                                             sort_keys=True) + "\n")
            if u.path.startswith("/deny/"):
                # a challenge whose realm is here too: a client that learned it would send
                # the registry's login to /evil-realm
                return self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "no"}]},
                                   headers=[("WWW-Authenticate",
                                             'Bearer realm="%s/evil-realm",service="x"' % srv.url)])
            return self.answer(200, {"name": "foreign", "tags": ["from-foreign"]})
        if srv.opts.not_registry:
            return self.answer(404, "Not Found\n", ctype="text/plain", registry=False)
        if u.path.startswith("/token/"):
            return self.token(u.path[len("/token/"):])
        if u.path == "/v2/_catalog":
            return self.catalog(u)
        if u.path == "/v2/":
            if not self.authorized():
                return self.deny("")
            return self.answer(200, {})
        if u.path.endswith("/blobs/uploads/") and self.command == "POST":
            return self.upload(u.path[len("/v2/"):-len("/blobs/uploads/")])
        parts = u.path.split("/")
        # /v2/<name...>/<kind>/<ref>
        if len(parts) < 5 or parts[1] != "v2":
            return self.answer(404, {"errors": [{"code": "NOT_FOUND", "message": "no route"}]})
        name, kind, ref = "/".join(parts[2:-2]), parts[-2], parts[-1]
        if not self.authorized():
            return self.deny(name)
        if kind == "tags" and ref == "list":
            return self.tags(name, u)
        if kind == "manifests":
            return self.manifest(name, ref)
        return self.answer(404, {"errors": [{"code": "NAME_UNKNOWN", "message": "unknown"}]})

    def token(self, mode):
        if mode == "notjson":
            return self.answer(200, "<html><body>Welcome to nginx!</body></html>",
                               ctype="text/html", registry=False)
        if mode == "huge":
            return self.answer(200, {"token": "t" * (2 << 20)}, registry=False)
        if mode == "notoken":
            return self.answer(200, {"expires_in": 300}, registry=False)
        return self.answer(200, {"token": TOKEN, "expires_in": 300}, registry=False)

    def catalog(self, u):
        if self.server.opts.catalog == "loop":
            return self.answer(200, {"repositories": ["team/a"]},
                               headers=[("Link", '</v2/_catalog>; rel="next"')])
        return self.answer(200, {"repositories": EVIL_REPOS})

    def tags(self, name, u):
        srv = self.server
        q = urllib.parse.parse_qs(u.query)
        page = int(q.get("page", ["1"])[0])
        body = {"name": name, "tags": ["tag-%d" % page]}
        links = []
        if name == "link-foreign":
            links.append("<%s%s?last=a>; rel=\"next\"" % (srv.opts.foreign, u.path))
        elif name == "link-foreign-deny":
            links.append("<%s/deny%s>; rel=\"next\"" % (srv.opts.foreign, u.path))
        elif name == "link-loop":
            links.append("<%s>; rel=\"next\"" % u.path)
        elif name == "link-cycle":
            links.append("<%s?page=%d>; rel=\"next\"" % (u.path, 2 if page == 1 else 1))
        elif name == "link-file":
            links.append("<file:///etc/passwd>; rel=\"next\"")
        elif name == "link-userinfo":
            links.append("<http://user:secret@%s%s?page=2>; rel=\"next\"" % (
                srv.url[len("http://"):], u.path))
        elif name == "link-malformed":
            self.send_response(200)
            self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
            self.send_header("Content-Type", "application/json")
            data = json.dumps(body).encode()
            self.send_header("Content-Length", str(len(data)))
            self.flush_headers()
            self.raw_header("Link", b'<\x1b[2Jhttp://x; rel="next"')
            self.end_headers()
            self.wfile.write(data)
            return None
        elif name == "link-empty":
            body["tags"] = []
            links.append("<%s?page=%d>; rel=\"next\"" % (u.path, page + 1))
        elif name == "many-names":
            body["tags"] = ["%07d-" % (page * 10000 + i) + "n" * 991 for i in range(8192)]
            links.append("<%s?page=%d>; rel=\"next\"" % (u.path, page + 1))
        elif name == "stream":
            if page == 1:
                body["tags"] = ["first"]
                links.append("<%s?page=2>; rel=\"next\"" % u.path)
            else:
                release = srv.opts.release_file or "/nonexistent"
                deadline = time.monotonic() + 60
                while not os.path.exists(release) and time.monotonic() < deadline:
                    time.sleep(0.02)
                body["tags"] = ["second"]
                self.answer(200, body)
                with open(release + ".served", "w"):
                    pass
                return None
        elif name == "evil":
            body["tags"] = EVIL_TAGS
        elif name == "errmsg":
            return self.answer(404, {"errors": [{
                "code": "NAME_UNKNOWN", "message": "no such\n\x1b[2Jrepository",
                "detail": {"name": "\x1b]0;pwned\x07"}}]})
        return self.answer(200, body, headers=[("Link", ln) for ln in links])

    def upload(self, name):
        where = {"upload-file": "file:///tmp/upload",
                 "upload-plain": "http://192.0.2.1/v2/%s/blobs/uploads/x" % name,
                 "upload-userinfo": "%s/v2/%s/blobs/uploads/x" % (
                     self.server.url.replace("http://", "http://user:pw@"), name)}
        if name not in where:
            return self.answer(404, {"errors": [{"code": "NAME_UNKNOWN", "message": "unknown"}]})
        return self.answer(202, "", headers=[("Location", where[name])])

    def manifest(self, name, ref):
        if name == "redirect-file":
            return self.answer(302, "", headers=[("Location", "file:///etc/passwd")])
        if name == "redirect-loop":
            return self.answer(302, "", headers=[("Location", "/v2/redirect-loop/manifests/v1")])
        if name != "dig":
            return self.answer(404, {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "unknown"}]})
        digests = {
            "sha512-bad": b"sha512:" + b"ab" * 64,
            "sha512-good": b"sha512:" + hashlib.sha512(MANIFEST).hexdigest().encode(),
            "sha256-bad": b"sha256:" + b"cd" * 32,
            "md5": b"md5:" + hashlib.md5(MANIFEST).hexdigest().encode(),
            "md5-esc": b"md5:\x1b[31mred",
            "malformed": b"sha256:xyz",
        }
        if ref not in digests:
            return self.answer(404, {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "unknown"}]})
        self.send_response(200)
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        self.send_header("Content-Length", str(len(MANIFEST)))
        self.flush_headers()
        self.raw_header("Docker-Content-Digest", digests[ref])
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(MANIFEST)


def main(argv=None):
    p = reglib.server_parser(__doc__)
    p.add_argument("--upstream", help="ignored (harness.py passes one; never contacted)")
    p.add_argument("--auth", choices=["none", "basic", "bearer"], default="none")
    p.add_argument("--user", default="alice:wonderland")
    p.add_argument("--foreign", default="http://127.0.0.1:9")
    p.add_argument("--record")
    p.add_argument("--catalog", choices=["evil", "loop"], default="evil")
    p.add_argument("--not-registry", action="store_true")
    p.add_argument("--release-file")
    opts = reglib.parse_server_args(p, argv)
    srv = Server((opts.listen, opts.port), opts)
    reglib.serve(srv, opts.url_file)


if __name__ == "__main__":
    main()
