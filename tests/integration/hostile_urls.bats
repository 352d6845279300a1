#!/usr/bin/env bats
# A scripted hostile registry (tests/harness/hostile.py) against the real binary: every URL a
# server hands back goes through one policy (a pagination Link to another origin never gets the
# registry's Authorization, Basic or Bearer; file:// and user:password@ URLs are refused; a Link
# back to a page already fetched is a "pagination loop"; 64 MiB of names at most), listings are
# printed as their pages arrive, token servers that answer HTML, 2 MiB or no token are named, a
# Docker-Content-Digest in any algorithm is checked against the bytes (md5 refused), a plain web
# server is "not a container registry", and names and messages from servers are printed with
# their control characters escaped (--json stays valid JSON).

setup_file() {
	load helpers
	# the foreign recorder first (the others link to it), then the rest side by side
	hostile_start rec --record "$BATS_FILE_TMPDIR/rec.jsonl"
	hostile_launch basic --auth basic --user alice:wonderland --foreign "$rec_URL" &
	hostile_launch bearer --auth bearer --user alice:wonderland --foreign "$rec_URL" &
	hostile_launch open --auth none --release-file "$BATS_FILE_TMPDIR/release" &
	hostile_launch looping --auth none --catalog loop &
	hostile_launch web --not-registry &
	wait
	for name in basic bearer open looping web; do
		hostile_import "$name"
	done
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
}

# hostile_launch NAME [hostile.py flags]: start tests/harness/hostile.py for NAME
hostile_launch() {
	local name=$1
	shift
	_harness_name_ok "$name" || return 1
	local dir="$BATS_FILE_TMPDIR/$name"
	mkdir -p "$dir"
	_harness_track "$dir"
	if ! harness start-hostile --dir "$dir" --name proxy --owner-pid "${HARNESS_OWNER_PID:-$$}" \
		"$@" >"$dir.start.out" 2>&1; then
		cat "$dir.start.out" >&2
		return 1
	fi
}

# hostile_import NAME: exports NAME_URL NAME_ADDR NAME_PORT NAME_LOG NAME_DIR of a started server
hostile_import() {
	local dir="$BATS_FILE_TMPDIR/$1"
	[[ -f $dir/proxy.env ]] || fail "hostile server $1 did not start: $(cat "$dir.start.out")"
	_harness_import "$dir/proxy.env" PROXY_ "$1"
	declare -gx "${1}_DIR=$dir"
}

# hostile_start NAME [hostile.py flags]: hostile_launch, then hostile_import
hostile_start() {
	hostile_launch "$@" && hostile_import "$1"
}

# bounded SECONDS ARGS...: regship ARGS, killed after SECONDS (a client that trusts the server
#   would follow its Links forever)
bounded() {
	local secs=$1
	shift
	timeout "$secs" "$BASH" -c 'source "$1"; shift; regship "$@"' _ \
		"$BATS_TEST_DIRNAME/helpers.bash" "$@"
}

# as_alice ARGS...: regship -u alice --password-stdin ARGS (password "wonderland")
as_alice() {
	regship -u alice --password-stdin "$@" <<<"wonderland"
}

# no_auth_recorded: the foreign recorder got at least one request, none with Authorization
no_auth_recorded() {
	local rec="$BATS_FILE_TMPDIR/rec.jsonl"
	[[ -s $rec ]] || fail "the foreign origin got no request"
	run json '[k for line in d for k in line["headers"] if k.lower() in ("authorization", "cookie")]' \
		< <(/usr/bin/python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in sys.stdin]))' <"$rec")
	assert_success
	assert_output_equals "[]"
}

# --- Link: credentials, schemes, loops, bounds ---------------------------------------------------

@test "Link to another origin (Basic): followed without the registry's Authorization" {
	: >"$BATS_FILE_TMPDIR/rec.jsonl"
	run as_alice tags "$basic_ADDR/link-foreign"
	assert_success
	assert_output_contains "tag-1"
	assert_output_contains "from-foreign"
	no_auth_recorded
}

@test "Link to another origin (Bearer token): followed without the token" {
	: >"$BATS_FILE_TMPDIR/rec.jsonl"
	run as_alice tags "$bearer_ADDR/link-foreign"
	assert_success
	assert_output_contains "from-foreign"
	no_auth_recorded
}

@test "Link to another origin that asks for authentication: exit 4, its challenge not followed" {
	: >"$BATS_FILE_TMPDIR/rec.jsonl"
	run as_alice tags "$basic_ADDR/link-foreign-deny"
	assert_failure 4
	assert_output_contains "regship: http://$rec_ADDR, another origin that $basic_ADDR sent regship to, answered 401"
	no_auth_recorded
	run grep -c evil-realm "$BATS_FILE_TMPDIR/rec.jsonl"
	assert_output_equals 0
}

@test "a Link back to the same page is a pagination loop (tags), found at once" {
	run bounded 20 tags "$open_ADDR/link-loop"
	assert_failure 1
	assert_output_contains "regship: tags of $open_ADDR/link-loop: pagination loop"
}

