#!/usr/bin/env bats
# OCI layout destinations are never a way out of their directory, and never trust what they find:
# planted symbolic links at every path inside a layout, planted wrong blobs, special files where a
# blob belongs, messages that say what is wrong, predictable temporary names, and concurrent
# writers (parallel pulls into one new layout under CPU load, pushes from a layout being written).

setup_file() {
	load helpers
	reg_start plain reg
	export W="$BATS_FILE_TMPDIR/work"
	mkdir -p "$W"
	fixture seed "$reg_URL" lib/app --tag v1 --layers 2 --layer-size 24K --seed lsafe \
		--format oci >"$W/app.out"
	# the reference layout every test starts from (3 blobs: config, 2 layers, + manifest)
	REGSHIP_TEST_HOME="$BATS_FILE_TMPDIR/home" regship -q pull "$reg_ADDR/lib/app:v1" \
		oci:"$W/good":v1 >/dev/null
}

teardown_file() {
	load helpers
	reg_stop_all
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
	APP=$(head -n1 "$W/app.out" | cut -d' ' -f2)
	# the largest blob of the image (a layer), its name and size
	BIG=$(ls -S "$W/good/blobs/sha256" | head -n1)
	BIG_SIZE=$(stat -c %s "$W/good/blobs/sha256/$BIG")
}

teardown() {
	[[ -z ${BURNER:-} ]] || kill $BURNER 2>/dev/null || true
}

# tree_state DIR: every path below DIR with its type and content digest (symlinks not followed)
tree_state() {
	(cd "$1" && find . -printf '%p %y %s\n' | sort && find . -type f -exec sha256sum {} + | sort)
}

# new_layout DIR: an empty OCI layout (oci-layout only), as another tool would start one
new_layout() {
	mkdir -p "$1"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$1/oci-layout"
}

@test "a symlink planted at blobs/sha256 is refused: nothing is written through it" {
	mkdir -p "$T/elsewhere"
	new_layout "$T/lay"
	mkdir "$T/lay/blobs"
	ln -s "$T/elsewhere" "$T/lay/blobs/sha256"
	run regship pull "$reg_ADDR/lib/app:v1" oci:"$T/lay":v1
	assert_failure
	assert_output_contains "$T/lay/blobs/sha256"
	assert_output_contains "symbolic link"
	[[ -z $(ls -A "$T/elsewhere") ]] || fail "blobs were written outside the layout: $(ls -A "$T/elsewhere")"
	[[ -L $T/lay/blobs/sha256 ]]
}

@test "a symlink planted at blobs/ is refused: nothing is written through it" {
	mkdir -p "$T/elsewhere/sha256"
	new_layout "$T/lay"
	ln -s "$T/elsewhere" "$T/lay/blobs"
	run regship pull "$reg_ADDR/lib/app:v1" oci:"$T/lay":v1
	assert_failure
	assert_output_contains "symbolic link"
	[[ -z $(ls -A "$T/elsewhere/sha256") ]] || fail "blobs were written outside the layout"
}

@test "a symlink planted at index.json or oci-layout is refused; its target is untouched" {
	echo 'precious, not json' >"$T/victim"
	cp "$T/victim" "$T/victim.before"
	# index.json a link to a file outside
	new_layout "$T/a"
	ln -s "$T/victim" "$T/a/index.json"
	run regship pull "$reg_ADDR/lib/app:v1" oci:"$T/a":v1
	assert_failure
	assert_output_contains "$T/a/index.json"
	assert_output_contains "symbolic link"
	assert_output_not_contains "precious"
	cmp "$T/victim" "$T/victim.before"
	[[ -L $T/a/index.json ]]
	# oci-layout a link to a (valid) oci-layout file outside
	mkdir -p "$T/b"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$T/outside-layout"
	ln -s "$T/outside-layout" "$T/b/oci-layout"
	run regship pull "$reg_ADDR/lib/app:v1" oci:"$T/b":v1
	assert_failure
	assert_output_contains "$T/b/oci-layout"
	assert_output_contains "symbolic link"
	[[ ! -e $T/b/index.json && ! -e $T/b/blobs ]] || fail "something was written into $T/b"
}

