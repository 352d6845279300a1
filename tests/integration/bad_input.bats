#!/usr/bin/env bats
# Malformed docker archives, OCI layouts and OCI archives: each push fails with exit 1 or 2 and a
# message naming the problem, and no manifest reaches the registry. Also: a destination the user
# may not push to (exit 4), and a pull into a directory that is not an OCI layout.

setup_file() {
	load helpers
	reg_start plain plain
	reg_start token tok
	export TAR_EDIT="$BATS_FILE_TMPDIR/tar_edit.py"
	# tar_edit.py IN OUT OP...: copy a tar, editing members on the way:
	#   drop:NAME  rename:NAME=NEW  symlink:NAME=TARGET  put:NAME=TEXT  putfile:NAME=FILE
	#   json:NAME=EXPR (NAME's JSON bound to d; the result replaces it)
	cat >"$TAR_EDIT" <<'EOF'
import io, json, sys, tarfile
src, dst, ops = sys.argv[1], sys.argv[2], sys.argv[3:]
with tarfile.open(src) as tin:
    members = [(ti, tin.extractfile(ti).read() if ti.isfile() else None) for ti in tin.getmembers()]
def find(name, must=True):
    for i, (ti, _) in enumerate(members):
        if ti.name.rstrip("/") == name.rstrip("/"):
            return i
    if must:
        sys.exit("tar_edit: no member %s in %s" % (name, src))
    return None
for op in ops:
    kind, _, arg = op.partition(":")
    name, _, val = arg.partition("=")
    if kind == "drop":
        del members[find(name)]
    elif kind == "rename":
        members[find(name)][0].name = val
    elif kind == "symlink":
        i = find(name)
        ti = members[i][0]
        ti.type, ti.linkname, ti.size = tarfile.SYMTYPE, val, 0
        members[i] = (ti, None)
    elif kind in ("put", "putfile", "json"):
        if kind == "put":
            data = val.encode()
        elif kind == "putfile":
            data = open(val, "rb").read()
        else:
            data = json.dumps(eval(val, {"d": json.loads(members[find(name)][1])})).encode()
        i = find(name, must=False)
        if i is None:
            ti = tarfile.TarInfo(name)
            ti.mode = 0o644
            members.append((ti, None))
            i = len(members) - 1
        ti = members[i][0]
        ti.size = len(data)
        members[i] = (ti, data)
    else:
        sys.exit("tar_edit: unknown op " + op)
with tarfile.open(dst, "w", format=tarfile.GNU_FORMAT) as tout:
    for ti, data in members:
        tout.addfile(ti, io.BytesIO(data) if data is not None else None)
EOF
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
	# a distinct image per test, so no blob of it is already in the registry
	SEED="bad-$BATS_TEST_NUMBER"
}

tar_edit() { "$HARNESS_PY" "$TAR_EDIT" "$@"; }

# docker_archive FILE [fixture options]: a legacy `docker save` archive; sets LAYER0, LAYER1
#   (Layers paths from manifest.json) and CONFIG (its Config path)
docker_archive() {
	local f=$1
	shift
	fixture docker-archive "$f" --repo-tag bad/img:1 --layers 2 --layer-size 16K --seed "$SEED" "$@" >/dev/null
	LAYER0=$(tar -xOf "$f" manifest.json | json 'd[0]["Layers"][0]')
	LAYER1=$(tar -xOf "$f" manifest.json | json 'd[0]["Layers"][1]')
	CONFIG=$(tar -xOf "$f" manifest.json | json 'd[0]["Config"]')
}

# oci_layout DIR: an OCI layout with tag t; sets MANIFEST and LAYER0 (hex digests)
oci_layout() {
	fixture oci-layout "$1" --tag t --layers 2 --layer-size 16K --seed "$SEED" >/dev/null
	MANIFEST=$(json 'd["manifests"][0]["digest"][7:]' <"$1/index.json")
	LAYER0=$(json 'd["layers"][0]["digest"][7:]' <"$1/blobs/sha256/$MANIFEST")
}

