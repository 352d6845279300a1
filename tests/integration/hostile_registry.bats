#!/usr/bin/env bats
# Registry answers regship must reject, with a clear error and exit status 1 (and nothing written
# where the image was going): manifests over 4 MiB (with and without Content-Length), JSON nested
# 100000 deep, a Content-Length longer or shorter than the body, a Docker-Content-Digest that is
# not the bytes', an upload Location on another origin. And credentials: a blob GET redirected
# through several loopback origins never carries Authorization there (each hop records the
# headers it got), while the bytes still arrive and verify.
# The hostile answers come from tests/harness/faultproxy.py --hostile MODE; the hops are
# faultproxy.py --hop and proxy.py --recorder.

setup_file() {
	load helpers
	reg_start plain reg
	reg_start token tok
	export W="$BATS_FILE_TMPDIR/work"
	mkdir -p "$W"
	fixture seed "$reg_URL" hostile/app --tag v1 --layers 2 --layer-size 16K --seed hostile \
		--format oci >"$W/app.out"
	fixture seed "$tok_URL" redir/app --tag v1 --layers 2 --layer-size 40K --seed redir \
		--format oci --user "$tok_USER:$tok_PASS" >"$W/redir.out"
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
	APP=$(cut -d' ' -f2 "$W/app.out")
	REDIR=$(cut -d' ' -f2 "$W/redir.out")
}

# hostile_fired NAME MODE: proxy NAME logged at least one MODE answer
hostile_fired() {
	local f="${1}_FAULTS" n
	n=$(jsonl_count "${!f}" "d['kind'] == '$2'")
	[[ $n -ge 1 ]] || fail "proxy $1 never sent a $2 answer"
}

# no_pull_left DIR: a failed pull into the fresh layout DIR left no image in it
no_pull_left() {
	if [[ -e $1/index.json ]]; then
		assert_equal "$(json 'len(d["manifests"])' <"$1/index.json")" 0 "images in $1 after a failed pull"
	fi
}

# pull_rejected NAME MESSAGE_REGEX: pulling hostile/app:v1 through proxy NAME to a layout and to an
#   archive fails with exit status 1 and MESSAGE_REGEX, leaving nothing behind
pull_rejected() {
	local addr="${1}_ADDR"
	run regship pull "${!addr}/hostile/app:v1" oci:"$T/$1-lay":v1
	assert_failure 1
	assert_output_matches "regship: $2"
	no_pull_left "$T/$1-lay"
	run regship pull "${!addr}/hostile/app:v1" oci-archive:"$T/$1.tar":v1
	assert_failure 1
	assert_output_matches "regship: $2"
	assert_file_not_exists "$T/$1.tar"
	run ls -A "$T"
	assert_output_not_contains "$1.tar"
}

@test "a manifest over 4 MiB (Content-Length) is refused: 'larger than 4 MiB'" {
	faultproxy_start big "$reg_URL" --hostile big-manifest
	run regship manifest "$big_ADDR/hostile/app:v1"
	assert_failure 1
	assert_output_contains "regship: manifest $big_ADDR/hostile/app:v1 is larger than 4 MiB"
	[[ $(wc -l <<<"$output") -eq 1 ]] || fail "expected only the error line, got: ${output:0:300}"
	pull_rejected big "manifest .*hostile/app:v1 is larger than 4 MiB"
	hostile_fired big big-manifest
}

@test "a manifest over 4 MiB sent chunked (no Content-Length) is refused as well" {
	faultproxy_start bigc "$reg_URL" --hostile big-manifest-chunked
	run regship manifest "$bigc_ADDR/hostile/app:v1"
	assert_failure 1
	assert_output_contains "regship: manifest $bigc_ADDR/hostile/app:v1 is larger than 4 MiB"
	[[ $(wc -l <<<"$output") -eq 1 ]] || fail "expected only the error line, got: ${output:0:300}"
	pull_rejected bigc "manifest .*hostile/app:v1 is larger than 4 MiB"
	hostile_fired bigc big-manifest-chunked
}

