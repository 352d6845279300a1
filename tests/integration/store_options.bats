#!/usr/bin/env bats
# Options that reach the stores (issue 15 review): foreign layers fetched into a docker archive
# follow --ca-cert and --insecure (the foreign origin here is a TLS registry with its own CA),
# and a bad --ca-cert is the library's usage error. An OCI destination named by digest
# (oci:DIR@sha256:...) gets a manifest with that digest or nothing: the Docker -> OCI
# conversion changes digests, so it is refused up front naming both digests (suggesting
# --preserve-digests), and accepted when the digest named is the converted one.
# A destination named by digest is printed with it once (DEST@DIGEST, not DEST@DIGEST@DIGEST).

setup_file() {
	load helpers
	# docker-registry refuses foreign-layer URLs unless they are allowed in its config
	REGISTRY_VALIDATION_MANIFESTS_URLS_ALLOW='["^https?://"]' reg_start plain src
	reg_start tls home
	export W="$BATS_FILE_TMPDIR/work"
	mkdir -p "$W"
	# foreign.py pushes the foreign layer to the TLS origin: Python trusts its CA through
	# SSL_CERT_FILE
	SSL_CERT_FILE="$home_CA" "$HARNESS_PY" "$HARNESS_DIR/foreign.py" --src "$src_URL" \
		--home "$home_URL" --home-repo cdn/layers --repo fl/app >"$W/info.json" <<JSON
{"tls": {"format": "docker", "urls": ["$home_URL/v2/cdn/layers/blobs/{digest}"]}}
JSON
	fixture seed "$src_URL" dk/img --tag 1 --format docker --seed dk >"$W/dk.out"
	fixture seed "$src_URL" dk/multi --tag 1 --format docker --platform linux/amd64 \
		--platform linux/arm64 --seed dkm >"$W/dkm.out"
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
	FOREIGN_DIFF=$(json 'd["foreign"]["diff_id"]' <"$W/info.json")
	[[ $FOREIGN_DIFF == sha256:* ]] || fail "foreign.py gave no diff_id"
}

@test "a foreign layer on a TLS origin with its own CA: refused without --ca-cert, fetched with it" {
	run regship pull --progress none "$src_ADDR/fl/app:tls" "docker-archive:$T/none.tar"
	assert_failure
	assert_output_contains "is foreign"
	assert_output_contains "$home_ADDR"
	assert_file_not_exists "$T/none.tar"
	run regship --ca-cert "$home_CA" pull --progress none "$src_ADDR/fl/app:tls" \
		"docker-archive:$T/ca.tar"
	assert_success
	archive_has_layer "$T/ca.tar" "$FOREIGN_DIFF"
}

@test "--insecure fetches a foreign layer over TLS that cannot be verified (digest still checked)" {
	run regship --insecure pull --progress none "$src_ADDR/fl/app:tls" "docker-archive:$T/ins.tar"
	assert_success
	archive_has_layer "$T/ins.tar" "$FOREIGN_DIFF"
}

@test "a copy into a docker archive through an OCI layout uses --ca-cert as well" {
	regship copy --progress none "$src_ADDR/fl/app:tls" "oci:$T/lay:tls" >/dev/null
	run regship copy --progress none "oci:$T/lay:tls" "docker-archive:$T/from-layout.tar"
	assert_failure
	assert_output_contains "is foreign"
	run regship --ca-cert "$home_CA" copy --progress none "oci:$T/lay:tls" \
		"docker-archive:$T/from-layout.tar"
	assert_success
	archive_has_layer "$T/from-layout.tar" "$FOREIGN_DIFF"
}

@test "--ca-cert without a PEM certificate: exit 2 naming the file, nothing written" {
	echo "not a certificate" >"$T/junk.pem"
	run regship --ca-cert "$T/junk.pem" pull --progress none "$src_ADDR/fl/app:tls" \
		"docker-archive:$T/junk.tar"
	assert_failure 2
	assert_output_contains "$T/junk.pem"
	assert_output_contains "PEM"
	assert_file_not_exists "$T/junk.tar"
}

# no_blobs DIR: the layout holds no blob (the copy was refused before moving anything)
no_blobs() {
	local n
	n=$(find "$1/blobs" -type f 2>/dev/null | wc -l)
	[[ $n -eq 0 ]] || fail "$n blobs written into $1"
}

