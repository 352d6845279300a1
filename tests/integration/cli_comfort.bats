#!/usr/bin/env bats
# Command-line comfort: aliases, "did you mean", the verb's own usage in errors, -h pointing at
# the global options, --ca-cert checked at start, messages for missing push sources, catalog with
# a path and references written as URLs, --json for catalog/login/logout, and the progress display
# on a terminal (under a pty from script(1)) and with TERM=dumb / NO_COLOR.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	reg_start plain plain
	reg_start htpasswd basic
	local d=$BATS_FILE_TMPDIR
	fixture seed "$plain_URL" comfort/img --tag v1 --seed comfort >"$d/plain.fixture"
	# two images (distinct content) under two tags of one layout, for --all-tags
	fixture oci-layout "$d/two" --tag a --seed comfort-a --layers 3 >/dev/null
	fixture oci-layout "$d/two" --tag b --seed comfort-b --layers 3 >/dev/null
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	D=$BATS_FILE_TMPDIR
}

@test "aliases: ls = tags, cp = copy, delete = rm, version; help and aliases listed in -h" {
	run --separate-stderr regship ls "$plain_ADDR/comfort/img"
	assert_success
	assert_output_equals "v1"
	run --separate-stderr regship version
	assert_success
	assert_output_equals "$(regship --version)"
	run regship delete -h
	assert_success
	assert_output_contains "usage: regship rm"
	run regship cp --preserve-digests "$plain_ADDR/comfort/img:v1" "oci:$BATS_TEST_TMPDIR/lay:v1"
	assert_success
	assert_output_contains "@$(fixture_digest plain comfort/img:v1)"
	run regship -h
	assert_output_contains "    help [COMMAND] "
	assert_output_contains "    version  "
	assert_output_contains "ls = tags"
	run regship help ls
	assert_success
	assert_output_contains "usage: regship tags"
}

@test "a mistyped command suggests the closest one; nothing close: no suggestion" {
	run --separate-stderr regship tagz x
	assert_status 2
	[[ $stderr == *"did you mean 'tags'?"* ]] || fail "$stderr"
	run --separate-stderr regship inspetc x
	[[ $stderr == *"did you mean 'inspect'?"* ]] || fail "$stderr"
	run --separate-stderr regship lgoin x
	[[ $stderr == *"did you mean 'login'?"* ]] || fail "$stderr"
	run --separate-stderr regship help retga
	assert_status 2
	[[ $stderr == *"did you mean 'retag'?"* ]] || fail "$stderr"
	run --separate-stderr regship zzzzzzzz
	assert_status 2
	[[ $stderr != *"did you mean"* ]] || fail "$stderr"
}

@test "usage errors name the verb's own help, not a literal <command>; -h points at the global options" {
	local v
	for v in tags copy push inspect blob catalog login; do
		run --separate-stderr regship $v --bogus-option
		assert_status 2
		[[ $stderr == *"try 'regship $v -h'"* ]] || fail "regship $v: $stderr"
		[[ $stderr != *"<command>"* ]] || fail "regship $v: $stderr"
	done
	run --separate-stderr regship tags -h
	assert_success
	assert_output_contains "--json"
	assert_output_contains "global options"
	assert_output_contains "'regship -h'"
	# the global options are not repeated in a verb's help
	assert_output_not_contains "--password-stdin"
	run --separate-stderr regship -h
	assert_output_contains "--password-stdin"
	# empty names are usage errors naming the option, before any request or prompt
	for v in tags login; do
		run --separate-stderr regship -u '' $v "$plain_ADDR/comfort/img" </dev/null
		assert_status 2
		[[ $stderr == *"-u/--username: empty user name"* ]] || fail "regship $v: $stderr"
	done
	run --separate-stderr regship push --mount-from '' "oci:$BATS_TEST_TMPDIR/none:1" \
		"$plain_ADDR/comfort/m:1"
	assert_status 2
	[[ $stderr == *"--mount-from: empty repository name"* ]] || fail "push: $stderr"
}

