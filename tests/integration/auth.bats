#!/usr/bin/env bats
# Authentication: htpasswd (Basic) and token (Bearer) registries, -u/--password-stdin, login and
# logout (docker's config.json), permission errors; login/logout on plain and TLS registries.

bats_require_minimum_version 1.5.0

setup_file() {
	load helpers
	reg_start htpasswd basic
	reg_start token tok
	reg_start plain plain
	reg_start tls tls
	fixture seed "$basic_URL" auth/img --tag v1 --tag v2 --seed basic \
		--user "$basic_USER:$basic_PASS" >"$BATS_FILE_TMPDIR/basic.fixture"
	{
		fixture seed "$tok_URL" public/img --tag v1 --tag v2 --seed tok-public \
			--user "$tok_USER:$tok_PASS"
		fixture seed "$tok_URL" private/img --tag v1 --seed tok-private --user "$tok_USER:$tok_PASS"
	} >"$BATS_FILE_TMPDIR/tok.fixture"
	fixture seed "$plain_URL" plain/img --tag v1 --seed plain >"$BATS_FILE_TMPDIR/plain.fixture"
	fixture seed "$tls_URL" tls/img --tag v1 --seed tls --ca "$tls_CA" >"$BATS_FILE_TMPDIR/tls.fixture"
}

teardown_file() {
	reg_stop_all
}

setup() {
	load helpers
	# every test starts logged out, with its own docker config
	export REGSHIP_TEST_HOME="$BATS_TEST_TMPDIR/home"
	CONFIG="$REGSHIP_TEST_HOME/.docker/config.json"
}

# auth_entry ADDR: the "auth" value stored for ADDR in docker's config.json ("" if none)
auth_entry() {
	"$HARNESS_PY" -c 'import json, sys
print(json.load(open(sys.argv[1])).get("auths", {}).get(sys.argv[2], {}).get("auth", ""))' "$CONFIG" "$1"
}

b64() {
	printf '%s' "$1" | base64 -w0
}

# --- htpasswd -----------------------------------------------------------------------------------

@test "htpasswd: no credentials is exit 4 and the message says to run regship login" {
	local cmd
	for cmd in "tags $basic_ADDR/auth/img" "manifest $basic_ADDR/auth/img:v1" \
		"digest $basic_ADDR/auth/img:v1" "catalog $basic_ADDR" "rm $basic_ADDR/auth/img:v1"; do
		echo "# $cmd"
		# shellcheck disable=SC2086
		run --separate-stderr regship $cmd
		assert_status 4
		assert_equal "$output" "" "stdout"
		[[ $stderr == *"regship login $basic_ADDR"* ]] ||
			fail "expected the message to name 'regship login $basic_ADDR': $stderr"
	done
	run regship tags "$basic_ADDR/auth/img"
	assert_output_contains "authentication required"
}

@test "htpasswd: a wrong password or an unknown user is exit 4 naming the user" {
	run regship tags -u admin --password-stdin "$basic_ADDR/auth/img" <<<"wrong"
	assert_status 4
	assert_output_contains "wrong username or password for admin"
	run regship -u nobody --password-stdin digest "$basic_ADDR/auth/img:v1" <<<"x"
	assert_status 4
	assert_output_contains "nobody"
}

@test "htpasswd: -u USER --password-stdin works before and after the command, for every verb" {
	run --separate-stderr regship -u "$basic_USER" --password-stdin tags "$basic_ADDR/auth/img" <<<"$basic_PASS"
	assert_success
	assert_equal "$(sort <<<"$output")" $'v1\nv2'
	run regship tags "$basic_ADDR/auth/img" --username "$basic_USER" --password-stdin <<<"$basic_PASS"
	assert_success
	assert_equal "$(sort <<<"$output")" $'v1\nv2'
	run regship digest "$basic_ADDR/auth/img:v1" -u "$basic_READER_USER" --password-stdin <<<"$basic_READER_PASS"
	assert_success
	assert_output_equals "$(fixture_digest basic auth/img:v1)"
	regship manifest -u "$basic_USER" --password-stdin "$basic_ADDR/auth/img:v1" <<<"$basic_PASS" >"$BATS_TEST_TMPDIR/m"
	assert_equal "$(sha256_of "$BATS_TEST_TMPDIR/m")" "$(fixture_digest basic auth/img:v1)"
	run regship catalog -u "$basic_USER" --password-stdin "$basic_ADDR" <<<"$basic_PASS"
	assert_success
	assert_output_equals auth/img
	# a password line ending in CRLF (a file written on Windows) still works
	run regship tags -u "$basic_USER" --password-stdin "$basic_ADDR/auth/img" < <(printf '%s\r\n' "$basic_PASS")
	assert_success
	# nothing was stored
	assert_file_not_contains "$CONFIG" "$basic_ADDR"
}

