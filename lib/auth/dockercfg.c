/* docker config.json: credential lookup, store and erase (docker/cli semantics). */
#include "auth/dockercfg.h"
#include "ref/ref.h"
#include "util/escape.h"
#include "util/file.h"
#include "util/json.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

int rs__dockercfg_default_path(char **out)
{
	const char *dir = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	rs_buf b = RS_BUF_INIT;
	*out = NULL;
	if (dir && *dir)
		rs__buf_printf(&b, "%s/config.json", dir);
	else if (home && *home)
		rs__buf_printf(&b, "%s/.docker/config.json", home);
	else
		return rs__error_set(RS_ENOTFOUND, "cannot locate docker's config.json: neither "
		                                   "DOCKER_CONFIG nor HOME is set");
	*out = rs__buf_detach(&b);
	return *out ? 0 : RS_ENOMEM;
}

const char *rs__dockercfg_server_key(const char *domain)
{
	return rs__ref_is_hub(domain) ? RS__DOCKERCFG_HUB_KEY : domain;
}

char *rs__dockercfg_key_host(const char *key)
{
	const char *s = key ? key : "";
	char *h;
	if (rs__str_niequal(s, "https://", 8))
		s += 8;
	else if (rs__str_niequal(s, "http://", 7))
		s += 7;
	h = rs__strndup(s, strcspn(s, "/"));
	for (char *p = h; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return h;
}

/* 1 when key names domain's host, 0 when not, RS_ENOMEM */
static int host_matches(const char *key, const char *domain)
{
	char *h = rs__dockercfg_key_host(key);
	int m;
	if (!h)
		return rs__oom();
	m = rs__ref_is_hub(domain) ? rs__ref_is_hub(h) : rs__str_iequal(h, domain);
	free(h);
	return m;
}

/* The key of obj for domain (NULL when none): the exact server key first, else the first key
 * of that host. 0 or RS_ENOMEM. */
static int find_key(const char **out, json_t *obj, const char *domain)
{
	const char *key;
	json_t *v;
	int m;
	*out = NULL;
	if (json_object_get(obj, rs__dockercfg_server_key(domain))) {
		*out = rs__dockercfg_server_key(domain);
		return 0;
	}
	json_object_foreach(obj, key, v)
	{
		if ((m = host_matches(key, domain)) < 0)
			return m;
		if (m) {
			*out = key;
			return 0;
		}
	}
	return 0;
}

static int resolve_path(char **out, const char *config_path)
{
	if (config_path) {
		*out = rs__strdup(config_path);
		return *out ? 0 : rs__oom();
	}
	return rs__dockercfg_default_path(out);
}

/* Load the file as a JSON object. A missing file is RS_ENOTFOUND, or {} with missing_ok. */
static int load(json_t **out, const char *path, bool missing_ok)
{
	rs_buf buf = RS_BUF_INIT;
	json_error_t jerr;
	json_t *root = NULL;
	size_t i;
	int error;

	*out = NULL;
	/* a regular file only (a FIFO would block); a symlinked config.json is followed */
	if ((error = rs__file_read_regular(&buf, AT_FDCWD, path, RS__DOCKERCFG_MAX, 0, path)) < 0) {
		if (error == RS_ENOTFOUND && missing_ok) {
			*out = json_object();
			return *out ? 0 : rs__oom();
		}
		goto done;
	}
	for (i = 0; i < buf.size && isspace((unsigned char)buf.ptr[i]); i++)
		;
	if (i == buf.size) { /* empty file: an empty config, as docker treats it */
		if (!(*out = json_object()))
			error = rs__oom();
		goto done;
	}
	root = json_loadb(buf.ptr, buf.size, 0, &jerr);
	if (!root) {
		/* never jansson's text: it quotes the token it stopped at, maybe a secret */
		error = rs__json_error(path, &jerr);
		goto done;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		error = rs__error_set(RS_EFORMAT, "%s: expected a JSON object at the top level",
		                      path);
		goto done;
	}
	*out = root;
done:
	rs__buf_dispose_secret(&buf);
	return error;
}

/* root[name] as an object, or NULL when absent; RS_EFORMAT when it is something else. */
static int get_object(json_t **out, json_t *root, const char *name, const char *path)
{
	json_t *v = json_object_get(root, name);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return rs__error_set(RS_EFORMAT, "%s: \"%s\" must be a JSON object", path, name);
	*out = v;
	return 0;
}

/* The helper configured for domain (credHelpers, then credsStore), or NULL. */
static int find_helper(const char **helper, const char **source, json_t *root, const char *domain,
                       const char *path)
{
	json_t *helpers, *store;
	const char *key;
	int error;

	*helper = NULL;
	*source = NULL;
	if ((error = get_object(&helpers, root, "credHelpers", path)) < 0)
		return error;
	if (helpers && (error = find_key(&key, helpers, domain)) < 0)
		return error;
	if (helpers && key) {
		json_t *v = json_object_get(helpers, key);
		if (!json_is_string(v))
			return rs__error_set(
			        RS_EFORMAT,
			        "%s: credHelpers[\"%s\"] must be a string (a helper name)", path,
			        key);
		if (*json_string_value(v)) {
			*helper = json_string_value(v);
			*source = "credHelpers";
			return 0;
		}
	}
	store = json_object_get(root, "credsStore");
	if (store && !json_is_null(store) && !json_is_string(store))
		return rs__error_set(RS_EFORMAT, "%s: \"credsStore\" must be a string", path);
	if (store && json_is_string(store) && *json_string_value(store)) {
		*helper = json_string_value(store);
		*source = "credsStore";
	}
	return 0;
}

static int get_string(const char **out, json_t *entry, const char *field, const char *path,
                      const char *key)
{
	json_t *v = json_object_get(entry, field);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return rs__error_set(RS_EFORMAT, "%s: auths[\"%s\"].%s must be a string", path, key,
		                     field);
	if (*json_string_value(v))
		*out = json_string_value(v);
	return 0;
}

static int decode_entry(rs__credential *out, json_t *entry, const char *path, const char *key)
{
	const char *auth, *user, *pass, *itok, *rtok;
	int error;

	if (!json_is_object(entry))
		return rs__error_set(RS_EFORMAT, "%s: auths[\"%s\"] must be a JSON object", path,
		                     key);
	if ((error = get_string(&auth, entry, "auth", path, key)) < 0 ||
	    (error = get_string(&user, entry, "username", path, key)) < 0 ||
	    (error = get_string(&pass, entry, "password", path, key)) < 0 ||
	    (error = get_string(&itok, entry, "identitytoken", path, key)) < 0 ||
	    (error = get_string(&rtok, entry, "registrytoken", path, key)) < 0)
		return error;

	if (auth) {
		rs_buf raw = RS_BUF_INIT;
		const char *colon, *p, *e;
		if ((error = rs__base64_decode(&raw, auth)) < 0) {
			rs__buf_dispose_secret(&raw);
			if (error == RS_ENOMEM)
				return error;
			return rs__error_set(RS_EFORMAT,
			                     "%s: auths[\"%s\"].auth is not valid base64", path,
			                     key);
		}
		colon = raw.ptr ? memchr(raw.ptr, ':', raw.size) : NULL;
		if (!colon) {
			rs__buf_dispose_secret(&raw);
			return rs__error_set(RS_EFORMAT,
			                     "%s: auths[\"%s\"].auth does not decode to "
			                     "username:password",
			                     path, key);
		}
		out->username = rs__strndup(raw.ptr, (size_t)(colon - raw.ptr));
		/* the password, NULs trimmed at both ends (docker's decodeAuth) */
		p = colon + 1;
		e = raw.ptr + raw.size;
		while (p < e && *p == '\0')
			p++;
		while (e > p && e[-1] == '\0')
			e--;
		out->password = rs__strndup(p, (size_t)(e - p));
		rs__buf_dispose_secret(&raw);
		if (!out->username || !out->password)
			goto oom;
	} else {
		out->username = rs__strdup(user);
		out->password = rs__strdup(pass);
		if ((user && !out->username) || (pass && !out->password))
			goto oom;
	}
	out->identity_token = rs__strdup(itok);
	out->registry_token = rs__strdup(rtok);
	if ((itok && !out->identity_token) || (rtok && !out->registry_token))
		goto oom;
	if (!out->password && !out->identity_token && !out->registry_token)
		rs__credential_dispose(out);
	return 0;
oom:
	rs__credential_dispose(out);
	return rs__oom();
}

int rs__cred_lookup(rs__credential *out, const char *config_path, const char *domain)
{
	const char *helper, *source, *key;
	json_t *root = NULL, *auths;
	char *path = NULL;
	int error;

	memset(out, 0, sizeof(*out));
	if (!domain || !*domain)
		return rs__error_set(RS_EINVAL, "no registry given for the credential lookup");
	if ((error = resolve_path(&path, config_path)) < 0)
		return error;
	if ((error = load(&root, path, false)) < 0) {
		if (error == RS_ENOTFOUND)
			rs__error_set(RS_ENOTFOUND, "no credentials for %s (%s does not exist)",
			              domain, path);
		goto done;
	}
	if ((error = find_helper(&helper, &source, root, domain, path)) < 0)
		goto done;
	if (helper) {
		/* once a helper is chosen, auths is not consulted (docker/cli) */
		if ((error = rs__credhelper_get(out, helper, rs__dockercfg_server_key(domain))) <
		            0 &&
		    error != RS_ENOTFOUND)
			rs__error_prefix("%s: %s \"%s\"", path, source, helper);
		goto done;
	}
	if ((error = get_object(&auths, root, "auths", path)) < 0)
		goto done;
	key = NULL;
	if (auths && (error = find_key(&key, auths, domain)) < 0)
		goto done;
	if (key && (error = decode_entry(out, json_object_get(auths, key), path, key)) < 0)
		goto done;
	if (!out->password && !out->identity_token && !out->registry_token)
		error = rs__error_set(RS_ENOTFOUND, "no credentials for %s in %s", domain, path);
done:
	if (error < 0)
		rs__credential_dispose(out);
	json_decref(root);
	free(path);
	return error;
}

/* Write root to path: directory 0700 if it has to be created, file 0600, atomically. */
static int save(json_t *root, const char *path)
{
	char *dump = json_dumps(root, JSON_INDENT(2)), *dir = NULL, *target = NULL, *slash;
	struct stat st;
	rs_buf data = RS_BUF_INIT;
	int error = 0;

	if (!dump) /* keys and values come from a parse or from json_string: valid UTF-8 */
		return rs__oom();
	rs__buf_puts(&data, dump);
	rs__buf_putc(&data, '\n');
	rs__free_secret(dump);
	if (rs__buf_oom(&data))
		return RS_ENOMEM;

	/* keep a symlinked config.json a symlink: write through to its target */
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && (target = realpath(path, NULL)))
		path = target;
	if (!(dir = rs__strdup(path))) {
		error = rs__oom();
		goto done;
	}
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if ((error = rs__mkdir_p(dir, 0700)) < 0)
			goto done;
	}
	error = rs__file_write_atomic(path, data.ptr, data.size, 0600);