@test "a Link cycle over two pages is a pagination loop" {
	run bounded 20 tags "$open_ADDR/link-cycle"
	assert_failure 1
	assert_output_contains "pagination loop"
	assert_output_contains "tag-2"
}

@test "a Link back to the same page is a pagination loop (catalog)" {
	run bounded 20 catalog "$looping_ADDR"
	assert_failure 1
	assert_output_contains "regship: catalog of $looping_ADDR: pagination loop"
}

@test "a Link to file:// is refused: only http and https" {
	run bounded 20 tags "$open_ADDR/link-file"
	assert_failure 1
	assert_output_contains 'pagination Link from '"$open_ADDR"' uses the scheme "file"'
	assert_output_contains "only http and https"
}

@test "a Link with user:password@ in it is refused" {
	run bounded 20 tags "$open_ADDR/link-userinfo"
	assert_failure 1
	assert_output_contains "carries a user name or password in the URL"
}

@test "more than 64 MiB of names: a clear error, memory bounded" {
	# valgrind runs the 64 MiB listing at about 1/50 of its speed: past this test's bound
	[[ -z ${REGSHIP_VALGRIND:-} ]] || skip "64 MiB of names takes minutes under valgrind"
	run timeout 60 "$BASH" -c 'source "$1"; shift; regship "$@" >/dev/null' _ \
		"$BATS_TEST_DIRNAME/helpers.bash" tags "$open_ADDR/many-names"
	assert_failure 1
	assert_output_contains "regship: tags of $open_ADDR/many-names: more than 64 MiB of names"
}

@test "tags prints each page as it arrives (page 2 waits until page 1 was seen)" {
	local release="$BATS_FILE_TMPDIR/release" pid deadline=$((SECONDS + 15))
	rm -f "$release" "$release.served"
	regship tags "$open_ADDR/stream" >"$T/out" 2>"$T/err" &
	pid=$!
	until grep -qx first "$T/out"; do
		if ((SECONDS >= deadline)) || [[ -e $release.served ]]; then
			touch "$release"
			wait "$pid" || true
			fail "page 1 was not printed before page 2 came: $(cat "$T/out" "$T/err")"
		fi
		sleep 0.05
	done
	[[ ! -e $release.served ]] || fail "page 2 was served before page 1 showed"
	touch "$release"
	wait "$pid"
	assert_equal "$(cat "$T/out")" "first
second"
}

@test "a redirect to file:// is refused by the same policy" {
	run regship manifest "$open_ADDR/redirect-file:v1"
	assert_failure 1
	assert_output_contains 'redirect Location from '"$open_ADDR"' uses the scheme "file"'
}

@test "an upload Location on file://, on plain HTTP elsewhere, or with user:pw@ is refused" {
	fixture oci-layout "$T/lay" --tag v1 --layers 1 --layer-size 1K --seed up >/dev/null
	run bounded 30 push oci:"$T/lay":v1 "$open_ADDR/upload-file:v1"
	assert_failure 1
	assert_output_contains 'upload Location from '"$open_ADDR"' uses the scheme "file"'
	run bounded 30 push oci:"$T/lay":v1 "$open_ADDR/upload-plain:v1"
	assert_failure 1
	assert_output_contains "upload Location from $open_ADDR points to plain HTTP on 192.0.2.1"
	run bounded 30 push oci:"$T/lay":v1 "$open_ADDR/upload-userinfo:v1"
	assert_failure 1
	assert_output_contains "upload Location from $open_ADDR carries a user name or password"
}

@test "a malformed Link header is shown escaped" {
	run regship tags "$open_ADDR/link-malformed"
	assert_failure 1
	assert_output_contains 'sent a malformed Link header: <\x1b[2Jhttp://x; rel="next"'
	[[ $output != *$'\e'* ]] || fail "raw ESC in the output"
	# the -v trace shows the header escaped too
	run regship -v tags "$open_ADDR/link-malformed"
	assert_failure 1
	assert_output_contains '< Link: <\x1b[2Jhttp://x; rel="next"'
	[[ $output != *$'\e'* ]] || fail "raw ESC in the -v trace"
}

@test "a redirect to itself ends after 10 hops" {
	run bounded 30 manifest "$open_ADDR/redirect-loop:v1"
	assert_failure 1
	assert_output_contains "more than 10 redirects from $open_ADDR"
}

@test "a token realm on file:// or with user:pw@ is refused before anything is sent there" {
	run as_alice tags "$bearer_ADDR/realm-file"
	assert_failure 1
	assert_output_contains 'token realm from '"$bearer_ADDR"' uses the scheme "file"'
	run as_alice tags "$bearer_ADDR/realm-userinfo"
	assert_failure 1
	assert_output_contains "token realm from $bearer_ADDR carries a user name or password"
}

# --- token servers ------------------------------------------------------------------------------

@test "token server answering HTML: named as the token server, not a manifest" {
	run as_alice manifest "$bearer_ADDR/tok-notjson:v1"
	assert_failure 1
	assert_output_contains "token server at http://$bearer_ADDR answered with something that is not a JSON object"
	assert_output_not_contains "Welcome"
}

