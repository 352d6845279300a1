#!/usr/bin/env bats
# regship retag (several tags, indexes, by digest, into another repository) and
# retag --semver (promotion of X.Y, X and latest, only ever forward) against every registry
# variant: plain HTTP, TLS (harness CA), htpasswd (Basic) and token (Bearer). The registry's
# access log proves that a retag is one manifest GET, one HEAD and one PUT per tag, with no blob
# request.

bats_require_minimum_version 1.5.0

VARIANTS="plain tls basic tok"

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
	# the registries are independent: seed them in parallel (each its own .fixture file, its
	# images in order)
	for v in $VARIANTS; do
		{
			# distinct content per registry, so answers from the wrong place do not match
			seed $v rt/app --tag v1 --layers 2 --seed "app-$v" &&
				seed $v rt/multi --tag m --format oci --platform linux/amd64 \
					--platform linux/arm64/v8 --seed "multi-$v" &&
				seed $v rt/sv --tag 2.1.105 --seed "sv-105-$v" &&
				seed $v rt/sv --tag 2.1.106 --seed "sv-106-$v" &&
				seed $v rt/sv --tag 2.1.107 --seed "sv-107-$v" &&
				seed $v rt/sv --tag 2.3.0 --seed "sv-230-$v" &&
				seed $v rt/sv --tag 3.0.0-rc.1 --seed "sv-300rc-$v" &&
				seed $v rt/sv --tag nightly --seed "sv-nightly-$v" &&
				if [[ $v == plain ]]; then
					seed plain rt/vp --tag v1.2.3 --seed vp-123 &&
						seed plain rt/vp --tag 1.5.0 --seed vp-150
				fi
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

# digest_of NAME REPO:TAG: the digest a tag points at now (regship digest: a HEAD)
digest_of() {
	regship_on "$1" digest "$(reg_addr "$1")/$2"
}

# requests NAME: the "METHOD URI STATUS" lines since reg_log_mark, without the 401 challenges
# that precede authenticated requests on the auth variants and without the /v2/ ping
requests() {
	reg_requests "$1" | awk '$3 != 401 && $2 != "/v2/"'
}

# count PATTERN: lines of $reqs matching the extended regex PATTERN
count() {
	grep -cE -- "$1" <<<"$reqs" || true
}

@test "retag to several tags: one manifest GET, one PUT per tag (a tag named twice once), no blob request" {
	local v d a
	for v in $VARIANTS; do
		echo "# variant $v"
		d=$(fixture_digest $v rt/app:v1)
		a=$(reg_addr $v)
		reg_log_mark $v
		run --separate-stderr regship_on $v retag "$a/rt/app:v1" stable prod 1.0 prod
		assert_success
		assert_equal "$output" "$a/rt/app:stable@$d"$'\n'"$a/rt/app:prod@$d"$'\n'"$a/rt/app:1.0@$d" "$v: stdout"
		assert_equal "$stderr" "" "$v: stderr"
		reqs=$(requests $v)
		echo "$reqs"
		assert_equal "$(count '^GET /v2/rt/app/manifests/v1 200$')" 1 "$v: manifest GETs"
		# and one HEAD per tag: a tag already at the manifest is not written (issue 17)
		assert_equal "$(count '^HEAD /v2/rt/app/manifests/(stable|prod|1\.0) 404$')" 3 "$v: tag HEADs"
		assert_equal "$(count '^(GET|HEAD) /v2/[^ ]*/manifests/')" 4 "$v: manifest reads"
		assert_equal "$(count '^PUT /v2/rt/app/manifests/(stable|prod|1\.0) 201$')" 3 "$v: PUTs"
		assert_equal "$(count '^PUT ')" 3 "$v: every PUT"
		assert_equal "$(count '/blobs/')" 0 "$v: blob requests"
		assert_equal "$(wc -l <<<"$reqs")" 7 "$v: requests in all"
		# what the registry now has under each tag (one lookup for all four)
		assert_equal "$(reg_digests $v rt/app stable prod 1.0 v1)" \
			"stable $d"$'\n'"prod $d"$'\n'"1.0 $d"$'\n'"v1 $d" "$v: digests of the tags"
	done
}

@test "retag of an index and by digest: the same bytes, no child manifest or blob request" {
	local v d a out="$BATS_TEST_TMPDIR/out"
	for v in $VARIANTS; do
		echo "# variant $v"
		d=$(fixture_digest $v rt/multi:m)
		a=$(reg_addr $v)
		reg_log_mark $v
		run --separate-stderr regship_on $v retag "$a/rt/multi:m" m2 m3
		assert_success
		assert_equal "$output" "$a/rt/multi:m2@$d"$'\n'"$a/rt/multi:m3@$d" "$v: stdout"
		reqs=$(requests $v)
		assert_equal "$(count '^GET /v2/rt/multi/manifests/m 200$')" 1 "$v: index GET"
		assert_equal "$(count '/manifests/sha256:')" 0 "$v: child manifest requests"
		assert_equal "$(count '/blobs/')" 0 "$v: blob requests"
		assert_equal "$(count '^PUT /v2/rt/multi/manifests/m[23] 201$')" 2 "$v: PUTs"
		regship_on $v manifest "$a/rt/multi:m3" >"$out"
		assert_equal "$(sha256_of "$out")" "$d" "$v: bytes of m3"
		assert_equal "$(json 'd["mediaType"]' <"$out")" application/vnd.oci.image.index.v1+json

		# by digest: the source is fetched by digest, and only the new tag is written
		d=$(fixture_digest $v rt/app:v1)
		reg_log_mark $v
		run --separate-stderr regship_on $v retag --json "$a/rt/app@$d" bydigest
		assert_success
		assert_equal "$(json 'd["digest"]' <<<"$output")" "$d"
		assert_equal "$(json 'd["media_type"]' <<<"$output")" application/vnd.docker.distribution.manifest.v2+json
		assert_equal "$(json '[(t["reference"], t["action"], t["written"]) for t in d["tags"]]' <<<"$output")" \
			"[[\"$a/rt/app:bydigest@$d\", \"tagged\", true]]"
		reqs=$(requests $v)
		assert_equal "$(count "^GET /v2/rt/app/manifests/$d 200\$")" 1 "$v: GET by digest"
		assert_equal "$(count '^PUT /v2/rt/app/manifests/bydigest 201$')" 1 "$v: PUT"
		assert_equal "$(count '/blobs/')" 0 "$v: blob requests"
		assert_equal "$(digest_of $v rt/app:bydigest)" "$d"
	done
}

@test "retag into another repository mounts the blobs (and index children) first, never reads a blob" {
	local v d dm a out="$BATS_TEST_TMPDIR/out"
	for v in $VARIANTS; do
		echo "# variant $v"
		d=$(fixture_digest $v rt/app:v1)
		dm=$(fixture_digest $v rt/multi:m)
		a=$(reg_addr $v)
		reg_log_mark $v
		run --separate-stderr regship_on $v retag "$a/rt/app:v1" "$a/rt/copy/app:v1" "$a/rt/copy/app:also" same
		assert_success
		assert_equal "$output" "$a/rt/copy/app:v1@$d"$'\n'"$a/rt/copy/app:also@$d"$'\n'"$a/rt/app:same@$d" "$v: stdout"
		assert_output_not_contains "regship:"
		[[ $stderr == *"mounted 3 blobs"* ]] || fail "$v: stderr: $stderr"
		reqs=$(requests $v)
		echo "$reqs"
		# config + 2 layers: HEAD (404), then a mount (201); nothing read, nothing uploaded
		assert_equal "$(count '^HEAD /v2/rt/copy/app/blobs/sha256:[0-9a-f]{64} 404$')" 3 "$v: blob HEADs"
		assert_equal "$(count '^POST /v2/rt/copy/app/blobs/uploads/\?mount=sha256(%3A|:)[0-9a-f]{64}&from=rt(%2F|/)app 201$')" 3 "$v: mounts"
		assert_equal "$(count '^(GET|PATCH) [^ ]*/blobs/')" 0 "$v: blob reads or uploads"
		assert_equal "$(count '^GET /v2/rt/app/manifests/v1 200$')" 1 "$v: manifest GET"
		assert_equal "$(count '^PUT ')" 3 "$v: PUTs"
		# the mounts come before the first PUT
		[[ $(grep -nE '^PUT ' <<<"$reqs" | head -n1 | cut -d: -f1) -gt $(grep -nE '^POST ' <<<"$reqs" | tail -n1 | cut -d: -f1) ]] ||
			fail "$v: a PUT came before a mount"
		assert_equal "$(digest_of $v rt/copy/app:also)" "$d"
		# the image is complete there: every blob can be read back from the new repository
		run regship_on $v copy "$a/rt/copy/app:v1" "oci:$BATS_TEST_TMPDIR/$v-layout:v1"
		assert_success

		# an index: child manifests are put by digest before the index, with their blobs
		run --separate-stderr regship_on $v retag --json "$a/rt/multi:m" "$a/rt/copy/multi:m"
		assert_success
		assert_equal "$(json 'd["manifests_copied"]' <<<"$output")" 2 "$v: children copied"
		mounted=$(json 'd["blobs_mounted"]' <<<"$output")
		regship_on $v manifest "$a/rt/copy/multi:m" >"$out"
		assert_equal "$(sha256_of "$out")" "$dm" "$v: index bytes"
		blobs=""
		for child in $(json '" ".join(m["digest"] for m in d["manifests"])' <"$out"); do
			# each child is there by digest, with the bytes of the source
			run regship_on $v manifest "$a/rt/copy/multi@$child"
			assert_success
			blobs+=$(json '" ".join([d["config"]["digest"]] + [l["digest"] for l in d["layers"]])' <<<"$output")" "
		done
		assert_equal "$mounted" "$(tr ' ' '\n' <<<"$blobs" | sed '/^$/d' | sort -u | wc -l)" "$v: blobs mounted"
		# again: everything is there already, so only HEADs and the PUT
		reg_log_mark $v
		run regship_on $v retag "$a/rt/multi:m" "$a/rt/copy/multi:m-again"
		assert_success
		reqs=$(requests $v)
		assert_equal "$(count '^POST ')" 0 "$v: no mount the second time"
		assert_equal "$(count '^PUT ')" 1 "$v: one PUT the second time"
	done
}

@test "retag: bad tags, a missing source and another registry are refused and nothing is written" {
	local v a long
	long=$(printf 'a%.0s' {1..129})
	for v in $VARIANTS; do
		echo "# variant $v"
		a=$(reg_addr $v)
		reg_log_mark $v
		run regship_on $v retag "$a/rt/app:v1" good "bad tag"
		assert_status 2
		assert_output_contains 'invalid tag "bad tag"'
		run regship_on $v retag "$a/rt/app:v1" -- -dash
		assert_status 2
		assert_output_contains 'invalid tag "-dash"'
		run regship_on $v retag "$a/rt/app:v1" "$long"
		assert_status 2
		assert_output_contains "invalid tag"
		run regship_on $v retag "$a/rt/app:v1" "other.example:5000/rt/app:x"
		assert_status 2
		assert_output_contains "it is on other.example:5000, not $a"
		run regship_on $v retag "$a/rt/app:v1" "$a/rt/app@sha256:$(printf '%064d' 0)"
		assert_status 2
		run regship_on $v retag "$a/rt/app:v1"
		assert_status 2
		assert_output_contains "missing TAG"
		# none of those sent a request
		reqs=$(requests $v)
		assert_equal "$reqs" "" "$v: requests for refused arguments"

		run regship_on $v retag "$a/rt/app:nope" good
		assert_status 3
		assert_output_contains "rt/app:nope"
		run regship_on $v retag "$a/rt/nothing/here:v1" good
		assert_status 3
		run regship_on $v retag "$a/rt/app@sha256:$(printf '%064d' 0)" good
		assert_status 3
		reqs=$(requests $v)
		assert_equal "$(count '^(PUT|POST|PATCH|DELETE) ')" 0 "$v: writes"
		run regship_on $v digest "$a/rt/app:good"
		assert_status 3
	done
}

@test "retag as a user who may only pull is refused (exit 4) and writes nothing" {
	local d
	d=$(fixture_digest tok rt/app:v1)
	run regship retag "$tok_ADDR/rt/app:v1" reader-was-here -u "$tok_READER_USER" --password-stdin <<<"$tok_READER_PASS"
	assert_status 4
	run regship_on tok digest "$tok_ADDR/rt/app:reader-was-here"
	assert_status 3
}

# promote NAME VERSION [options]: retag --semver of rt/sv:VERSION on registry NAME, output in
# $output (stdout) and $stderr, requests in $reqs
promote() {
	local v=$1 ver=$2
	shift 2
	reg_log_mark $v
	run --separate-stderr regship_on $v retag --semver "$@" "$(reg_addr $v)/rt/sv:$ver"
	reqs=$(requests $v)
}

# floating NAME: "2.1=<seed tag> 2=<...> latest=<...>": which release each floating tag names,
# from the registry's answers (reg_digests: one process for the five lookups)
floating() {
	local v=$1 t d s out="" got
	got=$(reg_digests $v rt/sv 2.1 2 latest 3.0 3) || fail "$v: looking up the floating tags failed" || return 1
	# digest -> release, from the digests last recorded for rt/sv:<release> (what fixture_digest
	# reads), in one pass: thirty fixture_digest calls cost seconds on a loaded machine
	local -A rel=() at=()
	while read -r s d; do
		case $s in 2.1.105 | 2.1.106 | 2.1.107 | 2.3.0 | 3.0.0-rc.1 | 3.0.0) rel[$d]=$s ;; esac
	done < <(awk 'sub(/^rt\/sv:/, "", $1) && $2 ~ /^sha256:/ { d[$1] = $2 } END { for (k in d) print k, d[k] }' \
		"$BATS_FILE_TMPDIR/$v.fixture")
	while read -r t d; do at[$t]=$d; done <<<"$got"
	for t in 2.1 2 latest 3.0 3; do
		d=${at[$t]:-}
		s=${d:+${rel[$d]:-}}
		out+="$t=${s:-none} "
	done
	echo "${out% }"
}