@test "--ca-cert: a missing file or one without a PEM certificate is exit 2 at start, naming the file" {
	run --separate-stderr regship --ca-cert "$BATS_TEST_TMPDIR/none.pem" tags "$plain_ADDR/comfort/img"
	assert_status 2
	[[ $stderr == *"$BATS_TEST_TMPDIR/none.pem"* ]] || fail "$stderr"
	echo "not a certificate" >"$BATS_TEST_TMPDIR/junk.pem"
	run --separate-stderr regship tags "$plain_ADDR/comfort/img" --ca-cert "$BATS_TEST_TMPDIR/junk.pem"
	assert_status 2
	[[ $stderr == *"junk.pem"* && $stderr == *"PEM"* ]] || fail "$stderr"
	run --separate-stderr regship --ca-cert "$BATS_TEST_TMPDIR" tags "$plain_ADDR/comfort/img"
	assert_status 2
	# login checks it too, before asking anything
	run --separate-stderr regship login --ca-cert "$BATS_TEST_TMPDIR/junk.pem" -u x --password-stdin "$plain_ADDR" <<<pw
	assert_status 2
	[[ $stderr == *"junk.pem"* ]] || fail "$stderr"
	# a real PEM file is accepted
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$BATS_TEST_TMPDIR/k" -out "$BATS_TEST_TMPDIR/ok.pem" \
		-subj /CN=x -days 1 2>/dev/null || skip "openssl cannot make a certificate"
	run --separate-stderr regship --ca-cert "$BATS_TEST_TMPDIR/ok.pem" tags "$plain_ADDR/comfort/img"
	assert_success
}

@test "push of a missing source says it is missing, without pull's advice" {
	local s
	for s in "$BATS_TEST_TMPDIR/nope.tar" "./nodir/" "docker-archive:$BATS_TEST_TMPDIR/nope.tar" \
		"oci:$BATS_TEST_TMPDIR/nodir"; do
		run --separate-stderr regship push "$s" "$plain_ADDR/comfort/x:1"
		assert_status 2
		[[ $stderr == *"no such"* && $stderr != *"to create one"* ]] || fail "push $s: $stderr"
	done
}

@test "catalog refuses host/path; docker:// registries accepted; URL references say what to write" {
	run --separate-stderr regship catalog "$plain_ADDR/comfort"
	assert_status 2
	[[ $stderr == *"regship tags $plain_ADDR/comfort"* ]] || fail "$stderr"
	run --separate-stderr regship catalog "docker://$plain_ADDR"
	assert_success
	assert_output_contains "comfort/img"
	run --separate-stderr regship catalog --json "$plain_ADDR"
	assert_success
	assert_equal "$(json 'd["registry"]' <<<"$output")" "$plain_ADDR"
	run --separate-stderr regship tags "docker://$plain_ADDR/comfort/img"
	assert_success
	local v
	for v in tags inspect digest; do
		run --separate-stderr regship $v "http://$plain_ADDR/comfort/img"
		assert_status 2
		[[ $stderr == *"without \"http://\""* && $stderr == *"($plain_ADDR/comfort/img)"* ]] ||
			fail "$v: $stderr"
	done
}

@test "a local image given to a verb that needs a registry: a usage error saying so" {
	local v ref
	local -a run=()
	for v in tags manifest rm untag referrers ratelimit prune retag oci-archive docker-archive; do
		ref="oci:$BATS_TEST_TMPDIR/lay:v1"
		case $v in
		prune) run=(prune --keep 1 "$ref") ;;
		retag) run=(retag "$ref" other) ;;
		oci-archive) ref="oci-archive:$BATS_TEST_TMPDIR/a.tar" run=(tags "$ref") ;;
		docker-archive) ref="docker-archive:$BATS_TEST_TMPDIR/d.tar:app:v1" run=(tags "$ref") ;;
		*) run=("$v" "$ref") ;;
		esac
		run --separate-stderr regship "${run[@]}"
		assert_status 2
		[[ $stderr == *"\"$ref\" is a local image (${ref%%:*}:): this command works with registries only"* ]] ||
			fail "${run[*]}: $stderr"
		[[ $stderr != *"port number"* ]] || fail "${run[*]}: $stderr"
	done
}

