#!/usr/bin/env bats
# regship sync: registry -> registry (SOURCE DESTINATION and skopeo-format YAML), to a directory
# of OCI layouts and back, tag filters (regex, semver range), --dry-run against a real run,
# re-runs that move nothing (one HEAD per manifest), --keep-going (exit 6, --json failures),
# bad YAML (exit 2 naming file and line), skopeo interop, and --src-creds / --dest-creds against
# two htpasswd registries.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	reg_start plain src
	reg_start plain dst
	reg_start htpasswd hsrc
	reg_start htpasswd hdst
	export W="$BATS_FILE_TMPDIR/work"
	mkdir -p "$W"
	local t
	for t in 1.0.0 2.0.0 2.1.0 2.2.0-rc.1 latest; do
		reg_seed src app --tag "$t" --seed "app-$t" --layers 2 --layer-size 1024 >>"$BATS_FILE_TMPDIR/src.fixture"
	done
	reg_seed src tools/cli --tag v1 --seed cli-v1 --layers 1 --layer-size 512 >>"$BATS_FILE_TMPDIR/src.fixture"
	for t in t0 t1 t2 t3; do
		reg_seed src broken --tag "$t" --seed "broken-$t" --layers 1 --layer-size 512 >>"$BATS_FILE_TMPDIR/src.fixture"
	done
	# the registry lists t2 but cannot serve it
	rm "$src_DATA/docker/registry/v2/repositories/broken/_manifests/tags/t2/current/link"
	# two repositories holding the same image: one batch must complete both destinations
	reg_seed src twin/a --tag v1 --seed twin --layers 2 --layer-size 1024 >>"$BATS_FILE_TMPDIR/src.fixture"
	reg_seed src twin/b --tag v1 --seed twin --layers 2 --layer-size 1024 >>"$BATS_FILE_TMPDIR/src.fixture"
	reg_seed hsrc secret/app --tag 1 --seed secret-1 --layers 1 --layer-size 512 >"$BATS_FILE_TMPDIR/hsrc.fixture"
}

teardown_file() {
	load helpers
	reg_stop_all
}

setup() {
	load helpers
}

# the "copied"/"copy" lines of a run, as "copy SRC -> DST" (digests dropped), sorted
moved() {
	sed -nE 's/^(copy|copied) ([^ ]+) -> ([^@ ]+)(@.*)?$/copy \2 -> \3/p' | sort
}

@test "sync SOURCE DESTINATION: every tag, same digests; a re-run only HEADs each manifest" {
	run regship sync --progress none "$src_ADDR/app" "$dst_ADDR/m1"
	assert_success
	[[ $(grep -c '^copied ' <<<"$output") -eq 5 ]] || fail "expected 5 copied lines" "$output"
	assert_output_contains "copied $src_ADDR/app:2.1.0 -> $dst_ADDR/m1/app:2.1.0@$(fixture_digest src app:2.1.0)"
	assert_output_contains "sync: 5 copied, 0 up to date, 0 failed"
	run reg_tags dst m1/app
	assert_output_equals '["1.0.0", "2.0.0", "2.1.0", "2.2.0-rc.1", "latest"]'
	local t
	for t in 1.0.0 latest; do
		assert_equal "$(regship digest "$dst_ADDR/m1/app:$t")" "$(fixture_digest src "app:$t")" "m1/app:$t"
	done
	reg_log_mark dst
	run regship sync --progress none "$src_ADDR/app" "$dst_ADDR/m1"
	assert_success
	[[ $(grep -c '^up to date ' <<<"$output") -eq 5 ]] || fail "expected 5 up-to-date lines" "$output"
	assert_output_not_contains "copied "
	assert_output_contains "sync: 0 copied, 5 up to date, 0 failed"
	run reg_requests dst
	# one HEAD per manifest, nothing else (no blob checks, no writes)
	[[ $(grep -c '^HEAD /v2/m1/app/manifests/' <<<"$output") -eq 5 ]] || fail "expected 5 HEADs" "$output"
	[[ $(grep -vc '^HEAD /v2/m1/app/manifests/' <<<"$output") -eq 0 ]] || fail "unexpected requests" "$output"
}

