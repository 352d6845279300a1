#!/usr/bin/env bats
# inspect, config and blob: reading an image without pulling it, from a registry (plain HTTP and
# Basic auth) and from oci:, oci-archive: and docker-archive: references.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	reg_start plain plain
	reg_start htpasswd basic
	local d=$BATS_FILE_TMPDIR
	fixture seed "$plain_URL" insp/app --tag v1 --seed insp >"$d/plain.fixture"
	fixture seed "$plain_URL" insp/multi --tag m --format oci --platform linux/amd64 \
		--platform linux/arm64/v8 --seed insp-multi >>"$d/plain.fixture"
	fixture seed "$basic_URL" insp/app --tag v1 --seed insp-basic --user "$basic_USER:$basic_PASS" \
		>"$d/basic.fixture"
	fixture oci-layout "$d/lay" --tag v1 --seed insp-local >"$d/lay.fixture"
	fixture oci-archive "$d/oa.tar" --tag t --seed insp-local >/dev/null
	fixture docker-archive "$d/da.tar" --repo-tag app:1 --seed insp-local >/dev/null
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	D=$BATS_FILE_TMPDIR
}

@test "inspect: digest, media type, platform, labels, env, cmd, layers and size of a registry image" {
	local want
	want=$(fixture_digest plain insp/app:v1)
	run --separate-stderr regship inspect "$plain_ADDR/insp/app:v1"
	assert_success
	assert_output_contains "Digest:       $want"
	assert_output_contains "MediaType:    application/vnd.docker.distribution.manifest.v2+json"
	assert_output_contains "Platform:     linux/amd64"
	assert_output_contains "org.regship.fixture.seed=insp"
	assert_output_contains "PATH=/usr/local/sbin"
	assert_output_contains "Cmd:          /bin/sh"
	assert_output_matches "Size: +[0-9]+ bytes"
	# the layers are the manifest's
	local m
	m=$(regship manifest "$plain_ADDR/insp/app:v1")
	for l in $(json '" ".join(x["digest"] for x in d["layers"])' <<<"$m"); do
		assert_output_contains "$l"
	done
}

@test "inspect --json: the documented schema; size is the sum of the layers" {
	run --separate-stderr regship inspect --json "$plain_ADDR/insp/app:v1"
	assert_success
	local m
	m=$(regship manifest "$plain_ADDR/insp/app:v1")
	assert_equal "$(json 'd["digest"]' <<<"$output")" "$(fixture_digest plain insp/app:v1)"
	assert_equal "$(json 'd["platform"]' <<<"$output")" "linux/amd64"
	assert_equal "$(json 'd["labels"]["org.regship.fixture.seed"]' <<<"$output")" "insp"
	assert_equal "$(json 'd["cmd"]' <<<"$output")" '["/bin/sh"]'
	assert_equal "$(json 'd["index"]' <<<"$output")" "null"
	assert_equal "$(json 'd["size"]' <<<"$output")" "$(json 'sum(l["size"] for l in d["layers"])' <<<"$m")"
	assert_equal "$(json '[l["digest"] for l in d["layers"]]' <<<"$output")" \
		"$(json '[l["digest"] for l in d["layers"]]' <<<"$m")"
	assert_equal "$(json 'd["config"]["digest"]' <<<"$output")" "$(json 'd["config"]["digest"]' <<<"$m")"
	assert_equal "$(json 'sorted(d)' <<<"$output")" \
		'["architecture", "cmd", "config", "created", "digest", "entrypoint", "env", "index", "labels", "layers", "media_type", "os", "platform", "reference", "size", "variant"]'
}

@test "inspect of an index lists the platforms; --platform describes one, naming the index" {
	run --separate-stderr regship inspect "$plain_ADDR/insp/multi:m"
	assert_success
	assert_output_contains "linux/amd64"
	assert_output_contains "linux/arm64/v8"
	assert_output_contains "$(fixture_digest plain insp/multi:m@linux/arm64/v8)"
	run --separate-stderr regship inspect --json "$plain_ADDR/insp/multi:m"
	assert_equal "$(json '[c["platform"] for c in d["manifests"]]' <<<"$output")" '["linux/amd64", "linux/arm64/v8"]'
	run --separate-stderr regship inspect --platform linux/arm64 --format '{{.Digest}} {{ .Platform }} {{.IndexDigest}}' "$plain_ADDR/insp/multi:m"
	assert_success
	assert_output_equals "$(fixture_digest plain insp/multi:m@linux/arm64/v8) linux/arm64/v8 $(fixture_digest plain insp/multi:m)"
	run regship inspect --platform linux/s390x "$plain_ADDR/insp/multi:m"
	assert_status 3
	assert_output_contains "linux/s390x"
}

