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

# The user's own home is never read or written by a test: HOME, DOCKER_CONFIG and the XDG
# directories point into the file's temporary directory for every command a test runs, also
# those that call "$REGSHIP" directly instead of through the `regship` wrapper below (docker
# credentials, the blob-location cache). A test that wants another home sets it on the command.
if [[ -n ${BATS_FILE_TMPDIR:-} ]]; then
	export HOME=${REGSHIP_TEST_HOME:-$BATS_FILE_TMPDIR/home}
	export DOCKER_CONFIG=$HOME/.docker XDG_CONFIG_HOME=$HOME/.config XDG_CACHE_HOME=$HOME/.cache \
		XDG_DATA_HOME=$HOME/.local/share XDG_STATE_HOME=$HOME/.local/state
	unset REGISTRY_AUTH_FILE
fi

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
	local -a dirs=()
	[[ -f "$BATS_FILE_TMPDIR/.harness-dirs" ]] || return 0
	for d in $(sort -u "$BATS_FILE_TMPDIR/.harness-dirs"); do
		dirs+=(--dir "$d")
	done
	# one harness process for all of them (signalled together, one wait)
	harness stop "${dirs[@]}" || true
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
	# two processes fewer per command (~1,400 in the suite) once the directories exist
	if [[ ! -d $home/.docker || ! -d $home/.config || ! -d $home/.cache || ! -d $home/.local/share ||
		! -d $home/.local/state || ! -d $home/.run ]]; then
		mkdir -p "$home/.docker" "$home/.config" "$home/.cache" "$home/.local/share" \
			"$home/.local/state" "$home/.run"
		chmod 700 "$home/.run"
	fi
	local limit=100
	[[ -z ${REGSHIP_VALGRIND:-} ]] || limit=900
	# a command that hangs is killed after $REGSHIP_CMD_TIMEOUT seconds (exit 124, so the test
	# that ran it fails and is named) instead of holding the file until ctest's TIMEOUT;
	# --foreground: regship stays in the shell's process group (terminals, signals)
	env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u all_proxy \
		-u no_proxy -u NO_PROXY -u REGISTRY_AUTH_FILE \
		HOME="$home" DOCKER_CONFIG="$home/.docker" XDG_CONFIG_HOME="$home/.config" \
		XDG_CACHE_HOME="$home/.cache" XDG_DATA_HOME="$home/.local/share" \
		XDG_STATE_HOME="$home/.local/state" XDG_RUNTIME_DIR="$home/.run" \
		timeout --foreground -k 5 "${REGSHIP_CMD_TIMEOUT:-$limit}" \
		${REGSHIP_VALGRIND:+valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect} \
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

# python for the small stdlib-only snippets below: -I -S skips site-packages and the
# environment (28 ms of CPU instead of 48 per start; `json` alone runs ~1,000 times a suite)
HARNESS_PY_STDLIB=("$HARNESS_PY" -I -S)

# json EXPR: evaluate a Python expression over the JSON document on stdin (bound to `d`)
json() {
	"${HARNESS_PY_STDLIB[@]}" -c 'import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
print(r if isinstance(r, str) else json.dumps(r))' "$1"
}

# archive_has_layer FILE DIFF_ID: the docker archive FILE lists the layer, and its layer.tar
# has that digest
archive_has_layer() {
	"${HARNESS_PY_STDLIB[@]}" - "$1" "$2" <<'PY'
import hashlib, json, sys, tarfile
tf = tarfile.open(sys.argv[1])
hexd = sys.argv[2].split(":", 1)[1]
layers = json.load(tf.extractfile("manifest.json"))[0]["Layers"]
assert hexd + "/layer.tar" in layers, layers
got = hashlib.sha256(tf.extractfile(hexd + "/layer.tar").read()).hexdigest()
assert got == hexd, "layer.tar of %s has digest %s" % (hexd, got)
PY
}

# jsonl_count FILE EXPR: number of JSON lines in FILE for which EXPR (over `d`) is true
jsonl_count() {
	"${HARNESS_PY_STDLIB[@]}" -c 'import json, sys
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

# --- checking images on a registry / in a layout (push, pull, copy tests) -----------------------

MANIFEST_ACCEPT="application/vnd.oci.image.index.v1+json,application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.docker.distribution.manifest.v2+json"

# reg_curl NAME REPO CURL_ARGS...: curl -s against registry NAME with its CA and admin credentials
#   (Basic for htpasswd; for token a Bearer token with pull,push on REPO)
reg_curl() {
	local name=$1 repo=$2
	shift 2
	local v="${name}_VARIANT" ca="${name}_CA" u="${name}_USER" p="${name}_PASS"
	local tu="${name}_TOKEN_URL" ts="${name}_TOKEN_SERVICE" t
	local -a a=(-s)
	[[ -n ${!ca:-} ]] && a+=(--cacert "${!ca}")
	case ${!v} in
	htpasswd) a+=(-u "${!u}:${!p}") ;;
	token)
		t=$(curl -sf -u "${!u}:${!p}" "${!tu}?service=${!ts}&scope=repository:$repo:pull,push" |
			json 'd["token"]') || return 1
		a+=(-H "Authorization: Bearer $t")
		;;
	esac
	curl "${a[@]}" "$@"
}

