#!/usr/bin/env bats
# Promotion decided by what the registry stores (retag --semver): floating tags are judged by
# the digest they point at and the releases that point at the same digest; the source is
# checked; variants (--suffix); pre-releases refused; idempotent (no PUT); dry run and JSON;
# all-or-nothing with rollback (fault proxy failing a manifest PUT); rm on a manifest with
# 2,000 tags; tags --sort semver / --include / --exclude / --latest. Real docker-registry 2.8.

bats_require_minimum_version 1.5.0

# seed REPO [options]: reg_seed on the plain registry, its lines kept for fixture_digest
seed() { reg_seed reg "$@" >>"$BATS_FILE_TMPDIR/reg.fixture"; }

setup_file() {
	load helpers
	reg_start plain reg
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	A=$reg_ADDR
}

# d REPO:TAG: the digest seeded for REPO:TAG
d() { fixture_digest reg "$1"; }

# now REPO:TAG: where a tag points now ("none" when it does not exist)
now() { regship digest "$A/$1" 2>/dev/null || echo none; }

# requests: the "METHOD URI STATUS" lines since reg_log_mark, without the /v2/ ping
requests() { reg_requests reg | awk '$2 != "/v2/"'; }

# puts: how many manifest PUTs the registry served since reg_log_mark
puts() { requests | grep -cE '^PUT /v2/[^ ]*/manifests/' || true; }

promote() {
	local ref=$1
	shift
	run --separate-stderr regship retag --semver "$@" "$A/$ref"
}

@test "after untag of the newest release, promoting an older one is refused without --force" {
	seed pa/app --tag 2.1.105 --seed pa-105
	seed pa/app --tag 2.1.106 --seed pa-106
	seed pa/app --tag 2.1.107 --seed pa-107
	promote pa/app:2.1.107
	assert_success
	regship untag "$A/pa/app:2.1.107"
	reg_log_mark reg
	promote pa/app:2.1.106
	assert_failure 1
	assert_equal "$output" "" "stdout"
	[[ $stderr == *"refused 2.1: it points at $(d pa/app:2.1.107), which no 2.1.z release points at"* ]] || fail "$stderr"
	[[ $stderr == *"refused latest: it points at $(d pa/app:2.1.107)"* ]] || fail "$stderr"
	[[ $stderr == *"cannot promote $A/pa/app:2.1.106: 2.1, 2, latest point at a manifest that no release of their line points at; nothing was written (--force moves them anyway)"* ]] || fail "$stderr"
	assert_equal "$(puts)" 0 "PUTs"
	for t in 2.1 2 latest; do assert_equal "$(now pa/app:$t)" "$(d pa/app:2.1.107)" "$t"; done
	# what the floating tags' lookups cost: 3 HEADs and, per line, the releases from the top
	assert_equal "$(requests | grep -c '^GET /v2/pa/app/tags/list')" 1 "tag listings"
	# --force moves them
	promote pa/app:2.1.106 --force
	assert_success
	assert_equal "$output" "$A/pa/app:2.1@$(d pa/app:2.1.106)"$'\n'"$A/pa/app:2@$(d pa/app:2.1.106)"$'\n'"$A/pa/app:latest@$(d pa/app:2.1.106)"
	[[ $stderr == *"moved 2.1 to 2.1.106: forced: it points at $(d pa/app:2.1.107)"* ]] || fail "$stderr"
	# and from then on the normal rule: 2.1.105 does not take them back
	reg_log_mark reg
	promote pa/app:2.1.105
	assert_success
	assert_equal "$output" ""
	[[ $stderr == *"kept 2.1: it points at 2.1.106, which is newer"* ]] || fail "$stderr"
	assert_equal "$(puts)" 0 "PUTs"
}

