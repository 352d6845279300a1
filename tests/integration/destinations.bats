#!/usr/bin/env bats
# Archive destinations (issue 11): "-" and FIFOs stream, special files and symbolic links are
# never replaced, existing archives are added to (or refused, or replaced with --overwrite),
# copying an archive onto itself keeps everything, a full disk leaves the destination as it was,
# and push/copy --json use the field names repository, tag and digest.

setup_file() {
	load helpers
	reg_start plain reg
	export W="$BATS_FILE_TMPDIR/work"
	mkdir -p "$W"
	fixture seed "$reg_URL" a/one --tag 1 --layer-size 8K --seed one >/dev/null
	fixture seed "$reg_URL" b/two --tag 1 --layer-size 8K --seed two >/dev/null
	# two layers of 512 KiB (incompressible): a disk limited to 800 KiB holds each layer, not both
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
	ONE="$reg_ADDR/a/one:1"
	TWO="$reg_ADDR/b/two:1"
}

# repo_tags TAR: the RepoTags of a docker archive, one per line, sorted
repo_tags() {
	"$HARNESS_PY" - "$1" <<'EOF'
import json, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    m = json.load(t.extractfile("manifest.json"))
print("\n".join(sorted(tag for im in m for tag in (im.get("RepoTags") or []))))
EOF
}

# oci_tags TAR: the org.opencontainers.image.ref.name of an OCI archive's index.json, sorted
oci_tags() {
	"$HARNESS_PY" - "$1" <<'EOF'
import json, sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    m = json.load(t.extractfile("index.json"))
print("\n".join(sorted(d.get("annotations", {}).get("org.opencontainers.image.ref.name", "")
                       for d in m["manifests"])))
EOF
}

# no_temporaries DIR...: nothing regship left behind (temporary directories, .tmp- files)
no_temporaries() {
	local left
	left=$(find "$@" \( -name 'regship-*' -o -name '*.tmp-*' -o -name '.tmp-*' \) -print)
	[[ -z $left ]] || fail "temporaries left: $left"
}

# with_tty CMD...: run CMD with its standard output on a pseudo-terminal
with_tty() {
	"$HARNESS_PY" - "$@" <<'EOF'
import os, pty, subprocess, sys
master, slave = pty.openpty()
p = subprocess.run(sys.argv[1:], stdout=slave, stdin=subprocess.DEVNULL, timeout=60)
os.close(slave)
os.close(master)
sys.exit(p.returncode)
EOF
}

# limited KIB ARGS...: regship ARGS with files limited to KIB KiB; SIGXFSZ is ignored, so a
# write past the limit fails with EFBIG ("File too large") as a full disk fails with ENOSPC
limited() {
	local kib=$1
	shift
	ulimit -f "$kib"
	trap '' XFSZ
	regship "$@"
}

@test "pull into docker-archive:- writes the archive on stdout; the reference lines go to stderr" {
	regship pull --progress none "$ONE" docker-archive:- >"$T/out.tar" 2>"$T/err"
	tar tf "$T/out.tar" >"$T/list"
	assert_file_contains "$T/list" manifest.json
	assert_equal "$(repo_tags "$T/out.tar")" "$ONE"
	assert_file_contains "$T/err" "docker-archive:-:$ONE@sha256:"
	# and straight into a reader that checks the archive
	run bash -c 'set -o pipefail; "$0" pull --progress none "$1" docker-archive:- 2>/dev/null | tar t' \
		"$REGSHIP" "$ONE"
	assert_success
	assert_output_contains "manifest.json"
	no_temporaries "$T"
}

@test "pull into oci-archive:- streams an OCI archive; --json goes to stderr too" {
	regship pull --progress none --json "$ONE" oci-archive:-:v1 >"$T/out.tar" 2>"$T/err"
	assert_equal "$(oci_tags "$T/out.tar")" "v1"
	tar tf "$T/out.tar" >"$T/list"
	assert_file_contains "$T/list" oci-layout
	assert_file_contains "$T/err" '{"images": ['
	no_temporaries "$T"
}

@test "an archive is never written to a terminal" {
	run with_tty env HOME="$T" "$REGSHIP" pull --progress none "$ONE" docker-archive:-
	assert_failure 2
	run with_tty env HOME="$T" "$REGSHIP" pull --progress none "$ONE" docker-archive:/dev/stdout 2>&1
	assert_failure 2
}

@test "docker-archive:/dev/stdout into a pipe streams, and /dev/stdout stays what it was" {
	local before
	before=$(stat -c %F /dev/stdout)
	run bash -c 'set -o pipefail; "$0" pull --progress none "$1" docker-archive:/dev/stdout | tar t' \
		"$REGSHIP" "$ONE"
	assert_success
	assert_output_contains "manifest.json"
	assert_equal "$(stat -c %F /dev/stdout)" "$before"
}

@test "a FIFO destination is written in place: its reader gets the archive" {
	mkfifo "$T/fifo"
	timeout 60 tar tf "$T/fifo" >"$T/list" &
	local reader=$!
	run regship pull --progress none "$ONE" "docker-archive:$T/fifo"
	assert_success
	wait "$reader"
	assert_file_contains "$T/list" manifest.json
	[[ -p $T/fifo ]] || fail "the FIFO was replaced"
	no_temporaries "$T"
}