# regship_as NAME ARGS...: regship with registry NAME's CA (--ca-cert) and admin credentials
#   (-u USER --password-stdin), when it has them
regship_as() {
	local name=$1
	shift
	local ca="${name}_CA" u="${name}_USER" p="${name}_PASS"
	local -a a=()
	[[ -n ${!ca:-} ]] && a+=(--ca-cert "${!ca}")
	if [[ -n ${!u:-} ]]; then
		regship "${a[@]}" -u "${!u}" --password-stdin "$@" <<<"${!p}"
	else
		regship "${a[@]}" "$@" </dev/null
	fi
}

# regship_on NAME ARGS...: regship_as with the global options after the command's arguments, as
#   a user might type them (both orders are accepted)
regship_on() {
	local name=$1
	shift
	local ca="${name}_CA" u="${name}_USER" p="${name}_PASS"
	local -a g=()
	[[ -z ${!ca:-} ]] || g+=(--ca-cert "${!ca}")
	if [[ -n ${!u:-} ]]; then
		regship "$@" "${g[@]}" -u "${!u}" --password-stdin <<<"${!p}"
	else
		regship "$@" "${g[@]}"
	fi
}

# reg_addr NAME: registry NAME's host:port
reg_addr() {
	local v="${1}_ADDR"
	echo "${!v}"
}

# reg_seed NAME REPO [fixture seed options]: push a fixture image into registry NAME with its CA
#   and admin credentials; prints the fixture's "REPO:TAG DIGEST" lines
reg_seed() {
	local name=$1 repo=$2 url="${1}_URL" ca="${1}_CA" u="${1}_USER" p="${1}_PASS"
	shift 2
	local -a a=()
	[[ -z ${!ca:-} ]] || a+=(--ca "${!ca}")
	[[ -z ${!u:-} ]] || a+=(--user "${!u}:${!p}")
	fixture seed "${!url}" "$repo" "$@" "${a[@]}"
}

# fixture_digest NAME REPO:TAG: the digest last recorded for REPO:TAG in
#   $BATS_FILE_TMPDIR/NAME.fixture (where a file's setup keeps reg_seed's output)
fixture_digest() {
	local d
	d=$(awk -v k="$2" '$1 == k { d = $2 } END { print d }' "$BATS_FILE_TMPDIR/$1.fixture")
	[[ $d == sha256:* ]] || fail "no fixture digest for $2 on $1"
	echo "$d"
}

# skopeo_flags NAME [src-|dest-]: set the array SKOPEO_FLAGS to reach registry NAME with skopeo
#   (--tls-verify=false for HTTP, a cert dir holding its CA for HTTPS, admin --creds)
skopeo_flags() {
	local name=$1 pre=${2:-} ca="${1}_CA" u="${1}_USER" p="${1}_PASS" d
	SKOPEO_FLAGS=()
	if [[ -n ${!ca:-} ]]; then
		d="$BATS_FILE_TMPDIR/$name.skopeo-certs"
		mkdir -p "$d" && cp "${!ca}" "$d/ca.crt"
		SKOPEO_FLAGS+=("--${pre}cert-dir" "$d")
	else
		SKOPEO_FLAGS+=("--${pre}tls-verify=false")
	fi
	if [[ -n ${!u:-} ]]; then SKOPEO_FLAGS+=("--${pre}creds" "${!u}:${!p}"); fi
}

# _manifest_blobs FILE: digests a manifest FILE references, "m DIGEST" for child manifests of an
#   index and "b DIGEST" for config and layers
_manifest_blobs() {
	"${HARNESS_PY_STDLIB[@]}" -c 'import json, sys
d = json.load(open(sys.argv[1]))
for m in d.get("manifests") or []:
    print("m", m["digest"])
if "config" in d:
    print("b", d["config"]["digest"])
for l in d.get("layers") or []:
    print("b", l["digest"])' "$1"
}

