"""Shared helpers for the regship test harness (stdlib + cryptography only).

- RegistryClient: a tiny Registry API v2 client that answers Basic and Bearer
  challenges (used by fixture.py seed and by the recorder mode of proxy.py).
- parse_challenges / parse_scope: WWW-Authenticate and scope grammar.
- process helpers shared by harness.py (pid liveness, process-group scan).
"""

import base64
import http.client
import json
import os
import re
import ssl
import threading
import urllib.parse

ALL_MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
])

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM_RE = re.compile(r"\s*(" + _TOKEN + r")\s*=\s*(\"(?:[^\"\\]|\\.)*\"|" + _TOKEN + r")\s*,?")


def parse_challenges(values):
    """Parse WWW-Authenticate header values -> list of (scheme_lower, {param: value})."""
    out = []
    for value in values:
        m = re.match(r"\s*(" + _TOKEN + r")\s*(.*)$", value, re.S)
        if not m:
            continue
        scheme, rest = m.group(1).lower(), m.group(2)
        params = {}
        pos = 0
        while pos < len(rest):
            pm = _PARAM_RE.match(rest, pos)
            if not pm:
                break
            k, v = pm.group(1).lower(), pm.group(2)
            if v.startswith('"'):
                v = re.sub(r"\\(.)", r"\1", v[1:-1])
            params[k] = v
            pos = pm.end()
        out.append((scheme, params))
    return out


def parse_scope(scope):
    """'repository:name:pull,push' -> (type, name, [actions]); name may contain ':'."""
    first = scope.find(":")
    last = scope.rfind(":")
    if first < 0 or last == first:
        return None
    rtype = scope[:first]
    rtype = re.sub(r"\(.*\)$", "", rtype)
    name = scope[first + 1:last]
    actions = [a for a in scope[last + 1:].split(",") if a]
    return rtype, name, actions


def ssl_context(ca=None):
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    return ctx


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Response:
    def __init__(self, resp, conn):
        self.resp = resp
        self.conn = conn
        self.status = resp.status

    def header(self, name, default=None):
        return self.resp.getheader(name, default)

    def headers(self, name):
        return self.resp.headers.get_all(name) or []

    def read(self, n=-1):
        return self.resp.read(n) if n >= 0 else self.resp.read()


