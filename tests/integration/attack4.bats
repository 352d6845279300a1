#!/usr/bin/env bats
# Hostile-tester findings on the last session's refactors (blob uploads split in three files,
# the verbs along their steps, sync's walk, retag's parallel HEADs): each test is a break that
# was found by hand and fixed.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	reg_start plain reg
	fixture seed "$reg_URL" team/app --tag 1 --seed a4app >/dev/null
	# answers every blob upload's or mount's 201 with a Docker-Content-Digest of another blob
	faultproxy_start bdig "$reg_URL" --hostile blob-digest
	# asks for upload chunks of at least 2^60 bytes in every POST's 202
	faultproxy_start cmin "$reg_URL" --hostile chunk-min-length
	server_start hostile hs
	reg_start htpasswd hreg
	reg_seed hreg p/app --tag 1 --seed a4pty >/dev/null
	# one 429 on a manifest GET or HEAD whose Retry-After is an HTTP-date 3 s ahead
	faultproxy_start rdate "$reg_URL" --only 429 --once --rate 1 --retry-after date+3 \
		--match '^(GET|HEAD) /v2/.*/manifests/'
	# every manifest GET or HEAD: 429 with Retry-After: 30
	faultproxy_start r30 "$reg_URL" --only 429 --rate 1 --retry-after 30 \
		--match '^(GET|HEAD) /v2/.*/manifests/'
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
}

@test "a 201 to a blob's final PUT naming another Docker-Content-Digest is refused (exit 1); a mount's is not trusted" {
	fixture oci-layout "$T/lay" --tag v1 --layers 1 --layer-size 4K --seed a4bdig >/dev/null
	# the final PUT ?digest= (monolithic, then chunked)
	run regship push "oci:$T/lay:v1" "$bdig_ADDR/bd/put:v1"
	assert_failure 1
	assert_output_contains "answered the upload of sha256:"
	assert_output_contains "another blob's; refusing it"
	run regship push --chunk-size 1K "oci:$T/lay:v1" "$bdig_ADDR/bd/chunked:v1"
	assert_failure 1
	assert_output_contains "answered the upload of sha256:"
	# no manifest was pushed on blobs the registry says it stored as something else
	run reg_digests reg bd/put v1
	assert_output_equals "v1 none"
	# a mount from another repository: its 201 is not taken for "mounted"; the blob is
	# looked for in the destination (a HEAD, answered as the registry stored it)
	run regship copy "$bdig_ADDR/team/app:1" "$bdig_ADDR/bd/mounted:1"
	assert_success
	assert_output_not_contains "mounted from"
	assert_output_contains "exists"
}

@test "a registry asking for upload chunks of 2^60 bytes: a streamed push sends one PATCH, not 'out of memory'" {
	fixture docker-archive "$T/d.tar" --repo-tag foo/bar:1 --seed a4cmin >/dev/null
	# a docker archive's layers are compressed on the way (a streamed upload): with
	# --chunk-size each chunk is held in memory, and the registry's OCI-Chunk-Min-Length
	# raised the chunk to 2^60 bytes
	run regship push --chunk-size 64K "$T/d.tar" "$cmin_ADDR/cm/bar:1"
	assert_success
	assert_output_not_contains "out of memory"
	[[ $(jsonl_count "$cmin_FAULTS" 'd["kind"] == "chunk-min-length"') -ge 1 ]] ||
		fail "the registry never asked for its minimum"
	run reg_digests reg cm/bar 1
	assert_output_matches "^1 sha256:[0-9a-f]{64}$"
}

@test "sync from a directory with planted symbolic links to / and outside: neither is walked; a link to a layout is one" {
	mkdir -p "$T/src/team" "$T/outside/x"
	run regship copy "$reg_ADDR/team/app:1" "oci:$T/src/team/app:1"
	assert_success
	run regship copy "$reg_ADDR/team/app:1" "oci:$T/outside/x/app:1"
	assert_success
	ln -s / "$T/src/root"
	ln -s "$T/outside" "$T/src/out"
	ln -s "$T/outside/x/app" "$T/src/linked"
	# the links were walked: '/' to MAX_DEPTH levels (ending at the first unreadable directory,
	# exit 2) and out/x/app listed as a repository of the source
	run regship sync --dry-run "$T/src" "$reg_ADDR/mirror"
	assert_success
	assert_output_contains "src/team/app:1 -> $reg_ADDR/mirror/app:1"
	assert_output_contains "src/linked:1 -> $reg_ADDR/mirror/linked:1"
	assert_output_not_contains "src/out/"
	assert_output_not_contains "src/root/"
	[[ $(grep -c '^copy ' <<<"$output") -eq 2 ]] || fail "not two layouts: $output"
}