# _verify_registry_manifest NAME REPO DIGEST DIR: manifest DIGEST and everything it references
#   download from registry NAME with the right sha256
_verify_registry_manifest() {
	local name=$1 repo=$2 digest=$3 dir=$4 url_var="${1}_URL" kind d
	local f="$dir/${digest#sha256:}"
	reg_curl "$name" "$repo" -f -H "Accept: $MANIFEST_ACCEPT" -o "$f" \
		"${!url_var}/v2/$repo/manifests/$digest" || fail "GET manifest $repo@$digest failed" || return 1
	assert_equal "$(sha256_of "$f")" "$digest" "sha256 of manifest $repo@$digest" || return 1
	while read -r kind d; do
		if [[ $kind == m ]]; then
			_verify_registry_manifest "$name" "$repo" "$d" "$dir" || return 1
		else
			reg_curl "$name" "$repo" -f -L -o "$dir/blob" "${!url_var}/v2/$repo/blobs/$d" ||
				fail "GET blob $repo@$d failed" || return 1
			assert_equal "$(sha256_of "$dir/blob")" "$d" "sha256 of blob $repo@$d" || return 1
		fi
	done < <(_manifest_blobs "$f")
}

# verify_image NAME REPO REF DIGEST: image REPO:REF on registry NAME has manifest DIGEST per
#   `regship digest`, `regship manifest` (its sha256), curl (Docker-Content-Digest) and skopeo
#   (inspect's Digest; `skopeo copy --all` to a layout, which verifies every blob), and every
#   manifest and blob it references downloads with the right sha256.
verify_image() {
	local name=$1 repo=$2 ref=$3 digest=$4 addr_var="${1}_ADDR" url_var="${1}_URL" dir got
	local src="${!addr_var}/$repo:$ref"
	dir=$(mktemp -d "$BATS_TEST_TMPDIR/verify.XXXXXX")
	got=$(regship_as "$name" digest "$src" 2>&1) || fail "regship digest $src: $got" || return 1
	assert_equal "$got" "$digest" "regship digest $src" || return 1
	regship_as "$name" manifest "$src" >"$dir/regship-manifest" || fail "regship manifest $src failed" ||
		return 1
	assert_equal "$(sha256_of "$dir/regship-manifest")" "$digest" "sha256 of regship manifest $src" ||
		return 1
	got=$(reg_curl "$name" "$repo" -I -H "Accept: $MANIFEST_ACCEPT" "${!url_var}/v2/$repo/manifests/$ref" |
		tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')
	assert_equal "$got" "$digest" "Docker-Content-Digest of $src" || return 1
	_verify_registry_manifest "$name" "$repo" "$digest" "$dir" || return 1
	command -v skopeo >/dev/null || return 0
	skopeo_flags "$name"
	got=$(skopeo inspect "${SKOPEO_FLAGS[@]}" "docker://$src" | json 'd["Digest"]') ||
		fail "skopeo inspect docker://$src failed" || return 1
	assert_equal "$got" "$digest" "skopeo inspect docker://$src" || return 1
	skopeo_flags "$name" src-
	skopeo --insecure-policy copy -q --all "${SKOPEO_FLAGS[@]}" "docker://$src" "oci:$dir/skopeo:x" ||
		fail "skopeo copy docker://$src oci: failed" || return 1
}

# verify_layout DIR TAG DIGEST: the OCI layout DIR has TAG on manifest DIGEST, every blob file is
#   named by its sha256, and (with skopeo) `skopeo copy --all oci:DIR:TAG oci:...` accepts it.
#   skopeo 1.9 only looks at index.json entries with an OCI media type, so a docker manifest kept
#   verbatim (digests are preserved) is not shown to it.
verify_layout() {
	local dir=$1 tag=$2 digest=$3 f got
	assert_file_exists "$dir/oci-layout" || return 1
	got=$(json "[m['digest'] for m in d['manifests'] if (m.get('annotations') or {}).get('org.opencontainers.image.ref.name') == '$tag']" <"$dir/index.json")
	assert_equal "$got" "[\"$digest\"]" "index.json entries for $tag in $dir" || return 1
	for f in "$dir"/blobs/sha256/*; do
		assert_equal "$(sha256_of "$f")" "sha256:${f##*/}" "sha256 of $f" || return 1
	done
	command -v skopeo >/dev/null || return 0
	got=$(json "[m['mediaType'] for m in d['manifests'] if (m.get('annotations') or {}).get('org.opencontainers.image.ref.name') == '$tag'][0]" <"$dir/index.json")
	[[ $got == application/vnd.oci.image.* ]] || return 0
	skopeo --insecure-policy copy -q --all "oci:$dir:$tag" "oci:$(mktemp -d "$BATS_TEST_TMPDIR/vl.XXXXXX"):x" ||
		fail "skopeo copy oci:$dir:$tag failed" || return 1
}