@test "htpasswd: login stores the credentials (mode 0600), later commands use them, logout removes them" {
	# another registry's entry and unknown keys must survive
	mkdir -p "$(dirname "$CONFIG")"
	cat >"$CONFIG" <<-EOF
		{"auths": {"other.example:5000": {"auth": "$(b64 someone:secret)"}}, "psFormat": "table {{.ID}}"}
	EOF
	chmod 644 "$CONFIG"

	run --separate-stderr regship login -u "$basic_USER" --password-stdin "$basic_ADDR" <<<"$basic_PASS"
	assert_success
	assert_output_equals "Login Succeeded"
	assert_file_mode "$CONFIG" 600
	assert_equal "$(auth_entry "$basic_ADDR")" "$(b64 "$basic_USER:$basic_PASS")"
	assert_equal "$(auth_entry other.example:5000)" "$(b64 someone:secret)"
	assert_equal "$(json 'd["psFormat"]' <"$CONFIG")" "table {{.ID}}"

	# the stored credentials are used: anonymous access would be exit 4
	run regship tags "$basic_ADDR/auth/img"
	assert_success
	assert_equal "$(sort <<<"$output")" $'v1\nv2'
	run regship digest "$basic_ADDR/auth/img:v2"
	assert_output_equals "$(fixture_digest basic auth/img:v2)"
	run regship catalog "$basic_ADDR"
	assert_output_equals auth/img

	run regship logout "$basic_ADDR"
	assert_success
	assert_output_contains "$basic_ADDR"
	assert_equal "$(auth_entry "$basic_ADDR")" ""
	assert_equal "$(auth_entry other.example:5000)" "$(b64 someone:secret)"
	assert_equal "$(json 'd["psFormat"]' <"$CONFIG")" "table {{.ID}}"
	assert_file_mode "$CONFIG" 600
	run regship tags "$basic_ADDR/auth/img"
	assert_status 4
	# logging out twice is not an error, and says so
	run regship logout "$basic_ADDR"
	assert_success
	assert_output_contains "not logged in"
}

@test "login writes \$HOME/.docker/config.json without DOCKER_CONFIG, \$DOCKER_CONFIG/config.json with it" {
	local h="$BATS_TEST_TMPDIR/bare"
	mkdir -p "$h"
	run env -i PATH="$PATH" HOME="$h" "$REGSHIP" login -u "$basic_USER" --password-stdin "$basic_ADDR" <<<"$basic_PASS"
	assert_success
	assert_file_mode "$h/.docker/config.json" 600
	CONFIG="$h/.docker/config.json"
	assert_equal "$(auth_entry "$basic_ADDR")" "$(b64 "$basic_USER:$basic_PASS")"
	run env -i PATH="$PATH" HOME="$h" "$REGSHIP" tags "$basic_ADDR/auth/img"
	assert_success
	assert_equal "$(sort <<<"$output")" $'v1\nv2'
	# DOCKER_CONFIG wins over HOME, both ways
	run env -i PATH="$PATH" HOME="$h" DOCKER_CONFIG="$h/alt" "$REGSHIP" tags "$basic_ADDR/auth/img"
	assert_status 4
	run env -i PATH="$PATH" HOME="$h" DOCKER_CONFIG="$h/alt" "$REGSHIP" login -u "$basic_READER_USER" \
		--password-stdin "$basic_ADDR" <<<"$basic_READER_PASS"
	assert_success
	assert_file_mode "$h/alt/config.json" 600
	CONFIG="$h/alt/config.json"
	assert_equal "$(auth_entry "$basic_ADDR")" "$(b64 "$basic_READER_USER:$basic_READER_PASS")"
	CONFIG="$h/.docker/config.json"
	assert_equal "$(auth_entry "$basic_ADDR")" "$(b64 "$basic_USER:$basic_PASS")"
}

