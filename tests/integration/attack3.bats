#!/usr/bin/env bats
# Hostile-tester findings on this session's features (pipes, referrers, sync, creds, check-base,
# blob -o, streamed push): each test is a break that was found by hand and fixed.

setup_file() {
	load helpers
	reg_start plain reg
	fixture seed "$reg_URL" team/app --tag 1 --seed a3app >/dev/null
	fixture seed "$reg_URL" big/img --tag 1 --layers 1 --layer-size 64K --seed a3big >/dev/null
}

teardown_file() {
	reg_stop_all
}

# cpu_limited ARGS...: regship ARGS with 20 s of CPU time at most (killed by SIGXCPU beyond)
cpu_limited() {
	ulimit -t 20
	regship "$@"
}

# wall_limited ARGS...: regship ARGS, killed (status 124) after 30 s: a guard against a hang
wall_limited() {
	REGSHIP_TEST_HOME=${REGSHIP_TEST_HOME:-$BATS_FILE_TMPDIR/home} \
		timeout 30 bash -c "$(declare -f regship); regship \"\$@\"" regship "$@"
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

# layer_of IMAGE: the digest of the image's first layer
layer_of() {
	regship inspect "$1" | awk '/^Layers:/ { getline; print $1; exit }'
}

@test "blob -o: a partial file replaced by a FIFO, link or directory between runs is refused naming it, no hang" {
	local img="$reg_ADDR/big/img:1" layer part
	layer=$(layer_of "$img")
	[[ $layer == sha256:* ]] || fail "no layer digest: $layer"
	part="$T/x.bin.regship-partial-${layer:7:16}"
	# a FIFO nobody reads: opening it for writing blocked for ever
	mkfifo "$part"
	run wall_limited blob -o "$T/x.bin" "$img" "$layer"
	assert_failure 1
	assert_output_contains "$part: not a regular file"
	[[ -p $part && ! -e $T/x.bin ]] || fail "the FIFO was touched or x.bin was written"
	rm "$part"
	# a symbolic link (to a file that must not be written): the partial file is named
	echo secret >"$T/secret"
	ln -s secret "$part"
	run regship blob -o "$T/x.bin" "$img" "$layer"
	assert_failure 1
	assert_output_contains "$part: not a regular file"
	[[ $(cat "$T/secret") == secret ]] || fail "the link's target was written"
	rm "$part"
	mkdir "$part"
	run regship blob -o "$T/x.bin" "$img" "$layer"
	assert_failure 1
	assert_output_contains "$part: not a regular file"
	rmdir "$part"
	# and with it gone, the download works
	run regship blob -o "$T/x.bin" "$img" "$layer"
	assert_success
	[[ $(sha256sum <"$T/x.bin") == "${layer#sha256:} "* ]] || fail "x.bin is not the blob"
}

@test "sync from a local path that does not exist: exit 2 naming it, not an invalid reference" {
	run regship sync "$T/nope" "$reg_ADDR/m"
	assert_failure 2
	assert_output_contains "$T/nope: No such file or directory"
	assert_output_not_contains "invalid reference"
	cd "$T"
	run regship sync ./gone "$reg_ADDR/m"
	assert_failure 2
	assert_output_contains "./gone: No such file or directory"
	: >"$T/afile"
	run regship sync "$T/afile" "$reg_ADDR/m"
	assert_failure 2
	assert_output_contains "$T/afile: not a directory"
}

@test "sync of a repository the registry does not know: exit 3 (not found), as copy --all-tags" {
	run regship sync --progress none "$reg_ADDR/none/such" "$T/out"
	assert_failure 3
	assert_output_contains "NAME_UNKNOWN"
	run regship sync --progress none --dry-run "$reg_ADDR/none/such" "$reg_ADDR/m"
	assert_failure 3
}

@test "sync --config: aliases repeating a list of 100,000 tags under 20,000 repositories are refused (exit 2), not expanded" {
	# 1.1 MiB of YAML that named 2,000,000,000 tags: it took gigabytes and minutes
	/usr/bin/python3 - "$T/laughs.yaml" <<'PY'
import sys
tags = ",".join('"t%d"' % i for i in range(100000))
lines = ["127.0.0.1:1:", "  images:", "    r0: &t [%s]" % tags]
lines += ["    r%d: *t" % i for i in range(1, 20000)]
open(sys.argv[1], "w").write("\n".join(lines) + "\n")
PY
	run cpu_limited sync --dry-run --config "$T/laughs.yaml" "$T/out"
	assert_failure 2
	assert_output_contains "laughs.yaml:"
	assert_output_contains "more than 1000000 repositories and tags"
	[[ ! -e $T/out ]] || fail "the destination was created"
}
