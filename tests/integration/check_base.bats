#!/usr/bin/env bats
# check-base IMAGE BASE: does IMAGE's layer list start with BASE's current layers? Exit 0 up to
# date, 8 when the base has moved; the base digest the image was built on (its
# org.opencontainers.image.base.digest annotation, else "unknown") and the current one; per
# platform for indexes; --json; local layouts and archives as well as registries.

bats_require_minimum_version 1.5.0

# derive URL BASE_REPO:TAG REPO:TAG ANNOTATE(yes|no) SEED: push an image made of BASE's layers
# plus one more (per platform when BASE is an index), annotated with BASE's digest when asked.
# Prints the new image's digest.
derive() {
	"$HARNESS_PY" - "$@" <<'EOF'
import hashlib, json, sys, urllib.request
url, base, image, annotate, seed = sys.argv[1:6]
brepo, btag = base.rsplit(":", 1)
repo, tag = image.rsplit(":", 1)
ACCEPT = ", ".join(["application/vnd.oci.image.index.v1+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json",
                    "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json"])

def req(method, path, body=None, headers=None):
    r = urllib.request.Request(path if path.startswith("http") else url + path, data=body,
                               method=method, headers=headers or {})
    with urllib.request.urlopen(r) as resp:
        return resp.status, resp.headers, resp.read()

def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()

def get_manifest(ref):
    _, h, b = req("GET", "/v2/%s/manifests/%s" % (brepo, ref), headers={"Accept": ACCEPT})
    return json.loads(b), h["Content-Type"], sha(b)

def mount(d):
    s, _, _ = req("POST", "/v2/%s/blobs/uploads/?mount=%s&from=%s" % (repo, d, brepo), b"")
    assert s == 201, s

def put_blob(data):
    d = sha(data)
    _, h, _ = req("POST", "/v2/%s/blobs/uploads/" % repo, b"")
    loc = h["Location"]
    loc = (url + loc) if loc.startswith("/") else loc
    req("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + d, data,
        {"Content-Type": "application/octet-stream"})
    return d, len(data)

def put_manifest(obj, mt, ref):
    b = json.dumps(obj).encode()
    req("PUT", "/v2/%s/manifests/%s" % (repo, ref), b, {"Content-Type": mt})
    return sha(b)

top, top_mt, top_digest = get_manifest(btag)
notes = {"org.opencontainers.image.base.digest": top_digest,
         "org.opencontainers.image.base.name": base} if annotate == "yes" else None

def derive_image(m, mt, label):
    _, _, cfg = req("GET", "/v2/%s/blobs/%s" % (brepo, m["config"]["digest"]))
    cfg = json.loads(cfg)
    layer = ("derived layer %s %s" % (seed, label)).encode()
    cfg.setdefault("rootfs", {"type": "layers", "diff_ids": []})["diff_ids"].append(sha(layer))
    for l in m["layers"]:
        mount(l["digest"])
    ld, ls = put_blob(layer)
    cd, cs = put_blob(json.dumps(cfg).encode())
    out = dict(m)
    out["config"] = dict(m["config"], digest=cd, size=cs)
    out["layers"] = m["layers"] + [dict(m["layers"][-1], digest=ld, size=ls)]
    if notes:
        out["annotations"] = notes
    return out

if "manifests" in top:
    children = []
    for c in top["manifests"]:
        m, mt, _ = get_manifest(c["digest"])
        out = derive_image(m, mt, json.dumps(c.get("platform")))
        body = json.dumps(out).encode()
        children.append(dict(c, digest=put_manifest(out, mt, sha(body)), size=len(body)))
    idx = dict(top, manifests=children)
    if notes:
        idx["annotations"] = notes
    print(put_manifest(idx, top_mt, tag))
else:
    print(put_manifest(derive_image(top, top_mt, "single"), top_mt, tag))
EOF
}

