#!/usr/bin/env bats
# Writing a tag that is already where it would be written writes nothing ("already at"), so a
# pipeline re-run against a registry with immutable tags succeeds; --no-clobber refuses to move
# a tag (exit 7); an immutability refusal is exit 7 "is immutable" (TAG_INVALID, or 403 DENIED or
# 400 MANIFEST_INVALID with an immutability message), through tests/harness/policyproxy.py.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	reg_start plain nc
	reg_seed nc nc/app --tag v1 --tag same --seed nc-v1 >"$BATS_FILE_TMPDIR/nc.fixture"
	reg_seed nc nc/app --tag v2 --seed nc-v2 >>"$BATS_FILE_TMPDIR/nc.fixture"
	server_start policyproxy imm --upstream "$nc_URL" --immutable
	server_start policyproxy imm403 --upstream "$nc_URL" --immutable --immutable-status 403 \
		--immutable-code DENIED
	server_start policyproxy immmi --upstream "$nc_URL" --immutable --immutable-code MANIFEST_INVALID
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

@test "immutable tags answered 400 MANIFEST_INVALID with an immutability message: exit 7, not 1" {
	local d1 d2
	d1=$(fixture_digest nc nc/app:v1)
	d2=$(fixture_digest nc nc/app:v2)
	run regship retag "$immmi_ADDR/nc/app:v1" v2
	assert_status 7
	assert_output_contains "tag $immmi_ADDR/nc/app:v2 is immutable"
	assert_output_contains "MANIFEST_INVALID"
	assert_equal "$(regship digest "$nc_ADDR/nc/app:v2")" "$d2"
	# the same digest again: nothing written, so nothing refused
	run regship retag "$immmi_ADDR/nc/app:v1" same
	assert_success
	assert_output_contains "already at $d1"
}

# --- push and copy (the copy engine reads the destination tag before anything moves) ----------

# layout_digest DIR SEED: an OCI layout at DIR with tag v1 (seed SEED); prints its digest
layout_digest() {
	fixture oci-layout "$1" --tag v1 --seed "$2" | awk 'NR == 1 { print $2 }'
}

# manifest_puts NAME REPO / blob_requests NAME REPO: since reg_log_mark NAME
manifest_puts() { reg_requests "$1" | grep -c "^PUT /v2/$2/manifests/" || true; }
blob_requests() { reg_requests "$1" | grep -c "^[A-Z]* /v2/$2/blobs/" || true; }

@test "push the same image twice: the second is 'already at', writes and moves nothing, exit 0" {
	local d
	d=$(layout_digest "$BATS_TEST_TMPDIR/l1" nc-p1)
	run regship push --progress none oci:"$BATS_TEST_TMPDIR/l1":v1 "$nc_ADDR/nc/push:v1"
	assert_success
	assert_output_not_contains "already at"
	reg_log_mark nc
	run regship push --progress none oci:"$BATS_TEST_TMPDIR/l1":v1 "$nc_ADDR/nc/push:v1"
	assert_success
	assert_output_contains "$nc_ADDR/nc/push:v1 is already at $d: nothing written"
	assert_equal "${lines[-1]}" "$nc_ADDR/nc/push:v1@$d"
	assert_equal "$(manifest_puts nc nc/push)" 0
	assert_equal "$(blob_requests nc nc/push)" 0
	# --no-clobber is satisfied by the same digest too
	run regship push --no-clobber --progress none oci:"$BATS_TEST_TMPDIR/l1":v1 "$nc_ADDR/nc/push:v1"
	assert_success
	assert_output_contains "already at $d"
}

