#!/usr/bin/env bats
# OCI 1.1 referrers: `regship referrers` through the referrers tag schema (docker-registry 2.8
# has no API) and through tests/harness/referrersapi.py (a proxy adding the API), and
# --referrers on copy / pull / push / retag: artifacts travel with their subject, recursively,
# keeping digests, and the fallback tag index is kept at a destination without the API.

bats_require_minimum_version 1.5.0

SIG=application/vnd.dev.cosign.artifact.sig.v1+json
SBOM=application/spdx+json

# api_start NAME [referrersapi.py flags]: a referrers-API proxy in front of registry p;
#   exports NAME_ADDR
api_start() {
	local name=$1 d=$BATS_FILE_TMPDIR
	shift
	"$HARNESS_PY" "$HARNESS_DIR/referrersapi.py" --upstream "$p_URL" --url-file "$d/$name.url" \
		--owner-pid $$ "$@" >"$d/$name.log" 2>&1 3>&- &
	echo $! >"$d/$name.pid"
	wait_until 10 test -s "$d/$name.url" || {
		cat "$d/$name.log" >&2
		return 1
	}
}

addr_of() { sed 's|^http://||' "$BATS_FILE_TMPDIR/$1.url"; }

# art NAME-OF-REGISTRY-URL REPO SUBJECT TYPE SEED [fixture flags]: push an artifact, print its digest
art() {
	local url=$1 repo=$2 subject=$3 type=$4 seed=$5
	shift 5
	fixture artifact "$url" "$repo" --subject "$subject" --artifact-type "$type" --seed "$seed" "$@" |
		awk '{ print $2 }'
}

setup_file() {
	load helpers
	reg_start plain p
	reg_start plain q
	local f=$BATS_FILE_TMPDIR/ids d
	reg_seed p fb/app --tag v1 --format oci --layers 1 --seed ref-app >"$BATS_FILE_TMPDIR/p.fixture"
	reg_seed p fb/multi --tag v1 --format oci --platform linux/amd64 --platform linux/arm64/v8 \
		--layers 1 --seed ref-multi >>"$BATS_FILE_TMPDIR/p.fixture"
	d=$(fixture_digest p fb/app:v1)
	{
		echo "APP=$d"
		# a signature and an SBOM of the image, a signature of the signature (fallback tags kept
		# by the fixture, as a client must without the API)
		s=$(art "$p_URL" fb/app "$d" "$SIG" sig-1 --tag-index --annotation who=ci)
		echo "SIG1=$s"
		echo "SBOM1=$(art "$p_URL" fb/app "$d" "$SBOM" sbom-1 --tag-index)"
		echo "SIGSIG=$(art "$p_URL" fb/app "$s" "$SIG" sigsig-1 --tag-index)"
		m=$(fixture_digest p fb/multi:v1)
		c=$(awk '$1 == "fb/multi:v1@linux/amd64" { print $2 }' "$BATS_FILE_TMPDIR/p.fixture")
		echo "MULTI=$m"
		echo "CHILD=$c"
		echo "MSIG=$(art "$p_URL" fb/multi "$m" "$SIG" msig --tag-index)"
		echo "CSIG=$(art "$p_URL" fb/multi "$c" "$SIG" csig --tag-index)"
	} >"$f"
	if grep -qv '=sha256:[0-9a-f]\{64\}$' "$f"; then
		cat "$f" >&2
		return 1
	fi
	api_start api --page-size 1
	api_start foreign --foreign-link "http://127.0.0.2:9/v2/x/referrers/next"
	api_start broken --malformed
	# through the API proxy: an image and two artifacts it indexes (no fallback tag)
	local api_url
	api_url=$(cat "$BATS_FILE_TMPDIR/api.url")
	d=$(fixture seed "$api_url" ap/app --tag v1 --format oci --layers 1 --seed api-app | awk '{ print $2 }')
	{
		echo "AAPP=$d"
		echo "ASIG=$(art "$api_url" ap/app "$d" "$SIG" asig)"
		echo "ASBOM=$(art "$api_url" ap/app "$d" "$SBOM" asbom)"
	} >>"$f"
	if grep -qv '=sha256:[0-9a-f]\{64\}$' "$f"; then
		cat "$f" >&2
		return 1
	fi
}

teardown_file() {
	local n
	for n in api foreign broken; do
		[[ -f $BATS_FILE_TMPDIR/$n.pid ]] && kill "$(cat "$BATS_FILE_TMPDIR/$n.pid")" 2>/dev/null
	done
	reg_stop_all
}

setup() {
	load helpers
	# shellcheck disable=SC1091
	. "$BATS_FILE_TMPDIR/ids"
	API=$(addr_of api)
}

# digests DIGEST...: sorted, one a line (to compare with what a listing printed)
sorted() { printf '%s\n' "$@" | sort; }