# refused SOURCE REPO TEXT...: `regship push SOURCE plain/REPO:t` exits 1 or 2 with every TEXT in
#   its message, and the registry got no manifest for REPO
refused() {
	local src=$1 repo=$2 text
	shift 2
	reg_log_mark plain
	run regship push "$src" "$plain_ADDR/$repo:t"
	[[ $status == 1 || $status == 2 ]] || {
		_show_output
		fail "expected exit status 1 or 2, got $status"
	}
	for text in "$@"; do assert_output_contains "$text"; done
	local msg=$output
	# only the destination tag's lookup (HEAD, noclobber.bats) may reach the manifests
	run bash -c 'grep "/manifests/" | grep -v "^HEAD " || true' <<<"$(reg_requests plain)"
	assert_output_equals "" || fail "a manifest write reached the registry"
	run curl -s -o /dev/null -w '%{http_code}' -H "Accept: $MANIFEST_ACCEPT" "$plain_URL/v2/$repo/manifests/t"
	assert_output_equals 404
	output=$msg
}

# --- docker archives ------------------------------------------------------------------------------

@test "docker archive without manifest.json" {
	docker_archive "$T/good.tar"
	tar_edit "$T/good.tar" "$T/bad.tar" drop:manifest.json
	refused docker-archive:"$T/bad.tar" bad/da-nomanifest "$T/bad.tar" "manifest.json"
}

@test "docker archive whose manifest.json names a layer that is not in it" {
	docker_archive "$T/good.tar"
	tar_edit "$T/good.tar" "$T/bad.tar" "drop:$LAYER1"
	refused docker-archive:"$T/bad.tar" bad/da-missing "$LAYER1"
}

@test "docker archive with a layer whose content does not match the config's diff_id" {
	docker_archive "$T/good.tar"
	tar -xOf "$T/good.tar" "$LAYER1" >"$T/other-layer.tar"
	tar_edit "$T/good.tar" "$T/bad.tar" "putfile:$LAYER0=$T/other-layer.tar"
	refused docker-archive:"$T/bad.tar" bad/da-diffid "$LAYER0" "diff_id"
}

@test "docker archive entries with .. or an absolute path" {
	docker_archive "$T/good.tar"
	tar_edit "$T/good.tar" "$T/dotdot.tar" "rename:$LAYER0=../escape/layer.tar" \
		"json:manifest.json=[dict(d[0], Layers=['../escape/layer.tar', d[0]['Layers'][1]])]"
	refused docker-archive:"$T/dotdot.tar" bad/da-dotdot "../escape/layer.tar"
	tar_edit "$T/good.tar" "$T/abs.tar" "rename:$LAYER0=/abs/layer.tar" \
		"json:manifest.json=[dict(d[0], Layers=['/abs/layer.tar', d[0]['Layers'][1]])]"
	refused docker-archive:"$T/abs.tar" bad/da-abs "/abs/layer.tar"
	# an unreferenced entry that would escape is refused too: the archive is not what it claims
	tar_edit "$T/good.tar" "$T/dotdot2.tar" "put:../../evil=x"
	refused docker-archive:"$T/dotdot2.tar" bad/da-dotdot2 "../../evil"
}

@test "docker archive with a layer that is a symlink pointing outside the archive" {
	docker_archive "$T/good.tar"
	tar_edit "$T/good.tar" "$T/rel.tar" "symlink:$LAYER0=../../../../../../etc/passwd"
	refused docker-archive:"$T/rel.tar" bad/da-symlink "$LAYER0"
	tar_edit "$T/good.tar" "$T/abs.tar" "symlink:$LAYER0=/etc/passwd"
	refused docker-archive:"$T/abs.tar" bad/da-symlink-abs "$LAYER0"
}

@test "docker archive where a repeated layer is a symlink inside the archive (as docker save writes) pushes" {
	docker_archive "$T/good.tar"
	# the second layer has the first one's content, stored as docker save does: a relative symlink
	# from <id1>/layer.tar to ../<id0>/layer.tar, with the config listing the same diff_id twice
	tar -xOf "$T/good.tar" "$CONFIG" |
		json 'json.dumps(dict(d, rootfs=dict(d["rootfs"], diff_ids=[d["rootfs"]["diff_ids"][0]] * 2)), separators=(",", ":"))' >"$T/cfg.json"
	newcfg="$(sha256sum "$T/cfg.json" | cut -d' ' -f1).json"
	tar_edit "$T/good.tar" "$T/dup.tar" "symlink:$LAYER1=../$LAYER0" "drop:$CONFIG" \
		"putfile:$newcfg=$T/cfg.json" "json:manifest.json=[dict(d[0], Config='$newcfg')]"
	if command -v skopeo >/dev/null; then
		run skopeo inspect docker-archive:"$T/dup.tar"
		assert_success
	fi
	run regship push docker-archive:"$T/dup.tar" "$plain_ADDR/bad/da-duplayer:t"
	assert_success
	[[ ${lines[-1]} == "$plain_ADDR/bad/da-duplayer:t@sha256:"* ]]
	verify_image plain bad/da-duplayer t "${lines[-1]#*@}"
}

