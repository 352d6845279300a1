#!/usr/bin/env bats
# regship prune against the real registry: 30 releases, floating tags, a release held by another
# tag, two tags on one manifest, an index (newest release) with a release tag on one of its
# children, and signature referrers by the fallback tag schema. Seeded once; the dry runs come
# first, then the real run, then checks by digest of what had to stay.

bats_require_minimum_version 1.5.0

seed() { reg_seed p pr/app "$@" >>"$BATS_FILE_TMPDIR/p.fixture"; }

# oci_sig NAME REPO SUBJECT SEED: push a cosign-type signature attached to SUBJECT by "subject",
#   listed in the fallback tag index sha256-<hex>; prints its digest
oci_sig() {
	local url="${1}_URL"
	fixture artifact "${!url}" "$2" --subject "$3" --seed "$4" --tag-index | awk '{ print $2 }'
}

setup_file() {
	load helpers
	reg_start plain p
	reg_start plain nodel --no-delete
	local i
	for i in $(seq 1 28); do
		seed --tag "1.0.$i" --layers 1 --seed "rel-$i"
	done
	# the newest release is a multi-platform index, with the floating tags on it
	seed --tag 1.0.29 --tag latest --tag 1 --tag 1.0 --format oci \
		--platform linux/amd64 --platform linux/arm64/v8 --layers 1 --seed rel-29
	# a tag outside the releases holds 1.0.10; v1.0.5 shares 1.0.5's manifest
	run regship retag "$p_ADDR/pr/app:1.0.10" stable
	[ "$status" -eq 0 ] || return 1
	run regship retag "$p_ADDR/pr/app:1.0.5" v1.0.5
	[ "$status" -eq 0 ] || return 1
	# 1.0.0 names the amd64 child of the index 1.0.29
	child=$(awk '$1 == "pr/app:1.0.29@linux/amd64" { print $2 }' "$BATS_FILE_TMPDIR/p.fixture")
	[[ $child == sha256:* ]] || return 1
	echo "$child" >"$BATS_FILE_TMPDIR/child"
	run regship retag "$p_ADDR/pr/app@$child" 1.0.0
	[ "$status" -eq 0 ] || return 1
	# signatures (cosign's fallback tags) of 1.0.1 (which goes) and of 1.0.28 (which stays)
	local d1 d28
	d1=$(fixture_digest p pr/app:1.0.1)
	d28=$(fixture_digest p pr/app:1.0.28)
	reg_seed p pr/app --tag "sha256-${d1#sha256:}.sig" --layers 1 --seed sig-1 >>"$BATS_FILE_TMPDIR/p.fixture"
	reg_seed p pr/app --tag "sha256-${d28#sha256:}.sig" --layers 1 --seed sig-28 >>"$BATS_FILE_TMPDIR/p.fixture"
	echo "sha256-${d1#sha256:}.sig" >"$BATS_FILE_TMPDIR/sig1"
	echo "sha256-${d28#sha256:}.sig" >"$BATS_FILE_TMPDIR/sig28"
	# OCI 1.1 referrers by subject (fallback tag index sha256-<hex>, as docker-registry has no
	# API): a signature of 1.0.2 (which goes) with a signature of its own, one of 1.0.27 (stays)
	local d2 d27 o2 o22 o27
	d2=$(fixture_digest p pr/app:1.0.2)
	d27=$(fixture_digest p pr/app:1.0.27)
	o2=$(oci_sig p pr/app "$d2" osig-2) || return 1
	o22=$(oci_sig p pr/app "$o2" osigsig-2) || return 1
	o27=$(oci_sig p pr/app "$d27" osig-27) || return 1
	printf 'D2=%s\nD27=%s\nO2=%s\nO22=%s\nO27=%s\n' "$d2" "$d27" "$o2" "$o22" "$o27" >"$BATS_FILE_TMPDIR/oci"
	# an index that goes (1.0.0, older than 1.0.1) with referrers of its own and of a child;
	# a repository where only an OCI signature keeps 1.0.0 (--keep-signed)
	reg_seed p pr/idx --tag 1.0.0 --format oci --platform linux/amd64 --platform linux/arm64/v8 \
		--layers 1 --seed idx-0 >"$BATS_FILE_TMPDIR/idx.fixture"
	reg_seed p pr/idx --tag 1.0.1 --layers 1 --seed idx-1 >/dev/null
	local ix ic
	ix=$(awk '$1 == "pr/idx:1.0.0" { print $2 }' "$BATS_FILE_TMPDIR/idx.fixture")
	ic=$(awk '$1 == "pr/idx:1.0.0@linux/amd64" { print $2 }' "$BATS_FILE_TMPDIR/idx.fixture")
	printf 'IX=%s\nIC=%s\n' "$ix" "$ic" >>"$BATS_FILE_TMPDIR/oci"
	printf 'IXS=%s\n' "$(oci_sig p pr/idx "$ix" idx-sig)" >>"$BATS_FILE_TMPDIR/oci"
	printf 'ICS=%s\n' "$(oci_sig p pr/idx "$ic" child-sig)" >>"$BATS_FILE_TMPDIR/oci"
	reg_seed p pr/sgn --tag 1.0.0 --seed sgn-0 >"$BATS_FILE_TMPDIR/sgn.fixture"
	reg_seed p pr/sgn --tag 1.0.1 --seed sgn-1 >/dev/null
	reg_seed p pr/sgn --tag 1.0.2 --seed sgn-2 >/dev/null
	printf 'SGN=%s\n' "$(oci_sig p pr/sgn "$(awk '{ print $2 }' "$BATS_FILE_TMPDIR/sgn.fixture")" sgn-sig)" >>"$BATS_FILE_TMPDIR/oci"
	if grep -qv '=sha256:[0-9a-f]\{64\}$' "$BATS_FILE_TMPDIR/oci"; then
		cat "$BATS_FILE_TMPDIR/oci" >&2
		return 1
	fi
	# --by created: the newest image carries the lowest version
	reg_seed p pr/dated --tag 3.0.0 --created 2024-01-01T00:00:00Z --seed d-300 >/dev/null
	reg_seed p pr/dated --tag 2.0.0 --created 2025-01-01T00:00:00Z --seed d-200 >/dev/null
	reg_seed p pr/dated --tag 1.0.0 --created 2026-01-01T00:00:00Z --seed d-100 >/dev/null
	# variant lines: a plain line and an -alpine line (each 1.0.0 .. 1.3.0), a release
	# candidate of 1.3.0 (released since) and one of the -alpine line's 1.2.0; dated in
	# version order, each -alpine image a day after its plain one, each rc before its release
	local v m
	for m in 0 1 2 3; do
		v="1.$m.0"
		reg_seed p pr/var --tag "$v" --created "2025-0$((m + 1))-01T00:00:00Z" --seed "var-$v" >>"$BATS_FILE_TMPDIR/p.fixture"
		reg_seed p pr/var --tag "$v-alpine" --created "2025-0$((m + 1))-02T00:00:00Z" --seed "var-$v-alpine" >>"$BATS_FILE_TMPDIR/p.fixture"
	done
	reg_seed p pr/var --tag 1.3.0-rc.1 --created 2025-03-15T00:00:00Z --seed var-rc >>"$BATS_FILE_TMPDIR/p.fixture"
	reg_seed p pr/var --tag 1.2.0-rc.1-alpine --created 2025-02-15T00:00:00Z --seed var-rc-alpine >>"$BATS_FILE_TMPDIR/p.fixture"
	# one stable release (in production) and a newer release candidate
	reg_seed p pr/rc --tag 2.1.0 --created 2025-05-01T00:00:00Z --seed rc-210 >>"$BATS_FILE_TMPDIR/p.fixture"
	reg_seed p pr/rc --tag 2.1.1-rc.1 --created 2025-06-01T00:00:00Z --seed rc-211 >>"$BATS_FILE_TMPDIR/p.fixture"
	# the delete-disabled registry: two releases
	reg_seed nodel nd/app --tag 1.0.0 --seed nd-0 >/dev/null
	reg_seed nodel nd/app --tag 1.0.1 --seed nd-1 >/dev/null
}

