/* Descriptors: JSON in and out, copies; and the JSON loading shared by lib/manifest/. */
#include "internal.h"
#include "util/digest.h"
#include "util/escape.h"
#include "util/json.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

int rs__json_check_depth(const char *text, size_t len, int max_depth, const char *what)
{
	int depth = 0;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (in_string) {
			if (c == '\\')
				i++; /* skip the escaped character */
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max_depth)
				return rs__error_set(RS_EFORMAT,
				                     "%s JSON is nested deeper than %d levels",
				                     what, max_depth);
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return 0;
}

int rs__json_parse_object(json_t **out, const void *text, size_t len, const char *what)
{
	json_error_t jerr;
	json_t *root;
	int error;

	*out = NULL;
	if (len == 0)
		return rs__error_set(RS_EFORMAT, "%s is empty", what);
	if ((error = rs__json_check_depth(text, len, RS_MANIFEST_MAX_DEPTH, what)) < 0)
		return error;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root && rs__json_oom(&jerr))
		return rs__oom();
	if (!root)
		return rs__error_set(RS_EFORMAT, "%s is not valid JSON: %s (line %d, column %d)",
		                     what, jerr.text, jerr.line, jerr.column);
	if (!json_is_object(root)) {
		json_decref(root);
		return rs__error_set(RS_EFORMAT, "%s is not a JSON object", what);
	}
	*out = root;
	return 0;
}

static int fail(const char *where, const char *fmt, ...) RS_PRINTF(2, 3);
static int fail(const char *where, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rs__error_set(RS_EFORMAT, "%s: %s", where, msg);
}

/* An optional string member: 0 and *out NULL when absent, RS_EFORMAT when not a string. */
static int opt_string(char **out, const json_t *obj, const char *key, const char *where)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(where, "\"%s\" must be a string", key);
	*out = rs__strdup(json_string_value(v));
	return *out ? 0 : rs__oom();
}

static int req_string(char **out, const json_t *obj, const char *key, const char *where)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v)
		return fail(where, "missing \"%s\"", key);
	if (!json_is_string(v) || !*json_string_value(v))
		return fail(where, "\"%s\" must be a non-empty string", key);
	*out = rs__strdup(json_string_value(v));
	return *out ? 0 : rs__oom();
}

int rs__platform_from_json(rs_platform **out, const json_t *obj, const char *where)
{
	rs_platform *p = rs__calloc(1, sizeof(*p));
	char sub[512];
	int error;

	*out = NULL;
	if (!p)
		return rs__oom();
	snprintf(sub, sizeof(sub), "%s: platform", where);
	if (!json_is_object(obj)) {
		error = fail(where, "\"platform\" must be an object");
		goto done;
	}
	if ((error = req_string(&p->os, obj, "os", sub)) < 0 ||
	    (error = req_string(&p->architecture, obj, "architecture", sub)) < 0 ||
	    (error = opt_string(&p->variant, obj, "variant", sub)) < 0 ||
	    (error = opt_string(&p->os_version, obj, "os.version", sub)) < 0)
		goto done;
	*out = p;
	p = NULL;
done:
	rs_platform_free(p);
	return error;
}

/* Set a string member; json_string refuses invalid UTF-8, which is reported here. */
static int set_str(json_t *o, const char *key, const char *value, const char *where)
{
	json_t *v = json_string(value);

	if (!v && value && rs__utf8_valid(value))
		return rs__oom();
	if (!v)
		return rs__error_set(RS_EINVAL, "%s: \"%s\" is not valid UTF-8", where, key);
	if (json_object_set_new(o, key, v) < 0)
		return rs__oom();
	return 0;
}

int rs__platform_to_json(json_t **out, const rs_platform *p, const char *where)
{
	json_t *o = json_object();
	int error;

	*out = NULL;
	if (!o)
		return rs__oom();
	if ((error = set_str(o, "architecture", p->architecture, where)) < 0 ||
	    (error = set_str(o, "os", p->os, where)) < 0 ||
	    (p->os_version && (error = set_str(o, "os.version", p->os_version, where)) < 0) ||
	    (p->variant && (error = set_str(o, "variant", p->variant, where)) < 0)) {
		json_decref(o);
		return error;
	}
	*out = o;
	return 0;
}

int rs__descriptor_from_json(rs_descriptor *out, const json_t *obj, const char *where)
{
	rs_descriptor d = {0};
	const json_t *v;
	json_t *ann;
	int error;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj)) {
		error = fail(where, "descriptor must be a JSON object");
		goto done;
	}
	if ((error = req_string(&d.media_type, obj, "mediaType", where)) < 0)
		goto done;

	v = json_object_get(obj, "digest");
	if (!v) {
		error = fail(where, "missing \"digest\"");
		goto done;
	}
	if (!json_is_string(v)) {
		error = fail(where, "\"digest\" must be a string");
		goto done;
	}
	if (!rs__digest_valid(json_string_value(v))) {
		char msg[sizeof(((rs_error *)0)->message)];
		rs__digest_check(json_string_value(v));
		snprintf(msg, sizeof(msg), "%s", rs_error_last()->message);
		error = fail(where, "%s", msg);
		goto done;
	}
	d.digest = rs__strdup(json_string_value(v));
	if (!d.digest) {
		error = rs__oom();
		goto done;
	}

	v = json_object_get(obj, "size");
	if (!v) {
		error = fail(where, "missing \"size\"");
		goto done;
	}
	if (!json_is_integer(v)) {
		error = fail(where, "\"size\" must be an integer");
		goto done;
	}
	if (json_integer_value(v) < 0) {
		error = fail(where, "invalid size %lld: must not be negative",
		             (long long)json_integer_value(v));
		goto done;
	}
	d.size = (int64_t)json_integer_value(v);

	if ((v = json_object_get(obj, "platform")) != NULL &&
	    (error = rs__platform_from_json(&d.platform, v, where)) < 0)
		goto done;
	if ((error = opt_string(&d.artifact_type, obj, "artifactType", where)) < 0)
		goto done;

	if ((ann = json_object_get(obj, "annotations")) != NULL) {
		const char *key;
		if (!json_is_object(ann)) {
			error = fail(where, "\"annotations\" must be an object");
			goto done;
		}
		json_object_foreach(ann, key, v)
		{
			if (!json_is_string(v)) {
				error = fail(where, "annotation \"%s\" must be a string", key);
				goto done;
			}
		}
		if ((v = json_object_get(ann, REF_NAME_ANNOTATION)) != NULL &&
		    !(d.ref_name = rs__strdup(json_string_value(v)))) {
			error = rs__oom();
			goto done;
		}
	}
	*out = d;
	memset(&d, 0, sizeof(d));