@test "login and logout --json" {
	run --separate-stderr regship login --json -u "$basic_USER" --password-stdin "$basic_ADDR" <<<"$basic_PASS"
	assert_success
	assert_equal "$(json 'd' <<<"$output")" \
		"{\"registry\": \"$basic_ADDR\", \"username\": \"$basic_USER\", \"logged_in\": true}"
	run --separate-stderr regship logout --json "docker://$basic_ADDR"
	assert_success
	assert_equal "$(json 'd["removed"]' <<<"$output")" true
	run --separate-stderr regship logout --json "$basic_ADDR"
	assert_success
	assert_equal "$(json 'd["removed"]' <<<"$output")" false
	run --separate-stderr regship login --json -u "$basic_USER" --password-stdin "$basic_ADDR" <<<wrong
	assert_status 4
	assert_equal "$output" ""
}

# on_pty ENV... -- ARGS...: run regship under a pseudo-terminal (script), as the regship wrapper
# does (isolated HOME), with the ENV assignments; the terminal's bytes go to $output
on_pty() {
	local -a envs=()
	while [[ $1 != -- ]]; do
		envs+=("$1")
		shift
	done
	shift
	local home=$D/home
	mkdir -p "$home/.docker"
	run script -qec "$(printf '%q ' env -u NO_COLOR HOME="$home" DOCKER_CONFIG="$home/.docker" \
		XDG_CACHE_HOME="$home/.cache" "${envs[@]}" "$REGSHIP" "$@")" /dev/null
}

# screen: what a terminal shows after the bytes on stdin (\r, \n, ESC[nA, ESC[2K, ESC[K)
screen() {
	"$HARNESS_PY" -c '
import re, sys
data = sys.stdin.read().replace("\r\n", "\n")
lines, row, col = [""], 0, 0
for tok in re.findall(r"\x1b\[[0-9]*[A-Za-z]|\r|\n|[^\x1b\r\n]+", data):
    if tok == "\n":
        row += 1; col = 0
        if row == len(lines): lines.append("")
    elif tok == "\r":
        col = 0
    elif tok.startswith("\x1b["):
        n = int(tok[2:-1] or 1)
        if tok[-1] == "A": row = max(0, row - n)
        elif tok[-1] == "K": lines[row] = lines[row][:col] if tok[2:-1] != "2" else ""
    else:
        l = lines[row]
        lines[row] = l[:col] + tok + l[col + len(tok):]
        col += len(tok)
print("\n".join(lines))'
}

@test "on a terminal the progress display never overwrites the <reference>@<digest> lines" {
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	on_pty TERM=xterm -- push --all-tags "oci:$D/two" "$plain_ADDR/comfort/two"
	assert_success
	[[ $output == *$'\e['* ]] || fail "no redrawn display on a terminal: $output"
	local shown a b
	shown=$(screen <<<"$output")
	a=$(regship digest "$plain_ADDR/comfort/two:a")
	b=$(regship digest "$plain_ADDR/comfort/two:b")
	[[ $shown == *"$plain_ADDR/comfort/two:a@$a"* ]] || fail "the line for a was erased: $shown"
	[[ $shown == *"$plain_ADDR/comfort/two:b@$b"* ]] || fail "the line for b was erased: $shown"
}

@test "TERM=dumb and NO_COLOR: no escape sequences on a terminal; plain lines name the image" {
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	on_pty TERM=dumb -- push --all-tags "oci:$D/two" "$plain_ADDR/comfort/dumb"
	assert_success
	[[ $output != *$'\e'* ]] || fail "escape sequences with TERM=dumb: $(cat -v <<<"$output")"
	assert_output_contains "regship: a: sha256:"
	assert_output_contains "regship: b: sha256:"
	on_pty TERM=xterm NO_COLOR=1 -- push --all-tags "oci:$D/two" "$plain_ADDR/comfort/nocolor"
	assert_success
	[[ $output != *$'\e'* ]] || fail "escape sequences with NO_COLOR: $(cat -v <<<"$output")"
	assert_output_contains "comfort/nocolor:b@"
}
