#!/usr/bin/python3
"""Start/stop real registries (Debian's docker-registry 2.8) and helpers for regship tests.

  harness.py start --variant plain|tls|htpasswd|token --dir DIR [--tls] [--relative-urls]
                   [--owner-pid PID] [--token-ttl SECONDS] [--catalog-maxentries N] [--no-delete]
  harness.py start-proxy --dir DIR --upstream URL [--name NAME] [--owner-pid PID] [proxy.py flags]
  harness.py start-slowserver --dir DIR [--upstream URL] [--name NAME] [--owner-pid PID]
             [slowserver.py flags]
  harness.py start-faultproxy --dir DIR --upstream URL [--name NAME] [--owner-pid PID]
                   [faultproxy.py flags]
  harness.py start-hostile --dir DIR [--name NAME] [--owner-pid PID] [hostile.py flags]
  harness.py start-slowproxy --dir DIR --upstream URL [--name NAME] [--owner-pid PID]
                   [slowproxy.py flags]
  harness.py start-policyproxy --dir DIR --upstream URL [--name NAME] [--owner-pid PID]
             [policyproxy.py flags: --immutable, --ratelimit REGEX, --deny REGEX]
  harness.py stop --dir DIR [--dir DIR ...]

Every process is started under a small supervisor (its own session/process group) that kills the
group when the owner process (default: our parent's parent, e.g. the bats process) disappears,
when the service dies, or on SIGTERM. `stop` kills the groups recorded in DIR/*.pgid (and any
stray harness process whose command line names DIR/). See README.md.
"""

import argparse
import glob
import http.client
import os
import re
import select
import shlex
import signal
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
sys.path.insert(0, HERE)
import reglib  # noqa: E402

PY = "/usr/bin/python3"
REGISTRY_BIN = os.environ.get("REGSHIP_DOCKER_REGISTRY", "docker-registry")
START_TIMEOUT = 10.0
USERS = [("admin", "adminpass"), ("reader", "readerpass")]
TOKEN_SERVICE = "regship-test"
TOKEN_ISSUER = "regship-test-issuer"


def die(msg, code=1):
    sys.stderr.write("harness: %s\n" % msg)
    sys.exit(code)


def grandparent_pid():
    st = reglib.proc_state(os.getppid())
    if st is None:
        return 0
    with open("/proc/%d/stat" % os.getppid()) as f:
        data = f.read()
    return int(data[data.rfind(")") + 2:].split()[1])


# --- supervision ----------------------------------------------------------------------------------


