#!/usr/bin/env bats
# --json and --format on the read and delete verbs: digest and rm speak the same field names as
# inspect, tags, catalog, login and logout (regship(1), JSON OUTPUT); --format '{{.Field}}' for
# the single-value cases of inspect and digest; and every verb with --json checked against that
# vocabulary.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	reg_start plain js
	local d=$BATS_FILE_TMPDIR
	reg_seed js js/app --tag v1 --tag other --seed js-v1 >"$d/js.fixture"
	reg_seed js js/app --tag gone --seed js-gone >>"$d/js.fixture"
	reg_seed js js/multi --tag m --format oci --platform linux/amd64 --platform linux/arm64/v8 \
		--seed js-multi >>"$d/js.fixture"
	fixture oci-layout "$d/lay" --tag v1 --seed js-local >"$d/lay.fixture"
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	D=$BATS_FILE_TMPDIR
}

@test "digest --json: reference, digest, media_type, platform (null without --platform)" {
	local ref="$js_ADDR/js/app:v1"
	run --separate-stderr regship digest --json "$ref"
	assert_success
	assert_equal "$(json 'sorted(d)' <<<"$output")" '["digest", "media_type", "platform", "reference"]'
	assert_equal "$(json '[d["reference"], d["digest"], d["media_type"], d["platform"]]' <<<"$output")" \
		"[\"$ref\", \"$(fixture_digest js js/app:v1)\", \"application/vnd.docker.distribution.manifest.v2+json\", null]"
	# the same names and values as inspect --json
	local insp
	insp=$(regship inspect --json "$ref")
	assert_equal "$(json '[d["reference"], d["digest"], d["media_type"]]' <<<"$insp")" \
		"$(json '[d["reference"], d["digest"], d["media_type"]]' <<<"$output")"
	# --platform: the child, its platform as the index writes it
	run --separate-stderr regship digest --json --platform linux/arm64 "$js_ADDR/js/multi:m"
	assert_success
	assert_equal "$(json '[d["digest"], d["media_type"], d["platform"]]' <<<"$output")" \
		"[\"$(fixture_digest js js/multi:m@linux/arm64/v8)\", \"application/vnd.oci.image.manifest.v1+json\", \"linux/arm64/v8\"]"
	# a local layout
	run --separate-stderr regship digest --json "oci:$D/lay:v1"
	assert_success
	assert_equal "$(json 'd["digest"]' <<<"$output")" "$(awk '$1 == "v1" { print $2 }' "$D/lay.fixture")"
	assert_equal "$(json 'd["reference"]' <<<"$output")" "oci:$D/lay:v1"
}

@test "digest --format: {{.Digest}}, {{.MediaType}}, {{.Reference}}, {{.Platform}}; unknown fields are usage errors" {
	run --separate-stderr regship digest --format '{{.Digest}} {{ .MediaType }}' "$js_ADDR/js/multi:m"
	assert_success
	assert_output_equals "$(fixture_digest js js/multi:m) application/vnd.oci.image.index.v1+json"
	run --separate-stderr regship digest --format 'p={{.Platform}} r={{.Reference}}' --platform linux/amd64 "$js_ADDR/js/multi:m"
	assert_success
	assert_output_equals "p=linux/amd64 r=$js_ADDR/js/multi:m"
	# checked before any request: nothing listens on port 1
	run regship digest --format '{{.Size}}' 127.0.0.1:1/js/app:v1
	assert_status 2
	assert_output_contains '.Size'
	assert_output_contains 'known: .Reference .Digest .MediaType .Platform'
	run regship digest --format '{{.Digest' 127.0.0.1:1/js/app:v1
	assert_status 2
	run regship digest --json --format '{{.Digest}}' 127.0.0.1:1/js/app:v1
	assert_status 2
	assert_output_contains "exclude each other"
	# a value a registry sent is printed escaped, never as raw control characters
	run --separate-stderr regship inspect --format '{{.Digest}}' "$js_ADDR/js/app:v1"
	assert_output_equals "$(fixture_digest js js/app:v1)"
}

@test "rm --json: reference, repository, tag, digest, deleted, tags" {
	local d
	d=$(fixture_digest js js/app:gone)
	run --separate-stderr regship rm --json "$js_ADDR/js/app:gone"
	assert_success
	assert_equal "$(json 'sorted(d)' <<<"$output")" '["deleted", "digest", "reference", "repository", "tag", "tags"]'
	assert_equal "$(json '[d["reference"], d["repository"], d["tag"], d["digest"], d["deleted"], d["tags"]]' <<<"$output")" \
		"[\"$js_ADDR/js/app@$d\", \"$js_ADDR/js/app\", \"gone\", \"$d\", true, [\"gone\"]]"
	# a refusal prints the same object, deleted false
	run --separate-stderr regship rm --json "$js_ADDR/js/app:v1"
	assert_status 1
	assert_equal "$(json '[d["deleted"], sorted(d["tags"]), d["digest"]]' <<<"$output")" \
		"[false, [\"other\", \"v1\"], \"$(fixture_digest js js/app:v1)\"]"
}

