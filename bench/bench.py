#!/usr/bin/python3
"""regship vs skopeo, same registry, same run, ratios.  Run it through bench/run (see README.md).

Every measured command is forked by bench/spawn (a small static C helper, built on the fly) which
times it with CLOCK_MONOTONIC and reaps it with wait4(): CPU = ru_utime + ru_stime, peak RSS =
ru_maxrss (KiB) of that child. (Forked straight from Python, a child's ru_maxrss would include
the ~20 MiB Python image it replaced at execve.) A sequence of commands counts the sum of the
wall and CPU times and the largest peak. Tools run alternately, A B A B ..., after a warm-up
round; each round gives one regship/skopeo ratio; the report gives medians.
Python 3 stdlib only; registries and fixtures come from tests/harness/.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HARNESS = os.path.join(ROOT, "tests", "harness")
PY = "/usr/bin/python3"
SKOPEO_ROOT_CACHE = "/var/lib/containers/cache"  # skopeo's blob-info cache dir when euid == 0
MIB = 1 << 20
NPROC = os.cpu_count() or 1

FULL = {"layers": 5, "layer_size": "100M", "big": "1G", "small": "1M", "tags": 5000,
        "digests": 100, "pairs": 5, "warmup": 1, "cotags": 2000, "promo_tags": 3000,
        "mirror_images": 40, "mirror_layer_size": "256K", "many_tags": 500,
        "wide_layers": 150, "wide_layer_size": "32K", "archive_big": "1G"}
QUICK = {"layers": 5, "layer_size": "2M", "big": "32M", "small": "1M", "tags": 200,
         "digests": 5, "pairs": 2, "warmup": 1, "cotags": 200, "promo_tags": 300,
         "mirror_images": 40, "mirror_layer_size": "16K", "many_tags": 50,
         "wide_layers": 150, "wide_layer_size": "32K", "archive_big": "16M"}

# median of the per-pair regship/skopeo wall-time ratios must be at most this
# absolute targets (seconds) for scenarios without a skopeo equivalent
TARGET_SECONDS = {"rm-cotags": 1.0}
# issue 16: mirror 0.30x skopeo sync; a docker archive needing gzip 0.60x; retag 0.10x; digest
# 0.35x; promotion among 3,000+ tags within 3x one `regship tags` + 0.2 s (TARGET_RELATIVE)
TARGETS = {"push-oci": 0.70, "push-docker-archive": 0.60, "repush": 0.50, "pull": 0.70,
           "copy-same-registry": 0.30, "retag": 0.10, "tags": 0.50, "digest": 0.35,
           "mirror": 0.30, "mirror-sync": 0.30, "push-docker-archive-big": 0.60}
# scenario id -> (tool measured against, factor, seconds): regship wall <= factor x other + s
TARGET_RELATIVE = {"promotion": ("regship-tags", 3.0, 0.2)}
# peak RSS (issue 16): registry-only commands 12 MiB, transfers 16 MiB, flat in layer size
REGISTRY_ONLY = ("retag", "tags", "digest", "rm-cotags", "promotion")
RSS_LIMIT_KIB = 16 * 1024
RSS_LIMIT_REGISTRY_KIB = 12 * 1024
RSS_GROWTH_LIMIT_KIB = 1024

MANIFEST_ACCEPT = ", ".join([
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json"])


class BenchError(Exception):
    pass


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def size_bytes(s):
    m = re.match(r"^(\d+)([KMG]?)$", s)
    if not m:
        raise argparse.ArgumentTypeError("invalid size %r (want N, NK, NM or NG)" % s)
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2)]


def run_quiet(argv, what, env=None, stdout=subprocess.PIPE):
    """An unmeasured helper command; raises BenchError with its output when it fails."""
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE,
                       env=env)
    if p.returncode != 0:
        err = (p.stderr or b"").decode(errors="replace").strip()[-2000:]
        raise BenchError("%s failed (exit %d): %s\n%s" % (what, p.returncode, " ".join(argv), err))
    return (p.stdout or b"").decode(errors="replace") if stdout == subprocess.PIPE else ""


# --- skopeo's blob-info cache -------------------------------------------------------------------

class CacheIsolation:
    """How skopeo is kept from reusing what an earlier run learned (blob-info-cache-v1.boltdb)."""

    def __init__(self, work, spawn):
        self.mode = "xdg"
        self.count = 0
        self.note = ("skopeo runs with HOME and XDG_DATA_HOME in a fresh empty directory, so its "
                     "blob-info cache ($XDG_DATA_HOME/containers/cache) starts empty every run")
        if os.geteuid() != 0:
            return
        os.makedirs(SKOPEO_ROOT_CACHE, mode=0o700, exist_ok=True)
        probe = os.path.join(work, "cache-probe")
        os.makedirs(probe, exist_ok=True)
        p = subprocess.run([spawn, "-b", probe, "-o", "/dev/null", "--", "/bin/true"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode == 0 and b"status=0" in p.stdout:
            self.mode = "bind"
            self.note = ("running as root, skopeo keeps its blob-info cache in %s; every skopeo "
                         "run gets its own mount namespace with a fresh empty directory bind-"
                         "mounted there (the machine's cache is not touched)" % SKOPEO_ROOT_CACHE)
        else:
            self.mode = "delete"
            self.note = ("running as root without mount namespaces: %s/blob-info-cache-v1.boltdb "
                         "is deleted before every skopeo run" % SKOPEO_ROOT_CACHE)
        shutil.rmtree(probe, ignore_errors=True)

    def prepare(self, run_dir):
        """Returns spawn's options for one skopeo command (each gets an empty cache)."""
        if self.mode == "bind":
            self.count += 1
            d = os.path.join(run_dir, "skopeo-cache-%d" % self.count)
            os.makedirs(d)
            return ["-b", d]
        if self.mode == "delete":
            try:
                os.unlink(os.path.join(SKOPEO_ROOT_CACHE, "blob-info-cache-v1.boltdb"))
            except FileNotFoundError:
                pass
        return []


