#!/usr/bin/env bats
# Interop with the OCI tools from Debian: podman, buildah, umoci and skopeo read what regship
# writes and regship reads what they write. Each test skips (saying which tool is missing) when a
# tool is not installed. podman and buildah run as root with vfs storage under this file's
# temporary directory, with their configuration files (containers.conf, registries.conf,
# storage.conf, policy) and XDG/HOME there too: nothing is read from or left in the host's
# configuration or $HOME (podman manifest add/push take no --signature-policy: they read the
# system policy.json), and the only registry they reach is the loopback one started here.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	reg_start plain reg
	export W="$BATS_FILE_TMPDIR/work"
	mkdir -p "$W"
	# a docker schema 2 image, and a two-platform docker manifest list
	fixture seed "$reg_URL" interop/dock --tag d1 --layers 2 --layer-size 8K --seed dock \
		>"$W/dock.out"
	fixture seed "$reg_URL" interop/dlist --tag l1 --platform linux/amd64 \
		--platform linux/arm64/v8 --layer-size 4K --seed dlist >"$W/dlist.out"
	# podman/buildah sandbox: everything under $P
	export P="$BATS_FILE_TMPDIR/pod"
	mkdir -p "$P/xdg-config" "$P/xdg-data" "$P/xdg-cache" "$P/xdg-run" "$P/home" "$P/tmp"
	chmod 700 "$P/xdg-run"
	printf '[storage]\ndriver = "vfs"\nrunroot = "%s/run"\ngraphroot = "%s/root"\n' "$P" "$P" \
		>"$P/storage.conf"
	printf 'unqualified-search-registries = []\n[[registry]]\nlocation = "%s"\ninsecure = true\n' \
		"$reg_ADDR" >"$P/registries.conf"
	printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "none"\n' >"$P/containers.conf"
	echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$P/policy.json"
	echo '{"auths":{}}' >"$P/auth.json"
	if command -v podman >/dev/null && [[ $EUID -eq 0 ]]; then
		fixture docker-archive "$W/t1.tar" --repo-tag localhost/t1:v1 --layers 2 \
			--layer-size 8K --seed t1 >/dev/null
		pod load --signature-policy "$P/policy.json" -q -i "$W/t1.tar" >/dev/null
	fi
}

teardown_file() {
	reg_stop_all
	# vfs layers are plain directories; storage leaves nothing mounted
	[[ -z ${P:-} ]] || rm -rf "$P"
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
	DOCK=$(head -n1 "$W/dock.out" | cut -d' ' -f2)
	DLIST=$(head -n1 "$W/dlist.out" | cut -d' ' -f2)
}

# the tools, confined to $P
_sandbox() {
	env CONTAINERS_CONF="$P/containers.conf" CONTAINERS_REGISTRIES_CONF="$P/registries.conf" \
		CONTAINERS_STORAGE_CONF="$P/storage.conf" XDG_CONFIG_HOME="$P/xdg-config" \
		XDG_DATA_HOME="$P/xdg-data" XDG_CACHE_HOME="$P/xdg-cache" XDG_RUNTIME_DIR="$P/xdg-run" \
		HOME="$P/home" TMPDIR="$P/tmp" REGISTRY_AUTH_FILE="$P/auth.json" "$@"
}
pod() {
	_sandbox podman --root "$P/root" --runroot "$P/run" --storage-driver vfs "$@"
}
bah() {
	_sandbox buildah --root "$P/root" --runroot "$P/run" --storage-driver vfs "$@"
}
skop() {
	_sandbox skopeo --insecure-policy "$@"
}
need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || skip "$t is not installed"
		# the sandbox is a plain vfs root: no rootless setup (subuids, user namespaces)
		if [[ $t == podman || $t == buildah ]] && [[ $EUID -ne 0 ]]; then
			skip "$t runs here as root only (vfs storage in a temporary root)"
		fi
	done
}
# umoci unpack as root, or --rootless
umoci_unpack() {
	if [[ $EUID -eq 0 ]]; then umoci unpack "$@"; else umoci unpack --rootless "$@"; fi
}