# semver_forward NAME: the forward-only promotion sequence on registry NAME (its own images, so
# the variants are independent: one @test each keeps every test well inside BATS_TEST_TIMEOUT
# on a loaded machine)
semver_forward() {
	local v=$1 a
	echo "# variant $v"
	a=$(reg_addr $v)
	# 2.3.0 is the highest release (3.0.0-rc.1 is a pre-release and does not count)
	promote $v 2.3.0
	assert_success
	d=$(fixture_digest $v rt/sv:2.3.0)
	assert_equal "$output" "$a/rt/sv:2.3@$d"$'\n'"$a/rt/sv:2@$d"$'\n'"$a/rt/sv:latest@$d" "$v: stdout"
	[[ $stderr == *"moved 2.3 to 2.3.0: it does not exist yet"* ]] || fail "$v: $stderr"
	[[ $stderr == *"moved latest to 2.3.0: it does not exist yet"* ]] || fail "$v: $stderr"
	assert_equal "$(count '^GET /v2/rt/sv/manifests/2.3.0 200$')" 1 "$v: one GET"
	assert_equal "$(count '^GET /v2/rt/sv/tags/list')" 1 "$v: one tag listing"
	assert_equal "$(count '^HEAD ')" 0 "$v: no HEAD: no floating tag existed"
	assert_equal "$(count '^PUT ')" 3 "$v: three PUTs"
	assert_equal "$(count '/blobs/')" 0 "$v: no blob request"

	# 2.1.107 creates 2.1; 2 and latest stay on the newer 2.3.0 (HEAD 2, latest, 2.3.0)
	promote $v 2.1.107
	assert_success
	assert_equal "$output" "$a/rt/sv:2.1@$(fixture_digest $v rt/sv:2.1.107)" "$v: stdout"
	[[ $stderr == *"kept 2: it points at 2.3.0, which is newer"* ]] || fail "$v: $stderr"
	[[ $stderr == *"kept latest: it points at 2.3.0, which is newer"* ]] || fail "$v: $stderr"
	assert_equal "$(count '^PUT /v2/rt/sv/manifests/2.1 201$')" 1 "$v: PUT 2.1"
	assert_equal "$(count '^PUT ')" 1 "$v: only 2.1 written"
	assert_equal "$(count '^HEAD /v2/rt/sv/manifests/(2|latest|2\.3\.0) 200$')" 3 "$v: HEADs"
	assert_equal "$(count '^HEAD ')" 3 "$v: no other HEAD"
	assert_equal "$(floating $v)" "2.1=2.1.107 2=2.3.0 latest=2.3.0 3.0=none 3=none"

	# an older patch does not move 2.1 backwards: nothing is written at all
	promote $v 2.1.106
	assert_success
	assert_equal "$output" "" "$v: stdout when nothing moves"
	[[ $stderr == *"kept 2.1: it points at 2.1.107, which is newer"* ]] || fail "$v: $stderr"
	assert_equal "$(count '^PUT ')" 0 "$v: PUTs for an old version"
	assert_equal "$(floating $v)" "2.1=2.1.107 2=2.3.0 latest=2.3.0 3.0=none 3=none"

	# a pre-release is an error, with nothing fetched
	promote $v 3.0.0-rc.1
	assert_failure 1
	assert_equal "$output" ""
	[[ $stderr == *"cannot promote 3.0.0-rc.1: it is a pre-release"* ]] || fail "$v: $stderr"
	assert_equal "$(count '^(PUT|GET|HEAD) ')" 0 "$v: requests for a pre-release"

	# --dry-run prints the plan and writes nothing
	promote $v 2.1.105 --dry-run
	assert_success
	assert_equal "$output" ""
	[[ $stderr == *"kept 2.1: it points at 2.1.107, which is newer"* && $stderr == *"dry run"* ]] || fail "$v: $stderr"
	seed $v rt/sv --tag 3.0.0 --seed "sv-300-$v"
	promote $v 3.0.0 --dry-run --json
	assert_success
	assert_equal "$(json '[(t["tag"], t["action"], t["written"]) for t in d["tags"]]' <<<"$output")" \
		'[["3.0", "moved", false], ["3", "moved", false], ["latest", "moved", false]]'
	assert_equal "$(json 'd["dry_run"]' <<<"$output")" true
	assert_equal "$(count '^PUT ')" 0 "$v: PUTs in a dry run"

	# --no-latest leaves latest alone; promoting again without it moves only latest
	promote $v 3.0.0 --no-latest
	assert_success
	assert_equal "$(floating $v)" "2.1=2.1.107 2=2.3.0 latest=2.3.0 3.0=3.0.0 3=3.0.0"
	[[ $stderr == *"kept latest: asked to leave it alone"* ]] || fail "$v: $stderr"
	promote $v 3.0.0 --json
	assert_success
	assert_equal "$(json '[(t["tag"], t["action"], t["written"], t["reason"]) for t in d["tags"]]' <<<"$output")" \
		'[["3.0", "already", false, "already at 3.0.0"], ["3", "already", false, "already at 3.0.0"], ["latest", "moved", true, "it points at 2.3.0, older than 3.0.0"]]'
	assert_equal "$(count '^PUT ')" 1 "$v: only latest written"
	assert_equal "$(floating $v)" "2.1=2.1.107 2=2.3.0 latest=3.0.0 3.0=3.0.0 3=3.0.0"
	# idempotent: the same promotion again writes nothing
	promote $v 3.0.0
	assert_success
	assert_equal "$output" ""
	assert_equal "$(count '^PUT ')" 0 "$v: PUTs when already promoted"
	assert_equal "$(floating $v)" "2.1=2.1.107 2=2.3.0 latest=3.0.0 3.0=3.0.0 3=3.0.0"
	# and now 2.3.0 cannot take latest back
	promote $v 2.3.0
	assert_success
	[[ $stderr == *"kept latest: it points at 3.0.0, which is newer"* ]] || fail "$v: $stderr"
	assert_equal "$(floating $v)" "2.1=2.1.107 2=2.3.0 latest=3.0.0 3.0=3.0.0 3=3.0.0"
}