@test "oci:DIR@DIGEST of a Docker image: refused up front naming both digests; --preserve-digests keeps it" {
	local src converted
	src=$(awk '$1 == "dk/img:1" { print $2 }' "$W/dk.out")
	[[ $src == sha256:* ]] || fail "no fixture digest"
	run regship copy --progress none "$src_ADDR/dk/img:1" "oci:$T/lay@$src"
	assert_failure 2
	assert_output_contains "$src"
	assert_output_contains "--preserve-digests"
	converted=$(grep -o 'make the manifest sha256:[0-9a-f]*' <<<"$output" | cut -d' ' -f4)
	[[ $converted == sha256:* && $converted != "$src" ]] || fail "no converted digest: $output"
	no_blobs "$T/lay"
	# the digest named in the message is the one a conversion writes
	regship copy --progress none "$src_ADDR/dk/img:1" "oci:$T/tagged:t" >/dev/null
	run regship digest "oci:$T/tagged:t"
	assert_output_equals "$converted"
	# naming that digest is accepted
	run regship copy --progress none "$src_ADDR/dk/img:1" "oci:$T/conv@$converted"
	assert_success
	run regship digest "oci:$T/conv@$converted"
	assert_success
	assert_output_equals "$converted"
	# --preserve-digests keeps the Docker manifest under the digest named
	run regship copy --progress none --preserve-digests "$src_ADDR/dk/img:1" "oci:$T/kept@$src"
	assert_success
	run regship digest "oci:$T/kept@$src"
	assert_success
	assert_output_equals "$src"
}

@test "oci:DIR@DIGEST matching neither the source nor its conversion: exit 2, nothing copied" {
	local src
	src=$(awk '$1 == "dk/img:1" { print $2 }' "$W/dk.out")
	run regship copy --progress none "$src_ADDR/dk/img:1" \
		"oci:$T/lay@sha256:$(printf '0%.0s' {1..64})"
	assert_failure 2
	assert_output_contains "the source manifest is $src"
	no_blobs "$T/lay"
	run regship copy --progress none --preserve-digests "$src_ADDR/dk/img:1" \
		"oci-archive:$T/a.tar@sha256:$(printf '0%.0s' {1..64})"
	assert_failure 2
	assert_output_contains "the source manifest is $src"
	assert_file_not_exists "$T/a.tar"
}

@test "oci:DIR@DIGEST of a Docker manifest list: the converted index digest is worked out up front" {
	local src converted
	src=$(awk '$1 == "dk/multi:1" { print $2 }' "$W/dkm.out")
	[[ $src == sha256:* ]] || fail "no fixture digest"
	run regship copy --progress none --all-platforms "$src_ADDR/dk/multi:1" "oci:$T/lay@$src"
	assert_failure 2
	assert_output_contains "--preserve-digests"
	converted=$(grep -o 'make the manifest sha256:[0-9a-f]*' <<<"$output" | cut -d' ' -f4)
	no_blobs "$T/lay"
	regship copy --progress none --all-platforms "$src_ADDR/dk/multi:1" "oci:$T/tagged:t" >/dev/null
	run regship digest "oci:$T/tagged:t"
	assert_output_equals "$converted"
}

@test "a destination named by digest is printed with that digest once (registry, OCI layout)" {
	local src
	src=$(awk '$1 == "dk/img:1" { print $2 }' "$W/dk.out")
	[[ $src == sha256:* ]] || fail "no fixture digest"
	run regship -q copy --progress none "$src_ADDR/dk/img:1" "$src_ADDR/dk/bydigest@$src"
	assert_success
	assert_output_equals "$src_ADDR/dk/bydigest@$src"
	run regship -q copy --progress none "$src_ADDR/dk/img:1" "$src_ADDR/dk/bydigest:t@$src"
	assert_success
	assert_output_equals "$src_ADDR/dk/bydigest:t@$src"
	run regship -q copy --progress none --preserve-digests "$src_ADDR/dk/img:1" "oci:$T/bydigest@$src"
	assert_success
	assert_output_equals "oci:$T/bydigest@$src"
	# the line names what was written, as digest and copy read it
	run regship digest "oci:$T/bydigest@$src"
	assert_output_equals "$src"
	run regship -q copy --progress none --preserve-digests "oci:$T/bydigest@$src" "oci:$T/again"
	assert_success
	assert_output_equals "oci:$T/again@$src"
}
