#!/usr/bin/env bats
# Memory does not grow with blob size: the peak RSS of pushing (and pulling) one 1 GiB layer is
# within 1 MiB of doing the same with one 1 MiB layer. OCI layout source, plain registry; and a
# docker archive whose 256 MiB plain layer is gzip-compressed straight into its upload.

setup_file() {
	load helpers
	reg_start plain plain
	export MEM="$BATS_FILE_TMPDIR/mem"
	mkdir -p "$MEM"
	# PRNG content gzip'd with stored blocks: about 15 s for 1 GiB on 2 cores
	fixture oci-layout "$MEM/small" --tag v1 --layers 1 --layer-size 1M --seed mem-small >"$MEM/small.out"
	fixture oci-layout "$MEM/big" --tag v1 --layers 1 --layer-size 1G --seed mem-big >"$MEM/big.out"
	# docker archives with one plain layer: compressed into the upload on the way (issue 16)
	fixture docker-archive "$MEM/small.tar" --repo-tag mem/da:small --layers 1 --layer-size 1M \
		--seed mem-da-small >/dev/null
	fixture docker-archive "$MEM/big.tar" --repo-tag mem/da:big --layers 1 --layer-size 256M \
		--seed mem-da-big >/dev/null
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
}

# peak_rss_kib OUTFILE CMD...: run CMD (through the regship wrapper when it is `regship`), print its
#   peak RSS in KiB to OUTFILE; returns CMD's status
peak_rss_kib() {
	local out=$1
	shift
	if [[ $1 == regship ]]; then
		# the environment of the regship wrapper in helpers.bash (which also makes the dirs)
		regship --version >/dev/null
		local home=${REGSHIP_TEST_HOME:-$BATS_FILE_TMPDIR/home}
		shift
		set -- env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY \
			-u all_proxy -u no_proxy -u NO_PROXY -u REGISTRY_AUTH_FILE HOME="$home" \
			DOCKER_CONFIG="$home/.docker" XDG_CONFIG_HOME="$home/.config" \
			XDG_CACHE_HOME="$home/.cache" XDG_DATA_HOME="$home/.local/share" \
			XDG_STATE_HOME="$home/.local/state" XDG_RUNTIME_DIR="$home/.run" "$REGSHIP" "$@"
	fi
	if [[ -x /usr/bin/time ]]; then
		/usr/bin/time -f %M -o "$out" "$@"
	else
		"$HARNESS_PY" -c 'import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
open(sys.argv[1], "w").write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(rc)' "$out" "$@"
	fi
}

# within_1mib SMALL_KIB BIG_KIB WHAT
within_1mib() {
	local small=$1 big=$2
	echo "# $3: 1 MiB layer $small KiB, 1 GiB layer $big KiB" >&3
	[[ $small -gt 0 && $big -gt 0 ]] || fail "no RSS measured ($small, $big)"
	((big - small <= 1024)) || fail "$3: peak RSS grew by $((big - small)) KiB (1 MiB layer: $small KiB, 1 GiB layer: $big KiB)"
}

@test "push: peak RSS with a 1 GiB layer is within 1 MiB of a 1 MiB layer" {
	small_digest=$(cut -d' ' -f2 "$MEM/small.out")
	big_digest=$(cut -d' ' -f2 "$MEM/big.out")
	peak_rss_kib "$BATS_TEST_TMPDIR/small.rss" regship -q push oci:"$MEM/small":v1 "$plain_ADDR/mem/small:v1" >"$BATS_TEST_TMPDIR/small.stdout"
	peak_rss_kib "$BATS_TEST_TMPDIR/big.rss" regship -q push oci:"$MEM/big":v1 "$plain_ADDR/mem/big:v1" >"$BATS_TEST_TMPDIR/big.stdout"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/small.stdout")" "$plain_ADDR/mem/small:v1@$small_digest"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/big.stdout")" "$plain_ADDR/mem/big:v1@$big_digest"
	# the big layer really went up, in full
	layer=$(json 'd["layers"][0]' <"$MEM/big/blobs/sha256/${big_digest#sha256:}")
	size=$(curl -s -I "$plain_URL/v2/mem/big/blobs/$(json 'd["digest"]' <<<"$layer")" | tr -d '\r' | sed -n 's/^Content-Length: //p')
	assert_equal "$size" "$(json 'd["size"]' <<<"$layer")"
	[[ $size -gt $((1 << 30)) ]]
	within_1mib "$(cat "$BATS_TEST_TMPDIR/small.rss")" "$(cat "$BATS_TEST_TMPDIR/big.rss")" push
}

