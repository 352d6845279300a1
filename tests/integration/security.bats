#!/usr/bin/env bats
# Credentials never leave their origin: a manifest or blob GET that a proxy redirects to another
# loopback origin (the recorder) carries no Authorization, while a same-origin redirect keeps it;
# -v traces never show passwords or tokens.

bats_require_minimum_version 1.5.0

AUTH_VARIANTS="basic tok"

setup_file() {
	load helpers
	reg_start htpasswd basic
	reg_start token tok
	local v url_var
	for v in $AUTH_VARIANTS; do
		url_var="${v}_URL"
		fixture seed "${!url_var}" sec/img --tag v1 --tag v2 --layers 2 --seed "sec-$v" \
			--user admin:adminpass >"$BATS_FILE_TMPDIR/$v.fixture"
		# a foreign origin that serves the registry's content with its own credentials
		recorder_start "rec_$v" "${!url_var}" --user admin:adminpass
		local rec_var="rec_${v}_URL"
		proxy_start "redir_$v" "${!url_var}" --redirect-manifests-to "${!rec_var}" \
			--redirect-blobs-to "${!rec_var}"
		proxy_start "same_$v" "${!url_var}" --redirect-same-origin \
			--count "$BATS_FILE_TMPDIR/same_$v.jsonl"
	done
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	export REGSHIP_TEST_HOME="$BATS_TEST_TMPDIR/home"
}

v_addr() {
	local a="${1}_ADDR"
	echo "${!a}"
}

# assert_no_secrets TEXT: no password, no Basic credentials, no bearer token in TEXT
assert_no_secrets() {
	local s
	for s in adminpass readerpass "$(printf admin:adminpass | base64 -w0)" \
		"$(printf reader:readerpass | base64 -w0)" "Bearer ey" "eyJ"; do
		[[ $1 != *"$s"* ]] || fail "the trace shows a secret ($s):" "$1"
	done
}

@test "a manifest GET redirected to another origin does not carry Authorization (-u)" {
	local v rec out="$BATS_TEST_TMPDIR/m"
	for v in $AUTH_VARIANTS; do
		echo "# variant $v"
		rec="$BATS_FILE_TMPDIR/rec_$v/record.jsonl"
		: >"$rec"
		regship manifest -u admin --password-stdin "$(v_addr "redir_$v")/sec/img:v1" \
			<<<adminpass >"$out" || fail "$v: manifest through the redirecting proxy failed"
		assert_equal "$(sha256_of "$out")" "$(fixture_digest $v sec/img:v1)" "$v: manifest bytes"
		# the redirect was followed, and the recorder got no credentials
		[[ $(jsonl_count "$rec" 'd["method"] == "GET" and d["path"] == "/v2/sec/img/manifests/v1"') -eq 1 ]] ||
			fail "$v: the recorder did not see the manifest GET" "$(cat "$rec")"
		[[ $(jsonl_count "$rec" '"Authorization" in d["headers"] or "authorization" in {k.lower() for k in d["headers"]}') -eq 0 ]] ||
			fail "$v: Authorization leaked to another origin" "$(cat "$rec")"
	done
}

@test "a manifest GET redirected to another origin does not carry stored (config.json) credentials" {
	local v rec a out="$BATS_TEST_TMPDIR/m"
	for v in $AUTH_VARIANTS; do
		echo "# variant $v"
		a=$(v_addr "redir_$v")
		rec="$BATS_FILE_TMPDIR/rec_$v/record.jsonl"
		: >"$rec"
		run regship login -u admin --password-stdin "$a" <<<adminpass
		assert_success
		regship manifest "$a/sec/img:v2" >"$out" ||
			fail "$v: manifest with stored credentials failed"
		assert_equal "$(sha256_of "$out")" "$(fixture_digest $v sec/img:v2)" "$v: manifest bytes"
		[[ $(jsonl_count "$rec" 'd["path"] == "/v2/sec/img/manifests/v2"') -eq 1 ]] ||
			fail "$v: the recorder did not see the manifest GET" "$(cat "$rec")"
		[[ $(jsonl_count "$rec" '"authorization" in {k.lower() for k in d["headers"]}') -eq 0 ]] ||
			fail "$v: Authorization leaked to another origin" "$(cat "$rec")"
	done
}

