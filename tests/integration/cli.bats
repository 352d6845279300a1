#!/usr/bin/env bats
# Command line: exit codes and messages, help and version, global options before and after the
# command, and the man pages' SYNOPSIS against `regship <verb> -h` (git's t0450 check).

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	reg_start plain plain
	reg_start htpasswd basic
	fixture seed "$plain_URL" cli/img --tag v1 --tag v2 --seed cli >"$BATS_FILE_TMPDIR/plain.fixture"
	fixture seed "$plain_URL" cli/multi --tag m --format oci --platform linux/amd64 \
		--platform linux/arm64 --seed cli-multi >>"$BATS_FILE_TMPDIR/plain.fixture"
	fixture seed "$basic_URL" cli/img --tag v1 --seed cli-basic --user "$basic_USER:$basic_PASS" \
		>"$BATS_FILE_TMPDIR/basic.fixture"
	# `regship -h` and every `regship VERB -h` once for the file (HELP/VERB, its exit status in
	# HELP/VERB.rc): four tests read them, ~100 regship start-ups fewer under ASan
	local h="$BATS_FILE_TMPDIR/help" v
	mkdir -p "$h"
	regship -h >"$h/regship" || return 1
	awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' "$h/regship" >"$h/verbs"
	for v in $(<"$h/verbs"); do
		local rc=0
		regship "$v" -h >"$h/$v" || rc=$?
		echo "$rc" >"$h/$v.rc"
	done
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	MAN_DIR="$REGSHIP_SRC/man"
	HELP="$BATS_FILE_TMPDIR/help"
}

# the commands `regship -h` lists (setup_file ran it)
verbs() {
	cat "$HELP/verbs"
}

