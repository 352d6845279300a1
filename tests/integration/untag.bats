#!/usr/bin/env bats
# regship untag against every registry variant (plain HTTP, TLS, htpasswd, token), all of them
# Debian's docker-registry 2.8, which cannot delete a tag: the tag is moved to a unique
# placeholder manifest which is then deleted by digest. The manifest and its other tags stay.

bats_require_minimum_version 1.5.0

VARIANTS="plain tls basic tok"
EMPTY_BLOB=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a

# seed NAME REPO [options]: reg_seed, its lines kept for fixture_digest
seed() { reg_seed "$@" >>"$BATS_FILE_TMPDIR/$1.fixture"; }

setup_file() {
	load helpers
	local v
	reg_start plain plain
	reg_start tls tls
	reg_start htpasswd basic
	reg_start token tok
	local -a pids=()
	# the registries are independent: seed them in parallel (each its own .fixture file)
	for v in $VARIANTS; do
		# v1, v2, keep and last share one manifest; other is another image; m is an index
		{
			seed $v ut/app --tag v1 --tag v2 --tag keep --tag last --seed "ut-$v" &&
				seed $v ut/app --tag other --seed "ut-other-$v" &&
				seed $v ut/app --tag m --format oci --platform linux/amd64 \
					--platform linux/arm64/v8 --seed "ut-multi-$v"
		} &
		pids+=($!)
	done
	for v in "${pids[@]}"; do
		wait "$v" || return 1
	done
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
}

requests() {
	reg_requests "$1" | awk '$3 != 401 && $2 != "/v2/"'
}

count() {
	grep -cE -- "$1" <<<"$reqs" || true
}

# tags NAME: the sorted tags of ut/app, on one line
tags() {
	regship_on "$1" tags "$(reg_addr "$1")/ut/app" | sort | tr '\n' ' ' | sed 's/ $//'
}

@test "untag on distribution 2.8: the tag goes, the manifest and its other tags stay" {
	local v a d
	for v in $VARIANTS; do
		echo "# variant $v"
		a=$(reg_addr $v)
		d=$(fixture_digest $v ut/app:v1)
		reg_log_mark $v
		run --separate-stderr regship_on $v untag "$a/ut/app:v1"
		assert_success
		assert_equal "$output" "$a/ut/app:v1@$d" "$v: stdout"
		[[ $stderr == "regship: the registry cannot delete tags; moved v1 to a placeholder manifest and deleted that (sha256:"* ]] ||
			fail "$v: stderr: $stderr"
		reqs=$(requests $v)
		echo "$reqs"
		# the OCI 1.1 tag deletion was tried first, then the placeholder dance
		assert_equal "$(count '^DELETE /v2/ut/app/manifests/v1 400$')" 1 "$v: DELETE by tag"
		assert_equal "$(count '^PUT /v2/ut/app/manifests/v1 201$')" 1 "$v: placeholder PUT"
		assert_equal "$(count '^DELETE /v2/ut/app/manifests/sha256:[0-9a-f]{64} 202$')" 1 "$v: DELETE by digest"
		assert_equal "$(count "/manifests/$d")" 0 "$v: the manifest itself was not touched"

		assert_equal "$(tags $v)" "keep last m other v2" "$v: tags after untag"
		run regship_on $v digest "$a/ut/app:v1"
		assert_status 3
		# the other tags, the manifest by digest and the other image, as the registry has them
		# now (one lookup for the five)
		assert_equal "$(reg_digests $v ut/app v2 keep last "$d" other)" \
			"v2 $d"$'\n'"keep $d"$'\n'"last $d"$'\n'"$d $d"$'\n'"other $(fixture_digest $v ut/app:other)" "$v: what stays"
	done
}