@test "push --no-clobber of another image onto a tag: exit 7 naming both digests, nothing moved" {
	local d1 d2
	d1=$(layout_digest "$BATS_TEST_TMPDIR/a" nc-q1)
	d2=$(layout_digest "$BATS_TEST_TMPDIR/b" nc-q2)
	run regship push --progress none oci:"$BATS_TEST_TMPDIR/a":v1 "$nc_ADDR/nc/pushnc:v1"
	assert_success
	reg_log_mark nc
	run regship push --no-clobber --progress none oci:"$BATS_TEST_TMPDIR/b":v1 "$nc_ADDR/nc/pushnc:v1"
	assert_status 7
	assert_output_contains "$nc_ADDR/nc/pushnc:v1 exists and points at $d1, not $d2; not overwritten (--no-clobber)"
	assert_output_not_contains "@$d2"
	# checked before the blobs: nothing uploaded, no manifest written
	assert_equal "$(manifest_puts nc nc/pushnc)" 0
	assert_equal "$(blob_requests nc nc/pushnc)" 0
	assert_equal "$(regship digest "$nc_ADDR/nc/pushnc:v1")" "$d1"
	# a new tag is no clobbering; without --no-clobber the tag moves
	run regship push --no-clobber --progress none oci:"$BATS_TEST_TMPDIR/b":v1 "$nc_ADDR/nc/pushnc:v2"
	assert_success
	assert_equal "$(regship digest "$nc_ADDR/nc/pushnc:v2")" "$d2"
	run regship push --progress none oci:"$BATS_TEST_TMPDIR/b":v1 "$nc_ADDR/nc/pushnc:v1"
	assert_success
	assert_equal "$(regship digest "$nc_ADDR/nc/pushnc:v1")" "$d2"
}

@test "copy: onto the same digest 'already at' (no PUT); --no-clobber onto another exit 7" {
	local d1 d2
	d1=$(fixture_digest nc nc/app:v1)
	d2=$(fixture_digest nc nc/app:v2)
	run regship copy --progress none "$nc_ADDR/nc/app:v1" "$nc_ADDR/nc/copy:v1"
	assert_success
	reg_log_mark nc
	run regship copy --progress none "$nc_ADDR/nc/app:v1" "$nc_ADDR/nc/copy:v1"
	assert_success
	assert_output_contains "$nc_ADDR/nc/copy:v1 is already at $d1: nothing written"
	assert_equal "${lines[-1]}" "$nc_ADDR/nc/copy:v1@$d1"
	assert_equal "$(manifest_puts nc nc/copy)" 0
	run regship copy --no-clobber --progress none "$nc_ADDR/nc/app:v2" "$nc_ADDR/nc/copy:v1"
	assert_status 7
	assert_output_contains "$nc_ADDR/nc/copy:v1 exists and points at $d1, not $d2"
	assert_equal "$(manifest_puts nc nc/copy)" 0
	assert_equal "$(regship digest "$nc_ADDR/nc/copy:v1")" "$d1"
}

@test "immutable tags: re-pushing the same image succeeds; another image is exit 7 'is immutable'" {
	local d1 d2
	d1=$(layout_digest "$BATS_TEST_TMPDIR/a" nc-i1)
	d2=$(layout_digest "$BATS_TEST_TMPDIR/b" nc-i2)
	run regship push --progress none oci:"$BATS_TEST_TMPDIR/a":v1 "$imm_ADDR/nc/imm:v1"
	assert_success
	run regship push --progress none oci:"$BATS_TEST_TMPDIR/a":v1 "$imm_ADDR/nc/imm:v1"
	assert_success
	assert_output_contains "already at $d1"
	run regship push --progress none oci:"$BATS_TEST_TMPDIR/b":v1 "$imm_ADDR/nc/imm:v1"
	assert_status 7
	assert_output_contains "tag $imm_ADDR/nc/imm:v1 is immutable"
	assert_equal "$(regship digest "$nc_ADDR/nc/imm:v1")" "$d1"
	run regship copy --progress none "$nc_ADDR/nc/app:v2" "$imm403_ADDR/nc/imm:v1"
	assert_status 7
	assert_output_contains "is immutable"
	assert_equal "$(regship digest "$nc_ADDR/nc/imm:v1")" "$d1"
}

