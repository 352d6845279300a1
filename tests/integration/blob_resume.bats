#!/usr/bin/env bats
# regship blob -o FILE is resumable like pulls: an interrupted download leaves
# FILE.regship-partial-HEX, which the next run continues with a Range request; the whole blob is
# verified at the end; partial bytes that do not belong to the blob, or a server that ignores
# Range, make it start again from zero (or drop what it already has) — FILE only ever holds the
# verified blob.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	reg_start plain br
	reg_seed br br/app --tag v1 --layers 1 --layer-size 512K --seed br-v1 >"$BATS_FILE_TMPDIR/br.fixture"
	# the first blob GET gets its headers and half its body, then a TCP reset
	faultproxy_start cut "$br_URL" --only reset-download --once --rate 1 --match '/blobs/sha256:'
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	T=$BATS_TEST_TMPDIR
	LAYER=$(regship manifest "$br_ADDR/br/app:v1" | json 'd["layers"][0]["digest"]')
	PARTIAL_GLOB="$T/out.regship-partial-*"
}

partial() { compgen -G "$PARTIAL_GLOB" || true; }

@test "an interrupted download keeps its bytes; the next run continues with a Range request" {
	run --separate-stderr regship --retries 0 blob -o "$T/out" "$cut_ADDR/br/app@$LAYER"
	assert_status 1
	assert_file_not_exists "$T/out"
	local p size
	p=$(partial)
	[[ -n $p ]] || fail "no partial file kept: $stderr"
	assert_equal "$p" "$T/out.regship-partial-${LAYER:7:16}"
	size=$(stat -c %s "$p")
	[[ $size -gt 0 && $size -lt 524288 ]] || fail "partial holds $size bytes"
	[[ $stderr == *"kept in $p; run the same command again to continue"* ]] || fail "$stderr"
	# the fault was injected once: the same command finishes, from byte $size on
	run --separate-stderr regship --retries 0 blob -o "$T/out" "$cut_ADDR/br/app@$LAYER"
	assert_success
	[[ $stderr == *"continuing from byte $size"* ]] || fail "$stderr"
	assert_equal "$(sha256_of "$T/out")" "$LAYER"
	assert_equal "$(partial)" ""
	# what went over the wire: a GET for the rest only
	assert_equal "$(jsonl_count "$cut_REQUESTS" "d['method'] == 'GET' and d['path'].endswith('$LAYER') and d['range'] == 'bytes=$size-' and d['status'] == 206")" 1
}

@test "kept bytes that do not continue the blob: a warning, then the whole blob from zero" {
	head -c 1000 /dev/urandom >"$T/out.regship-partial-${LAYER:7:16}"
	run --separate-stderr regship blob -o "$T/out" "$br_ADDR/br/app@$LAYER"
	assert_success
	[[ $stderr == *"do not continue this blob"*"starting again from zero"* ]] || fail "$stderr"
	assert_equal "$(sha256_of "$T/out")" "$LAYER"
	assert_equal "$(partial)" ""
	# a partial longer than the blob (the registry answers 416) starts again too
	head -c 600000 /dev/zero >"$T/out.regship-partial-${LAYER:7:16}"
	rm -f "$T/out"
	run --separate-stderr regship blob -o "$T/out" "$br_ADDR/br/app@$LAYER"
	[[ $status -eq 0 ]] || fail "status $status: $stderr"
	assert_equal "$(sha256_of "$T/out")" "$LAYER"
	assert_equal "$(partial)" ""
}

@test "a server that ignores Range: the bytes already held are skipped, the blob is right" {
	# the real first half of the blob as a partial, and a server that always answers 200 in full
	regship blob -o "$T/whole" "$br_ADDR/br/app@$LAYER"
	head -c 100000 "$T/whole" >"$T/out.regship-partial-${LAYER:7:16}"
	cp "$T/whole" "$T/served"
	"$HARNESS_PY" - "$T/served" "$T/port" <<'EOF' &
import http.server, sys
data = open(sys.argv[1], "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self, head=False):
        body = b"{}" if self.path == "/v2/" else data
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.end_headers()
        if not head:
            self.wfile.write(body)
    def do_HEAD(self):
        self.do_GET(head=True)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2] + ".tmp", "w").write(str(s.server_address[1]))
__import__("os").rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()
EOF
	local srv=$!
	wait_until 20 test -s "$T/port" || fail "the test server did not start"
	run --separate-stderr regship -v blob -o "$T/out" "127.0.0.1:$(cat "$T/port")/any/repo@$LAYER"
	kill "$srv" 2>/dev/null || true
	wait "$srv" 2>/dev/null || true
	assert_success
	[[ $stderr == *"Range: bytes=100000-"* ]] || fail "no Range sent: $stderr"
	assert_equal "$(sha256_of "$T/out")" "$LAYER"
	assert_equal "$(partial)" ""
}

@test "a missing blob leaves nothing behind, with -o or without" {
	mkdir "$T/d"
	run --separate-stderr regship blob -o "$T/d/out" "$br_ADDR/br/app@sha256:$(printf '%064d' 0)"
	assert_status 3
	assert_equal "$(ls -A "$T/d")" ""
	run --separate-stderr regship blob "$br_ADDR/br/app@sha256:$(printf '%064d' 0)"
	assert_status 3
	assert_equal "$output" ""
}
