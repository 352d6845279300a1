/*
 * docker-credential-* helpers (docker/docker-credential-helpers client protocol):
 *
 *   docker-credential-<name> get    stdin: server URL   stdout: {"ServerURL","Username","Secret"}
 *   docker-credential-<name> store  stdin: {"ServerURL","Username","Secret"}
 *   docker-credential-<name> erase  stdin: server URL
 *
 * On failure a helper exits non-zero with its message on stdout; "credentials not found in
 * native keychain" means there is nothing stored (RS_ENOTFOUND). The program is looked up on
 * PATH as execvp would and run directly (posix_spawn, never a shell); its stderr goes to
 * /dev/null.
 */
#ifndef RS_AUTH_CREDHELPER_H
#define RS_AUTH_CREDHELPER_H

#include "util/util.h"

/* Credentials for one registry. Any field may be NULL. */
typedef struct rs__credential {
	char *username;
	char *password;
	char *identity_token; /* OAuth2 refresh token (config "identitytoken", helper "<token>") */
	char *registry_token; /* bearer token to send as is ("registrytoken") */
} rs__credential;

#define RS__CREDENTIAL_INIT                                                                        \
	{                                                                                          \
		NULL, NULL, NULL, NULL                                                             \
	}

/* Free (secrets zeroed first) and reset to RS__CREDENTIAL_INIT. NULL-safe. */
void rs__credential_dispose(rs__credential *c);

#define RS__CREDHELPER_OUTPUT_MAX (64 * 1024) /* bytes read from a helper's stdout */
#define RS__CREDHELPER_TIMEOUT_MS (60 * 1000)

/*
 * Bounds for the helpers this thread runs from now on: each must answer and exit within
 * timeout_ms (0: RS__CREDHELPER_TIMEOUT_MS), and not past deadline (rs__http_now() clock; 0:
 * none), which is the end of an overall bound of deadline_total_ms (for the message). A helper
 * that overruns is killed; the run fails with RS_ETIMEOUT ("docker-credential-x did not
 * answer within 60s").
 */
void rs__credhelper_limits(long timeout_ms, double deadline, long deadline_total_ms);

/*
 * Run "docker-credential-<helper> <action>" with input on its stdin and collect its stdout
 * into out (at most RS__CREDHELPER_OUTPUT_MAX bytes). *exit_status is the exit code.
 * Returns 0 when the program ran to completion whatever its exit code; RS_EUNSUPPORTED when
 * it is not on PATH; RS_EINVAL for a helper name holding '/'; RS_ETOOBIG when it prints too
 * much; RS_ETIMEOUT when it overruns its time; RS_EIO on other failures. out may hold secrets:
 * dispose it with rs__buf_dispose_secret.
 */
int rs__credhelper_run(rs_buf *out, int *exit_status, const char *helper, const char *action,
                       const char *input, size_t input_len);

/* Ask a helper for the credentials of server_url. RS_ENOTFOUND when it has none. */
int rs__credhelper_get(rs__credential *out, const char *helper, const char *server_url);

/* Store user/secret for server_url. user "<token>" marks secret as an identity token. */
int rs__credhelper_store(const char *helper, const char *server_url, const char *user,
                         const char *secret);

/* Forget server_url. RS_ENOTFOUND when the helper had nothing stored. */
int rs__credhelper_erase(const char *helper, const char *server_url);

#endif