@test "a character device destination is written in place (/dev/null stays a device)" {
	run regship pull --progress none "$ONE" docker-archive:/dev/null
	assert_success
	[[ -c /dev/null ]] || fail "/dev/null is no longer a character device"
	# the same through a symbolic link: the link stays
	ln -s /dev/null "$T/null-link"
	run regship pull --progress none "$ONE" "oci-archive:$T/null-link"
	assert_success
	[[ -L $T/null-link ]] || fail "the link was replaced"
}

@test "a symbolic link to an archive: the archive it names gets the image, the link stays" {
	mkdir "$T/real"
	regship pull --progress none "$TWO" "docker-archive:$T/real/F.tar" >/dev/null
	ln -s real/F.tar "$T/link.tar"
	run regship pull --progress none "$ONE" "docker-archive:$T/link.tar"
	assert_success
	[[ -L $T/link.tar ]] || fail "the link was replaced"
	assert_equal "$(readlink "$T/link.tar")" "real/F.tar"
	assert_equal "$(repo_tags "$T/real/F.tar")" "$(printf '%s\n%s' "$ONE" "$TWO")"
	no_temporaries "$T"
	# a dangling link is refused: regship creates no file through it
	ln -s nowhere/x.tar "$T/dangling.tar"
	run regship pull --progress none "$ONE" "docker-archive:$T/dangling.tar"
	assert_failure 2
	assert_output_contains "is a symbolic link to nowhere/x.tar, which does not exist"
	[[ -L $T/dangling.tar ]] || fail "the dangling link was replaced"
}

@test "a directory, a socket: refused, saying what the path is" {
	mkdir "$T/dir"
	run regship pull --progress none "$ONE" "docker-archive:$T/dir"
	assert_failure 2
	assert_output_contains "$T/dir is a directory"
	run regship pull --progress none "$ONE" "oci-archive:$T/dir"
	assert_failure 2
	assert_output_contains "$T/dir is a directory"
	"$HARNESS_PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/sock"
	run regship pull --progress none "$ONE" "docker-archive:$T/sock"
	assert_failure 2
	assert_output_contains "$T/sock is a socket"
	[[ -S $T/sock ]] || fail "the socket was replaced"
	run regship pull --progress none "$ONE" "docker-archive:$T/no/such/dir/x.tar"
	assert_failure 2
	assert_output_contains "directory $T/no/such/dir"
	no_temporaries "$T"
}

@test "pull into an existing docker archive adds the image and keeps every other one" {
	fixture docker-archive "$T/F.tar" --repo-tag other/img:1 >/dev/null
	run regship pull --progress none "$ONE" "docker-archive:$T/F.tar"
	assert_success
	assert_equal "$(repo_tags "$T/F.tar")" "$(printf '%s\n%s' "$ONE" "docker.io/other/img:1")"
	# the kept image is whole: it copies out again
	run regship copy --progress none "docker-archive:$T/F.tar:other/img:1" "oci:$T/lay:x"
	assert_success
	no_temporaries "$T"
}

@test "copying an archive onto itself keeps every image" {
	regship pull --progress none "$ONE" "docker-archive:$T/F.tar:a/one:1" >/dev/null
	regship pull --progress none "$TWO" "docker-archive:$T/F.tar:b/two:1" >/dev/null
	run regship copy --progress none "docker-archive:$T/F.tar:a/one:1" "docker-archive:$T/F.tar:a/one:1"
	assert_success
	assert_equal "$(repo_tags "$T/F.tar")" "$(printf '%s\n%s' docker.io/a/one:1 docker.io/b/two:1)"
	# the same for an OCI archive
	regship pull --progress none "$ONE" "oci-archive:$T/O.tar:one" >/dev/null
	regship pull --progress none "$TWO" "oci-archive:$T/O.tar:two" >/dev/null
	run regship copy --progress none "oci-archive:$T/O.tar:one" "oci-archive:$T/O.tar:one"
	assert_success
	assert_equal "$(oci_tags "$T/O.tar")" "$(printf 'one\ntwo')"
	no_temporaries "$T"
}

