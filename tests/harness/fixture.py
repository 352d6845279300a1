#!/usr/bin/python3
"""Deterministic test images without Docker.

  fixture.py oci-layout DIR [--tag T ...] [image options]        OCI image layout (adds to DIR)
  fixture.py oci-archive FILE [--tag T ...] [image options]      tar of an OCI image layout
  fixture.py docker-archive FILE --repo-tag NAME:TAG [...] [--format legacy|oci] [--append]
                                                                 `docker save` tarball
  fixture.py seed URL REPO [--tag T ...] [--many-tags N] [--repos N --repo-prefix P]
                  [--user U:P] [--ca CA] [image options]        push straight to a registry
  fixture.py artifact URL REPO --subject DIGEST [--artifact-type T] [--annotation K=V ...]
                  [--seed S] [--tag-index] [--user U:P] [--ca CA]
                                                                 push an OCI artifact (a
                  "signature") whose subject is REPO@DIGEST, by digest; --tag-index also adds it
                  to the referrers tag index sha256-<hex> (as a client must without the API)

Image options: --layers N (2) --layer-size SIZE (4K; K/M/G suffixes) --seed S (0)
  --platform os/arch[/variant] (repeat: 2+ make a multi-arch index) --compressible
  --format docker|oci (seed: docker; layouts: oci) --created RFC3339 (the config's; the epoch)

Same arguments give the same bytes and digests. Output: one line per tag, `NAME DIGEST`
(NAME is `repo:tag` for seed, the tag for layouts, the repo-tag for docker archives; for an
index also `NAME@os/arch CHILD_DIGEST` per platform).
"""

import argparse
import concurrent.futures
import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import sys
import tarfile
import tempfile
import threading

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reglib  # noqa: E402

MT = {
    "oci": {
        "manifest": "application/vnd.oci.image.manifest.v1+json",
        "index": "application/vnd.oci.image.index.v1+json",
        "config": "application/vnd.oci.image.config.v1+json",
        "layer": "application/vnd.oci.image.layer.v1.tar+gzip",
        "layer_tar": "application/vnd.oci.image.layer.v1.tar",
    },
    "docker": {
        "manifest": "application/vnd.docker.distribution.manifest.v2+json",
        "index": "application/vnd.docker.distribution.manifest.list.v2+json",
        "config": "application/vnd.docker.container.image.v1+json",
        "layer": "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "layer_tar": "application/vnd.docker.image.rootfs.diff.tar",
    },
}
EPOCH = "1970-01-01T00:00:00Z"
REF_NAME = "org.opencontainers.image.ref.name"
CHUNK = 1 << 20


def die(msg):
    sys.stderr.write("fixture: %s\n" % msg)
    sys.exit(1)


def parse_size(s):
    m = re.match(r"^\s*(\d+)\s*([KMG]?)(?:i?B)?\s*$", s, re.I)
    if not m:
        raise argparse.ArgumentTypeError("invalid size %r (use N, NK, NM or NG)" % s)
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2).upper()]


def parse_platform(s):
    parts = s.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise argparse.ArgumentTypeError("invalid platform %r (want os/arch[/variant])" % s)
    p = {"architecture": parts[1], "os": parts[0]}
    if len(parts) == 3:
        p["variant"] = parts[2]
    return p


def platform_str(p):
    return "/".join([p["os"], p["architecture"]] + ([p["variant"]] if "variant" in p else []))


def jdump(obj, indent=None):
    if indent:
        return json.dumps(obj, indent=indent).encode()
    return json.dumps(obj, separators=(",", ":")).encode()


class HashWriter:
    """File-like sink that hashes and counts, and forwards to zero or more sinks."""

    def __init__(self, *sinks):
        self.h = hashlib.sha256()
        self.n = 0
        self.sinks = [s for s in sinks if s is not None]

    def write(self, data):
        self.h.update(data)
        self.n += len(data)
        for s in self.sinks:
            s.write(data)
        return len(data)

    def flush(self):
        pass

    def digest(self):
        return "sha256:" + self.h.hexdigest()