@test "a symlink planted at a blob is replaced by the real blob; its target is untouched" {
	cp -r "$W/good" "$T/lay"
	echo 'outside data' >"$T/victim"
	cp "$T/victim" "$T/victim.before"
	rm "$T/lay/blobs/sha256/$BIG"
	ln -s "$T/victim" "$T/lay/blobs/sha256/$BIG"
	run regship pull "$reg_ADDR/lib/app:v1" oci:"$T/lay":v2
	assert_success
	cmp "$T/victim" "$T/victim.before"
	[[ -f $T/lay/blobs/sha256/$BIG && ! -L $T/lay/blobs/sha256/$BIG ]]
	verify_layout "$T/lay" v2 "$APP"
}

@test "a planted blob of the right size and wrong bytes is replaced, not reused" {
	new_layout "$T/lay"
	mkdir -p "$T/lay/blobs/sha256"
	head -c "$BIG_SIZE" /dev/zero >"$T/lay/blobs/sha256/$BIG"
	run regship pull "$reg_ADDR/lib/app:v1" oci:"$T/lay":v1
	assert_success
	[[ $(sha256_of "$T/lay/blobs/sha256/$BIG") == "sha256:$BIG" ]] || fail "the wrong blob was kept"
	verify_layout "$T/lay" v1 "$APP"
	# and a wrong size too
	printf 'short' >"$T/lay/blobs/sha256/$BIG"
	run regship pull "$reg_ADDR/lib/app:v1" oci:"$T/lay":v3
	assert_success
	[[ $(sha256_of "$T/lay/blobs/sha256/$BIG") == "sha256:$BIG" ]] || fail "the short blob was kept"
}

@test "a wrong manifest blob planted in the destination is replaced" {
	new_layout "$T/lay"
	mkdir -p "$T/lay/blobs/sha256"
	size=$(stat -c %s "$W/good/blobs/sha256/${APP#sha256:}")
	head -c "$size" /dev/zero >"$T/lay/blobs/sha256/${APP#sha256:}"
	run regship pull "$reg_ADDR/lib/app:v1" oci:"$T/lay":v1
	assert_success
	verify_layout "$T/lay" v1 "$APP"
}

@test "a directory or FIFO where a destination blob belongs is refused, and the message says so" {
	new_layout "$T/lay"
	mkdir -p "$T/lay/blobs/sha256/$BIG/inner"
	run regship pull "$reg_ADDR/lib/app:v1" oci:"$T/lay":v1
	assert_failure
	assert_output_contains "$T/lay/blobs/sha256/$BIG is a directory"
	[[ -d $T/lay/blobs/sha256/$BIG/inner ]]
	new_layout "$T/fifo"
	mkdir -p "$T/fifo/blobs/sha256"
	mkfifo "$T/fifo/blobs/sha256/$BIG"
	run timeout 10 "$REGSHIP" pull "$reg_ADDR/lib/app:v1" oci:"$T/fifo":v1
	[[ $status -ne 124 ]] || fail "regship blocked on a FIFO"
	assert_failure
	assert_output_contains "$T/fifo/blobs/sha256/$BIG is a FIFO"
	[[ -p $T/fifo/blobs/sha256/$BIG ]]
}

@test "a source layout with a short blob: the message gives both sizes, nothing is pushed" {
	cp -r "$W/good" "$T/lay"
	truncate -s 123 "$T/lay/blobs/sha256/$BIG"
	reg_log_mark reg
	run regship push oci:"$T/lay":v1 "$reg_ADDR/lib/short:1"
	assert_failure
	assert_output_contains "blob sha256:$BIG in oci layout $T/lay has 123 bytes, the manifest says $BIG_SIZE"
	assert_output_not_contains "does not hold"
	run reg_requests reg
	[[ $output != *PUT* && $output != *POST* ]] || fail "something was uploaded: $output"
	rm "$T/lay/blobs/sha256/$BIG"
	mkdir "$T/lay/blobs/sha256/$BIG"
	run regship push oci:"$T/lay":v1 "$reg_ADDR/lib/short:1"
	assert_failure
	assert_output_contains "$T/lay/blobs/sha256/$BIG is a directory"
}