@test "truncated docker archive" {
	docker_archive "$T/good.tar"
	head -c $(($(stat -c %s "$T/good.tar") / 2)) "$T/good.tar" >"$T/bad.tar"
	refused docker-archive:"$T/bad.tar" bad/da-truncated "$T/bad.tar"
	assert_output_matches "[Tt]runcated|more than the archive holds|unexpected end"
}

@test "docker archive with a manifest.json over 8 MiB" {
	docker_archive "$T/good.tar"
	tar_edit "$T/good.tar" "$T/bad.tar" "json:manifest.json=[dict(d[0], Padding='x' * (9 << 20))]"
	refused docker-archive:"$T/bad.tar" bad/da-huge "manifest.json"
	assert_output_matches "8 MiB|too (large|big)|larger than"
}

@test "OCI-in-tar docker archive with a layer blob that does not match its digest" {
	docker_archive "$T/good.tar" --format oci
	tar -xOf "$T/good.tar" "$LAYER1" >"$T/other-layer.tar"
	tar_edit "$T/good.tar" "$T/bad.tar" "putfile:$LAYER0=$T/other-layer.tar"
	refused docker-archive:"$T/bad.tar" bad/dao-diffid "${LAYER0##*/}"
}

# --- OCI layouts ----------------------------------------------------------------------------------

@test "OCI layout without index.json, and a directory without oci-layout" {
	oci_layout "$T/lay"
	rm "$T/lay/index.json"
	refused oci:"$T/lay":t bad/lay-noindex "index.json"
	oci_layout "$T/lay2"
	rm "$T/lay2/oci-layout"
	refused oci:"$T/lay2":t bad/lay-nolayout "oci-layout"
}

@test "OCI layout missing a referenced layer blob" {
	oci_layout "$T/lay"
	rm "$T/lay/blobs/sha256/$LAYER0"
	refused oci:"$T/lay":t bad/lay-missing "sha256:$LAYER0"
}

@test "OCI layout with a blob whose content does not match its digest" {
	oci_layout "$T/lay"
	"$HARNESS_PY" -c 'import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 1; open(p, "wb").write(b)' \
		"$T/lay/blobs/sha256/$LAYER0"
	refused oci:"$T/lay":t bad/lay-corrupt "sha256:$LAYER0"
	assert_output_matches "digest mismatch|DIGEST_INVALID"
}

@test "OCI layout whose index.json is not JSON, and whose manifest is not a manifest" {
	oci_layout "$T/lay"
	echo '{"manifests": [' >"$T/lay/index.json"
	refused oci:"$T/lay":t bad/lay-badjson "index.json"
	oci_layout "$T/lay2"
	# the tag points at a layer blob
	json "dict(d, manifests=[dict(d['manifests'][0], digest='sha256:$LAYER0')])" <"$T/lay2/index.json" >"$T/index.json"
	mv "$T/index.json" "$T/lay2/index.json"
	refused oci:"$T/lay2":t bad/lay-notmanifest "sha256:$LAYER0"
}

# --- OCI archives ---------------------------------------------------------------------------------

@test "OCI archive without index.json, and missing a referenced layer" {
	fixture oci-archive "$T/good.tar" --tag t --layers 2 --layer-size 16K --seed "$SEED" >/dev/null
	oci_layout "$T/lay" # same arguments: same digests
	tar_edit "$T/good.tar" "$T/noindex.tar" drop:index.json
	refused oci-archive:"$T/noindex.tar":t bad/oa-noindex "$T/noindex.tar" "index.json"
	tar_edit "$T/good.tar" "$T/missing.tar" "drop:blobs/sha256/$LAYER0"
	refused oci-archive:"$T/missing.tar":t bad/oa-missing "sha256:$LAYER0"
}

