#!/usr/bin/env bats
# A registry whose operator disabled deletion (storage.delete.enabled: false): rm and untag say
# so clearly and change nothing.

setup_file() {
	load helpers
	reg_start plain nodel --no-delete
	fixture seed "$nodel_URL" team/app --tag v1 --tag v2 >/dev/null
}

teardown_file() {
	load helpers
	reg_stop_all
}

setup() {
	load helpers
}

@test "rm on a registry with deletion disabled: exit 1, a message naming the cause, nothing deleted" {
	run regship rm --force "$nodel_ADDR/team/app:v1"
	assert_failure 1
	assert_output_contains "deletion is disabled"
	assert_output_contains "405"
	run regship tags "$nodel_ADDR/team/app"
	assert_success
	assert_output_contains v1
	assert_output_contains v2
}

@test "untag on a registry with deletion disabled: a clear refusal, both tags still there" {
	run regship untag "$nodel_ADDR/team/app:v1"
	assert_failure
	assert_output_matches "disabled|not allowed|405"
	run regship tags "$nodel_ADDR/team/app"
	assert_success
	assert_output_contains v1
	assert_output_contains v2
}