def build_spawn(work):
    """bench/spawn.c: the small static parent every measured command is forked from."""
    src = os.path.join(HERE, "spawn.c")
    out = os.path.join(work, "spawn")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
        return out
    cc = os.environ.get("CC", "cc")
    base = [cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-o", out + ".tmp", src]
    p = subprocess.run(base + ["-static"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        run_quiet(base, "compiling bench/spawn.c")
    os.replace(out + ".tmp", out)
    return out


def build_startup_floor(work, regship):
    """`int main(void) { return 0; }` linked against the shared libraries regship's binary needs
    (its DT_NEEDED entries, by soname): what starting any process with them costs."""
    p = subprocess.run(["readelf", "-d", regship], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", p.stdout.decode())
    libs = [n for n in needed if not n.startswith(("libc.so", "ld-linux"))]
    if p.returncode != 0 or not libs:
        raise BenchError("readelf -d %s: no shared libraries found (%s)" % (
            regship, p.stderr.decode(errors="replace").strip()))
    src = os.path.join(work, "startup-floor.c")
    out = os.path.join(work, "startup-floor")
    with open(src, "w") as f:
        f.write("int main(void) { return 0; }\n")
    cc = os.environ.get("CC", "cc")
    run_quiet([cc, "-O2", "-o", out, src, "-Wl,--no-as-needed"] + ["-l:" + l for l in libs],
              "compiling the start-up floor")
    got = subprocess.run(["readelf", "-d", out], stdout=subprocess.PIPE).stdout.decode()
    missing = [l for l in libs if "[%s]" % l not in got]
    if missing:
        raise BenchError("the start-up floor does not link %s" % ", ".join(missing))
    return out, libs


# --- registries -----------------------------------------------------------------------------------


class Registry:
    """A docker-registry started by tests/harness/harness.py, optionally on a copy of a template."""

    def __init__(self, bench, name, template=None):
        bench.reg_counter += 1
        self.dir = os.path.join(bench.work, "reg", "%s-%d" % (name, bench.reg_counter))
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        if template is not None:
            clone_storage(template, os.path.join(self.dir, "data"))
        run_quiet([PY, os.path.join(HARNESS, "harness.py"), "start", "--variant", "plain",
                   "--dir", self.dir, "--owner-pid", str(os.getpid())], "starting a registry")
        env = {}
        with open(os.path.join(self.dir, "env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                env[k] = v.strip("'")
        self.addr, self.url = env["REG_ADDR"], env["REG_URL"]
        self.pid = int(env["REG_PID"])  # the docker-registry process itself (no shell between)
        bench.registries.append(self)

    def cpu_ticks(self):
        """utime + stime (+ cutime + cstime: it forks nothing, but count it if it did) of the
        docker-registry process, in clock ticks, from /proc/PID/stat; None once it is gone."""
        try:
            with open("/proc/%d/stat" % self.pid) as f:
                data = f.read()
        except OSError:
            return None
        fields = data[data.rfind(")") + 2:].split()
        return sum(int(x) for x in fields[11:15])

    @property
    def data(self):
        return os.path.join(self.dir, "data")

    def stop(self, bench, keep_data=False):
        run_quiet([PY, os.path.join(HARNESS, "harness.py"), "stop", "--dir", self.dir],
                  "stopping a registry")
        if self in bench.registries:
            bench.registries.remove(self)
        if not keep_data:
            shutil.rmtree(self.dir, ignore_errors=True)

    def head_manifest(self, repo, ref):
        req = urllib.request.Request("%s/v2/%s/manifests/%s" % (self.url, repo, ref),
                                     method="HEAD", headers={"Accept": MANIFEST_ACCEPT})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.headers.get("Docker-Content-Digest")
        except urllib.error.HTTPError:
            return None


def clone_storage(src, dst):
    """Copy a stopped registry's storage: blob data hard-linked (the registry never rewrites a
    blob in place), repository metadata (small link files, rewritten in place) copied."""
    run_quiet(["cp", "-al", src, dst], "cloning registry storage")
    repos = os.path.join("docker", "registry", "v2", "repositories")
    if os.path.isdir(os.path.join(src, repos)):
        shutil.rmtree(os.path.join(dst, repos))
        shutil.copytree(os.path.join(src, repos), os.path.join(dst, repos), symlinks=True)


# --- measuring ------------------------------------------------------------------------------------


class Cmd:
    def __init__(self, tool, argv, check=None, ok_rc=(0,)):
        self.tool, self.argv, self.check, self.ok_rc = tool, argv, check, ok_rc


CLK_TCK = os.sysconf("SC_CLK_TCK")


def registries_cpu(registries):
    """{pid: CPU ticks} of every registry the bench is running."""
    out = {}
    for reg in registries:
        t = reg.cpu_ticks()
        if t is not None:
            out[reg.pid] = t
    return out


def registries_cpu_delta(before, after):
    """CPU seconds the registries spent between two registries_cpu() snapshots."""
    return sum(after[p] - t for p, t in before.items() if p in after) / CLK_TCK


def measure_one(spawn, argv, out_path, err_path, env, extra=(), registries=()):
    """Runs argv under bench/spawn (see spawn.c for why); returns its numbers, with the CPU
    time every running registry spent meanwhile (registry_cpu, from /proc/PID/stat)."""
    reg0 = registries_cpu(registries)
    p = subprocess.run([spawn] + list(extra) + ["-o", out_path, "-e", err_path, "--"] + argv,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env)
    reg_cpu = registries_cpu_delta(reg0, registries_cpu(registries))
    m = dict(kv.split("=", 1) for kv in p.stdout.decode().split())
    if p.returncode != 0 or "status" not in m:
        raise BenchError("bench/spawn failed (exit %d): %s" % (
            p.returncode, p.stderr.decode(errors="replace")))
    user, sys_ = float(m["user"]), float(m["sys"])
    return {"wall": float(m["wall"]), "user": user, "sys": sys_, "cpu": user + sys_,
            "maxrss_kib": int(m["maxrss"]), "rc": int(m["status"]), "registry_cpu": reg_cpu}


def fresh_env(run_dir):
    """Nothing from our environment but PATH and locale; HOME and every XDG dir fresh."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    for k, sub in (("HOME", "home"), ("XDG_CACHE_HOME", "cache"), ("XDG_DATA_HOME", "data"),
                   ("XDG_CONFIG_HOME", "config"), ("XDG_RUNTIME_DIR", "runtime"),
                   ("TMPDIR", "tmp")):
        env[k] = os.path.join(run_dir, sub)
        os.makedirs(env[k], mode=0o700, exist_ok=True)
    return env


# --- the benchmark ----------------------------------------------------------------------------------


class Bench:
    def __init__(self, opts):
        self.opts = opts
        self.work = os.path.abspath(opts.work)
        self.registries = []
        self.reg_counter = 0
        self.run_counter = 0
        self.results = []
        os.makedirs(self.work, exist_ok=True)
        self.runs_dir = os.path.join(self.work, "runs")
        shutil.rmtree(self.runs_dir, ignore_errors=True)
        os.makedirs(self.runs_dir)
        self.spawn = build_spawn(self.work)
        self.cache = CacheIsolation(self.work, self.spawn)
        floor = measure_one(self.spawn, ["/bin/true"], "/dev/null", "/dev/null", None)
        self.floor_kib = floor["maxrss_kib"]
        self.regship = opts.regship
        self.has_retag = subprocess.run([self.regship, "retag", "-h"], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL).returncode == 0
        self.templates = {}
        self.startup_floor, self.startup_libs = build_startup_floor(self.work, self.regship)

    # - commands -

    def regship_cmd(self, *args):
        return [self.regship, "-q"] + list(args)

    def skopeo_copy(self, src, dst):
        argv = ["skopeo", "--insecure-policy", "copy", "-q"]
        if src.startswith("docker://"):
            argv.append("--src-tls-verify=false")
        if dst.startswith("docker://"):
            argv.append("--dest-tls-verify=false")
        return argv + [src, dst]

    def run_tool(self, name, cmds):
        """Runs cmds (one tool's turn) in a fresh run dir; returns the combined measurement."""
        self.run_counter += 1
        run_dir = os.path.join(self.runs_dir, "%04d-%s" % (
            self.run_counter, re.sub(r"[^A-Za-z0-9_.-]+", "_", name)))
        os.makedirs(run_dir)
        env = fresh_env(run_dir)
        out, err = os.path.join(run_dir, "stdout"), os.path.join(run_dir, "stderr")
        parts = []
        for c in cmds:
            extra = self.cache.prepare(run_dir) if c.tool == "skopeo" else []
            argv = c.argv
            if c.tool == "skopeo":
                argv = argv[:1] + ["--tmpdir", env["TMPDIR"]] + argv[1:]
            m = measure_one(self.spawn, argv, out, err, env, extra, self.registries)
            if m["rc"] not in c.ok_rc:
                with open(err, errors="replace") as f:
                    tail = f.read()[-3000:]
                raise BenchError("%s exited %d: %s\n%s" % (name, m["rc"], " ".join(argv), tail))
            parts.append(m)
        with open(out, errors="replace") as f:
            stdout = f.read()
        for c in cmds:
            if c.check:
                c.check(stdout)
        shutil.rmtree(run_dir, ignore_errors=True)
        return {"wall": sum(p["wall"] for p in parts),
                "cpu": sum(p["cpu"] for p in parts), "user": sum(p["user"] for p in parts),
                "sys": sum(p["sys"] for p in parts),
                "registry_cpu": sum(p["registry_cpu"] for p in parts),
                "maxrss_kib": max(p["maxrss_kib"] for p in parts), "processes": len(parts)}

    def scenario(self, sid, title, tools, setup=None, teardown=None, note=None):
        """tools: list of (name, per_run) where per_run(round) -> (cmds, after) and after() is
        an unmeasured check/cleanup.  Rounds: warm-up + pairs, tools in order within a round."""
        log("scenario %s: %s" % (sid, title))
        t_start = time.monotonic()
        state = setup() if setup else None
        runs = []
        rounds = self.opts.warmup + self.opts.pairs
        try:
            for r in range(rounds):
                warm = r < self.opts.warmup
                for name, per_run in tools:
                    cmds, after = per_run(state, r)
                    m = self.run_tool(name, cmds)
                    if after:
                        after()
                    m.update({"tool": name, "round": r, "warmup": warm})
                    runs.append(m)
                    log("  %-4s %-12s round %d%s: wall %7.3fs  cpu %7.3fs  registry cpu "
                        "%7.3fs  rss %6.1f MiB" % (
                            sid, name, r, " (warm-up)" if warm else "", m["wall"], m["cpu"],
                            m["registry_cpu"], m["maxrss_kib"] / 1024))
        finally:
            if teardown:
                teardown(state)
        res = {"id": sid, "title": title, "tools": [t[0] for t in tools], "runs": runs,
               "target_wall_ratio": TARGETS.get(sid), "note": note,
               "target_wall_s": TARGET_SECONDS.get(sid),
               "scenario_seconds": time.monotonic() - t_start}
        summarize(res)
        self.results.append(res)
        return res

    # - fixtures -

    def fixtures(self):
        o = self.opts
        key = "l%d-%s-big%s-small%s" % (o.layers, o.layer_size, o.big, o.small)
        d = os.path.join(self.work, "fixtures-" + key)
        stamp = os.path.join(d, "done")
        fx = [PY, os.path.join(HARNESS, "fixture.py")]
        if not os.path.exists(stamp):
            log("generating fixtures in %s (fixture.py; once per size set)" % d)
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            common = ["--layers", str(o.layers), "--layer-size", o.layer_size, "--seed", "bench"]
            run_quiet(fx + ["oci-layout", os.path.join(d, "oci"), "--tag", "v1"] + common,
                      "fixture oci-layout")
            run_quiet(fx + ["docker-archive", os.path.join(d, "image.tar"), "--repo-tag",
                            "bench/img:v1"] + common, "fixture docker-archive")
            for name, size in (("small", o.small), ("big", o.big)):
                run_quiet(fx + ["oci-layout", os.path.join(d, name), "--tag", "v1", "--layers",
                                "1", "--layer-size", size, "--seed", "bench-" + name],
                          "fixture oci-layout (%s)" % name)
            open(stamp, "w").close()
        self.fx = d
        self.oci = os.path.join(d, "oci")
        self.archive = os.path.join(d, "image.tar")
        with open(os.path.join(self.oci, "index.json")) as f:
            index = json.load(f)
        mdigest = index["manifests"][0]["digest"]
        with open(os.path.join(self.oci, "blobs", "sha256", mdigest.split(":")[1])) as f:
            manifest = json.load(f)
        self.layer_blobs = [(os.path.join(self.oci, "blobs", "sha256",
                                          l["digest"].split(":")[1]), l["digest"])
                            for l in manifest["layers"]]
        self.oci_digest = mdigest

    def template(self, name, pushes):
        """Registry storage holding `pushes` [(oci dir, repo:tag)], made once with regship."""
        if name not in self.templates:
            reg = Registry(self, "tmpl-" + name)
            for src, dst in pushes:
                run_quiet(self.regship_cmd("push", "oci:%s:v1" % src, "%s/%s" % (reg.addr, dst)),
                          "seeding the %s template" % name, env=fresh_env(
                              os.path.join(self.work, "seed-env")))
            reg.stop(self, keep_data=True)
            self.templates[name] = reg.data
        return self.templates[name]

    # - scenarios -

    def expect_manifest(self, reg, repo, ref, digest=None):
        def check():
            got = reg.head_manifest(repo, ref)
            if not got or (digest and got != digest):
                raise BenchError("%s/%s:%s: manifest %s after the run (want %s)" % (
                    reg.addr, repo, ref, got or "missing", digest or "one"))
        return check

    def push_scenario(self, sid, title, src_regship, src_skopeo, digest, baselines=False,
                      floors=None, note=None):
        """floors: {name: fn(reg) -> argv}, run in the same rounds against their own fresh
        registry, checked only by their exit code."""
        floors = floors or {}

        def per_tool(tool):
            def per_run(state, r):
                reg = Registry(self, sid)
                dst = "%s/bench/img:v1" % reg.addr
                if tool in floors:
                    cmds = [Cmd(tool, floors[tool](reg))]
                elif tool == "regship":
                    cmds = [Cmd("regship", self.regship_cmd("push", src_regship, dst))]
                elif tool == "skopeo":
                    cmds = [Cmd("skopeo", self.skopeo_copy(src_skopeo, "docker://" + dst))]
                else:
                    cmds = [Cmd(tool, ["/bin/sh", "-c", self.curl_script(reg, tool == "curl-par")])]
                check = None if tool.startswith("curl") or tool in floors else \
                    self.expect_manifest(reg, "bench/img", "v1", digest)

                def after():
                    try:
                        if check:
                            check()
                    finally:
                        reg.stop(self)
                return cmds, after
            return per_run

        names = ["regship", "skopeo"] + (["curl-seq", "curl-par"] if baselines else []) + \
            list(floors)
        if baselines:
            note = ("curl-seq/curl-par: the %d layer blobs uploaded with curl (monolithic POST + "
                    "PUT of the file), one after another / all at once; no config or manifest" %
                    len(self.layer_blobs))
        return self.scenario(sid, title, [(n, per_tool(n)) for n in names], note=note)

    def curl_script(self, reg, parallel):
        lines = ["set -e", "up() {",
                 "  loc=$(curl -sS -f -X POST -o /dev/null -w '%%header{location}' "
                 "'%s/v2/bench/img/blobs/uploads/')" % reg.url,
                 "  [ -n \"$loc\" ] || { echo 'no Location' >&2; exit 1; }",
                 "  curl -sS -f -o /dev/null -T \"$1\" -H 'Content-Type: application/octet-stream'"
                 " -H 'Expect:' \"$loc&digest=$2\"", "}"]
        if parallel:
            lines.append("pids=")
            for path, digest in self.layer_blobs:
                lines.append("up '%s' '%s' & pids=\"$pids $!\"" % (path, digest))
            lines.append("for p in $pids; do wait $p; done")
        else:
            for path, digest in self.layer_blobs:
                lines.append("up '%s' '%s'" % (path, digest))
        return "\n".join(lines) + "\n"

    def run_all(self):
        o = self.opts
        want = set(o.only.split(",")) if o.only else None

        def on(sid):
            return want is None or sid in want or sid.split("-")[0] in want

        self.fixtures()
        oci_ref = "oci:%s:v1" % self.oci
        img = [(self.oci, "bench/img:v1")]

        if on("push-oci"):
            self.push_scenario("push-oci", "1. push an OCI layout (%d x %s incompressible layers) "
                               "to an empty registry" % (o.layers, o.layer_size),
                               oci_ref, oci_ref, self.oci_digest, baselines=True)
        if on("push-docker-archive"):
            self.push_scenario("push-docker-archive", "2. push a docker-archive (same %d layers, "
                               "uncompressed; gzip on the way)" % o.layers,
                               "docker-archive:" + self.archive, "docker-archive:" + self.archive,
                               None)
        if on("repush"):
            self.shared_registry_scenario(
                "repush", "3. push the OCI layout again: every blob present", "img", img,
                lambda reg, r: [Cmd("regship", self.regship_cmd(
                    "push", oci_ref, "%s/bench/img:v1" % reg.addr))],
                lambda reg, r: [Cmd("skopeo", self.skopeo_copy(
                    oci_ref, "docker://%s/bench/img:v1" % reg.addr))])
        if on("pull"):
            self.pull_scenario("pull", "4. pull the image to an OCI layout (digests verified)",
                               "img", img, "bench/img")
        if on("copy-same-registry"):
            def copy_same(tool):
                def cmds(reg, r):
                    src, dst = "%s/bench/img:v1" % reg.addr, "%s/bench/copy:v1" % reg.addr
                    if tool == "regship":
                        return [Cmd(tool, self.regship_cmd("copy", src, dst))]
                    return [Cmd(tool, self.skopeo_copy("docker://" + src, "docker://" + dst))]
                return cmds
            self.fresh_registry_scenario(
                "copy-same-registry", "5a. copy to another repository of the same registry",
                "img", img, copy_same("regship"), copy_same("skopeo"), "bench/copy", "v1")
        if on("copy-cross-registry"):
            self.cross_copy_scenario()
        if on("retag"):
            def retag_regship(reg, r):
                src = "%s/bench/img:v1" % reg.addr
                tags = ["r%d-%d" % (r, i) for i in range(1, 5)]
                if self.has_retag:
                    return [Cmd("regship", self.regship_cmd("retag", src, *tags))]
                return [Cmd("regship", self.regship_cmd("copy", src, "%s/bench/img:%s" % (
                    reg.addr, t))) for t in tags]

            def retag_skopeo(reg, r):
                src = "docker://%s/bench/img:v1" % reg.addr
                return [Cmd("skopeo", self.skopeo_copy(src, "docker://%s/bench/img:r%d-%d" % (
                    reg.addr, r, i))) for i in range(1, 5)]
            manifest_file = os.path.join(self.oci, "blobs", "sha256",
                                         self.oci_digest.split(":")[1])

            def retag_curl(reg, r):
                # what retag sends: GET the manifest, HEAD each new tag (one process, one
                # connection), then the 4 PUTs at once
                base = "%s/v2/bench/img/manifests/" % reg.url
                urls = ["%sf%d-%d" % (base, r, i) for i in range(1, 5)]
                script = ("set -e\n"
                          "curl -sS -f -o /dev/null -H 'Accept: %s' '%sv1' --next -sS -o /dev/null"
                          " -I %s\n" % (MANIFEST_ACCEPT, base, " ".join(
                              "'%s'" % u for u in urls)) +
                          "curl -sS -f --parallel -o /dev/null -X PUT -H 'Content-Type: "
                          "application/vnd.oci.image.manifest.v1+json' %s\n" % " ".join(
                              "-T '%s' '%s'" % (manifest_file, u) for u in urls))
                return [Cmd("floor: curl", ["/bin/sh", "-c", script])]
            self.fresh_registry_scenario(
                "retag", "6. put the image under 4 more tags (regship %s; skopeo: 4 copies)" % (
                    "retag" if self.has_retag else "copy x4: `regship retag` not available"),
                "img", img, retag_regship, retag_skopeo, "bench/img", None,
                expect_tags=lambda r: ["r%d-%d" % (r, i) for i in range(1, 5)],
                floors=[("floor: start-up", lambda reg, r: [
                    Cmd("floor: start-up", [self.startup_floor])], lambda r: ["v1"]),
                        ("floor: curl", retag_curl,
                         lambda r: ["f%d-%d" % (r, i) for i in range(1, 5)])],
                note="floor: start-up = one empty main() linked like regship (%s); floor: curl = "
                     "the requests retag sends (GET manifest, 4 HEAD, then 4 PUT at once) with "
                     "two curl processes" % ", ".join(self.startup_libs))
        if on("tags") or on("digest") or on("rm-cotags"):
            self.tags_scenarios(on)
        if on("memory"):
            self.memory_scenarios()
        # issue 16: work that grows in count rather than in bytes
        if on("wide-push") or on("wide-pull"):
            self.wide_scenarios(on)
        if on("mirror"):
            self.mirror_scenario()
        if on("copy-many-tags"):
            self.many_tags_scenario()
        if on("promotion"):
            self.promotion_scenario()
        if on("push-docker-archive-big"):
            self.big_archive_scenario()

    # - issue 16: fleet scale -

    def seeded_template(self, name, seeds):
        """Registry storage made once with fixture.py seed: seeds = [[seed arguments]]."""
        if name not in self.templates:
            reg = Registry(self, "tmpl-" + name)
            outs = []
            for args in seeds:
                outs.append(run_quiet([PY, os.path.join(HARNESS, "fixture.py"), "seed",
                                       reg.url] + args, "seeding the %s template" % name))
            reg.stop(self, keep_data=True)
            self.templates[name] = reg.data
            self.templates[name + ":out"] = "".join(outs)
        return self.templates[name], self.templates[name + ":out"]

    def wide_scenarios(self, on):
        o = self.opts
        d = os.path.join(self.work, "fixtures-wide-%d-%s" % (o.wide_layers, o.wide_layer_size))
        if not os.path.exists(os.path.join(d, "done")):
            shutil.rmtree(d, ignore_errors=True)
            run_quiet([PY, os.path.join(HARNESS, "fixture.py"), "oci-layout", os.path.join(d, "oci"),
                       "--tag", "v1", "--layers", str(o.wide_layers), "--layer-size",
                       o.wide_layer_size, "--seed", "bench-wide"], "fixture oci-layout (wide)")
            open(os.path.join(d, "done"), "w").close()
        lay = os.path.join(d, "oci")
        with open(os.path.join(lay, "index.json")) as f:
            digest = json.load(f)["manifests"][0]["digest"]
        ref = "oci:%s:v1" % lay
        if on("wide-push"):
            self.push_scenario("wide-push", "9a. push a wide image (%d layers of %s)" % (
                o.wide_layers, o.wide_layer_size), ref, ref, digest)
        if on("wide-pull"):
            self.pull_scenario("wide-pull", "9b. pull the wide image (%d layers of %s)" % (
                o.wide_layers, o.wide_layer_size), "wide", [(lay, "bench/img:v1")], "bench/img")

    def expect_tags(self, reg, repo, want):
        """A check: every (tag, digest) of want is on reg."""
        def check():
            for tag, digest in want:
                got = reg.head_manifest(repo, tag)
                if got != digest:
                    raise BenchError("%s/%s:%s: manifest %s after the run (want %s)" % (
                        reg.addr, repo, tag, got or "missing", digest))
        return check

    def sync_scenario(self, sid, title, template, repo, want, note=None, verb="copy"):
        """regship copy --all-tags (verb "copy") or regship sync (verb "sync") vs skopeo sync,
        source registry from template, fresh dest."""
        def per(tool):
            def per_run(src_reg, r):
                dst_reg = Registry(self, sid + "-dst")
                src = "%s/%s" % (src_reg.addr, repo)
                if tool == "regship" and verb == "sync":
                    # named as skopeo names it: DEST/<last path component>
                    cmds = [Cmd(tool, self.regship_cmd("sync", src, "%s/%s" % (
                        dst_reg.addr, repo.rsplit("/", 1)[0])))]
                elif tool == "regship":
                    cmds = [Cmd(tool, self.regship_cmd("copy", "--all-tags", src,
                                                       "%s/%s" % (dst_reg.addr, repo)))]
                else:
                    # skopeo sync puts the repository's last path component under DEST
                    cmds = [Cmd(tool, ["skopeo", "--insecure-policy", "sync", "--src",
                                       "docker", "--dest", "docker", "--src-tls-verify=false",
                                       "--dest-tls-verify=false", src, "%s/%s" % (
                                           dst_reg.addr, repo.rsplit("/", 1)[0])])]
                check = self.expect_tags(dst_reg, repo, want)

                def after():
                    try:
                        check()
                    finally:
                        dst_reg.stop(self)
                return cmds, after
            return per_run
        return self.scenario(sid, title, [("regship", per("regship")), ("skopeo", per("skopeo"))],
                             setup=lambda: Registry(self, sid + "-src", template),
                             teardown=lambda reg: reg.stop(self), note=note)

    def mirror_scenario(self):
        o = self.opts
        n = o.mirror_images
        template, out = self.seeded_template("mirror", [
            ["bench/mirror", "--tag", "i%02d" % i, "--layers", "2", "--layer-size",
             o.mirror_layer_size, "--seed", "mirror-%d" % i] for i in range(n)])
        want = [(l.split()[0].split(":")[1], l.split()[1]) for l in out.splitlines()]
        self.sync_scenario("mirror", "10a. mirror %d distinct images (2 x %s layers, one tag "
                           "each) to another registry: copy --all-tags vs skopeo sync" % (
                               n, o.mirror_layer_size), template, "bench/mirror", want)
        # the same with regship sync (the same engine, rs_copy_tags_pairs)
        self.sync_scenario("mirror-sync", "10c. mirror %d distinct images (2 x %s layers, one "
                           "tag each) to another registry: regship sync vs skopeo sync" % (
                               n, o.mirror_layer_size), template, "bench/mirror", want,
                           verb="sync")

    def many_tags_scenario(self):
        o = self.opts
        template, out = self.seeded_template("manytags", [
            ["bench/many", "--many-tags", str(o.many_tags), "--layers", "2", "--layer-size",
             o.mirror_layer_size, "--seed", "many"]])
        lines = out.splitlines()
        # every tag names the one manifest: check the first and the last
        want = [(l.split()[0].split(":")[1], l.split()[1]) for l in (lines[0], lines[-1])]
        self.sync_scenario("copy-many-tags", "10b. copy one image under %d tags to another "
                           "registry: copy --all-tags vs skopeo sync" % o.many_tags, template,
                           "bench/many", want)

    def promotion_scenario(self):
        o = self.opts
        template, out = self.seeded_template("promo", [
            ["bench/promo", "--many-tags", str(o.promo_tags), "--seed", "promo-filler"],
            ["bench/promo", "--tag", "3.1.0", "--tag", "3.1", "--tag", "3", "--tag", "latest",
             "--seed", "promo-old"],
            ["bench/promo", "--tag", "3.1.1", "--seed", "promo-new"]])
        new = [l.split()[1] for l in out.splitlines() if l.startswith("bench/promo:3.1.1 ")][0]

        def retag(reg, r):
            return [Cmd("regship", self.regship_cmd("retag", "--semver",
                                                    "%s/bench/promo:3.1.1" % reg.addr))]

        def tags(reg, r):
            return [Cmd("regship-tags", self.regship_cmd("tags", "%s/bench/promo" % reg.addr))]

        def per(fn, check):
            def per_run(state, r):
                reg = Registry(self, "promotion", template)

                def after():
                    try:
                        if check:
                            self.expect_tags(reg, "bench/promo", [
                                (t, new) for t in ("3.1", "3", "latest")])()
                    finally:
                        reg.stop(self)
                return fn(reg, r), after
            return per_run
        if not self.has_retag:
            log("promotion: `regship retag` not available, skipped")
            return None
        return self.scenario("promotion", "11. promote 3.1.1 (retag --semver: 3.1, 3, latest) "
                             "among %d tags, vs one `regship tags`" % (o.promo_tags + 5),
                             [("regship", per(retag, True)),
                              ("regship-tags", per(tags, False))],
                             note="target: regship retag --semver <= 3 x regship tags + 0.2 s")

    def big_archive_scenario(self):
        o = self.opts
        d = os.path.join(self.work, "fixtures-archive-%s" % o.archive_big)
        tar = os.path.join(d, "big.tar")
        if not os.path.exists(os.path.join(d, "done")):
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            log("generating a %s docker archive" % o.archive_big)
            run_quiet([PY, os.path.join(HARNESS, "fixture.py"), "docker-archive", tar,
                       "--repo-tag", "bench/img:v1", "--layers", "1", "--layer-size",
                       o.archive_big, "--seed", "bench-archive-big"], "fixture docker-archive")
            open(os.path.join(d, "done"), "w").close()
        blob, blob_digest = self.pushed_layer(tar)

        def floor_curl(reg):
            # the compressed layer regship sends, from a file, in one streamed (chunked) PATCH
            # and a final PUT ?digest=, as regship sends it: the registry's ingest alone
            return ["/bin/sh", "-c", "\n".join([
                "set -e",
                "loc=$(curl -sS -f -X POST -o /dev/null -w '%%header{location}' "
                "'%s/v2/bench/img/blobs/uploads/')" % reg.url,
                "loc=$(curl -sS -f -X PATCH -o /dev/null -w '%%header{location}' -T '%s' "
                "-H 'Transfer-Encoding: chunked' -H 'Content-Type: application/octet-stream' "
                "-H 'Expect:' \"$loc\")" % blob,
                "curl -sS -f -X PUT -o /dev/null -T /dev/null \"$loc&digest=%s\"" % blob_digest,
                ""])]
        return self.push_scenario("push-docker-archive-big", "12. push a docker-archive with one "
                                  "%s layer (uncompressed; gzip on the way)" % o.archive_big,
                                  "docker-archive:" + tar, "docker-archive:" + tar, None,
                                  floors={"floor: curl": floor_curl},
                                  note="floor: curl = the %d-byte gzip layer regship sends, "
                                       "uploaded from a file with curl: POST, one chunked PATCH, "
                                       "PUT ?digest=" % os.path.getsize(blob))

    def pushed_layer(self, tar):
        """The one compressed layer `regship push docker-archive:TAR` sends (pushed once to a
        template registry, unmeasured): (path of the blob file in that storage, its digest)."""
        if "bigarchive" not in self.templates:
            reg = Registry(self, "tmpl-bigarchive")
            run_quiet(self.regship_cmd("push", "docker-archive:" + tar,
                                       "%s/bench/img:v1" % reg.addr),
                      "pushing the big archive once", env=fresh_env(
                          os.path.join(self.work, "seed-env")))
            req = urllib.request.Request("%s/v2/bench/img/manifests/v1" % reg.url,
                                         headers={"Accept": MANIFEST_ACCEPT})
            with urllib.request.urlopen(req, timeout=60) as r:
                layers = json.load(r)["layers"]
            reg.stop(self, keep_data=True)
            self.templates["bigarchive"] = reg.data
            self.templates["bigarchive:layer"] = layers[0]["digest"]
        digest = self.templates["bigarchive:layer"]
        hexd = digest.split(":", 1)[1]
        path = os.path.join(self.templates["bigarchive"], "docker", "registry", "v2", "blobs",
                            "sha256", hexd[:2], hexd, "data")
        if not os.path.isfile(path):
            raise BenchError("pushed layer %s not found in the template storage" % digest)
        return path, digest

    def shared_registry_scenario(self, sid, title, tmpl, pushes, regship_cmds, skopeo_cmds):
        template = self.template(tmpl, pushes)

        def setup():
            return Registry(self, sid, template)

        def per(fn):
            return lambda reg, r: (fn(reg, r), self.expect_manifest(reg, "bench/img", "v1",
                                                                     self.oci_digest))
        return self.scenario(sid, title, [("regship", per(regship_cmds)),
                                          ("skopeo", per(skopeo_cmds))],
                             setup=setup, teardown=lambda reg: reg.stop(self))

    def fresh_registry_scenario(self, sid, title, tmpl, pushes, regship_cmds, skopeo_cmds,
                                check_repo, check_tag, expect_tags=None, floors=(), note=None):
        """floors: [(name, cmds_fn, expect_tags_fn or None)] run in the same rounds."""
        template = self.template(tmpl, pushes)

        def per(fn, tags_fn):
            def per_run(state, r):
                reg = Registry(self, sid, template)

                def after():
                    try:
                        for t in (tags_fn(r) if tags_fn else [check_tag]):
                            self.expect_manifest(reg, check_repo, t, self.oci_digest)()
                    finally:
                        reg.stop(self)
                return fn(reg, r), after
            return per_run
        return self.scenario(sid, title, [("regship", per(regship_cmds, expect_tags)),
                                          ("skopeo", per(skopeo_cmds, expect_tags))] +
                             [(n, per(fn, tf)) for n, fn, tf in floors], note=note)

    def pull_scenario(self, sid, title, tmpl, pushes, repo, note=None):
        template = self.template(tmpl, pushes)
        out_base = os.path.join(self.work, "pull-out")

        def per(tool):
            def per_run(reg, r):
                out = os.path.join(out_base, "%s-%d" % (tool, r))
                shutil.rmtree(out, ignore_errors=True)
                os.makedirs(out_base, exist_ok=True)
                src = "%s/%s:v1" % (reg.addr, repo)
                if tool == "regship":
                    cmds = [Cmd(tool, self.regship_cmd("pull", src, "oci:%s:v1" % out))]
                else:
                    cmds = [Cmd(tool, self.skopeo_copy("docker://" + src, "oci:%s:v1" % out))]

                def after():
                    try:
                        with open(os.path.join(out, "index.json")) as f:
                            if not json.load(f).get("manifests"):
                                raise BenchError("%s wrote an empty index.json" % tool)
                    finally:
                        shutil.rmtree(out, ignore_errors=True)
                return cmds, after
            return per_run
        return self.scenario(sid, title, [("regship", per("regship")), ("skopeo", per("skopeo"))],
                             setup=lambda: Registry(self, sid, template),
                             teardown=lambda reg: reg.stop(self), note=note)

    def cross_copy_scenario(self):
        template = self.template("img", [(self.oci, "bench/img:v1")])

        def per(tool):
            def per_run(src_reg, r):
                dst_reg = Registry(self, "copy-dst")
                src = "%s/bench/img:v1" % src_reg.addr
                dst = "%s/bench/img:v1" % dst_reg.addr
                if tool == "regship":
                    cmds = [Cmd(tool, self.regship_cmd("copy", src, dst))]
                else:
                    cmds = [Cmd(tool, self.skopeo_copy("docker://" + src, "docker://" + dst))]
                check = self.expect_manifest(dst_reg, "bench/img", "v1", self.oci_digest)

                def after():
                    try:
                        check()
                    finally:
                        dst_reg.stop(self)
                return cmds, after
            return per_run
        return self.scenario("copy-cross-registry", "5b. copy between two registries",
                             [("regship", per("regship")), ("skopeo", per("skopeo"))],
                             setup=lambda: Registry(self, "copy-src", template),
                             teardown=lambda reg: reg.stop(self))

    def tags_scenarios(self, on):
        o = self.opts
        reg = Registry(self, "tags")
        try:
            log("seeding %d tags (fixture.py seed)" % o.tags)
            out = run_quiet([PY, os.path.join(HARNESS, "fixture.py"), "seed", reg.url,
                             "bench/tags", "--many-tags", str(o.tags)], "seeding tags")
            digest = out.split()[1]
            ref = "%s/bench/tags:tag-0000" % reg.addr

            def check_tags(stdout):
                n = stdout.count("tag-")
                if n != o.tags:
                    raise BenchError("tag list: %d tags in the output, want %d" % (n, o.tags))

            def check_digest(stdout):
                got = stdout.split()
                if len(got) != o.digests or set(got) != {digest}:
                    raise BenchError("digest: output %r..., want %d x %s" % (
                        got[:2], o.digests, digest))
            startup = "floor: start-up = an empty main() linked like regship (%s)" % ", ".join(
                self.startup_libs)
            if on("tags"):
                self.scenario("tags", "7a. list %d tags" % o.tags, [
                    ("regship", lambda s, r: ([Cmd("regship", self.regship_cmd(
                        "tags", "%s/bench/tags" % reg.addr), check_tags)], None)),
                    ("skopeo", lambda s, r: ([Cmd("skopeo", [
                        "skopeo", "list-tags", "--tls-verify=false",
                        "docker://%s/bench/tags" % reg.addr], check_tags)], None)),
                    ("floor: start-up", lambda s, r: ([Cmd("floor: start-up", [
                        self.startup_floor])], None)),
                    # docker-registry 2.8 sends every tag in one answer when no n= is asked
                    # for (check_tags fails if a page were missing)
                    ("floor: curl", lambda s, r: ([Cmd("floor: curl", [
                        "curl", "-sS", "-f", "%s/v2/bench/tags/tags/list" % reg.url],
                        check_tags)], None))],
                    note=startup + "; floor: curl = one GET of the tag list")
            if on("digest"):
                rc = [Cmd("regship", self.regship_cmd("digest", ref)) for _ in range(o.digests)]
                rc[-1].check = check_digest
                sc = [Cmd("skopeo", ["skopeo", "inspect", "--tls-verify=false", "--format",
                                     "{{.Digest}}", "docker://" + ref]) for _ in range(o.digests)]
                sc[-1].check = check_digest
                fs = [Cmd("floor: start-up", [self.startup_floor]) for _ in range(o.digests)]

                def check_heads(stdout):
                    n = len(re.findall(r"^docker-content-digest: %s\s*$" % re.escape(digest),
                                       stdout, re.M | re.I))
                    if n != o.digests:
                        raise BenchError("curl -I: %d right digests, want %d" % (n, o.digests))
                fc = [Cmd("floor: curl", ["curl", "-sS", "-f", "-I", "-H", "Accept: " +
                                          MANIFEST_ACCEPT, "%s/v2/bench/tags/manifests/tag-0000"
                                          % reg.url]) for _ in range(o.digests)]
                fc[-1].check = check_heads
                self.scenario("digest", "7b. resolve a digest %d times (sequential commands)"
                              % o.digests, [("regship", lambda s, r: (rc, None)),
                                            ("skopeo", lambda s, r: (sc, None)),
                                            ("floor: start-up", lambda s, r: (fs, None)),
                                            ("floor: curl", lambda s, r: (fc, None))],
                              note="time = all %d commands; CPU summed; RSS = largest; %s "
                                   "(x %d); floor: curl = %d x curl -I of the manifest" % (
                                       o.digests, startup, o.digests, o.digests))
            if on("rm-cotags"):
                # its own repository: the manifest under --cotags tags (issue 16: 2,000)
                log("seeding %d co-tags (fixture.py seed)" % o.cotags)
                out = run_quiet([PY, os.path.join(HARNESS, "fixture.py"), "seed", reg.url,
                                 "bench/cotags", "--many-tags", str(o.cotags)], "seeding tags")
                ref = "%s/bench/cotags:tag-0000" % reg.addr
                cotags = [l.split()[0].split(":", 1)[1] for l in out.splitlines() if l.strip()]
                cfg = os.path.join(self.work, "cotags-heads.curlrc")
                with open(cfg, "w") as f:
                    f.write('head\nsilent\nshow-error\nfail\nheader = "Accept: %s"\n' %
                            MANIFEST_ACCEPT)
                    for t in cotags:
                        f.write('url = "%s/v2/bench/cotags/manifests/%s"\n' % (reg.url, t))
                cotag_digest = out.split()[1]

                def check_heads(stdout):
                    n = len(re.findall(r"^docker-content-digest: %s\s*$" % re.escape(
                        cotag_digest), stdout, re.M | re.I))
                    if n != o.cotags:
                        raise BenchError("curl HEADs: %d right digests, want %d" % (n, o.cotags))
                # the requests rm sends to find the co-tags: the tag list, then one HEAD per
                # tag, 8 at a time (HEAD_JOBS in lib/image/retag.c), from one curl process
                floor_rm = ["/bin/sh", "-c", "set -e\ncurl -sS -f -o /dev/null "
                            "'%s/v2/bench/cotags/tags/list'\ncurl --parallel --parallel-max 8 "
                            "-K '%s'\n" % (reg.url, cfg)]

                def check_rm(stdout):
                    d = json.loads(stdout)
                    if d.get("deleted") or len(d.get("tags", [])) != o.cotags:
                        raise BenchError("rm: want a refusal listing %d tags, got %r..." % (
                            o.cotags, stdout[:200]))
                # every tag points at one manifest: rm finds the other tags (parallel HEADs),
                # refuses (exit 1) and lists them; skopeo has no such check to compare with
                self.scenario("rm-cotags", "7c. rm refusing: the manifest has %d other tags"
                              % (o.cotags - 1), [
                                  ("regship", lambda s, r: ([Cmd("regship", self.regship_cmd(
                                      "rm", "--json", ref), check_rm, ok_rc=(1,))], None)),
                                  ("floor: curl", lambda s, r: ([Cmd("floor: curl", floor_rm,
                                                                     check_heads)], None))],
                              note="regship only: the time to find every co-tag; floor: curl = "
                                   "GET of the tag list, then %d HEADs 8 at a time in one curl "
                                   "process" % o.cotags)
        finally:
            reg.stop(self)

    def memory_scenarios(self):
        o = self.opts
        for name, size in (("small", o.small), ("big", o.big)):
            d = os.path.join(self.fx, name)
            with open(os.path.join(d, "index.json")) as f:
                digest = json.load(f)["manifests"][0]["digest"]
            ref = "oci:%s:v1" % d
            self.push_scenario("memory-push-" + name, "8. push 1 layer of %s" % size, ref, ref,
                               digest)
        pushes = [(os.path.join(self.fx, n), "bench/%s:v1" % n) for n in ("small", "big")]
        for name, size in (("small", o.small), ("big", o.big)):
            self.pull_scenario("memory-pull-" + name, "8. pull 1 layer of %s" % size, "mem",
                               pushes, "bench/" + name)

    def cleanup(self):
        for reg in list(self.registries):
            try:
                reg.stop(self)
            except BenchError as e:
                log(str(e))
        for d in self.templates.values():
            # storage paths only (the ":out" / ":layer" entries are seed output and digests)
            if os.path.isabs(d) and d.startswith(self.work + os.sep):
                shutil.rmtree(os.path.dirname(d), ignore_errors=True)
        shutil.rmtree(self.runs_dir, ignore_errors=True)
        shutil.rmtree(os.path.join(self.work, "reg"), ignore_errors=True)
        shutil.rmtree(os.path.join(self.work, "pull-out"), ignore_errors=True)
        shutil.rmtree(os.path.join(self.work, "seed-env"), ignore_errors=True)


# --- summaries and report ---------------------------------------------------------------------------


def med(xs):
    return statistics.median(xs) if xs else None


def summarize(res):
    measured = [r for r in res["runs"] if not r["warmup"]]
    summ = {}
    for tool in res["tools"]:
        rs = [r for r in measured if r["tool"] == tool]
        summ[tool] = {k: med([r[k] for r in rs])
                      for k in ("wall", "cpu", "registry_cpu", "maxrss_kib")}
        # what the CPU work alone allows: tool + registries spread over every core, perfectly
        summ[tool]["cpu_bound"] = med([(r["cpu"] + r["registry_cpu"]) / NPROC for r in rs])
        summ[tool]["maxrss_kib_max"] = max(r["maxrss_kib"] for r in rs)
    rounds = sorted({r["round"] for r in measured})
    ratios = {}
    for other in res["tools"][1:]:
        per = {"wall": [], "cpu": [], "maxrss": [], "cpu_bound": []}
        for rd in rounds:
            a = [r for r in measured if r["round"] == rd and r["tool"] == "regship"][0]
            b = [r for r in measured if r["round"] == rd and r["tool"] == other][0]
            per["wall"].append(a["wall"] / b["wall"])
            # regship's CPU bound (its CPU + the registries', over every core) / other's wall
            per["cpu_bound"].append((a["cpu"] + a["registry_cpu"]) / NPROC / b["wall"])
            per["cpu"].append(a["cpu"] / b["cpu"] if b["cpu"] else None)
            per["maxrss"].append(a["maxrss_kib"] / b["maxrss_kib"])
        ratios[other] = {"per_pair": per,
                         "median": {k: med([x for x in v if x is not None])
                                    for k, v in per.items()}}
    res["summary"] = summ
    res["ratios"] = ratios
    t = res.get("target_wall_ratio")
    if t is not None:
        res["target_met"] = ratios["skopeo"]["median"]["wall"] <= t
    if res["id"] in TARGET_RELATIVE:
        other, factor, secs = TARGET_RELATIVE[res["id"]]
        res["target_relative"] = {"other": other, "factor": factor, "seconds": secs}
        res["target_met"] = summ["regship"]["wall"] <= factor * summ[other]["wall"] + secs


def machine_info():
    cpu = "?"
    mem = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            cpu = m.group(1) if m else cpu
        with open("/proc/meminfo") as f:
            m = re.search(r"^MemTotal:\s*(\d+) kB", f.read(), re.M)
            mem = "%.1f GiB" % (int(m.group(1)) / (1 << 20)) if m else mem
    except OSError:
        pass
    distro = ""
    try:
        with open("/etc/os-release") as f:
            m = re.search(r'^PRETTY_NAME="?([^"\n]*)', f.read(), re.M)
            distro = m.group(1) if m else ""
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem, "kernel": platform.release(),
            "os": distro, "python": platform.python_version()}


def version_of(argv):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        return p.stdout.decode(errors="replace").strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def fmt_s(x):
    return "—" if x is None else ("%.3f s" % x if x < 10 else "%.2f s" % x)


def fmt_mib(kib):
    return "—" if kib is None else "%.1f MiB" % (kib / 1024)


def fmt_ratio(x):
    return "—" if x is None else "%.2f×" % x


def rss_limit(res):
    return RSS_LIMIT_REGISTRY_KIB if res["id"] in REGISTRY_ONLY else RSS_LIMIT_KIB


def rss_verdict(res):
    lim = rss_limit(res)
    ok = res["summary"]["regship"]["maxrss_kib_max"] <= lim
    return "RSS ok" if ok else "**RSS > %d MiB**" % (lim >> 10)


def report(results, meta):
    L = []
    L.append("regship vs skopeo — %s, %s pairs after %s warm-up round(s)%s" % (
        meta["date"], meta["options"]["pairs"], meta["options"]["warmup"],
        ", --quick sizes" if meta["options"]["quick"] else ""))
    L.append("")
    L.append("| scenario | regship wall | skopeo wall | wall ratio | target | regship CPU | "
             "registry CPU (regship run) | skopeo CPU | registry CPU (skopeo run) | CPU ratio | "
             "regship peak RSS | skopeo peak RSS | result |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for res in results:
        if "skopeo" not in res["tools"]:
            continue
        a, b = res["summary"]["regship"], res["summary"]["skopeo"]
        rm = res["ratios"]["skopeo"]["median"]
        t = res.get("target_wall_ratio")
        verdict = []
        if t is not None:
            verdict.append("time ok" if res["target_met"] else "**time missed**")
        verdict.append(rss_verdict(res))
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            res["title"], fmt_s(a["wall"]), fmt_s(b["wall"]), fmt_ratio(rm["wall"]),
            "≤ %.2f×" % t if t is not None else "—", fmt_s(a["cpu"]),
            fmt_s(a.get("registry_cpu")), fmt_s(b["cpu"]), fmt_s(b.get("registry_cpu")),
            fmt_ratio(rm["cpu"]), fmt_mib(a["maxrss_kib"]), fmt_mib(b["maxrss_kib"]),
            ", ".join(verdict)))
    rel = [r for r in results if r["id"] in TARGET_RELATIVE]
    if rel:
        L.append("")
        L.append("regship against another regship command (target: wall ≤ factor × other + s)")
        L.append("")
        L.append("| scenario | regship wall | other | other wall | target | regship CPU | "
                 "registry CPU | peak RSS | result |")
        L.append("|---|---:|---|---:|---:|---:|---:|---:|---|")
        for res in rel:
            other, factor, secs = TARGET_RELATIVE[res["id"]]
            a, b = res["summary"]["regship"], res["summary"][other]
            bound = factor * b["wall"] + secs
            L.append("| %s | %s | %s | %s | ≤ %s | %s | %s | %s | %s |" % (
                res["title"], fmt_s(a["wall"]), other, fmt_s(b["wall"]), fmt_s(bound),
                fmt_s(a["cpu"]), fmt_s(a.get("registry_cpu")), fmt_mib(a["maxrss_kib"]),
                ", ".join([
                    "time ok" if a["wall"] <= bound else "**time missed**", rss_verdict(res)])))
    alone = [r for r in results if "skopeo" not in r["tools"] and r["id"] not in TARGET_RELATIVE]
    if alone:
        L.append("")
        L.append("regship alone (no skopeo equivalent)")
        L.append("")
        L.append("| scenario | wall | CPU | registry CPU | CPU bound | peak RSS | target | "
                 "result |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---|")
        for res in alone:
            a = res["summary"]["regship"]
            t = res.get("target_wall_s")
            verdict = [] if t is None else ["time ok" if a["wall"] <= t else "**time missed**"]
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                res["title"], fmt_s(a["wall"]), fmt_s(a["cpu"]), fmt_s(a.get("registry_cpu")),
                fmt_s(a.get("cpu_bound")), fmt_mib(a["maxrss_kib"]),
                "≤ %.1f s" % t if t is not None else "—",
                ", ".join(verdict + [rss_verdict(res)])))
    cmp_ = [r for r in results if "skopeo" in r["tools"]]
    if cmp_:
        L.append("")
        L.append("CPU bound: regship's CPU plus the CPU of the registries it drove, spread "
                 "perfectly over the %s cores, is the least wall time that work can take; as a "
                 "ratio to skopeo's wall time (median of rounds) it is the lowest ratio regship "
                 "could reach without giving the registry less work" % meta["machine"]["nproc"])
        L.append("")
        L.append("| scenario | regship wall | regship CPU | registry CPU | CPU bound | "
                 "bound / skopeo wall | wall ratio | target |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for res in cmp_:
            a = res["summary"]["regship"]
            rm = res["ratios"]["skopeo"]["median"]
            t = res.get("target_wall_ratio")
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                res["title"].split(" (")[0].split(":")[0], fmt_s(a["wall"]), fmt_s(a["cpu"]),
                fmt_s(a.get("registry_cpu")), fmt_s(a.get("cpu_bound")),
                fmt_ratio(rm.get("cpu_bound")), fmt_ratio(rm["wall"]),
                "≤ %.2f×" % t if t is not None else "—"))
    extra = [r for r in results if r["id"] not in TARGET_RELATIVE and
             [t for t in r["tools"] if t not in ("regship", "skopeo")]]
    for res in extra:
        L.append("")
        L.append("Floors for %s: the same work without regship, in the same rounds (%s)" % (
            res["title"].split(" (")[0], res.get("note") or ""))
        L.append("")
        L.append("| run | wall | CPU | registry CPU | CPU bound | peak RSS | "
                 "regship / this (median of rounds) |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        for tool in res["tools"]:
            s = res["summary"][tool]
            ratio = res["ratios"].get(tool, {}).get("median", {}).get("wall") if tool != \
                "regship" else 1.0
            L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                tool, fmt_s(s["wall"]), fmt_s(s["cpu"]), fmt_s(s.get("registry_cpu")),
                fmt_s(s.get("cpu_bound")), fmt_mib(s["maxrss_kib"]), fmt_ratio(ratio)))
    mem = {r["id"]: r for r in results if r["id"].startswith("memory-")}
    if mem:
        L.append("")
        L.append("Memory growth (8): median peak RSS, 1 layer of %s vs %s" % (
            meta["options"]["small"], meta["options"]["big"]))
        L.append("")
        L.append("| operation | tool | small | big | growth | target |")
        L.append("|---|---|---:|---:|---:|---|")
        for op in ("push", "pull"):
            s, b = mem.get("memory-%s-small" % op), mem.get("memory-%s-big" % op)
            if not s or not b:
                continue
            for tool in ("regship", "skopeo"):
                x, y = s["summary"][tool]["maxrss_kib"], b["summary"][tool]["maxrss_kib"]
                g = y - x
                tgt = ""
                if tool == "regship":
                    tgt = "≤ +1 MiB: %s" % ("ok" if g <= RSS_GROWTH_LIMIT_KIB else "**missed**")
                L.append("| %s | %s | %s | %s | %+.1f MiB | %s |" % (
                    op, tool, fmt_mib(x), fmt_mib(y), g / 1024, tgt))
    L.append("")
    L.append("Wall and CPU: medians of the measured rounds; ratios: median of the per-round "
             "regship/skopeo ratios. CPU = user + system of the child (wait4), peak RSS = its "
             "ru_maxrss; registry CPU = utime + stime (/proc/PID/stat, %d ms ticks) that every "
             "docker-registry the bench runs spent during the command; CPU bound = (CPU + "
             "registry CPU) / %d cores. " % (1000 // CLK_TCK, NPROC) +
             "Every run starts with an empty HOME, XDG_CACHE_HOME and XDG_DATA_HOME; "
             + meta["skopeo_cache"] + ".")
    L.append("")
    L.append("Machine: %(nproc)s CPUs, %(cpu)s, %(memory)s RAM, %(os)s, Linux %(kernel)s" %
             meta["machine"])
    L.append("Versions: regship %s; %s; %s; %s" % (
        meta["versions"]["regship"], meta["versions"]["skopeo"],
        meta["versions"]["registry"], meta["versions"]["curl"]))
    return "\n".join(L) + "\n"


def build_regship(opts):
    bdir = opts.build_dir
    log("building regship (Release) in %s" % bdir)
    run_quiet(["cmake", "-S", ROOT, "-B", bdir, "-DCMAKE_BUILD_TYPE=Release"], "cmake configure")
    run_quiet(["cmake", "--build", bdir, "--target", "regship", "-j", str(os.cpu_count() or 2)],
              "building regship")
    return os.path.join(bdir, "regship")


def main(argv=None):
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes, 2 pairs: a smoke run (< 2 minutes)")
    p.add_argument("--regship", help="regship binary to measure (default: build one, Release)")
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build-bench"))
    p.add_argument("--work", default="/var/tmp/regship-bench",
                   help="fixtures, registries and run dirs (default %(default)s)")
    p.add_argument("--json", help="write every run's numbers here (default: "
                   "bench/results/<date>[-quick].json)")
    p.add_argument("--pairs", type=int, help="measured rounds (full: 5, quick: 2)")
    p.add_argument("--warmup", type=int, help="warm-up rounds, not counted (1)")
    p.add_argument("--layers", type=int)
    p.add_argument("--layer-size", type=size_bytes)
    p.add_argument("--big", type=size_bytes, help="big layer of scenario 8 (1G)")
    p.add_argument("--small", type=size_bytes, help="small layer of scenario 8 (1M)")
    p.add_argument("--tags", type=int, help="tags to list in scenario 7 (5000)")
    p.add_argument("--digests", type=int, help="digest commands in scenario 7 (100)")
    p.add_argument("--cotags", type=int, help="tags on the manifest rm refuses to delete (2000)")
    p.add_argument("--promo-tags", type=int, help="filler tags of the promotion scenario (3000)")
    p.add_argument("--mirror-images", type=int, help="images of the mirror scenario (40)")
    p.add_argument("--mirror-layer-size", type=size_bytes,
                   help="layer size of the mirror and many-tags images (256K)")
    p.add_argument("--many-tags", type=int, help="tags of the one image in copy-many-tags (500)")
    p.add_argument("--wide-layers", type=int, help="layers of the wide image (150)")
    p.add_argument("--wide-layer-size", type=size_bytes, help="its layer size (32K)")
    p.add_argument("--archive-big", type=size_bytes,
                   help="the one layer of push-docker-archive-big (1G; quick: 16M)")
    p.add_argument("--only", help="comma-separated scenario ids or prefixes: push-oci, "
                   "push-docker-archive, repush, pull, copy-same-registry, copy-cross-registry, "
                   "retag, tags, digest, rm-cotags, memory, wide-push, wide-pull, mirror, "
                   "copy-many-tags, promotion, push-docker-archive-big (or push, copy, wide)")
    opts = p.parse_args(argv)
    defaults = QUICK if opts.quick else FULL
    for k, v in defaults.items():
        if getattr(opts, k) is None:
            setattr(opts, k, v)
    for k in ("layer_size", "big", "small", "mirror_layer_size", "wide_layer_size",
              "archive_big"):  # keep them as fixture.py size strings
        v = getattr(opts, k)
        if isinstance(v, int):
            setattr(opts, k, "%dK" % (v >> 10) if v % MIB else "%dM" % (v >> 20))
    if opts.pairs < 1 or opts.warmup < 0:
        p.error("--pairs must be at least 1 and --warmup at least 0")
    for tool in ("skopeo", "docker-registry", "curl"):
        if not shutil.which(tool):
            p.error("%s is not on PATH (Debian: apt-get install %s)" % (
                tool, {"docker-registry": "docker-registry"}.get(tool, tool)))
    try:
        opts.regship = os.path.abspath(opts.regship) if opts.regship else build_regship(opts)
        if not os.access(opts.regship, os.X_OK):
            raise BenchError("%s is not an executable" % opts.regship)
        started = datetime.datetime.now(datetime.timezone.utc)
        bench = Bench(opts)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        try:
            bench.run_all()
        finally:
            bench.cleanup()
    except BenchError as e:
        log(str(e))
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    meta = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds(),
        "machine": machine_info(),
        "versions": {"regship": version_of([opts.regship, "--version"]),
                     "skopeo": version_of(["skopeo", "--version"]),
                     "registry": version_of(["docker-registry", "--version"]),
                     "curl": version_of(["curl", "--version"]),
                     "regship_binary": opts.regship},
        "options": {k: getattr(opts, k) for k in (
            "quick", "pairs", "warmup", "layers", "layer_size", "big", "small", "tags", "digests",
            "only", "cotags", "promo_tags", "mirror_images", "mirror_layer_size", "many_tags",
            "wide_layers", "wide_layer_size", "archive_big")},
        "regship_retag": bench.has_retag,
        "skopeo_cache": bench.cache.note,
        "regship_cache": "regship runs with a fresh XDG_CACHE_HOME (no compression cache)",
        "measurement": "bench/spawn forks each command: wall = CLOCK_MONOTONIC around fork "
                       "and wait4; cpu = ru_utime + ru_stime and maxrss = ru_maxrss (KiB) from "
                       "wait4 of the child; sequences: walls and CPU summed, RSS max; "
                       "registry_cpu = utime + stime + cutime + cstime (/proc/PID/stat) of every "
                       "docker-registry the bench runs, read before and after each command; "
                       "cpu_bound = (cpu + registry_cpu) / nproc",
        "rss_floor_kib": bench.floor_kib,
        "targets": {"wall_ratio": TARGETS, "rss_kib": RSS_LIMIT_KIB,
                    "rss_registry_only_kib": RSS_LIMIT_REGISTRY_KIB,
                    "relative": TARGET_RELATIVE, "seconds": TARGET_SECONDS,
                    "rss_growth_kib": RSS_GROWTH_LIMIT_KIB},
    }
    md = report(bench.results, meta)
    path = opts.json or os.path.join(HERE, "results", started.strftime("%Y%m%d-%H%M%S") + (
        "-quick" if opts.quick else "") + ".json")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump({"meta": meta, "scenarios": bench.results}, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
    sys.stdout.write(md)
    log("every run's numbers: %s (%.0f s in all)" % (path, meta["duration_s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