class GenReader:
    """Deterministic content of a given size: PRNG bytes or compressible text."""

    def __init__(self, key, size, compressible):
        self.left = size
        self.rng = random.Random(key)
        self.compressible = compressible
        self.key = key
        self.line = 0
        self.buf = b""

    def _more(self, n):
        if not self.compressible:
            return self.rng.randbytes(n)
        parts = []
        got = 0
        while got < n:
            s = ("%s line %08d: the quick brown fox jumps over the lazy dog\n" %
                 (self.key, self.line)).encode()
            self.line += 1
            parts.append(s)
            got += len(s)
        return b"".join(parts)

    def read(self, n=-1):
        if n is None or n < 0:
            n = self.left
        n = min(n, self.left)
        if n <= 0:
            return b""
        if len(self.buf) < n:
            self.buf += self._more(max(n - len(self.buf), CHUNK if not self.compressible else n))
        out, self.buf = self.buf[:n], self.buf[n:]
        self.left -= n
        return out


class Blob:
    def __init__(self, digest, size, path, media_type):
        self.digest, self.size, self.path, self.media_type = digest, size, path, media_type

    def desc(self):
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


class BlobDir:
    """Content-addressed blobs under ROOT/blobs/sha256/."""

    def __init__(self, root):
        self.dir = os.path.join(root, "blobs", "sha256")
        os.makedirs(self.dir, exist_ok=True)

    def tmp(self):
        fd, path = tempfile.mkstemp(dir=self.dir, prefix=".tmp-")
        return os.fdopen(fd, "wb"), path

    def commit(self, tmp_path, digest):
        final = os.path.join(self.dir, digest.split(":", 1)[1])
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, final)
        return final

    def put_bytes(self, data, media_type):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        final = os.path.join(self.dir, digest.split(":", 1)[1])
        if not os.path.exists(final):
            f, tmp = self.tmp()
            with f:
                f.write(data)
            self.commit(tmp, digest)
        return Blob(digest, len(data), final, media_type)


class Image:
    def __init__(self, platform, config, layers, diff_ids, tars, manifest, manifest_mt):
        self.platform = platform
        self.config = config
        self.layers = layers
        self.diff_ids = diff_ids
        self.tars = tars  # uncompressed layer tar paths (or None)
        self.manifest = manifest
        self.manifest_mt = manifest_mt


class Top:
    """What a tag points to: one Image's manifest or an index of several."""

    def __init__(self, blob, images, is_index):
        self.blob = blob
        self.images = images
        self.is_index = is_index


def tarinfo(name, size=0, isdir=False):
    ti = tarfile.TarInfo(name)
    ti.mtime = 0
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    if isdir:
        ti.type = tarfile.DIRTYPE
        ti.mode = 0o755
    else:
        ti.size = size
        ti.mode = 0o644
    return ti


def make_layer(blobs, key, index, size, compressible, media_type, keep_tar_dir):
    """Write one layer (gzip'd tar) into blobs; returns (Blob, diff_id, tar path or None)."""
    gz_file, gz_tmp = blobs.tmp()
    gz_hash = HashWriter(gz_file)
    # random data does not compress: deflate's stored blocks (level 0) give a valid gzip stream
    # ten times faster than level 6 would; compressible content gets real compression
    gz = gzip.GzipFile(filename="", mode="wb", fileobj=gz_hash, mtime=0,
                       compresslevel=6 if compressible else 0)
    tar_file = tar_path = None
    if keep_tar_dir:
        fd, tar_path = tempfile.mkstemp(dir=keep_tar_dir, prefix=".tar-")
        tar_file = os.fdopen(fd, "wb")
    raw = HashWriter(gz, tar_file)
    tf = tarfile.open(fileobj=raw, mode="w|", format=tarfile.USTAR_FORMAT)
    base = "fixture/layer%d" % index
    tf.addfile(tarinfo("fixture/", isdir=True))
    tf.addfile(tarinfo(base + "/", isdir=True))
    info = ("%s\n" % key).encode()
    tf.addfile(tarinfo(base + "/info.txt", len(info)), io.BytesIO(info))
    tf.addfile(tarinfo(base + "/data.bin", size), GenReader(key, size, compressible))
    tf.close()
    gz.close()
    gz_file.close()
    if tar_file:
        tar_file.close()
    digest = gz_hash.digest()
    path = blobs.commit(gz_tmp, digest)
    if tar_path:
        final_tar = os.path.join(keep_tar_dir, raw.digest().split(":")[1] + ".tar")
        os.replace(tar_path, final_tar)
        tar_path = final_tar
    return Blob(digest, gz_hash.n, path, media_type), raw.digest(), tar_path


