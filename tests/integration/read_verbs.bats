#!/usr/bin/env bats
# The read and delete verbs (tags, manifest, digest, catalog, rm) against every registry variant:
# plain HTTP, TLS (harness CA), htpasswd (Basic) and token (Bearer). Each registry serves
# /v2/_catalog in pages of 2 (catalog.maxentries), so every catalog call follows Link headers.

bats_require_minimum_version 1.5.0

VARIANTS="plain tls basic tok"
DOCKER_V2=application/vnd.docker.distribution.manifest.v2+json
SCHEMA1_SIGNED=application/vnd.docker.distribution.manifest.v1+prettyjws
FULL_ACCEPT="application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json"
# every repository seeded below, in the (lexical) order the registry lists them
CATALOG="verbs/app verbs/cat0000 verbs/cat0001 verbs/cat0002 verbs/multi verbs/paged verbs/rm"
PAGED_TAGS="p1 p2 p3 p4 p5 p6 p7"

# put_compact NAME REPO SRC DST: fetch manifest SRC (docker schema 2) and push it re-serialised as
# compact JSON under tag DST; the bytes go to $BATS_FILE_TMPDIR/NAME.compact, "REPO:DST DIGEST"
# (the registry's Docker-Content-Digest) to stdout
put_compact() {
	local name=$1 url_var="${1}_URL" ca_var="${1}_CA" user_var="${1}_USER" pass_var="${1}_PASS"
	"$HARNESS_PY" - "$HARNESS_DIR" "${!url_var}" "${!user_var:-}" "${!pass_var:-}" "${!ca_var:-}" \
		"$2" "$3" "$4" "$BATS_FILE_TMPDIR/$name.compact" <<'EOF'
import json, sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import reglib
url, user, pw, ca, repo, src, dst, out = sys.argv[2:]
c = reglib.RegistryClient(url, user or None, pw or None, ca or None)
r = c.request("GET", "/v2/%s/manifests/%s" % (repo, src),
              headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
body, mt = r.read(), r.header("Content-Type")
data = json.dumps(json.loads(body), separators=(",", ":")).encode()
assert data != body, "the fixture manifest is already compact"
r = c.request("PUT", "/v2/%s/manifests/%s" % (repo, dst), body=data, headers={"Content-Type": mt})
r.read()
if r.status != 201:
    sys.exit("PUT %s:%s answered %d" % (repo, dst, r.status))
open(out, "wb").write(data)
print("%s:%s %s" % (repo, dst, r.header("Docker-Content-Digest")))
EOF
}

# seed_variant NAME: push the images every test below uses (the independent ones at once) and
# collect the digests in $BATS_FILE_TMPDIR/NAME.fixture
seed_variant() {
	local v=$1 out="$BATS_FILE_TMPDIR/$1.seed" pids=() p
	mkdir -p "$out"
	# distinct content per registry, so answers from the wrong place do not match
	{
		reg_seed $v verbs/app --tag v1 --tag latest --seed "app-$v" &&
			put_compact $v verbs/app v1 compact
	} >"$out/app" &
	pids+=($!)
	reg_seed $v verbs/app --tag oci1 --format oci --seed "oci-$v" >"$out/oci" &
	pids+=($!)
	reg_seed $v verbs/multi --tag m --format oci --platform linux/amd64 \
		--platform linux/arm64/v8 --seed "multi-$v" >"$out/multi" &
	pids+=($!)
	reg_seed $v x --repos 3 --repo-prefix verbs/cat --seed "cat-$v" >"$out/cat" &
	pids+=($!)
	reg_seed $v verbs/paged $(printf -- '--tag %s ' $PAGED_TAGS) --seed "paged-$v" >"$out/paged" &
	pids+=($!)
	# rm: a+b share a manifest; d is alone; e is pushed twice (the first one stays, untagged);
	# f is alone, removed by digest
	reg_seed $v verbs/rm --tag a --tag b --seed "rm-ab-$v" >"$out/rm-ab" &
	pids+=($!)
	reg_seed $v verbs/rm --tag d --seed "rm-d-$v" >"$out/rm-d" &
	pids+=($!)
	{
		reg_seed $v verbs/rm --tag e --seed "rm-e-old-$v" >"$out.e-old" &&
			sed "s#^verbs/rm:e #verbs/rm:e-old #" "$out.e-old" &&
			reg_seed $v verbs/rm --tag e --seed "rm-e-$v"
	} >"$out/rm-e" &
	pids+=($!)
	reg_seed $v verbs/rm --tag f --seed "rm-f-$v" >"$out/rm-f" &
	pids+=($!)
	for p in "${pids[@]}"; do
		wait "$p" || return 1
	done
	cat "$out"/* >"$BATS_FILE_TMPDIR/$v.fixture"
}

setup_file() {
	load helpers
	local v
	reg_start plain plain --catalog-maxentries 2
	reg_start tls tls --catalog-maxentries 2
	reg_start htpasswd basic --catalog-maxentries 2
	reg_start token tok --catalog-maxentries 2
	# the registries are independent: seed them in parallel
	for v in $VARIANTS; do
		seed_variant $v >"$BATS_FILE_TMPDIR/$v.seed.log" 2>&1 &
	done
	for v in $VARIANTS; do
		wait -n || {
			cat "$BATS_FILE_TMPDIR"/*.seed.log >&2
			return 1
		}
	done
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	# FIXTURE[NAME REPO:TAG[@PLATFORM]]=digest, from what setup_file's seeds printed
	declare -gA FIXTURE=()
	local v k d
	for v in $VARIANTS; do
		while read -r k d; do FIXTURE["$v $k"]=$d; done <"$BATS_FILE_TMPDIR/$v.fixture"
	done
}

# fd NAME REPO:TAG[@PLATFORM]: the digest the fixture printed for it
fd() {
	local d=${FIXTURE["$1 $2"]:-}
	[[ $d == sha256:* ]] || fail "no fixture digest for $2 on $1"
	echo "$d"
}

# curl_reg NAME SCOPE CURL-ARGS...: curl with registry NAME's CA and admin credentials (a Bearer
# token for SCOPE from its token server on the token variant)
curl_reg() {
	local name=$1 scope=$2 ca_var="${1}_CA" user_var="${1}_USER" pass_var="${1}_PASS"
	local realm_var="${1}_TOKEN_URL" svc_var="${1}_TOKEN_SERVICE" t
	shift 2
	local -a a=()
	[[ -z ${!ca_var:-} ]] || a+=(--cacert "${!ca_var}")
	if [[ -n ${!realm_var:-} ]]; then
		t=$(curl -sf -u "${!user_var}:${!pass_var}" \
			"${!realm_var}?service=${!svc_var}&scope=$scope" |
			sed -nE 's/.*"token": *"([^"]+)".*/\1/p') || return 1
		[[ -n $t ]] || fail "no token from ${!realm_var}"
		a+=(-H "Authorization: Bearer $t")
	elif [[ -n ${!user_var:-} ]]; then
		a+=(-u "${!user_var}:${!pass_var}")
	fi
	curl -s "${a[@]}" "$@"
}

# head_manifest NAME REPO REF [ACCEPT]: "STATUS CONTENT-TYPE DIGEST" of a HEAD (no Accept header
# at all when ACCEPT is not given)
head_manifest() {
	local url_var="${1}_URL" accept=${4:-}
	curl_reg "$1" "repository:$2:pull" -I -H "Accept:${accept:+ $accept}" \
		"${!url_var}/v2/$2/manifests/$3" | tr -d '\r' | awk '
		NR == 1 { status = $2 }
		tolower($1) == "content-type:" { ct = $2 }
		tolower($1) == "docker-content-digest:" { dg = $2 }
		END { print status, (ct ? ct : "-"), (dg ? dg : "-") }'
}

# sorted words of $1, one per line
words() {
	tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort
}

@test "tags: every tag once, one per line and as --json; a missing repository is exit 3" {
	local v want
	want=$(words "v1 latest oci1 compact")
	for v in $VARIANTS; do
		echo "# variant $v"
		run --separate-stderr regship_on $v tags "$(reg_addr $v)/verbs/app"
		assert_success
		assert_equal "$(sort <<<"$output")" "$want" "$v: tags"
		assert_equal "$stderr" "" "$v: stderr of tags"
		run --separate-stderr regship_on $v tags --json "$(reg_addr $v)/verbs/app"
		assert_success
		assert_equal "$(json 'd["repository"]' <<<"$output")" "$(reg_addr $v)/verbs/app" "$v: --json repository"
		assert_equal "$(json '"\n".join(sorted(d["tags"]))' <<<"$output")" "$want" "$v: --json tags"
		assert_equal "$(json 'sorted(d)' <<<"$output")" '["repository", "tags"]' "$v: --json keys"
		run regship_on $v tags "$(reg_addr $v)/verbs/nope"
		assert_status 3
		assert_output_contains "verbs/nope"
	done
}

@test "manifest: stdout is exactly the stored bytes (docker, OCI, index, compact JSON), by tag and digest" {
	local v ref out="$BATS_TEST_TMPDIR/out"
	for v in $VARIANTS; do
		echo "# variant $v"
		for ref in verbs/app:v1 verbs/app:oci1 verbs/multi:m verbs/app:compact; do
			regship_on $v manifest "$(reg_addr $v)/$ref" >"$out" || fail "$v: manifest $ref failed"
			assert_equal "$(sha256_of "$out")" "$(fd $v $ref)" "$v: sha256 of manifest $ref"
			regship_on $v manifest "$(reg_addr $v)/${ref%%:*}@$(fd $v $ref)" >"$out" ||
				fail "$v: manifest ${ref%%:*}@digest failed"
			assert_equal "$(sha256_of "$out")" "$(fd $v $ref)" "$v: sha256 of manifest by digest"
		done
		# a client that re-serialises the JSON would not give back the compact bytes
		regship_on $v manifest "$(reg_addr $v)/verbs/app:compact" >"$out"
		cmp "$out" "$BATS_FILE_TMPDIR/$v.compact"
		run regship_on $v manifest "$(reg_addr $v)/verbs/app:nope"
		assert_status 3
		assert_output_contains "verbs/app:nope"
		run regship_on $v manifest "$(reg_addr $v)/verbs/app@sha256:$(printf '%064d' 0)"
		assert_status 3
	done
}

@test "manifest --pretty indents the JSON and keeps its content" {
	local v out="$BATS_TEST_TMPDIR/out"
	for v in $VARIANTS; do
		echo "# variant $v"
		regship_on $v manifest --pretty "$(reg_addr $v)/verbs/app:compact" >"$out" ||
			fail "$v: manifest --pretty failed"
		[[ $(wc -l <"$out") -gt 10 ]] || fail "$v: --pretty output is not multi-line" "$(cat "$out")"
		grep -qE '^[[:space:]]+"layers": \[' "$out" || fail "$v: --pretty output not indented" "$(cat "$out")"
		"$HARNESS_PY" -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
sys.exit(a != b)' "$out" "$BATS_FILE_TMPDIR/$v.compact" || fail "$v: --pretty changed the JSON content"
		[[ $(sha256_of "$out") != "$(fd $v verbs/app:compact)" ]]
		# --pretty on an index with --platform pretty-prints the child
		regship_on $v manifest --pretty --platform linux/amd64 "$(reg_addr $v)/verbs/multi:m" >"$out"
		assert_equal "$(json 'd["config"]["mediaType"]' <"$out")" application/vnd.oci.image.config.v1+json
		assert_equal "$(json 'd["mediaType"]' <"$out")" application/vnd.oci.image.manifest.v1+json
	done
}

@test "manifest --platform picks the child of an index; an absent platform lists the available ones" {
	local v out="$BATS_TEST_TMPDIR/out"
	for v in $VARIANTS; do
		echo "# variant $v"
		regship_on $v manifest --platform linux/arm64/v8 "$(reg_addr $v)/verbs/multi:m" >"$out"
		assert_equal "$(sha256_of "$out")" "$(fd $v verbs/multi:m@linux/arm64/v8)" "$v: linux/arm64/v8"
		regship_on $v manifest --platform linux/amd64 "$(reg_addr $v)/verbs/multi:m" >"$out"
		assert_equal "$(sha256_of "$out")" "$(fd $v verbs/multi:m@linux/amd64)" "$v: linux/amd64"
		# arm64 without a variant means arm64/v8 (containerd's normalisation)
		regship_on $v manifest --platform linux/arm64 "$(reg_addr $v)/verbs/multi:m" >"$out"
		assert_equal "$(sha256_of "$out")" "$(fd $v verbs/multi:m@linux/arm64/v8)" "$v: linux/arm64"
		run --separate-stderr regship_on $v manifest --platform linux/s390x "$(reg_addr $v)/verbs/multi:m"
		assert_status 3
		assert_equal "$output" "" "$v: stdout of a failed --platform"
		[[ $stderr == *"linux/s390x"* && $stderr == *"linux/amd64, linux/arm64/v8"* ]] ||
			fail "$v: message should name the platform and list the available ones: $stderr"
		run regship_on $v manifest --platform linux "$(reg_addr $v)/verbs/multi:m"
		assert_status 2
		assert_output_contains 'invalid platform "linux"'
	done
	# on a single-platform manifest --platform selects nothing: a warning, and the manifest itself
	run --separate-stderr regship manifest --platform linux/arm64 "$plain_ADDR/verbs/app:v1"
	assert_success
	assert_equal "$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" "$(fd plain verbs/app:v1 | cut -d: -f2)"
	[[ $stderr == *"not an index"* ]] || fail "expected a warning about a single-platform manifest: $stderr"
}

@test "digest: the registry's Docker-Content-Digest for the pushed bytes, by tag and by digest" {
	local v ref
	for v in $VARIANTS; do
		echo "# variant $v"
		for ref in verbs/app:v1 verbs/app:oci1 verbs/multi:m verbs/app:compact verbs/rm:e; do
			run --separate-stderr regship_on $v digest "$(reg_addr $v)/$ref"
			assert_success
			assert_equal "$output" "$(fd $v $ref)" "$v: digest $ref"
			# and what a HEAD with the full Accept list reports
			read -r status ct dg < <(head_manifest $v "${ref%%:*}" "${ref#*:}" "$FULL_ACCEPT")
			assert_equal "$status $dg" "200 $(fd $v $ref)" "$v: HEAD $ref with the full Accept"
		done
		run regship_on $v digest "$(reg_addr $v)/verbs/rm@$(fd $v verbs/rm:e-old)"
		assert_success
		assert_output_equals "$(fd $v verbs/rm:e-old)"
		run regship_on $v digest "$(reg_addr $v)/verbs/app:nope"
		assert_status 3
	done
}

@test "digest differs from what distribution 2.8 reports for a HEAD without Accept (it converts)" {
	local v d
	for v in $VARIANTS; do
		echo "# variant $v"
		d=$(regship_on $v digest "$(reg_addr $v)/verbs/app:v1")
		assert_equal "$d" "$(fd $v verbs/app:v1)"
		# by tag, a schema 2 manifest is converted to a signed schema 1 document on the fly
		read -r status ct noaccept < <(head_manifest $v verbs/app v1)
		assert_equal "$status $ct" "200 $SCHEMA1_SIGNED" "$v: HEAD without Accept"
		[[ $noaccept == sha256:* && $noaccept != "$d" ]] ||
			fail "$v: expected another digest without Accept, got '$noaccept' (regship: $d)"
		# deleting by that digest would not find anything; by digest nothing is converted
		read -r status ct dg < <(head_manifest $v verbs/app "$noaccept" "$FULL_ACCEPT")
		assert_equal "$status" 404 "$v: HEAD of the converted digest"
		assert_equal "$(head_manifest $v verbs/app "$d")" "200 $DOCKER_V2 $d"
		# an OCI index is not converted: without OCI types in Accept it is simply not found
		read -r status ct noaccept < <(head_manifest $v verbs/multi m)
		assert_equal "$status" 404 "$v: HEAD of an OCI index without Accept"
		run regship_on $v digest "$(reg_addr $v)/verbs/multi:m"
		assert_output_equals "$(fd $v verbs/multi:m)"
	done
}

@test "digest matches skopeo inspect on the same images" {
	command -v skopeo >/dev/null || skip "skopeo not installed"
	local v ref s certs="$BATS_FILE_TMPDIR/skopeo-certs"
	mkdir -p "$certs"
	cp "$tls_CA" "$certs/ca.crt"
	for v in $VARIANTS; do
		echo "# variant $v"
		local -a sk=(--tls-verify=false)
		[[ $v != tls ]] || sk=(--cert-dir "$certs")
		local user_var="${v}_USER" pass_var="${v}_PASS"
		[[ -z ${!user_var:-} ]] || sk+=(--creds "${!user_var}:${!pass_var}")
		for ref in verbs/app:v1 verbs/app:oci1 verbs/multi:m verbs/app:compact; do
			s=$(HOME="$BATS_FILE_TMPDIR/skopeo-home" XDG_RUNTIME_DIR="$BATS_FILE_TMPDIR/skopeo-home" \
				REGISTRY_AUTH_FILE="$BATS_FILE_TMPDIR/skopeo-home/auth.json" \
				skopeo inspect "${sk[@]}" --format '{{.Digest}}' "docker://$(reg_addr $v)/$ref") ||
				fail "$v: skopeo inspect $ref failed"
			[[ $s == sha256:* ]] || fail "$v: skopeo printed '$s'"
			run regship_on $v digest "$(reg_addr $v)/$ref"
			assert_success
			assert_output_equals "$s"
		done
	done
}

@test "catalog: every repository, plain and --json, across several pages" {
	local v want
	want=$(words "$CATALOG")
	for v in $VARIANTS; do
		echo "# variant $v"
		reg_log_mark $v
		run --separate-stderr regship_on $v catalog "$(reg_addr $v)"
		assert_success
		assert_equal "$output" "$want" "$v: catalog"
		assert_equal "$stderr" "" "$v: stderr of catalog"
		# 7 repositories, 2 a page: the registry really paginated, and each page was asked for once
		run reg_requests $v
		[[ $(grep -c '^GET /v2/_catalog?last=[^ ]* 200$' <<<"$output") -eq 3 ]] ||
			fail "$v: expected 3 follow-up catalog pages" "$output"
		[[ $(grep -c '^GET /v2/_catalog' <<<"$output" | tr -d ' ') -le 5 ]] ||
			fail "$v: too many catalog requests" "$output"
		run --separate-stderr regship_on $v catalog --json "$(reg_addr $v)"
		assert_success
		assert_equal "$(json 'd["registry"]' <<<"$output")" "$(reg_addr $v)"
		assert_equal "$(json '"\n".join(d["repositories"])' <<<"$output")" "$want" "$v: --json"
	done
}

@test "tags follows Link pagination (proxy, 2 tags a page): every tag exactly once" {
	local v n count px
	for v in $VARIANTS; do
		echo "# variant $v"
		count="$BATS_FILE_TMPDIR/pager-$v.jsonl"
		local url_var="${v}_URL" ca_var="${v}_CA"
		proxy_start "pager_$v" "${!url_var}" --paginate 2 --count "$count" \
			${!ca_var:+--upstream-ca "${!ca_var}"}
		px="pager_${v}_ADDR"
		# the proxy speaks plain HTTP; the CA is not needed but harmless
		run --separate-stderr regship_on $v tags "${!px}/verbs/paged"
		assert_success
		assert_equal "$output" "$(words "$PAGED_TAGS")" "$v: tags through the paginating proxy"
		n=$(jsonl_count "$count" 'd["method"] == "GET" and d["path"].startswith("/v2/verbs/paged/tags/list") and d["status"] == 200')
		[[ $n -eq 4 ]] || fail "$v: expected 4 pages of tags, the proxy saw $n" "$(cat "$count")"
		[[ $(jsonl_count "$count" '"last=p6" in d["path"] and d["status"] == 200') -eq 1 ]]
		run --separate-stderr regship_on $v tags --json "${!px}/verbs/paged"
		assert_success
		assert_equal "$(json 'd["tags"]' <<<"$output")" '["p1", "p2", "p3", "p4", "p5", "p6", "p7"]'
	done
}

@test "rm: refuses when other tags share the manifest, --force removes them all, digests work" {
	local v a
	for v in $VARIANTS; do
		echo "# variant $v"
		a=$(reg_addr $v)
		# a and b share a manifest: refused, exit 1, the other tag named, nothing deleted
		run --separate-stderr regship_on $v rm "$a/verbs/rm:a"
		assert_status 1
		[[ $stderr == *"refusing to delete $a/verbs/rm@$(fd $v verbs/rm:a)"* ]] ||
			fail "$v: refusal should name the digest: $stderr"
		[[ $stderr == *"tagged b"* && $stderr == *"--force"* ]] ||
			fail "$v: refusal should list tag b and mention --force: $stderr"
		[[ $stderr != *"tagged a"* ]] || fail "$v: the tag being removed is not another tag: $stderr"
		run regship_on $v tags "$a/verbs/rm"
		assert_equal "$(sort <<<"$output")" "$(words "a b d e f")" "$v: nothing deleted"

		# a missing tag is not found
		run regship_on $v rm "$a/verbs/rm:nope"
		assert_status 3
		assert_output_contains "verbs/rm:nope"

		# a manifest no tag points at any more, by digest: deleted without --force
		run --separate-stderr regship_on $v rm "$a/verbs/rm@$(fd $v verbs/rm:e-old)"
		assert_success
		assert_output_equals "deleted $a/verbs/rm@$(fd $v verbs/rm:e-old)"
		run regship_on $v manifest "$a/verbs/rm@$(fd $v verbs/rm:e-old)"
		assert_status 3
		run regship_on $v digest "$a/verbs/rm:e"
		assert_output_equals "$(fd $v verbs/rm:e)"

		# a digest that tag f points at: refused, then --force deletes it and f with it
		run regship_on $v rm "$a/verbs/rm@$(fd $v verbs/rm:f)"
		assert_status 1
		assert_output_contains "tagged f"
		run --separate-stderr regship_on $v rm --force "$a/verbs/rm@$(fd $v verbs/rm:f)"
		assert_success
		assert_equal "$output" "deleted $a/verbs/rm@$(fd $v verbs/rm:f)"$'\n'"untagged $a/verbs/rm:f"
		run regship_on $v manifest "$a/verbs/rm:f"
		assert_status 3

		# the only tag on its manifest: no confirmation needed
		run --separate-stderr regship_on $v rm "$a/verbs/rm:d"
		assert_success
		assert_equal "$output" "deleted $a/verbs/rm@$(fd $v verbs/rm:d)"$'\n'"untagged $a/verbs/rm:d"

		# --force on a shared manifest: both tags go
		run --separate-stderr regship_on $v rm -f "$a/verbs/rm:a"
		assert_success
		[[ ${lines[0]} == "deleted $a/verbs/rm@$(fd $v verbs/rm:a)" ]] || fail "$v: $output"
		assert_output_contains "untagged $a/verbs/rm:a"
		assert_output_contains "untagged $a/verbs/rm:b"
		[[ ${#lines[@]} -eq 3 ]] || fail "$v: expected 3 lines: $output"
		run regship_on $v tags "$a/verbs/rm"
		assert_success
		assert_output_equals e
		run regship_on $v manifest "$a/verbs/rm@$(fd $v verbs/rm:a)"
		assert_status 3
		run regship_on $v rm --force "$a/verbs/rm:b"
		assert_status 3
	done
}

@test "tls: without the CA every verb fails with a TLS error naming --ca-cert; --insecure skips it" {
	local cmd
	for cmd in "tags $tls_ADDR/verbs/app" "manifest $tls_ADDR/verbs/app:v1" \
		"digest $tls_ADDR/verbs/app:v1" "catalog $tls_ADDR" "rm $tls_ADDR/verbs/app:v1"; do
		echo "# $cmd"
		# shellcheck disable=SC2086
		run regship $cmd
		assert_status 1
		assert_output_contains "TLS"
		assert_output_contains "--ca-cert"
		assert_output_contains "$tls_ADDR"
	done
	# nothing was deleted, and the CA from docker's certs.d layout works too
	mkdir -p "$BATS_TEST_TMPDIR/certs.d/$tls_ADDR"
	cp "$tls_CA" "$BATS_TEST_TMPDIR/certs.d/$tls_ADDR/ca.crt"
	REGSHIP_CERTS_D="$BATS_TEST_TMPDIR/certs.d" run regship digest "$tls_ADDR/verbs/app:v1"
	assert_success
	assert_output_equals "$(fd tls verbs/app:v1)"
	run regship --insecure tags "$tls_ADDR/verbs/app"
	assert_success
	assert_equal "$(sort <<<"$output")" "$(words "v1 latest oci1 compact")"
}
