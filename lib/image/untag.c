/*
 * untag (rs_untag): remove one tag and keep the manifest. The registry work (DELETE by tag,
 * the placeholder fallback of distribution 2.x) is lib/registry's rs__manifest_untag.
 */
#include "regship/retag.h"

#include "registry/manifests.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

/* ---- untag ------------------------------------------------------------------------------- */
int rs_untag(rs_untag_result **out, rs_client *client, const rs_ref *ref)
{
	rs_untag_result *r = NULL;
	char *name = NULL;
	const rs_error *last;
	int error;

	if (!out || !client || !ref)
		return rs__error_set(RS_EINVAL, "rs_untag: missing argument");
	*out = NULL;
	if (!(name = rs_ref_format_name(ref)))
		return RS_ENOMEM;
	if (!ref->tag || ref->digest) {
		error = rs__error_set(RS_EINVAL,
		                      "cannot untag %s%s%s: untag removes a tag; name one without "
		                      "a digest",
		                      name, ref->digest ? "@" : "", ref->digest ? ref->digest : "");
		goto done;
	}
	if (!(r = rs__calloc(1, sizeof(*r)))) {
		error = rs__oom();
		goto done;
	}
	error = rs_manifest_resolve(client, ref, &r->digest, NULL, NULL);
	if (error == RS_ENOTFOUND) {
		last = rs_error_last();
		error = rs__error_set_http(RS_ENOTFOUND, last ? last->http_status : 404,
		                           last && last->registry_code[0] ? last->registry_code
		                                                          : NULL,
		                           "cannot untag %s:%s: no such tag", name, ref->tag);
		goto done;
	}
	if (error < 0)
		goto done;
	error = rs__manifest_untag(client, ref, &r->placeholder);
	r->method = r->placeholder ? RS_UNTAG_PLACEHOLDER : RS_UNTAG_DELETED;
done:
	if (error == 0) {
		*out = r;
		r = NULL;
	}
	rs_untag_result_free(r);
	free(name);
	return error;
}

void rs_untag_result_free(rs_untag_result *result)
{
	if (!result)
		return;
	free(result->digest);
	free(result->placeholder);
	free(result);
}