@test "blob GETs redirected to another origin (pull) do not carry Authorization" {
	local v rec lay out="$BATS_TEST_TMPDIR/m" digest
	for v in $AUTH_VARIANTS; do
		echo "# variant $v"
		rec="$BATS_FILE_TMPDIR/rec_$v/record.jsonl"
		: >"$rec"
		lay="$BATS_TEST_TMPDIR/lay-$v"
		# --preserve-digests: the registry's docker manifest is stored as it is (checked below)
		run regship pull -q --preserve-digests -u admin --password-stdin "$(v_addr "redir_$v")/sec/img:v1" "oci:$lay:v1" <<<adminpass
		assert_success
		# config + 2 layers came from the recorder, without credentials
		[[ $(jsonl_count "$rec" 'd["method"] == "GET" and "/blobs/sha256:" in d["path"]') -eq 3 ]] ||
			fail "$v: expected 3 blob GETs at the recorder" "$(cat "$rec")"
		[[ $(jsonl_count "$rec" '"authorization" in {k.lower() for k in d["headers"]}') -eq 0 ]] ||
			fail "$v: Authorization leaked to another origin" "$(cat "$rec")"
		# and the bytes are right
		for f in "$lay"/blobs/sha256/*; do
			[[ $(sha256_of "$f") == "sha256:${f##*/}" ]] || fail "$v: blob $f is corrupt"
		done
		[[ -f $lay/blobs/sha256/$(fixture_digest $v sec/img:v1 | cut -d: -f2) ]]
	done
}

@test "a same-origin redirect keeps Authorization (manifest and blobs)" {
	local v count lay out="$BATS_TEST_TMPDIR/m"
	for v in $AUTH_VARIANTS; do
		echo "# variant $v"
		count="$BATS_FILE_TMPDIR/same_$v.jsonl"
		: >"$count"
		regship manifest -u admin --password-stdin "$(v_addr "same_$v")/sec/img:v1" <<<adminpass >"$out" ||
			fail "$v: manifest through a same-origin redirect failed"
		assert_equal "$(sha256_of "$out")" "$(fixture_digest $v sec/img:v1)"
		[[ $(jsonl_count "$count" 'd["path"] == "/_same/v2/sec/img/manifests/v1" and d["auth"] and d["status"] == 200') -eq 1 ]] ||
			fail "$v: the redirected manifest GET lost its Authorization" "$(cat "$count")"
		lay="$BATS_TEST_TMPDIR/lay-$v"
		run regship pull -q -u admin --password-stdin "$(v_addr "same_$v")/sec/img:v1" "oci:$lay:v1" <<<adminpass
		assert_success
		[[ $(jsonl_count "$count" 'd["path"].startswith("/_same/v2/sec/img/blobs/sha256:") and d["auth"] and d["status"] == 200') -eq 3 ]] ||
			fail "$v: redirected blob GETs lost their Authorization" "$(cat "$count")"
		[[ $(jsonl_count "$count" 'd["path"].startswith("/_same/") and d["status"] != 200') -eq 0 ]] ||
			fail "$v: a same-origin request was refused" "$(cat "$count")"
	done
}

@test "-v traces show Authorization: [redacted] and never the password, Basic credentials or token" {
	local v a
	for v in $AUTH_VARIANTS; do
		echo "# variant $v"
		a=$(v_addr $v)
		local trace="" cmd
		for cmd in "tags $a/sec/img" "manifest $a/sec/img:v1" "digest $a/sec/img:v1" \
			"catalog $a" "rm $a/sec/img:v1"; do
			# shellcheck disable=SC2086
			run --separate-stderr regship -v $cmd -u admin --password-stdin <<<adminpass
			[[ $status -eq 0 || $cmd == rm* ]] || fail "$v: regship $cmd: exit $status" "$stderr"
			trace+=$stderr
		done
		# rm refused (v2 shares the manifest), so that was all reads
		[[ $trace == *"refusing to delete"* ]]
		run --separate-stderr regship login -v -u admin --password-stdin "$a" <<<adminpass
		assert_success
		trace+=$stderr
		# with the credentials from config.json, and through the cross-origin redirect
		run --separate-stderr regship -v manifest "$a/sec/img:v2"
		assert_success
		trace+=$stderr
		run --separate-stderr regship --verbose manifest -u admin --password-stdin "$(v_addr "redir_$v")/sec/img:v1" <<<adminpass
		assert_success
		trace+=$stderr

		[[ $trace == *"Authorization: [redacted]"* ]] || fail "$v: no redacted Authorization in the trace" "$trace"
		[[ $(grep -ci '^> authorization:' <<<"$trace") -eq $(grep -c '^> Authorization: \[redacted\]' <<<"$trace") ]] ||
			fail "$v: an Authorization header is not redacted" "$(grep -i authorization <<<"$trace")"
		assert_no_secrets "$trace"
	done
}

@test "-v goes to stderr: stdout still holds exactly the manifest bytes" {
	run --separate-stderr regship -v manifest -u admin --password-stdin "$tok_ADDR/sec/img:v1" <<<adminpass
	assert_success
	assert_equal "$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" "$(fixture_digest tok sec/img:v1 | cut -d: -f2)"
	[[ $stderr == *"GET /v2/sec/img/manifests/v1"* ]] || fail "no request in the trace" "$stderr"
	assert_no_secrets "$stderr"
}