done:
	rs__buf_dispose_secret(&data);
	free(dir);
	free(target);
	return error;
}

int rs__cred_store(const char *config_path, const char *domain, const char *user,
                   const char *secret)
{
	const char *helper, *source, *key;
	json_t *root = NULL, *auths, *entry;
	char *path = NULL, *auth = NULL, *key_copy = NULL;
	rs_buf raw = RS_BUF_INIT;
	int error;

	if (!domain || !*domain || !user || !secret)
		return rs__error_set(RS_EINVAL, "storing credentials needs a registry, a username "
		                                "and a secret");
	if (strchr(user, ':'))
		return rs__error_set(RS_EINVAL, "username \"%s\" must not contain ':'", user);
	if ((error = resolve_path(&path, config_path)) < 0)
		return error;
	if ((error = load(&root, path, true)) < 0)
		goto done;
	if ((error = find_helper(&helper, &source, root, domain, path)) < 0)
		goto done;
	if (helper) {
		if ((error = rs__credhelper_store(helper, rs__dockercfg_server_key(domain), user,
		                                  secret)) < 0)
			rs__error_prefix("%s: %s \"%s\"", path, source, helper);
		goto done;
	}
	if ((error = get_object(&auths, root, "auths", path)) < 0)
		goto done;
	if (!auths && json_object_set_new(root, "auths", auths = json_object()) < 0) {
		error = rs__oom();
		goto done;
	}
	if ((error = find_key(&key, auths, domain)) < 0)
		goto done;
	key_copy = rs__strdup(key ? key : rs__dockercfg_server_key(domain));
	rs__buf_printf(&raw, "%s:%s", user, secret);
	auth = rs__buf_oom(&raw) ? NULL : rs__base64_encode(raw.ptr, raw.size);
	entry = json_object();
	if (!key_copy || !auth || json_object_set_new(entry, "auth", json_string(auth)) < 0) {
		json_decref(entry);
		error = rs__oom();
		goto done;
	}
	/* replaces the whole entry: an old identitytoken must not outlive a new login */
	if (json_object_set_new(auths, key_copy, entry) < 0) {
		error = rs__utf8_valid(key_copy)
		                ? rs__oom()
		                : rs__error_set(RS_EINVAL, "%s: registry \"%s\" is not valid UTF-8",
		                                path, key_copy);
		goto done;
	}
	error = save(root, path);
done:
	free(key_copy);
	rs__buf_dispose_secret(&raw);
	rs__free_secret(auth);
	json_decref(root);
	free(path);
	return error;
}

