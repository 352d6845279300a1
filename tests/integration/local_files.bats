#!/usr/bin/env bats
# Local files regship reads or writes beside user data: a FIFO, socket or device where a regular
# file belongs is refused at once (every run has a `timeout 10` guard), parse errors name the file
# and position without quoting it, a broken docker config.json is reported as such (not as "no
# credentials"), and login/logout write config.json through unique temporary files that a planted
# symlink cannot redirect.

setup_file() {
	load helpers
	reg_start plain reg
	reg_start htpasswd htp
	export W="$BATS_FILE_TMPDIR/work"
	mkdir -p "$W"
	fixture seed "$reg_URL" lib/app --tag v1 --layer-size 8K --seed lfiles --format oci >"$W/app.out"
	fixture seed "$htp_URL" lib/app --tag v1 --layer-size 8K --seed lfiles --format oci \
		--user admin:adminpass >/dev/null
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
	export REGSHIP_TEST_HOME="$T/home"
	mkdir -p "$REGSHIP_TEST_HOME/.docker"
	CFG=$REGSHIP_TEST_HOME/.docker/config.json
	APP=$(head -n1 "$W/app.out" | cut -d' ' -f2)
	SECRET=hunter2topsecretword
}

# guarded ARGS...: `run` regship under `timeout 10`; a run that hit the timeout fails the test
guarded() {
	run timeout 10 bash -c "$(declare -f regship); regship \"\$@\"" _ "$@"
	[[ $status -ne 124 ]] || fail "regship blocked (killed by the 10 s timeout): $*"
}

# make_socket PATH: a unix socket at PATH (left behind by a process that is gone)
make_socket() {
	/usr/bin/python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$1"
}

@test "a FIFO at index.json of a source or destination layout is refused at once, naming it" {
	cp -r "$W/good" "$T/src"
	rm "$T/src/index.json"
	mkfifo "$T/src/index.json"
	guarded push oci:"$T/src":v1 "$reg_ADDR/lib/fifo:1"
	assert_failure
	assert_output_contains "$T/src/index.json"
	assert_output_contains "FIFO"
	guarded pull "$reg_ADDR/lib/app:v1" oci:"$T/src":v2
	assert_failure
	assert_output_contains "$T/src/index.json: it is a FIFO, not a regular file"
	[[ -p $T/src/index.json ]]
}

@test "a FIFO at oci-layout, a socket at index.json, a device at a blob: refused at once" {
	mkdir -p "$T/a"
	mkfifo "$T/a/oci-layout"
	guarded pull "$reg_ADDR/lib/app:v1" oci:"$T/a":v1
	assert_failure
	assert_output_contains "$T/a/oci-layout: it is a FIFO"
	guarded push oci:"$T/a":v1 "$reg_ADDR/lib/x:1"
	assert_failure
	assert_output_contains "$T/a/oci-layout: it is a FIFO"

	cp -r "$W/good" "$T/b"
	rm "$T/b/index.json"
	make_socket "$T/b/index.json"
	guarded push oci:"$T/b":v1 "$reg_ADDR/lib/x:1"
	assert_failure
	assert_output_contains "$T/b/index.json: it is a socket"

	# a source layout follows links, but only to regular files: a blob linked to a device
	cp -r "$W/good" "$T/c"
	big=$(ls -S "$T/c/blobs/sha256" | head -n1)
	rm "$T/c/blobs/sha256/$big"
	ln -s /dev/zero "$T/c/blobs/sha256/$big"
	guarded push oci:"$T/c":v1 "$reg_ADDR/lib/x:1"
	assert_failure
	assert_output_contains "$T/c/blobs/sha256/$big is a character device, not a regular file"
}

@test "a FIFO at a manifest or layer blob of a source layout is refused at once" {
	cp -r "$W/good" "$T/m"
	rm "$T/m/blobs/sha256/${APP#sha256:}"
	mkfifo "$T/m/blobs/sha256/${APP#sha256:}"
	guarded push oci:"$T/m":v1 "$reg_ADDR/lib/x:1"
	assert_failure
	assert_output_contains "$T/m/blobs/sha256/${APP#sha256:}: it is a FIFO"
	cp -r "$W/good" "$T/l"
	big=$(ls -S "$T/l/blobs/sha256" | head -n1)
	rm "$T/l/blobs/sha256/$big"
	mkfifo "$T/l/blobs/sha256/$big"
	guarded push oci:"$T/l":v1 "$reg_ADDR/lib/x:1"
	assert_failure
	assert_output_contains "$T/l/blobs/sha256/$big is a FIFO"
}

@test "a FIFO or socket at config.json: login, logout and pull refuse at once, naming it" {
	mkfifo "$CFG"
	run timeout 10 bash -c "$(declare -f regship); regship login -u admin --password-stdin \"\$1\" <<<adminpass" _ "$htp_ADDR"
	[[ $status -ne 124 ]] || fail "login blocked on a FIFO config.json"
	assert_failure
	assert_output_contains "cannot read $CFG: it is a FIFO, not a regular file"
	guarded logout "$htp_ADDR"
	assert_failure
	assert_output_contains "cannot read $CFG: it is a FIFO"
	# a registry that wants credentials: the reason is the config, not "no credentials"
	guarded pull "$htp_ADDR/lib/app:v1" oci:"$T/out":v1
	assert_failure
	assert_output_contains "cannot read $CFG: it is a FIFO"
	assert_output_not_contains "no credentials ("
	[[ -p $CFG ]]
	rm "$CFG"
	make_socket "$CFG"
	guarded tags "$htp_ADDR/lib/app"
	assert_failure
	assert_output_contains "cannot read $CFG: it is a socket"
}

