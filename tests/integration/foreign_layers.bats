#!/usr/bin/env bats
# Foreign (docker) and non-distributable (OCI) layers pulled into a docker archive: fetched from
# the URLs of their descriptors, never with the registry's credentials, verified against the
# descriptor; a URL that cannot be fetched is named in the message and nothing is written.
# OCI artifacts pulled into a docker archive are refused with a message that says so.
#
# The source registry uses Basic auth (htpasswd); the foreign layer lives in a second registry
# (another origin) behind a recording proxy (no Authorization may reach it) and a proxy that
# flips a byte of every blob. tests/harness/foreign.py pushes the images.

setup_file() {
	load helpers
	# docker-registry refuses foreign-layer URLs unless they are allowed in its config
	REGISTRY_VALIDATION_MANIFESTS_URLS_ALLOW='["^https?://"]' reg_start htpasswd src
	reg_start plain home
	recorder_start rec "$home_URL"
	proxy_start flip "$home_URL" --flip-byte-in-blobs
	export W="$BATS_FILE_TMPDIR/work"
	mkdir -p "$W"
	local layer="v2/cdn/layers/blobs/{digest}"
	"$HARNESS_PY" "$HARNESS_DIR/foreign.py" --src "$src_URL" --user "$src_USER:$src_PASS" \
		--home "$home_URL" --home-repo cdn/layers --repo fl/app >"$W/info.json" <<JSON
{"ok": {"format": "docker", "urls": ["$rec_URL/$layer"]},
 "oci": {"format": "oci", "urls": ["$home_URL/v2/nowhere/blobs/{digest}", "$rec_URL/$layer"]},
 "missing": {"format": "docker", "urls": ["$home_URL/v2/nowhere/blobs/{digest}"]},
 "wrong": {"format": "docker", "urls": ["$flip_URL/$layer"]},
 "same": {"format": "docker", "urls": ["$src_URL/v2/fl/app/blobs/{digest}"]},
 "sbom": {"artifact": true}}
JSON
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
	FOREIGN=$(json 'd["foreign"]["digest"]' <"$W/info.json")
	FOREIGN_DIFF=$(json 'd["foreign"]["diff_id"]' <"$W/info.json")
	PLAIN_DIFF=$(json 'd["plain"]["diff_id"]' <"$W/info.json")
}

# auth_headers: requests the foreign origin received that carried an Authorization header
auth_headers() {
	jsonl_count "$rec_RECORD" 'any(k.lower() == "authorization" for k in d["headers"])'
}

@test "a docker foreign layer is fetched from its URL, without the registry's credentials, and verified" {
	local before
	before=$(jsonl_count "$rec_RECORD" 'True')
	run regship_as src pull "$src_ADDR/fl/app:ok" docker-archive:"$T/ok.tar"
	assert_success
	archive_has_layer "$T/ok.tar" "$FOREIGN_DIFF"
	archive_has_layer "$T/ok.tar" "$PLAIN_DIFF"
	# the foreign origin was asked for the layer, and never saw an Authorization header
	[ "$(jsonl_count "$rec_RECORD" "d['path'].endswith('$FOREIGN')")" -ge 1 ]
	[ "$(jsonl_count "$rec_RECORD" 'True')" -gt "$before" ]
	[ "$(auth_headers)" -eq 0 ]
}

@test "an OCI non-distributable layer: the next URL is tried when the first answers 404" {
	run regship_as src pull "$src_ADDR/fl/app:oci" docker-archive:"$T/oci.tar"
	assert_success
	archive_has_layer "$T/oci.tar" "$FOREIGN_DIFF"
	[ "$(auth_headers)" -eq 0 ]
}

@test "a foreign layer whose URL answers 404: exit 3, the message says foreign and names the URL, nothing written" {
	run regship_as src pull "$src_ADDR/fl/app:missing" docker-archive:"$T/missing.tar"
	assert_failure 3
	assert_output_contains "layer $FOREIGN is foreign"
	assert_output_contains "$home_URL/v2/nowhere/blobs/$FOREIGN"
	assert_output_contains "HTTP 404"
	assert_file_not_exists "$T/missing.tar"
}

@test "a foreign layer served with wrong bytes is refused, naming the URL; nothing written" {
	mkdir -p "$T/tmp"
	TMPDIR="$T/tmp" run regship_as src pull "$src_ADDR/fl/app:wrong" docker-archive:"$T/wrong.tar"
	assert_failure
	assert_output_contains "layer $FOREIGN is foreign"
	assert_output_contains "$flip_URL/v2/cdn/layers/blobs/$FOREIGN"
	assert_output_contains "$FOREIGN"
	assert_file_not_exists "$T/wrong.tar"
	# the temporary files are gone too
	run ls -A "$T/tmp"
	assert_success
	assert_output_equals ""
}

@test "a foreign URL on the registry's own origin gets no credentials either (401)" {
	run regship_as src pull "$src_ADDR/fl/app:same" docker-archive:"$T/same.tar"
	assert_failure
	assert_output_contains "layer $FOREIGN is foreign"
	assert_output_contains "HTTP 401"
	assert_file_not_exists "$T/same.tar"
}

@test "copy to an OCI layout skips the foreign layer; the layout then gives a complete docker archive" {
	local before
	before=$(jsonl_count "$rec_RECORD" 'True')
	run regship_as src pull "$src_ADDR/fl/app:ok" oci:"$T/lay:ok"
	assert_success
	# not moved into the layout (as docker and skopeo do), nothing asked of the foreign origin
	assert_file_not_exists "$T/lay/blobs/sha256/${FOREIGN#sha256:}"
	[ "$(jsonl_count "$rec_RECORD" 'True')" -eq "$before" ]
	run regship copy oci:"$T/lay:ok" docker-archive:"$T/fromlayout.tar"
	assert_success
	archive_has_layer "$T/fromlayout.tar" "$FOREIGN_DIFF"
}

@test "pulling an OCI artifact into a docker archive says it is an artifact, not a container image" {
	run regship_as src pull "$src_ADDR/fl/app:sbom" docker-archive:"$T/sbom.tar"
	assert_failure
	assert_output_contains "is an artifact (artifactType application/spdx+json), not a container image: pull it to oci:"
	assert_output_not_contains "diff_ids"
	assert_file_not_exists "$T/sbom.tar"
	# oci: takes it
	run regship_as src pull "$src_ADDR/fl/app:sbom" oci:"$T/sbom:v1"
	assert_success
}
