#!/usr/bin/env bats
# Docker-archive pushes whose layers need gzip compress them straight into the upload (issue 16):
# one streamed PATCH per layer (or Content-Range chunks with --chunk-size), the digest learnt on
# the way and given on the final PUT, no temporary copy. The pushed bytes must be exactly what
# the manifest names, the compression cache must spare a re-push any upload, and a broken push
# must leave nothing that stops the next one.

setup_file() {
	load helpers
	reg_start plain reg
	export A="$BATS_FILE_TMPDIR/archives"
	mkdir -p "$A"
	# plain (uncompressed) layers: 3 compressible, and 2 of random bytes (stored blocks)
	fixture docker-archive "$A/plain.tar" --repo-tag sp/img:1 --layers 3 --layer-size 300K \
		--compressible --seed sp-plain >/dev/null
	fixture docker-archive "$A/random.tar" --repo-tag sp/rnd:1 --layers 2 --layer-size 200K \
		--seed sp-random >/dev/null
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
}

# random_archive NAME: a docker archive of 2 plain layers of 200 KiB of random bytes, new to the
# compression cache (a layer the cache knows is uploaded with its digest known, not streamed)
random_archive() {
	fixture docker-archive "$T/$1.tar" --repo-tag "sp/$1:1" --layers 2 --layer-size 200K \
		--seed "sp-$1-$BATS_TEST_NUMBER" >/dev/null
}

reqs() {
	local f="${1}_REQUESTS"
	jsonl_count "${!f}" "$2"
}

# check_pushed URL REPO TAG: every layer of the manifest is in the registry with exactly the
# digest and size the manifest gives, is gzip, and unpacks to the diff_id the config names
check_pushed() {
	local url=$1 repo=$2 tag=$3 n i digest size got
	curl -sf -H "Accept: $MANIFEST_ACCEPT" "$url/v2/$repo/manifests/$tag" >"$T/m.json" ||
		fail "no manifest $repo:$tag"
	curl -sf "$url/v2/$repo/blobs/$(json 'd["config"]["digest"]' <"$T/m.json")" >"$T/config.json"
	n=$(json 'len(d["layers"])' <"$T/m.json")
	[[ $n -ge 1 ]] || fail "no layers in $repo:$tag"
	for ((i = 0; i < n; i++)); do
		digest=$(json "d['layers'][$i]['digest']" <"$T/m.json")
		size=$(json "d['layers'][$i]['size']" <"$T/m.json")
		[[ $(json "d['layers'][$i]['mediaType']" <"$T/m.json") == *gzip ]] ||
			fail "layer $i is not gzip: $(cat "$T/m.json")"
		curl -sf "$url/v2/$repo/blobs/$digest" >"$T/layer" || fail "layer $digest missing"
		got=$(sha256sum "$T/layer" | cut -d' ' -f1)
		assert_equal "sha256:$got" "$digest"
		assert_equal "$(stat -c %s "$T/layer")" "$size"
		got=$(gzip -dc "$T/layer" | sha256sum | cut -d' ' -f1)
		assert_equal "sha256:$got" "$(json "d['rootfs']['diff_ids'][$i]" <"$T/config.json")"
	done
}

@test "a docker archive with plain layers streams each into one PATCH; the blobs match the manifest byte for byte" {
	faultproxy_start fp_s "$reg_URL"
	run regship -q push docker-archive:"$A/plain.tar" "$fp_s_ADDR/sp/plain:1"
	assert_success
	[[ ${lines[-1]} == "$fp_s_ADDR/sp/plain:1@sha256:"* ]] || fail "unexpected output" "$output"
	check_pushed "$reg_URL" sp/plain 1
	# 3 layers: one session and one PATCH each, no Content-Range (length unknown up front),
	# then a PUT with the digest and no body; the config goes up monolithically
	assert_equal "$(reqs fp_s 'd["method"] == "PATCH" and d["status"] == 202')" 3
	assert_equal "$(reqs fp_s 'd["method"] == "PATCH" and d.get("range")')" 0
	assert_equal "$(reqs fp_s 'd["method"] == "POST" and d["path"].endswith("/blobs/uploads/")')" 4
	# the layers were not HEADed again after their upload: the engine knew they were there
	assert_equal "$(reqs fp_s 'd["method"] == "HEAD" and "/blobs/" in d["path"]')" 1
	verify_image reg sp/plain 1 "${lines[-1]#*@}"
}

