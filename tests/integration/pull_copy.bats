#!/usr/bin/env bats
# regship pull and copy: registry -> oci:/docker-archive:, copies in every direction between
# registries, OCI layouts, OCI archives and docker archives, multi-arch selection, mounts within
# one registry, and blob verification against a byte-flipping proxy. skopeo judges what regship
# wrote (verify_image / verify_layout in helpers.bash).

setup_file() {
	load helpers
	reg_start plain src
	reg_start plain dst
	export W="$BATS_FILE_TMPDIR/work"
	mkdir -p "$W"
	# the source image (OCI manifest): 3 layers, 5 tags; a docker v2s2 one; a two-platform OCI index
	fixture seed "$src_URL" lib/app --tag v1 --tag latest --tag 2 --tag 2.1 --tag 2.1.106 \
		--layers 3 --layer-size 40K --seed app --format oci >"$W/app.out"
	fixture seed "$src_URL" lib/dockerfmt --tag d1 --layer-size 20K --seed dockerfmt >"$W/dockerfmt.out"
	fixture seed "$src_URL" lib/multi --tag m --format oci --platform linux/amd64 \
		--platform linux/arm64/v8 --layer-size 8K --seed multi >"$W/multi.out"
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	APP=$(head -n1 "$W/app.out" | cut -d' ' -f2)
	MULTI=$(head -n1 "$W/multi.out" | cut -d' ' -f2)
	MULTI_AMD64=$(sed -n 's/^lib\/multi:m@linux\/amd64 //p' "$W/multi.out")
	MULTI_ARM64=$(sed -n 's/^lib\/multi:m@linux\/arm64\/v8 //p' "$W/multi.out")
	case $(uname -m) in
	x86_64) HOST_ARCH=amd64 HOST_CHILD=$MULTI_AMD64 ;;
	aarch64) HOST_ARCH=arm64 HOST_CHILD=$MULTI_ARM64 ;;
	*) HOST_ARCH=$(uname -m) HOST_CHILD= ;;
	esac
	T=$BATS_TEST_TMPDIR
}

# config_of REPO REF: the config digest of the manifest REPO:REF on registry src
config_of() {
	curl -s -H "Accept: $MANIFEST_ACCEPT" "$src_URL/v2/$1/manifests/$2" | json 'd["config"]["digest"]'
}

# archive_config FILE: sha256 of the config file of the (only) image in docker archive FILE
archive_config() {
	local cfg
	cfg=$(tar -xOf "$1" manifest.json | json 'd[0]["Config"]')
	echo "sha256:$(tar -xOf "$1" "$cfg" | sha256sum | cut -d' ' -f1)"
}

# skopeo_digest TRANSPORT:REF: the manifest digest skopeo reports
skopeo_digest() {
	skopeo inspect --tls-verify=false "$1" | json 'd["Digest"]'
}

@test "pull to oci:DIR:TAG; a second tag joins the same layout; skopeo copies from it" {
	run regship pull "$src_ADDR/lib/app:v1" oci:"$T/lay":v1
	assert_success
	assert_equal "${lines[-1]}" "oci:$T/lay:v1@$APP"
	verify_layout "$T/lay" v1 "$APP"
	run regship pull "$src_ADDR/lib/app:2.1" oci:"$T/lay":two
	assert_success
	verify_layout "$T/lay" two "$APP"
	verify_layout "$T/lay" v1 "$APP"
	[[ $(json 'len(d["manifests"])' <"$T/lay/index.json") == 2 ]]
	# 3 layers + config + manifest
	[[ $(ls "$T/lay/blobs/sha256" | wc -l) == 5 ]]
	# with --preserve-digests a docker v2s2 manifest is kept as it is (same digest) in the layout
	want=$(cut -d' ' -f2 "$W/dockerfmt.out")
	run regship pull --preserve-digests "$src_ADDR/lib/dockerfmt:d1" oci:"$T/lay":d1
	assert_success
	assert_equal "${lines[-1]}" "oci:$T/lay:d1@$want"
	verify_layout "$T/lay" d1 "$want"
	command -v skopeo >/dev/null || skip "skopeo not installed"
	assert_equal "$(skopeo_digest oci:"$T/lay":two)" "$APP"
}

