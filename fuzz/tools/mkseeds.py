#!/usr/bin/python3
"""Make the hostile archive seeds of fuzz/corpus/{oci_layout,docker_archive} and trim the tar
padding of every archive seed (smaller inputs fuzz faster). Deterministic; run from the repo root:

    /usr/bin/python3 fuzz/tools/mkseeds.py

The valid seeds come from tests/harness/fixture.py (see fuzz/README.md)."""
import gzip
import hashlib
import io
import json
import os
import tarfile

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def tar(entries):
    """entries: (name, bytes | ('sym', target) | ('hard', target) | ('dir',)). mtime 0."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, body in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            if isinstance(body, tuple):
                kind = body[0]
                if kind == "sym":
                    ti.type, ti.linkname = tarfile.SYMTYPE, body[1]
                elif kind == "hard":
                    ti.type, ti.linkname = tarfile.LNKTYPE, body[1]
                else:
                    ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            else:
                ti.size = len(body)
                t.addfile(ti, io.BytesIO(body))
    return trimmed(out.getvalue())


def trimmed(data):
    """Drop the record padding after the end-of-archive blocks."""
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        t.getmembers()
        end = t.offset
    return data[:end] + b"\0" * 1024


def layer_tar(payload=b"hello\n"):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as t:
        ti = tarfile.TarInfo("etc/hello")
        ti.mtime, ti.size = 0, len(payload)
        t.addfile(ti, io.BytesIO(payload))
    return trimmed(out.getvalue())


def config(diff_ids):
    return json.dumps({"architecture": "amd64", "os": "linux",
                       "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()


def docker_seeds():
    d = {}
    layer = layer_tar()
    cfg = config([sha(layer)])
    cid = hashlib.sha256(cfg).hexdigest()
    man = lambda layers, tags=("a/b:c",), cfgname=cid + ".json": json.dumps(
        [{"Config": cfgname, "RepoTags": list(tags), "Layers": layers}]).encode()
    ok = [("manifest.json", man(["l1/layer.tar"])), (cid + ".json", cfg), ("l1/layer.tar", layer)]
    d["hostile-traversal.tar"] = tar([("manifest.json", man(["../../etc/passwd"]))] + ok[1:])
    d["hostile-symlink-layer.tar"] = tar(ok[:2] + [("l1/layer.tar", ("sym", "/etc/passwd"))])
    d["hostile-hardlink-layer.tar"] = tar(ok[:2] + [("l0", layer), ("l1/layer.tar", ("hard", "l0"))])
    d["hostile-dup-layer.tar"] = tar(ok + [("l1/layer.tar", layer_tar(b"other\n"))])
    d["hostile-diffid-mismatch.tar"] = tar(ok[:2] + [("l1/layer.tar", layer_tar(b"x\n"))])
    d["hostile-missing-config.tar"] = tar([ok[0], ok[2]])
    d["hostile-badjson.tar"] = tar([("manifest.json", b'[{"Config": 7, "Layers": "x"}]')] + ok[1:])
    gz = gzip.compress(layer, mtime=0)
    d["gzip-layer.tar"] = tar([ok[0], ok[1], ("l1/layer.tar", gz)])
    cfg2 = config([sha(layer), sha(layer)])
    cid2 = hashlib.sha256(cfg2).hexdigest()
    d["two-tags-same-layer.tar"] = tar([("manifest.json", man(["l1/layer.tar", "l1/layer.tar"],
                                                               ("a/b:c", "a/b:d"), cid2 + ".json")),
                                        (cid2 + ".json", cfg2), ("l1/layer.tar", layer)])
    return d


def oci_seeds():
    d = {}
    layer = gzip.compress(layer_tar(), mtime=0)
    cfg = config([sha(layer_tar())])
    mani = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": sha(cfg), "size": len(cfg)},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                   "digest": sha(layer), "size": len(layer)}]}).encode()
    index = lambda digest, size: json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
         "size": size, "annotations": {"org.opencontainers.image.ref.name": "v1"}}]}).encode()
    blob = lambda b: "blobs/sha256/" + hashlib.sha256(b).hexdigest()
    layout = ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    ok = [layout, ("index.json", index(sha(mani), len(mani))), (blob(mani), mani),
          (blob(cfg), cfg), (blob(layer), layer)]
    d["small-valid.tar"] = tar(ok)
    d["hostile-traversal.tar"] = tar(ok + [("../evil", b"x")])
    d["hostile-absolute.tar"] = tar(ok + [("/tmp/evil", b"x")])
    d["hostile-symlink-blob.tar"] = tar(ok[:4] + [(blob(layer), ("sym", "/etc/passwd"))])
    d["hostile-symlink-out.tar"] = tar(ok + [("x/y", ("sym", "../../../etc"))])
    d["hostile-hardlink.tar"] = tar(ok + [("z", ("hard", "../etc/passwd"))])
    d["hostile-dup-index.tar"] = tar(ok + [("index.json", b"{}")])
    d["hostile-wrong-digest.tar"] = tar([layout, ("index.json", index(sha(b"nope"), len(mani))),
                                         (blob(b"nope"), mani)] + ok[3:])
    d["hostile-no-layout.tar"] = tar(ok[1:])
    d["hostile-size-lie.tar"] = tar([layout, ("index.json", index(sha(mani), len(mani) + 5))] + ok[2:])
    return d


def main():
    for sub, seeds in (("docker_archive", docker_seeds()), ("oci_layout", oci_seeds())):
        for name, data in seeds.items():
            with open(os.path.join(CORPUS, sub, name), "wb") as f:
                f.write(data)
    # trim the fixture tool's archives too
    for sub in ("docker_archive", "oci_layout"):
        for name in os.listdir(os.path.join(CORPUS, sub)):
            p = os.path.join(CORPUS, sub, name)
            with open(p, "rb") as f:
                data = f.read()
            try:
                t = trimmed(data)
            except tarfile.TarError:
                continue
            if len(t) < len(data):
                with open(p, "wb") as f:
                    f.write(t)


if __name__ == "__main__":
    main()