@test "429 with Retry-After as an HTTP-date is waited for, not retried at the backoff's 0.2 s" {
	run regship -q digest "$rdate_ADDR/team/app:1"
	assert_success
	[[ $(jsonl_count "$rdate_FAULTS" 'd["kind"] == "429"') -eq 1 ]] || fail "no 429 was injected"
	# the retry came at least 2 s after the 429 (the date is 3 s ahead, whole seconds)
	gap=$("$HARNESS_PY" -c 'import json, sys
rs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
t429 = [r["t"] for r in rs if r["fault"] == "429"][0]
print(min(r["t"] for r in rs if r["fault"] is None and r["t"] > t429) - t429)' "$rdate_REQUESTS")
	"$HARNESS_PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 1.9 else 1)' "$gap" ||
		fail "retried $gap s after a 429 with Retry-After: <date 3 s ahead>"
}

@test "429 asking for a wait past --timeout: rate limited at once (exit 5, with its Retry-After), not a time-out" {
	local start=$SECONDS
	run regship --timeout 20s digest "$r30_ADDR/team/app:1"
	assert_failure 5
	assert_output_contains "Retry-After"
	assert_output_not_contains "timed out"
	# no wait for the deadline (20 s) either: the answer was final (the bound leaves room for
	# a slow machine or valgrind's start-up)
	((SECONDS - start < 15)) || fail "took $((SECONDS - start)) s"
}

@test "sync into a directory where a symbolic link is planted at a repository's layout: refused, nothing written there" {
	mkdir -p "$T/dst" "$T/victim" "$T/dst2"
	ln -s "$T/victim" "$T/dst/app"
	# the layout went through the link into victim/ (oci-layout, index.json, blobs)
	run regship sync "$reg_ADDR/team/app" "$T/dst"
	assert_failure 2
	assert_output_contains "$T/dst/app is a symbolic link: sync writes only inside $T/dst; refusing"
	# --scoped: a link at a directory on the way (the registry's host:port)
	ln -s "$T/victim" "$T/dst2/$reg_ADDR"
	run regship sync --scoped "$reg_ADDR/team/app" "$T/dst2"
	assert_failure 2
	assert_output_contains "$T/dst2/$reg_ADDR is a symbolic link"
	[[ -z $(ls -A "$T/victim") ]] || fail "written through the link: $(ls -A "$T/victim")"
	# without a link the same syncs write their layouts
	rm "$T/dst/app" "$T/dst2/$reg_ADDR"
	run regship sync "$reg_ADDR/team/app" "$T/dst"
	assert_success
	[[ -f $T/dst/app/index.json && ! -L $T/dst/app ]] || fail "no layout at dst/app"
}

@test "tags: empty pages that each link to a fresh URL end after 100 pages, not 100,000 requests" {
	run regship tags "$hs_ADDR/link-empty"
	assert_failure 1
	assert_output_contains "sent 100 pages in a row without a name, each linking to another; giving up (a pagination loop)"
	n=$(grep -c 'GET /v2/link-empty/tags/list' "$hs_LOG")
	[[ $n -le 101 ]] || fail "$n pages were asked for"
}

@test "sync --config '' is a usage error naming the option, not ': cannot be read'" {
	run regship sync --config '' "$T/out"
	assert_failure 2
	assert_output_contains "regship: --config: empty file name"
	[[ ! -e $T/out ]] || fail "the destination was created"
}

@test "copy --all-tags --json: each image's source names its tag, also a tag found in the host (1 in 127.0.0.1)" {
	run regship copy -q --all-tags --json "$reg_ADDR/team/app" "$reg_ADDR/alltags/app"
	assert_success
	# the tag was left out whenever it appeared anywhere in the repository's text
	got=$(json '[i["source"] for i in d["images"]]' <<<"$output")
	assert_equal "$got" "[\"$reg_ADDR/team/app:1\"]"
	run regship copy -q --json "$reg_ADDR/team/app:1" "$reg_ADDR/alltags/app:2"
	assert_success
	got=$(json '[i["source"] for i in d["images"]]' <<<"$output")
	assert_equal "$got" "[\"$reg_ADDR/team/app:1\"]"
}

# ptyrun ARGS...: tests/harness/ptyrun.py with an isolated HOME (no stored credentials)
ptyrun() {
	local home=$BATS_TEST_TMPDIR/ptyhome
	mkdir -p "$home/.docker"
	env HOME="$home" DOCKER_CONFIG="$home/.docker" XDG_CACHE_HOME="$home/.cache" \
		"$HARNESS_PY" "$HARNESS_DIR/ptyrun.py" --timeout 30 "$@"
}

@test "the password prompt: Ctrl-\\ gives the terminal its echo back; Ctrl-Z stops with the echo on, fg turns it off" {
	# SIGQUIT ended regship with the terminal's echo off
	run --separate-stderr ptyrun --interrupt "Password: " --signal SIGQUIT -- \
		"$REGSHIP" -u admin tags "$hreg_ADDR/p/app"
	assert_status 131
	[[ $stderr == *"echo at prompt: off"* ]] || fail "the echo was on at the prompt: $stderr"
	[[ $stderr == *"echo after: on"* ]] || fail "the terminal was left without echo: $stderr"
	# SIGTSTP stopped regship with the echo off: the shell got its terminal back without echo
	run --separate-stderr ptyrun --stop "Password: " --answer "Password: " adminpass -- \
		"$REGSHIP" -u admin tags "$hreg_ADDR/p/app"
	assert_success
	[[ $stderr == *"echo while stopped: on"* ]] || fail "stopped with the echo off: $stderr"
	[[ $stderr == *"echo after fg: off"* ]] || fail "the echo stayed on after fg: $stderr"
	tr -d '\r' <<<"$output" | grep -qx 1 || fail "no tag listed: $output"
	assert_output_not_contains "adminpass"
}

@test "blob with standard output closed (>&-): refused, exit 2, not written into /dev/null with exit 0" {
	local layer
	layer=$(regship inspect "$reg_ADDR/team/app:1" | awk '/^Layers:/ { getline; print $1; exit }')
	[[ $layer == sha256:* ]] || fail "no layer digest: $layer"
	export HOME="$BATS_FILE_TMPDIR/home"
	# regship gives a closed descriptor 1 /dev/null (so no file or socket takes it): the blob
	# went there, and the exit status said it was written
	for o in "" "-o -" "-o /dev/stdout" "-o /dev/fd/1"; do
		# shellcheck disable=SC2086
		run bash -c '"$0" blob '"$o"' "$1" >&-' "$REGSHIP" "$reg_ADDR/team/app@$layer"
		assert_failure 2
		assert_output_contains "standard output is closed: there is nowhere to write the blob (use -o FILE)"
	done
	# a file, or /dev/null by name, is still written
	run bash -c '"$0" blob -o "$2" "$1" >&-' "$REGSHIP" "$reg_ADDR/team/app@$layer" "$T/b.bin"
	assert_success
	assert_equal "$(sha256_of "$T/b.bin")" "$layer"
	run bash -c '"$0" blob -o /dev/null "$1" >&-' "$REGSHIP" "$reg_ADDR/team/app@$layer"
	assert_success
}

@test "manifest, config, digest, tags, inspect with standard output closed: exit 2, not exit 0 with nothing printed" {
	export HOME="$BATS_FILE_TMPDIR/home"
	local v
	for v in manifest config digest inspect; do
		run bash -c '"$0" "$1" "$2" >&-' "$REGSHIP" "$v" "$reg_ADDR/team/app:1"
		assert_failure 2
		assert_output_contains "standard output is closed: $v has nowhere to print"
	done
	run bash -c '"$0" ls "$1" >&-' "$REGSHIP" "$reg_ADDR/team/app"
	assert_failure 2
	assert_output_contains "standard output is closed: tags has nowhere to print"
	# a command whose product is elsewhere still runs (its reference lines are dropped)
	run bash -c '"$0" pull -q "$1" "oci:$2:1" >&-' "$REGSHIP" "$reg_ADDR/team/app:1" "$T/lay"
	assert_success
	assert_file_exists "$T/lay/index.json"
}