@test "htpasswd: login with a wrong password is exit 4 and stores nothing" {
	run regship login -u "$basic_USER" --password-stdin "$basic_ADDR" <<<"nope"
	assert_status 4
	assert_output_contains "wrong username or password"
	assert_output_not_contains "Login Succeeded"
	[[ ! -e $CONFIG ]] || assert_file_not_contains "$CONFIG" "$basic_ADDR"
	# login needs a user and a password
	run regship login --password-stdin "$basic_ADDR" <<<"$basic_PASS"
	assert_status 2
	assert_output_contains "username"
	run regship login -u "$basic_USER" --password-stdin "$basic_ADDR" </dev/null
	assert_status 2
	assert_output_contains "password"
	[[ ! -e $CONFIG ]] || assert_file_not_contains "$CONFIG" "$basic_ADDR"
}

@test "credentials in config.json written by docker (auths.<host>.auth) are used" {
	mkdir -p "$(dirname "$CONFIG")"
	printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$basic_ADDR" "$(b64 "$basic_READER_USER:$basic_READER_PASS")" >"$CONFIG"
	chmod 600 "$CONFIG"
	run regship digest "$basic_ADDR/auth/img:v1"
	assert_success
	assert_output_equals "$(fixture_digest basic auth/img:v1)"
	# a stored wrong password is an authentication failure, not a retry without credentials
	printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$basic_ADDR" "$(b64 "$basic_USER:wrong")" >"$CONFIG"
	run regship digest "$basic_ADDR/auth/img:v1"
	assert_status 4
	assert_output_contains "wrong username or password for $basic_USER"
	# -u overrides what is stored
	run regship digest -u "$basic_USER" --password-stdin "$basic_ADDR/auth/img:v1" <<<"$basic_PASS"
	assert_success
}

# --- token --------------------------------------------------------------------------------------

@test "token: anonymous pull of public/ works for tags, manifest and digest" {
	local mark
	mark=$(wc -l <"$tok_TOKEN_LOG")
	run --separate-stderr regship tags "$tok_ADDR/public/img"
	assert_success
	assert_equal "$(sort <<<"$output")" $'v1\nv2'
	regship manifest "$tok_ADDR/public/img:v1" >"$BATS_TEST_TMPDIR/m"
	assert_equal "$(sha256_of "$BATS_TEST_TMPDIR/m")" "$(fixture_digest tok public/img:v1)"
	run regship digest "$tok_ADDR/public/img:v2"
	assert_success
	assert_output_equals "$(fixture_digest tok public/img:v2)"
	# the token server saw anonymous requests only
	tail -n +"$((mark + 1))" "$tok_TOKEN_LOG" >"$BATS_TEST_TMPDIR/token.log"
	[[ $(jsonl_count "$BATS_TEST_TMPDIR/token.log" 'd["user"] is None and d["scopes"] == ["repository:public/img:pull"] and d["status"] == 200') -ge 1 ]]
	[[ $(jsonl_count "$BATS_TEST_TMPDIR/token.log" 'd["authorization"]') -eq 0 ]]
}

@test "token: anonymous access to a private repository and to the catalog is exit 4" {
	run --separate-stderr regship tags "$tok_ADDR/private/img"
	assert_status 4
	[[ $stderr == *"permission denied"* && $stderr == *"private/img"* ]] ||
		fail "expected a permission-denied message naming private/img: $stderr"
	run --separate-stderr regship manifest "$tok_ADDR/private/img:v1"
	assert_status 4
	assert_equal "$output" ""
	run regship catalog "$tok_ADDR"
	assert_status 4
	assert_output_contains "permission denied"
}

@test "token: the pull-only user reader may read but is refused rm (exit 4, permission denied)" {
	run regship tags -u "$tok_READER_USER" --password-stdin "$tok_ADDR/private/img" <<<"$tok_READER_PASS"
	assert_success
	assert_output_equals v1
	reg_log_mark tok
	run --separate-stderr regship rm --force -u "$tok_READER_USER" --password-stdin "$tok_ADDR/public/img:v1" <<<"$tok_READER_PASS"
	assert_status 4
	assert_equal "$output" "" "stdout of a refused rm"
	[[ $stderr == *"permission denied"* ]] || fail "expected 'permission denied': $stderr"
	[[ $stderr == *"$tok_READER_USER"* && $stderr == *"delete"* && $stderr == *"public/img"* ]] ||
		fail "the message should name the user, the action and the repository: $stderr"
	# nothing was deleted
	run regship tags "$tok_ADDR/public/img"
	assert_equal "$(sort <<<"$output")" $'v1\nv2'
	# reader asked for delete, and the registry refused the DELETE it then sent
	[[ $(jsonl_count "$tok_TOKEN_LOG" 'd["user"] == "reader" and any("delete" in s.rsplit(":", 1)[1].split(",") for s in d["scopes"])') -ge 1 ]]
	run reg_requests tok
	assert_output_matches "DELETE /v2/public/img/manifests/$(fixture_digest tok public/img:v1) 401"
	assert_output_not_contains " 202"
}