# digest_line OUTPUT: the digest at the end of regship's "DEST@sha256:..." line
digest_line() {
	local d=${1##*@}
	[[ $d == sha256:* ]] || fail "no digest in: $1"
	echo "$d"
}

# diff_ids_match LAYOUT NAME: the uncompressed layers of NAME have the config's diff_ids
diff_ids_match() {
	"$HARNESS_PY" - "$1" "$2" <<'EOF'
import gzip, hashlib, json, sys
d, name = sys.argv[1], sys.argv[2]
blob = lambda dg: open(f"{d}/blobs/{dg.replace(':', '/')}", "rb").read()
idx = json.load(open(f"{d}/index.json"))
e = [m for m in idx["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == name]
assert len(e) == 1, f"{name}: {len(e)} entries"
m = json.loads(blob(e[0]["digest"]))
cfg = json.loads(blob(m["config"]["digest"]))
got = ["sha256:" + hashlib.sha256(gzip.decompress(blob(l["digest"]))).hexdigest() for l in m["layers"]]
assert got == cfg["rootfs"]["diff_ids"], (got, cfg["rootfs"]["diff_ids"])
EOF
}

# ---- names inside OCI layouts, digests ---------------------------------------------------------

@test "a layout with names like localhost/t1:v1: the names it lists are accepted, by digest too" {
	fixture oci-layout "$T/L" --tag localhost/a:1 --seed a >/dev/null
	fixture oci-layout "$T/L" --tag localhost/b:2 --seed b >/dev/null
	run regship copy --progress none "oci:$T/L" "oci:$T/out"
	assert_failure 2
	assert_output_contains "localhost/a:1, localhost/b:2"
	run regship copy --progress none "oci:$T/L:localhost/b:2" "oci:$T/out"
	assert_success
	assert_output_contains "oci:$T/out:localhost/b:2@sha256:"
	want=$(json "[m['digest'] for m in d['manifests'] if m['annotations']['org.opencontainers.image.ref.name'] == 'localhost/b:2'][0]" <"$T/L/index.json")
	assert_equal "$(digest_line "$output")" "$want"
	run regship digest "oci:$T/L@$want"
	assert_success
	assert_output_equals "$want"
	run regship digest "oci:$T/L:$want"
	assert_output_equals "$want"
	run regship digest "oci:$T/L:localhost/a:1"
	assert_success
	[[ $output != "$want" && $output == sha256:* ]] || fail "digest of localhost/a:1: $output"
	# an archive, the same names
	fixture oci-archive "$T/a.tar" --tag localhost/c:3 --seed a >/dev/null
	run regship copy --progress none "oci-archive:$T/a.tar:localhost/c:3" \
		"oci-archive:$T/b.tar:localhost/d:4"
	assert_success
	run regship digest "oci-archive:$T/b.tar:localhost/d:4"
	assert_success
	# a name outside the grammar, and a name that is not there
	run regship digest "oci:$T/L:localhost//a:1"
	assert_failure 2
	assert_output_contains 'invalid tag "localhost//a:1"'
	run regship digest "oci:$T/L:localhost/zz:1"
	assert_failure 1
	assert_output_contains "localhost/a:1"
}

@test "digest --platform: one platform's manifest of an index; local docker archives" {
	arm=$(sed -n 's/^interop\/dlist:l1@linux\/arm64\/v8 //p' "$W/dlist.out")
	run regship digest --platform linux/arm64/v8 "$reg_ADDR/interop/dlist:l1"
	assert_success
	assert_output_equals "$arm"
	run regship digest --platform linux/s390x "$reg_ADDR/interop/dlist:l1"
	assert_failure 3
	assert_output_contains "linux/amd64"
	run regship digest --platform nonsense "$reg_ADDR/interop/dlist:l1"
	assert_failure 2
	# an image manifest is its own platform's
	run regship digest --platform linux/amd64 "$reg_ADDR/interop/dock:d1"
	assert_success
	assert_output_equals "$DOCK"
	# ... and only its platform's: a script asking for arm64 does not get the amd64 digest
	run --separate-stderr regship digest --platform linux/arm64 "$reg_ADDR/interop/dock:d1"
	assert_failure 3
	assert_equal "$output" ""
	[[ $stderr == *"single-platform image for linux/amd64, not linux/arm64"* ]] || fail "$stderr"
	# docker archive: the digest push gives
	fixture docker-archive "$T/d.tar" --repo-tag x/y:1 --seed da >/dev/null
	run regship digest "docker-archive:$T/d.tar:x/y:1"
	assert_success
	local_digest=$output
	run regship push --progress none "docker-archive:$T/d.tar:x/y:1" "$reg_ADDR/interop/da:1"
	assert_success
	assert_equal "$(digest_line "$output")" "$local_digest"
}

# ---- regship writes, the tools read ------------------------------------------------------------

@test "pull of a docker image into oci: converts to OCI; umoci and skopeo read it by name" {
	need umoci skopeo
	run regship pull --progress none "$reg_ADDR/interop/dock:d1" "oci:$T/L:localhost/dock:d1"
	assert_success
	got=$(digest_line "$output")
	[[ $got != "$DOCK" ]] || fail "the manifest was not converted (digest $got)"
	assert_equal "$(json "[m['mediaType'] for m in d['manifests']]" <"$T/L/index.json")" \
		'["application/vnd.oci.image.manifest.v1+json"]'
	verify_layout "$T/L" localhost/dock:d1 "$got"
	run json "(d['config']['mediaType'], sorted({l['mediaType'] for l in d['layers']}))" \
		<"$T/L/blobs/sha256/${got#sha256:}"
	assert_output_equals '["application/vnd.oci.image.config.v1+json", ["application/vnd.oci.image.layer.v1.tar+gzip"]]'
	diff_ids_match "$T/L" localhost/dock:d1
	run skop inspect "oci:$T/L:localhost/dock:d1"
	assert_success
	assert_equal "$(json 'd["Digest"]' <<<"$output")" "$got"
	run umoci_unpack --image "$T/L:localhost/dock:d1" "$T/bundle"
	assert_success
	[[ -d $T/bundle/rootfs && -f $T/bundle/config.json ]] || fail "umoci unpacked no bundle"
	[[ -n $(ls -A "$T/bundle/rootfs") ]] || fail "umoci unpacked an empty rootfs"
	# the same again: nothing changes, the same digest
	run regship pull --progress none "$reg_ADDR/interop/dock:d1" "oci:$T/L:localhost/dock:d1"
	assert_success
	assert_equal "$(digest_line "$output")" "$got"
}

@test "--preserve-digests keeps the registry's bytes; a manifest list converts child by child" {
	need skopeo
	run regship pull --progress none --preserve-digests "$reg_ADDR/interop/dock:d1" "oci:$T/P:d1"
	assert_success
	assert_equal "$(digest_line "$output")" "$DOCK"
	assert_equal "$(json "[m['mediaType'] for m in d['manifests']]" <"$T/P/index.json")" \
		'["application/vnd.docker.distribution.manifest.v2+json"]'
	# a docker manifest list, every platform
	run regship pull --progress none --all-platforms "$reg_ADDR/interop/dlist:l1" "oci:$T/I:l1"
	assert_success
	top=$(digest_line "$output")
	[[ $top != "$DLIST" ]] || fail "the list was not converted"
	idx="$T/I/blobs/sha256/${top#sha256:}"
	assert_equal "$(json 'd["mediaType"]' <"$idx")" "application/vnd.oci.image.index.v1+json"
	for child in $(json "' '.join(m['digest'] for m in d['manifests'])" <"$idx"); do
		f="$T/I/blobs/sha256/${child#sha256:}"
		assert_file_exists "$f"
		assert_equal "$(sha256_of "$f")" "$child"
		assert_equal "$(json 'd["mediaType"]' <"$f")" "application/vnd.oci.image.manifest.v1+json"
	done
	assert_equal "$(json "len(d['manifests'])" <"$idx")" 2
	run skop copy -q --all "oci:$T/I:l1" "oci:$T/copy:x"
	assert_success
	# the converted layout goes back to a registry as it is (OCI now)
	run regship copy --progress none "oci:$T/I:l1" "$reg_ADDR/interop/back:l1"
	assert_success
	assert_equal "$(digest_line "$output")" "$top"
	# one platform into an OCI archive
	run regship pull --progress none --platform linux/arm64/v8 "$reg_ADDR/interop/dlist:l1" \
		"oci-archive:$T/one.tar:localhost/one:arm"
	assert_success
	run skop inspect "oci-archive:$T/one.tar:localhost/one:arm"
	assert_success
	assert_equal "$(json 'd["Architecture"]' <<<"$output")" arm64
}

@test "podman loads what regship pulls to oci-archive: and docker-archive:" {
	need podman
	run regship pull --progress none "$reg_ADDR/interop/dock:d1" \
		"oci-archive:$T/o.tar:localhost/from-oci:d1"
	assert_success
	run pod load --signature-policy "$P/policy.json" -q -i "$T/o.tar"
	assert_success
	run regship pull --progress none "$reg_ADDR/interop/dock:d1" \
		"docker-archive:$T/d.tar:localhost/from-docker:d1"
	assert_success
	run pod load --signature-policy "$P/policy.json" -q -i "$T/d.tar"
	assert_success
	run pod images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
	assert_success
	assert_output_contains "localhost/from-oci:d1"
	assert_output_contains "localhost/from-docker:d1"
	# one image (config) under both names
	cfg=$(regship manifest "$reg_ADDR/interop/dock:d1" | json 'd["config"]["digest"]')
	id=${cfg#sha256:}
	[[ $(grep -c " ${id:0:12}" <<<"$output") -eq 2 ]] || fail "image IDs differ from $id: $output"
	run pod rmi -f localhost/from-oci:d1 localhost/from-docker:d1
}

# ---- the tools write, regship reads ------------------------------------------------------------

@test "podman save (docker-archive, oci-archive, oci-dir) -> regship push -> podman pull, skopeo" {
	need podman skopeo
	pod save --signature-policy "$P/policy.json" -q --format docker-archive -o "$T/d.tar" localhost/t1:v1
	pod save --signature-policy "$P/policy.json" -q --format oci-archive -o "$T/o.tar" localhost/t1:v1
	pod save --signature-policy "$P/policy.json" -q --format oci-dir -o "$T/dir" localhost/t1:v1
	assert_equal "$(json "[m['annotations']['org.opencontainers.image.ref.name'] for m in d['manifests']]" <"$T/dir/index.json")" \
		'["localhost/t1:v1"]'
	n=0
	for src in "docker-archive:$T/d.tar" "oci-archive:$T/o.tar:localhost/t1:v1" \
		"oci:$T/dir:localhost/t1:v1" "oci:$T/dir" "$T/o.tar"; do
		n=$((n + 1))
		run regship push --progress none "$src" "$reg_ADDR/interop/saved:$n"
		assert_success
		pushed=$(digest_line "$output")
		run skop inspect --tls-verify=false "docker://$reg_ADDR/interop/saved:$n"
		assert_success
		assert_equal "$(json 'd["Digest"]' <<<"$output")" "$pushed"
		# podman pulls it by the digest regship printed (two of them: podman is slow)
		[[ $n -le 2 ]] || continue
		run pod pull --signature-policy "$P/policy.json" -q --tls-verify=false \
			"$reg_ADDR/interop/saved@$pushed"
		assert_success
		run pod image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' \
			"$reg_ADDR/interop/saved@$pushed"
		assert_success
		assert_output_contains "$reg_ADDR/interop/saved@$pushed"
	done
	# an OCI layout or archive keeps its manifest: the digest podman wrote
	want=$(json "d['manifests'][0]['digest']" <"$T/dir/index.json")
	run regship digest "oci:$T/dir:localhost/t1:v1"
	assert_output_equals "$want"
	run regship digest "$reg_ADDR/interop/saved:3"
	assert_output_equals "$want"
}

@test "buildah push to oci: and docker-archive: -> regship copy" {
	need buildah skopeo
	bah push --signature-policy "$P/policy.json" -q localhost/t1:v1 "oci:$T/b:localhost/t1:v1" >/dev/null
	bah push --signature-policy "$P/policy.json" -q localhost/t1:v1 "docker-archive:$T/b.tar:localhost/t1:v1" >/dev/null
	run regship copy --progress none "oci:$T/b:localhost/t1:v1" "$reg_ADDR/interop/bah:oci"
	assert_success
	assert_equal "$(digest_line "$output")" "$(json "d['manifests'][0]['digest']" <"$T/b/index.json")"
	run regship copy --progress none "docker-archive:$T/b.tar" "oci:$T/c:localhost/t1:v1"
	assert_success
	copied=$(digest_line "$output")
	run skop inspect "oci:$T/c:localhost/t1:v1"
	assert_success
	assert_equal "$(json 'd["Digest"]' <<<"$output")" "$copied"
}

@test "podman manifest push of a multi-arch list -> regship platform selection and copy" {
	need podman skopeo
	fixture docker-archive "$T/amd.tar" --repo-tag localhost/m:amd64 --platform linux/amd64 \
		--seed m-amd >/dev/null
	fixture docker-archive "$T/arm.tar" --repo-tag localhost/m:arm64 --platform linux/arm64/v8 \
		--seed m-arm >/dev/null
	pod load --signature-policy "$P/policy.json" -q -i "$T/amd.tar" >/dev/null
	pod load --signature-policy "$P/policy.json" -q -i "$T/arm.tar" >/dev/null
	pod manifest create localhost/m:list >/dev/null
	pod manifest add localhost/m:list containers-storage:localhost/m:amd64 >/dev/null
	pod manifest add --variant v8 localhost/m:list containers-storage:localhost/m:arm64 >/dev/null
	run pod manifest push -q --all --tls-verify=false localhost/m:list \
		"docker://$reg_ADDR/interop/multi:1"
	assert_success
	raw=$(skop inspect --raw --tls-verify=false "docker://$reg_ADDR/interop/multi:1")
	arm=$(json "[m['digest'] for m in d['manifests'] if m['platform']['architecture'] == 'arm64'][0]" <<<"$raw")
	run regship digest --platform linux/arm64/v8 "$reg_ADDR/interop/multi:1"
	assert_success
	assert_output_equals "$arm"
	run regship copy --progress none --platform linux/arm64/v8 "$reg_ADDR/interop/multi:1" \
		"$reg_ADDR/interop/multi-arm:1"
	assert_success
	assert_equal "$(digest_line "$output")" "$arm"
	run regship copy --progress none "$reg_ADDR/interop/multi:1" "$reg_ADDR/interop/multi-copy:1"
	assert_success
	assert_equal "$(digest_line "$output")" "$(printf '%s' "$raw" | sha256sum | sed 's/^/sha256:/;s/ .*//')"
	run regship pull --progress none --all-platforms "$reg_ADDR/interop/multi:1" \
		"oci:$T/L:localhost/m:list"
	assert_success
	run skop inspect --override-arch arm64 --override-variant v8 "oci:$T/L:localhost/m:list"
	assert_success
	assert_equal "$(json 'd["Architecture"]' <<<"$output")" arm64
	pod manifest rm localhost/m:list >/dev/null
	pod rmi -f localhost/m:amd64 localhost/m:arm64 >/dev/null
}

@test "umoci-built layout with several named images" {
	need umoci skopeo
	umoci init --layout "$T/U"
	umoci new --image "$T/U:a"
	mkdir -p "$T/files/etc" && echo one >"$T/files/etc/one"
	umoci insert --image "$T/U:a" "$T/files/etc/one" /etc/one
	umoci new --image "$T/U:b"
	umoci config --image "$T/U:b" --config.cmd /bin/true
	run regship copy --progress none "oci:$T/U" "oci:$T/out"
	assert_failure 2
	assert_output_contains "a, b"
	for name in a b; do
		want=$(json "[m['digest'] for m in d['manifests'] if m['annotations']['org.opencontainers.image.ref.name'] == '$name'][0]" <"$T/U/index.json")
		run regship push --progress none "oci:$T/U:$name" "$reg_ADDR/interop/umoci:$name"
		assert_success
		assert_equal "$(digest_line "$output")" "$want"
		run skop inspect --tls-verify=false "docker://$reg_ADDR/interop/umoci:$name"
		assert_success
		assert_equal "$(json 'd["Digest"]' <<<"$output")" "$want"
	done
	# and back: regship pulls into a layout umoci unpacks
	run regship pull --progress none "$reg_ADDR/interop/umoci:a" "oci:$T/U2:localhost/u:a"
	assert_success
	run umoci_unpack --image "$T/U2:localhost/u:a" "$T/bundle"
	assert_success
	assert_equal "$(cat "$T/bundle/rootfs/etc/one")" one
}

@test "oci-image-tool validates the OCI layouts regship writes (an image and a converted list)" {
	need oci-image-tool
	run regship pull --progress none "$reg_ADDR/interop/dock:d1" "oci:$T/V:localhost/dock:d1"
	assert_success
	run oci-image-tool validate --type image --ref name=localhost/dock:d1 "$T/V"
	assert_success
	assert_output_contains "Validation succeeded"
	run regship pull --progress none --all-platforms "$reg_ADDR/interop/dlist:l1" "oci:$T/V2:l1"
	assert_success
	run oci-image-tool validate --type image --ref name=l1 "$T/V2"
	assert_success
	assert_output_contains "Validation succeeded"
	# --preserve-digests keeps Docker media types, which this tool refuses (as regship-pull(1) says)
	run regship pull --progress none --preserve-digests "$reg_ADDR/interop/dock:d1" "oci:$T/V3:d1"
	assert_success
	run oci-image-tool validate --type image --ref name=d1 "$T/V3"
	assert_failure
	assert_output_contains "invalid descriptor MediaType"
}