@test "token server answering 2 MiB: 'answered with more than 1024 KiB', not a manifest size" {
	run as_alice manifest "$bearer_ADDR/tok-huge:v1"
	assert_failure 1
	assert_output_contains "token server at http://$bearer_ADDR answered with more than 1024 KiB"
	assert_output_not_contains "manifest"
}

@test "token server answering without a token" {
	run as_alice tags "$bearer_ADDR/tok-notoken"
	assert_failure 1
	assert_output_contains "token server at http://$bearer_ADDR answered without a token"
}

@test "a WWW-Authenticate header of 200 KiB: a clear message, not 'Out of memory'" {
	run as_alice tags "$bearer_ADDR/bigchallenge"
	assert_failure 1
	assert_output_contains "has a header line longer than 102400 bytes, more than curl accepts"
	assert_output_not_contains "Out of memory"
}

# --- Docker-Content-Digest ----------------------------------------------------------------------

@test "a wrong sha512 Docker-Content-Digest on GET by tag is refused" {
	run regship manifest "$open_ADDR/dig:sha512-bad"
	assert_failure 1
	assert_output_contains "the registry says its digest is sha512:abab"
	assert_output_contains "but the bytes received hash to sha512:"
}

@test "a right sha512 Docker-Content-Digest is accepted" {
	run regship manifest "$open_ADDR/dig:sha512-good"
	assert_success
	assert_output_contains '"schemaVersion"'
}

@test "a wrong sha256 Docker-Content-Digest is refused" {
	run regship manifest "$open_ADDR/dig:sha256-bad"
	assert_failure 1
	assert_output_contains "says its digest is sha256:cdcd"
}

@test "an md5 Docker-Content-Digest is refused: regship cannot verify it" {
	run regship manifest "$open_ADDR/dig:md5"
	assert_failure 1
	assert_output_contains 'Docker-Content-Digest "md5:'
	assert_output_contains "cannot verify (sha256 and sha512 are supported)"
}

@test "a Docker-Content-Digest with an escape sequence is shown escaped" {
	run regship manifest "$open_ADDR/dig:md5-esc"
	assert_failure 1
	assert_output_contains 'Docker-Content-Digest "md5:\x1b[31mred"'
	[[ $output != *$'\e'* ]] || fail "raw ESC in the output"
}

@test "a malformed Docker-Content-Digest is refused" {
	run regship manifest "$open_ADDR/dig:malformed"
	assert_failure 1
	assert_output_contains 'malformed Docker-Content-Digest "sha256:xyz"'
}

# --- not a registry -----------------------------------------------------------------------------

@test "a plain web server: 'is not a container registry', exit 1 (tags, manifest, catalog)" {
	run regship tags "$web_ADDR/team/app"
	assert_failure 1
	assert_output_equals "regship: $web_ADDR is not a container registry (GET /v2/ answered 404)"
	run regship manifest "$web_ADDR/team/app:v1"
	assert_failure 1
	assert_output_equals "regship: $web_ADDR is not a container registry (GET /v2/ answered 404)"
	run regship catalog "$web_ADDR"
	assert_failure 1
	assert_output_equals "regship: $web_ADDR is not a container registry (GET /v2/ answered 404)"
}

# --- strings from servers -----------------------------------------------------------------------

@test "tag names with control characters are printed escaped, one line each" {
	run regship tags "$open_ADDR/evil"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 8 "lines printed"
	assert_output_equals 'ok
evil\nforged
\x1b[31mred\x1b[0m
back\\slash
bell\x07
c1\u009b2J
bidi\u202egnp.exe
cr\rover'
}

@test "tags --json with control characters stays valid JSON with the exact names" {
	run regship tags --json "$open_ADDR/evil"
	assert_success
	[[ $output != *$'\e'* ]] || fail "raw ESC in the JSON"
	run json 'd["tags"] == ["ok", "evil\nforged", "\x1b[31mred\x1b[0m", "back\\slash", "bell\x07", "c1\u009b2J", "bidi\u202egnp.exe", "cr\rover"]' <<<"$output"
	assert_success
	assert_output_equals "true"
}

@test "catalog names with control characters: escaped, and exact in --json" {
	run regship catalog "$open_ADDR"
	assert_success
	assert_output_equals 'team/ok
team/evil\nforged
team/\x1b]0;pwned\x07title'
	run regship catalog --json "$open_ADDR"
	assert_success
	run json 'd["repositories"] == ["team/ok", "team/evil\nforged", "team/\x1b]0;pwned\x07title"]' <<<"$output"
	assert_output_equals "true"
}

@test "an error message with escape sequences and newlines is one escaped line" {
	run regship tags "$open_ADDR/errmsg"
	assert_failure 3
	assert_equal "$(printf '%s\n' "$output" | wc -l)" 1 "lines printed"
	assert_output_contains 'NAME_UNKNOWN: no such\n\x1b[2Jrepository (name: \x1b]0;pwned\x07)'
	[[ $output != *$'\e'* ]] || fail "raw ESC in the message"
}
