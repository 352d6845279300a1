#!/usr/bin/env bats
# Proxies from the environment (http_proxy, https_proxy, all_proxy, no_proxy, as curl and
# docker read them) against a recording forward proxy on loopback (tests/harness/slowserver.py
# --mode proxy): loopback registries never go through a proxy, other names do, a proxy that
# fails is named in the error, and traces never show Proxy-Authorization, cookies, tokens in
# URLs or the proxy's password.

setup_file() {
	load helpers
	reg_start plain plain
	reg_start tls tls
	fixture seed "$plain_URL" team/app --tag v1 >/dev/null
	fixture seed "$tls_URL" team/app --tag v2 --ca "$tls_CA" >/dev/null
	# CONNECT goes to the TLS registry (its certificate names registry.local); plain
	# absolute-URI requests to the plain one; bob:s3cret or 407
	server_start slowserver px --mode proxy --record "$BATS_FILE_TMPDIR/px.jsonl" --upstream "$plain_URL" \
		--tunnel-to "$tls_ADDR" --proxy-user bob:s3cret
	# leaky/... answers with secrets in its headers; CONNECT is never answered
	server_start slowserver slow --mode by-path
}

teardown_file() {
	load helpers
	reg_stop_all
}

setup() {
	load helpers
	: >"$BATS_FILE_TMPDIR/px.jsonl"
}

# with_env VAR=VALUE... -- ARGS...: regship (helpers.bash's isolated environment, which drops
# every proxy variable) with these variables set again, under timeout(1)
with_env() {
	local vars=()
	while [[ $1 != -- ]]; do
		vars+=("$1")
		shift
	done
	shift
	{
		echo '#!/bin/sh'
		printf 'exec env'
		printf " '%s'" "${vars[@]}"
		printf ' timeout -k 1 30 "%s" "$@"\n' "$REGSHIP"
	} >"$BATS_TEST_TMPDIR/with-env"
	chmod +x "$BATS_TEST_TMPDIR/with-env"
	REGSHIP="$BATS_TEST_TMPDIR/with-env" run regship "$@"
}

proxied_requests() {
	wc -l <"$BATS_FILE_TMPDIR/px.jsonl"
}

all_proxies() {
	local p="http://bob:s3cret@$px_ADDR"
	echo "http_proxy=$p" "https_proxy=$p" "HTTP_PROXY=$p" "HTTPS_PROXY=$p" "all_proxy=$p" "ALL_PROXY=$p"
}

@test "a loopback registry is never sent through a proxy, whatever the environment says" {
	# shellcheck disable=SC2046
	with_env $(all_proxies) -- tags "$plain_ADDR/team/app"
	assert_success
	assert_output_equals v1
	# shellcheck disable=SC2046
	with_env $(all_proxies) -- tags "localhost:$plain_PORT/team/app"
	assert_success
	assert_output_equals v1
	# shellcheck disable=SC2046
	with_env $(all_proxies) -- --ca-cert "$tls_CA" tags "$tls_ADDR/team/app"
	assert_success
	assert_output_equals v2
	[[ $(proxied_requests) -eq 0 ]] || fail "the proxy saw requests" "$(cat "$BATS_FILE_TMPDIR/px.jsonl")"
}

@test "a registry by name goes through https_proxy (CONNECT, with the proxy's credentials)" {
	with_env "https_proxy=http://bob:s3cret@$px_ADDR" -- --ca-cert "$tls_CA" tags "registry.local:$tls_PORT/team/app"
	assert_success
	assert_output_equals v2
	run /usr/bin/python3 -c '
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert reqs, "no request reached the proxy"
for r in reqs:
    assert r["method"] == "CONNECT" and r["target"] == sys.argv[2], r
    assert r["headers"].get("Proxy-Authorization") == "Basic Ym9iOnMzY3JldA==", r
' "$BATS_FILE_TMPDIR/px.jsonl" "registry.local:$tls_PORT"
	assert_success
	# HTTPS_PROXY and ALL_PROXY work the same way
	: >"$BATS_FILE_TMPDIR/px.jsonl"
	with_env "ALL_PROXY=http://bob:s3cret@$px_ADDR" -- --ca-cert "$tls_CA" tags "registry.local:$tls_PORT/team/app"
	assert_success
	[[ $(proxied_requests) -gt 0 ]] || fail "ALL_PROXY was not used"
}

