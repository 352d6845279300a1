#!/usr/bin/env bats
# Soak: 100 pushes and 100 pulls of small images (2 layers of 8-64 KiB) through four fault
# proxies (tests/harness/faultproxy.py, seeds $SOAK_SEEDS, every fault kind, 10% of requests),
# four at a time, monolithic and --chunk-size 16K pushes, pulls to oci:, oci-archive: and
# docker-archive:. Every run must either succeed with the right digest (and what it wrote
# verifies: the registry's manifest and every blob hash right; every blob file of a layout or
# archive is named by its sha256) or fail with exit status 1-4 and a `regship:` error, leaving no
# manifest for its tag in the registry and no destination (or temporary file) behind. The fault
# logs must show that faults really fired, of many kinds.
#
# Reproduce one run: the proxy seed and options are in the failure message; a fault proxy draws
# the same faults for the same requests (see faultproxy.py). SOAK_RUNS=N runs fewer (CI,
# scripts/test: 50; the full 100, or more, is scripts/test-soak).

SOAK_RUNS=${SOAK_RUNS:-100}
SOAK_SEEDS=${SOAK_SEEDS:-"11 12 13 14"}
SOAK_JOBS=${SOAK_JOBS:-4}

setup_file() {
	load helpers
	reg_start plain reg
	export W="$BATS_FILE_TMPDIR/work"
	mkdir -p "$W/lay"
	local s n=0
	for s in $SOAK_SEEDS; do
		n=$((n + 1))
		faultproxy_start "soak$n" "$reg_URL" --seed "$s" --rate 0.1 --retry-after 1 --delay-ms 300
	done
	export SOAK_PROXIES=$n
	# the images: one process makes them all (fixture.py's generator), "I DIGEST" per line
	PYTHONDONTWRITEBYTECODE=1 "$HARNESS_PY" - "$HARNESS_DIR" "$W/lay" "$SOAK_RUNS" >"$W/images" <<'EOF'
import contextlib, io, json, sys
sys.path.insert(0, sys.argv[1])
import fixture
for i in range(int(sys.argv[3])):
    d = "%s/%d" % (sys.argv[2], i)
    with contextlib.redirect_stdout(io.StringIO()):
        fixture.main(["oci-layout", d, "--tag", "v1", "--layers", "2",
                      "--layer-size", "%dK" % (8 + (i * 23) % 57), "--seed", "soak-%d" % i])
    print(i, json.load(open(d + "/index.json"))["manifests"][0]["digest"])
EOF
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
}

# proxy_of I: the name of the fault proxy run I goes through
proxy_of() { echo "soak$((($1 % SOAK_PROXIES) + 1))"; }

# describe I: how run I was made (for failure messages)
describe() {
	local p seed_i
	p=$(proxy_of "$1")
	seed_i=$(($1 % SOAK_PROXIES + 1))
	echo "run $1 via $p (seed $(cut -d' ' -f"$seed_i" <<<"$SOAK_SEEDS"), rate 0.1, all faults)"
}