@test "sync --dry-run prints what a real run then copies, and writes nothing" {
	regship sync --progress none "$src_ADDR/app" "$dst_ADDR/m2" --tag-regex '^2\.' --dry-run >"$W/dry.out"
	grep -q '^copy ' "$W/dry.out" || fail "no copy line" "$(cat "$W/dry.out")"
	run reg_tags dst m2/app
	[[ $output == "[]" || -z $output ]] || fail "the dry run wrote tags: $output"
	regship sync --progress none "$src_ADDR/app" "$dst_ADDR/m2" --tag-regex '^2\.' >"$W/real.out"
	assert_equal "$(moved <"$W/dry.out")" "$(moved <"$W/real.out")" "dry-run vs real run"
	[[ $(moved <"$W/real.out" | wc -l) -eq 3 ]] || fail "expected 3 tags" "$(cat "$W/real.out")"
	# now everything is there: the dry run says so
	run regship sync "$src_ADDR/app" "$dst_ADDR/m2" --tag-regex '^2\.' --dry-run
	assert_success
	[[ $(grep -c '^up to date ' <<<"$output") -eq 3 ]] || fail "expected 3 up-to-date lines" "$output"
	assert_output_not_contains "copy "
}

@test "sync --semver: a range selects version tags only (no pre-release, no latest)" {
	run regship sync --progress none --semver '>=2.1' "$src_ADDR/app" "$dst_ADDR/m3"
	assert_success
	assert_output_contains "copied $src_ADDR/app:2.1.0 -> $dst_ADDR/m3/app:2.1.0@"
	[[ $(grep -c '^copied ' <<<"$output") -eq 1 ]] || fail "expected only 2.1.0" "$output"
	run reg_tags dst m3/app
	assert_output_equals '["2.1.0"]'
	run regship sync --semver '>=2.x' "$src_ADDR/app" "$dst_ADDR/m3"
	assert_status 2
	assert_output_contains "2.x"
}

@test "sync --config: skopeo's YAML (images, images-by-tag-regex, images-by-semver, tls-verify)" {
	cat >"$W/sync.yaml" <<EOF
$src_ADDR:
    tls-verify: false
    images:
        app:
            - "1.0.0"
            - latest
        tools/cli: []
    images-by-tag-regex:
        broken: ^t[01]$
    images-by-semver:
        app: ">= 2.0, < 2.1"
EOF
	run regship sync --progress none --json --config "$W/sync.yaml" "$dst_ADDR/y"
	assert_success
	run json '[(i["source"], i["destination"], i["status"]) for i in d["images"]]' <<<"$output"
	assert_output_equals "$(printf '[["%s/app:1.0.0", "%s/y/app:1.0.0", "copied"], ["%s/app:latest", "%s/y/app:latest", "copied"], ["%s/tools/cli:v1", "%s/y/cli:v1", "copied"], ["%s/broken:t0", "%s/y/broken:t0", "copied"], ["%s/broken:t1", "%s/y/broken:t1", "copied"], ["%s/app:2.0.0", "%s/y/app:2.0.0", "copied"]]' \
		"$src_ADDR" "$dst_ADDR" "$src_ADDR" "$dst_ADDR" "$src_ADDR" "$dst_ADDR" "$src_ADDR" "$dst_ADDR" "$src_ADDR" "$dst_ADDR" "$src_ADDR" "$dst_ADDR")"
	run reg_tags dst y/app
	assert_output_equals '["1.0.0", "2.0.0", "latest"]'
	assert_equal "$(regship digest "$dst_ADDR/y/cli:v1")" "$(fixture_digest src tools/cli:v1)" "y/cli:v1"
	# the same file again: nothing moves
	run regship sync --progress none --json --config "$W/sync.yaml" "$dst_ADDR/y"
	assert_success
	run json '(d["copied_count"], d["up_to_date_count"], d["bytes_sent"], sorted(set(i["status"] for i in d["images"])))' <<<"$output"
	assert_output_equals '[0, 6, 0, ["up-to-date"]]'
}