int rs__cred_erase(const char *config_path, const char *domain)
{
	const char *helper, *source, *key;
	json_t *root = NULL, *auths, *v, *tmp;
	char *path = NULL;
	size_t removed = 0;
	int error;

	if (!domain || !*domain)
		return rs__error_set(RS_EINVAL, "no registry given to erase credentials for");
	if ((error = resolve_path(&path, config_path)) < 0)
		return error;
	if ((error = load(&root, path, false)) < 0) {
		if (error == RS_ENOTFOUND)
			rs__error_set(RS_ENOTFOUND, "not logged in to %s (%s does not exist)",
			              domain, path);
		goto done;
	}
	if ((error = find_helper(&helper, &source, root, domain, path)) < 0)
		goto done;
	if (helper) {
		if ((error = rs__credhelper_erase(helper, rs__dockercfg_server_key(domain))) < 0 &&
		    error != RS_ENOTFOUND)
			rs__error_prefix("%s: %s \"%s\"", path, source, helper);
		goto done;
	}
	if ((error = get_object(&auths, root, "auths", path)) < 0)
		goto done;
	if (auths) {
		json_object_foreach_safe(auths, tmp, key, v)
		{
			int m = host_matches(key, domain);
			if (m < 0) {
				error = m;
				goto done;
			}
			if (m) {
				json_object_del(auths, key);
				removed++;
			}
		}
	}
	if (!removed) {
		error = rs__error_set(RS_ENOTFOUND, "not logged in to %s (no entry in %s)", domain,
		                      path);
		goto done;
	}
	error = save(root, path);
done:
	json_decref(root);
	free(path);
	return error;
}