@test "inspect --raw is the manifest's bytes; --config and config are the config's, verified" {
	regship inspect --raw "$plain_ADDR/insp/app:v1" >"$BATS_TEST_TMPDIR/raw"
	assert_equal "$(sha256_of "$BATS_TEST_TMPDIR/raw")" "$(fixture_digest plain insp/app:v1)"
	local cfg
	cfg=$(regship manifest "$plain_ADDR/insp/app:v1" | json 'd["config"]["digest"]')
	regship inspect --config "$plain_ADDR/insp/app:v1" >"$BATS_TEST_TMPDIR/c1"
	regship config "$plain_ADDR/insp/app:v1" >"$BATS_TEST_TMPDIR/c2"
	assert_equal "$(sha256_of "$BATS_TEST_TMPDIR/c1")" "$cfg"
	assert_equal "$(sha256_of "$BATS_TEST_TMPDIR/c2")" "$cfg"
	# config of an index: the platform asked for
	regship config --platform linux/arm64 "$plain_ADDR/insp/multi:m" >"$BATS_TEST_TMPDIR/c3"
	assert_equal "$(json 'd["architecture"]' <"$BATS_TEST_TMPDIR/c3")" arm64
}

@test "inspect --format: single-value fields; an unknown field is a usage error before any request" {
	run --separate-stderr regship inspect --format 'd={{.Digest}} os={{.Os}} l={{.Labels.org.regship.fixture.seed}}' "$plain_ADDR/insp/app:v1"
	assert_success
	assert_output_equals "d=$(fixture_digest plain insp/app:v1) os=linux l=insp"
	run regship inspect --format '{{.Nope}}' 127.0.0.1:1/insp/app:v1
	assert_status 2
	assert_output_contains '.Nope'
	run regship inspect --format '{{.Digest' 127.0.0.1:1/insp/app:v1
	assert_status 2
	run regship inspect --json --raw "$plain_ADDR/insp/app:v1"
	assert_status 2
}

@test "inspect works on oci:, oci-archive:, docker-archive: and bare paths" {
	local want
	want=$(awk '$1 == "v1" { print $2 }' "$D/lay.fixture")
	run --separate-stderr regship inspect --format '{{.Digest}}' "oci:$D/lay:v1"
	assert_success
	assert_output_equals "$want"
	run --separate-stderr regship inspect --format '{{.Digest}}' "$D/lay"
	assert_output_equals "$want"
	run --separate-stderr regship inspect --format '{{.Digest}}' "oci-archive:$D/oa.tar:t"
	assert_success
	run --separate-stderr regship inspect --json "docker-archive:$D/da.tar"
	assert_success
	assert_equal "$(json 'd["labels"]["org.regship.fixture.seed"]' <<<"$output")" insp-local
	run regship inspect "oci:$D/nothere"
	assert_status 2
	assert_output_contains "$D/nothere"
}

@test "inspect and config with Basic auth; without credentials exit 4" {
	run --separate-stderr regship -u "$basic_USER" --password-stdin inspect --format '{{.Digest}}' "$basic_ADDR/insp/app:v1" <<<"$basic_PASS"
	assert_success
	assert_output_equals "$(fixture_digest basic insp/app:v1)"
	run regship inspect "$basic_ADDR/insp/app:v1"
	assert_status 4
}

