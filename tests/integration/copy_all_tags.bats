#!/usr/bin/env bats
# copy --all-tags at fleet scale: 40 distinct images sharing base layers move in parallel
# (rs_copy_tags), every shared blob is uploaded once (counted in the destination registry's
# access log), lines stay in tag order, --jobs 1 gives the same result, and a tag whose
# manifest the source cannot serve is named: without --keep-going the copy stops with its exit
# status, with it the others are copied and regship exits 6.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	reg_start plain src
	reg_start plain dst
	export W="$BATS_FILE_TMPDIR/work"
	mkdir -p "$W"
	# mirror/app: tags t00..t39, each a distinct image of 3 layers and its own config; layer 0
	# is shared by all 40, layer 1 by every second image (two variants), layer 2 is the
	# image's own. broken/app: 6 such images, then t3's tag link is removed from the
	# registry's storage, so the registry lists t3 but answers "manifest unknown" for it.
	"$HARNESS_PY" - "$HARNESS_DIR" "$src_URL" "$W" <<'EOF'
import os, sys
sys.path.insert(0, sys.argv[1])
import fixture, reglib
url, work = sys.argv[2], sys.argv[3]
mt = fixture.MT["oci"]
blobs = fixture.BlobDir(os.path.join(work, "gen"))
made = {}

def layer(key, i):
    if key not in made:
        made[key] = fixture.make_layer(blobs, key, i, 2048, False, mt["layer"], None)
    return made[key]

def image(name, n):
    ls = [layer("base", 0), layer("group-%d" % (n % 2), 1), layer("own-" + name, 2)]
    config = {"architecture": "amd64", "os": "linux", "created": fixture.EPOCH,
              "config": {"Labels": {"image": name}},
              "rootfs": {"type": "layers", "diff_ids": [l[1] for l in ls]}}
    cblob = blobs.put_bytes(fixture.jdump(config), mt["config"])
    m = {"schemaVersion": 2, "mediaType": mt["manifest"], "config": cblob.desc(),
         "layers": [l[0].desc() for l in ls]}
    mblob = blobs.put_bytes(fixture.jdump(m, indent=3), mt["manifest"])
    img = fixture.Image({"architecture": "amd64", "os": "linux"}, cblob, [l[0] for l in ls],
                        [l[1] for l in ls], None, mblob, mt["manifest"])
    return fixture.Top(mblob, [img], False)

client = reglib.RegistryClient(url, None, None, None)
for repo, tags in (("mirror/app", ["t%02d" % i for i in range(40)]),
                   ("broken/app", ["t%d" % i for i in range(6)])):
    with open(os.path.join(work, repo.split("/")[0] + ".out"), "w") as out:
        for t in tags:
            res, _ = fixture.push_repo(client, repo, image(repo + ":" + t, int(t[1:])), [t])
            out.write("%s %s\n" % res[0])
with open(os.path.join(work, "blobs.out"), "w") as out:
    for d in sorted(made):
        out.write("%s %s\n" % (d, made[d][0].digest))
EOF
	rm "$src_DATA/docker/registry/v2/repositories/broken/app/_manifests/tags/t3/current/link"
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
}

# dst_digest REPO TAG: the manifest digest registry dst holds for REPO:TAG (curl HEAD), or ""
dst_digest() {
	curl -s -I -H "Accept: $MANIFEST_ACCEPT" "$dst_URL/v2/$1/manifests/$2" |
		tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p'
}

# every_tag_equal REPO FILE [SKIP]: each "TAG DIGEST" of FILE (but SKIP) is REPO:TAG on dst
every_tag_equal() {
	local tag digest
	while read -r tag digest; do
		[[ $tag == "${3:-}" ]] && continue
		assert_equal "$(dst_digest "$1" "$tag")" "$digest" "$1:$tag on dst" || return 1
	done <"$2"
}

# uploads REPO: "COUNT DIGEST" for every blob upload completed in REPO on dst since the mark
uploads() {
	reg_requests dst | awk -v r="/v2/$1/blobs/uploads/" '$1 == "PUT" && index($2, r) == 1 &&
		$3 == "201" { sub(/.*[?&]digest=/, "", $2); sub(/&.*/, "", $2); gsub(/%3A/, ":", $2);
		print $2 }' | sort | uniq -c
}