teardown_file() {
	load helpers
	reg_stop_all
}

setup() {
	load helpers
	# shellcheck disable=SC1091
	. "$BATS_FILE_TMPDIR/oci"
}

# item FILE DIGEST: the action of the item without a tag for DIGEST in the JSON plan FILE
item() { json "[i['action'] for i in d['items'] if i['tag'] is None and i['digest'] == '$2'][0]" <"$BATS_FILE_TMPDIR/$1"; }

# action TAG: the action of TAG in the JSON plan in $BATS_FILE_TMPDIR/$1
action() { json "[i['action'] for i in d['items'] if i['tag'] == '$2'][0]" <"$BATS_FILE_TMPDIR/$1"; }

@test "prune --dry-run --json: the plan keeps the newest 3 releases and what floating and other tags hold" {
	run --separate-stderr regship prune --keep 3 --dry-run --json "$p_ADDR/pr/app"
	assert_success
	echo "$output" >"$BATS_FILE_TMPDIR/plan.json"
	for t in latest 1 1.0 1.0.29 1.0.28 1.0.27 stable "$(cat "$BATS_FILE_TMPDIR/sig28")"; do
		assert_equal "$(action plan.json "$t")" keep "$t"
	done
	# held by stable; the index's child: untagged, never deleted
	assert_equal "$(action plan.json 1.0.10)" untag "1.0.10"
	assert_equal "$(action plan.json 1.0.0)" untag "1.0.0"
	# one release on two tags: both go with the one manifest
	assert_equal "$(action plan.json 1.0.5)" delete "1.0.5"
	assert_equal "$(action plan.json v1.0.5)" delete "v1.0.5"
	# a signature goes with its subject
	assert_equal "$(action plan.json 1.0.1)" delete "1.0.1"
	assert_equal "$(action plan.json "$(cat "$BATS_FILE_TMPDIR/sig1")")" delete "sig of 1.0.1"
	for i in $(seq 2 26); do
		[[ $i == 5 || $i == 10 ]] && continue
		assert_equal "$(action plan.json "1.0.$i")" delete "1.0.$i"
	done
	# nothing was removed
	run regship digest "$p_ADDR/pr/app:1.0.2"
	assert_success
}