@test "the source is checked: tag/digest mismatch, a missing tag, a digest needs --release" {
	seed pb/app --tag 2.1.105 --seed pb-105
	seed pb/app --tag 2.1.106 --seed pb-106
	reg_log_mark reg
	run regship retag --semver "$A/pb/app:2.1.105@$(d pb/app:2.1.106)"
	assert_failure 1
	assert_output_contains "2.1.105 points at $(d pb/app:2.1.105), not at the digest given; nothing was written"
	run regship retag --semver "$A/pb/app:9.9.9@$(d pb/app:2.1.106)"
	assert_failure 3
	assert_output_contains "tag 9.9.9 does not exist"
	run regship retag --semver "$A/pb/app@$(d pb/app:2.1.106)"
	assert_failure 2
	assert_output_contains "--release"
	run regship retag --semver --release 2.1.106 "$A/pb/app:2.1.106"
	assert_failure 2
	assert_equal "$(puts)" 0 "PUTs"
	assert_equal "$(now pb/app:9.9.9)" none
	# a tag and its own digest is fine; 2.1 is not created on 2.1.105 while 2.1.106 exists
	promote "pb/app:2.1.105@$(d pb/app:2.1.105)"
	assert_success
	[[ $stderr == *"kept 2.1: it does not exist, and 2.1.106 is newer (promote that to create it)"* ]] || fail "$stderr"
	assert_equal "$(now pb/app:2.1)" none
	# by digest with --release: the release tag is written first, then the floating tags
	seed pb/build --tag scratch --seed pb-107
	regship retag "$A/pb/build:scratch" "$A/pb/app:tmp" >/dev/null
	local d107
	d107=$(now pb/app:tmp)
	promote "pb/app@$d107" --release 2.1.107
	assert_success
	assert_equal "$output" "$A/pb/app:2.1.107@$d107"$'\n'"$A/pb/app:2.1@$d107"$'\n'"$A/pb/app:2@$d107"$'\n'"$A/pb/app:latest@$d107"
	# --release does not move an existing release tag elsewhere
	reg_log_mark reg
	promote "pb/app@$(d pb/app:2.1.106)" --release 2.1.107
	assert_failure 1
	[[ $stderr == *"tag 2.1.107 points at $d107; a release tag is not moved without --force"* ]] || fail "$stderr"
	assert_equal "$(puts)" 0 "PUTs"
}

@test "variants: --suffix alpine moves X.Y-alpine, X-alpine and alpine, against alpine releases only" {
	seed pc/app --tag 2.1.105-alpine --seed pc-105a
	seed pc/app --tag 2.1.106-alpine --seed pc-106a
	seed pc/app --tag 2.1.107 --seed pc-107
	seed pc/app --tag 2.1.108-alpine-rc.1 --seed pc-108rc
	promote pc/app:2.1.106-alpine --suffix alpine
	assert_success
	local da=$(d pc/app:2.1.106-alpine)
	assert_equal "$output" "$A/pc/app:2.1-alpine@$da"$'\n'"$A/pc/app:2-alpine@$da"$'\n'"$A/pc/app:alpine@$da"
	assert_equal "$(now pc/app:2.1)" none "plain 2.1"
	assert_equal "$(now pc/app:latest)" none "plain latest"
	reg_log_mark reg
	promote pc/app:2.1.105-alpine --suffix alpine
	assert_success
	[[ $stderr == *"kept 2.1-alpine: it points at 2.1.106-alpine, which is newer"* ]] || fail "$stderr"
	[[ $stderr == *"kept alpine: it points at 2.1.106-alpine, which is newer"* ]] || fail "$stderr"
	assert_equal "$(puts)" 0 "PUTs"
	# plain promotion of 2.1.107 leaves the alpine tags alone
	promote pc/app:2.1.107
	assert_success
	assert_equal "$(now pc/app:alpine)" "$da"
	assert_equal "$(now pc/app:latest)" "$(d pc/app:2.1.107)"
	# a suffix that is not the tag's
	run regship retag --semver --suffix slim "$A/pc/app:2.1.106-alpine"
	assert_failure 1
	assert_output_contains "its tag does not end in \"-slim\""
}

@test "a pre-release or a tag that is not a release is refused (exit 1) with advice, before any request" {
	seed pd/app --tag 2.1.106-alpine --seed pd-106a
	seed pd/app --tag 2.2.0-rc.1 --seed pd-rc
	reg_log_mark reg
	run regship retag --semver "$A/pd/app:2.1.106-alpine"
	assert_failure 1
	assert_output_contains "cannot promote 2.1.106-alpine: it is a pre-release, and pre-releases are never promoted to X.Y, X or latest; if \"alpine\" names a variant, use --suffix alpine"
	run regship retag --semver "$A/pd/app:2.2.0-rc.1"
	assert_failure 1
	assert_output_contains "use --suffix rc.1"
	for t in nightly 2.1 latest; do
		run regship retag --semver "$A/pd/app:$t"
		assert_failure 1
		assert_output_contains "cannot promote $t: it is not a release"
	done
	run regship retag --semver --suffix alpine "$A/pd/app:2.1.106-rc.1-alpine"
	assert_failure 1
	assert_output_contains "2.1.106-rc.1 is a pre-release"
	assert_equal "$(requests)" "" "requests"
}

