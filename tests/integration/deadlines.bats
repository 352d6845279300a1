#!/usr/bin/env bats
# Nothing waits forever: servers that never answer, drip their headers or trickle their body,
# closed ports and names that do not resolve, credential helpers that hang; --timeout bounds the
# whole command. The per-request bounds are made tiny through REGSHIP_STALL_TIMEOUT and
# REGSHIP_HELPER_TIMEOUT so each case takes a second or two. Every regship run here is itself
# under timeout(1), so code that does hang fails the test instead of stopping the suite.

setup_file() {
	load helpers
	# one server, misbehaving as the repository's first component says (silent/, drip/ ...)
	server_start slowserver slow --mode by-path --interval 0.3 --rate 2 --size 4000000
	reg_start htpasswd htp
	fixture seed "$htp_URL" team/app --tag v1 --user admin:adminpass >/dev/null
}

teardown_file() {
	load helpers
	reg_stop_all
}

setup() {
	load helpers
	export REGSHIP_TEST_HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$REGSHIP_TEST_HOME/.docker" "$BATS_TEST_TMPDIR/bin"
}

# bounded SECONDS ARGS...: regship (helpers.bash's isolated environment) killed after SECONDS;
# sets $elapsed (whole seconds, rounded up)
bounded() {
	local limit=$1 start end
	shift
	cat >"$BATS_TEST_TMPDIR/bounded" <<SH
#!/bin/sh
exec timeout -k 1 $limit "$REGSHIP" "\$@"
SH
	chmod +x "$BATS_TEST_TMPDIR/bounded"
	start=$(date +%s%N)
	REGSHIP="$BATS_TEST_TMPDIR/bounded" run regship "$@"
	end=$(date +%s%N)
	elapsed=$(((end - start + 999999999) / 1000000000))
}

# a port where nothing listens
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

@test "a server that accepts and never answers: the request ends at the stall bound" {
	REGSHIP_STALL_TIMEOUT=1s bounded 20 --retries 0 tags "$slow_ADDR/silent/app"
	assert_failure 1
	assert_output_contains "no answer from $slow_ADDR within 1s (GET http://$slow_ADDR/v2/silent/app/tags/list)"
	[[ $elapsed -le 5 ]] || fail "took ${elapsed}s"
}

@test "headers dripped one line at a time: the request ends at the stall bound" {
	REGSHIP_STALL_TIMEOUT=1s bounded 20 --retries 0 tags "$slow_ADDR/drip/app"
	assert_failure 1
	assert_output_contains "the answer from $slow_ADDR stalled in its headers: fewer than 1024 bytes/s for 1s"
	[[ $elapsed -le 5 ]] || fail "took ${elapsed}s"
}

@test "headers that never end, sent fast, or one header line of 200 KB: a clear error" {
	bounded 20 --retries 0 tags "$slow_ADDR/flood/app"
	assert_failure 1
	assert_output_contains "regship: the answer from http://$slow_ADDR/v2/flood/app/tags/list has more than 262144 bytes of headers"
	bounded 20 --retries 0 tags "$slow_ADDR/huge-header/app"
	assert_failure 1
	assert_output_contains "regship: the answer from $slow_ADDR has a header line longer than 102400 bytes, more than curl accepts"
	assert_output_not_contains "Out of memory"
}

@test "a manifest body trickling at 2 bytes/s: the request ends at the stall bound" {
	REGSHIP_STALL_TIMEOUT=1s bounded 20 --retries 0 manifest "$slow_ADDR/trickle/app:v1"
	assert_failure 1
	assert_output_contains "the answer from $slow_ADDR stalled: fewer than 1024 bytes/s for 1s (GET http://$slow_ADDR/v2/trickle/app/manifests/v1)"
	[[ $elapsed -le 5 ]] || fail "took ${elapsed}s"
}

@test "a stalled request is retried, and the retries are bounded too" {
	REGSHIP_STALL_TIMEOUT=1s bounded 30 -v --retries 1 tags "$slow_ADDR/silent/app"
	assert_failure 1
	[[ $(grep -c "retrying in" <<<"$output") -eq 1 ]] || fail "expected 1 retry" "$output"
	assert_output_contains "regship: no answer from $slow_ADDR within 1s"
	[[ $elapsed -le 8 ]] || fail "took ${elapsed}s"
}

@test "--timeout bounds the whole command: timed out after ..., exit 1" {
	bounded 20 --timeout 1s tags "$slow_ADDR/silent/app"
	assert_failure 1
	assert_output_contains "regship: timed out after 1s"
	[[ $elapsed -le 5 ]] || fail "took ${elapsed}s"
	# retries and the waits between them end at the deadline as well
	REGSHIP_STALL_TIMEOUT=1s bounded 20 --retries 10 --timeout 1500ms manifest "$slow_ADDR/trickle/app:v1"
	assert_failure 1
	assert_output_contains "regship: timed out after 1.5s"
	[[ $elapsed -le 5 ]] || fail "took ${elapsed}s"
	# the option may come after the verb, and in the --name=value form
	bounded 20 tags --timeout=500ms "$slow_ADDR/drip/app"
	assert_failure 1
	assert_output_contains "timed out after 500ms"
}