@test "one vocabulary: repository, registry, digest mean the same in every verb's JSON" {
	local repo="$js_ADDR/js/app"
	run --separate-stderr regship tags --json "$repo"
	assert_equal "$(json 'd["repository"]' <<<"$output")" "$repo"
	run --separate-stderr regship catalog --json "$js_ADDR"
	assert_equal "$(json 'd["registry"]' <<<"$output")" "$js_ADDR"
	run --separate-stderr regship logout --json "$js_ADDR"
	assert_equal "$(json 'd["registry"]' <<<"$output")" "$js_ADDR"
	run --separate-stderr regship check-base --json "$repo:v1" "$repo:v1"
	assert_success
	assert_equal "$(json '[d["reference"], d["digest"], d["base"]["digest"]]' <<<"$output")" \
		"[\"$repo:v1\", \"$(fixture_digest js js/app:v1)\", \"$(fixture_digest js js/app:v1)\"]"
}

# vocabulary VERB ADDR: the JSON object on stdin follows regship(1) JSON OUTPUT: lower-case
# names with underscores (labels and annotations are the image's own), and the shared names hold
# the same kind of value in every verb (failed: a list of what failed; NAME_count: a count;
# deleted, up_to_date, ...: booleans). Prints what is wrong, nothing when all is well.
vocabulary() {
	"${HARNESS_PY_STDLIB[@]}" -c '
import json, re, sys
verb, addr = sys.argv[1:3]
d = json.load(sys.stdin)
digest = re.compile(r"sha256:[0-9a-f]{64}")
rules = {
    "repository": lambda v: re.fullmatch(re.escape(addr) + r"/[a-z0-9._/-]+", v),
    "registry": lambda v: v == addr,
    "reference": lambda v: v.startswith(addr + "/") or v.startswith("oci:"),
    "tag": lambda v: re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", v),
    # names; retag alone lists one object per tag it wrote (regship(1): retag)
    "tags": lambda v: all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", t) if verb != "retag"
                          else isinstance(t, dict) for t in v),
    "digest": lambda v: digest.fullmatch(v),
    "subject": lambda v: digest.fullmatch(v),
    "media_type": lambda v: re.fullmatch(r"application/[a-z0-9.+-]+", v),
    "platform": lambda v: re.fullmatch(r"[a-z0-9]+/[a-z0-9_]+(/[a-z0-9.]+)?", v),
    "size": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    "failed": lambda v: isinstance(v, list) and all("error" in f for f in v),
    # where an image came from or went: a reference or location, not a word such as "api"
    "source": lambda v: ":" in v or "/" in v,
    "destination": lambda v: ":" in v or "/" in v,
}
count = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0
for k in ("deleted", "up_to_date", "dry_run", "logged_in", "removed", "rate_limited", "done"):
    rules[k] = lambda v: isinstance(v, bool)
bad, seen = [], set()
def walk(o, path):
    if isinstance(o, dict):
        for k, v in o.items():
            where = "/".join(path + [k])
            if not re.fullmatch(r"[a-z][a-z0-9_]*", k):
                bad.append("name %s" % where)
            rule = rules.get(k, count if k.endswith("_count") else None)
            if rule and v is not None:
                seen.add(k)
                try:
                    ok = rule(v)
                except Exception:
                    ok = False
                if not ok:
                    bad.append("%s = %s" % (where, json.dumps(v)))
            if k not in ("labels", "annotations"):
                walk(v, path + [k])
    elif isinstance(o, list):
        for x in o:
            walk(x, path + ["[]"])
walk(d, [])
if not seen & {"repository", "registry", "reference", "digest"}:
    bad.append("none of repository, registry, reference, digest")
for b in bad:
    print("%s --json: %s" % (verb, b))' "$1" "$2"
}

@test "every verb with --json: lower-case names, and each shared name holds the same kind of value" {
	local a=$js_ADDR verb wrong="" covered=()
	check() { # VERB ARGS...: run it with --json, check its object
		local v=$1
		shift
		run --separate-stderr regship "$v" --json "$@"
		[[ $status -eq 0 ]] || fail "$v --json $*: exit $status" "$stderr"
		local out
		out=$(vocabulary "$v" "$a" <<<"$output")
		[[ -z $out ]] || wrong+="$out"$'\n'
		covered+=("$v")
	}
	check push "oci:$D/lay:v1" "$a/js/vocp:v1"
	check copy "$a/js/app:v1" "$a/js/voc:v1"
	check pull "$a/js/voc:v1" "oci:$D/vocpull:v1"
	check retag "$a/js/voc:v1" r1
	check untag "$a/js/voc:r1"
	check sync "$a/js/voc" "$a/vocsync"
	check prune --dry-run --keep 1 "$a/js/voc"
	check referrers "$a/js/voc:v1"
	check ratelimit "$a/js/voc:v1"
	check check-base "$a/js/voc:v1" "$a/js/app:v1"
	check inspect "$a/js/multi:m"
	check digest --platform linux/arm64 "$a/js/multi:m"
	check tags "$a/js/voc"
	check catalog "$a"
	check login -u someone --password-stdin "$a" <<<"any"
	check logout "$a"
	check rm --force "$a/vocsync/voc:v1"
	[[ -z $wrong ]] || fail "JSON outside the vocabulary of regship(1)" "$wrong"
	# every verb whose -h offers --json is covered above
	local listed=()
	for verb in $(regship -h | awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'); do
		regship "$verb" -h | grep -q -- '--json' && listed+=("$verb")
	done
	[[ ${#listed[@]} -ge 15 ]] || fail "too few verbs with --json in -h: ${listed[*]}"
	assert_equal "$(printf '%s\n' "${covered[@]}" | sort | tr '\n' ' ')" "$(printf '%s\n' "${listed[@]}" | sort | tr '\n' ' ')"
}