@test "pull to docker-archive:FILE:REF is what skopeo reads; the config is the image's" {
	run regship pull "$src_ADDR/lib/app:v1" docker-archive:"$T/app.tar":foo/bar:1
	assert_success
	[[ ${lines[-1]} == "docker-archive:$T/app.tar:foo/bar:1@"* ]]
	assert_file_exists "$T/app.tar"
	assert_equal "$(archive_config "$T/app.tar")" "$(config_of lib/app v1)"
	[[ $(tar -xOf "$T/app.tar" manifest.json | json 'd[0]["RepoTags"]') =~ ^\[\"(docker.io/)?foo/bar:1\"\]$ ]]
	command -v skopeo >/dev/null || skip "skopeo not installed"
	run skopeo inspect docker-archive:"$T/app.tar"
	assert_success
	[[ $(json 'len(d["Layers"])' <<<"$output") == 3 ]]
	assert_output_contains '"org.regship.fixture.seed": "app"'
	run skopeo inspect docker-archive:"$T/app.tar":foo/bar:1
	assert_success
	run skopeo --insecure-policy copy -q docker-archive:"$T/app.tar" oci:"$T/from-archive":x
	assert_success
}

@test "pull an image skopeo pushed (docker v2s2 and OCI), to oci: and docker-archive:" {
	command -v skopeo >/dev/null || skip "skopeo not installed"
	fixture docker-archive "$T/sk.tar" --repo-tag sk/img:1 --layer-size 30K --seed sk >/dev/null
	skopeo --insecure-policy copy -q --dest-tls-verify=false docker-archive:"$T/sk.tar" "docker://$src_ADDR/skopeo/v2s2:1"
	fixture oci-layout "$T/sklay" --tag 1 --layer-size 30K --seed sk2 >/dev/null
	skopeo --insecure-policy copy -q --dest-tls-verify=false oci:"$T/sklay":1 "docker://$src_ADDR/skopeo/oci:1"
	for repo in skopeo/v2s2 skopeo/oci; do
		want=$(skopeo_digest "docker://$src_ADDR/$repo:1")
		run regship pull --preserve-digests "$src_ADDR/$repo:1" oci:"$T/pulled":"${repo#*/}"
		assert_success
		assert_equal "${lines[-1]}" "oci:$T/pulled:${repo#*/}@$want"
		verify_layout "$T/pulled" "${repo#*/}" "$want"
		run regship pull "$src_ADDR/$repo:1" docker-archive:"$T/${repo#*/}.tar":x/y:1
		assert_success
		run skopeo inspect docker-archive:"$T/${repo#*/}.tar"
		assert_success
		assert_equal "$(archive_config "$T/${repo#*/}.tar")" "$(config_of "$repo" 1)"
	done
}

@test "multi-arch: whole index to oci: keeps its digest; --platform picks one; docker-archive takes the host's" {
	run regship pull "$src_ADDR/lib/multi:m" oci:"$T/multi":m
	assert_success
	assert_equal "${lines[-1]}" "oci:$T/multi:m@$MULTI"
	verify_layout "$T/multi" m "$MULTI"
	[[ $(json 'd["manifests"][0]["mediaType"]' <"$T/multi/index.json") == application/vnd.oci.image.index.v1+json ]]
	# both children and all their blobs are there
	for c in "$MULTI_AMD64" "$MULTI_ARM64"; do assert_file_exists "$T/multi/blobs/sha256/${c#sha256:}"; done

	run regship pull --platform linux/arm64 "$src_ADDR/lib/multi:m" oci:"$T/arm":a
	assert_success
	assert_equal "${lines[-1]}" "oci:$T/arm:a@$MULTI_ARM64"
	verify_layout "$T/arm" a "$MULTI_ARM64"
	assert_file_not_exists "$T/arm/blobs/sha256/${MULTI#sha256:}"
	assert_file_not_exists "$T/arm/blobs/sha256/${MULTI_AMD64#sha256:}"

	[[ -n $HOST_CHILD ]] || skip "host architecture $HOST_ARCH is not in the fixture"
	run regship pull "$src_ADDR/lib/multi:m" docker-archive:"$T/host.tar":multi:host
	assert_success
	child_config=$(curl -s -H "Accept: $MANIFEST_ACCEPT" "$src_URL/v2/lib/multi/manifests/$HOST_CHILD" | json 'd["config"]["digest"]')
	assert_equal "$(archive_config "$T/host.tar")" "$child_config"
	tar -xOf "$T/host.tar" "$(tar -xOf "$T/host.tar" manifest.json | json 'd[0]["Config"]')" >"$T/cfg.json"
	assert_equal "$(json 'd["architecture"]' <"$T/cfg.json")" "$HOST_ARCH"
}

@test "multi-arch: an absent platform is an error listing the available ones; nothing is written" {
	run regship pull --platform linux/s390x "$src_ADDR/lib/multi:m" oci:"$T/none":m
	assert_failure
	assert_output_contains "linux/s390x"
	assert_output_contains "linux/amd64"
	assert_output_contains "linux/arm64/v8"
	if [[ -e $T/none/index.json ]]; then
		[[ $(json 'len(d["manifests"])' <"$T/none/index.json") == 0 ]]
	fi
	run regship pull --platform linux/s390x "$src_ADDR/lib/multi:m" docker-archive:"$T/none.tar"
	assert_failure
	assert_output_contains "linux/arm64/v8"
	assert_file_not_exists "$T/none.tar"
}

@test "copy in every direction between registry, oci:, oci-archive: and docker-archive:" {
	# sources made from the registry image
	regship -q copy "$src_ADDR/lib/app:v1" oci:"$T/s-oci":v1
	regship -q copy "$src_ADDR/lib/app:v1" oci-archive:"$T/s-ociarch.tar":v1
	regship -q copy "$src_ADDR/lib/app:v1" docker-archive:"$T/s-dock.tar":lib/app:v1
	app_config=$(config_of lib/app v1)
	declare -A SRC=(
		[reg]="$src_ADDR/lib/app:v1" [oci]="oci:$T/s-oci:v1"
		[ociarch]="oci-archive:$T/s-ociarch.tar:v1" [dock]="docker-archive:$T/s-dock.tar"
	)
	n=0
	for s in reg oci ociarch dock; do
		for d in reg oci ociarch dock; do
			n=$((n + 1))
			case $d in
			reg) dest="$dst_ADDR/matrix/from-$s:v1" ;;
			oci) dest="oci:$T/d-$s:v1" ;;
			ociarch) dest="oci-archive:$T/d-$s.tar:v1" ;;
			dock) dest="docker-archive:$T/d-$s-dock.tar:matrix/x:v1" ;;
			esac
			run regship copy "${SRC[$s]}" "$dest"
			assert_success || fail "copy $s -> $d"
			assert_equal "${lines[-1]%@*}" "$dest" "copy $s -> $d"
			got=${lines[-1]##*@}
			# the manifest digest survives unless a docker archive (which holds no manifest) is involved
			if [[ $s != dock && $d != dock ]]; then
				assert_equal "$got" "$APP" "digest of copy $s -> $d"
			fi
			case $d in
			reg)
				verify_image dst "matrix/from-$s" v1 "$got"
				assert_equal "$(curl -s -H "Accept: $MANIFEST_ACCEPT" "$dst_URL/v2/matrix/from-$s/manifests/v1" | json 'd["config"]["digest"]')" "$app_config" "config of copy $s -> $d"
				;;
			oci)
				verify_layout "$T/d-$s" v1 "$got"
				;;
			ociarch)
				mkdir -p "$T/x-$s" && tar -xf "$T/d-$s.tar" -C "$T/x-$s"
				verify_layout "$T/x-$s" v1 "$got"
				# (skopeo 1.9 reads only OCI media types from a layout: see verify_layout)
				if command -v skopeo >/dev/null && grep -q '"mediaType":"application/vnd.oci.image.manifest.v1+json"' "$T/x-$s/index.json"; then
					assert_equal "$(skopeo_digest "oci-archive:$T/d-$s.tar:v1")" "$got" "skopeo on copy $s -> $d"
				fi
				;;
			dock)
				assert_equal "$(archive_config "$T/d-$s-dock.tar")" "$app_config" "config of copy $s -> $d"
				if command -v skopeo >/dev/null; then
					skopeo inspect "docker-archive:$T/d-$s-dock.tar:matrix/x:v1" >/dev/null ||
						fail "skopeo rejects docker archive of copy $s -> $d"
				fi
				;;
			esac
		done
	done
	[[ $n == 16 ]]
}

