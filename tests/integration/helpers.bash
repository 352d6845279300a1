# shellcheck shell=bash
# Sourced by every integration .bats file: `load helpers`.
#
# Registries/proxies (tests/harness/harness.py), fixtures (tests/harness/fixture.py), a `regship`
# wrapper with an isolated HOME/DOCKER_CONFIG/XDG dirs, and small assertion helpers
# (bats-assert is not installed).
#
#   setup_file()    { load helpers; reg_start plain plain; }   # -> $plain_URL, $plain_ADDR ...
#   teardown_file() { reg_stop_all; }

REGSHIP_SRC=${REGSHIP_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HARNESS_DIR="$REGSHIP_SRC/tests/harness"
HARNESS_PY=/usr/bin/python3

harness() { "$HARNESS_PY" "$HARNESS_DIR/harness.py" "$@"; }
fixture() { "$HARNESS_PY" "$HARNESS_DIR/fixture.py" "$@"; }

_harness_name_ok() {
	[[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || {
		echo "harness: name '$1' must be a shell identifier" >&2
		return 1
	}
}

# _harness_import FILE PREFIX NAME: export every PREFIX* variable of FILE as NAME_*
_harness_import() {
	local file=$1 prefix=$2 name=$3 decls
	decls=$(
		for v in $(compgen -v "$prefix" || true); do unset "$v"; done
		# shellcheck disable=SC1090
		. "$file" && declare -p $(compgen -v "$prefix")
	) || return 1
	eval "$(sed -E "s/^declare -[-a-zA-Z]* ${prefix}/declare -gx ${name}_/" <<<"$decls")"
}

_harness_track() {
	echo "$1" >>"$BATS_FILE_TMPDIR/.harness-dirs"
}

# reg_start VARIANT NAME [harness.py start options, e.g. --relative-urls --tls --token-ttl N]
#   VARIANT: plain | tls | htpasswd | token. Exports NAME_URL NAME_ADDR NAME_HOST NAME_PORT
#   NAME_LOG NAME_DIR NAME_DATA NAME_VARIANT, NAME_CA (tls), NAME_USER/NAME_PASS (admin) and
#   NAME_READER_USER/NAME_READER_PASS (auth variants), NAME_TOKEN_URL/_SERVICE/_LOG (token).
#   Processes die with the calling bats process ($$; override with HARNESS_OWNER_PID).
reg_start() {
	local variant=$1 name=$2
	shift 2
	_harness_name_ok "$name" || return 1
	local dir="$BATS_FILE_TMPDIR/$name"
	_harness_track "$dir"
	if ! harness start --variant "$variant" --dir "$dir" --owner-pid "${HARNESS_OWNER_PID:-$$}" \
		"$@" >"$dir.start.out" 2>&1; then
		cat "$dir.start.out" >&2
		return 1
	fi
	_harness_import "$dir/env" REG_ "$name"
}

# reg_stop NAME
reg_stop() {
	harness stop --dir "$BATS_FILE_TMPDIR/$1"
}

# reg_stop_all: stop every registry/proxy started through these helpers (use in teardown_file)
reg_stop_all() {
	local d
	[[ -f "$BATS_FILE_TMPDIR/.harness-dirs" ]] || return 0
	for d in $(sort -u "$BATS_FILE_TMPDIR/.harness-dirs"); do
		harness stop --dir "$d" || true
	done
}

# proxy_start NAME UPSTREAM_URL [proxy.py flags: --paginate N --redirect-blobs-to URL
#   --redirect-manifests-to URL --redirect-same-origin --count FILE --flip-byte-in-blobs
#   --upstream-ca CA]. Exports NAME_URL NAME_ADDR NAME_PORT NAME_LOG NAME_DIR.
proxy_start() {
	local name=$1 upstream=$2
	shift 2
	_harness_name_ok "$name" || return 1
	local dir="$BATS_FILE_TMPDIR/$name"
	mkdir -p "$dir"
	_harness_track "$dir"
	if ! harness start-proxy --dir "$dir" --name proxy --upstream "$upstream" \
		--owner-pid "${HARNESS_OWNER_PID:-$$}" "$@" >"$dir.start.out" 2>&1; then
		cat "$dir.start.out" >&2
		return 1
	fi
	_harness_import "$dir/proxy.env" PROXY_ "$name"
	declare -gx "${name}_DIR=$dir"
}

# recorder_start NAME UPSTREAM_URL [--user U:P] [--upstream-ca CA]
#   A foreign origin that records requests (JSON lines in $NAME_RECORD: method, path, headers)
#   and serves them from UPSTREAM with its own credentials. Use its URL as redirect target.
recorder_start() {
	local name=$1 upstream=$2
	shift 2
	_harness_name_ok "$name" || return 1
	local dir="$BATS_FILE_TMPDIR/$name"
	mkdir -p "$dir"
	: >"$dir/record.jsonl"
	proxy_start "$name" "$upstream" --recorder --record "$dir/record.jsonl" "$@" || return 1
	declare -gx "${name}_RECORD=$dir/record.jsonl"
}

# regship ARGS...: run "$REGSHIP" with HOME, DOCKER_CONFIG and XDG_* under
# ${REGSHIP_TEST_HOME:-$BATS_FILE_TMPDIR/home} and no proxy variables.
regship() {
	[[ -n ${REGSHIP:-} ]] || {
		echo "REGSHIP (path of the regship binary) is not set" >&2
		return 127
	}
	local home=${REGSHIP_TEST_HOME:-$BATS_FILE_TMPDIR/home}
	mkdir -p "$home/.docker" "$home/.config" "$home/.cache" "$home/.local/share" \
		"$home/.local/state" "$home/.run"
	chmod 700 "$home/.run"
	env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u all_proxy \
		-u no_proxy -u NO_PROXY -u REGISTRY_AUTH_FILE \
		HOME="$home" DOCKER_CONFIG="$home/.docker" XDG_CONFIG_HOME="$home/.config" \
		XDG_CACHE_HOME="$home/.cache" XDG_DATA_HOME="$home/.local/share" \
		XDG_STATE_HOME="$home/.local/state" XDG_RUNTIME_DIR="$home/.run" \
		"$REGSHIP" "$@"
}

# --- registry access log ------------------------------------------------------------------------

# reg_log_mark NAME: later reg_requests NAME only shows requests made after this point
reg_log_mark() {
	local log_var="${1}_LOG"
	wc -l <"${!log_var}" >"$BATS_FILE_TMPDIR/$1.logmark"
}

# reg_requests NAME: "METHOD URI STATUS" lines the registry served since reg_log_mark (or since
# start). First makes a sync request and waits until it is logged, so every earlier request is in.
reg_requests() {
	local name=$1 log_var="${1}_LOG" url_var="${1}_URL" ca_var="${1}_CA"
	local log=${!log_var} tag="harness-sync-$RANDOM$RANDOM" mark=0 i
	[[ -f "$BATS_FILE_TMPDIR/$name.logmark" ]] && mark=$(<"$BATS_FILE_TMPDIR/$name.logmark")
	curl -s -o /dev/null ${!ca_var:+--cacert "${!ca_var}"} "${!url_var}/v2/?$tag" || true
	for ((i = 0; i < 500; i++)); do
		grep -q "GET /v2/?$tag " "$log" && break
		sleep 0.01
	done
	tail -n +"$((mark + 1))" "$log" |
		sed -nE 's/^[^"]*"([A-Z]+) ([^ ]+) HTTP\/[0-9.]+" ([0-9]{3}) .*/\1 \2 \3/p' |
		grep -v "harness-sync-" || true
}

# --- assertions ---------------------------------------------------------------------------------

fail() {
	printf '%s\n' "$@" >&2
	return 1
}

_show_output() {
	printf -- '--- status: %s\n--- output:\n%s\n---\n' "${status:-}" "${output:-}" >&2
}

assert_status() {
	[[ "$status" -eq "$1" ]] || {
		_show_output
		fail "expected exit status $1, got $status"
	}
}

assert_success() { assert_status 0; }

assert_failure() {
	if [[ $# -gt 0 ]]; then
		assert_status "$1"
	elif [[ "$status" -eq 0 ]]; then
		_show_output
		fail "expected failure, got exit status 0"
	fi
}

assert_output_contains() {
	[[ "$output" == *"$1"* ]] || {
		_show_output
		fail "expected output to contain: $1"
	}
}

assert_output_not_contains() {
	[[ "$output" != *"$1"* ]] || {
		_show_output
		fail "expected output not to contain: $1"
	}
}

assert_output_equals() {
	[[ "$output" == "$1" ]] || {
		_show_output
		fail "expected output to be: $1"
	}
}

assert_output_matches() {
	[[ "$output" =~ $1 ]] || {
		_show_output
		fail "expected output to match /$1/"
	}
}

assert_equal() {
	[[ "$1" == "$2" ]] || fail "expected '$2', got '$1'${3:+ ($3)}"
}

assert_file_exists() { [[ -e "$1" ]] || fail "expected file $1 to exist"; }
assert_file_not_exists() { [[ ! -e "$1" ]] || fail "expected file $1 not to exist"; }

# assert_file_mode FILE MODE (octal, e.g. 600)
assert_file_mode() {
	local m
	m=$(stat -c %a "$1") || return 1
	[[ "$m" == "$2" ]] || fail "expected mode $2 on $1, got $m"
}

assert_file_contains() {
	grep -qF -- "$2" "$1" || fail "expected $1 to contain: $2" "$(head -c 2000 "$1")"
}

assert_file_not_contains() {
	! grep -qF -- "$2" "$1" || fail "expected $1 not to contain: $2"
}

# json EXPR: evaluate a Python expression over the JSON document on stdin (bound to `d`)
json() {
	"$HARNESS_PY" -c 'import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(r if isinstance(r, str) else json.dumps(r))' "$1"
}

# jsonl_count FILE EXPR: number of JSON lines in FILE for which EXPR (over `d`) is true
jsonl_count() {
	"$HARNESS_PY" -c 'import json, sys
print(sum(1 for l in open(sys.argv[1]) if l.strip() and eval(sys.argv[2], {"d": json.loads(l)})))' "$1" "$2"
}

# wait_until SECONDS CMD...: poll CMD (every 20 ms) until it succeeds or the time is up
wait_until() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 50; i++)); do
		"$@" && return 0
		sleep 0.02
	done
	"$@"
}

# sha256_of FILE: "sha256:<hex>"
sha256_of() {
	echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"
}