@test "no_proxy / NO_PROXY keep a registry away from the proxy" {
	for np in .local "*" "127.0.0.1, registry.local"; do
		for var in no_proxy NO_PROXY; do
			: >"$BATS_FILE_TMPDIR/px.jsonl"
			with_env "https_proxy=http://bob:s3cret@$px_ADDR" "$var=$np" -- --retries 0 --ca-cert "$tls_CA" tags "registry.local:$tls_PORT/team/app"
			[[ $(proxied_requests) -eq 0 ]] || fail "$var=$np: the proxy was used"
			assert_output_not_contains "proxy"
		done
	done
}

@test "a proxy that fails is named in the error, without its password" {
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	with_env "https_proxy=http://bob:s3cret@127.0.0.1:$port" -- --ca-cert "$tls_CA" tags "registry.local:$tls_PORT/team/app"
	assert_failure 1
	assert_output_contains "cannot connect to registry.local:$tls_PORT: proxy http://127.0.0.1:$port: Connection refused"
	assert_output_not_contains "s3cret"
	assert_output_not_contains "retrying"
	# the proxy says 407 to a wrong password
	with_env "https_proxy=http://bob:wrong@$px_ADDR" -- --ca-cert "$tls_CA" tags "registry.local:$tls_PORT/team/app"
	assert_failure 1
	assert_output_contains "cannot connect to registry.local:$tls_PORT through proxy http://$px_ADDR: the proxy answered CONNECT with 407 (proxy authentication required)"
	assert_output_not_contains "wrong"
	# a proxy whose name does not resolve
	with_env "https_proxy=http://bob:s3cret@proxy.invalid:3128" -- --ca-cert "$tls_CA" tags "registry.local:$tls_PORT/team/app"
	assert_failure 1
	assert_output_contains "cannot connect to registry.local:$tls_PORT through proxy http://proxy.invalid:3128: cannot resolve the proxy's host"
	assert_output_not_contains "s3cret"
	# a proxy that accepts and never answers the CONNECT: the connection bound
	with_env "https_proxy=http://bob:s3cret@$slow_ADDR" REGSHIP_CONNECT_TIMEOUT=1s -- --retries 0 tags "registry.local:$tls_PORT/team/app"
	assert_failure 1
	assert_output_contains "cannot connect to registry.local:$tls_PORT through proxy http://$slow_ADDR: timed out after 1s"
	assert_output_not_contains "s3cret"
}

@test "-v never prints Proxy-Authorization or the proxy's password" {
	with_env "https_proxy=http://bob:s3cret@$px_ADDR" -- -v --ca-cert "$tls_CA" tags "registry.local:$tls_PORT/team/app"
	assert_success
	assert_output_contains "Proxy-Authorization: [redacted]"
	assert_output_not_contains "Ym9iOnMzY3JldA=="
	assert_output_not_contains "s3cret"
}

@test "-v redacts cookies, token headers, signed-URL parameters and access_token in URLs" {
	run regship -v tags "$slow_ADDR/leaky/x"
	assert_success
	[[ $(grep -v '^[<>*] ' <<<"$output") == $'one\ntwo' ]] || fail "tags not listed" "$output"
	assert_output_contains "< Set-Cookie: [redacted]"
	assert_output_contains "< X-Auth-Token: [redacted]"
	assert_output_contains "X-Amz-Signature=[redacted]"
	assert_output_contains "access_token=[redacted]"
	assert_output_not_contains "SECRET-"
}