@test "a symlink planted at the old predictable index.json temporary name changes nothing" {
	cp -r "$W/good" "$T/lay"
	echo 'outside data' >"$T/victim"
	cp "$T/victim" "$T/victim.before"
	# the shell execs regship with its own pid: plant the names that pid would have used
	run env -u REGSHIP_VALGRIND bash -c '
		ln -s "$2/victim" "$2/lay/index.json.tmp.$$"
		HOME=$3 DOCKER_CONFIG=$3/.docker XDG_CACHE_HOME=$3/.cache exec "$1" -q pull "$4" "oci:$2/lay:v9"
	' _ "$REGSHIP" "$T" "$BATS_FILE_TMPDIR/home" "$reg_ADDR/lib/app:v1"
	assert_success
	cmp "$T/victim" "$T/victim.before"
	[[ ! -L $T/lay/index.json && -f $T/lay/index.json ]]
	verify_layout "$T/lay" v9 "$APP"
	verify_layout "$T/lay" v1 "$APP"
	# no temporary file is left behind (but the planted link)
	[[ $(find "$T/lay" -name '*tmp*' | wc -l) == 1 ]] ||
		fail "temporary files left: $(find "$T/lay" -name '*tmp*')"
}

# pull_many DIR ROUND: six pulls of different tags into DIR at once; every exit status must be 0
pull_many() {
	local dir=$1 round=$2 i pids=() rc=0
	for i in 1 2 3 4 5 6; do
		regship -q pull "$reg_ADDR/lib/app:v1" oci:"$dir":"r$round-t$i" \
			>"$T/out.$round.$i" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		if ! wait "${pids[$i]}"; then
			rc=1
			echo "round $round pull $((i + 1)) failed: $(cat "$T/out.$round.$((i + 1))")" >&2
		fi
	done
	return $rc
}

@test "six parallel pulls into one new layout, under CPU load: every one succeeds, all tags kept" {
	# bounded CPU burners so the pulls interleave as on a loaded machine
	timeout 60 bash -c 'while :; do :; done' &
	BURNER=$!
	timeout 60 bash -c 'while :; do :; done' &
	BURNER="$BURNER $!"
	for round in 1 2 3 4 5 6 7 8; do
		rm -rf "$T/par"
		# round 1: a directory that does not exist yet; then an existing empty one
		[[ $round == 1 ]] || mkdir -p "$T/par/new"
		pull_many "$T/par/new" "$round"
		run json 'sorted((m.get("annotations") or {}).get("org.opencontainers.image.ref.name") for m in d["manifests"])' <"$T/par/new/index.json"
		assert_equal "$output" "[\"r$round-t1\", \"r$round-t2\", \"r$round-t3\", \"r$round-t4\", \"r$round-t5\", \"r$round-t6\"]"
	done
	kill $BURNER 2>/dev/null || true
	BURNER=
	verify_layout "$T/par/new" r8-t3 "$APP"
	[[ -z $(find "$T/par/new" -name '*tmp*') ]] || fail "temporary files left behind"
}

@test "pushes from a layout while other processes write into it all succeed" {
	cp -r "$W/good" "$T/lay"
	local pids=() i rc=0
	for i in 1 2 3; do
		regship -q pull "$reg_ADDR/lib/app:v1" oci:"$T/lay":"w$i" >"$T/w.$i" 2>&1 &
		pids+=($!)
		regship -q push oci:"$T/lay":v1 "$reg_ADDR/lib/pushed:p$i" >"$T/p.$i" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || rc=1
	done
	[[ $rc == 0 ]] || fail "a writer or a pusher failed: $(cat "$T"/w.* "$T"/p.*)"
	run json 'len(d["manifests"])' <"$T/lay/index.json"
	assert_output_equals 4
	run reg_tags reg lib/pushed
	assert_output_equals '["p1", "p2", "p3"]'
}
