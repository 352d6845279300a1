/*
 * docker config.json: the input is written to a private config.json and looked up for a few
 * registries (rs__cred_lookup), then stored to and erased from (rs__cred_store/rs__cred_erase).
 * PATH points at an empty directory (rs_fuzz_tmpdir), so a configured credential helper is
 * never found, let alone run. Properties: error messages never hold a secret of the file;
 * a stored login is found again; an erased one is gone.
 */
#include "fuzz.h"

#include "auth/dockercfg.h"
#include "util/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const dockercfg_domains[] = {"docker.io", "registry.local:5000",
                                                "localhost:5000", "gcr.io", "[::1]:5000"};

typedef struct {
	rs_strlist secrets; /* values that must never appear in a message */
	rs_strlist shown; /* text a message may legitimately quote: keys, other values */
} dockercfg_text;

static bool dockercfg_secret_field(const char *name)
{
	return !strcmp(name, "auth") || !strcmp(name, "password") ||
	       !strcmp(name, "identitytoken") || !strcmp(name, "registrytoken");
}

static void dockercfg_collect(dockercfg_text *t, json_t *v, const char *field, int depth)
{
	const char *key;
	json_t *item;
	size_t i;
	if (depth > 8)
		return;
	if (json_is_object(v)) {
		json_object_foreach(v, key, item)
		{
			rs__strlist_push(&t->shown, key);
			dockercfg_collect(t, item, key, depth + 1);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item) dockercfg_collect(t, item, NULL, depth + 1);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (field && dockercfg_secret_field(field)) {
			rs__strlist_push(&t->secrets, s);
			if (!strcmp(field, "auth")) {
				rs_buf raw = RS_BUF_INIT;
				if (rs__base64_decode(&raw, s) == 0 && raw.ptr) {
					const char *colon = memchr(raw.ptr, ':', raw.size);
					if (colon)
						rs__strlist_push(&t->secrets, colon + 1);
				}
				rs__buf_dispose_secret(&raw);
			}
		} else {
			rs__strlist_push(&t->shown, s);
		}
	}
}

/* Abort when the last error message quotes a secret (one that no public text contains). */
static void dockercfg_check_message(const dockercfg_text *t, const char *path)
{
	const rs_error *e = rs_error_last();
	if (!e)
		return;
	for (size_t i = 0; i < t->secrets.count; i++) {
		const char *s = t->secrets.items[i];
		bool public = strlen(s) < 8 || strstr(path, s) ||
		              strstr("https://index.docker.io/v1/", s);
		for (size_t k = 0;
		     !public && k < sizeof(dockercfg_domains) / sizeof(*dockercfg_domains); k++)
		public = strstr(dockercfg_domains[k], s) != NULL;
		for (size_t k = 0; !public && k < t->shown.count; k++)
		public = strstr(t->shown.items[k], s) != NULL;
		if (public)
			continue;
		if (strstr(e->message, s)) {
			fprintf(stderr, "secret \"%s\" in message: %s\n", s, e->message);
			rs_fuzz_assert(false, "error messages never hold a secret");
		}
	}
}

int rs_fuzz_dockercfg(const uint8_t *data, size_t size)
{
	dockercfg_text t = {RS_STRLIST_INIT, RS_STRLIST_INIT};
	rs__credential cred = RS__CREDENTIAL_INIT;
	rs_buf path = RS_BUF_INIT;
	json_t *root;
	int error;

	rs__buf_printf(&path, "%s/config.json", rs_fuzz_tmpdir());
	rs_fuzz_write_file(path.ptr, data, size);
	if ((root = json_loadb((const char *)data, size, 0, NULL))) {
		dockercfg_collect(&t, root, NULL, 0);
		json_decref(root);
	}

	for (size_t i = 0; i < sizeof(dockercfg_domains) / sizeof(*dockercfg_domains); i++) {
		error = rs__cred_lookup(&cred, path.ptr, dockercfg_domains[i]);
		if (error == 0)
			rs_fuzz_assert(cred.password || cred.identity_token || cred.registry_token,
			               "found credentials hold a secret");
		else
			rs_fuzz_assert(!cred.username && !cred.password && !cred.identity_token &&
			                       !cred.registry_token,
			               "a failed lookup gives nothing");
		if (error < 0)
			dockercfg_check_message(&t, path.ptr);
		rs__credential_dispose(&cred);
	}

	/* store then look up, erase then look up (the file is the fuzzer's own copy) */
	error = rs__cred_store(path.ptr, "registry.local:5000", "fuzz-user", "fuzz-secret-1");
	if (error == 0) {
		rs_fuzz_assert(rs__cred_lookup(&cred, path.ptr, "registry.local:5000") == 0,
		               "a stored login is found");
		rs_fuzz_assert(cred.username && !strcmp(cred.username, "fuzz-user") &&
		                       cred.password && !strcmp(cred.password, "fuzz-secret-1"),
		               "a stored login is found as stored");
		rs__credential_dispose(&cred);
		rs_fuzz_assert(rs__cred_erase(path.ptr, "registry.local:5000") == 0,
		               "a stored login can be erased");
		rs_fuzz_assert(rs__cred_lookup(&cred, path.ptr, "registry.local:5000") ==
		                       RS_ENOTFOUND,
		               "an erased login is gone");
		rs__credential_dispose(&cred);
	} else {
		dockercfg_check_message(&t, path.ptr);
	}

	rs__strlist_dispose(&t.secrets);
	rs__strlist_dispose(&t.shown);
	rs_buf_dispose(&path);
	return 0;
}

RS_FUZZ_ENTRY(rs_fuzz_dockercfg)
