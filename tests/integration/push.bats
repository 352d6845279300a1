#!/usr/bin/env bats
# regship push: OCI layouts, OCI archives and docker archives (legacy and OCI-in-tar) to plain,
# TLS, htpasswd and token registries, monolithic and chunked; what was pushed is checked with
# curl, `regship digest/manifest` and skopeo (verify_image in helpers.bash). Blob traffic is
# judged from the registry's access log or the counting proxy, never from regship's own report.

setup_file() {
	load helpers
	reg_start plain plain
	reg_start tls tls
	reg_start htpasswd basic
	reg_start token tok
	export SRC="$BATS_FILE_TMPDIR/src"
	mkdir -p "$SRC"
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
}

# first_digest: the digest of fixture's first output line ("NAME DIGEST")
first_digest() { awk 'NR == 1 { print $2 }'; }  # reads to the end: the fixture must not see EPIPE

# upload_requests NAME: the PUT/PATCH requests to /blobs/uploads/ since reg_log_mark NAME
upload_requests() {
	reg_requests "$1" | grep -E '^(PUT|PATCH) /v2/[^ ]*/blobs/uploads/' || true
}

# tag_digest NAME REPO TAG: the registry's Docker-Content-Digest for REPO:TAG
tag_digest() {
	local url_var="${1}_URL"
	reg_curl "$1" "$2" -I -H "Accept: $MANIFEST_ACCEPT" "${!url_var}/v2/$2/manifests/$3" |
		tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'
}

@test "push an OCI layout to the plain registry; a second push uploads no blob bytes" {
	digest=$(fixture oci-layout "$SRC/lay1" --tag v1 --layers 3 --layer-size 300K --seed p1 | first_digest)
	reg_log_mark plain
	run regship push oci:"$SRC/lay1":v1 "$plain_ADDR/push/layout:v1"
	assert_success
	assert_equal "${lines[-1]}" "$plain_ADDR/push/layout:v1@$digest"
	verify_image plain push/layout v1 "$digest"
	# the first push did upload: one monolithic PUT per blob (3 layers + config), no PATCH
	run reg_requests plain
	[[ $(grep -cE '^PUT /v2/push/layout/blobs/uploads/[^ ]+ 201$' <<<"$output") == 4 ]]
	[[ $(grep -c '^PATCH ' <<<"$output") == 0 ]]

	reg_log_mark plain
	run regship push oci:"$SRC/lay1":v1 "$plain_ADDR/push/layout:v1"
	assert_success
	assert_equal "${lines[-1]}" "$plain_ADDR/push/layout:v1@$digest"
	run upload_requests plain
	assert_output_equals ""
	# the tag is already at the image: not even a blob is looked at (noclobber.bats)
	run reg_requests plain
	assert_output_not_contains "/blobs/"
	[[ $(grep -cE '^PUT /v2/push/layout/manifests/' <<<"$output") == 0 ]]

	# to another tag: every blob is found by HEAD, none uploaded, one manifest PUT
	reg_log_mark plain
	run regship push oci:"$SRC/lay1":v1 "$plain_ADDR/push/layout:v1b"
	assert_success
	assert_equal "${lines[-1]}" "$plain_ADDR/push/layout:v1b@$digest"
	run reg_requests plain
	assert_output_not_contains "/blobs/uploads/"
	[[ $(grep -cE '^HEAD /v2/push/layout/blobs/sha256:[0-9a-f]{64} 200$' <<<"$output") == 4 ]]
	[[ $(grep -cE '^PUT /v2/push/layout/manifests/' <<<"$output") == 1 ]]
}