@test "a FIFO at regship's own config.json is refused at once" {
	mkdir -p "$REGSHIP_TEST_HOME/.config/regship"
	mkfifo "$REGSHIP_TEST_HOME/.config/regship/config.json"
	guarded tags "$reg_ADDR/lib/app"
	[[ $output == *"$REGSHIP_TEST_HOME/.config/regship/config.json"*FIFO* ]] ||
		fail "expected a refusal naming the FIFO: $output"
}

@test "a malformed or unreadable config.json is reported with its path, never as 'no credentials'" {
	printf '{"auths": {"%s": {"auth": %s}}}' "$htp_ADDR" "$SECRET" >"$CFG"
	guarded pull "$htp_ADDR/lib/app:v1" oci:"$T/out":v1
	assert_failure
	assert_output_contains "$CFG: invalid JSON at line 1, column"
	assert_output_not_contains "$SECRET"
	assert_output_not_contains "no credentials ("
	rm "$CFG"
	mkdir "$CFG"
	guarded pull "$htp_ADDR/lib/app:v1" oci:"$T/out":v1
	assert_failure
	assert_output_contains "cannot read $CFG: it is a directory"
	assert_output_not_contains "no credentials ("
	# a config.json linked to a device: refused, not read
	rmdir "$CFG"
	ln -s /dev/zero "$CFG"
	guarded pull "$htp_ADDR/lib/app:v1" oci:"$T/out":v1
	assert_failure
	assert_output_contains "cannot read $CFG: it is a character device"
}

@test "parse errors in local files name the file and position, never their content" {
	printf '%s:$6$salt$hash:19000:0:99999:7:::\n' "$SECRET" >"$T/secret"
	# index.json of a source layout linked to a secret file
	cp -r "$W/good" "$T/lay"
	rm "$T/lay/index.json"
	ln -s "$T/secret" "$T/lay/index.json"
	guarded push oci:"$T/lay":v1 "$reg_ADDR/lib/x:1"
	assert_failure
	assert_output_contains "$T/lay/index.json: invalid JSON at line 1, column"
	assert_output_not_contains "$SECRET"
	assert_output_not_contains "hunter"
	# oci-layout linked to it
	cp -r "$W/good" "$T/lay2"
	rm "$T/lay2/oci-layout"
	ln -s "$T/secret" "$T/lay2/oci-layout"
	guarded push oci:"$T/lay2":v1 "$reg_ADDR/lib/x:1"
	assert_failure
	assert_output_contains "$T/lay2/oci-layout: invalid JSON at line 1"
	assert_output_not_contains "hunter"
	# docker's config.json, and regship's own config.json, linked to it
	ln -s "$T/secret" "$CFG"
	guarded pull "$htp_ADDR/lib/app:v1" oci:"$T/out":v1
	assert_failure
	assert_output_contains "$CFG: invalid JSON"
	assert_output_not_contains "hunter"
	rm "$CFG"
	mkdir -p "$REGSHIP_TEST_HOME/.config/regship"
	ln -s "$T/secret" "$REGSHIP_TEST_HOME/.config/regship/config.json"
	guarded tags "$reg_ADDR/lib/app"
	assert_failure
	assert_output_contains "config.json: invalid JSON at line 1"
	assert_output_not_contains "hunter"
}

@test "login and logout: a symlink planted at every predictable temporary name changes nothing" {
	echo 'outside data' >"$T/victim"
	cp "$T/victim" "$T/victim.before"
	# the shell execs regship with its own pid: plant the names that pid would have used
	run bash -c '
		ln -s "$2/victim" "$3/.docker/config.json.tmp.$$"
		exec env HOME="$3" DOCKER_CONFIG="$3/.docker" XDG_CONFIG_HOME="$3/.config" \
			XDG_CACHE_HOME="$3/.cache" "$1" login -u admin --password-stdin "$4" <<<adminpass
	' _ "$REGSHIP" "$T" "$REGSHIP_TEST_HOME" "$htp_ADDR"
	assert_success
	cmp "$T/victim" "$T/victim.before"
	[[ -f $CFG && ! -L $CFG ]]
	assert_file_mode "$CFG" 600
	grep -q "$htp_ADDR" "$CFG"
	guarded pull "$htp_ADDR/lib/app:v1" oci:"$T/out":v1
	assert_success
	run bash -c '
		ln -s "$2/victim" "$3/.docker/config.json.tmp.$$"
		exec env HOME="$3" DOCKER_CONFIG="$3/.docker" "$1" logout "$4"
	' _ "$REGSHIP" "$T" "$REGSHIP_TEST_HOME" "$htp_ADDR"
	assert_success
	cmp "$T/victim" "$T/victim.before"
	run grep -c "$htp_ADDR" "$CFG"
	assert_output_equals 0
	# only the planted links are left beside config.json: no temporary file of ours
	run bash -c "ls -A '$REGSHIP_TEST_HOME/.docker' | grep -v '^config.json$' | grep -vc '^config.json.tmp.[0-9]*$'"
	assert_output_equals 0
}

@test "a symlinked config.json stays a link: login writes to its target" {
	mkdir -p "$T/dotfiles"
	echo '{"auths": {}}' >"$T/dotfiles/docker-config.json"
	ln -s "$T/dotfiles/docker-config.json" "$CFG"
	run regship login -u admin --password-stdin "$htp_ADDR" <<<adminpass
	assert_success
	[[ -L $CFG ]]
	grep -q "$htp_ADDR" "$T/dotfiles/docker-config.json"
	[[ -z $(ls -A "$T/dotfiles" | grep -v '^docker-config.json$') ]] || fail "left behind: $(ls -A "$T/dotfiles")"
}
