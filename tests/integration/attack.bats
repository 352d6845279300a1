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

@test "an archive is never streamed into standard error's pipe or file (2>&1): refused, exit 2" {
	local one="$reg_ADDR/big/img:1"
	export HOME="$T"
	# stdout and stderr the same pipe: the messages would be mixed into the archive
	run bash -c '"$0" pull --progress none "$1" docker-archive:- 2>&1 | cat >"$2"; exit "${PIPESTATUS[0]}"' \
		"$REGSHIP" "$one" "$T/pipe.tar"
	assert_failure 2
	assert_file_contains "$T/pipe.tar" "goes where standard error goes"
	# stdout and stderr the same regular file, archive on "-"
	run bash -c '"$0" pull --progress none "$1" oci-archive:- >"$2" 2>&1' "$REGSHIP" "$one" "$T/same.tar"
	assert_failure 2
	# /dev/stderr named as the file, stderr a pipe
	run bash -c '"$0" pull --progress none "$1" docker-archive:/dev/stderr 2>&1 >/dev/null | cat; exit "${PIPESTATUS[0]}"' \
		"$REGSHIP" "$one"
	assert_failure 2
	assert_output_contains "/dev/stderr goes where standard error goes"
	# still fine: stderr elsewhere, or /dev/stderr redirected to a file of its own
	run bash -c '"$0" pull --progress none "$1" docker-archive:- 2>/dev/null | tar t' "$REGSHIP" "$one"
	assert_success
	assert_output_contains manifest.json
	run bash -c '"$0" pull --progress none "$1" docker-archive:/dev/stderr 2>"$2" >/dev/null && tar tf "$2"' \
		"$REGSHIP" "$one" "$T/err.tar"
	assert_success
	assert_output_contains manifest.json
	no_temporaries "$T"
}

@test "retag --semver --suffix latest is refused: the variant would take the plain releases' latest" {
	fixture seed "$reg_URL" var/app --tag 1.0.0-latest --layer-size 1K --seed var >/dev/null
	run regship retag --semver --suffix latest "$reg_ADDR/var/app:1.0.0-latest"
	assert_failure 1
	assert_output_contains "invalid --suffix latest"
	run regship tags "$reg_ADDR/var/app"
	assert_success
	assert_output_equals "1.0.0-latest"
}

@test "pull by digest into oci: or oci-archive: without a tag: index.json holds the image (untagged)" {
	local digest got
	digest=$(regship digest "$BIG")
	run regship pull --progress none "$reg_ADDR/big/img@$digest" "oci:$T/lay"
	assert_success
	# a docker manifest is converted to OCI on the way (a new digest, the one printed)
	[[ ${lines[-1]} == "oci:$T/lay@sha256:"* ]] || fail "no digest printed: ${lines[-1]}"
	got=${lines[-1]##*@}
	run json 'd["manifests"][0]["digest"] if len(d["manifests"]) == 1 else "entries: %d" % len(d["manifests"])' <"$T/lay/index.json"
	assert_output_equals "$got"
	# the layout is usable as a source again (it held no image before)
	run regship push --progress none "oci:$T/lay" "$reg_ADDR/big/again:1"
	assert_success
	run regship pull --progress none "$reg_ADDR/big/img@$digest" "oci-archive:$T/a.tar"
	assert_success
	tar -xOf "$T/a.tar" index.json >"$T/index.json"
	assert_file_contains "$T/index.json" "$got"
	no_temporaries "$T"
}

@test "a closed standard output (>&-) is not reused: '-' is refused, the reference lines are dropped" {
	export HOME="$T"
	# before: fd 1 went to curl's wakeup descriptor, the archive was lost and the exit status 0
	run bash -c '"$0" pull --progress none "$1" docker-archive:- >&-' "$REGSHIP" "$BIG"
	assert_failure 2
	assert_output_contains "standard output is closed"
	run bash -c '"$0" pull --progress none "$1" "oci:$2:v1" >&-' "$REGSHIP" "$BIG" "$T/lay"
	assert_success
	run json 'd["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]' <"$T/lay/index.json"
	assert_output_equals v1
	no_temporaries "$T"
}

@test "SIGTERM in the middle of retag --semver: the promotion finishes, nothing is left half-moved" {
	local d1 d2
	fixture seed "$reg_URL" sig/app --tag 1.0.0 --layer-size 1K --seed s1 >/dev/null
	fixture seed "$reg_URL" sig/app --tag 1.0.1 --layer-size 1K --seed s2 >/dev/null
	run regship retag --semver "$reg_ADDR/sig/app:1.0.0"
	assert_success
	d1=$(regship digest "$reg_ADDR/sig/app:1.0.1")
	# the PUT of the second floating tag (1) is held 3 s by the proxy: the signal lands mid-way
	faultproxy_start slow "$reg_URL" --only delay --rate 1 --match 'PUT .*/manifests/1$' --delay-ms 3000
	# not the regship() wrapper: the signal must reach regship itself
	HOME="$T" DOCKER_CONFIG="$T" "$REGSHIP" retag --semver "$slow_ADDR/sig/app:1.0.1" >"$T/out" 2>"$T/err" &
	local pid=$!
	wait_until 20 grep -q delay "$slow_FAULTS"
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 143
	assert_file_contains "$T/err" "interrupted by SIGTERM once the tags were written"
	for t in 1.0 1 latest; do
		d2=$(regship digest "$reg_ADDR/sig/app:$t")
		assert_equal "$d2" "$d1"
	done
}

@test "SIGTERM between untag's placeholder PUT and its DELETE: the tag does not stay on the placeholder" {
	fixture seed "$reg_URL" unt/app --tag gone --tag kept --layer-size 1K --seed u1 >/dev/null
	# distribution cannot delete a tag: untag puts a placeholder under it, then deletes that by
	# digest; that DELETE is held 3 s by the proxy, and the signal lands in between
	faultproxy_start slowdel "$reg_URL" --only delay --rate 1 --match 'DELETE .*/manifests/sha256:' --delay-ms 3000
	HOME="$T" DOCKER_CONFIG="$T" "$REGSHIP" untag "$slowdel_ADDR/unt/app:gone" >"$T/out" 2>"$T/err" &
	local pid=$! rc=0
	wait_until 20 grep -q delay "$slowdel_FAULTS"
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	assert_equal "$rc" 143
	assert_file_contains "$T/err" "interrupted by SIGTERM once the tag was removed"
	run regship tags "$reg_ADDR/unt/app"
	assert_success
	assert_output_equals "kept"
}