@test "referrers through the fallback tag: every artifact of the image, with its type" {
	run --separate-stderr regship referrers "$p_ADDR/fb/app:v1"
	assert_success
	assert_equal "$(awk '{ print $1 }' <<<"$output" | sort)" "$(sorted "$SIG1" "$SBOM1")"
	assert_output_contains "$SIG1 $SIG "
	assert_output_contains "$SBOM1 $SBOM "
	# a signature of the signature is the signature's referrer, not the image's
	run --separate-stderr regship referrers "$p_ADDR/fb/app@$SIG1"
	assert_success
	assert_equal "$(awk '{ print $1 }' <<<"$output")" "$SIGSIG"
	# an image nothing is attached to: nothing on stdout, a note on stderr
	run --separate-stderr regship referrers "$p_ADDR/fb/app@$SBOM1"
	assert_success
	assert_equal "$output" ""
	[[ $stderr == *"no referrers of $SBOM1"* ]] || fail "stderr: $stderr"
}

@test "referrers --artifact-type and --json (fallback): the schema and the filter" {
	run --separate-stderr regship referrers --json --artifact-type "$SIG" "$p_ADDR/fb/app:v1"
	assert_success
	assert_equal "$(json 'd["subject"]' <<<"$output")" "$APP"
	assert_equal "$(json 'd["method"]' <<<"$output")" tag
	assert_equal "$(json 'd["filtered_by_registry"]' <<<"$output")" false
	assert_equal "$(json '[r["digest"] for r in d["referrers"]]' <<<"$output")" "[\"$SIG1\"]"
	assert_equal "$(json 'd["referrers"][0]["artifact_type"]' <<<"$output")" "$SIG"
	assert_equal "$(json 'd["referrers"][0]["media_type"]' <<<"$output")" application/vnd.oci.image.manifest.v1+json
	assert_equal "$(json 'd["referrers"][0]["annotations"]["who"]' <<<"$output")" ci
	assert_equal "$(json 'type(d["referrers"][0]["size"]).__name__' <<<"$output")" int
	assert_equal "$(json 'sorted(d.keys())' <<<"$output")" \
		'["filtered_by_registry", "method", "reference", "referrers", "subject"]'
	run --separate-stderr regship referrers --json --artifact-type application/none "$p_ADDR/fb/app:v1"
	assert_success
	assert_equal "$(json 'd["referrers"]' <<<"$output")" "[]"
}

@test "referrers through the API (paged by the proxy, one per page); the filter applied by the registry" {
	run --separate-stderr regship referrers --json "$API/ap/app:v1"
	assert_success
	assert_equal "$(json 'd["method"]' <<<"$output")" api
	assert_equal "$(json 'sorted(r["digest"] for r in d["referrers"])' <<<"$output")" \
		"$(json 'sorted(d)' <<<"[\"$ASIG\", \"$ASBOM\"]")"
	run --separate-stderr regship referrers --json --artifact-type "$SBOM" "$API/ap/app:v1"
	assert_success
	assert_equal "$(json '[r["digest"] for r in d["referrers"]]' <<<"$output")" "[\"$ASBOM\"]"
	assert_equal "$(json 'd["filtered_by_registry"]' <<<"$output")" true
	# pushed through the API: no fallback tag was written
	run regship tags "$p_ADDR/ap/app"
	assert_success
	assert_output_not_contains "sha256-"
}

@test "referrers: a Link to another origin is refused, malformed JSON is a clear error" {
	run regship referrers "$(addr_of foreign)/fb/app:v1"
	assert_status 1
	assert_output_contains "another origin"
	assert_output_contains "127.0.0.2:9"
	run regship referrers "$(addr_of broken)/fb/app:v1"
	assert_status 1
	assert_output_contains "referrers of"
	assert_output_contains "invalid JSON"
	run regship referrers --artifact-type "" "$p_ADDR/fb/app:v1"
	assert_status 2
	run regship referrers "$p_ADDR/fb/app:nope"
	assert_status 3
}

@test "copy --referrers to another registry: same digests, sig-of-sig, fallback tags recreated" {
	run regship copy --referrers "$p_ADDR/fb/app:v1" "$q_ADDR/fb/app:v1"
	assert_success
	run regship digest "$q_ADDR/fb/app:v1"
	assert_output_equals "$APP"
	run --separate-stderr regship referrers "$q_ADDR/fb/app:v1"
	assert_success
	assert_equal "$(awk '{ print $1 }' <<<"$output" | sort)" "$(sorted "$SIG1" "$SBOM1")"
	run --separate-stderr regship referrers "$q_ADDR/fb/app@$SIG1"
	assert_equal "$(awk '{ print $1 }' <<<"$output")" "$SIGSIG"
	# regship wrote the fallback tags itself at q (the registry has no API)
	tags=$(reg_tags q fb/app)
	[[ $tags == *"sha256-${APP#sha256:}"* && $tags == *"sha256-${SIG1#sha256:}"* ]] || fail "tags: $tags"
	# the referrers' own bytes: same digests, verifiable
	run regship manifest "$q_ADDR/fb/app@$SIGSIG"
	assert_success
	# again: nothing new (each referrer is already listed in the fallback index)
	run regship copy --referrers "$p_ADDR/fb/app:v1" "$q_ADDR/fb/app:v1"
	assert_success
	run --separate-stderr regship referrers --json "$q_ADDR/fb/app:v1"
	assert_equal "$(json 'len(d["referrers"])' <<<"$output")" 2
}

