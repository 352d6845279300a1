/* Manifests: GET with the full Accept list, HEAD for digests, PUT exact bytes, DELETE. */
#include "registry.h"

#include "auth/scope.h"
#include "regship/manifest.h"
#include "util/digest.h"

#include <stdlib.h>
#include <string.h>

#define RS_MANIFEST_MAX (4u * 1024 * 1024)

static const char *const accept_headers[] = {"Accept: " RS_MANIFEST_ACCEPT, NULL};

static char *ref_name(const rs_ref *ref)
{
	return rs_ref_format(ref);
}

static char *content_type_of(const rs__http_response *resp)
{
	const char *ct = rs__http_header(resp, "content-type");
	size_t n;
	if (!ct)
		return NULL;
	n = strcspn(ct, ";");
	while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	return rs__strndup(ct, n);
}

int rs_manifest_fetch(rs_client *c, const rs_ref *ref, rs_buf *body, char **media_type,
                      char **digest)
{
	rs__endpoint *ep;
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	char *path = NULL, *scope = NULL, *name = ref_name(ref);
	char computed[RS_DIGEST_MAX];
	const char *header_digest;
	int error;

	if ((error = rs__client_endpoint(&ep, c, ref->domain)) < 0)
		goto done;
	path = rs__registry_path(ref->path, "manifests/");
	{
		rs_buf p = RS_BUF_INIT;
		rs__buf_printf(&p, "%s%s", path, rs_ref_identifier(ref));
		free(path);
		path = rs__buf_detach(&p);
	}
	scope = rs__scope_repository(ref->path, "pull");
	req.method = "GET";
	req.url = path;
	req.scope = scope;
	req.headers = accept_headers;
	req.max_body = RS_MANIFEST_MAX;
	req.follow_redirects = true;
	if ((error = rs__registry_do(c, ep, &req, &resp)) < 0) {
		if (error == RS_ETOOBIG)
			rs__error_set(RS_ETOOBIG, "manifest %s is larger than 4 MiB", name);
		goto done;
	}
	if (resp.status != 200) {
		rs_buf what = RS_BUF_INIT;
		rs__buf_printf(&what, "manifest %s", name);
		error = rs__registry_error(ep, &resp, what.ptr);
		rs_buf_dispose(&what);
		goto done;
	}
	rs__sha256_digest(computed, resp.body.ptr ? resp.body.ptr : "", resp.body.size);
	if (ref->digest && (error = rs__digest_verify(ref->digest, rs__buf_cstr(&resp.body),
	                                              resp.body.size)) < 0) {
		rs__error_prefix("manifest %s", name);
		goto done;
	}
	header_digest = rs__http_header(&resp, "docker-content-digest");
	if (header_digest && rs__str_startswith(header_digest, "sha256:") &&
	    strcmp(header_digest, computed)) {
		error = rs__error_set(
		        RS_EDIGEST,
		        "manifest %s: the registry says its digest is %s but the bytes "
		        "received hash to %s",
		        name, header_digest, computed);
		goto done;
	}
	rs__buf_put(body, rs__buf_cstr(&resp.body), resp.body.size);
	if (media_type)
		*media_type = content_type_of(&resp);
	if (digest)
		*digest = rs__strdup(ref->digest ? ref->digest : computed);
done:
	free(name);
	free(path);
	free(scope);
	rs__http_response_dispose(&resp);
	return error;
}

int rs_manifest_resolve(rs_client *c, const rs_ref *ref, char **digest, char **media_type,
                        int64_t *size)
{
	rs__endpoint *ep;
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	rs_buf path = RS_BUF_INIT;
	char *scope = NULL, *name = ref_name(ref);
	const char *d;
	int error;

	if ((error = rs__client_endpoint(&ep, c, ref->domain)) < 0)
		goto done;
	rs__buf_printf(&path, "/v2/%s/manifests/%s", ref->path, rs_ref_identifier(ref));
	scope = rs__scope_repository(ref->path, "pull");
	req.method = "HEAD";
	req.url = path.ptr;
	req.scope = scope;
	req.headers = accept_headers;
	req.follow_redirects = true;
	if ((error = rs__registry_do(c, ep, &req, &resp)) < 0)
		goto done;
	if (resp.status != 200) {
		rs_buf what = RS_BUF_INIT;
		rs__buf_printf(&what, "manifest %s", name);
		error = rs__registry_error(ep, &resp, what.ptr);
		rs_buf_dispose(&what);
		goto done;
	}
	d = rs__http_header(&resp, "docker-content-digest");
	if (d && rs__digest_valid(d)) {
		if (ref->digest && strcmp(ref->digest, d)) {
			error = rs__error_set(RS_EDIGEST,
			                      "manifest %s: the registry answered for digest %s",
			                      name, d);
			goto done;
		}
		if (digest)
			*digest = rs__strdup(d);
		if (media_type)
			*media_type = content_type_of(&resp);
		if (size) {
			const char *cl = rs__http_header(&resp, "content-length");
			*size = cl ? strtoll(cl, NULL, 10) : -1;
		}
	} else {
		/* no usable digest header: fetch the bytes and hash them ourselves */
		rs_buf body = RS_BUF_INIT;
		if ((error = rs_manifest_fetch(c, ref, &body, media_type, digest)) == 0 && size)
			*size = (int64_t)body.size;
		rs_buf_dispose(&body);
	}
done:
	free(name);
	free(scope);
	rs_buf_dispose(&path);
	rs__http_response_dispose(&resp);
	return error;
}