@test "OCI archive entries with .. or an absolute path" {
	fixture oci-archive "$T/good.tar" --tag t --layers 2 --layer-size 16K --seed "$SEED" >/dev/null
	oci_layout "$T/lay"
	tar_edit "$T/good.tar" "$T/dotdot.tar" "rename:blobs/sha256/$LAYER0=blobs/../../sha256/$LAYER0"
	refused oci-archive:"$T/dotdot.tar":t bad/oa-dotdot "blobs/../../sha256/$LAYER0"
	tar_edit "$T/good.tar" "$T/abs.tar" "rename:blobs/sha256/$LAYER0=/blobs/sha256/$LAYER0"
	refused oci-archive:"$T/abs.tar":t bad/oa-abs "/blobs/sha256/$LAYER0"
	tar_edit "$T/good.tar" "$T/evil.tar" "put:../evil=x"
	refused oci-archive:"$T/evil.tar":t bad/oa-evil "../evil"
	# nothing was written outside
	assert_file_not_exists "$T/evil"
	assert_file_not_exists "$(dirname "$T")/evil"
}

@test "OCI archive with a blob that is a symlink pointing outside the archive" {
	fixture oci-archive "$T/good.tar" --tag t --layers 2 --layer-size 16K --seed "$SEED" >/dev/null
	oci_layout "$T/lay"
	# the target even has the right content: still not part of the archive
	tar_edit "$T/good.tar" "$T/abs.tar" "symlink:blobs/sha256/$LAYER0=$T/lay/blobs/sha256/$LAYER0"
	refused oci-archive:"$T/abs.tar":t bad/oa-symlink-abs "blobs/sha256/$LAYER0"
	assert_output_contains "symbolic link"
	tar_edit "$T/good.tar" "$T/rel.tar" "symlink:blobs/sha256/$LAYER0=../../../../../../../../$T/lay/blobs/sha256/$LAYER0"
	refused oci-archive:"$T/rel.tar":t bad/oa-symlink-rel "blobs/sha256/$LAYER0"
}

@test "truncated OCI archive" {
	fixture oci-archive "$T/good.tar" --tag t --layers 2 --layer-size 16K --seed "$SEED" >/dev/null
	head -c $(($(stat -c %s "$T/good.tar") - 10000)) "$T/good.tar" >"$T/bad.tar"
	refused oci-archive:"$T/bad.tar":t bad/oa-truncated "$T/bad.tar"
}

@test "an OCI archive that is not a tar at all" {
	head -c 5000 /dev/urandom >"$T/junk.tar"
	refused oci-archive:"$T/junk.tar":t bad/oa-junk "$T/junk.tar"
	refused docker-archive:"$T/junk.tar" bad/da-junk "$T/junk.tar"
}

# --- permissions and destinations -----------------------------------------------------------------

@test "push as the token registry's reader: exit 4 naming the registry and repository; nothing pushed" {
	oci_layout "$T/lay"
	reg_log_mark tok
	run regship push -u reader --password-stdin oci:"$T/lay":t "$tok_ADDR/team/app:t" <<<"readerpass"
	assert_status 4
	assert_output_contains "$tok_ADDR"
	assert_output_contains "team/app"
	run reg_requests tok
	assert_output_not_contains "PUT /v2/team/app/manifests/"
	assert_output_not_contains "PATCH "
	[[ $(grep -cE '^PUT /v2/team/app/blobs/uploads/[^ ]* 20[0-9]$' <<<"$output") == 0 ]]
	run reg_curl tok team/app -o /dev/null -w '%{http_code}' -H "Accept: $MANIFEST_ACCEPT" "$tok_URL/v2/team/app/manifests/t"
	assert_output_equals 404
}

@test "pull into a non-empty directory that is not an OCI layout is refused and touches nothing" {
	fixture seed "$plain_URL" bad/pullme --tag v1 --seed "$SEED" >/dev/null
	mkdir -p "$T/dir/sub"
	echo keep >"$T/dir/file.txt"
	before=$(cd "$T/dir" && find . -printf '%p %s %T@\n' | sort)
	run regship pull "$plain_ADDR/bad/pullme:v1" oci:"$T/dir":v1
	assert_failure
	[[ $status == 1 || $status == 2 ]] || fail "expected exit 1 or 2, got $status"
	assert_output_contains "$T/dir"
	assert_output_contains "not an OCI layout"
	assert_equal "$(cd "$T/dir" && find . -printf '%p %s %T@\n' | sort)" "$before"
	# an empty directory is fine
	mkdir "$T/empty"
	run regship pull "$plain_ADDR/bad/pullme:v1" oci:"$T/empty":v1
	assert_success
	assert_file_exists "$T/empty/oci-layout"
}