@test "a second push through the counting proxy sends no blob body bytes" {
	count="$BATS_FILE_TMPDIR/count-second.jsonl"
	proxy_start cnt "$plain_URL" --count "$count"
	digest=$(fixture oci-layout "$SRC/lay2" --tag v1 --layers 2 --layer-size 200K --seed p2 | first_digest)
	run regship push oci:"$SRC/lay2":v1 "$cnt_ADDR/push/counted:v1"
	assert_success
	[[ $(jsonl_count "$count" '"/blobs/uploads/" in d["path"] and d["req_bytes"] > 0') -ge 3 ]]
	: >"$count"
	run regship push oci:"$SRC/lay2":v1 "$cnt_ADDR/push/counted:v1"
	assert_success
	assert_equal "${lines[-1]}" "$cnt_ADDR/push/counted:v1@$digest"
	[[ $(jsonl_count "$count" '"/blobs/uploads/" in d["path"]') == 0 ]]
	[[ $(jsonl_count "$count" 'd["method"] in ("PUT", "PATCH", "POST") and "/blobs/" in d["path"] and d["req_bytes"] > 0') == 0 ]]
	verify_image plain push/counted v1 "$digest"
}

@test "push an OCI archive to the TLS registry with --ca-cert, chunked (64K chunks, multi-chunk layers)" {
	count="$BATS_FILE_TMPDIR/count-tls.jsonl"
	proxy_start tlscnt "$tls_URL" --count "$count" --upstream-ca "$tls_CA"
	digest=$(fixture oci-archive "$SRC/arch.tar" --tag t1 --layers 2 --layer-size 200K --seed p3 | first_digest)
	# straight to the TLS registry
	reg_log_mark tls
	run regship --ca-cert "$tls_CA" push --chunk-size 64K oci-archive:"$SRC/arch.tar":t1 "$tls_ADDR/push/archive:t1"
	assert_success
	assert_equal "${lines[-1]}" "$tls_ADDR/push/archive:t1@$digest"
	verify_image tls push/archive t1 "$digest"
	# each layer (> 192K) went up in several PATCHes of its own upload session
	run reg_requests tls
	sessions=$(grep -E '^PATCH /v2/push/archive/blobs/uploads/' <<<"$output" | cut -d' ' -f2 | cut -d'?' -f1 | sort | uniq -c | awk '$1 >= 3' | wc -l)
	[[ $sessions -ge 2 ]] || fail "expected 2 uploads of >= 3 PATCHes" "$output"

	# through the counting proxy (plain HTTP to the proxy, TLS behind it): exact chunk sizes
	cnt_dest="$tlscnt_ADDR/push/archive-counted:t1"
	run regship push --chunk-size 64K oci-archive:"$SRC/arch.tar":t1 "$cnt_dest"
	assert_success
	assert_equal "${lines[-1]}" "$cnt_dest@$digest"
	tar -xOf "$SRC/arch.tar" "blobs/sha256/${digest#sha256:}" >"$BATS_TEST_TMPDIR/manifest.json"
	"$HARNESS_PY" - "$count" "$BATS_TEST_TMPDIR/manifest.json" <<'EOF'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
m = json.load(open(sys.argv[2]))
sizes = sorted(b["size"] for b in [m["config"]] + m["layers"])
sessions = {}
for r in reqs:
    if "/blobs/uploads/" in r["path"] and r["method"] in ("PATCH", "PUT"):
        assert r["req_bytes"] <= 65536, r
        sid = r["path"].split("?")[0]
        sessions.setdefault(sid, []).append(r["req_bytes"])
got = sorted(sum(v) for v in sessions.values())
assert got == sizes, (got, sizes)
for v in sessions.values():
    # every chunk but the last is a full 64K
    full = [n for n in v if n > 0]
    assert all(n == 65536 for n in full[:-1]), v
assert sum(1 for v in sessions.values() if len([n for n in v if n]) >= 4) == 2, sessions
EOF
	verify_image tls push/archive-counted t1 "$digest"
}