@test "--version prints the version and exits 0" {
	run --separate-stderr regship --version
	assert_success
	assert_output_matches '^regship [0-9]+\.[0-9]+\.[0-9]+'
	[[ ${#lines[@]} -eq 1 ]]
	assert_equal "$stderr" ""
	# the man pages are for the same version
	grep -q "\"regship ${output#regship }\"" "$MAN_DIR/regship.1" ||
		fail "man/regship.1 .TH does not name $output"
	# the version command: the same line, --json as an object, anything else a usage error
	local line=$output
	run --separate-stderr regship version
	assert_success
	assert_output_equals "$line"
	run --separate-stderr regship version --json
	assert_success
	assert_equal "$(json "d['version']" <<<"$output")" "${line#regship }"
	run --separate-stderr regship version --jsn
	assert_status 2
	[[ $stderr == *"unexpected argument '--jsn'"* ]] || fail "stderr: $stderr"
}

@test "-h lists the commands and the exit codes; help VERB equals VERB -h for every command" {
	run --separate-stderr regship -h
	assert_success
	assert_output_contains "usage: regship "
	assert_output_contains "4 authentication or permission denied"
	local v n=0
	for v in $(verbs); do
		n=$((n + 1))
		[[ $(<"$HELP/$v.rc") -eq 0 ]] || fail "regship $v -h failed"
		cp "$HELP/$v" "$BATS_TEST_TMPDIR/h1"
		regship help "$v" >"$BATS_TEST_TMPDIR/h2" || fail "regship help $v failed"
		regship "$v" --help >"$BATS_TEST_TMPDIR/h3" || fail "regship $v --help failed"
		diff -u "$BATS_TEST_TMPDIR/h1" "$BATS_TEST_TMPDIR/h2"
		diff -u "$BATS_TEST_TMPDIR/h1" "$BATS_TEST_TMPDIR/h3"
		head -n1 "$BATS_TEST_TMPDIR/h1" | grep -q "^usage: regship $v" ||
			fail "regship $v -h does not start with its usage" "$(cat "$BATS_TEST_TMPDIR/h1")"
	done
	for v in tags manifest digest catalog rm login logout; do
		[[ " $(verbs | tr '\n' ' ') " == *" $v "* ]] || fail "regship -h does not list $v"
	done
	[[ $n -ge 7 ]]
	# help for an unknown command is a usage error
	run regship help frobnicate
	assert_status 2
	assert_output_contains "frobnicate"
}

@test "invalid references are exit 2 with a message naming the problem" {
	run --separate-stderr regship tags Gallery/UI
	assert_status 2
	assert_equal "$output" ""
	[[ $stderr == *"repository name must be lowercase"* && $stderr == *"Gallery/UI"* ]] ||
		fail "unexpected message: $stderr"
	run regship tags "$plain_ADDR/cli/img:v1"
	assert_status 2
	assert_output_contains "cli/img:v1"
	run regship manifest "$plain_ADDR/cli/img@sha256:1234"
	assert_status 2
	assert_output_contains "sha256:1234"
	run regship digest "$plain_ADDR/Cli/img:v1"
	assert_status 2
	assert_output_contains "lowercase"
	run regship rm "$plain_ADDR/cli/img:bad tag"
	assert_status 2
	run regship manifest "$plain_ADDR/cli/img:$(printf 'x%.0s' {1..129})"
	assert_status 2
}

@test "usage errors are exit 2: unknown option, missing or extra argument, unknown command" {
	run --separate-stderr regship tags --bogus "$plain_ADDR/cli/img"
	assert_status 2
	[[ $stderr == *"--bogus"* && $stderr == *"usage: regship tags"* ]] || fail "$stderr"
	run --separate-stderr regship --bogus tags "$plain_ADDR/cli/img"
	assert_status 2
	[[ $stderr == *"--bogus"* ]] || fail "$stderr"
	local v
	for v in tags manifest digest catalog rm logout; do
		run --separate-stderr regship $v
		assert_status 2
		[[ $stderr == *"missing"* && $stderr == *"usage: regship $v"* ]] || fail "regship $v: $stderr"
		run regship $v a b
		assert_status 2
		assert_output_contains "too many arguments"
	done
	run --separate-stderr regship frobnicate
	assert_status 2
	[[ $stderr == *'unknown command "frobnicate"'* ]] || fail "$stderr"
	run regship
	assert_status 2
	# an option that needs a value, without one
	run regship manifest "$plain_ADDR/cli/multi:m" --platform
	assert_status 2
	assert_output_contains "--platform"
	run regship tags "$plain_ADDR/cli/img" --ca-cert
	assert_status 2
	assert_output_contains "--ca-cert"
}

@test "not found is exit 3, authentication is exit 4, a connection failure is exit 1" {
	run --separate-stderr regship tags "$plain_ADDR/cli/nope"
	assert_status 3
	[[ $stderr == *"cli/nope"* ]] || fail "$stderr"
	run regship manifest "$plain_ADDR/cli/img:nope"
	assert_status 3
	run regship digest "$plain_ADDR/cli/img:nope"
	assert_status 3
	run regship rm "$plain_ADDR/cli/img:nope"
	assert_status 3
	run regship tags "$basic_ADDR/cli/img"
	assert_status 4
	run regship digest -u "$basic_USER" --password-stdin "$basic_ADDR/cli/img:v1" <<<wrong
	assert_status 4
	# a closed port on loopback
	local port
	port=$("$HARNESS_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	run regship tags "127.0.0.1:$port/cli/img"
	assert_status 1
	assert_output_contains "127.0.0.1:$port"
}

@test "global options are accepted before and after the command" {
	local a=$plain_ADDR
	run --separate-stderr regship -q tags "$a/cli/img"
	assert_success
	local before=$output
	assert_equal "$(sort <<<"$before")" $'v1\nv2'
	run --separate-stderr regship tags "$a/cli/img" -q
	assert_success
	assert_equal "$output" "$before"
	run --separate-stderr regship tags -q "$a/cli/img"
	assert_equal "$output" "$before"
	# -q silences warnings, wherever it is: --platform on a single-platform manifest warns
	run --separate-stderr regship manifest --platform linux/amd64 "$a/cli/img:v1"
	assert_success
	[[ -n $stderr ]] || fail "expected a warning without -q"
	run --separate-stderr regship -q manifest --platform linux/amd64 "$a/cli/img:v1"
	assert_success
	assert_equal "$stderr" "" "-q before the command"
	run --separate-stderr regship manifest --platform linux/amd64 "$a/cli/img:v1" --quiet
	assert_success
	assert_equal "$stderr" "" "--quiet after the command"
	assert_equal "$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" "$(fixture_digest plain cli/img:v1 | cut -d: -f2)"
	# -v before and after: a trace on stderr either way
	run --separate-stderr regship -v digest "$a/cli/img:v1"
	assert_output_equals "$(fixture_digest plain cli/img:v1)"
	[[ $stderr == *"HEAD /v2/cli/img/manifests/v1"* ]] || fail "no trace with -v first: $stderr"
	run --separate-stderr regship digest "$a/cli/img:v1" --verbose
	assert_output_equals "$(fixture_digest plain cli/img:v1)"
	[[ $stderr == *"HEAD /v2/cli/img/manifests/v1"* ]] || fail "no trace with --verbose last: $stderr"
	# -u/--password-stdin before and after
	run regship -u "$basic_USER" --password-stdin digest "$basic_ADDR/cli/img:v1" <<<"$basic_PASS"
	assert_output_equals "$(fixture_digest basic cli/img:v1)"
	run regship digest "$basic_ADDR/cli/img:v1" -u "$basic_USER" --password-stdin <<<"$basic_PASS"
	assert_output_equals "$(fixture_digest basic cli/img:v1)"
	# -h after the command's arguments still shows the command's help
	run regship tags "$a/cli/img" -h
	assert_success
	assert_output_contains "usage: regship tags"
}

# synopsis FILE: the SYNOPSIS block of a man page (between .SH SYNOPSIS and the next .SH), minus
# .nf/.fi, with \- as -
synopsis() {
	awk '/^\.SH / { on = ($2 == "SYNOPSIS"); next } on && !/^\.(nf|fi)$/ { print }' "$1" |
		sed 's/\\-/-/g'
}

# usage_lines VERB: the usage lines of `regship VERB -h`, without "usage: " / "   or: "
usage_lines() {
	awk '
		NR == 1 && sub(/^usage: /, "") { print; next }
		NR > 1 && sub(/^   or: /, "") { print; next }
		{ exit }' "$HELP/$1"
}

@test "each man/regship-VERB.1 SYNOPSIS equals the usage lines of regship VERB -h" {
	local page verb n=0
	for page in "$MAN_DIR"/regship-*.1; do
		verb=${page##*/regship-}
		verb=${verb%.1}
		n=$((n + 1))
		synopsis "$page" >"$BATS_TEST_TMPDIR/man.txt"
		usage_lines "$verb" >"$BATS_TEST_TMPDIR/help.txt"
		[[ -s $BATS_TEST_TMPDIR/help.txt ]] || fail "regship $verb -h has no usage line"
		diff -u "$BATS_TEST_TMPDIR/man.txt" "$BATS_TEST_TMPDIR/help.txt" ||
			fail "SYNOPSIS of ${page##*/} differs from regship $verb -h"
	done
	[[ $n -ge 7 ]]
}

@test "every command in regship -h has a man page, listed in regship(1)" {
	local v missing=()
	for v in $(verbs); do
		[[ -f $MAN_DIR/regship-$v.1 ]] || missing+=("$v")
		grep -q "^\.BR regship-$v (1)" "$MAN_DIR/regship.1" || missing+=("$v (not in regship.1)")
	done
	[[ ${#missing[@]} -eq 0 ]] || fail "commands without a man page: ${missing[*]}"
	# regship(1)'s SEE ALSO names every page too
	awk '/^\.SH / { on = ($2 == "SEE") } on' "$MAN_DIR/regship.1" >"$BATS_TEST_TMPDIR/seealso"
	for v in $(verbs); do
		grep -q "^\.BR regship-$v (1)" "$BATS_TEST_TMPDIR/seealso" || missing+=("$v")
	done
	[[ ${#missing[@]} -eq 0 ]] || fail "not in the SEE ALSO of regship(1): ${missing[*]}"
	# and no man page for a command that does not exist
	local page
	for page in "$MAN_DIR"/regship-*.1; do
		v=${page##*/regship-}
		v=${v%.1}
		[[ " $(verbs | tr '\n' ' ') " == *" $v "* ]] || fail "man page for unknown command $v"
	done
}

# options VERB: the long options `regship VERB -h` lists as its own (not the global ones)
options() {
	awk '/^options:/ { on = 1; next } on && /^global options/ { exit } on' "$HELP/$1" |
		grep -oE '^ +(-[a-zA-Z], )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+'
}

@test "every command's own options are in its man page; -h points at the global ones; README names it" {
	local v o n=0 missing=()
	for v in $(verbs); do
		sed 's/\\-/-/g' "$MAN_DIR/regship-$v.1" >"$BATS_TEST_TMPDIR/man.txt"
		for o in $(options "$v"); do
			n=$((n + 1))
			grep -qE -- "$o([^a-z0-9-]|\$)" "$BATS_TEST_TMPDIR/man.txt" || missing+=("regship-$v.1: $o")
		done
		grep -q "^global options (.*): see 'regship -h'$" "$HELP/$v" ||
			missing+=("regship $v -h: no line pointing at the global options")
		grep -qE '(regship |`)'"$v"'([^a-z-]|$)|^### .*\b'"$v"'\b' "$REGSHIP_SRC/README.md" ||
			missing+=("README.md: $v")
	done
	[[ ${#missing[@]} -eq 0 ]] || fail "$(printf '%s\n' "${missing[@]}")"
	# the options were found at all (copy alone has more than ten)
	[[ $n -ge 40 ]] || fail "only $n options found in the commands' -h"
}