@test "blob REF@DIGEST and REF DIGEST stream a verified blob; -o replaces the file only when whole" {
	local layer
	layer=$(regship manifest "$plain_ADDR/insp/app:v1" | json 'd["layers"][0]["digest"]')
	regship blob "$plain_ADDR/insp/app@$layer" >"$BATS_TEST_TMPDIR/b1"
	assert_equal "$(sha256_of "$BATS_TEST_TMPDIR/b1")" "$layer"
	run regship blob -o "$BATS_TEST_TMPDIR/b2" "$plain_ADDR/insp/app" "$layer"
	assert_success
	assert_equal "$(sha256_of "$BATS_TEST_TMPDIR/b2")" "$layer"
	# a missing blob: exit 3, the existing file untouched, no temporary left
	echo keep >"$BATS_TEST_TMPDIR/b3"
	run regship blob -o "$BATS_TEST_TMPDIR/b3" "$plain_ADDR/insp/app@sha256:$(printf '%064d' 0)"
	assert_status 3
	assert_equal "$(cat "$BATS_TEST_TMPDIR/b3")" keep
	[[ -z $(compgen -G "$BATS_TEST_TMPDIR/b3.regship-*") ]] || fail "temporary file left"
	# a local layout, and /dev/stdout as the output
	local ll
	ll=$(regship inspect --json "oci:$D/lay:v1" | json 'd["layers"][1]["digest"]')
	regship blob -o /dev/stdout "oci:$D/lay" "$ll" >"$BATS_TEST_TMPDIR/b4"
	assert_equal "$(sha256_of "$BATS_TEST_TMPDIR/b4")" "$ll"
	# a symbolic link stays one (its target is replaced); /dev/stdout is never replaced
	echo old >"$BATS_TEST_TMPDIR/target"
	ln -s target "$BATS_TEST_TMPDIR/link"
	regship blob -o "$BATS_TEST_TMPDIR/link" "oci:$D/lay" "$ll"
	[[ -L $BATS_TEST_TMPDIR/link ]] || fail "the link was replaced"
	assert_equal "$(sha256_of "$BATS_TEST_TMPDIR/target")" "$ll"
	[[ -L /dev/stdout || -c /dev/stdout ]] || fail "/dev/stdout was replaced"
	# a docker archive's (compressed) layers, by the digests inspect shows
	local dl
	dl=$(regship inspect --json "docker-archive:$D/da.tar" | json 'd["layers"][0]["digest"]')
	regship blob "docker-archive:$D/da.tar" "$dl" >"$BATS_TEST_TMPDIR/b5"
	assert_equal "$(sha256_of "$BATS_TEST_TMPDIR/b5")" "$dl"
	# no digest named
	run regship blob "$plain_ADDR/insp/app:v1"
	assert_status 2
	assert_output_contains "IMAGE@DIGEST"
	# -o naming a directory is the caller's mistake: exit 2, the directory untouched
	mkdir "$BATS_TEST_TMPDIR/dir"
	run regship blob -o "$BATS_TEST_TMPDIR/dir" "oci:$D/lay" "$ll"
	assert_status 2
	assert_output_contains "-o $BATS_TEST_TMPDIR/dir: is a directory"
	assert_equal "$(ls -A "$BATS_TEST_TMPDIR/dir")" ""
}

@test "blob: bytes that do not match the digest are an error and never land in -o FILE" {
	# a layout whose blob file was altered (same size)
	cp -r "$D/lay" "$BATS_TEST_TMPDIR/bad"
	local ll f
	ll=$(regship inspect --json "oci:$D/lay:v1" | json 'd["layers"][0]["digest"]')
	f="$BATS_TEST_TMPDIR/bad/blobs/sha256/${ll#sha256:}"
	chmod u+w "$f"
	printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
	run regship blob -o "$BATS_TEST_TMPDIR/out" "oci:$BATS_TEST_TMPDIR/bad" "$ll"
	assert_failure
	assert_output_contains "$ll"
	assert_file_not_exists "$BATS_TEST_TMPDIR/out"
	[[ -z $(compgen -G "$BATS_TEST_TMPDIR/out.regship-*") ]] || fail "temporary file left"
}

@test "blob refuses a terminal standard output unless --force" {
	command -v script >/dev/null || skip "script (util-linux) is not installed"
	local layer
	layer=$(regship manifest "$plain_ADDR/insp/app:v1" | json 'd["config"]["digest"]')
	run script -qec "$(printf '%q ' env HOME="$D/home" "$REGSHIP" blob "$plain_ADDR/insp/app@$layer")" /dev/null
	assert_status 2
	assert_output_contains "terminal"
	run script -qec "$(printf '%q ' env HOME="$D/home" "$REGSHIP" blob --force "$plain_ADDR/insp/app@$layer")" /dev/null
	assert_success
	assert_output_contains "architecture"
}