@test "sync to a directory of OCI layouts (one per repository) and back to a registry" {
	# a dry run creates nothing
	run --separate-stderr regship sync --dry-run "$src_ADDR/app" "$W/layouts"
	assert_success
	[[ $(grep -c '^copy ' <<<"$output") -eq 5 ]] || fail "expected 5 copy lines" "$output"
	assert_file_not_exists "$W/layouts"
	run regship sync --progress none "$src_ADDR/app" "$W/layouts"
	assert_success
	assert_output_contains "copied $src_ADDR/app:1.0.0 -> oci:$W/layouts/app:1.0.0@$(fixture_digest src app:1.0.0)"
	local t
	# every tag in the index at the source's digest; two of them read back by skopeo too
	for t in 1.0.0 2.0.0 2.1.0 2.2.0-rc.1 latest; do
		run json "[m['digest'] for m in d['manifests'] if m['annotations']['org.opencontainers.image.ref.name'] == '$t']" <"$W/layouts/app/index.json"
		assert_output_equals "[\"$(fixture_digest src "app:$t")\"]"
	done
	verify_layout "$W/layouts/app" 1.0.0 "$(fixture_digest src app:1.0.0)"
	verify_layout "$W/layouts/app" 2.2.0-rc.1 "$(fixture_digest src app:2.2.0-rc.1)"
	run regship sync --progress none "$src_ADDR/tools/cli" "$W/layouts"
	assert_success
	# again: up to date, compared without a copy
	run regship sync --progress none "$src_ADDR/app" "$W/layouts"
	assert_success
	[[ $(grep -c '^up to date ' <<<"$output") -eq 5 ]] || fail "expected 5 up-to-date lines" "$output"
	# back: every layout under the directory, named by its path
	run regship sync --progress none "$W/layouts" "$dst_ADDR/back"
	assert_success
	assert_output_contains "copied oci:$W/layouts/app:2.1.0 -> $dst_ADDR/back/app:2.1.0@$(fixture_digest src app:2.1.0)"
	assert_output_contains "copied oci:$W/layouts/cli:v1 -> $dst_ADDR/back/cli:v1@$(fixture_digest src tools/cli:v1)"
	run reg_tags dst back/app
	assert_output_equals '["1.0.0", "2.0.0", "2.1.0", "2.2.0-rc.1", "latest"]'
	assert_equal "$(regship digest "$dst_ADDR/back/app:latest")" "$(fixture_digest src app:latest)" "back/app:latest"
	# a directory without layouts
	mkdir -p "$W/empty"
	run regship sync "$W/empty" "$dst_ADDR/none"
	assert_status 2
	assert_output_contains "no OCI layout"
}

@test "sync --keep-going: the other tags are copied, exit 6, --json lists the failure" {
	run regship sync --progress none "$src_ADDR/broken" "$dst_ADDR/kg1" --jobs 1
	[[ $status -ne 0 && $status -ne 6 ]] || fail "expected a failure status, got $status" "$output"
	assert_output_contains "$src_ADDR/broken:t2"
	run --separate-stderr regship sync --progress none --keep-going --json "$src_ADDR/broken" "$dst_ADDR/kg2"
	assert_status 6
	run json '([i["tag"] for i in d["images"]], [f["source"] for f in d["failed"]], d["failed_count"], d["copied_count"], d["skipped_count"])' <<<"$output"
	assert_output_equals "[[\"t0\", \"t1\", \"t3\"], [\"$src_ADDR/broken:t2\"], 1, 3, 0]"
	run reg_tags dst kg2/broken
	assert_output_equals '["t0", "t1", "t3"]'
}