@test "--timeout and the REGSHIP_*_TIMEOUT variables take durations; bad ones are usage errors" {
	for bad in 5x 0 -1s "" 0.0001 s 10d 31d 1e9 0x10s 1.s .5s 2e3ms " 1s" 1s2; do
		run regship --timeout "$bad" tags 127.0.0.1:1/team/app
		assert_failure 2
		assert_output_contains "option --timeout: invalid duration \"$bad\""
	done
	for var in REGSHIP_STALL_TIMEOUT REGSHIP_CONNECT_TIMEOUT REGSHIP_HELPER_TIMEOUT; do
		env "$var=soon" "$REGSHIP" tags 127.0.0.1:1/team/app >"$BATS_TEST_TMPDIR/out" 2>&1 && fail "$var=soon accepted"
		run cat "$BATS_TEST_TMPDIR/out"
		assert_output_contains "$var: invalid duration \"soon\""
	done
	# a bare number is seconds; a generous bound does not get in the way
	run regship --timeout 30 manifest "$slow_ADDR/big/app:v1"
	assert_success
	run regship --timeout 2m --retries 0 manifest "$slow_ADDR/big/app:v1"
	assert_success
}

@test "a closed port fails at once, saying so, without retries" {
	port=$(free_port)
	bounded 20 -v tags "127.0.0.1:$port/team/app"
	assert_failure 1
	assert_output_contains "regship: cannot connect to 127.0.0.1:$port: Connection refused"
	assert_output_not_contains "retrying"
	# curl's own trace lines say "after 0 ms"; regship's message does not
	[[ $(grep '^regship:' <<<"$output") != *" ms"* ]] || fail "a timing in the message" "$output"
	[[ $elapsed -le 3 ]] || fail "took ${elapsed}s"
	# localhost and the verbs that ping /v2/ first say the same
	bounded 20 -v digest "localhost:$port/team/app:v1"
	assert_failure 1
	assert_output_contains "cannot connect to localhost:$port"
	assert_output_not_contains "retrying"
}

@test "a name that does not resolve fails at once, naming the host" {
	bounded 20 -v tags "registry.invalid:5000/team/app"
	assert_failure 1
	assert_output_contains "regship: cannot resolve host registry.invalid"
	assert_output_not_contains "retrying"
	[[ $elapsed -le 10 ]] || fail "took ${elapsed}s"
}

# helper NAME SCRIPT: a docker-credential-NAME on PATH, configured for the htpasswd registry
helper() {
	printf '#!/bin/sh\n%s\n' "$2" >"$BATS_TEST_TMPDIR/bin/docker-credential-$1"
	chmod +x "$BATS_TEST_TMPDIR/bin/docker-credential-$1"
	printf '{"credHelpers": {"%s": "%s"}}\n' "$htp_ADDR" "$1" >"$REGSHIP_TEST_HOME/.docker/config.json"
}

@test "a credential helper that never answers is named and bounded, not 'no credentials'" {
	helper hang 'exec sleep 30'
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" REGSHIP_HELPER_TIMEOUT=1s bounded 20 tags "$htp_ADDR/team/app"
	assert_failure 4
	assert_output_contains "docker-credential-hang did not answer within 1s"
	assert_output_not_contains "no credentials"
	[[ $elapsed -le 5 ]] || fail "took ${elapsed}s"
	# --timeout shorter than the helper's bound ends it first
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" bounded 20 --timeout 1s tags "$htp_ADDR/team/app"
	assert_failure
	assert_output_contains "timed out after 1s (waiting for docker-credential-hang)"
	[[ $elapsed -le 5 ]] || fail "took ${elapsed}s"
}

@test "a credential helper that answers, closes its output and keeps running is bounded" {
	helper linger 'printf "{\"Username\":\"admin\",\"Secret\":\"adminpass\"}"; exec >&-; exec sleep 30'
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" REGSHIP_HELPER_TIMEOUT=1s bounded 20 tags "$htp_ADDR/team/app"
	assert_failure 4
	assert_output_contains "docker-credential-linger closed its output but did not exit within 1s"
	assert_output_not_contains "no credentials"
	[[ $elapsed -le 5 ]] || fail "took ${elapsed}s"
}