@test "copy --all-tags: 40 images, every digest equal on both sides, each shared blob uploaded once" {
	reg_log_mark dst
	run regship copy --all-tags --progress none "$src_ADDR/mirror/app" "$dst_ADDR/mirror/app"
	assert_success
	# one line per tag, in tag order
	expected=$(LC_ALL=C sort "$W/mirror.out" | awk -v a="$dst_ADDR/mirror/app" '{ print a ":" $1 "@" $2 }')
	assert_equal "$output" "$expected" "output lines"
	every_tag_equal mirror/app "$W/mirror.out"
	uploads mirror/app >"$T/uploads"
	# 40 own layers + 40 configs + the base layer + 2 group layers, each exactly once
	assert_equal "$(wc -l <"$T/uploads")" 83 "distinct blobs uploaded"
	assert_equal "$(awk '$1 != 1' "$T/uploads")" "" "blobs uploaded more than once"
	for key in base group-0 group-1; do
		d=$(awk -v k="$key" '$1 == k { print $2 }' "$W/blobs.out")
		grep -q " $d\$" "$T/uploads" || fail "shared layer $key ($d) was not uploaded"
	done
	# no upload session was opened for a blob another image was moving
	posts=$(reg_requests dst | grep -c '^POST /v2/mirror/app/blobs/uploads/')
	assert_equal "$posts" 83 "upload sessions opened"
}

@test "copy --all-tags --jobs 1: the same images and lines, one at a time" {
	run regship copy --all-tags --jobs 1 --progress none "$src_ADDR/mirror/app" "$dst_ADDR/one/app"
	assert_success
	expected=$(LC_ALL=C sort "$W/mirror.out" | awk -v a="$dst_ADDR/one/app" '{ print a ":" $1 "@" $2 }')
	assert_equal "$output" "$expected" "output lines"
	every_tag_equal one/app "$W/mirror.out"
}

@test "copy --all-tags again: nothing is uploaded a second time" {
	run regship copy --all-tags --progress none "$src_ADDR/mirror/app" "$dst_ADDR/again/app"
	assert_success
	reg_log_mark dst
	run regship copy --all-tags --progress none --json "$src_ADDR/mirror/app" "$dst_ADDR/again/app"
	assert_success
	assert_equal "$(uploads again/app)" "" "uploads on the second run"
	assert_equal "$(json 'len(d["images"])' <<<"$output")" 40 "images in --json"
	assert_equal "$(json 'd["bytes_sent"]' <<<"$output")" 0 "bytes_sent"
}

@test "a tag the source cannot serve stops copy --all-tags and is named (exit 3)" {
	run regship copy --all-tags --progress none "$src_ADDR/broken/app" "$dst_ADDR/stop/app"
	assert_status 3
	assert_output_contains "$dst_ADDR/stop/app:t3:"
	assert_output_contains "t3"
	assert_equal "$(dst_digest stop/app t3)" "" "t3 on dst"
}

@test "--keep-going: the other tags are copied, the failed one named, exit 6, --json lists it" {
	run --separate-stderr regship copy --all-tags --keep-going --json --progress none \
		"$src_ADDR/broken/app" "$dst_ADDR/kg/app"
	assert_status 6
	[[ $stderr == *"$dst_ADDR/kg/app:t3: "* ]] || fail "stderr does not name t3: $stderr"
	assert_equal "$(json '[i["tag"] for i in d["images"]]' <<<"$output")" \
		'["t0", "t1", "t2", "t4", "t5"]' "images in --json"
	assert_equal "$(json '[f["source"] for f in d["failed"]]' <<<"$output")" \
		"[\"$src_ADDR/broken/app:t3\"]" "failed in --json"
	every_tag_equal kg/app "$W/broken.out" t3
	assert_equal "$(dst_digest kg/app t3)" "" "t3 on dst"
}

@test "--keep-going into an OCI layout: the copied tags are committed, exit 6" {
	run regship copy --all-tags --keep-going --progress none "$src_ADDR/broken/app" oci:"$T/lay"
	assert_status 6
	assert_output_contains "oci:$T/lay:t3"
	for t in t0 t1 t2 t4 t5; do
		d=$(awk -v t="$t" '$1 == t { print $2 }' "$W/broken.out")
		verify_layout "$T/lay" "$t" "$d"
		assert_output_contains "oci:$T/lay:$t@$d"
	done
	assert_equal "$(json '[m for m in d["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "t3"]' <"$T/lay/index.json")" "[]" "t3 in the layout"
}

@test "--keep-going needs --all-tags and a DESTINATION" {
	run regship copy --keep-going "$src_ADDR/mirror/app:t00" "$dst_ADDR/x/app:t00"
	assert_status 2
	assert_output_contains "--keep-going applies to --all-tags"
	run regship push --keep-going oci:"$T/none" "$dst_ADDR/x/app:t00"
	assert_status 2
}