@test "copy between two registries preserves the digest skopeo reports for the source" {
	want=$APP
	if command -v skopeo >/dev/null; then want=$(skopeo_digest "docker://$src_ADDR/lib/app:2"); fi
	assert_equal "$want" "$APP"
	reg_log_mark src
	reg_log_mark dst
	# a fresh HOME: no blob cache that could mount from the copies made by earlier tests
	REGSHIP_TEST_HOME="$T/home" run regship copy "$src_ADDR/lib/app:2" "$dst_ADDR/other/app:2"
	assert_success
	assert_equal "${lines[-1]}" "$dst_ADDR/other/app:2@$want"
	verify_image dst other/app 2 "$want"
	run reg_requests src
	[[ $(grep -cE '^GET /v2/lib/app/blobs/sha256:[0-9a-f]{64} 200$' <<<"$output") == 4 ]]
	run reg_requests dst
	[[ $(grep -cE '^PUT /v2/other/app/blobs/uploads/' <<<"$output") == 4 ]]

	# the multi-arch index too, by digest
	run regship copy "$src_ADDR/lib/multi@$MULTI" "$dst_ADDR/other/multi:m"
	assert_success
	assert_equal "${lines[-1]}" "$dst_ADDR/other/multi:m@$MULTI"
	verify_image dst other/multi m "$MULTI"

	# from an OCI layout: the digest skopeo reports for the layout
	want=$(fixture oci-layout "$T/lay" --tag t --layer-size 9K --seed copylay | cut -d' ' -f2)
	if command -v skopeo >/dev/null; then assert_equal "$(skopeo_digest oci:"$T/lay":t)" "$want"; fi
	run regship copy oci:"$T/lay":t "$dst_ADDR/other/fromlayout:t"
	assert_success
	assert_equal "${lines[-1]}" "$dst_ADDR/other/fromlayout:t@$want"
	verify_image dst other/fromlayout t "$want"
}