@test "re-promoting is idempotent: no PUT, 'already at'; a dry run prints nothing on stdout" {
	seed pe/app --tag 2.1.106 --seed pe-106
	seed pe/app --tag 2.1.107 --seed pe-107
	promote pe/app:2.1.107
	assert_success
	reg_log_mark reg
	promote pe/app:2.1.107
	assert_success
	assert_equal "$output" "" "stdout"
	[[ $stderr == *"2.1 is already at 2.1.107"* && $stderr == *"latest is already at 2.1.107"* ]] || fail "$stderr"
	local reqs
	reqs=$(requests)
	echo "$reqs"
	assert_equal "$(puts)" 0 "PUTs"
	# one GET of the source, one listing, the 3 floating tags' HEADs: no release looked up
	assert_equal "$(grep -c '^HEAD ' <<<"$reqs")" 3 "HEADs"
	# dry run of a real move: plan on stderr, stdout empty, nothing written
	seed pe/app --tag 2.1.108 --seed pe-108
	reg_log_mark reg
	promote pe/app:2.1.108 --dry-run
	assert_success
	assert_equal "$output" "" "stdout of a dry run"
	[[ $stderr == *"would move 2.1 to 2.1.108: it points at 2.1.107, older than 2.1.108"* ]] || fail "$stderr"
	[[ $stderr == *"dry run: nothing was written"* ]] || fail "$stderr"
	assert_equal "$(puts)" 0 "PUTs"
	# plain retag --dry-run too
	run --separate-stderr regship retag --dry-run "$A/pe/app:2.1.108" x y
	assert_success
	assert_equal "$output" ""
	[[ $stderr == *"would tag $A/pe/app:x@"* ]] || fail "$stderr"
	assert_equal "$(puts)" 0 "PUTs"
}

@test "--json: per floating tag tag, previous, digest, action, reason; the same field names in every verb" {
	seed pf/app --tag 2.1.105 --seed pf-105
	seed pf/app --tag 2.1.106 --seed pf-106
	seed pf/app --tag 2.2.0 --seed pf-220
	promote pf/app:2.2.0 --no-latest
	regship retag "$A/pf/app:2.1.105" 2.1 >/dev/null
	local d105=$(d pf/app:2.1.105) d106=$(d pf/app:2.1.106) d220=$(d pf/app:2.2.0)
	promote pf/app:2.1.106 --dry-run --json
	assert_success
	assert_equal "$(json '[d["repository"], d["tag"], d["digest"], d["dry_run"]]' <<<"$output")" \
		"[\"$A/pf/app\", \"2.1.106\", \"$d106\", true]"
	assert_equal "$(json '[[t["tag"], t["previous"], t["digest"], t["action"], t["written"]] for t in d["tags"]]' <<<"$output")" \
		"[[\"2.1\", \"$d105\", \"$d106\", \"moved\", false], [\"2\", \"$d220\", \"$d220\", \"kept\", false], [\"latest\", null, null, \"kept\", false]]"
	assert_equal "$(json '[t["reason"] for t in d["tags"]]' <<<"$output")" \
		'["it points at 2.1.105, older than 2.1.106", "it points at 2.2.0, which is newer", "it does not exist, and 2.2.0 is newer (promote that to create it)"]'
	promote pf/app:2.1.106 --json
	assert_success
	assert_equal "$(json '[[t["tag"], t["action"], t["written"], t["repository"]] for t in d["tags"]]' <<<"$output")" \
		"[[\"2.1\", \"moved\", true, \"$A/pf/app\"], [\"2\", \"kept\", false, \"$A/pf/app\"], [\"latest\", \"kept\", false, \"$A/pf/app\"]]"
	assert_equal "$(json 'd["dry_run"]' <<<"$output")" false
	promote pf/app:2.1.106 --json
	assert_equal "$(json '[t["action"] for t in d["tags"]]' <<<"$output")" '["already", "kept", "kept"]'
	# refused: JSON still printed, exit 1
	regship retag "$A/pf/app:2.1.105" 2.1 >/dev/null
	regship untag "$A/pf/app:2.1.105" >/dev/null
	promote pf/app:2.1.106 --json
	assert_failure 1
	assert_equal "$(json '[t["action"] for t in d["tags"]]' <<<"$output")" '["refused", "kept", "kept"]'
	# the same names elsewhere: repository (host/path), tag, digest
	run regship tags --json "$A/pf/app"
	assert_success
	assert_equal "$(json 'd["repository"]' <<<"$output")" "$A/pf/app"
	run regship retag --json "$A/pf/app:2.2.0" copy1
	assert_success
	assert_equal "$(json '[d["repository"], d["tag"], d["digest"], d["tags"][0]["repository"], d["tags"][0]["tag"], d["tags"][0]["digest"], d["tags"][0]["action"]]' <<<"$output")" \
		"[\"$A/pf/app\", \"2.2.0\", \"$d220\", \"$A/pf/app\", \"copy1\", \"$d220\", \"tagged\"]"
	run --separate-stderr regship untag --json "$A/pf/app:copy1"
	assert_success
	assert_equal "$(json '[d["repository"], d["tag"], d["digest"]]' <<<"$output")" "[\"$A/pf/app\", \"copy1\", \"$d220\"]"
	run --separate-stderr regship rm --json "$A/pf/app:2.2.0"
	assert_failure 1
	assert_equal "$(json '[d["repository"], d["tag"], d["digest"], d["deleted"], sorted(d["tags"])]' <<<"$output")" \
		"[\"$A/pf/app\", \"2.2.0\", \"$d220\", false, [\"2\", \"2.2\", \"2.2.0\"]]"
}

