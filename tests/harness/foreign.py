#!/usr/bin/python3
"""Images with foreign / non-distributable layers, and OCI artifacts, pushed to a registry.

  foreign.py --src URL [--user U:P] --home URL --home-repo REPO --repo REPO < SPEC

The foreign layer (a small deterministic gzip tar) is pushed to --home (a registry of another
origin, at --home-repo), and to --src (docker-registry insists); a second, ordinary layer and the config go to --src. SPEC (JSON on
stdin) names the manifests to push to --src at --repo:

  {"TAG": {"format": "docker"|"oci", "urls": ["http://.../{digest}", ...]},
   "TAG2": {"artifact": true}}

"{digest}" in a URL is replaced by the foreign layer's digest. A foreign layer is
application/vnd.docker.image.rootfs.foreign.diff.tar.gzip (docker) or
application/vnd.oci.image.layer.nondistributable.v1.tar+gzip (oci). An artifact is an OCI 1.1
manifest: artifactType application/spdx+json, the empty config, one SPDX JSON layer.
Prints JSON: {"foreign": {"digest", "diff_id", "size"}, "plain": {...}}. Stdlib + reglib only.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reglib  # noqa: E402

DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
OCI_NONDIST = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer(name, size):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
        data = (hashlib.sha256(name.encode()).hexdigest() * (size // 64 + 1))[:size].encode()
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        ti.mtime = 0
        tf.addfile(ti, io.BytesIO(data))
    tar = raw.getvalue()
    gz = gzip.compress(tar, mtime=0)
    return {"tar": tar, "gz": gz, "digest": sha(gz), "diff_id": sha(tar), "size": len(gz)}


def check(r, want, what):
    body = r.read()
    if r.status not in want:
        raise SystemExit("%s: HTTP %d %s" % (what, r.status, body[:300]))


def push_blob(c, repo, data):
    d = sha(data)
    r = c.request("POST", "/v2/%s/blobs/uploads/" % repo)
    loc = r.header("Location")
    check(r, (202,), "POST upload in " + repo)
    loc += ("&" if "?" in loc else "?") + "digest=" + d
    r = c.request("PUT", loc, body=data, headers={"Content-Type": "application/octet-stream"})
    check(r, (201,), "PUT blob %s in %s" % (d, repo))


def put_manifest(c, repo, tag, m):
    data = json.dumps(m).encode()
    r = c.request("PUT", "/v2/%s/manifests/%s" % (repo, tag), body=data,
                  headers={"Content-Type": m["mediaType"]})
    check(r, (201,), "PUT manifest %s:%s" % (repo, tag))


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--src", required=True)
    p.add_argument("--user")
    p.add_argument("--home", required=True)
    p.add_argument("--home-repo", required=True)
    p.add_argument("--repo", required=True)
    o = p.parse_args()
    spec = json.load(sys.stdin)
    user, pw = o.user.split(":", 1) if o.user else (None, None)
    src = reglib.RegistryClient(o.src, user, pw)
    home = reglib.RegistryClient(o.home)
    foreign, plain = layer("foreign.txt", 3000), layer("plain.txt", 2000)
    push_blob(home, o.home_repo, foreign["gz"])
    push_blob(src, o.repo, plain["gz"])
    # docker-registry 2.8 checks that every layer of a manifest exists, foreign ones too: the
    # source registry holds the foreign layer as well (regship must not fetch it from there)
    push_blob(src, o.repo, foreign["gz"])
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers",
                                    "diff_ids": [plain["diff_id"], foreign["diff_id"]]}}).encode()
    push_blob(src, o.repo, config)
    empty = b"{}"
    sbom = json.dumps({"spdxVersion": "SPDX-2.3", "name": "x"}).encode()
    for tag, t in spec.items():
        if t.get("artifact"):
            push_blob(src, o.repo, empty)
            push_blob(src, o.repo, sbom)
            put_manifest(src, o.repo, tag, {
                "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": "application/spdx+json",
                "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                           "digest": sha(empty), "size": len(empty)},
                "layers": [{"mediaType": "application/spdx+json", "digest": sha(sbom),
                            "size": len(sbom)}]})
            continue
        oci = t.get("format") == "oci"
        put_manifest(src, o.repo, tag, {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json" if oci else
                         "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json" if oci else
                                    "application/vnd.docker.container.image.v1+json",
                       "digest": sha(config), "size": len(config)},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip" if oci else
                              "application/vnd.docker.image.rootfs.diff.tar.gzip",
                 "digest": plain["digest"], "size": plain["size"]},
                {"mediaType": OCI_NONDIST if oci else DOCKER_FOREIGN,
                 "digest": foreign["digest"], "size": foreign["size"],
                 "urls": [u.replace("{digest}", foreign["digest"]) for u in t["urls"]]}]})
    print(json.dumps({k: {"digest": v["digest"], "diff_id": v["diff_id"], "size": v["size"]}
                      for k, v in (("foreign", foreign), ("plain", plain))}))


if __name__ == "__main__":
    main()