@test "the pushed image pulls back, and skopeo reads the same digest" {
	run regship -q push docker-archive:"$A/random.tar" "$reg_ADDR/sp/random:1"
	assert_success
	digest=${lines[-1]#*@}
	check_pushed "$reg_URL" sp/random 1
	run regship -q pull --preserve-digests "$reg_ADDR/sp/random:1" oci:"$T/back":v1
	assert_success
	assert_equal "$(json 'd["manifests"][0]["digest"]' <"$T/back/index.json")" "$digest"
	if ! command -v skopeo >/dev/null; then
		skip "skopeo is not installed: the pull above is the only reader"
	fi
	run skopeo inspect --raw --tls-verify=false "docker://$reg_ADDR/sp/random:1"
	assert_success
	assert_equal "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" "$digest"
}

@test "a re-push finds every layer through the compression cache and a HEAD: no upload, no compression" {
	run regship -q push docker-archive:"$A/plain.tar" "$reg_ADDR/sp/again:1"
	assert_success
	digest=${lines[-1]#*@}
	faultproxy_start fp_r "$reg_URL"
	run regship -q push docker-archive:"$A/plain.tar" "$fp_r_ADDR/sp/again:2"
	assert_success
	assert_equal "${lines[-1]}" "$fp_r_ADDR/sp/again:2@$digest"
	assert_equal "$(reqs fp_r '"/blobs/uploads/" in d["path"]')" 0
	assert_equal "$(reqs fp_r 'd["method"] == "HEAD" and "/blobs/" in d["path"]')" 4
	verify_image reg sp/again 2 "$digest"
}

@test "--chunk-size: the compressed stream goes up in Content-Range chunks of that size" {
	random_archive chunked
	faultproxy_start fp_c "$reg_URL"
	run regship -q push --chunk-size 64K docker-archive:"$T/chunked.tar" "$fp_c_ADDR/sp/chunked:1"
	assert_success
	check_pushed "$reg_URL" sp/chunked 1
	# 200 KiB of random bytes per layer: 4 chunks each (3 of 64 KiB, one short), and the config
	assert_equal "$(reqs fp_c 'd["method"] == "PATCH" and d["status"] == 202')" 9
	assert_equal "$(reqs fp_c 'd["method"] == "PATCH" and d["req_bytes"] == 65536')" 6
	verify_image reg sp/chunked 1 "${lines[-1]#*@}"
}

@test "a streamed PATCH reset mid-body starts that layer again in a fresh session" {
	random_archive reset
	faultproxy_start fp_ru "$reg_URL" --only reset-upload --once --rate 1 --match '^PATCH '
	run regship -q push docker-archive:"$T/reset.tar" "$fp_ru_ADDR/sp/reset:1"
	assert_success
	check_pushed "$reg_URL" sp/reset 1
	assert_equal "$(jsonl_count "$fp_ru_FAULTS" 'd["kind"] == "reset-upload"')" 1
	# 2 layers + 1 started over + the config
	assert_equal "$(reqs fp_ru 'd["method"] == "POST" and d["path"].endswith("/blobs/uploads/")')" 4
}

@test "an interrupted push leaves nothing that breaks the next one" {
	fixture docker-archive "$T/int.tar" --repo-tag sp/int:1 --layers 2 --layer-size 300K \
		--compressible --seed sp-int >/dev/null
	# every PATCH is cut: the push fails, no manifest is written
	faultproxy_start fp_i "$reg_URL" --only reset-upload --rate 1 --match '^PATCH '
	run regship -q --retries 1 push docker-archive:"$T/int.tar" "$fp_i_ADDR/sp/int:1"
	assert_failure
	[[ $output == *"sp/int"* || $output == *"upload"* ]] || fail "no useful message" "$output"
	assert_equal "$(reqs fp_i 'd["method"] == "PUT" and "/manifests/" in d["path"]')" 0
	assert_equal "$(reqs fp_i 'd["method"] == "PUT" and "digest=" in d["path"]')" 0
	run curl -s -o /dev/null -w '%{http_code}' "$reg_URL/v2/sp/int/manifests/1"
	assert_equal "$output" 404
	# the same command straight to the registry (same cache, same temporary directory) works
	run regship -q push docker-archive:"$T/int.tar" "$reg_ADDR/sp/int:1"
	assert_success
	check_pushed "$reg_URL" sp/int 1
	verify_image reg sp/int 1 "${lines[-1]#*@}"
}

@test "a layer whose content does not match its diff_id is refused before its final PUT" {
	fixture docker-archive "$T/bad.tar" --repo-tag sp/bad:1 --layers 1 --layer-size 100K \
		--compressible --seed sp-bad >/dev/null
	# change one byte of the layer's content (past the tar header) inside the archive
	mkdir "$T/x"
	tar -C "$T/x" -xf "$T/bad.tar"
	layer=$(find "$T/x" -name '*.tar' -size +50k | head -1)
	[[ -n $layer ]] || skip "the fixture's layout changed: no layer file found"
	printf 'Z' | dd of="$layer" bs=1 seek=4096 conv=notrunc status=none
	(cd "$T/x" && tar -cf "$T/bad2.tar" *)
	faultproxy_start fp_b "$reg_URL"
	run regship -q push docker-archive:"$T/bad2.tar" "$fp_b_ADDR/sp/bad:1"
	assert_status 1
	[[ $output == *"diff_id mismatch"* ]] || fail "expected a diff_id mismatch" "$output"
	assert_equal "$(reqs fp_b 'd["method"] == "PUT"')" 0
}