def cmd_supervise(opts):
    """Run argv as our child; kill our whole process group when the owner, the child or we die."""
    argv = opts.argv[1:] if opts.argv and opts.argv[0] == "--" else opts.argv
    logf = open(opts.log, "ab")
    rfd, wfd = os.pipe()
    os.set_blocking(wfd, False)
    signal.set_wakeup_fd(wfd)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda *_: None)
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             close_fds=True)
    with open(os.path.join(opts.dir, opts.name + ".pid.tmp"), "w") as f:
        f.write("%d\n" % child.pid)
    os.rename(os.path.join(opts.dir, opts.name + ".pid.tmp"),
              os.path.join(opts.dir, opts.name + ".pid"))
    poller = select.poll()
    poller.register(rfd, select.POLLIN)
    fds = {}
    try:
        cfd = os.pidfd_open(child.pid)
        poller.register(cfd, select.POLLIN)
        fds[cfd] = "child"
        if opts.owner_pid > 0:
            ofd = os.pidfd_open(opts.owner_pid)
            poller.register(ofd, select.POLLIN)
            fds[ofd] = "owner"
        timeout = None
    except (AttributeError, OSError):
        timeout = 200  # no pidfd: poll
    reason = None
    while reason is None:
        if opts.owner_pid > 0 and not reglib.alive(opts.owner_pid):
            reason = "owner %d is gone" % opts.owner_pid
            break
        if child.poll() is not None:
            reason = "child exited with %s" % child.returncode
            break
        for fd, _ in poller.poll(timeout):
            if fd == rfd:
                reason = "signalled"
            elif fds.get(fd) == "owner":
                reason = "owner %d is gone" % opts.owner_pid
            elif fds.get(fd) == "child":
                child.poll()
                reason = "child exited with %s" % child.returncode
    sys.stderr.write("supervisor %s: %s; stopping group %d\n" % (opts.name, reason, os.getpgrp()))
    sys.stderr.flush()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(os.getpgrp(), signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 3
    while child.poll() is None and time.monotonic() < deadline:
        try:
            child.wait(0.05)
        except subprocess.TimeoutExpired:
            pass
    others = [p for p in reglib.group_members(os.getpgrp()) if p != os.getpid()]
    for p in others + ([child.pid] if child.poll() is None else []):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    sys.exit(0)


def spawn(dirpath, name, argv, log, owner_pid):
    """Start argv under a supervisor; returns the supervisor pid (== process group id)."""
    sup = subprocess.Popen(
        [PY, os.path.abspath(__file__), "_supervise", "--dir", dirpath, "--name", name,
         "--owner-pid", str(owner_pid), "--log", log, "--"] + argv,
        stdin=subprocess.DEVNULL,
        stdout=open(os.path.join(dirpath, name + ".supervisor.log"), "ab"),
        stderr=subprocess.STDOUT, close_fds=True, start_new_session=True)
    with open(os.path.join(dirpath, name + ".pgid"), "w") as f:
        f.write("%d\n" % sup.pid)
    sup.returncode = 0  # we never wait for it: don't let Popen.__del__ warn
    return sup.pid


def wait_for(cond, what, dirpath, logs, pgid=None, timeout=START_TIMEOUT):
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        v = cond()
        if v:
            return v
        # the supervisor leads its group: while it lives the group is not empty (one stat
        # instead of a scan of /proc on every poll)
        if pgid is not None and not reglib.alive(pgid) and not reglib.group_members(pgid):
            fail_start(dirpath, "%s: the process exited" % what, logs)
        if time.monotonic() > deadline:
            fail_start(dirpath, "%s: timed out after %.0fs" % (what, timeout), logs)
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def fail_start(dirpath, msg, logs):
    sys.stderr.write("harness: %s\n" % msg)
    for path in logs:
        try:
            with open(path, errors="replace") as f:
                sys.stderr.write("---- %s ----\n%s\n" % (path, f.read()[-8000:]))
        except OSError:
            pass
    stop_dir(dirpath)
    sys.exit(1)


def read_file(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


# --- certificates -----------------------------------------------------------------------------------


def make_tls(dirpath):
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    later = now + datetime.timedelta(days=30)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "regship test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(later)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                         critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
        x509.DNSName("localhost"),
        x509.DNSName("registry.local"),
    ])
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(later).add_extension(san, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    with open(os.path.join(dirpath, "ca.crt"), "wb") as f:
        f.write(ca.public_bytes(pem))
    with open(os.path.join(dirpath, "tls.crt"), "wb") as f:
        f.write(cert.public_bytes(pem))
    with open(os.path.join(dirpath, "tls.key"), "wb") as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


def make_token_keys(dirpath):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "regship test token signer")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    with open(os.path.join(dirpath, "token.crt"), "wb") as f:
        f.write(cert.public_bytes(pem))
    with open(os.path.join(dirpath, "token.key"), "wb") as f:
        f.write(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


# --- start / stop -------------------------------------------------------------------------------------


def q(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_env(path, pairs):
    lines = ["%s=%s" % (k, shlex.quote(str(v))) for k, v in pairs]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.rename(tmp, path)
    return lines


def probe(url, ctx):
    """One GET of url; returns the status or None if nothing answers yet."""
    m = re.match(r"(https?)://([^/]+)(/.*)$", url)
    scheme, netloc, path = m.groups()
    try:
        if scheme == "https":
            c = http.client.HTTPSConnection(netloc, context=ctx, timeout=2)
        else:
            c = http.client.HTTPConnection(netloc, timeout=2)
        c.request("GET", path)
        st = c.getresponse().status
        c.close()
        return st
    except (ConnectionError, OSError):
        return None


def cmd_start(opts):
    d = os.path.abspath(opts.dir)
    os.makedirs(d, exist_ok=True)
    if any(reglib.group_members(int(read_file(p) or 0)) for p in glob.glob(d + "/*.pgid")
           if (read_file(p) or "").strip().isdigit()):
        die("%s already has running processes: run `harness.py stop --dir %s` first" % (d, d))
    owner = opts.owner_pid if opts.owner_pid is not None else grandparent_pid()
    variant = opts.variant
    tls = opts.tls or variant == "tls"
    data = os.path.join(d, "data")
    os.makedirs(data, exist_ok=True)
    log = os.path.join(d, "registry.log")
    open(log, "ab").close()
    env = [("REG_VARIANT", variant), ("REG_DIR", d), ("REG_DATA", data), ("REG_LOG", log),
           ("REG_CONFIG", os.path.join(d, "config.yml"))]

    cfg = ["version: 0.1",
           "log:",
           "  level: info",
           "  formatter: text",
           "  fields: {service: registry}",
           "storage:",
           "  filesystem: {rootdirectory: %s}" % q(data),
           "  delete: {enabled: %s}" % ("false" if opts.no_delete else "true"),
           "  maintenance: {uploadpurging: {enabled: false}}",
           "http:",
           "  addr: 127.0.0.1:0",
           "  secret: regship-harness-fixed-secret",
           "  headers: {X-Content-Type-Options: [nosniff]}"]
    if opts.relative_urls:
        cfg.append("  relativeurls: true")
    if tls:
        make_tls(d)
        cfg.append("  tls: {certificate: %s, key: %s}" % (q(d + "/tls.crt"), q(d + "/tls.key")))
        env.append(("REG_CA", d + "/ca.crt"))
    if variant == "htpasswd":
        lines = []
        for user, pw in USERS:
            out = subprocess.run(["htpasswd", "-Bbn", user, pw], check=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout.decode()
            lines.append(out.strip())
        with open(d + "/htpasswd", "w") as f:
            f.write("\n".join(lines) + "\n")
        cfg += ["auth:", "  htpasswd: {realm: basic-realm, path: %s}" % q(d + "/htpasswd")]
        env.append(("REG_HTPASSWD", d + "/htpasswd"))
    if variant == "token":
        make_token_keys(d)
        port_file = d + "/token.port"
        try:
            os.unlink(port_file)
        except FileNotFoundError:
            pass
        tpg = spawn(d, "token", [PY, os.path.join(HERE, "tokenserver.py"), "--key", d + "/token.key",
                                 "--cert", d + "/token.crt", "--log", d + "/token.log",
                                 "--port-file", port_file, "--service", TOKEN_SERVICE,
                                 "--issuer", TOKEN_ISSUER, "--ttl", str(opts.token_ttl),
                                 "--dir", d], d + "/token.out", owner)
        tport = wait_for(lambda: (read_file(port_file) or "").strip(), "token server start", d,
                         [d + "/token.out", d + "/token.supervisor.log"], tpg)
        realm = "http://127.0.0.1:%s/token" % tport
        cfg += ["auth:", "  token:", "    realm: %s" % q(realm), "    service: %s" % TOKEN_SERVICE,
                "    issuer: %s" % TOKEN_ISSUER, "    rootcertbundle: %s" % q(d + "/token.crt")]
        env += [("REG_TOKEN_URL", realm), ("REG_TOKEN_SERVICE", TOKEN_SERVICE),
                ("REG_TOKEN_ISSUER", TOKEN_ISSUER), ("REG_TOKEN_LOG", d + "/token.log"),
                ("REG_TOKEN_PID", read_file(d + "/token.pid").strip()),
                ("REG_TOKEN_CERT", d + "/token.crt")]
    if variant in ("htpasswd", "token"):
        env += [("REG_USER", "admin"), ("REG_PASS", "adminpass"), ("REG_READER_USER", "reader"),
                ("REG_READER_PASS", "readerpass")]
    if opts.catalog_maxentries:
        cfg += ["catalog:", "  maxentries: %d" % opts.catalog_maxentries]
    with open(d + "/config.yml", "w") as f:
        f.write("\n".join(cfg) + "\n")

    # truncate the log so the "listening on" line we look for is this run's
    with open(log, "wb"):
        pass
    rpg = spawn(d, "registry", [REGISTRY_BIN, "serve", d + "/config.yml"], log, owner)
    logs = [log, d + "/registry.supervisor.log"]

    def port_from_log():
        m = re.search(r"listening on \[?[0-9a-fA-F.:]*?\]?:(\d+)", read_file(log) or "")
        return m.group(1) if m else None

    port = wait_for(port_from_log, "registry start", d, logs, rpg)
    scheme = "https" if tls else "http"
    url = "%s://127.0.0.1:%s" % (scheme, port)
    ctx = ssl.create_default_context(cafile=d + "/ca.crt") if tls else None
    status = wait_for(lambda: probe(url + "/v2/", ctx), "registry readiness (GET /v2/)", d, logs,
                      rpg)
    want = 401 if variant in ("htpasswd", "token") else 200
    if status != want:
        fail_start(d, "GET %s/v2/ answered %d, expected %d" % (url, status, want), logs)
    env += [("REG_HOST", "127.0.0.1"), ("REG_PORT", port), ("REG_ADDR", "127.0.0.1:" + port),
            ("REG_URL", url), ("REG_SCHEME", scheme),
            ("REG_PID", read_file(d + "/registry.pid").strip()),
            ("REG_PGIDS", " ".join(sorted((read_file(p) or "").strip()
                                          for p in glob.glob(d + "/*.pgid")))),
            ("REG_OWNER_PID", owner)]
    lines = write_env(d + "/env", env)
    print("\n".join(lines))


def cmd_start_proxy(opts, extra, script="proxy.py"):
    d = os.path.abspath(opts.dir)
    os.makedirs(d, exist_ok=True)
    owner = opts.owner_pid if opts.owner_pid is not None else grandparent_pid()
    name = opts.name
    url_file = os.path.join(d, name + ".url")
    try:
        os.unlink(url_file)
    except FileNotFoundError:
        pass
    out = os.path.join(d, name + ".log")
    pg = spawn(d, name, [PY, os.path.join(HERE, script), "--upstream", opts.upstream,
                         "--url-file", url_file] + extra, out, owner)
    url = wait_for(lambda: (read_file(url_file) or "").strip(), "proxy start", d,
                   [out, os.path.join(d, name + ".supervisor.log")], pg)
    addr = re.sub(r"^https?://", "", url)
    lines = write_env(os.path.join(d, name + ".env"), [
        ("PROXY_URL", url), ("PROXY_ADDR", addr), ("PROXY_PORT", addr.rsplit(":", 1)[1]),
        ("PROXY_LOG", out), ("PROXY_PID", read_file(os.path.join(d, name + ".pid")).strip()),
        ("PROXY_UPSTREAM", opts.upstream)])
    print("\n".join(lines))


def stray_pids(dirs):
    """Harness processes whose command line names one of dirs/ (in case *.pgid files are gone):
    one pass over /proc for all of them."""
    me = os.getpid()
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        cl = reglib.cmdline(int(name))
        for d in dirs:
            if d + "/" not in cl:
                continue
            if ("serve " + d + "/") in cl or "tokenserver.py" in cl or "proxy.py" in cl or \
                    "hostile.py" in cl or "slowserver.py" in cl or \
                    ("harness.py _supervise" in cl):
                out.append(int(name))
                break
    return out


def stop_dir(d):
    stop_dirs([d])


def stop_dirs(dirs):
    """Stop everything started for each of dirs: all signalled first, then one wait for all."""
    dirs = [os.path.abspath(d) for d in dirs]
    targets = set()
    groups = {}  # pgid -> live pids, from one pass over /proc
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = reglib.proc_state(int(name))
            if st and st[0] not in ("Z", "X"):
                groups.setdefault(st[1], []).append(int(name))
    for d in dirs:
        pgids = []
        for p in glob.glob(d + "/*.pgid"):
            s = (read_file(p) or "").strip()
            if s.isdigit():
                pgids.append(int(s))
        for pg in pgids:
            for pid in groups.get(pg, []):
                if d + "/" in reglib.cmdline(pid):
                    targets.add(pid)
    targets.update(stray_pids(dirs))
    for pid in targets:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and any(reglib.alive(p) for p in targets):
        time.sleep(0.02)
    for pid in targets:
        if reglib.alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for d in dirs:
        for p in glob.glob(d + "/*.pgid"):
            os.unlink(p)


def cmd_stop(opts):
    stop_dirs(opts.dir)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, allow_abbrev=False,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start", help="start a registry")
    s.add_argument("--variant", choices=["plain", "tls", "htpasswd", "token"], required=True)
    s.add_argument("--dir", required=True)
    s.add_argument("--tls", action="store_true", help="serve HTTPS (any variant)")
    s.add_argument("--relative-urls", action="store_true")
    s.add_argument("--owner-pid", type=int, help="kill everything when this pid exits "
                   "(default: our parent's parent; 0: never)")
    s.add_argument("--token-ttl", type=int, default=300)
    s.add_argument("--catalog-maxentries", type=int, metavar="N",
                   help="catalog.maxentries: /v2/_catalog pages of at most N repositories")
    s.add_argument("--no-delete", action="store_true",
                   help="storage.delete.enabled: false (every DELETE answers 405)")
    sp = sub.add_parser("start-proxy", help="start proxy.py in front of a registry",
                        allow_abbrev=False)
    sp.add_argument("--dir", required=True)
    sp.add_argument("--upstream", required=True)
    sp.add_argument("--name", default="proxy")
    sp.add_argument("--owner-pid", type=int)
    fp = sub.add_parser("start-faultproxy", allow_abbrev=False,
                        help="start faultproxy.py (fault injection, hostile answers, redirect hops)")
    fp.add_argument("--dir", required=True)
    fp.add_argument("--upstream", required=True)
    fp.add_argument("--name", default="proxy")
    fp.add_argument("--owner-pid", type=int)
    hp = sub.add_parser("start-hostile", allow_abbrev=False,
                        help="start hostile.py (a scripted hostile registry; its flags follow)")
    hp.add_argument("--dir", required=True)
    hp.add_argument("--upstream", default="none")
    hp.add_argument("--name", default="proxy")
    hp.add_argument("--owner-pid", type=int)
    ss = sub.add_parser("start-slowserver", allow_abbrev=False,
                        help="start slowserver.py (silent, dripping, trickling; forward proxy)")
    ss.add_argument("--dir", required=True)
    ss.add_argument("--upstream", default="")
    ss.add_argument("--name", default="proxy")
    ss.add_argument("--owner-pid", type=int)
    sl = sub.add_parser("start-slowproxy", allow_abbrev=False,
                        help="start slowproxy.py (throttled blob bodies, a readiness file)")
    sl.add_argument("--dir", required=True)
    sl.add_argument("--upstream", required=True)
    sl.add_argument("--name", default="proxy")
    sl.add_argument("--owner-pid", type=int)
    pp = sub.add_parser("start-policyproxy", allow_abbrev=False,
                        help="start policyproxy.py (immutable tags, 429 rate limits, denials)")
    pp.add_argument("--dir", required=True)
    pp.add_argument("--upstream", required=True)
    pp.add_argument("--name", default="proxy")
    pp.add_argument("--owner-pid", type=int)
    st = sub.add_parser("stop", help="stop everything started for DIR (--dir again: several)")
    st.add_argument("--dir", required=True, action="append")
    sv = sub.add_parser("_supervise")
    sv.add_argument("--dir", required=True)
    sv.add_argument("--name", required=True)
    sv.add_argument("--owner-pid", type=int, default=0)
    sv.add_argument("--log", required=True)
    sv.add_argument("argv", nargs=argparse.REMAINDER)
    opts, extra = p.parse_known_args(argv)
    if opts.cmd == "start-proxy":
        return cmd_start_proxy(opts, extra)
    if opts.cmd == "start-faultproxy":
        return cmd_start_proxy(opts, extra, "faultproxy.py")
    if opts.cmd == "start-hostile":
        return cmd_start_proxy(opts, extra, "hostile.py")
    if opts.cmd == "start-slowserver":
        return cmd_start_proxy(opts, extra, "slowserver.py")
    if opts.cmd == "start-slowproxy":
        return cmd_start_proxy(opts, extra, "slowproxy.py")
    if opts.cmd == "start-policyproxy":
        return cmd_start_proxy(opts, extra, "policyproxy.py")
    if extra:
        p.error("unrecognized arguments: %s" % " ".join(extra))
    return {"start": cmd_start, "stop": cmd_stop, "_supervise": cmd_supervise}[opts.cmd](opts)


if __name__ == "__main__":
    main()
