#!/usr/bin/env bats
# Fault injection, one fault at a time: tests/harness/faultproxy.py sits between regship and a
# real registry and injects exactly one fault of one kind (--only KIND --once --rate 1, narrowed
# with --match); regship must recover (push/pull succeed, the image verifies with curl/skopeo)
# and the proxy's fault log must show that the fault really fired. Then the retry limit:
# --retries 0 turns one 503 into a clear error, --retries 2 gives up after three 503s.

setup_file() {
	load helpers
	reg_start plain reg
	export W="$BATS_FILE_TMPDIR/work"
	mkdir -p "$W"
	# what the pull tests fetch: 2 layers of 40 KiB and a config
	fixture seed "$reg_URL" faults/pull --tag v1 --layers 2 --layer-size 40K --seed faults-pull \
		--format oci >"$W/pull.out"
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
	PULLED=$(cut -d' ' -f2 "$W/pull.out")
}

# new_layout NAME: a fresh OCI layout $T/NAME (tag v1, 2 layers of 40 KiB, content unique to this
#   test so no blob is already in the registry or in regship's mount cache); prints its digest
new_layout() {
	fixture oci-layout "$T/$1" --tag v1 --layers 2 --layer-size 40K --seed "$1-$BATS_TEST_NUMBER" |
		cut -d' ' -f2
}

# faults NAME [EXPR]: how many faults proxy NAME injected (for which EXPR over `d` holds)
faults() {
	local f="${1}_FAULTS"
	jsonl_count "${!f}" "${2:-True}"
}

# reqs NAME EXPR: how many requests proxy NAME saw for which EXPR (over `d`) holds
reqs() {
	local f="${1}_REQUESTS"
	jsonl_count "${!f}" "$2"
}

# fault_field NAME FIELD: FIELD of the (only) fault proxy NAME logged
fault_field() {
	local f="${1}_FAULTS"
	json "d[\"$2\"]" <"${!f}"
}

# layer_digests URL REPO TAG: the layer digests of REPO:TAG on the registry at URL, joined by |
layer_digests() {
	curl -s -H "Accept: $MANIFEST_ACCEPT" "$1/v2/$2/manifests/$3" | json '"|".join(l["digest"] for l in d["layers"])'
}

# blob_bytes DIR: total size of the blobs (config and layers) of the v1 image in layout DIR
blob_bytes() {
	local m
	m=$(json 'd["manifests"][0]["digest"].split(":")[1]' <"$1/index.json")
	json 'd["config"]["size"] + sum(l["size"] for l in d["layers"])' <"$1/blobs/sha256/$m"
}

@test "reset-upload: a monolithic blob PUT reset mid-body starts again in a fresh upload session" {
	digest=$(new_layout ru)
	faultproxy_start fp_ru "$reg_URL" --only reset-upload --once --rate 1
	run regship -q push oci:"$T/ru":v1 "$fp_ru_ADDR/faults/ru:v1"
	assert_success
	assert_equal "${lines[-1]}" "$fp_ru_ADDR/faults/ru:v1@$digest"
	assert_equal "$(faults fp_ru 'd["kind"] == "reset-upload" and d["method"] == "PUT"')" 1
	verify_image reg faults/ru v1 "$digest"
	# 3 blobs, one of them started over: 4 upload sessions, no PATCH
	assert_equal "$(reqs fp_ru 'd["method"] == "POST" and d["path"].endswith("/blobs/uploads/")')" 4
	assert_equal "$(reqs fp_ru 'd["method"] == "PATCH"')" 0
}

@test "reset-upload: a chunked PATCH reset mid-body asks the upload's status and goes on" {
	digest=$(new_layout ruc)
	faultproxy_start fp_ruc "$reg_URL" --only reset-upload --once --rate 1
	run regship -q push --chunk-size 16K oci:"$T/ruc":v1 "$fp_ruc_ADDR/faults/ruc:v1"
	assert_success
	assert_equal "${lines[-1]}" "$fp_ruc_ADDR/faults/ruc:v1@$digest"
	assert_equal "$(faults fp_ruc 'd["kind"] == "reset-upload" and d["method"] == "PATCH"')" 1
	verify_image reg faults/ruc v1 "$digest"
	# resumed in the same session (a status GET), not started over
	assert_equal "$(reqs fp_ruc 'd["method"] == "GET" and "/blobs/uploads/" in d["path"] and d["status"] == 204')" 1
	assert_equal "$(reqs fp_ruc 'd["method"] == "POST" and d["path"].endswith("/blobs/uploads/")')" 3
}

