#!/usr/bin/env bats
# SIGINT / SIGTERM / SIGHUP during push and pull (issue 11): the transfer is cancelled, the
# temporary files and partial blobs are removed, regship says "interrupted" and exits 128+N.
# A throttling proxy (tests/harness/slowproxy.py) keeps a big layer in flight; it writes a
# readiness file once a body is under way, and the test waits for that file (never a sleep).

setup_file() {
	load helpers
	reg_start plain reg
	export W="$BATS_FILE_TMPDIR/work"
	mkdir -p "$W"
	# one incompressible 4 MiB layer: about 16 s through the proxy, interrupted after 64 KiB
	fixture seed "$reg_URL" big/img --tag 1 --layers 1 --layer-size 4M --seed big >/dev/null
	fixture seed "$reg_URL" small/img --tag 1 --layer-size 8K --seed small >/dev/null
	local dir="$BATS_FILE_TMPDIR/slow"
	mkdir -p "$dir"
	_harness_track "$dir"
	harness start-slowproxy --dir "$dir" --name proxy --upstream "$reg_URL" \
		--owner-pid "${HARNESS_OWNER_PID:-$$}" --ready "$dir/ready" --rate 262144 \
		--max-seconds 600 >"$dir.start.out" 2>&1 || {
		cat "$dir.start.out" >&2
		return 1
	}
	_harness_import "$dir/proxy.env" PROXY_ slow
	export slow_READY="$dir/ready"
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
	export TMPDIR="$T/tmp"
	mkdir -p "$TMPDIR"
	rm -f "$slow_READY"
	# a wrapper that records regship's own pid, so the signal reaches regship itself
	cat >"$T/pidwrap" <<EOF
#!/bin/sh
echo \$\$ >"$T/pid"
exec "$REGSHIP" "\$@"
EOF
	chmod +x "$T/pidwrap"
}

# interrupt SIGNAL ARGS...: start regship ARGS in the background, wait until the proxy reports
# a throttled body under way, send SIGNAL; sets status and output (stderr) like `run`
interrupt() {
	local sig=$1 bg
	shift
	REGSHIP="$T/pidwrap" regship "$@" >"$T/out" 2>"$T/err" 3>&- &
	bg=$!
	if ! wait_until 60 test -s "$slow_READY"; then
		kill -KILL "$(cat "$T/pid")" 2>/dev/null || true
		wait "$bg" || true
		fail "no transfer got under way: $(cat "$T/err")"
	fi
	wait_until 10 test -s "$T/pid" || fail "no pid"
	kill "-$sig" "$(cat "$T/pid")"
	status=0
	wait "$bg" || status=$?
	output=$(cat "$T/err")
}

# no_temporaries DIR...: nothing regship left behind (temporary directories, .tmp- files)
no_temporaries() {
	local left
	left=$(find "$@" \( -name 'regship-*' -o -name '*.tmp-*' -o -name '.tmp-*' -o -name 'put-*' \) -print)
	[[ -z $left ]] || fail "temporaries left: $left"
}

@test "SIGINT during a pull into a docker archive: exit 130, interrupted, nothing left" {
	mkdir "$T/dest"
	interrupt INT pull --progress none "$slow_ADDR/big/img:1" "docker-archive:$T/dest/big.tar"
	assert_status 130
	assert_output_contains "interrupted by SIGINT"
	[[ ! -e $T/dest/big.tar ]] || fail "a destination was written"
	assert_equal "$(ls -A "$T/dest")" ""
	assert_equal "$(ls -A "$TMPDIR")" ""
}

@test "SIGINT during a pull into an existing archive leaves it byte for byte as it was" {
	regship pull --progress none "$reg_ADDR/small/img:1" "docker-archive:$T/F.tar" >/dev/null
	cp "$T/F.tar" "$T/F.orig"
	interrupt INT pull --progress none "$slow_ADDR/big/img:1" "docker-archive:$T/F.tar"
	assert_status 130
	cmp "$T/F.tar" "$T/F.orig"
	no_temporaries "$T"
}

@test "SIGHUP during a pull into an OCI layout: exit 129, no partial blob" {
	interrupt HUP pull --progress none "$slow_ADDR/big/img:1" "oci:$T/lay"
	assert_status 129
	assert_output_contains "interrupted by SIGHUP"
	no_temporaries "$T"
	# nothing of the big layer: only the config may have arrived whole
	local big
	big=$(find "$T/lay/blobs" -type f -size +1M)
	[[ -z $big ]] || fail "partial or whole layer kept: $big"
	assert_equal "$(ls -A "$TMPDIR")" ""
}

@test "SIGTERM during a push from a docker archive: exit 143, its compressed copies removed" {
	# the archive stores the layer uncompressed: the push compresses it into TMPDIR first
	regship pull --progress none "$reg_ADDR/big/img:1" "docker-archive:$T/src.tar" >/dev/null
	interrupt TERM push --progress none "docker-archive:$T/src.tar" "$slow_ADDR/pushed/img:1"
	assert_status 143
	assert_output_contains "interrupted by SIGTERM"
	assert_equal "$(ls -A "$TMPDIR")" ""
	no_temporaries "$T"
	# the manifest was never written
	run regship manifest "$reg_ADDR/pushed/img:1"
	assert_failure 3
}

@test "SIGINT during a push from an OCI archive: exit 130, its unpacked copy removed" {
	regship pull --progress none "$reg_ADDR/big/img:1" "oci-archive:$T/src.tar" >/dev/null
	interrupt INT copy --progress none "oci-archive:$T/src.tar" "$slow_ADDR/pushed/oci:1"
	assert_status 130
	assert_output_contains "interrupted"
	assert_equal "$(ls -A "$TMPDIR")" ""
}

@test "SIGINT while a FIFO destination waits for its reader: exit 130, no claim of success" {
	mkfifo "$T/fifo"
	REGSHIP="$T/pidwrap" regship pull --progress none "$reg_ADDR/small/img:1" \
		"docker-archive:$T/fifo" >"$T/out" 2>"$T/err" 3>&- &
	local bg=$! pid
	wait_until 10 test -s "$T/pid" || fail "no pid"
	pid=$(cat "$T/pid")
	# blocked in open(2) until a reader comes (the kernel calls that wait wait_for_partner)
	if ! wait_until 30 grep -qx wait_for_partner "/proc/$pid/wchan"; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$bg" || true
		skip "cannot see where regship waits (/proc/$pid/wchan: $(cat "/proc/$pid/wchan" 2>&1))"
	fi
	kill -INT "$pid"
	status=0
	wait "$bg" || status=$?
	output=$(cat "$T/err")
	assert_status 130
	assert_output_contains "interrupted by SIGINT"
	# the reference@digest line is printed only once the archive is written
	assert_equal "$(cat "$T/out")" ""
	[[ -p $T/fifo ]] || fail "the FIFO was replaced"
	assert_equal "$(ls -A "$TMPDIR")" ""
}