@test "push a legacy docker archive to the htpasswd registry by its RepoTags (-u admin --password-stdin)" {
	out=$(fixture docker-archive "$SRC/legacy.tar" --repo-tag "$basic_ADDR/push/legacy:1" \
		--repo-tag "$basic_ADDR/push/legacy:2" --format legacy --layers 2 --layer-size 100K --seed p4)
	config=$(first_digest <<<"$out")
	reg_log_mark basic
	run regship push -u admin --password-stdin docker-archive:"$SRC/legacy.tar" <<<"adminpass"
	assert_success
	[[ ${#lines[@]} -ge 2 ]]
	[[ ${lines[-2]} == "$basic_ADDR/push/legacy:1@sha256:"* ]]
	digest=${lines[-2]#*@}
	assert_equal "${lines[-1]}" "$basic_ADDR/push/legacy:2@$digest"
	verify_image basic push/legacy 1 "$digest"
	verify_image basic push/legacy 2 "$digest"
	# the manifest's config is the archive's config (the image id)
	reg_curl basic push/legacy -H "Accept: $MANIFEST_ACCEPT" "$basic_URL/v2/push/legacy/manifests/1" >"$BATS_TEST_TMPDIR/m.json"
	assert_equal "$(json 'd["config"]["digest"]' <"$BATS_TEST_TMPDIR/m.json")" "$config"
	run reg_requests basic
	assert_output_contains "PUT /v2/push/legacy/manifests/"
}

@test "push an OCI-in-tar docker archive to the token registry, monolithic then chunked" {
	fixture docker-archive "$SRC/dockoci.tar" --repo-tag foo/bar:1 --format oci \
		--layers 2 --layer-size 150K --seed p5 >/dev/null
	run regship_as tok push docker-archive:"$SRC/dockoci.tar" "$tok_ADDR/push/dockoci:mono"
	assert_success
	[[ ${lines[-1]} == "$tok_ADDR/push/dockoci:mono@sha256:"* ]]
	digest=${lines[-1]#*@}
	verify_image tok push/dockoci mono "$digest"

	# another image (the first one's blobs would be mounted from push/dockoci)
	fixture docker-archive "$SRC/dockoci.tar" --repo-tag foo/bar:2 --format oci \
		--layers 2 --layer-size 150K --seed p5b --append >/dev/null
	reg_log_mark tok
	run regship_as tok push --chunk-size 64K docker-archive:"$SRC/dockoci.tar":foo/bar:2 "$tok_ADDR/push/dockoci-chunked:c"
	assert_success
	[[ ${lines[-1]} == "$tok_ADDR/push/dockoci-chunked:c@sha256:"* ]]
	verify_image tok push/dockoci-chunked c "${lines[-1]#*@}"
	run reg_requests tok
	sessions=$(grep -E '^PATCH /v2/push/dockoci-chunked/blobs/uploads/' <<<"$output" | cut -d' ' -f2 | cut -d'?' -f1 | sort | uniq -c | awk '$1 >= 3' | wc -l)
	[[ $sessions -ge 2 ]] || fail "expected 2 uploads of >= 3 PATCHes" "$output"
}

@test "push an OCI layout to the token registry and an OCI archive to the htpasswd registry" {
	digest=$(fixture oci-layout "$SRC/lay3" --tag v1 --layers 2 --layer-size 20K --seed p6 | first_digest)
	run regship_as tok push oci:"$SRC/lay3":v1 "$tok_ADDR/push/tok-layout:v1"
	assert_success
	assert_equal "${lines[-1]}" "$tok_ADDR/push/tok-layout:v1@$digest"
	verify_image tok push/tok-layout v1 "$digest"

	digest=$(fixture oci-archive "$SRC/arch2.tar" --tag a --layers 2 --layer-size 20K --seed p7 | first_digest)
	run regship_as basic push --chunk-size 64K oci-archive:"$SRC/arch2.tar":a "$basic_ADDR/push/basic-archive:a"
	assert_success
	assert_equal "${lines[-1]}" "$basic_ADDR/push/basic-archive:a@$digest"
	verify_image basic push/basic-archive a "$digest"
}

@test "push a legacy docker archive to the TLS registry and an OCI-in-tar one to the plain registry" {
	fixture docker-archive "$SRC/legacy2.tar" --repo-tag x/y:1 --format legacy --layer-size 10K --seed p8 >/dev/null
	run regship --ca-cert "$tls_CA" push docker-archive:"$SRC/legacy2.tar" "$tls_ADDR/push/tls-legacy:1"
	assert_success
	[[ ${lines[-1]} == "$tls_ADDR/push/tls-legacy:1@sha256:"* ]]
	verify_image tls push/tls-legacy 1 "${lines[-1]#*@}"

	fixture docker-archive "$SRC/dockoci2.tar" --repo-tag "$plain_ADDR/push/plain-dockoci:7" --format oci \
		--layer-size 10K --seed p9 >/dev/null
	run regship push --chunk-size 64K docker-archive:"$SRC/dockoci2.tar"
	assert_success
	[[ ${lines[-1]} == "$plain_ADDR/push/plain-dockoci:7@sha256:"* ]]
	verify_image plain push/plain-dockoci 7 "${lines[-1]#*@}"
}

@test "push a multi-arch OCI layout keeps the index digest" {
	out=$(fixture oci-layout "$SRC/multi" --tag m --platform linux/amd64 --platform linux/arm64/v8 --layer-size 8K)
	digest=$(first_digest <<<"$out")
	run regship push oci:"$SRC/multi":m "$plain_ADDR/push/multi:m"
	assert_success
	assert_equal "${lines[-1]}" "$plain_ADDR/push/multi:m@$digest"
	verify_image plain push/multi m "$digest"
	arm=$(sed -n 's/^m@linux\/arm64\/v8 //p' <<<"$out")
	run regship manifest --platform linux/arm64 "$plain_ADDR/push/multi:m"
	assert_success
	assert_equal "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" "$arm"
}

@test "--all-tags pushes the five tags of a layout and of an OCI archive in one command" {
	tags=(v1 latest 2 2.1 2.1.106)
	targs=()
	for t in "${tags[@]}"; do targs+=(--tag "$t"); done
	digest=$(fixture oci-layout "$SRC/tags" "${targs[@]}" --layer-size 12K --seed tags | first_digest)
	reg_log_mark plain
	run regship push --all-tags oci:"$SRC/tags" "$plain_ADDR/push/alltags"
	assert_success
	for t in "${tags[@]}"; do assert_output_contains "$plain_ADDR/push/alltags:$t@$digest"; done
	[[ $(grep -c "@$digest\$" <<<"$output") == 5 ]]
	assert_equal "$(reg_tags plain push/alltags)" '["2", "2.1", "2.1.106", "latest", "v1"]'
	verify_image plain push/alltags 2.1.106 "$digest"
	for t in "${tags[@]}"; do assert_equal "$(tag_digest plain push/alltags "$t")" "$digest" "tag $t"; done
	# each blob went up once
	run reg_requests plain
	[[ $(grep -cE '^PUT /v2/push/alltags/blobs/uploads/' <<<"$output") == 3 ]]
	[[ $(grep -cE '^PUT /v2/push/alltags/manifests/' <<<"$output") -ge 5 ]]

	digest=$(fixture oci-archive "$SRC/tags.tar" "${targs[@]}" --layer-size 12K --seed tags2 | first_digest)
	run regship_as tok push --all-tags oci-archive:"$SRC/tags.tar" "$tok_ADDR/push/alltags-archive"
	assert_success
	[[ $(grep -c "^$tok_ADDR/push/alltags-archive:[^@]*@$digest\$" <<<"$output") == 5 ]]
	assert_equal "$(reg_tags tok push/alltags-archive)" '["2", "2.1", "2.1.106", "latest", "v1"]'
	verify_image tok push/alltags-archive 2.1.106 "$digest"
	for t in "${tags[@]}"; do assert_equal "$(tag_digest tok push/alltags-archive "$t")" "$digest" "tag $t"; done
}

@test "--all-tags pushes every RepoTag of a docker archive" {
	fixture docker-archive "$SRC/multi-image.tar" --repo-tag "$plain_ADDR/push/da-one:a" \
		--repo-tag "$plain_ADDR/push/da-one:b" --seed da1 >/dev/null
	fixture docker-archive "$SRC/multi-image.tar" --repo-tag "$plain_ADDR/push/da-two:c" --seed da2 --append >/dev/null
	run regship push --all-tags docker-archive:"$SRC/multi-image.tar"
	assert_success
	assert_equal "$(reg_tags plain push/da-one)" '["a", "b"]'
	assert_equal "$(reg_tags plain push/da-two)" '["c"]'
	one=$(grep "^$plain_ADDR/push/da-one:a@" <<<"$output" | cut -d@ -f2)
	two=$(grep "^$plain_ADDR/push/da-two:c@" <<<"$output" | cut -d@ -f2)
	[[ -n $one && -n $two && $one != "$two" ]]
	verify_image plain push/da-one b "$one"
	verify_image plain push/da-two c "$two"
}

@test "a push to a second repository mounts with --mount-from instead of uploading" {
	digest=$(fixture oci-layout "$SRC/mnt" --tag v1 --layers 2 --layer-size 64K --seed mnt | first_digest)
	run regship push oci:"$SRC/mnt":v1 "$plain_ADDR/mount/origin:v1"
	assert_success
	# another HOME: no blob cache from the first push, only --mount-from can say where the blobs are
	reg_log_mark plain
	REGSHIP_TEST_HOME="$BATS_TEST_TMPDIR/fresh-home" run regship push --json --mount-from mount/origin \
		oci:"$SRC/mnt":v1 "$plain_ADDR/mount/copy:v1"
	assert_success
	run reg_requests plain
	[[ $(grep -cE '^POST /v2/mount/copy/blobs/uploads/\?[^ ]*mount=sha256(:|%3A)[0-9a-f]{64}[^ ]* 201$' <<<"$output") == 3 ]] ||
		fail "expected 3 mounts" "$output"
	[[ $(grep -E '^POST ' <<<"$output" | grep -cE 'from=mount(/|%2F)origin') == 3 ]]
	run upload_requests plain
	assert_output_equals ""
	verify_image plain mount/copy v1 "$digest"
}

@test "a push to a second repository mounts automatically (blob cache of the first push)" {
	digest=$(fixture oci-layout "$SRC/auto" --tag v1 --layers 2 --layer-size 64K --seed auto | first_digest)
	run regship push oci:"$SRC/auto":v1 "$plain_ADDR/auto/origin:v1"
	assert_success
	reg_log_mark plain
	run regship push --json oci:"$SRC/auto":v1 "$plain_ADDR/auto/second:v1"
	assert_success
	json_out=$(grep '^{' <<<"$output")
	run reg_requests plain
	[[ $(grep -cE '^POST /v2/auto/second/blobs/uploads/\?[^ ]*mount=[^ ]* 201$' <<<"$output") == 3 ]] ||
		fail "expected 3 mounts" "$output"
	[[ $(grep -E '^POST ' <<<"$output" | grep -cE 'from=auto(/|%2F)origin') == 3 ]]
	run upload_requests plain
	assert_output_equals ""
	verify_image plain auto/second v1 "$digest"
	# and regship's own report agrees
	[[ $(json '[b["state"] for b in d["blobs"]]' <<<"$json_out") == '["mounted", "mounted", "mounted"]' ]]
	[[ $(json 'd["bytes_sent"]' <<<"$json_out") == 0 ]]
}

@test "automatic mount on the token registry (token asks pull on the source repository)" {
	digest=$(fixture oci-layout "$SRC/automnt" --tag v1 --layers 2 --layer-size 64K --seed tokmnt | first_digest)
	run regship_as tok push oci:"$SRC/automnt":v1 "$tok_ADDR/tokmount/origin:v1"
	assert_success
	reg_log_mark tok
	run regship_as tok push oci:"$SRC/automnt":v1 "$tok_ADDR/tokmount/second:v1"
	assert_success
	run reg_requests tok
	[[ $(grep -cE '^POST /v2/tokmount/second/blobs/uploads/\?[^ ]*mount=[^ ]* 201$' <<<"$output") == 3 ]] ||
		fail "expected 3 mounts" "$output"
	run upload_requests tok
	assert_output_equals ""
	verify_image tok tokmount/second v1 "$digest"
}