@test "sync --config: a malformed, unknown-keyed or unreadable file is exit 2 naming file and line" {
	printf '%s:\n  images:\n    app: [latest\n' "$src_ADDR" >"$W/bad.yaml"
	run regship sync --config "$W/bad.yaml" "$dst_ADDR/x"
	assert_status 2
	assert_output_contains "$W/bad.yaml:"
	assert_output_contains "malformed YAML"
	printf '%s:\n  images:\n    app: []\n  tls_verify: false\n' "$src_ADDR" >"$W/unknown.yaml"
	run regship sync --config "$W/unknown.yaml" "$dst_ADDR/x"
	assert_status 2
	assert_output_contains "$W/unknown.yaml:4: unknown key \"tls_verify\""
	run regship sync --config "$W/missing.yaml" "$dst_ADDR/x"
	assert_status 2
	assert_output_contains "$W/missing.yaml"
	run regship sync --config "$W" "$dst_ADDR/x"
	assert_status 2
	assert_output_contains "$W"
	run reg_tags dst x/app
	[[ $output == "[]" || -z $output ]] || fail "something was written: $output"
}

@test "interop: skopeo sync --src yaml with the same file gives the same tags and digests" {
	command -v skopeo >/dev/null || skip "skopeo is not installed"
	cat >"$W/interop.yaml" <<EOF
$src_ADDR:
    tls-verify: false
    images:
        tools/cli: []
    images-by-tag-regex:
        app: ^2\.
EOF
	skopeo sync --src yaml --dest docker --dest-tls-verify=false "$W/interop.yaml" "$dst_ADDR/sk" ||
		fail "skopeo sync failed"
	run regship sync --progress none --config "$W/interop.yaml" "$dst_ADDR/rs"
	assert_success
	local repo t
	for repo in app cli; do
		assert_equal "$(reg_tags dst "rs/$repo")" "$(reg_tags dst "sk/$repo")" "tags of $repo"
		for t in $(reg_tags dst "sk/$repo" | json '" ".join(d)'); do
			assert_equal "$(regship digest "$dst_ADDR/rs/$repo:$t")" "$(regship digest "$dst_ADDR/sk/$repo:$t")" "$repo:$t"
		done
	done
}