@test "retag --semver (plain): X.Y, X and latest only move forward, judged by digest; pre-releases are refused" {
	semver_forward plain
}

@test "retag --semver (tls): X.Y, X and latest only move forward, judged by digest; pre-releases are refused" {
	semver_forward tls
}

@test "retag --semver (basic): X.Y, X and latest only move forward, judged by digest; pre-releases are refused" {
	semver_forward basic
}

@test "retag --semver (tok): X.Y, X and latest only move forward, judged by digest; pre-releases are refused" {
	semver_forward tok
}

@test "retag --semver: a tag that is not a release is refused (exit 1) before any request" {
	local v a
	for v in $VARIANTS; do
		echo "# variant $v"
		a=$(reg_addr $v)
		reg_log_mark $v
		for t in nightly 2.1 latest 02.1.0 v2; do
			run regship_on $v retag --semver "$a/rt/sv:$t"
			assert_status 1
			assert_output_contains "\"$t\" is not a semantic version"
		done
		run regship_on $v retag --semver "$a/rt/sv@$(fixture_digest $v rt/sv:2.3.0)"
		assert_status 2
		run regship_on $v retag --semver "$a/rt/sv:2.3.0" extra
		assert_status 2
		run regship_on $v retag --no-latest "$a/rt/sv:2.3.0" extra
		assert_status 2
		assert_equal "$(requests $v)" "" "$v: requests"
		# a version that does not exist is exit 3, with nothing written
		promote $v 9.9.9
		assert_status 3
		assert_equal "$(count '^PUT ')" 0
	done
}

@test "retag --semver with a v prefix moves vX.Y and vX; only v-prefixed releases hold them back" {
	local d
	d=$(fixture_digest plain rt/vp:v1.2.3)
	run --separate-stderr regship_on plain retag --semver "$plain_ADDR/rt/vp:v1.2.3"
	assert_success
	assert_equal "$output" "$plain_ADDR/rt/vp:v1.2@$d"$'\n'"$plain_ADDR/rt/vp:v1@$d"
	[[ $stderr == *"kept latest: it does not exist, and 1.5.0 is newer (promote that to create it)"* ]] || fail "$stderr"
	run regship_on plain digest "$plain_ADDR/rt/vp:1.2"
	assert_status 3
}