@test "copy --all-tags --no-clobber: the conflicting tag fails (exit 7; --keep-going exit 6), the others copy" {
	local a b other
	reg_seed nc nc/src --tag a --tag b --tag c --seed nc-s1 >"$BATS_TEST_TMPDIR/src"
	reg_seed nc nc/dst --tag b --seed nc-s2 >"$BATS_TEST_TMPDIR/dst"
	a=$(awk '$1 == "nc/src:a" { print $2 }' "$BATS_TEST_TMPDIR/src")
	other=$(awk '$1 == "nc/dst:b" { print $2 }' "$BATS_TEST_TMPDIR/dst")
	[[ $a == sha256:* && $other == sha256:* && $a != "$other" ]] || fail "seeding failed"
	run regship copy --all-tags --no-clobber --progress none "$nc_ADDR/nc/src" "$nc_ADDR/nc/dst"
	assert_status 7
	assert_output_contains "$nc_ADDR/nc/dst:b exists and points at $other, not $a"
	assert_equal "$(regship digest "$nc_ADDR/nc/dst:b")" "$other"
	run regship copy --all-tags --no-clobber --keep-going --progress none "$nc_ADDR/nc/src" \
		"$nc_ADDR/nc/dst"
	assert_status 6
	assert_output_contains "$nc_ADDR/nc/dst:a@$a"
	assert_output_contains "$nc_ADDR/nc/dst:c@$a"
	assert_output_contains "$nc_ADDR/nc/dst:b exists and points at $other, not $a"
	assert_equal "$(regship digest "$nc_ADDR/nc/dst:b")" "$other"
	assert_equal "$(regship digest "$nc_ADDR/nc/dst:a")" "$a"
	# once more: a and c are already there, b still refused
	reg_log_mark nc
	run regship copy --all-tags --no-clobber --keep-going --progress none "$nc_ADDR/nc/src" \
		"$nc_ADDR/nc/dst"
	assert_status 6
	assert_output_contains "$nc_ADDR/nc/dst:a is already at $a"
	assert_output_contains "$nc_ADDR/nc/dst:c is already at $a"
	assert_equal "$(manifest_puts nc nc/dst)" 0
}

@test "push --all-tags of a docker archive with two tags on one image: 'already at' and --no-clobber per tag" {
	local d other
	fixture docker-archive "$BATS_TEST_TMPDIR/x.tar" --repo-tag "$nc_ADDR/nc/da:v1" \
		--repo-tag "$nc_ADDR/nc/da:v2" --seed nc-d1 >/dev/null
	run regship push --all-tags --progress none "$BATS_TEST_TMPDIR/x.tar"
	assert_success
	# the pushed digest (layers gzipped on the way: not the archive's)
	d=${lines[0]##*@}
	[[ $d == sha256:* ]] || fail "no digest in: $output"
	assert_output_contains "$nc_ADDR/nc/da:v2@$d"
	reg_log_mark nc
	run regship push --all-tags --progress none "$BATS_TEST_TMPDIR/x.tar"
	assert_success
	assert_output_contains "$nc_ADDR/nc/da:v1 is already at $d: nothing written"
	assert_output_contains "$nc_ADDR/nc/da:v2 is already at $d: nothing written"
	assert_equal "$(manifest_puts nc nc/da)" 0
	# the second tag (written without a second copy) is checked too
	other=$(reg_seed nc nc/da2 --tag v2 --seed nc-d2 | awk 'NR == 1 { print $2 }')
	fixture docker-archive "$BATS_TEST_TMPDIR/y.tar" --repo-tag "$nc_ADDR/nc/da2:v1" \
		--repo-tag "$nc_ADDR/nc/da2:v2" --seed nc-d1 >/dev/null
	run regship push --all-tags --no-clobber --progress none "$BATS_TEST_TMPDIR/y.tar"
	assert_status 7
	assert_output_contains "$nc_ADDR/nc/da2:v2 exists and points at $other, not $d"
	assert_equal "$(regship digest "$nc_ADDR/nc/da2:v2")" "$other"
}
