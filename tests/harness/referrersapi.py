#!/usr/bin/python3
"""A reverse proxy in front of docker-registry that adds the OCI 1.1 referrers API, for tests.

  referrersapi.py --upstream URL --url-file FILE [--page-size N] [--foreign-link URL]
                  [--malformed] [--owner-pid PID]

Manifests pushed through the proxy (PUT /v2/<name>/manifests/<ref> answered 201) that carry a
"subject" are remembered, and the answer gets `OCI-Subject: <subject digest>` (as a registry
with the API sends it: the client then writes no fallback tag). GET /v2/<name>/referrers/<digest>
answers an image index of the remembered descriptors (artifactType: the manifest's, else its
config's media type), filtered by ?artifactType= (with OCI-Filters-Applied: artifactType).
A DELETE of a manifest forgets it. Everything else passes through unchanged.

Test modes: --page-size N answers N descriptors a page with a Link to the next one (same
origin); --foreign-link URL sends a Link rel="next" to URL (another origin) on the first page;
--malformed answers every referrers request with a body that is not JSON.
Only 127.0.0.1 is listened on; the proxy exits when PID (the test's process) is gone.
"""
import hashlib
import http.server
import json
import os
import re
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reglib  # noqa: E402

MANIFEST_RE = re.compile(r"^/v2/(.+)/manifests/([^/]+)$")
REFERRERS_RE = re.compile(r"^/v2/(.+)/referrers/([a-z0-9]+:[a-f0-9]+)$")
INDEX_MT = "application/vnd.oci.image.index.v1+json"
EMPTY_MT = "application/vnd.oci.empty.v1+json"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, body, ctype, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def referrers(self, name, digest, query):
        opts = self.server.opts
        if opts.malformed:
            return self.answer(200, b'{"manifests": [ {"digest": ', INDEX_MT)
        q = urllib.parse.parse_qs(query)
        want = (q.get("artifactType") or [None])[0]
        with self.server.lock:
            found = [d for d in self.server.refs.get((name, digest), [])
                     if not want or d.get("artifactType") == want]
        extra = []
        if want:
            extra.append(("OCI-Filters-Applied", "artifactType"))
        start = int((q.get("page") or ["0"])[0])
        if opts.page_size:
            page = found[start:start + opts.page_size]
            if start + opts.page_size < len(found):
                nq = {"page": str(start + opts.page_size)}
                if want:
                    nq["artifactType"] = want
                extra.append(("Link", '</v2/%s/referrers/%s?%s>; rel="next"' %
                              (name, digest, urllib.parse.urlencode(nq))))
        else:
            page = found
        if opts.foreign_link and start == 0:
            extra.append(("Link", '<%s>; rel="next"' % opts.foreign_link))
        body = json.dumps({"schemaVersion": 2, "mediaType": INDEX_MT,
                           "manifests": page}).encode()
        self.answer(200, body, INDEX_MT, extra)

    def remember(self, name, body, digest):
        try:
            m = json.loads(body)
        except ValueError:
            return None
        sub = m.get("subject") if isinstance(m, dict) else None
        if not isinstance(sub, dict) or not sub.get("digest"):
            return None
        d = {"mediaType": m.get("mediaType") or "application/vnd.oci.image.manifest.v1+json",
             "digest": digest, "size": len(body)}
        at = m.get("artifactType") or (m.get("config") or {}).get("mediaType")
        if at and at != EMPTY_MT:
            d["artifactType"] = at
        if m.get("annotations"):
            d["annotations"] = m["annotations"]
        with self.server.lock:
            lst = self.server.refs.setdefault((name, sub["digest"]), [])
            if all(x["digest"] != digest for x in lst):
                lst.append(d)
        return sub["digest"]

    def forget(self, digest):
        with self.server.lock:
            for k in self.server.refs:
                self.server.refs[k] = [d for d in self.server.refs[k] if d["digest"] != digest]

    def relay(self):
        u = urllib.parse.urlsplit(self.path)
        m = REFERRERS_RE.match(u.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if m and self.command in ("GET", "HEAD"):
            return self.referrers(m.group(1), m.group(2), u.query)
        mm = MANIFEST_RE.match(u.path)

        def extra(r):
            if mm and self.command == "PUT" and r.status == 201 and body:
                digest = r.getheader("Docker-Content-Digest") or \
                    "sha256:" + hashlib.sha256(body).hexdigest()
                subject = self.remember(mm.group(1), body, digest)
                if subject:
                    return [("OCI-Subject", subject)]
            if mm and self.command == "DELETE" and r.status == 202:
                self.forget(mm.group(2))
            return []

        reglib.relay_buffered(self, self.server.up_netloc, body, extra)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = relay


def main():
    p = reglib.server_parser(__doc__, upstream="required")
    p.add_argument("--page-size", type=int, default=0)
    p.add_argument("--foreign-link")
    p.add_argument("--malformed", action="store_true")
    reglib.serve_upstream_proxy(p, Handler, refs={}, lock=threading.Lock())


if __name__ == "__main__":
    main()
