#!/usr/bin/env bats
# Hostile-tester findings on this session's features (pipes, referrers, sync, creds, check-base,
# blob -o, streamed push): each test is a break that was found by hand and fixed.

setup_file() {
	load helpers
	reg_start plain reg
	fixture seed "$reg_URL" team/app --tag 1 --seed a3app >/dev/null
}

teardown_file() {
	reg_stop_all
}

# cpu_limited ARGS...: regship ARGS with 20 s of CPU time at most (killed by SIGXCPU beyond)
cpu_limited() {
	ulimit -t 20
	regship "$@"
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
}

@test "sync --config: YAML nested 100,000 deep is refused at once (exit 2, file and line), not parsed for minutes" {
	/usr/bin/python3 -c "import sys; n = 100000; sys.stdout.write('r: ' + '[' * n + ']' * n + '\n')" >"$T/deep.yaml"
	# block style too: each level one more space of indentation
	/usr/bin/python3 -c "import sys; sys.stdout.write(''.join(' ' * i + 'k%d:\n' % i for i in range(5000)))" >"$T/block.yaml"
	# libyaml's scanner is quadratic in the nesting: unbounded, this took over a minute
	run cpu_limited sync --dry-run --config "$T/deep.yaml" "$T/out"
	assert_failure 2
	assert_output_contains "deep.yaml:1:"
	assert_output_contains "nested deeper than"
	run cpu_limited sync --dry-run --config "$T/block.yaml" "$T/out"
	assert_failure 2
	assert_output_contains "block.yaml:"
	assert_output_contains "nested deeper than"
	[[ ! -e $T/out ]] || fail "the destination was created"
}

@test "sync from a directory holding a symbolic link to itself or a parent: each layout once, not a failed walk" {
	mkdir -p "$T/src/sub"
	run regship copy "$reg_ADDR/team/app:1" "oci:$T/src/sub/app:1"
	assert_success
	ln -s . "$T/src/self"
	ln -s .. "$T/src/sub/up"
	run regship sync --dry-run "$T/src" "$reg_ADDR/mirror"
	assert_success
	assert_output_contains "mirror/app:1"
	assert_output_not_contains "nested deeper"
	[[ $(grep -c 'mirror/app:1' <<<"$output") -eq 1 ]] || fail "the layout is listed more than once: $output"
}