@test "a manifest PUT that fails rolls back the tags already moved; exit 1 says what happened" {
	seed pg/app --tag 2.1.106 --seed pg-106
	promote pg/app:2.1.106
	assert_success
	seed pg/app --tag 2.1.107 --seed pg-107
	local d106=$(d pg/app:2.1.106)
	# every PUT of the tag 2 fails: 2.1 is written, then put back
	faultproxy_start fp "$reg_URL" --only 500 --rate 1 --match '^PUT /v2/pg/app/manifests/2$'
	run --separate-stderr regship --retries 0 retag --semver "$fp_ADDR/pg/app:2.1.107"
	assert_failure 1
	assert_equal "$output" "" "stdout: nothing stays written"
	[[ $stderr == *"cannot promote $fp_ADDR/pg/app: writing 2: "*"; moved 2.1, then put them back"* ]] || fail "$stderr"
	for t in 2.1 2 latest; do assert_equal "$(now pg/app:$t)" "$d106" "$t"; done
	# with --json: written and rolled_back per tag
	run --separate-stderr regship --retries 0 retag --semver --json "$fp_ADDR/pg/app:2.1.107"
	assert_failure 1
	assert_equal "$(json '[[t["tag"], t["written"], t["rolled_back"], t["digest"]] for t in d["tags"]]' <<<"$output")" \
		"[[\"2.1\", true, true, \"$d106\"], [\"2\", false, false, \"$d106\"], [\"latest\", false, false, \"$d106\"]]"

	# tags that did not exist before are removed again
	seed ph/app --tag 1.0.0 --seed ph-100
	faultproxy_start fp2 "$reg_URL" --only 500 --rate 1 --match '^PUT /v2/ph/app/manifests/latest$'
	run --separate-stderr regship --retries 0 retag --semver "$fp2_ADDR/ph/app:1.0.0"
	assert_failure 1
	[[ $stderr == *"writing latest: "*"; moved 1, 1.0, then put them back"* ]] || fail "$stderr"
	for t in 1.0 1 latest; do assert_equal "$(now ph/app:$t)" none "$t"; done

	# the rollback fails too: the message says where the tag now points
	faultproxy_start fp3 "$reg_URL" --only 500 --rate 1 --skip 1 --match '^PUT /v2/pg/app/manifests/'
	run --separate-stderr regship --retries 0 retag --semver "$fp3_ADDR/pg/app:2.1.107"
	assert_failure 1
	[[ $stderr == *"moved 2.1, then tried to put them back; rollback failed: 2.1 now points at $(d pg/app:2.1.107) instead of $d106"* ]] || fail "$stderr"
	assert_equal "$(now pg/app:2.1)" "$(d pg/app:2.1.107)"
	assert_equal "$(now pg/app:2)" "$d106"
}