@test "a credential helper that prints megabytes is cut off and named" {
	helper chatty 'head -c 5000000 /dev/zero | tr "\0" x; exit 0'
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" bounded 20 tags "$htp_ADDR/team/app"
	assert_failure 4
	assert_output_contains "docker-credential-chatty printed more than 65536 bytes"
	assert_output_not_contains "no credentials"
	assert_output_not_contains "xxxxxxxx"
}

@test "regship is not dumpable while it runs: core size 0, /proc/PID closed to its own user" {
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	# run as nobody, so /proc/PID ownership shows dumpability (root:root when not dumpable)
	(
		ulimit -c unlimited 2>/dev/null || true
		# nobody's own (empty) home: the file's directories (helpers.bash) are root's
		exec setpriv --reuid=65534 --regid=65534 --clear-groups env -u DOCKER_CONFIG \
			-u XDG_CONFIG_HOME -u XDG_CACHE_HOME -u XDG_DATA_HOME -u XDG_STATE_HOME \
			HOME=/nonexistent REGSHIP_STALL_TIMEOUT=20s "$REGSHIP" --retries 0 tags "$slow_ADDR/silent/app"
	) >/dev/null 2>&1 &
	pid=$!
	# from its first instructions on (protect_secrets() in main)
	for ((i = 0; i < 500; i++)); do
		limits=$(cat "/proc/$pid/limits" 2>/dev/null) || true
		[[ $(readlink "/proc/$pid/exe" 2>/dev/null) == *regship* ]] &&
			grep -Eq '^Max core file size +0 +0 ' <<<"$limits" && break
		sleep 0.01
	done
	[[ -e /proc/$pid/environ ]] || fail "regship ended before it could be looked at"
	owner=$(stat -c %u "/proc/$pid/environ")
	status_uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
	kill "$pid"
	wait "$pid" || true
	grep -Eq '^Max core file size +0 +0 ' <<<"$limits" || fail "core dumps allowed" "$limits"
	[[ $status_uid -eq 65534 ]] || fail "not running as nobody ($status_uid)"
	[[ $owner -eq 0 ]] || fail "/proc/$pid/environ is owned by $owner: the process is dumpable"
}

@test "running out of memory prints 'regship: out of memory' and exits 1, never a signal" {
	[[ -z ${REGSHIP_VALGRIND:-} ]] || skip "valgrind needs more address space"
	if nm "$REGSHIP" 2>/dev/null | grep -q __asan_init || ldd "$REGSHIP" | grep -q asan; then
		skip "AddressSanitizer reserves more address space than ulimit -v leaves"
	fi
	# the smallest address space (ulimit -v, 1 MB steps) regship starts in ...
	start=
	for ((kb = 30000; kb <= 300000; kb += 4000)); do
		if bash -c "ulimit -v $kb && exec \"\$0\" --version" "$REGSHIP" >/dev/null 2>&1; then
			start=$kb
			break
		fi
	done
	[[ -n $start ]] || skip "regship does not start within 300 MB of address space"
	# ... and from there up, a 4 MB manifest: too big at first, then it fits
	ooms=0
	for ((kb = start; kb <= start + 30000; kb += 1000)); do
		run bash -c "ulimit -v $kb && exec \"\$0\" manifest $slow_ADDR/big/app:v1 >/dev/null" "$REGSHIP"
		[[ $status -lt 128 ]] || fail "ulimit -v $kb: killed by signal $((status - 128))" "$output"
		[[ $status -eq 0 ]] && break
		assert_failure 1
		assert_output_contains "regship: out of memory"
		ooms=$((ooms + 1))
	done
	assert_success
	[[ $ooms -gt 0 ]] || skip "no limit made the manifest too big (start $start)"
}

@test "SIGINT while a pull waits on a server that never answers: exit 130 at once, not at the stall bound" {
	command -v ss >/dev/null || skip "ss (iproute2) is not installed"
	REGSHIP_STALL_TIMEOUT=60s "$REGSHIP" --retries 0 pull "$slow_ADDR/silent/app:v1" \
		"oci:$BATS_TEST_TMPDIR/layout" >"$BATS_TEST_TMPDIR/out" 2>&1 &
	pid=$!
	# wait (bounded) until regship holds a connection to the silent server
	for ((i = 0; i < 1000; i++)); do
		ss -Htnp state established "( dport = :$slow_PORT )" 2>/dev/null | grep -q "pid=$pid," && break
		sleep 0.01
	done
	start=$(date +%s%N)
	kill -INT "$pid"
	status=0
	wait "$pid" || status=$?
	end=$(date +%s%N)
	output=$(cat "$BATS_TEST_TMPDIR/out")
	[[ $status -eq 130 ]] || fail "expected exit 130, got $status" "$output"
	assert_output_contains "interrupted"
	# curl checks for the interruption about once a second while it waits
	(((end - start) / 1000000 < 5000)) || fail "took $(((end - start) / 1000000)) ms after SIGINT"
}