setup_file() {
	load helpers
	reg_start plain cb
	local d=$BATS_FILE_TMPDIR
	reg_seed cb cb/base --tag 1 --tag moving --format oci --seed base-1 >"$d/cb.fixture"
	reg_seed cb cb/multi --tag 1 --tag moving --format oci --platform linux/amd64 \
		--platform linux/arm64/v8 --seed multi-1 >>"$d/cb.fixture"
	derive "$cb_URL" cb/base:1 cb/app:annotated yes a1 >"$d/app-annotated"
	derive "$cb_URL" cb/base:1 cb/app:plain no a2 >"$d/app-plain"
	derive "$cb_URL" cb/multi:1 cb/app:multi yes m1 >"$d/app-multi"
	derive "$cb_URL" cb/base:moving cb/app:on-moving yes a3 >/dev/null
	derive "$cb_URL" cb/multi:moving cb/app:on-multi-moving yes m2 >/dev/null
	# the bases move on: new layers under the same tags
	reg_seed cb cb/base --tag moving --format oci --seed base-2 >>"$d/cb.fixture"
	reg_seed cb cb/multi --tag moving --format oci --platform linux/amd64 \
		--platform linux/arm64/v8 --seed multi-2 >>"$d/cb.fixture"
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	D=$BATS_FILE_TMPDIR
}

@test "up to date: exit 0, the base digest it was built on and the current one" {
	local base
	base=$(fixture_digest cb cb/base:1)
	run --separate-stderr regship check-base "$cb_ADDR/cb/app:annotated" "$cb_ADDR/cb/base:1"
	assert_success
	assert_equal "${lines[0]}" "$cb_ADDR/cb/app:annotated (linux/amd64): up to date: starts with the 2 layers of $cb_ADDR/cb/base:1"
	assert_equal "${lines[1]}" "    built on: $base"
	assert_equal "${lines[2]}" "    current:  $base"
	assert_equal "${#lines[@]}" 3
	# without the annotation the image still matches, built on "unknown"
	run --separate-stderr regship check-base "$cb_ADDR/cb/app:plain" "$cb_ADDR/cb/base:1"
	assert_success
	assert_equal "${lines[1]}" "    built on: unknown"
	assert_equal "${lines[2]}" "    current:  $base"
}

@test "base moved: exit 8, the old and the new base digests" {
	local old new
	old=$(awk '$1 == "cb/base:moving" { print $2; exit }' "$D/cb.fixture")
	new=$(fixture_digest cb cb/base:moving)
	[[ $old != "$new" ]] || fail "the fixture did not move the base"
	run --separate-stderr regship check-base "$cb_ADDR/cb/app:on-moving" "$cb_ADDR/cb/base:moving"
	assert_status 8
	[[ ${lines[0]} == *"(linux/amd64): base moved: 0 of the 2 layers of $cb_ADDR/cb/base:moving match"* ]] ||
		fail "${lines[0]}"
	assert_equal "${lines[1]}" "    built on: $old"
	assert_equal "${lines[2]}" "    current:  $new"
	assert_equal "$stderr" ""
	# an image that is not built on that base at all is "moved" too (nothing in common)
	run regship check-base "$cb_ADDR/cb/app:annotated" "$cb_ADDR/cb/multi:1"
	assert_status 8
	# -q: only the exit code
	run --separate-stderr regship -q check-base "$cb_ADDR/cb/app:on-moving" "$cb_ADDR/cb/base:moving"
	assert_status 8
	assert_equal "$output" ""
}

@test "an index is checked platform by platform; --platform checks one" {
	local top
	top=$(fixture_digest cb cb/multi:1)
	run --separate-stderr regship check-base "$cb_ADDR/cb/app:multi" "$cb_ADDR/cb/multi:1"
	assert_success
	[[ ${lines[0]} == *"(linux/amd64): up to date"* ]] || fail "$output"
	assert_equal "${lines[2]}" "    current:  $top (linux/amd64: $(fixture_digest cb cb/multi:1@linux/amd64))"
	[[ ${lines[3]} == *"(linux/arm64/v8): up to date"* ]] || fail "$output"
	assert_equal "${lines[4]}" "    built on: $top"
	assert_equal "${#lines[@]}" 6
	run --separate-stderr regship check-base --platform linux/arm64 "$cb_ADDR/cb/app:multi" "$cb_ADDR/cb/multi:1"
	assert_success
	assert_equal "${#lines[@]}" 3
	[[ ${lines[0]} == *"(linux/arm64/v8): up to date"* ]] || fail "$output"
	run regship check-base "$cb_ADDR/cb/app:on-multi-moving" "$cb_ADDR/cb/multi:moving"
	assert_status 8
	# a single-platform image against a multi-platform base: the base's manifest for its platform
	run regship check-base "$cb_ADDR/cb/app:annotated" "$cb_ADDR/cb/multi:1"
	assert_status 8
	run regship check-base --platform linux/s390x "$cb_ADDR/cb/app:multi" "$cb_ADDR/cb/multi:1"
	assert_status 3
	assert_output_contains "linux/s390x"
}

