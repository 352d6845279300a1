#!/usr/bin/env bats
# Hostile-tester findings on issues 10-12: each test is a break that was found by hand and fixed.

setup_file() {
	load helpers
	reg_start plain reg
	# two incompressible layers of 512 KiB: a 400 KiB file size limit holds none
	fixture seed "$reg_URL" big/img --tag 1 --layers 2 --layer-size 512K --seed big >/dev/null
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
	export TMPDIR="$T/tmp"
	mkdir -p "$TMPDIR"
	BIG="$reg_ADDR/big/img:1"
}

# no_temporaries DIR...: nothing regship left behind (temporary directories, .tmp- files)
no_temporaries() {
	local left
	left=$(find "$@" \( -name 'regship-*' -o -name '*.tmp-*' -o -name '.tmp-*' \) -print)
	[[ -z $left ]] || fail "temporaries left: $left"
}

# fsize_limited KIB ARGS...: regship ARGS under `ulimit -f KIB` with SIGXFSZ left at its default
# (as a shell or CI runner leaves it): regship itself must turn the limit into a write error
fsize_limited() {
	local kib=$1
	shift
	ulimit -f "$kib"
	trap - XFSZ
	regship "$@"
}

@test "ulimit -f: pull ends with 'File too large' naming the file, not killed by SIGXFSZ" {
	local dest
	echo keep >"$T/keep.txt"
	for dest in "docker-archive:$T/d.tar" "oci-archive:$T/o.tar" "oci:$T/lay:1"; do
		run fsize_limited 400 pull --progress none "$BIG" "$dest"
		assert_failure 1
		assert_output_contains "File too large"
	done
	assert_file_not_exists "$T/d.tar"
	assert_file_not_exists "$T/o.tar"
	no_temporaries "$T"
}