@test "copy --referrers of an index: the referrers of the index and of its children" {
	run regship copy --referrers "$p_ADDR/fb/multi:v1" "$q_ADDR/fb/multi:v1"
	assert_success
	run --separate-stderr regship referrers "$q_ADDR/fb/multi:v1"
	assert_equal "$(awk '{ print $1 }' <<<"$output")" "$MSIG"
	run --separate-stderr regship referrers "$q_ADDR/fb/multi@$CHILD"
	assert_equal "$(awk '{ print $1 }' <<<"$output")" "$CSIG"
	# without --referrers nothing is attached at the destination
	run regship copy "$p_ADDR/fb/app:v1" "$q_ADDR/plain/app:v1"
	assert_success
	run --separate-stderr regship referrers "$q_ADDR/plain/app:v1"
	assert_equal "$output" ""
}

@test "copy --referrers to a registry with the API: no fallback tag, the API lists them" {
	run regship copy --referrers "$p_ADDR/fb/app:v1" "$API/viaapi/app:v1"
	assert_success
	run --separate-stderr regship referrers --json "$API/viaapi/app:v1"
	assert_equal "$(json 'd["method"]' <<<"$output")" api
	assert_equal "$(json 'sorted(r["digest"] for r in d["referrers"])' <<<"$output")" \
		"$(json 'sorted(d)' <<<"[\"$SIG1\", \"$SBOM1\"]")"
	run regship tags "$p_ADDR/viaapi/app"
	assert_output_not_contains "sha256-"
}

@test "pull --referrers into an OCI layout: extra manifests without a ref name; push --referrers back" {
	local dir=$BATS_TEST_TMPDIR/lay
	run regship pull --referrers "$p_ADDR/fb/app:v1" "oci:$dir:v1"
	assert_success
	run json '[m["digest"] for m in d["manifests"] if "org.opencontainers.image.ref.name" not in (m.get("annotations") or {})]' <"$dir/index.json"
	assert_equal "$(json 'sorted(d)' <<<"$output")" "$(json 'sorted(d)' <<<"[\"$SIG1\", \"$SBOM1\", \"$SIGSIG\"]")"
	verify_layout "$dir" v1 "$APP"
	# the layout's referrers travel on to another registry
	run regship push --referrers "oci:$dir:v1" "$q_ADDR/fromlayout/app:v1"
	assert_success
	run --separate-stderr regship referrers "$q_ADDR/fromlayout/app@$SIG1"
	assert_equal "$(awk '{ print $1 }' <<<"$output")" "$SIGSIG"
	run --separate-stderr regship referrers "$q_ADDR/fromlayout/app:v1"
	assert_equal "$(awk '{ print $1 }' <<<"$output" | sort)" "$(sorted "$SIG1" "$SBOM1")"
}

@test "--referrers and docker archives: a clear error, nothing written" {
	run regship pull --referrers "$p_ADDR/fb/app:v1" "docker-archive:$BATS_TEST_TMPDIR/a.tar"
	assert_failure
	assert_output_contains "docker archive cannot hold referrers"
	assert_file_not_exists "$BATS_TEST_TMPDIR/a.tar"
	# a docker archive source has no referrers to find: refused before anything is pushed
	fixture docker-archive "$BATS_TEST_TMPDIR/src.tar" --repo-tag da/app:v1 --seed da >/dev/null
	run regship push --referrers "docker-archive:$BATS_TEST_TMPDIR/src.tar" "$q_ADDR/da/app:v1"
	assert_failure
	assert_output_contains "not in a docker-archive source"
	run regship tags "$q_ADDR/da/app"
	assert_status 3
}

@test "retag --referrers into another repository: the artifacts follow, same digests" {
	run regship retag --referrers "$p_ADDR/fb/app:v1" "$p_ADDR/other/app:v1"
	assert_success
	run --separate-stderr regship referrers "$p_ADDR/other/app:v1"
	assert_success
	assert_equal "$(awk '{ print $1 }' <<<"$output" | sort)" "$(sorted "$SIG1" "$SBOM1")"
	run --separate-stderr regship referrers "$p_ADDR/other/app@$SIG1"
	assert_equal "$(awk '{ print $1 }' <<<"$output")" "$SIGSIG"
	run regship retag --referrers --semver "$p_ADDR/fb/app:1.0.0"
	assert_status 2
}
