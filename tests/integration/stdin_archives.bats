#!/usr/bin/env bats
# Archives on standard input (issue 15, "Pipes as sources"): docker-archive:- and oci-archive:-
# are read from a pipe (spooled into an unlinked temporary file), from a file redirected into
# standard input, for push, copy, inspect, digest and config; a terminal or an empty input is
# refused with a clear message; nothing is left in $TMPDIR, also after a failure or a SIGINT;
# and oci-archive:- as a destination streams to standard output.

setup_file() {
	load helpers
	reg_start plain reg
	export W="$BATS_FILE_TMPDIR/work"
	mkdir -p "$W"
	fixture docker-archive "$W/d.tar" --repo-tag pipe/img:1 --layer-size 16K --seed pipe >/dev/null
	fixture oci-archive "$W/o.tar" --tag v1 --layer-size 16K --seed opipe >/dev/null
	fixture docker-archive "$W/big.tar" --repo-tag pipe/big:1 --layers 1 --layer-size 4M \
		--seed pipebig >/dev/null
	REGSHIP_TEST_HOME="$BATS_FILE_TMPDIR/home" regship digest "docker-archive:$W/d.tar" >"$W/d.digest"
	REGSHIP_TEST_HOME="$BATS_FILE_TMPDIR/home" regship digest "oci-archive:$W/o.tar" >"$W/o.digest"
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
	export TMPDIR="$T/tmp"
	mkdir -p "$TMPDIR"
	D_DIGEST=$(cat "$W/d.digest")
	O_DIGEST=$(cat "$W/o.digest")
	[[ $D_DIGEST == sha256:* && $O_DIGEST == sha256:* ]] || fail "no digests from setup_file"
	# regship with a private HOME (its compression cache) and this test's TMPDIR
	R=(env HOME="$T/home" XDG_CACHE_HOME="$T/home/.cache" DOCKER_CONFIG="$T/home/.docker"
		TMPDIR="$TMPDIR" "$REGSHIP")
}

# piped FILE ARGS...: `run` regship with FILE piped into its standard input (a pipe, not a file)
piped() {
	local file=$1
	shift
	run bash -c 'f=$1; shift; cat "$f" | "$@"' _ "$file" "${R[@]}" "$@"
}

# tmp_empty: nothing left in $TMPDIR
tmp_empty() {
	local left
	left=$(ls -A "$TMPDIR")
	[[ -z $left ]] || fail "left in TMPDIR: $left"
}

@test "push docker-archive:- from a pipe pushes the same image as from the file, leaving nothing" {
	piped "$W/d.tar" push --progress none docker-archive:- "$reg_ADDR/pipe/img:1"
	assert_success
	assert_output_contains "$reg_ADDR/pipe/img:1@$D_DIGEST"
	run regship digest "$reg_ADDR/pipe/img:1"
	assert_success
	assert_output_equals "$D_DIGEST"
	tmp_empty
}

@test "docker-archive:-:REF selects an image of the piped archive by its RepoTag" {
	piped "$W/d.tar" push --progress none docker-archive:-:pipe/img:1 "$reg_ADDR/pipe/sel:1"
	assert_success
	assert_output_contains "$reg_ADDR/pipe/sel:1@$D_DIGEST"
	piped "$W/d.tar" digest docker-archive:-:other/img:1
	assert_failure
	assert_output_contains "other/img:1"
	tmp_empty
}

@test "digest, inspect and config read docker-archive:- and oci-archive:- from pipes" {
	piped "$W/d.tar" digest docker-archive:-
	assert_success
	assert_output_equals "$D_DIGEST"
	piped "$W/o.tar" digest oci-archive:-
	assert_success
	assert_output_equals "$O_DIGEST"
	piped "$W/o.tar" digest oci-archive:-:v1
	assert_success
	assert_output_equals "$O_DIGEST"
	piped "$W/d.tar" config docker-archive:-
	assert_success
	[[ $output == *'"rootfs"'* ]] || fail "config output is not the image config: $output"
	piped "$W/o.tar" inspect oci-archive:-
	assert_success
	assert_output_contains "$O_DIGEST"
	tmp_empty
}

