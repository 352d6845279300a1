#!/usr/bin/env bats
# Shell completion: `regship completion bash|zsh|fish` prints the scripts of completions/ (which
# cmake --install installs); the bash script, sourced in bash, completes verbs, options,
# transports, local paths and the tags of the repository being typed (from the registry, bounded
# in time, never prompting).

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	reg_start plain plain
	reg_start htpasswd basic
	fixture seed "$plain_URL" compl/app --tag v1.0 --tag v1.1 --tag latest --seed compl >/dev/null
	fixture seed "$basic_URL" compl/app --tag secret --seed compl-b --user "$basic_USER:$basic_PASS" >/dev/null
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	# a directory on PATH whose `regship` is the wrapper's environment around the binary
	BIN=$BATS_TEST_TMPDIR/bin
	mkdir -p "$BIN" "$BATS_TEST_TMPDIR/home/.docker"
	cat >"$BIN/regship" <<SH
#!/bin/sh
exec env HOME="$BATS_TEST_TMPDIR/home" DOCKER_CONFIG="$BATS_TEST_TMPDIR/home/.docker" "$REGSHIP" "\$@"
SH
	chmod +x "$BIN/regship"
}

# complete LINE: source the bash script, complete LINE (cursor at its end) like bash does, print
# COMPREPLY one per line
complete_line() {
	PATH="$BIN:$PATH" LINE="$1" SCRIPT="$REGSHIP_SRC/completions/regship.bash" bash -c '
		source "$SCRIPT"
		COMP_LINE=$LINE
		COMP_POINT=${#LINE}
		# the word list bash would give the function (split at blanks and at COMP_WORDBREAKS)
		read -ra COMP_WORDS <<<"$LINE"
		[[ $LINE == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_regship regship "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"'
}

@test "completion prints the scripts of completions/; an unknown shell is exit 2" {
	local sh
	for sh in bash zsh fish; do
		regship completion $sh >"$BATS_TEST_TMPDIR/$sh"
		cmp "$BATS_TEST_TMPDIR/$sh" "$REGSHIP_SRC/completions/regship.$sh" ||
			fail "regship completion $sh differs from completions/regship.$sh"
	done
	bash -n "$BATS_TEST_TMPDIR/bash"
	run regship completion tcsh
	assert_status 2
	assert_output_contains "tcsh"
}

@test "cmake --install puts the scripts in the standard directories" {
	[[ -n ${REGSHIP_BUILD:-} && -f $REGSHIP_BUILD/cmake_install.cmake ]] || skip "no build directory (REGSHIP_BUILD)"
	cmake --install "$REGSHIP_BUILD" --prefix "$BATS_TEST_TMPDIR/inst" --component Unspecified >/dev/null
	cmp "$BATS_TEST_TMPDIR/inst/share/bash-completion/completions/regship" "$REGSHIP_SRC/completions/regship.bash"
	cmp "$BATS_TEST_TMPDIR/inst/share/zsh/site-functions/_regship" "$REGSHIP_SRC/completions/regship.zsh"
	cmp "$BATS_TEST_TMPDIR/inst/share/fish/vendor_completions.d/regship.fish" "$REGSHIP_SRC/completions/regship.fish"
}

@test "bash: verbs and aliases" {
	run complete_line "regship ta"
	assert_success
	assert_output_equals "tags"
	run complete_line "regship "
	assert_output_contains "inspect"
	assert_output_contains "completion"
	run complete_line "regship -v ins"
	assert_output_equals "inspect"
	run complete_line "regship completion "
	assert_output_equals $'bash\nfish\nzsh'
	# the commands added with this release
	run complete_line "regship "
	assert_output_contains "referrers"
	assert_output_contains "sync"
	assert_output_contains "check-base"
	run complete_line "regship refe"
	assert_output_equals "referrers"
	run complete_line "regship sy"
	assert_output_equals "sync"
	run complete_line "regship check"
	assert_output_equals "check-base"
}

@test "bash: the options added with this release" {
	run complete_line "regship copy --src-"
	assert_output_equals $'--src-creds\n--src-password-stdin'
	run complete_line "regship sync --dest-p"
	assert_output_equals "--dest-password-stdin"
	run complete_line "regship copy --ref"
	assert_output_equals "--referrers"
	run complete_line "regship digest --fo"
	assert_output_equals "--format"
	run complete_line "regship rm --js"
	assert_output_equals "--json"
	run complete_line "regship referrers --ar"
	assert_output_equals "--artifact-type"
	run complete_line "regship check-base --pl"
	assert_output_equals "--platform"
}

@test "bash: the verb's own options and the global ones" {
	run complete_line "regship push --al"
	assert_output_equals "--all-tags"
	run complete_line "regship inspect --pl"
	assert_output_equals "--platform"
	run complete_line "regship tags --ca"
	assert_output_equals "--ca-cert"
}

@test "bash: transports and local paths, with the part bash replaces after a colon" {
	mkdir -p "$BATS_TEST_TMPDIR/work/layout dir" "$BATS_TEST_TMPDIR/work/lay2"
	: >"$BATS_TEST_TMPDIR/work/image.tar"
	cd "$BATS_TEST_TMPDIR/work"
	run complete_line "regship push oci-a"
	assert_output_equals "oci-archive:"
	run complete_line "regship push ima"
	assert_output_equals "image.tar"
	# after "oci:" bash replaces only what follows the colon
	run complete_line "regship push oci:lay"
	assert_output_equals $'lay2/\nlayout dir/' || assert_output_equals $'layout dir/\nlay2/'
}

@test "bash: tags of the repository being typed, from the registry" {
	run complete_line "regship inspect $plain_ADDR/compl/app:v1"
	assert_success
	# bash replaces what follows the last colon: the tags themselves
	[[ $(sort <<<"$output" | tr '\n' ' ') == "v1.0 v1.1 " ]] || fail "got: $output"
	run complete_line "regship pull $plain_ADDR/compl/app:"
	[[ $(sort <<<"$output" | tr '\n' ' ') == "latest v1.0 v1.1 " ]] || fail "got: $output"
}

@test "tag completion never prompts and gives up quickly on a registry that needs a login or is gone" {
	# stdin is a terminal-less pipe that would block a prompt; the answer is nothing, at once
	run --separate-stderr timeout 20 env PATH="$BIN:$PATH" regship __complete tags "$basic_ADDR/compl/app:" </dev/null
	assert_success
	assert_output_equals ""
	local port
	port=$("$HARNESS_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	run --separate-stderr timeout 20 "$BIN/regship" __complete tags "127.0.0.1:$port/x:"
	assert_success
	assert_output_equals ""
	# __complete is not a listed command
	run regship -h
	assert_output_not_contains "__complete"
}

# zsh_complete LINE...: in a real interactive zsh (under zsh/zpty, compinit loading
# completions/regship.zsh as _regship), type each LINE, press TAB, then run the completed line
# as `res WORDS...`; prints "N:word|word|..." per LINE (N words after shell unquoting).
zsh_complete() {
	command -v zsh >/dev/null || skip "zsh is not installed (scripts/deps installs it)"
	local fdir=$BATS_TEST_TMPDIR/zfunc
	mkdir -p "$fdir" "$BATS_TEST_TMPDIR/zhome"
	cp "$REGSHIP_SRC/completions/regship.zsh" "$fdir/_regship"
	PATH="$BIN:$PATH" FDIR=$fdir ZHOME=$BATS_TEST_TMPDIR/zhome timeout 60 zsh -f -c '
		zmodload zsh/zpty || exit 3
		zpty z "env -i PATH=$PATH HOME=$ZHOME TERM=dumb zsh -f -i"
		zpty -w z "PS1=\"> \"; fpath=($FDIR \$fpath); autoload -Uz compinit; compinit -u -D; unsetopt beep; res() { print -r -- \"RESULT:\$#:\${(j:|:)@}\" }; print -r READY\"\"1"
		zpty -r z out "*READY1*"
		for line in "$@"; do
			zpty -w -n z "$line"$'"'"'\t\C-ares \n'"'"'
			zpty -r z out $'"'"'*\nRESULT:*\n'"'"'
			out=${out##*$'"'"'\n'"'"'RESULT:}
			print -r -- "${out%%[$'"'"'\r\n'"'"']*}"
		done
		zpty -d z' zsh "$@"
}

@test "zsh: verbs, options, transports, paths with blanks and registry tags, in a real zsh" {
	mkdir -p "$BATS_TEST_TMPDIR/work/layout dir" "$BATS_TEST_TMPDIR/work/image.d"
	cd "$BATS_TEST_TMPDIR/work"
	run zsh_complete "regship insp" "regship check-b" "regship inspect --pla" "regship push oci-a" \
		"regship push oci:lay" "regship push lay" "regship inspect $plain_ADDR/compl/app:la" \
		"regship completion fi"
	assert_success
	assert_equal "${lines[0]}" "2:regship|inspect"
	assert_equal "${lines[1]}" "2:regship|check-base"
	assert_equal "${lines[2]}" "3:regship|inspect|--platform"
	assert_equal "${lines[3]}" "3:regship|push|oci-archive:"
	# a directory with a blank: quoted on the command line, one word for the shell
	assert_equal "${lines[4]}" "3:regship|push|oci:layout dir/"
	assert_equal "${lines[5]}" "3:regship|push|layout dir/"
	assert_equal "${lines[6]}" "3:regship|inspect|$plain_ADDR/compl/app:latest"
	assert_equal "${lines[7]}" "3:regship|completion|fish"
}

# fish_complete LINE: fish's own candidates for LINE (complete -C), the script loaded from
# `regship completion fish`; one a line, descriptions cut off.
fish_complete() {
	command -v fish >/dev/null || skip "fish is not installed (scripts/deps installs it)"
	PATH="$BIN:$PATH" LINE="$1" timeout 60 fish --no-config -c \
		'regship completion fish | source; complete -C "$LINE"' | cut -f1
}

@test "fish: verbs, options, transports, paths with blanks and registry tags, in fish" {
	mkdir -p "$BATS_TEST_TMPDIR/work/layout dir" "$BATS_TEST_TMPDIR/work/lay2"
	cd "$BATS_TEST_TMPDIR/work"
	run fish_complete "regship ta"
	assert_output_equals "tags"
	run fish_complete "regship check"
	assert_output_equals "check-base"
	run fish_complete "regship refe"
	assert_output_equals "referrers"
	run fish_complete "regship copy --src-c"
	assert_output_equals "--src-creds"
	run fish_complete "regship -v ins"
	assert_output_equals "inspect"
	run fish_complete "regship inspect --pl"
	assert_output_equals "--platform"
	run fish_complete "regship push oci-a"
	assert_output_equals "oci-archive:"
	run fish_complete "regship push oci:lay"
	[[ $(sort <<<"$output" | tr '\n' '|') == "oci:lay2/|oci:layout dir/|" ]] || fail "got: $output"
	run fish_complete "regship inspect $plain_ADDR/compl/app:v1"
	[[ $(sort <<<"$output" | tr '\n' '|') == "$plain_ADDR/compl/app:v1.0|$plain_ADDR/compl/app:v1.1|" ]] ||
		fail "got: $output"
	run fish_complete "regship completion "
	assert_output_equals $'bash\nfish\nzsh'
}