@test "short-range: a PATCH whose Range shows the registry kept less is sent again from there" {
	digest=$(new_layout sr)
	faultproxy_start fp_sr "$reg_URL" --only short-range --once --rate 1
	run regship -q push --chunk-size 16K oci:"$T/sr":v1 "$fp_sr_ADDR/faults/sr:v1"
	assert_success
	assert_equal "${lines[-1]}" "$fp_sr_ADDR/faults/sr:v1@$digest"
	assert_equal "$(faults fp_sr 'd["kind"] == "short-range"')" 1
	verify_image reg faults/sr v1 "$digest"
	# every blob byte went once, plus exactly the part the registry did not keep
	sent=$(fault_field fp_sr sent)
	kept=$(fault_field fp_sr forwarded)
	patched=$("$HARNESS_PY" -c 'import json, sys
print(sum(json.loads(l)["req_bytes"] for l in open(sys.argv[1]) if json.loads(l)["method"] == "PATCH"))' "$fp_sr_REQUESTS")
	assert_equal "$patched" "$(($(blob_bytes "$T/sr") + sent - kept))"
}

@test "reset-download: a blob GET reset midway is fetched again; the layout verifies" {
	faultproxy_start fp_rd "$reg_URL" --only reset-download --once --rate 1
	run regship -q pull "$fp_rd_ADDR/faults/pull:v1" oci:"$T/rd":v1
	assert_success
	assert_equal "${lines[-1]}" "oci:$T/rd:v1@$PULLED"
	assert_equal "$(faults fp_rd 'd["kind"] == "reset-download"')" 1
	path=$(fault_field fp_rd path)
	[[ $(reqs fp_rd "d['method'] == 'GET' and d['path'] == '$path'") -ge 2 ]]
	verify_layout "$T/rd" v1 "$PULLED"
}

@test "truncate: a blob body cut short goes on with Range: bytes=N- (206)" {
	faultproxy_start fp_tb "$reg_URL" --only truncate --once --rate 1 --match '^GET /v2/.*/blobs/'
	run regship -q pull "$fp_tb_ADDR/faults/pull:v1" oci:"$T/tb":v1
	assert_success
	assert_equal "${lines[-1]}" "oci:$T/tb:v1@$PULLED"
	assert_equal "$(faults fp_tb 'd["kind"] == "truncate"')" 1
	path=$(fault_field fp_tb path)
	half=$(($(fault_field fp_tb length) / 2))
	assert_equal "$(reqs fp_tb "d['path'] == '$path' and d['range'] == 'bytes=$half-' and d['status'] == 206")" 1
	verify_layout "$T/tb" v1 "$PULLED"
}

@test "truncate: a manifest body cut short is fetched again" {
	faultproxy_start fp_tm "$reg_URL" --only truncate --once --rate 1 --match '^GET /v2/.*/manifests/'
	run regship -q pull "$fp_tm_ADDR/faults/pull:v1" oci:"$T/tm":v1
	assert_success
	assert_equal "${lines[-1]}" "oci:$T/tm:v1@$PULLED"
	assert_equal "$(faults fp_tm 'd["kind"] == "truncate" and "/manifests/" in d["path"]')" 1
	verify_layout "$T/tm" v1 "$PULLED"
}

@test "flip: a blob that arrives with a flipped byte is fetched again; nothing corrupt is kept" {
	faultproxy_start fp_fl "$reg_URL" --only flip --once --rate 1
	run regship -q pull "$fp_fl_ADDR/faults/pull:v1" oci:"$T/fl":v1
	assert_success
	assert_equal "${lines[-1]}" "oci:$T/fl:v1@$PULLED"
	assert_equal "$(faults fp_fl 'd["kind"] == "flip"')" 1
	path=$(fault_field fp_fl path)
	[[ $(reqs fp_fl "d['method'] == 'GET' and d['path'] == '$path' and d['fault'] is None") -ge 1 ]]
	verify_layout "$T/fl" v1 "$PULLED"
}

@test "flip: a corrupted layer pulled into a docker archive is fetched again, not a gzip error" {
	faultproxy_start fp_fda "$reg_URL" --only flip --once --rate 1 \
		--match "^GET /v2/faults/pull/blobs/($(layer_digests "$reg_URL" faults/pull v1))\$"
	run regship -q pull "$fp_fda_ADDR/faults/pull:v1" docker-archive:"$T/fda.tar":faults/pull:v1
	assert_equal "$(faults fp_fda 'd["kind"] == "flip"')" 1
	assert_success
	assert_equal "${lines[-1]}" "docker-archive:$T/fda.tar:faults/pull:v1@$PULLED"
	command -v skopeo >/dev/null || return 0
	skopeo --insecure-policy copy -q docker-archive:"$T/fda.tar" oci:"$T/fda-check":x
}

@test "500 on the manifest PUT is retried; the push completes" {
	digest=$(new_layout e500)
	faultproxy_start fp_500 "$reg_URL" --only 500 --once --rate 1 --match '^PUT /v2/.*/manifests/'
	run regship -q push oci:"$T/e500":v1 "$fp_500_ADDR/faults/e500:v1"
	assert_success
	assert_equal "${lines[-1]}" "$fp_500_ADDR/faults/e500:v1@$digest"
	assert_equal "$(faults fp_500 'd["kind"] == "500" and d["method"] == "PUT"')" 1
	assert_equal "$(reqs fp_500 'd["method"] == "PUT" and "/manifests/" in d["path"] and d["status"] == 201')" 1
	verify_image reg faults/e500 v1 "$digest"
}

@test "502 on an upload POST is retried; the push completes" {
	digest=$(new_layout e502)
	faultproxy_start fp_502 "$reg_URL" --only 502 --once --rate 1 --match '^POST /v2/.*/blobs/uploads/'
	run regship -q push oci:"$T/e502":v1 "$fp_502_ADDR/faults/e502:v1"
	assert_success
	assert_equal "${lines[-1]}" "$fp_502_ADDR/faults/e502:v1@$digest"
	assert_equal "$(faults fp_502 'd["kind"] == "502" and d["method"] == "POST"')" 1
	verify_image reg faults/e502 v1 "$digest"
}

@test "503 on a blob GET is retried; the pull completes" {
	faultproxy_start fp_503 "$reg_URL" --only 503 --once --rate 1 --match '^GET /v2/.*/blobs/'
	run regship -q pull "$fp_503_ADDR/faults/pull:v1" oci:"$T/e503":v1
	assert_success
	assert_equal "${lines[-1]}" "oci:$T/e503:v1@$PULLED"
	assert_equal "$(faults fp_503 'd["kind"] == "503"')" 1
	verify_layout "$T/e503" v1 "$PULLED"
}

@test "503 on the very first request (the one that settles plain HTTP vs TLS) is retried" {
	# a loopback registry is not pinged: the first request is the manifest GET itself
	faultproxy_start fp_ping "$reg_URL" --only 503 --once --rate 1 --match '^(GET|HEAD) /v2/'
	run regship -q pull "$fp_ping_ADDR/faults/pull:v1" oci:"$T/ping":v1
	assert_equal "$(faults fp_ping 'd["kind"] == "503" and d["path"] == "/v2/faults/pull/manifests/v1"')" 1
	assert_success
	assert_equal "${lines[-1]}" "oci:$T/ping:v1@$PULLED"
	verify_layout "$T/ping" v1 "$PULLED"
}

@test "429 with Retry-After: 2 is retried no sooner than asked" {
	faultproxy_start fp_429 "$reg_URL" --only 429 --once --rate 1 --retry-after 2 \
		--match '^GET /v2/.*/manifests/'
	run regship -q pull "$fp_429_ADDR/faults/pull:v1" oci:"$T/e429":v1
	assert_success
	assert_equal "${lines[-1]}" "oci:$T/e429:v1@$PULLED"
	assert_equal "$(faults fp_429 'd["kind"] == "429"')" 1
	path=$(fault_field fp_429 path)
	t429=$(fault_field fp_429 t)
	# the next request for that manifest came at least 2 s after the 429 (backoff alone: < 0.5 s)
	gap=$("$HARNESS_PY" -c 'import json, sys
ts = [json.loads(l)["t"] for l in open(sys.argv[1]) if json.loads(l)["path"] == sys.argv[2] and json.loads(l)["fault"] is None]
print(min(t for t in ts if t > float(sys.argv[3])) - float(sys.argv[3]))' "$fp_429_REQUESTS" "$path" "$t429")
	"$HARNESS_PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 1.95 else 1)' "$gap" ||
		fail "retried $gap s after a 429 with Retry-After: 2"
	verify_layout "$T/e429" v1 "$PULLED"
}

@test "delay: a manifest answered 1.5 s late is waited for, not asked twice" {
	faultproxy_start fp_dl "$reg_URL" --only delay --once --rate 1 --delay-ms 1500 \
		--match '^GET /v2/.*/manifests/'
	run regship -q pull "$fp_dl_ADDR/faults/pull:v1" oci:"$T/dl":v1
	assert_success
	assert_equal "${lines[-1]}" "oci:$T/dl:v1@$PULLED"
	assert_equal "$(faults fp_dl 'd["kind"] == "delay"')" 1
	assert_equal "$(reqs fp_dl 'd["method"] == "GET" and "/manifests/" in d["path"]')" 1
	verify_layout "$T/dl" v1 "$PULLED"
}

@test "--retries 0: a single 503 is a clear error, exit status 1, and no image in the layout" {
	faultproxy_start fp_r0 "$reg_URL" --only 503 --once --rate 1 --match '^GET /v2/.*/manifests/'
	run regship --retries 0 pull "$fp_r0_ADDR/faults/pull:v1" oci:"$T/r0":v1
	assert_failure 1
	assert_output_matches "regship: .*faults/pull:v1.*answered 503"
	assert_equal "$(faults fp_r0)" 1
	assert_equal "$(reqs fp_r0 '"/manifests/" in d["path"]')" 1
	if [[ -e $T/r0/index.json ]]; then
		assert_equal "$(json 'len(d["manifests"])' <"$T/r0/index.json")" 0
	fi
}

@test "--retries 2 against a registry that keeps answering 503: three tries, then a clear error" {
	faultproxy_start fp_r2 "$reg_URL" --only 503 --rate 1 --match '^GET /v2/.*/blobs/'
	run regship --retries 2 pull "$fp_r2_ADDR/faults/pull:v1" oci:"$T/r2":v1
	assert_failure 1
	assert_output_matches "regship: .*answered 503"
	# every blob GET got a 503; none was tried more than 3 times
	"$HARNESS_PY" -c 'import collections, json, sys
c = collections.Counter(json.loads(l)["path"] for l in open(sys.argv[1]))
print(dict(c))
sys.exit(0 if c and max(c.values()) == 3 else 1)' "$fp_r2_FAULTS" || fail "blob GETs per path, expected at most 3"
	if [[ -e $T/r2/index.json ]]; then
		assert_equal "$(json 'len(d["manifests"])' <"$T/r2/index.json")" 0
	fi
}

@test "503 on the GET /v2/ ping (registries that are pinged: here --insecure) is retried" {
	# with --insecure the host is not treated as loopback-only, so regship pings it first
	faultproxy_start fp_ping2 "$reg_URL" --only 503 --once --rate 1 --match '^GET /v2/$'
	run regship -q --insecure pull "$fp_ping2_ADDR/faults/pull:v1" oci:"$T/ping2":v1
	assert_equal "$(faults fp_ping2 'd["kind"] == "503" and d["path"] == "/v2/"')" 1
	assert_success
	assert_equal "${lines[-1]}" "oci:$T/ping2:v1@$PULLED"
	verify_layout "$T/ping2" v1 "$PULLED"
}