@test "a manifest of JSON nested 100000 deep is refused as too deeply nested, without a crash" {
	faultproxy_start deep "$reg_URL" --hostile deep-json
	pull_rejected deep "manifest .*nested deeper than [0-9]+ levels"
	run regship copy "$deep_ADDR/hostile/app:v1" "$reg_ADDR/hostile/deep-copy:v1"
	assert_failure 1
	assert_output_matches "nested deeper than [0-9]+ levels"
	run curl -s -o /dev/null -w '%{http_code}' -H "Accept: $MANIFEST_ACCEPT" "$reg_URL/v2/hostile/deep-copy/manifests/v1"
	assert_output_equals 404
	hostile_fired deep deep-json
}

@test "a Content-Length longer than the body: 'transfer closed with 1000 bytes remaining'" {
	faultproxy_start longcl "$reg_URL" --hostile long-length
	run regship manifest "$longcl_ADDR/hostile/app:v1"
	assert_failure 1
	assert_output_matches "regship: .*/v2/hostile/app/manifests/v1.*transfer closed with 1000 bytes remaining"
	pull_rejected longcl ".*transfer closed with 1000 bytes remaining"
	hostile_fired longcl long-length
}

@test "a Content-Length shorter than the body: the cut manifest does not match its digest" {
	faultproxy_start shortcl "$reg_URL" --hostile short-length
	run regship manifest "$shortcl_ADDR/hostile/app:v1"
	assert_failure 1
	assert_output_matches "regship: manifest $shortcl_ADDR/hostile/app:v1: the registry says its digest is $APP but the bytes received hash to sha256:[0-9a-f]{64}"
	run regship manifest "$shortcl_ADDR/hostile/app@$APP"
	assert_failure 1
	assert_output_matches "regship: manifest .*hostile/app@$APP: digest mismatch: expected $APP, got sha256:[0-9a-f]{64}"
	pull_rejected shortcl "manifest .*(digest is $APP but the bytes received hash to|digest mismatch)"
	hostile_fired shortcl short-length
}

@test "a Docker-Content-Digest that is not the bytes' is refused, naming both digests" {
	faultproxy_start baddig "$reg_URL" --hostile bad-digest
	claimed_re="sha256:[0-9a-f]{64}"
	run regship manifest "$baddig_ADDR/hostile/app:v1"
	assert_failure 1
	assert_output_matches "regship: manifest $baddig_ADDR/hostile/app:v1: the registry says its digest is $claimed_re but the bytes received hash to $APP"
	assert_output_not_contains "says its digest is $APP"
	run regship manifest "$baddig_ADDR/hostile/app@$APP"
	assert_failure 1
	assert_output_matches "the registry says its digest is $claimed_re but the bytes received hash to $APP"
	pull_rejected baddig "manifest .*the registry says its digest is $claimed_re but the bytes received hash to $APP"
	hostile_fired baddig bad-digest
}

@test "an upload Location on another origin: refused before anything (or any credential) goes there" {
	# the foreign origin records every request it gets; it must get none
	faultproxy_start foreign "$tok_URL" --hop
	faultproxy_start fl "$tok_URL" --hostile foreign-location --foreign-origin "$foreign_URL"
	for chunk in "" "--chunk-size 16K"; do
		fixture oci-layout "$T/up${chunk:+c}" --tag v1 --layers 2 --layer-size 24K \
			--seed "foreign${chunk:+c}" >/dev/null
		# shellcheck disable=SC2086
		run regship_as tok push $chunk oci:"$T/up${chunk:+c}":v1 "$fl_ADDR/foreign/app${chunk:+c}:v1"
		assert_failure 1
		assert_output_matches "regship: .*sent an upload Location on another origin \\($foreign_URL\\); refusing to send the blob and credentials there"
	done
	hostile_fired fl foreign-location
	assert_equal "$(wc -l <"$foreign_RECORD")" 0 "requests the foreign origin got"
	# and no image got there
	for repo in foreign/app foreign/appc; do
		run reg_curl tok "$repo" -o /dev/null -w '%{http_code}' -H "Accept: $MANIFEST_ACCEPT" \
			"$tok_URL/v2/$repo/manifests/v1"
		assert_output_equals 404
	done
}