@test "token: catalog needs admin; reader is refused with a message naming the catalog scope" {
	run --separate-stderr regship catalog -u "$tok_READER_USER" --password-stdin "$tok_ADDR" <<<"$tok_READER_PASS"
	assert_status 4
	[[ $stderr == *"permission denied"* && $stderr == *"registry:catalog:*"* ]] ||
		fail "expected permission denied for registry:catalog:*: $stderr"
	# reader may pull: a message claiming otherwise would be wrong
	[[ $stderr != *"may not pull"* ]] || fail "the catalog is not a pull: $stderr"
	run --separate-stderr regship catalog -u "$tok_USER" --password-stdin "$tok_ADDR" <<<"$tok_PASS"
	assert_success
	assert_equal "$output" $'private/img\npublic/img'
}

@test "token: a wrong password is exit 4; admin can rm" {
	run regship tags -u "$tok_USER" --password-stdin "$tok_ADDR/private/img" <<<"wrong"
	assert_status 4
	assert_output_contains "$tok_USER"
	run --separate-stderr regship rm --force -u "$tok_USER" --password-stdin "$tok_ADDR/public/img:v2" <<<"$tok_PASS"
	assert_success
	assert_output_contains "deleted $tok_ADDR/public/img@$(fixture_digest tok public/img:v2)"
	run regship tags "$tok_ADDR/public/img"
	assert_success
	assert_output_equals ""
	run regship digest "$tok_ADDR/public/img:v1"
	assert_status 3
}

@test "token: login checks the credentials with the token server, stores them, logout removes them" {
	run regship login -u "$tok_USER" --password-stdin "$tok_ADDR" <<<"wrong"
	assert_status 4
	[[ ! -e $CONFIG ]] || assert_file_not_contains "$CONFIG" "$tok_ADDR"
	run regship login -u "$tok_USER" --password-stdin "$tok_ADDR" <<<"$tok_PASS"
	assert_success
	assert_output_equals "Login Succeeded"
	assert_file_mode "$CONFIG" 600
	assert_equal "$(auth_entry "$tok_ADDR")" "$(b64 "$tok_USER:$tok_PASS")"
	# the stored admin credentials open the private repository and the catalog
	run regship tags "$tok_ADDR/private/img"
	assert_success
	assert_output_equals v1
	run regship catalog "$tok_ADDR"
	assert_success
	assert_output_contains private/img
	run regship logout "$tok_ADDR"
	assert_success
	assert_equal "$(auth_entry "$tok_ADDR")" ""
	run regship tags "$tok_ADDR/private/img"
	assert_status 4
}

# --- plain and TLS registries -------------------------------------------------------------------

@test "plain: login stores credentials, logout removes them; reads keep working" {
	run regship login -u someone --password-stdin "$plain_ADDR" <<<"pw"
	assert_success
	assert_file_mode "$CONFIG" 600
	assert_equal "$(auth_entry "$plain_ADDR")" "$(b64 someone:pw)"
	run regship digest "$plain_ADDR/plain/img:v1"
	assert_success
	assert_output_equals "$(fixture_digest plain plain/img:v1)"
	run regship logout "$plain_ADDR"
	assert_success
	assert_equal "$(auth_entry "$plain_ADDR")" ""
}

@test "tls: login needs the CA (exit 1 naming --ca-cert without it); with it, login and logout work" {
	run regship login -u someone --password-stdin "$tls_ADDR" <<<"pw"
	assert_status 1
	assert_output_contains "--ca-cert"
	[[ ! -e $CONFIG ]] || assert_file_not_contains "$CONFIG" "$tls_ADDR"
	run regship login --ca-cert "$tls_CA" -u someone --password-stdin "$tls_ADDR" <<<"pw"
	assert_success
	assert_equal "$(auth_entry "$tls_ADDR")" "$(b64 someone:pw)"
	run regship tags "$tls_ADDR/tls/img" --ca-cert "$tls_CA"
	assert_success
	assert_output_equals v1
	run regship logout "$tls_ADDR"
	assert_success
	assert_equal "$(auth_entry "$tls_ADDR")" ""
}