@test "rm on a manifest with 2,000 tags: at most 10 named and a count; --json lists them all" {
	seed pi/app --many-tags 2000 --seed pi
	seed pi/app --tag other --seed pi-other
	reg_log_mark reg
	local t0=$SECONDS
	run --separate-stderr regship rm "$A/pi/app:tag-0000"
	echo "# rm refusing with 2,000 tags: $((SECONDS - t0)) s" >&3
	assert_failure 1
	assert_equal "$output" "" "stdout"
	assert_equal "$(wc -l <<<"$stderr")" 2 "stderr lines"
	[[ $stderr == *"it is also tagged tag-0001, tag-0002, tag-0003, tag-0004, tag-0005, tag-0006, tag-0007, tag-0008, tag-0009, tag-0010 and 1,989 more"* ]] || fail "$stderr"
	assert_equal "$(requests | grep -c '^PUT\|^DELETE')" 0 "writes"
	run --separate-stderr regship rm --json "$A/pi/app:tag-0000"
	assert_failure 1
	assert_equal "$(json 'len(d["tags"])' <<<"$output")" 2000
	assert_equal "$(json '"other" in d["tags"]' <<<"$output")" false
	assert_equal "$(now pi/app:tag-1999)" "$(d pi/app:tag-1999)"
}

@test "tags --sort semver, --include/--exclude (POSIX ERE), --latest [PREFIX]" {
	local t
	seed pj/app --seed pj --tag 2.1.9 --tag 2.1.10 --tag 2.1.11-rc.1 --tag 2.2.0 --tag v2.1.12 \
		--tag 10.0.0 --tag latest --tag 2.1 --tag nightly --tag 2.1.10-alpine --tag 1.9.0
	run --separate-stderr regship tags --sort semver "$A/pj/app"
	assert_success
	assert_equal "$(tr '\n' ' ' <<<"$output")" "10.0.0 2.2.0 v2.1.12 2.1.11-rc.1 2.1.10 2.1.10-alpine 2.1.9 1.9.0 2.1 latest nightly "
	run regship tags --sort semver --include '^2\.1\.[0-9]+$' "$A/pj/app"
	assert_success
	assert_equal "$(tr '\n' ' ' <<<"$output")" "2.1.10 2.1.9 "
	run regship tags --exclude '-|^v|^[a-z]' --json "$A/pj/app"
	assert_success
	assert_equal "$(json 'sorted(d["tags"])' <<<"$output")" '["1.9.0", "10.0.0", "2.1", "2.1.10", "2.1.9", "2.2.0"]'
	run regship tags --latest "$A/pj/app"
	assert_success
	assert_output_equals "10.0.0"
	run regship tags --latest 2.1 "$A/pj/app"
	assert_success
	assert_output_equals "2.1.10"
	run regship tags --latest v2 "$A/pj/app"
	assert_output_equals "v2.1.12"
	run regship tags --latest --exclude '^10\.' "$A/pj/app"
	assert_output_equals "2.2.0"
	run regship tags --latest --json 2 "$A/pj/app"
	assert_equal "$(json '[d["repository"], d["tag"]]' <<<"$output")" "[\"$A/pj/app\", \"2.2.0\"]"
	run --separate-stderr regship tags --latest 3 "$A/pj/app"
	assert_failure 3
	assert_equal "$output" ""
	[[ $stderr == *"no release on the line 3 among 11 tags"* ]] || fail "$stderr"
	# bad arguments: exit 2 before any request
	reg_log_mark reg
	for a in "--sort name" "--include (" "--exclude [" "--latest 2.x" "--latest --sort semver"; do
		# shellcheck disable=SC2086
		run regship tags $a "$A/pj/app"
		assert_failure 2
	done
	run regship tags 2.1 "$A/pj/app"
	assert_failure 2
	# a version line without the repository is not read as docker.io/library/2.1
	run regship tags --latest 2.1
	assert_failure 2
	assert_output_contains "--latest 2.1: missing REPOSITORY"
	assert_equal "$(requests)" "" "requests"
}
