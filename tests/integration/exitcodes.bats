#!/usr/bin/env bats
# The exit-code contract of regship(1), each code driven from a real situation: 0 ok, 1 error,
# 2 usage or invalid argument (an unreadable --ca-cert, a local source that does not exist), 3 not
# found (only when the registry says so; absent from a local layout or archive is 1), 4 authentication or
# permission, 5 rate limited (429 after the retries, its figures in the message), 6 partial (prune
# with some removals refused), 7 conflict (--no-clobber, an immutable tag). The 429s, denials
# and immutability answers come from tests/harness/policyproxy.py in front of a real registry.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	reg_start plain ex
	reg_start htpasswd auth
	reg_seed ex ex/app --tag v1 --seed ex-v1 >"$BATS_FILE_TMPDIR/ex.fixture"
	reg_seed ex ex/app --tag v2 --seed ex-v2 >>"$BATS_FILE_TMPDIR/ex.fixture"
	reg_seed ex ex/pr --tag 1.0.0 --seed pr-0 >>"$BATS_FILE_TMPDIR/ex.fixture"
	reg_seed ex ex/pr --tag 1.0.1 --seed pr-1 >>"$BATS_FILE_TMPDIR/ex.fixture"
	reg_seed ex ex/pr --tag 1.0.2 --seed pr-2 >>"$BATS_FILE_TMPDIR/ex.fixture"
	reg_seed auth priv/app --tag v1 --seed auth-v1 >/dev/null
	server_start policyproxy rl --upstream "$ex_URL" --ratelimit '/tags/list' --retry-after 1
	server_start policyproxy imm --upstream "$ex_URL" --immutable
	local d0
	d0=$(fixture_digest ex ex/pr:1.0.0)
	server_start policyproxy deny --upstream "$ex_URL" --deny "^DELETE /v2/ex/pr/manifests/$d0"
}

teardown_file() {
	load helpers
	reg_stop_all
}

setup() {
	load helpers
}

@test "exit 0: success" {
	run regship tags "$ex_ADDR/ex/app"
	assert_status 0
}

@test "exit 1: an error that is none of the others (nothing listens on the port)" {
	run regship --retries 0 tags "127.0.0.1:1/ex/app"
	assert_status 1
}

@test "exit 2: usage, invalid argument, unreadable --ca-cert (missing, a directory)" {
	run regship tags --no-such-option "$ex_ADDR/ex/app"
	assert_status 2
	run regship tags "$ex_ADDR/Ex/App"
	assert_status 2
	run regship --ca-cert "$BATS_FILE_TMPDIR/nonexistent.pem" tags "$ex_ADDR/ex/app"
	assert_status 2
	assert_output_contains "nonexistent.pem"
	run regship --ca-cert "$BATS_FILE_TMPDIR" tags "$ex_ADDR/ex/app"
	assert_status 2
	assert_output_contains "is a directory"
}

@test "exit 3: the registry says the manifest or repository does not exist" {
	run regship manifest "$ex_ADDR/ex/app:nope"
	assert_status 3
	run regship tags "$ex_ADDR/ex/nothing-here"
	assert_status 3
	run regship digest "$ex_ADDR/ex/app@sha256:$(printf '0%.0s' {1..64})"
	assert_status 3
}

@test "exit 3: a platform the registry's image does not have" {
	run regship digest --platform linux/s390x "$ex_ADDR/ex/app:v1"
	assert_status 3
	assert_output_contains "linux/s390x"
}

@test "exit 2, not 3: a local source that does not exist, the message naming the path" {
	local t=$BATS_TEST_TMPDIR s v
	for s in "oci:$t/nodir" "oci:$t/nodir:v1" "oci-archive:$t/no.tar" "docker-archive:$t/no.tar" \
		"$t/no.tar" "$t/nodir/"; do
		for v in inspect digest config; do
			run --separate-stderr regship $v "$s"
			[[ $status -eq 2 ]] || fail "$v $s: status $status, expected 2: $stderr"
			[[ $stderr == *"$t/no"* ]] || fail "$v $s: the message should name the path: $stderr"
		done
		run --separate-stderr regship blob "$s@sha256:$(printf '%064d' 0)"
		[[ $status -eq 2 ]] || fail "blob $s: status $status, expected 2: $stderr"
	done
	run --separate-stderr regship push "$t/no.tar" "$ex_ADDR/ex/pushed:1"
	assert_status 2
	[[ $stderr == *"$t/no.tar"* ]] || fail "$stderr"
	run --separate-stderr regship copy "oci:$t/nodir:v1" "$ex_ADDR/ex/pushed:1"
	assert_status 2
	[[ $stderr == *"$t/nodir"* ]] || fail "$stderr"
	# a destination whose directory does not exist
	run --separate-stderr regship pull "$ex_ADDR/ex/app:v1" "docker-archive:$t/nodir/x.tar"
	assert_status 2
	[[ $stderr == *"$t/nodir"* ]] || fail "$stderr"
	run regship digest "$ex_ADDR/ex/pushed:1"
	assert_status 3
}