class RegistryClient:
    """Minimal keep-alive registry client with Basic/Bearer challenge handling.

    One instance per thread (http.client connections are not thread-safe);
    use clone() to get a sibling that shares the token cache.
    """

    def __init__(self, base_url, user=None, password=None, ca=None, token_cache=None):
        u = urllib.parse.urlsplit(base_url.rstrip("/"))
        if u.scheme not in ("http", "https"):
            raise ValueError("registry url must be http:// or https://: %s" % base_url)
        self.base_url = base_url.rstrip("/")
        self.scheme = u.scheme
        self.netloc = u.netloc
        self.user = user
        self.password = password
        self.ca = ca
        self.ctx = ssl_context(ca) if u.scheme == "https" else None
        self.conn = None
        self.tokens = token_cache if token_cache is not None else {}
        self.lock = threading.Lock()
        self.basic_ok = False
        self.last_scope = None

    def clone(self):
        return RegistryClient(self.base_url, self.user, self.password, self.ca, self.tokens)

    def _connect(self, scheme, netloc, ctx):
        if scheme == "https":
            return http.client.HTTPSConnection(netloc, context=ctx, timeout=60, blocksize=1 << 16)
        return http.client.HTTPConnection(netloc, timeout=60, blocksize=1 << 16)

    def _basic(self):
        raw = ("%s:%s" % (self.user or "", self.password or "")).encode()
        return "Basic " + base64.b64encode(raw).decode()

    def fetch_token(self, realm, service, scopes):
        key = (realm, service, " ".join(sorted(scopes)))
        if key in self.tokens:
            return self.tokens[key]
        q = []
        if service:
            q.append(("service", service))
        for s in scopes:
            q.append(("scope", s))
        url = realm + ("&" if "?" in realm else "?") + urllib.parse.urlencode(q)
        u = urllib.parse.urlsplit(url)
        ctx = ssl_context(self.ca) if u.scheme == "https" else None
        conn = self._connect(u.scheme, u.netloc, ctx)
        headers = {}
        if self.user is not None:
            headers["Authorization"] = self._basic()
        path = u.path + ("?" + u.query if u.query else "")
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        if resp.status != 200:
            raise RuntimeError("token server %s answered %d: %s" % (realm, resp.status,
                                                                    body[:200].decode("utf-8", "replace")))
        doc = json.loads(body)
        tok = doc.get("access_token") or doc.get("token")
        self.tokens[key] = tok
        return tok

    def _auth_header(self, scope_hint):
        for key, tok in list(self.tokens.items()):
            if scope_hint and key[2] == scope_hint:
                return "Bearer " + tok
        if self.basic_ok:
            return self._basic()
        return None

    def request(self, method, path, body=None, headers=None, length=None, scope=None, _retry=True):
        """Send a request (path relative to the registry or absolute URL).

        body may be bytes or a readable file object (then length is required);
        a file body is rewound on an auth retry.
        Returns a Response whose body must be read (or the conn closed).
        """
        headers = dict(headers or {})
        if path.startswith("http://") or path.startswith("https://"):
            u = urllib.parse.urlsplit(path)
            if u.netloc != self.netloc:
                raise RuntimeError("refusing to follow a foreign location: %s" % path)
            path = u.path + ("?" + u.query if u.query else "")
        auth = self._auth_header(scope or self.last_scope)
        if auth and "Authorization" not in headers:
            headers["Authorization"] = auth
        if body is not None and "Content-Length" not in headers:
            headers["Content-Length"] = str(length if length is not None else len(body))
        elif body is None and method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = "0"
        start = body.tell() if hasattr(body, "read") else None
        for attempt in range(2):
            if self.conn is None:
                self.conn = self._connect(self.scheme, self.netloc, self.ctx)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
                if start is not None:
                    body.seek(start)
        r = Response(resp, self.conn)
        if method == "HEAD":
            resp.read()
        if resp.status == 401 and _retry:
            chal = parse_challenges(r.headers("WWW-Authenticate"))
            resp.read()
            new_auth = None
            for scheme, params in chal:
                if scheme == "bearer":
                    scopes = params.get("scope", "").split()
                    tok = self.fetch_token(params.get("realm"), params.get("service"), scopes)
                    self.last_scope = " ".join(sorted(scopes))
                    new_auth = "Bearer " + tok
                    break
                if scheme == "basic" and self.user is not None:
                    self.basic_ok = True
                    new_auth = self._basic()
            if new_auth is None:
                return r
            if start is not None:
                body.seek(start)
            headers["Authorization"] = new_auth
            return self.request(method, path, body, headers, length, scope, _retry=False)
        return r

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# --- process helpers ------------------------------------------------------------------------------


def proc_state(pid):
    """Return (state, pgrp) of a pid, or None if it does not exist."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    rest = data[data.rfind(")") + 2:].split()
    return rest[0], int(rest[2])


def alive(pid):
    st = proc_state(pid)
    return st is not None and st[0] not in ("Z", "X")


def group_members(pgid):
    """Live (non-zombie) pids whose process group is pgid."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_state(int(name))
        if st and st[1] == pgid and st[0] not in ("Z", "X"):
            out.append(int(name))
    return out


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


BODY_CHUNK = 64 * 1024


class BodyReader:
    """Reads the client's request body (Content-Length or chunked)."""

    def __init__(self, rfile, headers):
        self.rfile = rfile
        self.chunked = "chunked" in (headers.get("Transfer-Encoding") or "").lower()
        self.remaining = int(headers.get("Content-Length") or 0) if not self.chunked else None
        self.total = 0

    def has_body(self):
        return self.chunked or self.remaining > 0

    def chunks(self, limit=None):
        """Yield the body in pieces; with limit, stop after about that many bytes."""
        if self.chunked:
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    self.chunked = False
                    self.remaining = 0
                    return
                left = size
                while left:
                    data = self.rfile.read(min(left, BODY_CHUNK))
                    if not data:
                        raise ConnectionError("client closed mid-chunk")
                    left -= len(data)
                    self.total += len(data)
                    yield data
                    if limit is not None and self.total >= limit:
                        return
                self.rfile.readline(3)  # CRLF after the chunk
        else:
            while self.remaining > 0:
                n = min(self.remaining, BODY_CHUNK)
                if limit is not None:
                    n = min(n, max(limit - self.total, 1))
                data = self.rfile.read(n)
                if not data:
                    raise ConnectionError("client closed mid-body")
                self.remaining -= len(data)
                self.total += len(data)
                yield data
                if limit is not None and self.total >= limit:
                    return

    def read_all(self):
        return b"".join(self.chunks())

    def drain(self):
        for _ in self.chunks():
            pass