# pool CMD N: run `CMD i` for i in 0..N-1, SOAK_JOBS at a time; each writes its own result files
#   Only our own runs are counted and waited for: the @test's shell has other children (bats'
#   BATS_TEST_TIMEOUT countdown), which a bare `wait` or `jobs` would include.
pool() {
	local cmd=$1 n=$2 i p
	local -a running
	for ((i = 0; i < n; i++)); do
		"$cmd" "$i" 3>&- &
		running+=($!)
		while ((${#running[@]} >= SOAK_JOBS)); do
			wait -n "${running[@]}" || true
			for p in "${!running[@]}"; do
				kill -0 "${running[$p]}" 2>/dev/null || unset "running[$p]"
			done
			running=("${running[@]}")
		done
	done
	for p in "${running[@]}"; do
		wait "$p" || true
	done
}

# faults_report: "KIND COUNT" for every fault the proxies injected so far, most frequent first
faults_report() {
	cat "$BATS_FILE_TMPDIR"/soak*/faults.jsonl |
		"$HARNESS_PY" -c 'import collections, json, sys
c = collections.Counter(json.loads(l)["kind"] for l in sys.stdin if l.strip())
for k, v in c.most_common():
    print(k, v)'
}

# failures KIND: "#   run I (proxy, seed): error" for every failed run of KIND (push|pulls)
failures() {
	local i
	for ((i = 0; i < SOAK_RUNS; i++)); do
		[[ $(<"$W/$1/$i.rc") == 0 ]] || echo "#   $(describe "$i"): $(tail -n1 "$W/$1/$i.err")"
	done
}

# check_runs KIND: judge the result files $W/KIND/I.{rc,out,err}; prints "ok N" (successes)
check_runs() {
	local kind=$1 i rc err n_ok=0
	for ((i = 0; i < SOAK_RUNS; i++)); do
		rc=$(<"$W/$kind/$i.rc")
		if ((rc == 0)); then
			n_ok=$((n_ok + 1))
			continue
		fi
		err=$(<"$W/$kind/$i.err")
		((rc >= 1 && rc <= 4)) || fail "$(describe "$i"): $kind exited with $rc" "$err" || return 1
		grep -qE '^regship: .{10,}' <<<"$err" ||
			fail "$(describe "$i"): $kind failed ($rc) without a regship: error line" "$err" || return 1
	done
	echo "ok $n_ok"
}

# --- pushes -------------------------------------------------------------------------------------

push_one() {
	local i=$1 p addr chunk=() rc=0
	p=$(proxy_of "$i")
	addr="${p}_ADDR"
	(((i / SOAK_PROXIES) % 2)) && chunk=(--chunk-size 16K)
	# (bats runs with set -e: keep a failing regship from ending this subshell early)
	regship -q push "${chunk[@]}" oci:"$W/lay/$i":v1 "${!addr}/soak/img$i:v1" \
		>"$W/push/$i.out" 2>"$W/push/$i.err" || rc=$?
	echo "$rc" >"$W/push/$i.rc"
}

# verify_pushes: for each push, the registry (asked directly) has soak/imgI:v1 on the expected
#   digest with every blob hashing right when the push succeeded, and no manifest for the tag when
#   it failed. Prints a problem per line (nothing when all is well).
verify_pushes() {
	"$HARNESS_PY" - "$reg_URL" "$W" "$SOAK_RUNS" "$MANIFEST_ACCEPT" <<'EOF'
import hashlib, http.client, json, sys, urllib.parse
url, w, runs, accept = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
want = dict(l.split() for l in open(w + "/images"))
conn = http.client.HTTPConnection(urllib.parse.urlsplit(url).netloc, timeout=60)
def get(path):
    conn.request("GET", path, headers={"Accept": accept})
    r = conn.getresponse()
    return r.status, r.getheader("Docker-Content-Digest"), r.read()
for i in range(runs):
    rc = int(open("%s/push/%d.rc" % (w, i)).read())
    out = open("%s/push/%d.out" % (w, i)).read().split("\n")
    repo = "soak/img%d" % i
    st, hdr, body = get("/v2/%s/manifests/v1" % repo)
    if rc != 0:
        if st != 404:
            print("push %d failed (exit %d) but %s:v1 exists (%d, %s)" % (i, rc, repo, st, hdr))
        continue
    d = want[str(i)]
    lines = [l for l in out if l.strip()]
    if not lines or not lines[-1].endswith("/%s:v1@%s" % (repo, d)):
        print("push %d: reported %r, expected ...@%s" % (i, lines[-1:] , d))
    got = "sha256:" + hashlib.sha256(body).hexdigest()
    if st != 200 or got != d or hdr != d:
        print("push %d: registry has %s:v1 as %d %s (bytes %s), expected %s" % (i, repo, st, hdr, got, d))
        continue
    m = json.loads(body)
    for b in [m["config"]] + m["layers"]:
        bst, _, data = get("/v2/%s/blobs/%s" % (repo, b["digest"]))
        bd = "sha256:" + hashlib.sha256(data).hexdigest()
        if bst != 200 or bd != b["digest"] or len(data) != b["size"]:
            print("push %d: blob %s is %d, %d bytes hashing to %s" % (i, b["digest"], bst, len(data), bd))
EOF
}

@test "soak: SOAK_RUNS pushes (100; 50 in CI) through fault proxies (10%): right digest, or a clean failure" {
	mkdir -p "$W/push"
	pool push_one "$SOAK_RUNS"
	run check_runs push
	assert_success
	ok=${output#ok }
	echo "# pushes: $ok of $SOAK_RUNS succeeded; faults: $(faults_report | tr '\n' ' ')" >&3
	failures push >&3
	run verify_pushes
	assert_success
	assert_output_equals ""
	# faults really fired, of several kinds, upload breaks included
	run faults_report
	total=$(awk '{s += $2} END {print s + 0}' <<<"$output")
	[[ $total -ge $((SOAK_RUNS / 2)) ]] || fail "only $total faults fired" "$output"
	[[ $(wc -l <<<"$output") -ge 5 ]] || fail "too few fault kinds fired" "$output"
	grep -qE '^(reset-upload|short-range) ' <<<"$output" || fail "no upload was broken" "$output"
	# at 10% with 3 retries nearly every push must get through
	[[ $ok -ge $((SOAK_RUNS * 8 / 10)) ]] ||
		fail "only $ok of $SOAK_RUNS pushes succeeded" "$(cat "$W"/push/*.err | sort | uniq -c | sort -rn | head)"
}

# --- pulls ----------------------------------------------------------------------------------------

# dest_of I: where pull I writes
dest_of() {
	case $(($1 % 3)) in
	0) echo "oci:$W/pull/$1:v1" ;;
	1) echo "oci-archive:$W/pull/$1.tar:v1" ;;
	2) echo "docker-archive:$W/pull/$1-d.tar:soak/img$1:v1" ;;
	esac
}

pull_one() {
	local i=$1 p addr rc=0
	p=$(proxy_of "$i")
	addr="${p}_ADDR"
	regship -q pull "${!addr}/soak/img$i:v1" "$(dest_of "$i")" >"$W/pulls/$i.out" \
		2>"$W/pulls/$i.err" || rc=$?
	echo "$rc" >"$W/pulls/$i.rc"
}

# verify_pulls: every successful pull reported the expected digest and wrote a layout / archive
#   whose every blob file hashes to its name (and, for docker archives, holds the image's config
#   and layers); a failed pull left no archive and no image in its layout; nothing else (no
#   temporary) is in the pull directory. Prints a problem per line.
verify_pulls() {
	"$HARNESS_PY" - "$W" "$SOAK_RUNS" <<'EOF'
import hashlib, json, os, sys, tarfile
w, runs = sys.argv[1], int(sys.argv[2])
want = dict(l.split() for l in open(w + "/images"))
sha = lambda b: "sha256:" + hashlib.sha256(b).hexdigest()
expected_names = set()

def check_layout(i, files):
    """files: name -> bytes of an OCI layout; returns problems."""
    out = []
    for name, data in files.items():
        if name.startswith("blobs/sha256/") and sha(data) != "sha256:" + name.rsplit("/", 1)[1]:
            out.append("pull %d: %s does not hash to its name" % (i, name))
    idx = json.loads(files["index.json"])
    tops = [m["digest"] for m in idx["manifests"]
            if (m.get("annotations") or {}).get("org.opencontainers.image.ref.name") == "v1"]
    if tops != [want[str(i)]]:
        out.append("pull %d: index.json has v1 -> %s, expected %s" % (i, tops, want[str(i)]))
        return out
    m = json.loads(files["blobs/sha256/" + tops[0].split(":")[1]])
    for b in [m["config"]] + m["layers"]:
        if "blobs/sha256/" + b["digest"].split(":")[1] not in files:
            out.append("pull %d: blob %s missing" % (i, b["digest"]))
    return out

def tar_files(path):
    with tarfile.open(path) as t:
        return {m.name.lstrip("./"): t.extractfile(m).read() for m in t.getmembers() if m.isfile()}

def dir_files(path):
    out = {}
    for root, _, names in os.walk(path):
        for n in names:
            p = os.path.join(root, n)
            out[os.path.relpath(p, path)] = open(p, "rb").read()
    return out

src_layout = lambda i: dir_files("%s/lay/%d" % (w, i))
for i in range(runs):
    rc = int(open("%s/pulls/%d.rc" % (w, i)).read())
    out = [l for l in open("%s/pulls/%d.out" % (w, i)).read().split("\n") if l.strip()]
    kind = i % 3
    path = "%s/pull/%d" % (w, i) + ("", ".tar", "-d.tar")[kind]
    name = os.path.basename(path)
    if rc != 0:
        if kind == 0:
            if os.path.exists(path):
                expected_names.add(name)
                files = dir_files(path)
                idx = json.loads(files.get("index.json", b'{"manifests": []}'))
                if idx["manifests"]:
                    print("pull %d failed (exit %d) but %s lists %s" % (i, rc, path, idx["manifests"]))
                for n, data in files.items():
                    if n.startswith("blobs/sha256/") and sha(data) != "sha256:" + n.rsplit("/", 1)[1]:
                        print("pull %d failed and left a corrupt blob %s" % (i, n))
        elif os.path.exists(path):
            print("pull %d failed (exit %d) but left %s" % (i, rc, path))
        continue
    expected_names.add(name)
    if not out or not out[-1].endswith("@" + want[str(i)]):
        print("pull %d: reported %r, expected ...@%s" % (i, out[-1:], want[str(i)]))
    if not os.path.exists(path):
        print("pull %d: succeeded but %s does not exist" % (i, path))
        continue
    if kind in (0, 1):
        for p in check_layout(i, dir_files(path) if kind == 0 else tar_files(path)):
            print(p)
        continue
    # docker archive: the config is the image's, each layer is one of the image's layers
    # (compressed digest or diff_id)
    files = tar_files(path)
    src = src_layout(i)
    sm = json.loads(src["blobs/sha256/" + want[str(i)].split(":")[1]])
    cfg = json.loads(src["blobs/sha256/" + sm["config"]["digest"].split(":")[1]])
    ok_layers = {l["digest"] for l in sm["layers"]} | set(cfg["rootfs"]["diff_ids"])
    entry = json.loads(files["manifest.json"])[0]
    if sha(files[entry["Config"]]) != sm["config"]["digest"]:
        print("pull %d: docker archive config hashes to %s, expected %s" %
              (i, sha(files[entry["Config"]]), sm["config"]["digest"]))
    if len(entry["Layers"]) != len(sm["layers"]):
        print("pull %d: docker archive has %d layers" % (i, len(entry["Layers"])))
    for l in entry["Layers"]:
        if sha(files[l]) not in ok_layers:
            print("pull %d: docker archive layer %s hashes to %s" % (i, l, sha(files[l])))
extra = sorted(set(os.listdir(w + "/pull")) - expected_names)
if extra:
    print("left in the pull directory: %s" % extra)
EOF
}

@test "soak: SOAK_RUNS pulls (100; 50 in CI) through fault proxies (10%) to oci:, oci-archive:, docker-archive:" {
	mkdir -p "$W/pulls" "$W/pull"
	# every image must be in the registry: push directly (no faults, own blob cache) what the
	# push soak did not get there
	local i
	for ((i = 0; i < SOAK_RUNS; i++)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' -H "Accept: $MANIFEST_ACCEPT" \
			"$reg_URL/v2/soak/img$i/manifests/v1")
		[[ $code == 200 ]] && continue
		REGSHIP_TEST_HOME="$BATS_FILE_TMPDIR/home-direct" regship -q push oci:"$W/lay/$i":v1 \
			"$reg_ADDR/soak/img$i:v1" >/dev/null
	done
	for f in "$BATS_FILE_TMPDIR"/soak*/faults.jsonl; do cp "$f" "$f.pushes" && : >"$f"; done
	pool pull_one "$SOAK_RUNS"
	run check_runs pulls
	assert_success
	ok=${output#ok }
	echo "# pulls: $ok of $SOAK_RUNS succeeded; faults: $(faults_report | tr '\n' ' ')" >&3
	failures pulls >&3
	run verify_pulls
	assert_success
	assert_output_equals ""
	# skopeo reads a sample of the layouts and archives
	if command -v skopeo >/dev/null; then
		for ((i = 0; i < SOAK_RUNS; i += 17)); do
			[[ $(<"$W/pulls/$i.rc") == 0 ]] || continue
			src=$(dest_of "$i")
			[[ $src == docker-archive:* ]] && src=${src%:soak/*}
			skopeo --insecure-policy copy -q "$src" "oci:$BATS_TEST_TMPDIR/sk$i:x" ||
				fail "skopeo could not copy $src"
		done
	fi
	run faults_report
	total=$(awk '{s += $2} END {print s + 0}' <<<"$output")
	[[ $total -ge $((SOAK_RUNS / 4)) ]] || fail "only $total faults fired" "$output"
	[[ $(wc -l <<<"$output") -ge 5 ]] || fail "too few fault kinds fired" "$output"
	grep -qE '^(reset-download|truncate|flip) ' <<<"$output" || fail "no download was broken" "$output"
	[[ $ok -ge $((SOAK_RUNS * 8 / 10)) ]] ||
		fail "only $ok of $SOAK_RUNS pulls succeeded" "$(cat "$W"/pulls/*.err | sort | uniq -c | sort -rn | head)"
}