def make_image(blobs, opts, platform, fmt, keep_tar_dir=None):
    mt = MT[fmt]
    layers, diff_ids, tars = [], [], []
    pstr = platform_str(platform)
    for i in range(opts.layers):
        key = "regship-fixture seed=%s platform=%s layer=%d size=%d%s" % (
            opts.seed, pstr, i, opts.layer_size, " compressible" if opts.compressible else "")
        blob, diff_id, tar_path = make_layer(blobs, key, i, opts.layer_size, opts.compressible,
                                             mt["layer"], keep_tar_dir)
        layers.append(blob)
        diff_ids.append(diff_id)
        tars.append(tar_path)
    config = dict(platform)
    config.update({
        "created": getattr(opts, "created", None) or EPOCH,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh"],
            "Labels": {"org.regship.fixture.seed": str(opts.seed)},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": EPOCH, "created_by": "fixture.py layer %d (%s)" % (i, pstr)}
                    for i in range(opts.layers)],
    })
    cblob = blobs.put_bytes(jdump(config), mt["config"])
    manifest = {"schemaVersion": 2, "mediaType": mt["manifest"], "config": cblob.desc(),
                "layers": [b.desc() for b in layers]}
    mblob = blobs.put_bytes(jdump(manifest, indent=3), mt["manifest"])
    return Image(platform, cblob, layers, diff_ids, tars, mblob, mt["manifest"])


def make_top(blobs, opts, fmt, keep_tar_dir=None):
    platforms = opts.platform or [{"architecture": "amd64", "os": "linux"}]
    images = [make_image(blobs, opts, p, fmt, keep_tar_dir) for p in platforms]
    if len(images) == 1:
        return Top(images[0].manifest, images, False)
    mt = MT[fmt]
    index = {"schemaVersion": 2, "mediaType": mt["index"], "manifests": []}
    for img in images:
        d = img.manifest.desc()
        d["platform"] = img.platform
        index["manifests"].append(d)
    return Top(blobs.put_bytes(jdump(index, indent=3), mt["index"]), images, True)


def report(name, top, out=sys.stdout):
    out.write("%s %s\n" % (name, top.blob.digest))
    if top.is_index:
        for img in top.images:
            out.write("%s@%s %s\n" % (name, platform_str(img.platform), img.manifest.digest))


# --- OCI layout / archive ---------------------------------------------------------------------------


