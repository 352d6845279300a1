/* Image configs (OCI and docker): just the platform and rootfs.diff_ids. */
#include "internal.h"
#include "util/digest.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rs_image_config {
	rs_platform platform;
	rs_strlist diff_ids;
};

void rs_image_config_free(rs_image_config *c)
{
	if (!c)
		return;
	free(c->platform.os);
	free(c->platform.architecture);
	free(c->platform.variant);
	free(c->platform.os_version);
	rs__strlist_dispose(&c->diff_ids);
	free(c);
}

static int get_string(char **out, const json_t *root, const char *key, bool required)
{
	const json_t *v = json_object_get(root, key);

	*out = NULL;
	if (!v || (json_is_null(v) && !required)) {
		if (required)
			return rs__error_set(RS_EFORMAT, "image config: missing \"%s\"", key);
		return 0;
	}
	if (!json_is_string(v) || (required && !*json_string_value(v)))
		return rs__error_set(RS_EFORMAT, "image config: \"%s\" must be a %sstring", key,
		                     required ? "non-empty " : "");
	if (*json_string_value(v) && !(*out = rs__strdup(json_string_value(v))))
		return rs__oom();
	return 0;
}

int rs_image_config_parse(rs_image_config **out, const void *bytes, size_t len)
{
	rs_image_config *c = rs__calloc(1, sizeof(*c));
	json_t *root = NULL;
	const json_t *rootfs, *ids, *type;
	int error;

	*out = NULL;
	if (!c)
		return rs__oom();
	if (!bytes && len) {
		error = rs__error_set(RS_EINVAL, "no image config bytes");
		goto done;
	}
	if ((error = rs__json_parse_object(&root, bytes, len, "image config")) < 0)
		goto done;
	if ((error = get_string(&c->platform.os, root, "os", true)) < 0 ||
	    (error = get_string(&c->platform.architecture, root, "architecture", true)) < 0 ||
	    (error = get_string(&c->platform.variant, root, "variant", false)) < 0 ||
	    (error = get_string(&c->platform.os_version, root, "os.version", false)) < 0)
		goto done;

	rootfs = json_object_get(root, "rootfs");
	if (!json_is_object(rootfs)) {
		error = rs__error_set(RS_EFORMAT, "image config: %s \"rootfs\"",
		                      rootfs ? "malformed" : "missing");
		goto done;
	}
	type = json_object_get(rootfs, "type");
	if (!json_is_string(type) || strcmp(json_string_value(type), "layers")) {
		error = rs__error_set(RS_EFORMAT,
		                      "image config: rootfs.type must be \"layers\", not %s%s%s",
		                      json_is_string(type) ? "\"" : "",
		                      json_is_string(type) ? json_string_value(type)
		                                           : (type ? "a non-string" : "missing"),
		                      json_is_string(type) ? "\"" : "");
		goto done;
	}
	ids = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(ids)) {
		error = rs__error_set(RS_EFORMAT, "image config: %s rootfs.diff_ids",
		                      ids ? "malformed" : "missing");
		goto done;
	}
	for (size_t i = 0; i < json_array_size(ids); i++) {
		const char *d = json_string_value(json_array_get(ids, i));
		if (!d) {
			error = rs__error_set(RS_EFORMAT,
			                      "image config: rootfs.diff_ids[%zu] must be a string",
			                      i);
			goto done;
		}
		if (!rs__digest_valid(d)) {
			char msg[sizeof(((rs_error *)0)->message)];
			rs__digest_check(d);
			snprintf(msg, sizeof(msg), "%s", rs_error_last()->message);
			error = rs__error_set(RS_EFORMAT, "image config: rootfs.diff_ids[%zu]: %s",
			                      i, msg);
			goto done;
		}
		if ((error = rs__strlist_push(&c->diff_ids, d)) < 0)
			goto done;
	}
	*out = c;
	c = NULL;
done:
	json_decref(root);
	rs_image_config_free(c);
	return error;
}

const rs_platform *rs_image_config_platform(const rs_image_config *c)
{
	return &c->platform;
}

size_t rs_image_config_diff_id_count(const rs_image_config *c)
{
	return c->diff_ids.count;
}

const char *rs_image_config_diff_id(const rs_image_config *c, size_t i)
{
	return i < c->diff_ids.count ? c->diff_ids.items[i] : NULL;
}