@test "--json: reference, digest, base, up_to_date and one entry per platform" {
	local base app
	base=$(fixture_digest cb cb/base:1)
	app=$(cat "$D/app-annotated")
	run --separate-stderr regship check-base --json "$cb_ADDR/cb/app:annotated" "$cb_ADDR/cb/base:1"
	assert_success
	assert_equal "$(json 'sorted(d)' <<<"$output")" '["base", "digest", "platforms", "reference", "up_to_date"]'
	assert_equal "$(json 'd["reference"]' <<<"$output")" "$cb_ADDR/cb/app:annotated"
	assert_equal "$(json 'd["digest"]' <<<"$output")" "$app"
	assert_equal "$(json 'd["base"]' <<<"$output")" "{\"reference\": \"$cb_ADDR/cb/base:1\", \"digest\": \"$base\"}"
	assert_equal "$(json 'd["up_to_date"]' <<<"$output")" true
	assert_equal "$(json 'd["platforms"][0]' <<<"$output")" "{\"platform\": \"linux/amd64\", \"digest\": \"$app\", \"up_to_date\": true, \"built_on\": \"$base\", \"base_digest\": \"$base\", \"layers\": 3, \"base_layers\": 2, \"matching_layers\": 2}"
	run --separate-stderr regship check-base --json "$cb_ADDR/cb/app:plain" "$cb_ADDR/cb/base:moving"
	assert_status 8
	assert_equal "$(json '[d["up_to_date"], d["platforms"][0]["built_on"], d["platforms"][0]["matching_layers"]]' <<<"$output")" '[false, null, 0]'
	run --separate-stderr regship check-base --json "$cb_ADDR/cb/app:multi" "$cb_ADDR/cb/multi:1"
	assert_equal "$(json '[p["platform"] for p in d["platforms"]]' <<<"$output")" '["linux/amd64", "linux/arm64/v8"]'
}

@test "local images: an OCI layout and a docker archive against a registry base" {
	regship pull "$cb_ADDR/cb/app:annotated" "oci:$D/lay:app" >/dev/null
	regship pull "$cb_ADDR/cb/app:annotated" "docker-archive:$D/app.tar" >/dev/null
	run --separate-stderr regship check-base "oci:$D/lay:app" "$cb_ADDR/cb/base:1"
	assert_success
	assert_equal "${lines[1]}" "    built on: $(fixture_digest cb cb/base:1)"
	run --separate-stderr regship check-base "docker-archive:$D/app.tar" "$cb_ADDR/cb/base:1"
	assert_success
	run --separate-stderr regship check-base "oci:$D/lay:app" "$cb_ADDR/cb/base:moving"
	assert_status 8
	# the base in a layout too
	regship pull "$cb_ADDR/cb/base:1" "oci:$D/lay:base" >/dev/null
	run --separate-stderr regship check-base "oci:$D/lay:app" "oci:$D/lay:base"
	assert_success
}

@test "errors: usage (2), a base the registry does not have (3), a missing layout (2)" {
	run regship check-base "$cb_ADDR/cb/app:annotated"
	assert_status 2
	assert_output_contains "missing BASE"
	run regship check-base a b c
	assert_status 2
	run regship check-base --platform linux "$cb_ADDR/cb/app:annotated" "$cb_ADDR/cb/base:1"
	assert_status 2
	run regship check-base "$cb_ADDR/cb/app:annotated" "$cb_ADDR/cb/base:nope"
	assert_status 3
	assert_output_contains "cb/base:nope"
	run regship check-base "oci:$D/nothere:x" "$cb_ADDR/cb/base:1"
	assert_status 2
	assert_output_contains "$D/nothere"
	run regship check-base -h
	assert_success
	assert_output_contains "usage: regship check-base"
}