def write_layout(root, opts):
    os.makedirs(root, exist_ok=True)
    blobs = BlobDir(root)
    top = make_top(blobs, opts, opts.format or "oci")
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    index_path = os.path.join(root, "index.json")
    index = {"schemaVersion": 2, "mediaType": MT["oci"]["index"], "manifests": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    tags = opts.tag or []
    keep = []
    for m in index.get("manifests", []):
        name = (m.get("annotations") or {}).get(REF_NAME)
        if name in tags or (not tags and not name and m.get("digest") == top.blob.digest):
            continue
        keep.append(m)
    for t in tags or [None]:
        d = top.blob.desc()
        if t is not None:
            d["annotations"] = {REF_NAME: t}
        keep.append(d)
    index["manifests"] = keep
    with open(index_path + ".tmp", "wb") as f:
        f.write(jdump(index, indent=2))
    os.replace(index_path + ".tmp", index_path)
    for t in tags or ["(untagged)"]:
        report(t, top)
    return top


def add_tree(tf, root, names):
    for name in names:
        path = os.path.join(root, name)
        if os.path.isdir(path):
            tf.addfile(tarinfo(name + "/", isdir=True))
        else:
            with open(path, "rb") as f:
                tf.addfile(tarinfo(name, os.path.getsize(path)), f)


def cmd_oci_layout(opts):
    write_layout(opts.dir, opts)


def cmd_oci_archive(opts):
    out = os.path.abspath(opts.file)
    work = tempfile.mkdtemp(dir=os.path.dirname(out), prefix=".oci-archive-")
    try:
        write_layout(work, opts)
        names = ["oci-layout", "index.json", "blobs", "blobs/sha256"] + sorted(
            "blobs/sha256/" + n for n in os.listdir(os.path.join(work, "blobs", "sha256")))
        with tarfile.open(out + ".tmp", "w", format=tarfile.USTAR_FORMAT) as tf:
            add_tree(tf, work, names)
        os.replace(out + ".tmp", out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- docker save archive --------------------------------------------------------------------------


def split_repo_tag(rt):
    slash = rt.rfind("/")
    colon = rt.rfind(":")
    if colon > slash:
        return rt[:colon], rt[colon + 1:]
    return rt, "latest"


def containerd_name(repo, tag):
    first = repo.split("/", 1)[0]
    if "/" in repo and ("." in first or ":" in first or first == "localhost"):
        full = repo
    elif "/" in repo:
        full = "docker.io/" + repo
    else:
        full = "docker.io/library/" + repo
    return "%s:%s" % (full, tag)


def cmd_docker_archive(opts):
    if opts.platform and len(opts.platform) > 1:
        die("docker-archive holds one platform per image; got %d --platform" % len(opts.platform))
    out = os.path.abspath(opts.file)
    repo_tags = ["%s:%s" % split_repo_tag(rt) for rt in opts.repo_tag]
    work = tempfile.mkdtemp(dir=os.path.dirname(out), prefix=".docker-archive-")
    try:
        blobs = BlobDir(work)
        tardir = os.path.join(work, "tars")
        os.makedirs(tardir)
        img = make_top(blobs, opts, "docker", keep_tar_dir=tardir).images[0]
        members = []  # (name, path or bytes or None for dir)
        manifest_entry = {"RepoTags": repo_tags}
        repositories = {}
        chex = img.config.digest.split(":")[1]
        with open(img.config.path, "rb") as f:
            config_bytes = f.read()
        if opts.archive_format == "legacy":
            parent = ""
            ids = []
            for i, diff_id in enumerate(img.diff_ids):
                lid = hashlib.sha256(("%s %s" % (parent, diff_id)).encode()).hexdigest()
                v1 = {"id": lid, "created": EPOCH, "os": img.platform["os"]}
                if parent:
                    v1["parent"] = parent
                if i == len(img.diff_ids) - 1:
                    v1["architecture"] = img.platform["architecture"]
                    v1["config"] = json.loads(config_bytes)["config"]
                members += [(lid + "/", None), (lid + "/VERSION", b"1.0"),
                            (lid + "/json", jdump(v1)), (lid + "/layer.tar", img.tars[i])]
                ids.append(lid)
                parent = lid
            members.insert(0, (chex + ".json", config_bytes))
            manifest_entry = {"Config": chex + ".json", "RepoTags": repo_tags,
                              "Layers": [i + "/layer.tar" for i in ids]}
            for rt in repo_tags:
                r, t = split_repo_tag(rt)
                repositories.setdefault(r, {})[t] = ids[-1] if ids else chex
            index = None
        else:
            mt = MT["oci"]
            layer_descs = []
            blob_members = {}
            for diff_id, tar_path in zip(img.diff_ids, img.tars):
                layer_descs.append({"mediaType": mt["layer_tar"], "digest": diff_id,
                                    "size": os.path.getsize(tar_path)})
                blob_members[diff_id.split(":")[1]] = tar_path
            cfg_desc = {"mediaType": mt["config"], "digest": img.config.digest,
                        "size": img.config.size}
            manifest = jdump({"schemaVersion": 2, "mediaType": mt["manifest"], "config": cfg_desc,
                              "layers": layer_descs})
            mdigest = "sha256:" + hashlib.sha256(manifest).hexdigest()
            blob_members[chex] = config_bytes
            blob_members[mdigest.split(":")[1]] = manifest
            members += [("blobs/", None), ("blobs/sha256/", None)]
            members += [("blobs/sha256/" + h, blob_members[h]) for h in sorted(blob_members)]
            members.append(("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'))
            index = {"schemaVersion": 2, "mediaType": mt["index"], "manifests": []}
            for rt in repo_tags:
                r, t = split_repo_tag(rt)
                index["manifests"].append({
                    "mediaType": mt["manifest"], "digest": mdigest, "size": len(manifest),
                    "annotations": {"io.containerd.image.name": containerd_name(r, t),
                                    REF_NAME: t}})
                repositories.setdefault(r, {})[t] = chex
            manifest_entry = {"Config": "blobs/sha256/" + chex, "RepoTags": repo_tags,
                              "Layers": ["blobs/sha256/" + d.split(":")[1] for d in img.diff_ids]}
        write_docker_tar(out, members, manifest_entry, repositories, index, opts.append)
        for rt in repo_tags:
            print("%s %s" % (rt, img.config.digest))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_docker_tar(out, members, manifest_entry, repositories, index, append):
    meta = {"manifest.json", "repositories", "index.json"}
    manifest = [manifest_entry]
    new_names = {m[0] for m in members}
    old = None
    if append and os.path.exists(out):
        old = tarfile.open(out, "r")
        prev = {}
        for name in meta:
            try:
                prev[name] = json.load(old.extractfile(name))
            except KeyError:
                pass
        mine = set(manifest_entry.get("RepoTags", []))
        kept = []
        for e in prev.get("manifest.json", []):
            e["RepoTags"] = [t for t in e.get("RepoTags") or [] if t not in mine]
            kept.append(e)
        manifest = kept + manifest
        for r, tags in prev.get("repositories", {}).items():
            for t, v in tags.items():
                repositories.setdefault(r, {}).setdefault(t, v)
        if index is not None and "index.json" in prev:
            names = {m["annotations"].get("io.containerd.image.name")
                     for m in index["manifests"]}
            index["manifests"] = [m for m in prev["index.json"]["manifests"]
                                  if (m.get("annotations") or {}).get(
                                      "io.containerd.image.name") not in names] + \
                index["manifests"]
    with tarfile.open(out + ".tmp", "w", format=tarfile.USTAR_FORMAT) as tf:
        if old is not None:
            for ti in old.getmembers():
                if ti.name in meta or ti.name in new_names or ti.name + "/" in new_names:
                    continue
                tf.addfile(ti, old.extractfile(ti) if ti.isfile() else None)
        for name, content in members:
            if content is None:
                tf.addfile(tarinfo(name, isdir=True))
            elif isinstance(content, bytes):
                tf.addfile(tarinfo(name, len(content)), io.BytesIO(content))
            else:
                with open(content, "rb") as f:
                    tf.addfile(tarinfo(name, os.path.getsize(content)), f)
        if index is not None:
            data = jdump(index)
            tf.addfile(tarinfo("index.json", len(data)), io.BytesIO(data))
        for name, obj in (("manifest.json", manifest), ("repositories", repositories)):
            data = jdump(obj)
            tf.addfile(tarinfo(name, len(data)), io.BytesIO(data))
    if old is not None:
        old.close()
    os.replace(out + ".tmp", out)


# --- seed: push straight to a registry ----------------------------------------------------------------


class PushError(Exception):
    pass


def check(r, want, what):
    if r.status not in want:
        body = r.read()[:500].decode("utf-8", "replace")
        raise PushError("%s: HTTP %d %s" % (what, r.status, body.strip()))
    r.read()


def push_blob(client, repo, blob, mount_from=None):
    r = client.request("HEAD", "/v2/%s/blobs/%s" % (repo, blob.digest))
    if r.status == 200:
        return
    if mount_from:
        r = client.request("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s" %
                           (repo, blob.digest, mount_from))
    else:
        r = client.request("POST", "/v2/%s/blobs/uploads/" % repo)
    if r.status == 201:
        r.read()
        return
    loc = r.header("Location")
    check(r, (202,), "POST upload for %s in %s" % (blob.digest, repo))
    if not loc:
        raise PushError("POST upload in %s: 202 without Location" % repo)
    loc += ("&" if "?" in loc else "?") + "digest=" + blob.digest
    with open(blob.path, "rb") as f:
        r = client.request("PUT", loc, body=f, length=blob.size,
                           headers={"Content-Type": "application/octet-stream"})
        check(r, (201,), "PUT blob %s in %s" % (blob.digest, repo))


def put_manifest(client, repo, ref, blob):
    with open(blob.path, "rb") as f:
        data = f.read()
    r = client.request("PUT", "/v2/%s/manifests/%s" % (repo, ref), body=data,
                       headers={"Content-Type": blob.media_type})
    digest = r.header("Docker-Content-Digest")
    check(r, (201,), "PUT manifest %s:%s" % (repo, ref))
    return digest


def push_repo(client, repo, top, tags, mount_from=None, workers=1):
    seen = set()
    for img in top.images:
        for b in img.layers + [img.config]:
            if b.digest not in seen:
                seen.add(b.digest)
                push_blob(client, repo, b, mount_from)
    children = {}
    for img in top.images if top.is_index else []:
        children[platform_str(img.platform)] = put_manifest(client, repo, img.manifest.digest,
                                                            img.manifest)
    results = []
    if workers <= 1 or len(tags) <= 1:
        for t in tags:
            results.append((t, put_manifest(client, repo, t, top.blob)))
    else:
        local = threading.local()

        def one(t):
            if not hasattr(local, "c"):
                local.c = client.clone()
            return t, put_manifest(local.c, repo, t, top.blob)

        with concurrent.futures.ThreadPoolExecutor(workers) as ex:
            results = list(ex.map(one, tags))
    return results, children


def cmd_seed(opts):
    user = password = None
    if opts.user:
        user, _, password = opts.user.partition(":")
    tags = list(opts.tag or [])
    if opts.many_tags:
        width = max(4, len(str(opts.many_tags - 1)))
        tags += ["%s%0*d" % (opts.many_tags_prefix, width, i) for i in range(opts.many_tags)]
    if not tags:
        tags = ["latest"]
    if opts.repos:
        prefix = opts.repo_prefix if opts.repo_prefix is not None else opts.repo + "-"
        repos = ["%s%04d" % (prefix, i) for i in range(opts.repos)]
    else:
        repos = [opts.repo]
    work = tempfile.mkdtemp(prefix="regship-fixture-")
    try:
        top = make_top(BlobDir(work), opts, opts.format or "docker")
        client = reglib.RegistryClient(opts.url, user, password, opts.ca)
        out = []
        res, children = push_repo(client, repos[0], top, tags, workers=8)
        out.append((repos[0], res, children))
        if len(repos) > 1:
            local = threading.local()

            def one(repo):
                if not hasattr(local, "c"):
                    local.c = client.clone()
                r, c = push_repo(local.c, repo, top, tags, mount_from=repos[0])
                return repo, r, c

            with concurrent.futures.ThreadPoolExecutor(8) as ex:
                out += list(ex.map(one, repos[1:]))
        for repo, res, children in out:
            for tag, digest in res:
                print("%s:%s %s" % (repo, tag, digest))
                for p, d in children.items():
                    print("%s:%s@%s %s" % (repo, tag, p, d))
    except (PushError, RuntimeError, OSError) as e:
        die(str(e))
    finally:
        shutil.rmtree(work, ignore_errors=True)


EMPTY = b"{}"
MT_EMPTY = "application/vnd.oci.empty.v1+json"


def cmd_artifact(opts):
    user = password = None
    if opts.user:
        user, _, password = opts.user.partition(":")
    client = reglib.RegistryClient(opts.url, user, password, opts.ca)
    repo = opts.repo
    accept = ", ".join([MT["oci"]["index"], MT["oci"]["manifest"], MT["docker"]["index"],
                        MT["docker"]["manifest"]])
    try:
        r = client.request("GET", "/v2/%s/manifests/%s" % (repo, opts.subject),
                           headers={"Accept": accept})
        body = r.read()
        if r.status != 200:
            raise PushError("subject %s@%s: HTTP %d" % (repo, opts.subject, r.status))
        subject = {"mediaType": json.loads(body).get("mediaType") or
                   r.header("Content-Type").split(";")[0],
                   "digest": opts.subject, "size": len(body)}
        work = tempfile.mkdtemp(prefix="regship-fixture-")
        try:
            blobs = BlobDir(work)
            payload = ("artifact %s of %s" % (opts.seed, opts.subject)).encode()
            layer = blobs.put_bytes(payload, "application/octet-stream")
            config = blobs.put_bytes(EMPTY, MT_EMPTY)
            for b in (config, layer):
                push_blob(client, repo, b)
            m = {"schemaVersion": 2, "mediaType": MT["oci"]["manifest"],
                 "artifactType": opts.artifact_type, "config": config.desc(),
                 "layers": [layer.desc()], "subject": subject}
            ann = dict(a.split("=", 1) for a in opts.annotation or [])
            if ann:
                m["annotations"] = ann
            mb = blobs.put_bytes(jdump(m), MT["oci"]["manifest"])
            digest = put_manifest(client, repo, mb.digest, mb)
            if opts.tag_index:
                tag = "sha256-" + opts.subject.split(":", 1)[1]
                r = client.request("GET", "/v2/%s/manifests/%s" % (repo, tag),
                                   headers={"Accept": MT["oci"]["index"]})
                old = r.read()
                idx = json.loads(old) if r.status == 200 else {
                    "schemaVersion": 2, "mediaType": MT["oci"]["index"], "manifests": []}
                d = {"mediaType": MT["oci"]["manifest"], "digest": mb.digest, "size": mb.size,
                     "artifactType": opts.artifact_type}
                if ann:
                    d["annotations"] = ann
                idx["manifests"].append(d)
                ib = blobs.put_bytes(jdump(idx), MT["oci"]["index"])
                put_manifest(client, repo, tag, ib)
            print("%s@artifact %s" % (repo, digest or mb.digest))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    except (PushError, RuntimeError, OSError, ValueError) as e:
        die(str(e))


def main(argv=None):
    img = argparse.ArgumentParser(add_help=False)
    img.add_argument("--layers", type=int, default=2)
    img.add_argument("--layer-size", type=parse_size, default=4096)
    img.add_argument("--seed", default="0")
    img.add_argument("--created", help="the config's created (RFC 3339; default the epoch)")
    img.add_argument("--platform", type=parse_platform, action="append")
    img.add_argument("--compressible", action="store_true")
    p = argparse.ArgumentParser(description=__doc__, allow_abbrev=False,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("oci-layout", parents=[img], allow_abbrev=False)
    s.add_argument("dir")
    s.add_argument("--tag", action="append")
    s.add_argument("--format", choices=["docker", "oci"])
    s = sub.add_parser("oci-archive", parents=[img], allow_abbrev=False)
    s.add_argument("file")
    s.add_argument("--tag", action="append")
    s.add_argument("--format", choices=["docker", "oci"])
    s = sub.add_parser("docker-archive", parents=[img], allow_abbrev=False)
    s.add_argument("file")
    s.add_argument("--repo-tag", action="append", required=True)
    s.add_argument("--format", dest="archive_format", choices=["legacy", "oci"],
                   default="legacy")
    s.add_argument("--append", action="store_true",
                   help="add this image to an existing archive")
    s = sub.add_parser("seed", parents=[img], allow_abbrev=False)
    s.add_argument("url")
    s.add_argument("repo")
    s.add_argument("--tag", action="append")
    s.add_argument("--format", choices=["docker", "oci"])
    s.add_argument("--user")
    s.add_argument("--ca")
    s.add_argument("--many-tags", type=int, default=0)
    s.add_argument("--many-tags-prefix", default="tag-")
    s.add_argument("--repos", type=int, default=0)
    s.add_argument("--repo-prefix")
    s = sub.add_parser("artifact", allow_abbrev=False)
    s.add_argument("url")
    s.add_argument("repo")
    s.add_argument("--subject", required=True)
    s.add_argument("--artifact-type", default="application/vnd.dev.cosign.artifact.sig.v1+json")
    s.add_argument("--annotation", action="append")
    s.add_argument("--seed", default="0")
    s.add_argument("--tag-index", action="store_true")
    s.add_argument("--user")
    s.add_argument("--ca")
    opts = p.parse_args(argv)
    {"oci-layout": cmd_oci_layout, "oci-archive": cmd_oci_archive,
     "docker-archive": cmd_docker_archive, "seed": cmd_seed,
     "artifact": cmd_artifact}[opts.cmd](opts)


if __name__ == "__main__":
    main()