@test "--src-creds / --dest-creds: each side its own user; passwords never shown nor passed on" {
	# the destination's credentials would otherwise come from docker's config: a helper that
	# records its arguments and input shows that the source's password never reaches it
	mkdir -p "$W/bin" "$W/home2/.docker"
	cat >"$W/bin/docker-credential-rec" <<EOF
#!/bin/sh
{ echo "argv: \$*"; cat; } >>"$W/helper.log"
echo '{"Username": "nobody", "Secret": "nothing"}'
EOF
	chmod +x "$W/bin/docker-credential-rec"
	printf '{"credHelpers": {"%s": "rec"}}\n' "$hsrc_ADDR" >"$W/home2/.docker/config.json"
	: >"$W/helper.log"
	# wrong source password: refused at the source (exit 4), the destination untouched
	run regship sync --progress none --src-creds reader:wrong --dest-creds admin:adminpass "$hsrc_ADDR/secret/app" "$hdst_ADDR/c"
	assert_status 4
	assert_output_not_contains "adminpass"
	# right ones: the reader reads the source, the admin writes the destination
	run regship -v sync --progress none --src-creds reader:readerpass --dest-creds admin:adminpass "$hsrc_ADDR/secret/app" "$hdst_ADDR/c"
	assert_success
	assert_output_contains "copied $hsrc_ADDR/secret/app:1 -> $hdst_ADDR/c/app:1@$(fixture_digest hsrc secret/app:1)"
	assert_output_not_contains "readerpass"
	assert_output_not_contains "adminpass"
	# --src-password-stdin; the destination through docker's config (the recording helper)
	PATH="$W/bin:$PATH" REGSHIP_TEST_HOME="$W/home2" run regship copy --progress none --src-creds reader --src-password-stdin "$hsrc_ADDR/secret/app:1" "$hsrc_ADDR/secret/copy:1" <<<"readerpass"
	assert_status 4 # the helper's "nobody" cannot write: the destination did use docker's config
	[[ -s $W/helper.log ]] || fail "the credential helper was not run"
	assert_file_not_contains "$W/helper.log" "readerpass"
	run regship copy --progress none --src-creds reader --src-password-stdin --dest-creds admin:adminpass "$hsrc_ADDR/secret/app:1" "$hdst_ADDR/c/stdin:1" <<<"readerpass"
	assert_success
	assert_equal "$(regship -u admin --password-stdin digest "$hdst_ADDR/c/stdin:1" <<<adminpass)" "$(fixture_digest hsrc secret/app:1)" "c/stdin:1"
	# no password and no terminal: a usage error, nothing asked
	run regship sync --src-creds reader "$hsrc_ADDR/secret/app" "$hdst_ADDR/c" </dev/null
	assert_status 2
	assert_output_contains "--src-password-stdin"
	run regship copy --src-password-stdin "$hsrc_ADDR/secret/app:1" "$hdst_ADDR/c/x:1" <<<"readerpass"
	assert_status 2
	run regship copy --dest-creds admin:adminpass "$hsrc_ADDR/secret/app:1" "oci:$W/creds-layout" </dev/null
	assert_status 2
	assert_output_contains "--dest-creds: the destination is not a registry"
}

@test "sync --config: a registry's credentials from the file (htpasswd), the destination's from --dest-creds" {
	cat >"$W/creds.yaml" <<EOF
$hsrc_ADDR:
    credentials:
        username: reader
        password: readerpass
    images:
        secret/app: ["1"]
EOF
	run regship sync --progress none --config "$W/creds.yaml" --dest-creds admin:adminpass "$hdst_ADDR/yc"
	assert_success
	assert_output_contains "copied $hsrc_ADDR/secret/app:1 -> $hdst_ADDR/yc/app:1@$(fixture_digest hsrc secret/app:1)"
	assert_output_not_contains "readerpass"
	sed -i 's/password: readerpass/password: Xyzzy-not-it/' "$W/creds.yaml"
	run regship sync --progress none --config "$W/creds.yaml" --dest-creds admin:adminpass "$hdst_ADDR/yc2"
	assert_status 4
	assert_output_not_contains "Xyzzy-not-it"
	# without the file's credentials nor docker's, the source refuses
	printf '%s:\n    images:\n        secret/app: ["1"]\n' "$hsrc_ADDR" >"$W/nocreds.yaml"
	run regship sync --progress none --config "$W/nocreds.yaml" --dest-creds admin:adminpass "$hdst_ADDR/yc3"
	assert_status 4
}