# reg_digests NAME REPO REF...: "REF DIGEST" per REF (or "REF none" when the registry has no
#   such manifest), from registry NAME's own answers (HEAD with every manifest type accepted,
#   its Docker-Content-Digest) with its CA and admin credentials: one python process for all of
#   them, to check what a test left on a registry (a regship per lookup costs ~0.2 s of CPU under
#   ASan, ~0.4 s over TLS)
reg_digests() {
	local name=$1 repo=$2 url="${1}_URL" ca="${1}_CA" u="${1}_USER" p="${1}_PASS"
	shift 2
	"$HARNESS_PY" - "$HARNESS_DIR" "${!url}" "${!u:-}" "${!p:-}" "${!ca:-}" "$repo" "$MANIFEST_ACCEPT" "$@" <<'PY'
import sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import reglib
url, user, pw, ca, repo, accept = sys.argv[2:8]
c = reglib.RegistryClient(url, user or None, pw or None, ca or None)
for ref in sys.argv[8:]:
    r = c.request("HEAD", "/v2/%s/manifests/%s" % (repo, ref), headers={"Accept": accept})
    if r.status == 200:
        print(ref, r.header("Docker-Content-Digest"))
    elif r.status == 404:
        print(ref, "none")
    else:
        sys.exit("HEAD %s:%s answered %d" % (repo, ref, r.status))
PY
}

# reg_tags NAME REPO: sorted JSON list of REPO's tags on registry NAME
reg_tags() {
	local url_var="${1}_URL"
	reg_curl "$1" "$2" "${!url_var}/v2/$2/tags/list" | json 'sorted(d.get("tags") or [])'
}

# --- fault-injecting proxy (tests/harness/faultproxy.py) ----------------------------------------

# faultproxy_start NAME UPSTREAM_URL [faultproxy.py flags: --seed S --rate R --faults K,K
#   --only KIND --once --skip N --match REGEX --retry-after S --delay-ms MS | --hostile MODE
#   [--foreign-origin URL] | --hop [--hop-status N] --listen ADDR --upstream-ca CA].
#   Exports NAME_URL NAME_ADDR NAME_PORT NAME_LOG (process output) NAME_DIR, NAME_FAULTS (one
#   JSON line per injected fault: kind, method, path, ...), NAME_REQUESTS (one JSON line per
#   request: method, path, range, status, fault, auth) and, for --hop, NAME_RECORD (request
#   headers, as the recorder writes them).
faultproxy_start() {
	local name=$1 upstream=$2
	shift 2
	_harness_name_ok "$name" || return 1
	local dir="$BATS_FILE_TMPDIR/$name"
	mkdir -p "$dir"
	: >"$dir/faults.jsonl"
	: >"$dir/requests.jsonl"
	: >"$dir/record.jsonl"
	_harness_track "$dir"
	if ! harness start-faultproxy --dir "$dir" --name proxy --upstream "$upstream" \
		--owner-pid "${HARNESS_OWNER_PID:-$$}" --log "$dir/faults.jsonl" \
		--requests "$dir/requests.jsonl" --record "$dir/record.jsonl" "$@" >"$dir.start.out" 2>&1; then
		cat "$dir.start.out" >&2
		return 1
	fi
	_harness_import "$dir/proxy.env" PROXY_ "$name"
	declare -gx "${name}_DIR=$dir" "${name}_FAULTS=$dir/faults.jsonl" \
		"${name}_REQUESTS=$dir/requests.jsonl" "${name}_RECORD=$dir/record.jsonl"
}

# server_start KIND NAME [flags]: `harness start-KIND` (slowserver, slowproxy, hostile: a server
# of tests/harness) under this file's temporary directory, supervised and stopped with the
# others; exports NAME_URL NAME_ADDR NAME_PORT from its env file
server_start() {
	local kind=$1 name=$2
	shift 2
	local dir="$BATS_FILE_TMPDIR/$name"
	mkdir -p "$dir"
	_harness_track "$dir"
	harness "start-$kind" --dir "$dir" --name proxy --owner-pid "${HARNESS_OWNER_PID:-$$}" \
		"$@" >"$dir.start.out" 2>&1 || {
		cat "$dir.start.out" >&2
		return 1
	}
	_harness_import "$dir/proxy.env" PROXY_ "$name"
}
