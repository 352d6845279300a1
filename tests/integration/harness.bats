#!/usr/bin/env bats
# Self-tests of tests/harness (registries, token server, proxy, fixtures) using curl and python,
# not regship.

DOCKER_V2=application/vnd.docker.distribution.manifest.v2+json

setup_file() {
	load helpers
	reg_start plain plain
	reg_start htpasswd basic
	reg_start token tok
	reg_start tls tls
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
}

# token_for USER:PASS SCOPE... -> prints the token (anonymous when USER:PASS is "-")
token_for() {
	local cred=$1 q="service=$tok_TOKEN_SERVICE" s
	shift
	for s in "$@"; do q+="&scope=$s"; done
	if [[ $cred == - ]]; then
		curl -sf "$tok_TOKEN_URL?$q" | json 'd["token"]'
	else
		curl -sf -u "$cred" "$tok_TOKEN_URL?$q" | json 'd["token"]'
	fi
}

# jwt_claims TOKEN -> JSON of the payload
jwt_claims() {
	"$HARNESS_PY" -c 'import base64, sys
p = sys.argv[1].split(".")[1]
print(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)).decode())' "$1"
}

@test "plain registry answers GET /v2/ with 200" {
	run curl -s -o /dev/null -w '%{http_code}' "$plain_URL/v2/"
	assert_success
	assert_output_equals 200
	[[ $plain_URL == "http://127.0.0.1:$plain_PORT" ]]
	[[ $plain_ADDR == "127.0.0.1:$plain_PORT" ]]
}

@test "htpasswd: 401 with a Basic challenge, 200 with admin and reader, 401 with a bad password" {
	run curl -s -i "$basic_URL/v2/"
	assert_output_contains "HTTP/1.1 401"
	assert_output_matches $'Www-Authenticate: Basic realm="basic-realm"'
	run curl -s -o /dev/null -w '%{http_code}' -u "$basic_USER:$basic_PASS" "$basic_URL/v2/"
	assert_output_equals 200
	run curl -s -o /dev/null -w '%{http_code}' -u "$basic_READER_USER:$basic_READER_PASS" "$basic_URL/v2/"
	assert_output_equals 200
	run curl -s -o /dev/null -w '%{http_code}' -u admin:nope "$basic_URL/v2/"
	assert_output_equals 401
}

@test "token: 401 with a Bearer challenge naming the token server; an admin token opens /v2/" {
	run curl -s -i "$tok_URL/v2/"
	assert_output_contains "HTTP/1.1 401"
	assert_output_contains "Bearer realm=\"$tok_TOKEN_URL\",service=\"$tok_TOKEN_SERVICE\""
	token=$(token_for admin:adminpass)
	run curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$tok_URL/v2/"
	assert_output_equals 200
	# the JWT is what distribution 2.8 wants: ES256 raw r||s, x5c header, single-string aud
	header=$("$HARNESS_PY" -c 'import base64,sys;p=sys.argv[1].split(".")[0];print(base64.urlsafe_b64decode(p+"="*(-len(p)%4)).decode())' "$token")
	[[ $(json 'd["alg"]' <<<"$header") == ES256 ]]
	[[ $(json 'len(d["x5c"])' <<<"$header") == 1 ]]
	claims=$(jwt_claims "$token")
	[[ $(json 'd["aud"]' <<<"$claims") == "$tok_TOKEN_SERVICE" ]]
	[[ $(json 'd["iss"]' <<<"$claims") == "$tok_TOKEN_ISSUER" ]]
	[[ $(json 'd["sub"]' <<<"$claims") == admin ]]
	[[ $(json 'd["exp"] - d["iat"]' <<<"$claims") == 300 ]]
}