# hop-by-hop headers (RFC 9110 7.6.1): never forwarded by a proxy
HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
       "transfer-encoding", "upgrade"}


def relay_buffered(handler, up_netloc, body, extra=None):
    """Forward handler's request (its body, already read, in body) to the plain-HTTP upstream
    up_netloc and send the whole answer back: hop-by-hop headers dropped, Content-Length set,
    and the (name, value) pairs extra(response) returns added (extra may be None)."""
    headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP}
    conn = http.client.HTTPConnection(up_netloc, timeout=30)
    try:
        conn.request(handler.command, handler.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        more = extra(r) if extra else []
        handler.send_response(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length":
                handler.send_header(k, v)
        for k, v in more:
            handler.send_header(k, v)
        handler.send_header("Content-Length", str(r.getheader("Content-Length") or len(data))
                            if handler.command == "HEAD" else str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)
    finally:
        conn.close()


def serve_upstream_proxy(p, handler, **attrs):
    """The main of a buffered proxy in front of a registry: parse p (a server_parser with
    upstream="required", plus the proxy's own options) and --owner-pid, then serve handler on a
    threading server carrying opts, up_netloc and attrs, until the owner is gone."""
    p.add_argument("--owner-pid", type=int, default=0)
    opts = parse_server_args(p)
    if not opts.url_file:
        p.error("--url-file is required")
    import http.server  # here, not at the top: harness.py and fixture.py start faster

    srv = http.server.ThreadingHTTPServer((opts.listen, opts.port), handler)
    srv.daemon_threads = True
    srv.opts = opts
    srv.up_netloc = urllib.parse.urlsplit(opts.upstream.rstrip("/")).netloc
    for k, v in attrs.items():
        setattr(srv, k, v)
    serve_while_owner(srv, opts.url_file, opts.owner_pid)


def is_loopback(host):
    """127.0.0.0/8, ::1 or localhost."""
    import ipaddress
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server_parser(doc, upstream=None):
    """The argument parser every harness server starts from: --listen (loopback only), --port
    and --url-file; with upstream="required" or "optional" also --upstream URL (loopback only)
    and --upstream-ca. Check the answers with parse_server_args."""
    import argparse
    p = argparse.ArgumentParser(description=doc, allow_abbrev=False,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--url-file")
    if upstream:
        p.add_argument("--upstream", required=upstream == "required")
        p.add_argument("--upstream-ca")
    p.regship_upstream = bool(upstream)
    return p


def parse_server_args(p, argv=None):
    """Parse, refusing anything but loopback to listen on or to forward to: tests never leave
    the machine."""
    opts = p.parse_args(argv)
    if not is_loopback(opts.listen):
        p.error("--listen must be a loopback address")
    up = getattr(opts, "upstream", None) if getattr(p, "regship_upstream", False) else None
    if up and not is_loopback(urllib.parse.urlsplit(up).hostname or ""):
        p.error("--upstream must be on loopback")
    return opts


def serve(srv, url_file=None):
    """Announce a server's URL (on stdout, and atomically in url_file) and serve until killed."""
    host, port = srv.server_address[:2]
    url = "http://%s:%d" % (host if ":" not in host else "[%s]" % host, port)
    if url_file:
        with open(url_file + ".tmp", "w") as f:
            f.write(url + "\n")
        os.rename(url_file + ".tmp", url_file)
    print(url, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


def serve_while_owner(srv, url_file, owner_pid):
    """Like serve, for servers a test starts itself (not under harness.py's supervisor): serve in
    a thread and exit when the owner process is gone (polling is the only way to notice)."""
    import time
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    host, port = srv.server_address[:2]
    tmp = url_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("http://%s:%d\n" % (host, port))
    os.rename(tmp, url_file)
    while not owner_pid or os.path.exists("/proc/%d" % owner_pid):
        time.sleep(0.5)