@test "a file that is not an archive of that kind is kept unless --overwrite" {
	echo "precious notes" >"$T/notes.txt"
	run regship pull --progress none "$ONE" "docker-archive:$T/notes.txt"
	assert_failure 7
	assert_output_contains "$T/notes.txt exists and is not a docker archive"
	assert_output_contains "use --overwrite"
	assert_equal "$(cat "$T/notes.txt")" "precious notes"
	run regship pull --progress none "$ONE" "oci-archive:$T/notes.txt"
	assert_failure 7
	assert_output_contains "$T/notes.txt exists and is not an OCI archive"
	assert_equal "$(cat "$T/notes.txt")" "precious notes"
	# an OCI archive is not a docker archive either
	regship pull --progress none "$ONE" "oci-archive:$T/O.tar" >/dev/null
	cp "$T/O.tar" "$T/O.orig"
	run regship pull --progress none "$ONE" "docker-archive:$T/O.tar"
	assert_failure 7
	cmp "$T/O.tar" "$T/O.orig"
	# --overwrite replaces, with just the new image
	run regship pull --progress none --overwrite "$ONE" "docker-archive:$T/notes.txt"
	assert_success
	assert_equal "$(repo_tags "$T/notes.txt")" "$ONE"
	fixture docker-archive "$T/F.tar" --repo-tag other/img:1 >/dev/null
	run regship copy --progress none --overwrite "docker-archive:$T/notes.txt" \
		"docker-archive:$T/F.tar:a/one:1"
	assert_success
	assert_equal "$(repo_tags "$T/F.tar")" "docker.io/a/one:1"
	# an empty file holds nothing to lose
	: >"$T/empty.tar"
	run regship pull --progress none "$ONE" "docker-archive:$T/empty.tar"
	assert_success
	no_temporaries "$T"
}

@test "--overwrite is for archive destinations only" {
	run regship copy --progress none --overwrite "$ONE" "$reg_ADDR/c/three:1"
	assert_failure 2
	assert_output_contains "--overwrite applies to docker-archive: and oci-archive:"
	run regship pull --progress none --overwrite "$ONE" "oci:$T/lay"
	assert_failure 2
}

@test "a reader that goes away: a clear error, no temporaries" {
	run bash -c '"$0" pull --progress none "$1" docker-archive:- 2>"$2" | head -c 100 >/dev/null' \
		"$REGSHIP" "$reg_ADDR/big/img:1" "$T/err"
	assert_file_contains "$T/err" "Broken pipe"
	no_temporaries "$T"
}

@test "disk full while the layers arrive: the system's reason and path, nothing left" {
	fixture docker-archive "$T/F.tar" --repo-tag other/img:1 >/dev/null
	cp "$T/F.tar" "$T/F.orig"
	run limited 300 pull --progress none "$reg_ADDR/big/img:1" "docker-archive:$T/F.tar"
	assert_failure 1
	assert_output_contains "File too large"
	assert_output_contains "$TMPDIR/regship-docker-archive-"
	cmp "$T/F.tar" "$T/F.orig"
	no_temporaries "$T"
}

@test "disk full while the archive is written: the system's reason, the old archive intact" {
	fixture docker-archive "$T/F.tar" --repo-tag other/img:1 >/dev/null
	cp "$T/F.tar" "$T/F.orig"
	run limited 800 pull --progress none "$reg_ADDR/big/img:1" "docker-archive:$T/F.tar"
	assert_failure 1
	assert_output_contains "cannot write"
	assert_output_contains "$T/F.tar.tmp-"
	assert_output_contains "File too large"
	assert_output_not_contains "Write error"
	cmp "$T/F.tar" "$T/F.orig"
	run limited 800 pull --progress none "$reg_ADDR/big/img:1" "oci-archive:$T/O.tar"
	assert_failure 1
	assert_output_contains "File too large"
	[[ ! -e $T/O.tar ]] || fail "a half-written $T/O.tar was left"
	no_temporaries "$T"
}

@test "copy --json names the registry destination by repository, tag and digest" {
	run regship copy --progress none --json "$ONE" "$reg_ADDR/c/json:t1"
	assert_success
	assert_equal "$(json "d['images'][0]['repository']" <<<"$output")" "$reg_ADDR/c/json"
	assert_equal "$(json "d['images'][0]['tag']" <<<"$output")" "t1"
	assert_output_matches '"digest": "sha256:[0-9a-f]{64}"'
}

@test "a FIFO or a directory named as a docker-archive source is refused at once" {
	mkfifo "$T/fifo"
	mkdir "$T/dir"
	run timeout 20 env HOME="$T" "$REGSHIP" push --progress none "docker-archive:$T/fifo" "$reg_ADDR/x/y:1"
	assert_failure 2
	assert_output_contains "$T/fifo is not a regular file"
	run timeout 20 env HOME="$T" "$REGSHIP" copy --progress none "docker-archive:$T/dir" "oci:$T/lay"
	assert_failure 2
	assert_output_contains "$T/dir is a directory"
	run timeout 20 env HOME="$T" "$REGSHIP" copy --progress none "oci-archive:$T/dir" "oci:$T/lay"
	assert_failure 2
	assert_output_contains "$T/dir is a directory"
}

@test "a blob missing from a source layout: the message says where it was looked for" {
	regship pull --progress none "$ONE" "oci:$T/lay:1" >/dev/null
	local victim
	victim=$(find "$T/lay/blobs/sha256" -type f -size +4k | head -n1)
	rm "$victim"
	run regship copy --progress none "oci:$T/lay:1" "docker-archive:$T/out.tar"
	assert_failure 1
	assert_output_contains "the source's manifest names blob sha256:${victim##*/}, but"
	assert_output_contains "$T/lay"
	assert_output_not_contains "which the oci does not hold"
	[[ ! -e $T/out.tar ]] || fail "an archive was written"
	no_temporaries "$T"
}