done:
	rs_descriptor_dispose(&d);
	return error;
}

int rs__descriptor_check(const rs_descriptor *d, const char *where)
{
	if (!d->media_type || !*d->media_type)
		return rs__error_set(RS_EINVAL, "%s: no media type", where);
	if (!rs__digest_valid(d->digest)) {
		rs__digest_check(d->digest);
		return rs__error_prefix("%s", where);
	}
	if (d->size < 0)
		return rs__error_set(RS_EINVAL, "%s: invalid size %lld: must not be negative",
		                     where, (long long)d->size);
	if (d->platform && (!d->platform->os || !*d->platform->os || !d->platform->architecture ||
	                    !*d->platform->architecture))
		return rs__error_set(RS_EINVAL, "%s: platform needs an os and an architecture",
		                     where);
	return 0;
}

int rs__descriptor_to_json(json_t **out, const rs_descriptor *d, bool docker, const char *where)
{
	json_t *o = json_object(), *sub = NULL;
	int error;

	*out = NULL;
	if (!o)
		return rs__oom();
	if ((error = set_str(o, "mediaType", d->media_type, where)) < 0)
		goto done;
	if (docker) {
		if (json_object_set_new(o, "size", json_integer((json_int_t)d->size)) < 0) {
			error = rs__oom();
			goto done;
		}
		if ((error = set_str(o, "digest", d->digest, where)) < 0)
			goto done;
	} else {
		if ((error = set_str(o, "digest", d->digest, where)) < 0)
			goto done;
		if (json_object_set_new(o, "size", json_integer((json_int_t)d->size)) < 0) {
			error = rs__oom();
			goto done;
		}
		if (d->ref_name) {
			if (!(sub = json_object())) {
				error = rs__oom();
				goto done;
			}
			if ((error = set_str(sub, REF_NAME_ANNOTATION, d->ref_name, where)) < 0)
				goto done;
			error = json_object_set_new(o, "annotations", sub) < 0 ? rs__oom() : 0;
			sub = NULL;
			if (error)
				goto done;
		}
	}
	if (d->platform) {
		if ((error = rs__platform_to_json(&sub, d->platform, where)) < 0)
			goto done;
		error = json_object_set_new(o, "platform", sub) < 0 ? rs__oom() : 0;
		sub = NULL;
		if (error)
			goto done;
	}
	if (!docker && d->artifact_type &&
	    (error = set_str(o, "artifactType", d->artifact_type, where)) < 0)
		goto done;
	*out = o;
	o = NULL;
done:
	json_decref(sub);
	json_decref(o);
	return error;
}

static char *dup_or_null(const char *s)
{
	return s ? rs__strdup(s) : NULL;
}

int rs_platform_dup(rs_platform **out, const rs_platform *src)
{
	rs_platform *p;

	*out = NULL;
	if (!src)
		return 0;
	p = rs__calloc(1, sizeof(*p));
	if (!p)
		return rs__oom();
	p->os = dup_or_null(src->os);
	p->architecture = dup_or_null(src->architecture);
	p->variant = dup_or_null(src->variant);
	p->os_version = dup_or_null(src->os_version);
	if ((src->os && !p->os) || (src->architecture && !p->architecture) ||
	    (src->variant && !p->variant) || (src->os_version && !p->os_version)) {
		rs_platform_free(p);
		return rs__oom();
	}
	*out = p;
	return 0;
}

void rs_platform_free(rs_platform *p)
{
	if (!p)
		return;
	free(p->os);
	free(p->architecture);
	free(p->variant);
	free(p->os_version);
	free(p);
}

int rs_descriptor_dup(rs_descriptor *out, const rs_descriptor *src)
{
	rs_descriptor d = {0};

	if (!src)
		return rs__error_set(RS_EINVAL, "no descriptor to copy");
	d.media_type = dup_or_null(src->media_type);
	d.digest = dup_or_null(src->digest);
	d.size = src->size;
	if (rs_platform_dup(&d.platform, src->platform) < 0) {
		rs_descriptor_dispose(&d);
		return RS_ENOMEM;
	}
	d.ref_name = dup_or_null(src->ref_name);
	d.artifact_type = dup_or_null(src->artifact_type);
	if ((src->media_type && !d.media_type) || (src->digest && !d.digest) ||
	    (src->ref_name && !d.ref_name) || (src->artifact_type && !d.artifact_type)) {
		rs_descriptor_dispose(&d);
		return rs__oom();
	}
	*out = d;
	return 0;
}

void rs_descriptor_dispose(rs_descriptor *d)
{
	if (!d)
		return;
	free(d->media_type);
	free(d->digest);
	rs_platform_free(d->platform);
	free(d->ref_name);
	free(d->artifact_type);
	memset(d, 0, sizeof(*d));
}
