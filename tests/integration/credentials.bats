#!/usr/bin/env bats
# Credentials from docker's config as regship meets them in the wild: an identitytoken (OAuth2
# refresh token), credHelpers and credsStore helpers (docker-credential-* programs), and login /
# logout going through a helper.

setup_file() {
	load helpers
	reg_start token tok
	reg_start htpasswd htp
	fixture seed "$tok_URL" team/app --tag v1 --user admin:adminpass >/dev/null
	fixture seed "$htp_URL" team/app --tag v1 --user admin:adminpass >/dev/null
}

teardown_file() {
	load helpers
	reg_stop_all
}

setup() {
	load helpers
	export REGSHIP_TEST_HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$REGSHIP_TEST_HOME/.docker" "$BATS_TEST_TMPDIR/bin"
	# a docker-credential helper that keeps its store in a file and logs what it was asked
	cat >"$BATS_TEST_TMPDIR/bin/docker-credential-fake" <<'SH'
#!/bin/sh
store="$FAKE_HELPER_DIR/store"
log="$FAKE_HELPER_DIR/log"
input=$(cat)
echo "$1" >>"$log"
case $1 in
get)
	line=$(grep -F "$input " "$store" 2>/dev/null | tail -n 1)
	[ -n "$line" ] || { echo "credentials not found in native keychain"; exit 1; }
	set -- $line
	printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\n' "$1" "$2" "$3" ;;
store)
	url=$(printf '%s' "$input" | sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p')
	user=$(printf '%s' "$input" | sed -n 's/.*"Username":"\([^"]*\)".*/\1/p')
	secret=$(printf '%s' "$input" | sed -n 's/.*"Secret":"\([^"]*\)".*/\1/p')
	echo "$url $user $secret" >>"$store" ;;
erase)
	grep -vF "$input " "$store" >"$store.new" 2>/dev/null; mv "$store.new" "$store" ;;
*) exit 1 ;;
esac
SH
	chmod +x "$BATS_TEST_TMPDIR/bin/docker-credential-fake"
	export FAKE_HELPER_DIR="$BATS_TEST_TMPDIR"
	export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
}

@test "an identitytoken in config.json is exchanged with an OAuth2 refresh_token POST" {
	run curl -s -X POST --data-urlencode grant_type=password --data-urlencode username=admin \
		--data-urlencode password=adminpass --data-urlencode access_type=offline \
		--data-urlencode "service=$tok_TOKEN_SERVICE" --data-urlencode client_id=test "$tok_TOKEN_URL"
	assert_success
	rt=$(json 'd["refresh_token"]' <<<"$output")
	[[ -n $rt ]]
	printf '{"auths": {"%s": {"identitytoken": "%s"}}}\n' "$tok_ADDR" "$rt" >"$REGSHIP_TEST_HOME/.docker/config.json"
	before=$(jsonl_count "$tok_TOKEN_LOG" 'd.get("grant_type") == "refresh_token" and d["status"] == 200')
	run regship tags "$tok_ADDR/team/app"
	assert_success
	assert_output_equals v1
	after=$(jsonl_count "$tok_TOKEN_LOG" 'd.get("grant_type") == "refresh_token" and d["status"] == 200')
	[[ $after -gt $before ]] || fail "no refresh_token grant reached the token server"
	# the refresh token never shows in a trace
	run regship -v tags "$tok_ADDR/team/app"
	assert_success
	assert_output_not_contains "$rt"
}

@test "credHelpers: the registry's helper supplies the credentials" {
	echo "$htp_ADDR admin adminpass" >"$BATS_TEST_TMPDIR/store"
	printf '{"credHelpers": {"%s": "fake"}}\n' "$htp_ADDR" >"$REGSHIP_TEST_HOME/.docker/config.json"
	run regship tags "$htp_ADDR/team/app"
	assert_success
	assert_output_equals v1
	grep -qx get "$BATS_TEST_TMPDIR/log"
	# a helper that knows nothing: anonymous, and the registry says no (exit 4)
	: >"$BATS_TEST_TMPDIR/store"
	run regship tags "$htp_ADDR/team/app"
	assert_failure 4
	assert_output_contains "regship login"
}

@test "credsStore: login stores through the helper, not in config.json; logout erases there" {
	printf '{"credsStore": "fake"}\n' >"$REGSHIP_TEST_HOME/.docker/config.json"
	run regship login -u admin --password-stdin "$htp_ADDR" <<<"adminpass"
	assert_success
	assert_output_contains "Login Succeeded"
	grep -qF "$htp_ADDR admin adminpass" "$BATS_TEST_TMPDIR/store"
	assert_file_not_contains "$REGSHIP_TEST_HOME/.docker/config.json" adminpass
	assert_file_not_contains "$REGSHIP_TEST_HOME/.docker/config.json" "$(printf admin:adminpass | base64)"
	run regship tags "$htp_ADDR/team/app"
	assert_success
	assert_output_equals v1
	run regship logout "$htp_ADDR"
	assert_success
	grep -qx erase "$BATS_TEST_TMPDIR/log"
	assert_file_not_contains "$BATS_TEST_TMPDIR/store" "$htp_ADDR "
	run regship tags "$htp_ADDR/team/app"
	assert_failure 4
}

@test "a configured helper that is not installed: anonymous access still works where allowed" {
	printf '{"credsStore": "missing-helper"}\n' >"$REGSHIP_TEST_HOME/.docker/config.json"
	fixture seed "$tok_URL" public/app --tag v1 --user admin:adminpass >/dev/null
	run regship tags "$tok_ADDR/public/app"
	assert_success
	assert_output_equals v1
}

@test "login on a terminal: an empty answer at the password prompt is exit 2 saying so, nothing stored" {
	local home=$BATS_TEST_TMPDIR/ptyhome
	mkdir -p "$home/.docker"
	run env HOME="$home" DOCKER_CONFIG="$home/.docker" XDG_CACHE_HOME="$home/.cache" \
		"$HARNESS_PY" "$HARNESS_DIR/ptyrun.py" --answer "Password: " "" -- \
		"$REGSHIP" login -u admin "$htp_ADDR"
	assert_status 2
	assert_output_contains "no password: none was typed at the prompt"
	assert_output_not_contains "not a terminal"
	assert_file_not_exists "$home/.docker/config.json"
}