int rs_manifest_upload(rs_client *c, const rs_ref *ref, const void *body, size_t len,
                       const char *media_type, char **digest)
{
	rs__endpoint *ep;
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	rs_buf path = RS_BUF_INIT, ct = RS_BUF_INIT;
	char *scope = NULL, *name = ref_name(ref);
	char computed[RS_DIGEST_MAX];
	const char *headers[2];
	int error;

	if (len > RS_MANIFEST_MAX) {
		error = rs__error_set(RS_ETOOBIG,
		                      "manifest for %s is %zu bytes; registries accept "
		                      "at most 4 MiB",
		                      name, len);
		goto done;
	}
	rs__sha256_digest(computed, body, len);
	if (ref->digest && strcmp(ref->digest, computed)) {
		error = rs__error_set(RS_EDIGEST, "manifest for %s hashes to %s, not %s", name,
		                      computed, ref->digest);
		goto done;
	}
	if ((error = rs__client_endpoint(&ep, c, ref->domain)) < 0)
		goto done;
	rs__buf_printf(&path, "/v2/%s/manifests/%s", ref->path,
	               ref->tag && !ref->digest ? ref->tag : computed);
	rs__buf_printf(&ct, "Content-Type: %s", media_type);
	headers[0] = ct.ptr;
	headers[1] = NULL;
	scope = rs__scope_repository(ref->path, "pull,push");
	req.method = "PUT";
	req.url = path.ptr;
	req.scope = scope;
	req.headers = headers;
	req.body = body;
	req.body_len = len;
	if ((error = rs__registry_do(c, ep, &req, &resp)) < 0)
		goto done;
	if (resp.status != 201 && resp.status != 200 && resp.status != 202) {
		rs_buf what = RS_BUF_INIT;
		rs__buf_printf(&what, "cannot push manifest %s", name);
		error = rs__registry_error(ep, &resp, what.ptr);
		rs_buf_dispose(&what);
		goto done;
	}
	{
		const char *d = rs__http_header(&resp, "docker-content-digest");
		if (d && rs__str_startswith(d, "sha256:") && strcmp(d, computed)) {
			error = rs__error_set(RS_EDIGEST,
			                      "manifest %s: the registry stored digest %s, but the "
			                      "bytes sent hash to %s",
			                      name, d, computed);
			goto done;
		}
	}
	if (digest)
		*digest = rs__strdup(computed);
done:
	free(name);
	free(scope);
	rs_buf_dispose(&path);
	rs_buf_dispose(&ct);
	rs__http_response_dispose(&resp);
	return error;
}

int rs_manifest_remove(rs_client *c, const rs_ref *ref)
{
	rs__endpoint *ep;
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	rs_buf path = RS_BUF_INIT;
	char *scope = NULL, *name = ref_name(ref);
	int error;

	if (!ref->digest) {
		error = rs__error_set(RS_EINVAL, "deleting %s needs a digest, not a tag", name);
		goto done;
	}
	if ((error = rs__client_endpoint(&ep, c, ref->domain)) < 0)
		goto done;
	rs__buf_printf(&path, "/v2/%s/manifests/%s", ref->path, ref->digest);
	scope = rs__scope_repository(ref->path, "delete");
	req.method = "DELETE";
	req.url = path.ptr;
	req.scope = scope;
	if ((error = rs__registry_do(c, ep, &req, &resp)) < 0)
		goto done;
	if (resp.status == 202 || resp.status == 200 || resp.status == 204)
		goto done;
	{
		rs_buf what = RS_BUF_INIT;
		rs__buf_printf(&what, "cannot delete %s", name);
		error = rs__registry_error(ep, &resp, what.ptr);
		rs_buf_dispose(&what);
		if (resp.status == 405 || (error == RS_EUNSUPPORTED) ||
		    (rs_error_last() && !strcmp(rs_error_last()->registry_code, "UNSUPPORTED")))
			error = rs__error_set_http(
			        RS_EUNSUPPORTED, resp.status, "UNSUPPORTED",
			        "cannot delete %s: deletion is disabled on %s (%d; the registry "
			        "operator must enable it, e.g. storage.delete.enabled: true for "
			        "docker-registry)",
			        name, ep->domain, resp.status);
	}
done:
	free(name);
	free(scope);
	rs_buf_dispose(&path);
	rs__http_response_dispose(&resp);
	return error;
}
