#!/usr/bin/env bats
# Hostile-tester findings on issues 13-17: each test is a break that was found by hand and fixed.

setup_file() {
	load helpers
	reg_start plain reg
	# --by created: 1.0.0 is dated 01:00 UTC (written with a +09:00 offset), 2.0.0 05:00 UTC,
	# 3.0.0 half a second after 2.0.0
	fixture seed "$reg_URL" tz/img --tag 1.0.0 --created 2025-06-01T10:00:00+09:00 --seed tz1 >/dev/null
	fixture seed "$reg_URL" tz/img --tag 2.0.0 --created 2025-06-01T05:00:00Z --seed tz2 >/dev/null
	fixture seed "$reg_URL" tz/img --tag 3.0.0 --created 2025-06-01T05:00:00.5Z --seed tz3 >/dev/null
	# prune: 1.0.0 is signed (cosign's fallback tag) and its delete is refused (403)
	local d1
	d1=$(fixture seed "$reg_URL" sig/img --tag 1.0.0 --seed s1 | awk '{ print $2 }')
	[[ $d1 == sha256:* ]] || return 1
	fixture seed "$reg_URL" sig/img --tag 2.0.0 --seed s2 >/dev/null
	fixture seed "$reg_URL" sig/img --tag "sha256-${d1#sha256:}.sig" --layers 1 --seed sg1 >/dev/null
	echo "sha256-${d1#sha256:}.sig" >"$BATS_FILE_TMPDIR/sig1"
	server_start policyproxy deny --upstream "$reg_URL" --deny "^DELETE /v2/sig/img/manifests/$d1"
	# a registry whose blobs trickle (2 bytes a second)
	server_start slowserver slow --mode by-path --rate 2
	reg_start tls tls
	reg_seed tls ca/img --tag 1 --seed ca >/dev/null
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
}

@test "prune --by created orders by the instant, not the text: offsets and fractions of a second" {
	run --separate-stderr regship prune --keep 2 --by created --dry-run "$reg_ADDR/tz/img"
	assert_success
	assert_output_contains "keep   3.0.0"
	assert_output_contains "keep   2.0.0"
	assert_output_contains "delete 1.0.0"
}

# layer_of IMAGE: the digest of the image's first layer
layer_of() {
	regship inspect "$1" | awk '/^Layers:/ { getline; print $1; exit }'
}

# fsize_limited KIB ARGS...: regship ARGS under `ulimit -f KIB` with SIGXFSZ at its default
fsize_limited() {
	local kib=$1
	shift
	ulimit -f "$kib"
	trap - XFSZ
	regship "$@"
}

@test "blob -o under ulimit -f: 'File too large' naming the file, no temporary left, not killed" {
	local img="$reg_ADDR/tz/img:1.0.0" layer
	layer=$(layer_of "$img")
	[[ $layer == sha256:* ]] || fail "no layer digest: $layer"
	run fsize_limited 4 blob -o "$T/small" "$img" "$layer"
	assert_failure 1
	assert_output_contains "$T/small: write error: File too large"
	run find "$T" -name 'small*'
	[[ -z $output ]] || fail "left behind: $output"
}

@test "blob -o through a symbolic link that points to no file yet: the file is made, the link stays" {
	local img="$reg_ADDR/tz/img:1.0.0" layer
	layer=$(layer_of "$img")
	mkdir -p "$T/out"
	ln -s out/new.bin "$T/link"
	ln -s "$T/nowhere/x" "$T/lost"
	run regship blob -o "$T/link" "$img" "$layer"
	assert_success
	[[ -L $T/link ]] || fail "the link was replaced"
	[[ $(sha256sum <"$T/out/new.bin") == "${layer#sha256:} "* ]] || fail "out/new.bin is not the blob"
	# a link into a directory that does not exist: an error naming it, the link kept
	run regship blob -o "$T/lost" "$img" "$layer"
	assert_failure 1
	assert_output_contains "$T/nowhere/x"
	[[ -L $T/lost ]] || fail "the link was replaced"
}

@test "prune: a signature whose subject's delete fails stays with its subject" {
	local sig
	sig=$(cat "$BATS_FILE_TMPDIR/sig1")
	run --separate-stderr regship prune --keep 1 "$deny_ADDR/sig/img"
	# nothing could be removed: exit 1, not 6 (partly done)
	assert_failure 1
	[[ $stderr == *"$sig"*"its subject sha256:"*"stays"* ]] || fail "stderr: $stderr"
	run regship tags "$reg_ADDR/sig/img"
	assert_success
	assert_output_contains "1.0.0"
	assert_output_contains "$sig"
}

@test "blob -o killed (SIGTERM, SIGHUP) while the blob trickles in: FILE untouched, only a partial to continue" {
	local sig bg status left
	# a wrapper that records regship's own pid, so the signal reaches regship itself
	printf '#!/bin/sh\necho $$ >"%s/pid"\nexec "%s" "$@"\n' "$T" "$REGSHIP" >"$T/pidwrap"
	chmod +x "$T/pidwrap"
	for sig in TERM HUP; do
		mkdir -p "$T/$sig"
		rm -f "$T/pid"
		REGSHIP="$T/pidwrap" regship blob -o "$T/$sig/out" \
			"$slow_ADDR/trickle/x@sha256:$(printf '%064d' 1)" 2>"$T/$sig.err" &
		bg=$!
		wait_until 20 compgen -G "$T/$sig/out.regship-*" >/dev/null ||
			fail "no temporary file: $(cat "$T/$sig.err")"
		kill "-$sig" "$(cat "$T/pid")"
		status=0
		wait "$bg" || status=$?
		[[ $status -ne 0 ]] || fail "exit 0 after SIG$sig"
		# nothing under FILE; what was received stays for the next run (regship-blob(1)),
		# an empty partial does not
		left=$(ls -A "$T/$sig")
		[[ -z $left || ($left == out.regship-partial-* && -s $T/$sig/$left) ]] ||
			fail "left after SIG$sig: $left"
	done
}

@test "--ca-cert <(cat ca.pem) (a pipe, readable once) works; --ca-cert /dev/zero ends with a message" {
	run --separate-stderr regship --ca-cert <(cat "$tls_CA") tags "$tls_ADDR/ca/img"
	assert_success
	assert_output_equals "1"
	run --separate-stderr timeout 30 "$REGSHIP" --ca-cert /dev/zero tags "$tls_ADDR/ca/img"
	assert_failure 2
	[[ $stderr == *"--ca-cert /dev/zero: larger than 16 MiB"* ]] || fail "stderr: $stderr"
}
