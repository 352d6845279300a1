#!/usr/bin/env bats
# ratelimit: Docker Hub style RateLimit-Limit / RateLimit-Remaining headers from a manifest HEAD,
# through tests/harness/ratelimitproxy.py (which adds them); a registry without them says so.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	reg_start plain plain
	fixture seed "$plain_URL" rl/app --tag v1 --seed rl >/dev/null
	local d=$BATS_FILE_TMPDIR
	"$HARNESS_PY" "$HARNESS_DIR/ratelimitproxy.py" --upstream "$plain_URL" --url-file "$d/rl.url" \
		--limit "100;w=21600" --remaining "76;w=21600" --source 192.0.2.7 --owner-pid $$ \
		>"$d/rl.log" 2>&1 3>&- &
	echo $! >"$d/rl.pid"
	wait_until 10 test -s "$d/rl.url" || {
		cat "$d/rl.log" >&2
		return 1
	}
}

teardown_file() {
	[[ -f $BATS_FILE_TMPDIR/rl.pid ]] && kill "$(cat "$BATS_FILE_TMPDIR/rl.pid")" 2>/dev/null
	reg_stop_all
}

setup() {
	load helpers
	RL_ADDR=$(sed 's|^http://||' "$BATS_FILE_TMPDIR/rl.url")
}

@test "ratelimit shows the limit, the remaining count and their windows" {
	run --separate-stderr regship ratelimit "$RL_ADDR/rl/app:v1"
	assert_success
	assert_output_contains "limit:     100 per 21600s"
	assert_output_contains "remaining: 76 per 21600s"
	assert_output_contains "source:    192.0.2.7"
}

@test "ratelimit --json" {
	run --separate-stderr regship ratelimit --json "$RL_ADDR/rl/app:v1"
	assert_success
	assert_equal "$(json '[d["rate_limited"], d["limit"], d["limit_window"], d["remaining"], d["remaining_window"], d["limit_source"]]' <<<"$output")" \
		'[true, 100, 21600, 76, 21600, "192.0.2.7"]'
	assert_equal "$(json 'd["reference"]' <<<"$output")" "$RL_ADDR/rl/app:v1"
}

@test "a registry without the headers: 'no rate-limit headers', exit 0; --json has nulls" {
	run --separate-stderr regship ratelimit "$plain_ADDR/rl/app:v1"
	assert_success
	assert_output_equals "$plain_ADDR/rl/app:v1: no rate-limit headers"
	run --separate-stderr regship ratelimit --json "$plain_ADDR/rl/app:v1"
	assert_equal "$(json '[d["rate_limited"], d["limit"], d["remaining"]]' <<<"$output")" '[false, null, null]'
}

@test "ratelimit of a missing image is exit 3; a bad reference exit 2" {
	run regship ratelimit "$RL_ADDR/rl/app:nope"
	assert_status 3
	run regship ratelimit "$RL_ADDR/RL/app"
	assert_status 2
}