@test "exit 1, not 3: an image, tag, platform or blob absent inside an existing layout or archive" {
	local t=$BATS_TEST_TMPDIR
	fixture oci-layout "$t/lay" --tag v1 --seed ex-lay >/dev/null
	fixture oci-archive "$t/oa.tar" --tag v1 --seed ex-lay >/dev/null
	fixture docker-archive "$t/da.tar" --repo-tag app:1 --seed ex-lay >/dev/null
	local s
	for s in "oci:$t/lay:nope" "oci-archive:$t/oa.tar:nope" "docker-archive:$t/da.tar:other:2"; do
		run --separate-stderr regship digest "$s"
		[[ $status -eq 1 ]] || fail "digest $s: status $status, expected 1: $stderr"
		[[ $stderr == *nope* || $stderr == *other* ]] || fail "digest $s: $stderr"
		run --separate-stderr regship copy "$s" "$ex_ADDR/ex/pushed:2"
		[[ $status -eq 1 ]] || fail "copy $s: status $status, expected 1: $stderr"
	done
	run --separate-stderr regship blob "oci:$t/lay" "sha256:$(printf '%064d' 0)"
	assert_status 1
	run --separate-stderr regship inspect --platform linux/s390x "oci:$t/lay:v1"
	[[ $status -ne 3 ]] || fail "inspect --platform of a local single-platform image: $stderr"
	run regship digest "$ex_ADDR/ex/pushed:2"
	assert_status 3
}

@test "exit 4: authentication required (no credentials for a Basic registry)" {
	run regship tags "$auth_ADDR/priv/app"
	assert_status 4
}

@test "exit 5: still rate limited after the retries; Retry-After and RateLimit-* in the message" {
	run regship --retries 1 tags "$rl_ADDR/ex/app"
	assert_status 5
	assert_output_contains "429"
	assert_output_contains "Retry-After: 1"
	assert_output_contains "RateLimit-Remaining: 0;w=21600"
	# what is not rate limited goes through the same proxy
	run regship digest "$rl_ADDR/ex/app:v1"
	assert_status 0
}

@test "exit 6: prune with some removals refused finishes the others and names what failed" {
	local d0
	d0=$(fixture_digest ex ex/pr:1.0.0)
	run --separate-stderr regship --retries 0 prune --keep 1 --json "$deny_ADDR/ex/pr"
	assert_status 6
	[[ $stderr == *"1.0.0"* ]] || fail "stderr should name 1.0.0: $stderr"
	assert_equal "$(json "[i['tag'] for i in d['items'] if i['error']]" <<<"$output")" '["1.0.0"]'
	assert_equal "$(json "[i['tag'] for i in d['items'] if i['done']]" <<<"$output")" '["1.0.1"]'
	# --json lists what failed under "failed", as copy and sync do
	assert_equal "$(json "[[f['tag'], f['digest']] for f in d['failed']] + [d['failed_count']]" <<<"$output")" \
		"[[\"1.0.0\", \"$d0\"], 1]"
	run regship tags "$ex_ADDR/ex/pr"
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "1.0.0 1.0.2 "
}

@test "exit 7: --no-clobber refuses to move an existing tag, naming it and both digests" {
	local d1 d2
	d1=$(fixture_digest ex ex/app:v1)
	d2=$(fixture_digest ex ex/app:v2)
	run regship retag --no-clobber "$ex_ADDR/ex/app:v1" v2
	assert_status 7
	assert_output_contains "v2"
	assert_output_contains "$d1"
	assert_output_contains "$d2"
	assert_equal "$(regship digest "$ex_ADDR/ex/app:v2")" "$d2"
}

@test "exit 7: a registry refusing to overwrite an immutable tag" {
	local d2
	d2=$(fixture_digest ex ex/app:v2)
	run regship retag "$imm_ADDR/ex/app:v1" v2
	assert_status 7
	assert_output_contains "is immutable"
	assert_equal "$(regship digest "$ex_ADDR/ex/app:v2")" "$d2"
}