@test "copy oci-archive:- from a pipe into a layout keeps the digest" {
	piped "$W/o.tar" copy --progress none oci-archive:- "oci:$T/lay:v1"
	assert_success
	run regship digest "oci:$T/lay:v1"
	assert_success
	assert_output_equals "$O_DIGEST"
	tmp_empty
}

@test "a file redirected into standard input is read as it is" {
	run "${R[@]}" digest docker-archive:- <"$W/d.tar"
	assert_success
	assert_output_equals "$D_DIGEST"
	run "${R[@]}" digest oci-archive:- <"$W/o.tar"
	assert_success
	assert_output_equals "$O_DIGEST"
	tmp_empty
}

@test "empty standard input: a clear error, exit 1, nothing left" {
	run "${R[@]}" digest docker-archive:- </dev/null
	assert_failure 1
	assert_output_contains "docker-archive:-: standard input is empty"
	piped /dev/null push --progress none oci-archive:- "$reg_ADDR/pipe/empty:1"
	assert_failure 1
	assert_output_contains "oci-archive:-: standard input is empty"
	tmp_empty
}

@test "garbage on standard input is named as standard input, not as a temporary file" {
	head -c 20000 /dev/urandom >"$T/junk"
	piped "$T/junk" digest docker-archive:-
	assert_failure
	assert_output_contains "standard input"
	assert_output_not_contains "/proc/"
	piped "$T/junk" digest oci-archive:-
	assert_failure
	assert_output_contains "standard input"
	assert_output_not_contains "/proc/"
	tmp_empty
}

@test "a terminal on standard input is refused (usage error, exit 2)" {
	run "$HARNESS_PY" - "$REGSHIP" <<'EOF'
import os, pty, subprocess, sys
master, slave = pty.openpty()
p = subprocess.run([sys.argv[1], "digest", "docker-archive:-"], stdin=slave,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
os.close(slave)
os.close(master)
sys.stdout.write(p.stdout.decode())
sys.exit(p.returncode)
EOF
	assert_failure 2
	assert_output_contains "refusing to read an archive from a terminal"
}

@test "SIGINT while standard input is being copied: exit 130, no temporary file left" {
	mkfifo "$T/fifo"
	# the writer keeps the FIFO open after 1 MiB, so regship is still copying when signalled
	(
		head -c 1048576 "$W/big.tar"
		exec sleep 60
	) >"$T/fifo" &
	local writer=$!
	"${R[@]}" push --progress none docker-archive:- \
		"$reg_ADDR/pipe/int:1" <"$T/fifo" >"$T/out" 2>&1 &
	local pid=$!
	# the spool file (unnamed, in $TMPDIR) is open: regship is copying
	wait_until 20 bash -c 'ls -l /proc/'"$pid"'/fd 2>/dev/null | grep -qF -- "$1"' _ "$TMPDIR" ||
		fail "regship never opened its spool file in $TMPDIR"
	kill -INT "$pid"
	local status=0
	wait "$pid" || status=$?
	kill "$writer" 2>/dev/null || true
	[[ $status -eq 130 ]] || fail "exit $status, expected 130: $(cat "$T/out")"
	tmp_empty
	run regship digest "$reg_ADDR/pipe/int:1"
	assert_failure 3
}

@test "oci-archive:- as a destination writes the archive to standard output" {
	regship copy --progress none "oci-archive:$W/o.tar" oci-archive:- >"$T/out.tar" 2>"$T/err"
	run tar tf "$T/out.tar"
	assert_success
	assert_output_contains "index.json"
	run regship digest "oci-archive:$T/out.tar"
	assert_success
	assert_output_equals "$O_DIGEST"
}

@test "memory stays flat: a 4 MiB layer on a pipe does not grow the peak RSS by its size" {
	[[ -x /usr/bin/time ]] || skip "/usr/bin/time is not installed"
	/usr/bin/time -f %M -o "$T/small.rss" "${R[@]}" digest docker-archive:- >/dev/null \
		< <(cat "$W/d.tar")
	/usr/bin/time -f %M -o "$T/big.rss" "${R[@]}" digest docker-archive:- >/dev/null \
		< <(cat "$W/big.tar")
	local small big
	small=$(tail -n1 "$T/small.rss")
	big=$(tail -n1 "$T/big.rss")
	((big - small < 2048)) || fail "peak RSS $big KiB for a 4 MiB layer vs $small KiB for 16 KiB"
	tmp_empty
}