@test "blob GETs redirected through three other loopback origins never carry Authorization; the bytes verify" {
	# registry (token auth) <- front: 307 for blob GETs -> hop1 127.0.0.1 (307)
	#   -> hop2 127.0.0.2 (302) -> recorder at localhost, which serves the blob with its own
	#   credentials. Every hop records the headers it received.
	recorder_start rec "$tok_URL" --user "$tok_USER:$tok_PASS"
	faultproxy_start hop2 "http://localhost:$rec_PORT" --hop --hop-status 302 --listen 127.0.0.2
	faultproxy_start hop1 "$hop2_URL" --hop --hop-status 307
	count="$BATS_FILE_TMPDIR/front.jsonl"
	proxy_start front "$tok_URL" --redirect-blobs-to "$hop1_URL" --count "$count"
	run regship_as tok pull "$front_ADDR/redir/app:v1" oci:"$T/redir":v1
	assert_success
	assert_equal "${lines[-1]}" "oci:$T/redir:v1@$REDIR"
	verify_layout "$T/redir" v1 "$REDIR"
	# the front (the registry's origin) got the credentials and redirected every blob (config +
	# 2 layers) ...
	assert_equal "$(jsonl_count "$count" 'd["method"] == "GET" and "/blobs/" in d["path"] and d["auth"] and d.get("redirect")')" 3
	# ... and each of the other origins saw those 3 GETs, none with Authorization
	for f in "$hop1_RECORD" "$hop2_RECORD" "$rec_RECORD"; do
		assert_equal "$(jsonl_count "$f" 'd["method"] == "GET" and "/blobs/" in d["path"]')" 3 "blob GETs in $f"
		assert_equal "$(jsonl_count "$f" 'any(k.lower() in ("authorization", "cookie") for k in d["headers"])')" 0 \
			"requests carrying credentials in $f"
	done
	assert_file_not_contains "$rec_RECORD" "Bearer"
	assert_file_not_contains "$hop1_RECORD" "Bearer"
	assert_file_not_contains "$hop2_RECORD" "Bearer"
}

@test "a redirected blob download broken midway resumes with Range; no hop ever gets Authorization" {
	recorder_start rec2 "$tok_URL" --user "$tok_USER:$tok_PASS"
	# the origin behind the hop cuts the first blob body short (faultproxy truncate)
	faultproxy_start cut "$rec2_URL" --only truncate --once --rate 1
	faultproxy_start hop3 "$cut_URL" --hop --listen 127.0.0.2
	count="$BATS_FILE_TMPDIR/front2.jsonl"
	proxy_start front2 "$tok_URL" --redirect-blobs-to "$hop3_URL" --count "$count"
	run regship_as tok pull "$front2_ADDR/redir/app:v1" oci:"$T/redir2":v1
	assert_success
	assert_equal "${lines[-1]}" "oci:$T/redir2:v1@$REDIR"
	verify_layout "$T/redir2" v1 "$REDIR"
	assert_equal "$(jsonl_count "$cut_FAULTS" 'd["kind"] == "truncate"')" 1
	# the rest was asked for with a Range request (proxy.py redirects only what the registry
	# answers 200, so the 206 comes from the registry's own origin, where credentials belong)
	path=$(json 'd["path"]' <"$cut_FAULTS")
	length=$(json 'd["length"]' <"$cut_FAULTS")
	assert_equal "$(jsonl_count "$count" "d['path'] == '$path' and d['status'] == 206 and d['resp_bytes'] == $length - $length // 2")" 1
	for f in "$hop3_RECORD" "$rec2_RECORD"; do
		assert_equal "$(jsonl_count "$f" 'any(k.lower() == "authorization" for k in d["headers"])')" 0 \
			"requests carrying Authorization in $f"
	done
	assert_equal "$(jsonl_count "$cut_REQUESTS" 'd["auth"]')" 0
	[[ $(jsonl_count "$cut_REQUESTS" '"/blobs/" in d["path"]') -ge 3 ]]
}