@test "token: admin gets every action asked; reader gets pull only and is refused a DELETE" {
	run fixture seed "$tok_URL" team/app --tag v1 --user admin:adminpass
	assert_success
	digest=${lines[0]#* }
	admin=$(token_for admin:adminpass "repository:team/app:pull,push,delete" "registry:catalog:*")
	[[ $(jwt_claims "$admin" | json '[a["actions"] for a in d["access"]]') == '[["pull", "push", "delete"], ["*"]]' ]]
	run curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $admin" "$tok_URL/v2/_catalog"
	assert_output_equals 200

	reader=$(token_for reader:readerpass "repository:team/app:pull,delete")
	[[ $(jwt_claims "$reader" | json 'd["access"]') == '[{"type": "repository", "name": "team/app", "actions": ["pull"]}]' ]]
	run curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $reader" \
		-H "Accept: $DOCKER_V2" "$tok_URL/v2/team/app/manifests/v1"
	assert_output_equals 200
	run curl -s -i -X DELETE -H "Authorization: Bearer $reader" "$tok_URL/v2/team/app/manifests/$digest"
	assert_output_contains "HTTP/1.1 401"
	assert_output_contains 'error="insufficient_scope"'
	# the manifest is still there
	run curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $admin" \
		-H "Accept: $DOCKER_V2" "$tok_URL/v2/team/app/manifests/$digest"
	assert_output_equals 200
	# the token server logged who asked for what
	[[ $(jsonl_count "$tok_TOKEN_LOG" 'd["user"] == "reader" and d["scopes"] == ["repository:team/app:pull,delete"] and d["authorization"]') == 1 ]]
}

@test "token: anonymous gets pull on public/ only; empty grants are 200; a bad password is 401" {
	anon=$(token_for - "repository:public/x:pull,push" "repository:private/y:pull")
	[[ $(jwt_claims "$anon" | json '[a["actions"] for a in d["access"]]') == '[["pull"], []]' ]]
	[[ $(jwt_claims "$anon" | json 'd["sub"]') == "" ]]
	run curl -s -o /dev/null -w '%{http_code}' "$tok_TOKEN_URL?service=$tok_TOKEN_SERVICE&scope=registry:catalog:*"
	assert_output_equals 200
	run curl -s -o /dev/null -w '%{http_code}' -u admin:wrong "$tok_TOKEN_URL?service=$tok_TOKEN_SERVICE"
	assert_output_equals 401
	run curl -s -o /dev/null -w '%{http_code}' -u nobody:x "$tok_TOKEN_URL?service=$tok_TOKEN_SERVICE"
	assert_output_equals 401
	[[ $(jsonl_count "$tok_TOKEN_LOG" 'd["user"] is None and not d["authorization"] and d["status"] == 200') -ge 2 ]]
}

@test "token: OAuth2 POST password grant with access_type=offline, then refresh_token grant" {
	run curl -s -X POST --data-urlencode grant_type=password --data-urlencode username=reader \
		--data-urlencode password=readerpass --data-urlencode access_type=offline \
		--data-urlencode "service=$tok_TOKEN_SERVICE" --data-urlencode client_id=test \
		--data-urlencode "scope=repository:a/b:pull,push repository:c/d:pull" "$tok_TOKEN_URL"
	assert_success
	rt=$(json 'd["refresh_token"]' <<<"$output")
	[[ -n $rt ]]
	[[ $(json 'sorted(d)' <<<"$output") == '["access_token", "expires_in", "issued_at", "refresh_token", "token"]' ]]
	[[ $(jwt_claims "$(json 'd["access_token"]' <<<"$output")" | json '[a["actions"] for a in d["access"]]') == '[["pull"], ["pull"]]' ]]
	run curl -s -X POST -d grant_type=refresh_token -d "refresh_token=$rt" \
		-d "service=$tok_TOKEN_SERVICE" -d "scope=repository:a/b:pull" "$tok_TOKEN_URL"
	[[ $(jwt_claims "$(json 'd["token"]' <<<"$output")" | json 'd["sub"]') == reader ]]
	run curl -s -o /dev/null -w '%{http_code}' -X POST -d grant_type=refresh_token \
		-d refresh_token=bogus "$tok_TOKEN_URL"
	assert_output_equals 401
	# without offline access no refresh token is handed out
	run curl -s -X POST -d grant_type=password -d username=admin -d password=adminpass "$tok_TOKEN_URL"
	[[ $(json '"refresh_token" in d' <<<"$output") == false ]]
}

@test "tls: verifies with the harness CA for 127.0.0.1, ::1, localhost and registry.local; fails without it" {
	[[ $tls_URL == https://* && -f $tls_CA ]]
	run curl -s -o /dev/null -w '%{http_code}' --cacert "$tls_CA" "$tls_URL/v2/"
	assert_output_equals 200
	for host in localhost registry.local; do
		run curl -s -o /dev/null -w '%{http_code}' --cacert "$tls_CA" \
			--resolve "$host:$tls_PORT:127.0.0.1" "https://$host:$tls_PORT/v2/"
		assert_output_equals 200
	done
	run openssl x509 -in "$tls_DIR/tls.crt" -noout -ext subjectAltName
	assert_output_contains "IP Address:0:0:0:0:0:0:0:1"
	run curl -s -o /dev/null "$tls_URL/v2/"
	assert_status 60
	run curl -s -o /dev/null -w '%{http_code}' "http://$tls_ADDR/v2/"
	assert_output_equals 400
}

@test "seed: HEAD with the docker Accept returns the digest fixture printed; same args, same digest" {
	run fixture seed "$plain_URL" seeded/img --tag v1 --tag v2 --layers 3 --layer-size 10K --seed 7
	assert_success
	[[ ${#lines[@]} == 2 ]]
	[[ ${lines[0]} == "seeded/img:v1 sha256:"* ]]
	digest=${lines[0]#* }
	[[ ${lines[1]} == "seeded/img:v2 $digest" ]]
	run curl -s -I -H "Accept: $DOCKER_V2" "$plain_URL/v2/seeded/img/manifests/v1"
	assert_output_contains "Docker-Content-Digest: $digest"
	assert_output_contains "Content-Type: $DOCKER_V2"
	run fixture seed "$plain_URL" seeded/other --tag v1 --layers 3 --layer-size 10K --seed 7
	assert_output_equals "seeded/other:v1 $digest"
	run fixture seed "$plain_URL" seeded/other --tag v3 --layers 3 --layer-size 10K --seed 8
	[[ ${output#* } != "$digest" ]]
	# layers really are gzip'd tars of the requested size, and the config lists their diff_ids
	manifest=$(curl -s -H "Accept: $DOCKER_V2" "$plain_URL/v2/seeded/img/manifests/v1")
	[[ $(json 'len(d["layers"])' <<<"$manifest") == 3 ]]
	layer=$(json 'd["layers"][0]["digest"]' <<<"$manifest")
	curl -s "$plain_URL/v2/seeded/img/blobs/$layer" -o "$BATS_TEST_TMPDIR/layer.tgz"
	[[ $(sha256_of "$BATS_TEST_TMPDIR/layer.tgz") == "$layer" ]]
	run tar tvzf "$BATS_TEST_TMPDIR/layer.tgz"
	assert_output_contains "10240 1970-01-01 00:00 fixture/layer0/data.bin"
	config=$(curl -s "$plain_URL/v2/seeded/img/blobs/$(json 'd["config"]["digest"]' <<<"$manifest")")
	[[ $(json 'd["rootfs"]["diff_ids"][0]' <<<"$config") == "sha256:$(gunzip -c "$BATS_TEST_TMPDIR/layer.tgz" | sha256sum | cut -d' ' -f1)" ]]
}

@test "seed: multi-arch OCI index, many tags, many repositories, and auth/TLS registries" {
	run fixture seed "$plain_URL" multi/arch --tag m --format oci --platform linux/amd64 --platform linux/arm64/v8
	assert_success
	[[ ${#lines[@]} == 3 && ${lines[1]} == "multi/arch:m@linux/amd64 sha256:"* ]]
	run curl -s -H 'Accept: application/vnd.oci.image.index.v1+json' "$plain_URL/v2/multi/arch/manifests/m"
	[[ $(json '[m["platform"]["architecture"] for m in d["manifests"]]' <<<"$output") == '["amd64", "arm64"]' ]]

	run fixture seed "$plain_URL" manytags --many-tags 120
	assert_success
	[[ ${#lines[@]} == 120 ]]
	run curl -s "$plain_URL/v2/manytags/tags/list"
	[[ $(json 'len(d["tags"])' <<<"$output") == 120 ]]

	run fixture seed "$plain_URL" x --repos 12 --repo-prefix catalog/r
	assert_success
	[[ ${lines[11]} == "catalog/r0011:latest sha256:"* ]]
	run curl -s "$plain_URL/v2/_catalog?n=1000"
	[[ $(json 'len([r for r in d["repositories"] if r.startswith("catalog/")])' <<<"$output") == 12 ]]

	run fixture seed "$basic_URL" auth/img --user "$basic_USER:$basic_PASS"
	assert_success
	run fixture seed "$basic_URL" auth/img --user admin:wrong
	assert_failure
	assert_output_contains "401"
	run fixture seed "$tok_URL" auth/img --user "$tok_USER:$tok_PASS" --format oci
	assert_success
	run fixture seed "$tok_URL" auth/img2 --user "$tok_READER_USER:$tok_READER_PASS"
	assert_failure
	run fixture seed "$tls_URL" tls/img --ca "$tls_CA"
	assert_success
	run fixture seed "$tls_URL" tls/img
	assert_failure
}

@test "fixture: layouts and archives are deterministic and valid for skopeo" {
	command -v skopeo >/dev/null || skip "skopeo not installed"
	cd "$BATS_TEST_TMPDIR"
	run fixture oci-layout lay --tag a --tag b --layers 2 --layer-size 3K --seed s
	assert_success
	digest=${lines[0]#* }
	[[ ${lines[1]} == "b $digest" ]]
	fixture oci-layout lay2 --tag a --tag b --layers 2 --layer-size 3K --seed s >/dev/null
	diff -r lay lay2
	[[ $(json '[m["annotations"]["org.opencontainers.image.ref.name"] for m in d["manifests"]]' <lay/index.json) == '["a", "b"]' ]]
	for f in lay/blobs/sha256/*; do [[ $(sha256_of "$f") == "sha256:${f##*/}" ]]; done
	run skopeo inspect --raw oci:lay:a
	assert_success
	[[ $(printf '%s' "$output" | sha256sum | cut -d' ' -f1) == "${digest#sha256:}" ]]
	# a second image under another tag is added to the same layout
	fixture oci-layout lay --tag c --seed other >/dev/null
	[[ $(json 'len(d["manifests"])' <lay/index.json) == 3 ]]

	run fixture oci-layout ml --tag m --platform linux/amd64 --platform linux/arm/v7
	[[ $(json 'd["manifests"][0]["mediaType"]' <ml/index.json) == application/vnd.oci.image.index.v1+json ]]
	run skopeo inspect --override-arch arm --override-variant v7 oci:ml:m
	assert_success
	assert_output_contains '"Architecture": "arm"'

	run fixture oci-archive a.tar --tag x --compressible --layer-size 100K
	assert_success
	run skopeo inspect oci-archive:a.tar:x
	assert_success
	for fmt in legacy oci; do
		run fixture docker-archive d-$fmt.tar --repo-tag foo/bar:1 --repo-tag foo/bar:2 --format $fmt
		assert_success
		run skopeo inspect docker-archive:d-$fmt.tar:foo/bar:2
		assert_success
		assert_output_contains '"org.regship.fixture.seed": "0"'
	done
	run tar tf d-legacy.tar
	assert_output_contains "manifest.json"
	assert_output_contains "repositories"
	assert_output_matches "[0-9a-f]{64}/layer.tar"
	assert_output_matches "[0-9a-f]{64}/VERSION"
	run tar tf d-oci.tar
	assert_output_contains "oci-layout"
	assert_output_contains "index.json"
	# a second image appended to the same archive
	fixture docker-archive d-legacy.tar --repo-tag other:9 --seed 2 --append >/dev/null
	[[ $(tar xOf d-legacy.tar manifest.json | json '[e["RepoTags"] for e in d]') == '[["foo/bar:1", "foo/bar:2"], ["other:9"]]' ]]
	run skopeo inspect docker-archive:d-legacy.tar:other:9
	assert_success
	assert_output_contains '"org.regship.fixture.seed": "2"'
}

@test "relative-urls variant hands out relative upload Locations; default ones are absolute" {
	reg_start plain rel --relative-urls
	run curl -s -i -X POST "$rel_URL/v2/r/blobs/uploads/"
	assert_output_matches $'Location: /v2/r/blobs/uploads/'
	run curl -s -i -X POST "$plain_URL/v2/r/blobs/uploads/"
	assert_output_contains "Location: http://$plain_ADDR/v2/r/blobs/uploads/"
	reg_stop rel
}

@test "the registry log keeps method and URI of every request (reg_requests)" {
	reg_log_mark plain
	curl -s -o /dev/null -I "$plain_URL/v2/logged/repo/manifests/nope"
	curl -s -o /dev/null "$plain_URL/v2/logged/repo/tags/list"
	run reg_requests plain
	assert_output_equals $'HEAD /v2/logged/repo/manifests/nope 404\nGET /v2/logged/repo/tags/list 404'
}

@test "paginating proxy: pages of N sorted tags with Link headers, honouring n and last" {
	fixture seed "$plain_URL" paged --tag c --tag a --tag e --tag b --tag d >/dev/null
	proxy_start pager "$plain_URL" --paginate 2
	run curl -s -i "$pager_URL/v2/paged/tags/list"
	assert_output_contains 'Link: </v2/paged/tags/list?n=2&last=b>; rel="next"'
	[[ $(tail -n1 <<<"$output" | json 'd["tags"]') == '["a", "b"]' ]]
	run curl -s -i "$pager_URL/v2/paged/tags/list?n=2&last=b"
	assert_output_contains 'Link: </v2/paged/tags/list?n=2&last=d>; rel="next"'
	[[ $(tail -n1 <<<"$output" | json 'd["tags"]') == '["c", "d"]' ]]
	run curl -s -i "$pager_URL/v2/paged/tags/list?n=2&last=d"
	assert_output_not_contains "Link:"
	[[ $(tail -n1 <<<"$output" | json 'd') == '{"name": "paged", "tags": ["e"]}' ]]
	run curl -s -i "$pager_URL/v2/paged/tags/list?n=10"
	assert_output_not_contains "Link:"
	[[ $(tail -n1 <<<"$output" | json 'len(d["tags"])') == 5 ]]
	# errors and other requests pass through untouched
	run curl -s -o /dev/null -w '%{http_code}' "$pager_URL/v2/nope/tags/list"
	assert_output_equals 404
	run curl -s -I -H "Accept: $DOCKER_V2" "$pager_URL/v2/paged/manifests/a"
	assert_output_contains "Docker-Content-Digest: sha256:"
}

@test "paginating proxy passes auth challenges and credentials through" {
	fixture seed "$basic_URL" paged --tag x --tag y --tag z --user admin:adminpass >/dev/null
	proxy_start bpager "$basic_URL" --paginate 1
	run curl -s -i "$bpager_URL/v2/paged/tags/list"
	assert_output_contains "HTTP/1.1 401"
	assert_output_contains 'Www-Authenticate: Basic realm="basic-realm"'
	run curl -s -i -u admin:adminpass "$bpager_URL/v2/paged/tags/list?n=1&last=x"
	assert_output_contains 'Link: </v2/paged/tags/list?n=1&last=y>; rel="next"'
}

@test "redirect proxy sends blob/manifest GETs to the recorder, which records them and serves real bytes" {
	fixture seed "$basic_URL" redir/img --user admin:adminpass >/dev/null
	recorder_start rec "$basic_URL" --user admin:adminpass
	proxy_start redir "$basic_URL" --redirect-blobs-to "$rec_URL" --redirect-manifests-to "$rec_URL"
	manifest=$(curl -s -u admin:adminpass -H "Accept: $DOCKER_V2" "$basic_URL/v2/redir/img/manifests/latest")
	layer=$(json 'd["layers"][1]["digest"]' <<<"$manifest")
	# no credentials: the registry's 401 comes back, not a redirect
	run curl -s -o /dev/null -w '%{http_code}' "$redir_URL/v2/redir/img/blobs/$layer"
	assert_output_equals 401
	run curl -s -i -u admin:adminpass "$redir_URL/v2/redir/img/blobs/$layer"
	assert_output_contains "HTTP/1.1 307"
	assert_output_contains "Location: $rec_URL/v2/redir/img/blobs/$layer"
	# curl follows to another port (another origin) and drops the credentials on the way
	curl -s -L -u admin:adminpass "$redir_URL/v2/redir/img/blobs/$layer" -o "$BATS_TEST_TMPDIR/blob"
	[[ $(sha256_of "$BATS_TEST_TMPDIR/blob") == "$layer" ]]
	run curl -s -L -u admin:adminpass -H "Accept: $DOCKER_V2" "$redir_URL/v2/redir/img/manifests/latest"
	assert_output_equals "$manifest"
	[[ $(jsonl_count "$rec_RECORD" "d['method'] == 'GET' and d['path'] == '/v2/redir/img/blobs/$layer' and 'Authorization' not in d['headers']") == 1 ]]
	[[ $(jsonl_count "$rec_RECORD" "d['path'] == '/v2/redir/img/manifests/latest' and d['headers'].get('Accept') == '$DOCKER_V2'") == 1 ]]
	# a client that leaks credentials is caught
	curl -s -L --location-trusted -u admin:adminpass "$redir_URL/v2/redir/img/blobs/$layer" -o /dev/null
	[[ $(jsonl_count "$rec_RECORD" "'Authorization' in d['headers']") == 1 ]]
}

@test "same-origin redirect proxy: 307 to itself under another path; curl keeps Authorization" {
	fixture seed "$basic_URL" same/img --user admin:adminpass >/dev/null
	proxy_start same "$basic_URL" --redirect-same-origin --count "$BATS_FILE_TMPDIR/same.jsonl"
	manifest=$(curl -s -u admin:adminpass -H "Accept: $DOCKER_V2" "$basic_URL/v2/same/img/manifests/latest")
	layer=$(json 'd["layers"][0]["digest"]' <<<"$manifest")
	run curl -s -i -u admin:adminpass "$same_URL/v2/same/img/blobs/$layer"
	assert_output_contains "HTTP/1.1 307"
	assert_output_contains "Location: $same_URL/_same/v2/same/img/blobs/$layer"
	curl -s -f -L -u admin:adminpass "$same_URL/v2/same/img/blobs/$layer" -o "$BATS_TEST_TMPDIR/blob"
	[[ $(sha256_of "$BATS_TEST_TMPDIR/blob") == "$layer" ]]
	[[ $(jsonl_count "$BATS_FILE_TMPDIR/same.jsonl" "d['path'] == '/_same/v2/same/img/blobs/$layer' and d['auth'] and d['status'] == 200") == 1 ]]
	# without credentials on the second hop the registry refuses
	run curl -s -o /dev/null -w '%{http_code}' "$same_URL/_same/v2/same/img/blobs/$layer"
	assert_output_equals 401
}

@test "counting proxy logs request bytes; a second push uploads nothing; chunked bodies are forwarded" {
	count="$BATS_FILE_TMPDIR/count.jsonl"
	proxy_start cnt "$plain_URL" --count "$count"
	run fixture seed "$cnt_URL" counted/img --layers 2 --layer-size 64K
	assert_success
	uploaded=$("$HARNESS_PY" -c 'import json,sys
print(sum(d["req_bytes"] for d in map(json.loads, open(sys.argv[1])) if "/blobs/uploads/" in d["path"]))' "$count")
	[[ $uploaded -gt $((2 * 64 * 1024)) ]]
	: >"$count"
	run fixture seed "$cnt_URL" counted/img --layers 2 --layer-size 64K
	assert_success
	[[ $(jsonl_count "$count" '"/blobs/uploads/" in d["path"]') == 0 ]]
	[[ $(jsonl_count "$count" 'd["method"] == "HEAD" and d["status"] == 200') == 3 ]]
	[[ $(jsonl_count "$count" 'd["method"] == "PUT" and "/manifests/" in d["path"] and d["req_bytes"] > 0') == 1 ]]

	# chunked PATCH through the proxy, then PUT; Locations point back at the proxy
	head -c 200000 /dev/urandom >"$BATS_TEST_TMPDIR/blob"
	digest=$(sha256_of "$BATS_TEST_TMPDIR/blob")
	loc=$(curl -s -i -X POST "$cnt_URL/v2/counted/chunky/blobs/uploads/" | tr -d '\r' | sed -n 's/^Location: //p')
	[[ $loc == "$cnt_URL/"* ]]
	loc=$(curl -s -i -X PATCH -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/octet-stream' \
		--data-binary @"$BATS_TEST_TMPDIR/blob" "$loc" | tr -d '\r' | sed -n 's/^Location: //p')
	run curl -s -o /dev/null -w '%{http_code}' -X PUT "$loc&digest=$digest"
	assert_output_equals 201
	[[ $(jsonl_count "$count" 'd["method"] == "PATCH" and d["req_bytes"] == 200000 and d["status"] == 202') == 1 ]]
	curl -s "$cnt_URL/v2/counted/chunky/blobs/$digest" -o "$BATS_TEST_TMPDIR/back"
	cmp "$BATS_TEST_TMPDIR/blob" "$BATS_TEST_TMPDIR/back"
}

@test "flip-byte proxy corrupts blob bodies (same size, other digest) and nothing else" {
	run fixture seed "$plain_URL" flip/img
	manifest_digest=${output#* }
	proxy_start flipper "$plain_URL" --flip-byte-in-blobs
	manifest=$(curl -s -H "Accept: $DOCKER_V2" "$flipper_URL/v2/flip/img/manifests/latest")
	[[ $(printf '%s' "$manifest" | sha256sum | cut -d' ' -f1) == "${manifest_digest#sha256:}" ]]
	layer=$(json 'd["layers"][0]["digest"]' <<<"$manifest")
	size=$(json 'd["layers"][0]["size"]' <<<"$manifest")
	curl -s "$flipper_URL/v2/flip/img/blobs/$layer" -o "$BATS_TEST_TMPDIR/bad"
	[[ $(stat -c %s "$BATS_TEST_TMPDIR/bad") == "$size" ]]
	[[ $(sha256_of "$BATS_TEST_TMPDIR/bad") != "$layer" ]]
	curl -s "$plain_URL/v2/flip/img/blobs/$layer" -o "$BATS_TEST_TMPDIR/good"
	[[ $(cmp -l "$BATS_TEST_TMPDIR/good" "$BATS_TEST_TMPDIR/bad" | wc -l) == 1 ]]
}

@test "stop leaves no process behind and is idempotent" {
	reg_start token gone
	proxy_start goneproxy "$gone_URL"
	[[ $(pgrep -f "$gone_DIR/" | wc -l) -ge 4 ]]
	run harness stop --dir "$gone_DIR"
	assert_success
	run pgrep -f "$gone_DIR/"
	assert_failure
	run curl -s -o /dev/null "$gone_URL/v2/"
	assert_failure
	run harness stop --dir "$gone_DIR"
	assert_success
	harness stop --dir "$goneproxy_DIR"
	run pgrep -f "$goneproxy_DIR/"
	assert_failure
}

@test "watchdog: everything dies when the owner process disappears" {
	sleep 600 &
	owner=$!
	HARNESS_OWNER_PID=$owner reg_start token orphan
	HARNESS_OWNER_PID=$owner proxy_start orphanproxy "$orphan_URL"
	[[ $(pgrep -f "$orphan_DIR/" | wc -l) -ge 4 ]]
	kill "$owner"
	wait "$owner" || true
	wait_until 5 eval '! pgrep -f "$orphan_DIR/" >/dev/null && ! pgrep -f "$orphanproxy_DIR/" >/dev/null'
}

@test "a registry start that cannot work fails fast and names the problem" {
	mkdir -p "$BATS_TEST_TMPDIR/bad"
	run env REGSHIP_DOCKER_REGISTRY=/bin/false "$HARNESS_PY" "$HARNESS_DIR/harness.py" start \
		--variant plain --dir "$BATS_TEST_TMPDIR/bad" --owner-pid $$
	assert_failure
	assert_output_contains "registry start: the process exited"
	run pgrep -f "$BATS_TEST_TMPDIR/bad/"
	assert_failure
}