@test "untag --json names the placeholder, which is gone afterwards; the last tag can go too" {
	local v a d ph
	for v in $VARIANTS; do
		echo "# variant $v"
		a=$(reg_addr $v)
		d=$(fixture_digest $v ut/app:v2)
		run --separate-stderr regship_on $v untag --json "$a/ut/app:v2"
		assert_success
		assert_equal "$(json 'sorted(d)' <<<"$output")" '["digest", "method", "placeholder", "reference", "repository", "tag"]'
		assert_equal "$(json 'd["reference"]' <<<"$output")" "$a/ut/app:v2@$d"
		assert_equal "$(json 'd["repository"]' <<<"$output")" "$a/ut/app"
		assert_equal "$(json 'd["tag"]' <<<"$output")" v2
		assert_equal "$(json 'd["digest"]' <<<"$output")" "$d"
		assert_equal "$(json 'd["method"]' <<<"$output")" placeholder
		ph=$(json 'd["placeholder"]' <<<"$output")
		[[ $ph == sha256:* && $ph != "$d" ]] || fail "$v: placeholder $ph"
		run regship_on $v digest "$a/ut/app@$ph"
		assert_status 3

		# removing the last two tags of a manifest leaves the manifest, untagged
		run regship_on $v untag "$a/ut/app:keep"
		assert_success
		run regship_on $v untag -q "$a/ut/app:last"
		assert_success
		assert_output_equals "$a/ut/app:last@$d"
		assert_equal "$(tags $v)" "m other" "$v: tags"
		assert_equal "$(regship_on $v digest "$a/ut/app@$d")" "$d" "$v: untagged manifest"

		# an index tag: the index stays, with its children
		d=$(fixture_digest $v ut/app:m)
		run regship_on $v untag "$a/ut/app:m"
		assert_success
		assert_equal "$(regship_on $v digest "$a/ut/app@$d")" "$d" "$v: index by digest"
		assert_equal "$(tags $v)" "other" "$v: tags"
	done
	# the placeholder's config: the 2-byte empty JSON blob, uploaded once
	run curl -s "$plain_URL/v2/ut/app/blobs/$EMPTY_BLOB"
	assert_output_equals "{}"
}

@test "untag: a missing tag is exit 3, a digest or no tag is exit 2, and nothing is written" {
	local v a d
	for v in $VARIANTS; do
		echo "# variant $v"
		a=$(reg_addr $v)
		d=$(fixture_digest $v ut/app:other)
		reg_log_mark $v
		run regship_on $v untag "$a/ut/app:nope"
		assert_status 3
		assert_output_contains "cannot untag $a/ut/app:nope: no such tag"
		run regship_on $v untag "$a/ut/nothing:v1"
		assert_status 3
		run regship_on $v untag "$a/ut/app@$d"
		assert_status 2
		assert_output_contains "untag takes a tag"
		run regship_on $v untag "$a/ut/app"
		assert_status 2
		assert_output_contains "name the tag to remove"
		run regship_on $v untag "$a/ut/app:bad tag"
		assert_status 2
		run regship_on $v untag
		assert_status 2
		reqs=$(requests $v)
		assert_equal "$(count '^(PUT|POST|PATCH|DELETE) ')" 0 "$v: writes"
		assert_equal "$(regship_on $v digest "$a/ut/app:other")" "$d"
	done
}

@test "untag as a user who may only pull is refused (exit 4) before anything is written" {
	local d
	seed tok ut/ro --tag a --tag b --seed ro
	d=$(fixture_digest tok ut/ro:a)
	reg_log_mark tok
	run regship untag "$tok_ADDR/ut/ro:a" -u "$tok_READER_USER" --password-stdin <<<"$tok_READER_PASS"
	assert_status 4
	reqs=$(requests tok)
	assert_equal "$(count '^(PUT|POST|PATCH) ')" 0 "writes"
	assert_equal "$(regship_on tok digest "$tok_ADDR/ut/ro:a")" "$d"
	assert_equal "$(regship_on tok digest "$tok_ADDR/ut/ro:b")" "$d"
}

@test "rm still deletes the manifest, and with it every tag" {
	local d
	seed plain ut/rm --tag a --tag b --seed rm
	d=$(fixture_digest plain ut/rm:a)
	run regship rm --force "$plain_ADDR/ut/rm:a"
	assert_success
	run regship digest "$plain_ADDR/ut/rm@$d"
	assert_status 3
	run regship digest "$plain_ADDR/ut/rm:b"
	assert_status 3
}