@test "pull: peak RSS with a 1 GiB layer is within 1 MiB of a 1 MiB layer" {
	small_digest=$(cut -d' ' -f2 "$MEM/small.out")
	big_digest=$(cut -d' ' -f2 "$MEM/big.out")
	# (the push test may have run alone: make sure both images are there)
	for s in small big; do
		regship -q push oci:"$MEM/$s":v1 "$plain_ADDR/mem/$s:v1" >/dev/null
	done
	peak_rss_kib "$BATS_TEST_TMPDIR/small.rss" regship -q pull "$plain_ADDR/mem/small:v1" oci:"$BATS_TEST_TMPDIR/small":v1 >/dev/null
	peak_rss_kib "$BATS_TEST_TMPDIR/big.rss" regship -q pull "$plain_ADDR/mem/big:v1" oci:"$BATS_TEST_TMPDIR/big":v1 >/dev/null
	assert_equal "$(json 'd["manifests"][0]["digest"]' <"$BATS_TEST_TMPDIR/big/index.json")" "$big_digest"
	assert_equal "$(json 'd["manifests"][0]["digest"]' <"$BATS_TEST_TMPDIR/small/index.json")" "$small_digest"
	# every blob arrived whole (cmp with the source layout, cheaper than hashing 1 GiB again)
	for f in "$MEM/big/blobs/sha256/"*; do cmp "$f" "$BATS_TEST_TMPDIR/big/blobs/sha256/${f##*/}"; done
	within_1mib "$(cat "$BATS_TEST_TMPDIR/small.rss")" "$(cat "$BATS_TEST_TMPDIR/big.rss")" pull
	rm -rf "$BATS_TEST_TMPDIR/big"
}

@test "docker-archive push compressing into the upload: peak RSS with a 256 MiB layer is within 1 MiB of a 1 MiB layer" {
	peak_rss_kib "$BATS_TEST_TMPDIR/small.rss" regship -q push docker-archive:"$MEM/small.tar" "$plain_ADDR/mem/da:small" >"$BATS_TEST_TMPDIR/small.stdout"
	peak_rss_kib "$BATS_TEST_TMPDIR/big.rss" regship -q push docker-archive:"$MEM/big.tar" "$plain_ADDR/mem/da:big" >"$BATS_TEST_TMPDIR/big.stdout"
	[[ $(cat "$BATS_TEST_TMPDIR/big.stdout") == "$plain_ADDR/mem/da:big@sha256:"* ]] || fail "big push: $(cat "$BATS_TEST_TMPDIR/big.stdout")"
	# the whole layer went up, gzip'd: its size in the registry is the manifest's, above 256 MiB
	curl -s -H "Accept: $MANIFEST_ACCEPT" "$plain_URL/v2/mem/da/manifests/big" >"$BATS_TEST_TMPDIR/m.json"
	layer=$(json 'd["layers"][0]' <"$BATS_TEST_TMPDIR/m.json")
	size=$(curl -s -I "$plain_URL/v2/mem/da/blobs/$(json 'd["digest"]' <<<"$layer")" | tr -d '\r' | sed -n 's/^Content-Length: //p')
	assert_equal "$size" "$(json 'd["size"]' <<<"$layer")"
	[[ $size -gt $((256 << 20)) ]] || fail "layer of $size bytes"
	within_1mib "$(cat "$BATS_TEST_TMPDIR/small.rss")" "$(cat "$BATS_TEST_TMPDIR/big.rss")" "docker-archive push"
}