@test "sync: one tag or digest as SOURCE; --scoped into a directory; a DESTINATION without a registry host is refused" {
	local d
	d=$(fixture_digest src app:2.0.0)
	run --separate-stderr regship sync --progress none "$src_ADDR/app@$d" "$dst_ADDR/bd"
	assert_success
	assert_output_equals "copied $src_ADDR/app@$d -> $dst_ADDR/bd/app@$d"
	assert_equal "$(regship digest "$dst_ADDR/bd/app@$d")" "$d" "bd/app@digest"
	run regship sync --progress none "$src_ADDR/app:1.0.0" "$dst_ADDR/one"
	assert_success
	run reg_tags dst one/app
	assert_output_equals '["1.0.0"]'
	run regship sync --progress none --scoped "$src_ADDR/app:latest" "$W/scoped"
	assert_success
	verify_layout "$W/scoped/$src_ADDR/app" latest "$(fixture_digest src app:latest)"
	# "mirror" would be Docker Hub's docker.io/mirror: a mistyped directory goes nowhere
	run regship sync "$src_ADDR/app" mirror
	assert_status 2
	assert_output_contains "names no registry host"
	run regship sync "$src_ADDR/app" "$dst_ADDR/x:tag"
	assert_status 2
	# a file where the directory of layouts would go
	: >"$BATS_TEST_TMPDIR/file"
	run regship sync "$src_ADDR/app" "$BATS_TEST_TMPDIR/file"
	assert_status 2
	assert_output_contains "DESTINATION $BATS_TEST_TMPDIR/file: not a directory"
	[[ -f $BATS_TEST_TMPDIR/file && ! -s $BATS_TEST_TMPDIR/file ]] || fail "the file was changed"
	# from layouts to layouts: refused
	run regship sync "$W/scoped" "$W/elsewhere"
	assert_status 2
	assert_file_not_exists "$W/elsewhere"
}

@test "--src-creds USER on a terminal: the password is asked (not echoed), for that side only" {
	local home=$W/ptyhome
	mkdir -p "$home/.docker"
	run env HOME="$home" DOCKER_CONFIG="$home/.docker" XDG_CACHE_HOME="$home/.cache" \
		"$HARNESS_PY" "$HARNESS_DIR/ptyrun.py" --answer "Password for reader (source): " readerpass -- \
		"$REGSHIP" sync --progress none --src-creds reader --dest-creds admin:adminpass \
		"$hsrc_ADDR/secret/app" "$hdst_ADDR/pty"
	assert_success
	assert_output_contains "Password for reader (source): "
	assert_output_contains "copied $hsrc_ADDR/secret/app:1 -> $hdst_ADDR/pty/app:1@"
	assert_output_not_contains "readerpass"
}

@test "--src-creds USER on a terminal: Ctrl-C at the password prompt gives the terminal its echo back" {
	local home=$W/ptyhome2
	mkdir -p "$home/.docker"
	run --separate-stderr env HOME="$home" DOCKER_CONFIG="$home/.docker" XDG_CACHE_HOME="$home/.cache" \
		"$HARNESS_PY" "$HARNESS_DIR/ptyrun.py" --interrupt "Password for reader (source): " -- \
		"$REGSHIP" sync --progress none --src-creds reader "$hsrc_ADDR/secret/app" "$hdst_ADDR/intr"
	# ended by the SIGINT itself (130), as a shell expects of an interrupted command
	assert_status 130
	assert_output_contains "Password for reader (source): "
	[[ $stderr == *"echo at prompt: off"* ]] || fail "the echo was on at the prompt: $stderr"
	[[ $stderr == *"echo after: on"* ]] || fail "the terminal was left without echo: $stderr"
	# nothing was copied
	run curl -s -o /dev/null -w '%{http_code}' -u admin:adminpass "$hdst_URL/v2/intr/app/tags/list"
	assert_output_equals 404
}

@test "sync --config: the same blobs in two repositories of one batch reach both destinations" {
	printf '%s:\n    images:\n        twin/a: []\n        twin/b: []\n' "$src_ADDR" >"$W/twin.yaml"
	run regship sync --progress none --jobs 8 --config "$W/twin.yaml" "$dst_ADDR/tw"
	assert_success
	local repo blob d
	d=$(fixture_digest src twin/a:v1)
	for repo in tw/a tw/b; do
		assert_equal "$(regship digest "$dst_ADDR/$repo:v1")" "$d" "$repo:v1"
		# every blob the manifest names is served by that repository
		for blob in $(regship manifest "$dst_ADDR/$repo:v1" | json '" ".join([d["config"]["digest"]] + [l["digest"] for l in d["layers"]])'); do
			run curl -s -o /dev/null -w '%{http_code}' -I "$dst_URL/v2/$repo/blobs/$blob"
			assert_output_equals 200
		done
	done
}