@test "copy within one registry mounts: no blob GET, no upload body" {
	reg_log_mark src
	run regship copy "$src_ADDR/lib/app:v1" "$src_ADDR/mounted/app:v1"
	assert_success
	assert_equal "${lines[-1]}" "$src_ADDR/mounted/app:v1@$APP"
	run reg_requests src
	[[ $(grep -cE '^GET /v2/[^ ]*/blobs/' <<<"$output") == 0 ]] || fail "blob GETs" "$output"
	[[ $(grep -cE '^(PUT|PATCH) /v2/[^ ]*/blobs/uploads/' <<<"$output") == 0 ]] || fail "uploads" "$output"
	[[ $(grep -cE '^POST /v2/mounted/app/blobs/uploads/\?[^ ]*mount=[^ ]*from=lib(/|%2F)app[^ ]* 201$' <<<"$output") == 4 ]] ||
		fail "expected 4 mounts" "$output"
	verify_image src mounted/app v1 "$APP"
}

@test "copy --all-tags copies every tag between registries and within one" {
	run regship copy --all-tags "$src_ADDR/lib/app" "$dst_ADDR/all/app"
	assert_success
	assert_equal "$(reg_tags dst all/app)" '["2", "2.1", "2.1.106", "latest", "v1"]'
	[[ $(grep -c "^$dst_ADDR/all/app:[^@]*@$APP\$" <<<"$output") == 5 ]]
	for t in v1 2.1.106; do verify_image dst all/app "$t" "$APP"; done
	reg_log_mark src
	run regship copy --all-tags "$src_ADDR/lib/app" "$src_ADDR/all/app"
	assert_success
	assert_equal "$(reg_tags src all/app)" '["2", "2.1", "2.1.106", "latest", "v1"]'
	run reg_requests src
	[[ $(grep -cE '^GET /v2/[^ ]*/blobs/' <<<"$output") == 0 ]] || fail "blob GETs" "$output"
	[[ $(grep -cE '^(PUT|PATCH) /v2/[^ ]*/blobs/uploads/' <<<"$output") == 0 ]] || fail "uploads" "$output"
}

@test "a corrupted blob fails the pull with a digest mismatch and leaves nothing under the destination" {
	proxy_start flip "$src_URL" --flip-byte-in-blobs
	# an existing layout (of another image) keeps exactly what it had
	regship -q pull "$src_ADDR/lib/dockerfmt:d1" oci:"$T/keep":old
	cp "$T/keep/index.json" "$T/keep-index.before"
	run regship pull "$flip_ADDR/lib/app:v1" oci:"$T/keep":new
	assert_failure 1
	assert_output_contains "digest mismatch"
	cmp "$T/keep-index.before" "$T/keep/index.json"

	run regship pull "$flip_ADDR/lib/app:v1" oci:"$T/fresh":new
	assert_failure 1
	assert_output_contains "digest mismatch"
	if [[ -e $T/fresh/index.json ]]; then
		[[ $(json 'len(d["manifests"])' <"$T/fresh/index.json") == 0 ]]
	fi

	for dest in docker-archive:"$T/bad.tar":x/y:1 oci-archive:"$T/bad-oci.tar":v1; do
		run regship pull "$flip_ADDR/lib/app:v1" "$dest"
		assert_failure 1
		assert_output_contains "digest mismatch"
	done
	assert_file_not_exists "$T/bad.tar"
	assert_file_not_exists "$T/bad-oci.tar"
	# (a fresh HOME: the blob cache would mount the blobs from earlier copies instead)
	# registry to registry the blob streams through: regship's check or the destination's refuses it
	REGSHIP_TEST_HOME="$T/home" run regship copy "$flip_ADDR/lib/app:v1" "$dst_ADDR/corrupt/app:v1"
	assert_failure 1
	assert_output_matches "(digest mismatch|DIGEST_INVALID)"
	run curl -s -o /dev/null -w '%{http_code}' -H "Accept: $MANIFEST_ACCEPT" "$dst_URL/v2/corrupt/app/manifests/v1"
	assert_output_equals 404
	# no stray temporaries next to the archives either
	run ls -A "$T"
	assert_output_not_contains "bad"
}
