#!/usr/bin/env bats
# Writing a tag that is already where it would be written writes nothing ("already at"), so a
# pipeline re-run against a registry with immutable tags succeeds; --no-clobber refuses to move
# a tag (exit 7); an immutability refusal is exit 7 "is immutable" (TAG_INVALID, or 403 DENIED
# with an immutability message), through tests/harness/policyproxy.py.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	reg_start plain nc
	reg_seed nc nc/app --tag v1 --tag same --seed nc-v1 >"$BATS_FILE_TMPDIR/nc.fixture"
	reg_seed nc nc/app --tag v2 --seed nc-v2 >>"$BATS_FILE_TMPDIR/nc.fixture"
	server_start policyproxy imm --upstream "$nc_URL" --immutable
	server_start policyproxy imm403 --upstream "$nc_URL" --immutable --immutable-status 403 \
		--immutable-code DENIED
}

teardown_file() {
	load helpers
	reg_stop_all
}

setup() {
	load helpers
}

@test "retag onto a tag already at the manifest: 'already at', no PUT, exit 0" {
	local d1
	d1=$(fixture_digest nc nc/app:v1)
	reg_log_mark nc
	run regship retag "$nc_ADDR/nc/app:v1" same
	assert_success
	assert_output_contains "already at $d1"
	assert_equal "$(reg_requests nc | grep -c '^PUT ' || true)" 0
}

@test "retag --no-clobber: a new tag is written; an existing other one is refused (exit 7)" {
	local d1 d2
	d1=$(fixture_digest nc nc/app:v1)
	d2=$(fixture_digest nc nc/app:v2)
	run regship retag --no-clobber "$nc_ADDR/nc/app:v1" fresh
	assert_success
	assert_equal "$(regship digest "$nc_ADDR/nc/app:fresh")" "$d1"
	run regship retag --no-clobber "$nc_ADDR/nc/app:v1" v2 other
	assert_status 7
	assert_output_contains "nc/app:v2 exists and points at $d2, not $d1"
	# nothing written: not v2, not the other tag named with it
	assert_equal "$(regship digest "$nc_ADDR/nc/app:v2")" "$d2"
	run regship digest "$nc_ADDR/nc/app:other"
	assert_status 3
	run regship retag --no-clobber --semver "$nc_ADDR/nc/app:v1"
	assert_status 2
}

@test "immutable tags: a re-run at the same digest succeeds; moving a tag is exit 7 'is immutable'" {
	local d1 d2
	d1=$(fixture_digest nc nc/app:v1)
	d2=$(fixture_digest nc nc/app:v2)
	run regship retag "$imm_ADDR/nc/app:v1" same
	assert_success
	assert_output_contains "already at"
	run regship retag "$imm_ADDR/nc/app:v1" v2
	assert_status 7
	assert_output_contains "tag"
	assert_output_contains "is immutable"
	assert_output_contains "TAG_INVALID"
	assert_equal "$(regship digest "$nc_ADDR/nc/app:v2")" "$d2"
	# a new tag is not affected by immutability
	run regship retag "$imm_ADDR/nc/app:v1" brand-new
	assert_success
	assert_equal "$(regship digest "$nc_ADDR/nc/app:brand-new")" "$d1"
}

@test "immutable tags answered 403 DENIED with an immutability message: exit 7, not 4" {
	run regship retag "$imm403_ADDR/nc/app:v1" v2
	assert_status 7
	assert_output_contains "is immutable"
}