@test "prune --dry-run: referrers by subject go with their subject (recursively), with their fallback tags" {
	# the plan of the first test
	# a signature of 1.0.2 (no tag of its own) and that signature's signature go with 1.0.2
	assert_equal "$(item plan.json "$O2")" delete
	assert_equal "$(item plan.json "$O22")" delete
	assert_equal "$(json "[i['subject'] for i in d['items'] if i['digest'] == '$O22'][0]" <"$BATS_FILE_TMPDIR/plan.json")" "$O2"
	# the fallback tag indexes of 1.0.2 and of its signature go; 1.0.27's stays, and so does its
	# signature (not even an item: nothing removes it)
	assert_equal "$(action plan.json "sha256-${D2#sha256:}")" delete
	assert_equal "$(action plan.json "sha256-${O2#sha256:}")" delete
	assert_equal "$(action plan.json "sha256-${D27#sha256:}")" keep
	assert_equal "$(json "[i for i in d['items'] if i['digest'] == '$O27']" <"$BATS_FILE_TMPDIR/plan.json")" "[]"
	run regship prune --keep 3 --dry-run "$p_ADDR/pr/app"
	assert_output_matches "delete +- $O2 \(referrer \(application/vnd\.dev\.cosign\.artifact\.sig\.v1\+json\) of $D2, which goes\)"
}

@test "prune --dry-run prints what goes, what stays and why" {
	run regship prune --keep 3 --dry-run "$p_ADDR/pr/app"
	assert_success
	assert_output_matches "keep +latest sha256:[0-9a-f]{64} \(floating tag\)"
	assert_output_matches "untag +1\.0\.10 .*held by stable"
	assert_output_matches "untag +1\.0\.0 .*child of an index"
	assert_output_matches "delete +1\.0\.2 .*older than the 3 newest releases"
	assert_output_contains "dry run: nothing was removed"
}

@test "prune --keep-signed keeps the signed 1.0.1; --include/--exclude choose the candidates" {
	run --separate-stderr regship prune --keep 3 --keep-signed --dry-run --json "$p_ADDR/pr/app"
	assert_success
	echo "$output" >"$BATS_FILE_TMPDIR/signed.json"
	assert_equal "$(action signed.json 1.0.1)" keep
	assert_equal "$(action signed.json "$(cat "$BATS_FILE_TMPDIR/sig1")")" keep
	run --separate-stderr regship prune --keep 3 --exclude '^1\.0\.2[0-9]?$' --dry-run --json "$p_ADDR/pr/app"
	assert_success
	echo "$output" >"$BATS_FILE_TMPDIR/excl.json"
	assert_equal "$(action excl.json 1.0.2)" keep "excluded 1.0.2"
	assert_equal "$(action excl.json 1.0.21)" keep "excluded 1.0.21"
	assert_equal "$(action excl.json 1.0.29)" keep "excluded 1.0.29"
	# the three newest among the candidates left: 1.0.19 1.0.18 1.0.17
	assert_equal "$(action excl.json 1.0.17)" keep
	assert_equal "$(action excl.json 1.0.16)" delete
	run regship prune --keep 3 --include '(' --dry-run "$p_ADDR/pr/app"
	assert_status 2
	assert_output_contains "--include"
}

@test "prune --by created keeps the newest by the config's date, not the highest version" {
	run --separate-stderr regship prune --keep 1 --by created --dry-run --json "$p_ADDR/pr/dated"
	assert_success
	echo "$output" >"$BATS_FILE_TMPDIR/dated.json"
	assert_equal "$(action dated.json 1.0.0)" keep
	assert_equal "$(action dated.json 2.0.0)" delete
	assert_equal "$(action dated.json 3.0.0)" delete
	run --separate-stderr regship prune --keep 1 --dry-run --json "$p_ADDR/pr/dated"
	echo "$output" >"$BATS_FILE_TMPDIR/dated2.json"
	assert_equal "$(action dated2.json 3.0.0)" keep
	assert_equal "$(action dated2.json 1.0.0)" delete
}

@test "prune: bad arguments are usage errors (exit 2) before any request" {
	run regship prune "$p_ADDR/pr/app"
	assert_status 2
	assert_output_contains "--keep"
	run regship prune --keep -1 "$p_ADDR/pr/app"
	assert_status 2
	run regship prune --keep 3 --by size "$p_ADDR/pr/app"
	assert_status 2
	run regship prune --keep 3 "$p_ADDR/pr/app:1.0.1"
	assert_status 2
}

@test "prune on a registry with deletion disabled: one clear message, nothing attempted" {
	run regship prune --keep 1 "$nodel_ADDR/nd/app"
	assert_status 1
	assert_output_contains "deletion is disabled"
	[[ $(grep -c "deletion is disabled" <<<"$output") -eq 1 ]] || fail "one message expected"
	run regship tags "$nodel_ADDR/nd/app"
	assert_output_contains 1.0.0
	assert_output_contains 1.0.1
}

@test "prune: the real run removes exactly the dry run's plan; what stays keeps its digest" {
	local -A before
	local t
	for t in latest 1 1.0 1.0.29 1.0.28 1.0.27 stable; do
		before[$t]=$(regship digest "$p_ADDR/pr/app:$t")
	done
	run --separate-stderr regship prune --keep 3 --json "$p_ADDR/pr/app"
	assert_success
	echo "$output" >"$BATS_FILE_TMPDIR/real.json"
	# removed == planned
	assert_equal "$(json "sorted(i['tag'] or i['digest'] for i in d['items'] if i['done'])" <"$BATS_FILE_TMPDIR/real.json")" \
		"$(json "sorted(i['tag'] or i['digest'] for i in d['items'] if i['action'] != 'keep')" <"$BATS_FILE_TMPDIR/plan.json")"
	assert_equal "$(json "[d['failed_count'], d['failed']]" <"$BATS_FILE_TMPDIR/real.json")" '[0, []]'
	assert_equal "$(json "[d['deleted_count'], d['untagged_count']]" <"$BATS_FILE_TMPDIR/real.json")" \
		"$(json "[len([i for i in d['items'] if i['action'] == 'delete']), len([i for i in d['items'] if i['action'] == 'untag'])]" <"$BATS_FILE_TMPDIR/plan.json")"
	# the tags left are exactly the kept ones, at the same digests
	run regship tags "$p_ADDR/pr/app"
	assert_success
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" \
		"$(printf '%s\n' 1 1.0 1.0.27 1.0.28 1.0.29 latest "$(cat "$BATS_FILE_TMPDIR/sig28")" stable "sha256-${D27#sha256:}" | sort | tr '\n' ' ')"
	for t in latest 1 1.0 1.0.29 1.0.28 1.0.27 stable; do
		assert_equal "$(regship digest "$p_ADDR/pr/app:$t")" "${before[$t]}" "$t"
	done
	# the index's children and the manifest stable holds are still there; 1.0.2's is gone
	run regship manifest "$p_ADDR/pr/app@$(cat "$BATS_FILE_TMPDIR/child")"
	assert_success
	run regship manifest "$p_ADDR/pr/app@$(fixture_digest p pr/app:1.0.10)"
	assert_success
	run regship manifest "$p_ADDR/pr/app@$(fixture_digest p pr/app:1.0.2)"
	assert_status 3
	run regship manifest "$p_ADDR/pr/app@$(fixture_digest p pr/app:1.0.1)"
	assert_status 3
}

@test "prune: the referrers by subject went with 1.0.2; 1.0.27's signature stays" {
	# after the real run above
	for d in "$O2" "$O22"; do
		run regship manifest "$p_ADDR/pr/app@$d"
		assert_status 3
	done
	run --separate-stderr regship referrers "$p_ADDR/pr/app:1.0.27"
	assert_success
	assert_equal "$(awk '{ print $1 }' <<<"$output")" "$O27"
}

@test "prune: an index that goes takes the referrers of its children and its own" {
	run --separate-stderr regship prune --keep 1 --dry-run --json "$p_ADDR/pr/idx"
	assert_success
	echo "$output" >"$BATS_FILE_TMPDIR/idx.json"
	assert_equal "$(action idx.json 1.0.0)" delete
	assert_equal "$(item idx.json "$IXS")" delete
	assert_equal "$(item idx.json "$ICS")" delete
	run --separate-stderr regship prune --keep 1 --json "$p_ADDR/pr/idx"
	assert_success
	assert_equal "$(json "[d['failed_count'], d['failed']]" <<<"$output")" '[0, []]'
	for d in "$IX" "$IXS" "$ICS"; do
		run regship manifest "$p_ADDR/pr/idx@$d"
		assert_status 3
	done
	run regship tags "$p_ADDR/pr/idx"
	assert_output_equals 1.0.1
}

@test "prune --keep-signed keeps an image signed by subject (no .sig tag)" {
	run --separate-stderr regship prune --keep 1 --keep-signed --dry-run --json "$p_ADDR/pr/sgn"
	assert_success
	echo "$output" >"$BATS_FILE_TMPDIR/sgn.json"
	assert_equal "$(action sgn.json 1.0.0)" keep
	assert_equal "$(json "[i['reason'] for i in d['items'] if i['tag'] == '1.0.0'][0]" <"$BATS_FILE_TMPDIR/sgn.json")" "signed (--keep-signed)"
	assert_equal "$(action sgn.json 1.0.1)" delete
	run --separate-stderr regship prune --keep 1 --dry-run --json "$p_ADDR/pr/sgn"
	echo "$output" >"$BATS_FILE_TMPDIR/sgn2.json"
	assert_equal "$(action sgn2.json 1.0.0)" delete
	assert_equal "$(item sgn2.json "$SGN")" delete
}

# actions FILE TAG...: "TAG=action ..." for each TAG in the JSON plan FILE
actions() {
	local f=$1 t out=()
	shift
	for t in "$@"; do
		out+=("$t=$(action "$f" "$t")")
	done
	echo "${out[*]}"
}

@test "prune: each variant line (-alpine) is pruned on its own; a pre-release never pushes a release out" {
	local keep="1.3.0=keep 1.2.0=keep 1.3.0-alpine=keep 1.2.0-alpine=keep"
	local goes="1.1.0=delete 1.0.0=delete 1.1.0-alpine=delete 1.0.0-alpine=delete 1.3.0-rc.1=delete 1.2.0-rc.1-alpine=delete"
	local tags="1.3.0 1.2.0 1.3.0-alpine 1.2.0-alpine 1.1.0 1.0.0 1.1.0-alpine 1.0.0-alpine 1.3.0-rc.1 1.2.0-rc.1-alpine"
	local by
	# --keep 2 keeps the 2 newest releases of each line, by version and by date alike; the
	# release candidates older than their line's newest release go and never count
	for by in semver created; do
		run --separate-stderr regship prune --keep 2 --by "$by" --dry-run --json "$p_ADDR/pr/var"
		assert_success
		echo "$output" >"$BATS_FILE_TMPDIR/var-$by.json"
		# shellcheck disable=SC2086
		assert_equal "$(actions "var-$by.json" $tags)" "$keep $goes" "--by $by"
	done
	assert_equal "$(json "[i['reason'] for i in d['items'] if i['tag'] == '1.2.0-alpine'][0]" <"$BATS_FILE_TMPDIR/var-semver.json")" \
		"one of the 2 newest releases of the -alpine line"
	assert_equal "$(json "[i['reason'] for i in d['items'] if i['tag'] == '1.2.0-rc.1-alpine'][0]" <"$BATS_FILE_TMPDIR/var-semver.json")" \
		"a pre-release older than 1.3.0-alpine, the newest release of the -alpine line"
	# --keep-prereleases 1: the newest pre-release of each line, counted apart
	run --separate-stderr regship prune --keep 2 --keep-prereleases 1 --dry-run --json "$p_ADDR/pr/var"
	assert_success
	echo "$output" >"$BATS_FILE_TMPDIR/var-pre.json"
	assert_equal "$(actions var-pre.json 1.3.0-rc.1 1.2.0-rc.1-alpine 1.2.0 1.2.0-alpine 1.1.0)" \
		"1.3.0-rc.1=keep 1.2.0-rc.1-alpine=keep 1.2.0=keep 1.2.0-alpine=keep 1.1.0=delete"
	# --keep 1: the pending release candidate stays and 2.1.0, the only release, too
	for by in created semver; do
		run --separate-stderr regship prune --keep 1 --by "$by" --dry-run --json "$p_ADDR/pr/rc"
		assert_success
		echo "$output" >"$BATS_FILE_TMPDIR/rc.json"
		assert_equal "$(actions rc.json 2.1.0 2.1.1-rc.1)" "2.1.0=keep 2.1.1-rc.1=keep" "--by $by"
	done
	assert_equal "$(json "[i['reason'] for i in d['items'] if i['tag'] == '2.1.1-rc.1'][0]" <"$BATS_FILE_TMPDIR/rc.json")" \
		"a pre-release newer than every release"

	# the real runs remove exactly the plans; what stays keeps its digest
	run --separate-stderr regship prune --keep 2 --json "$p_ADDR/pr/var"
	assert_success
	assert_equal "$(json "sorted(i['tag'] for i in d['items'] if i['done'])" <<<"$output")" \
		"$(json "sorted(i['tag'] for i in d['items'] if i['action'] != 'keep')" <"$BATS_FILE_TMPDIR/var-semver.json")"
	run --separate-stderr regship prune --keep 1 --json "$p_ADDR/pr/rc"
	assert_success
	assert_equal "$(json "[d['deleted_count'], d['untagged_count'], d['failed_count']]" <<<"$output")" "[0, 0, 0]"
	run regship tags "$p_ADDR/pr/var"
	assert_success
	assert_equal "$(sort <<<"$output" | tr '\n' ' ')" "1.2.0 1.2.0-alpine 1.3.0 1.3.0-alpine "
	local t
	for t in pr/var:1.3.0 pr/var:1.2.0 pr/var:1.3.0-alpine pr/var:1.2.0-alpine pr/rc:2.1.0 pr/rc:2.1.1-rc.1; do
		run regship digest "$p_ADDR/$t"
		assert_success
		assert_equal "$output" "$(fixture_digest p "$t")" "$t"
	done
	for t in 1.1.0 1.0.0 1.1.0-alpine 1.0.0-alpine 1.3.0-rc.1 1.2.0-rc.1-alpine; do
		run regship manifest "$p_ADDR/pr/var@$(fixture_digest p "pr/var:$t")"
		assert_status 3
	done
}
