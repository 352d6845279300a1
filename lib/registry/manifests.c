/* Manifests: GET with the full Accept list, HEAD for digests, PUT exact bytes, DELETE. */
#include "manifests.h"
#include "registry.h"

#include "auth/scope.h"
#include "regship/manifest.h"
#include "util/digest.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RS_MANIFEST_MAX (4u * 1024 * 1024)

/* The empty JSON blob `{}` (OCI 1.1 image spec, "Guidance for an Empty Descriptor"). */
#define EMPTY_BLOB "{}"
#define EMPTY_BLOB_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define PLACEHOLDER_ANNOTATION "org.regship.untag.placeholder"

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

/*
 * A Docker-Content-Digest header checked against the bytes it names (received, or sent for a
 * PUT): sha256 and sha512 are computed and compared; another algorithm, or a value that is not a
 * digest, is refused, since nothing could be verified. `said` words the registry's claim.
 */
static int check_digest_header(const char *name, const char *header, const void *data, size_t len,
                               const char *said, const char *bytes)
{
	char computed[RS_DIGEST_MAX], algorithm[16];
	size_t alen = strcspn(header, ":");
	char *shown;
	int error = 0;
	if (rs__digest_valid(header)) {
		snprintf(algorithm, sizeof(algorithm), "%.*s", (int)alen, header);
		if ((error = rs__digest_compute(computed, algorithm, data, len)) < 0)
			return error;
		if (!strcmp(computed, header))
			return 0;
		return rs__error_set(RS_EDIGEST,
		                     "manifest %s: the registry %s %s but the bytes %s hash to %s",
		                     name, said, header, bytes, computed);
	}
	if (!(shown = rs__escape(header)))
		return rs__oom();
	if (header[alen] == ':' && alen && strncmp(header, "sha256:", 7) &&
	    strncmp(header, "sha512:", 7))
		error = rs__error_set(
		        RS_EUNSUPPORTED,
		        "manifest %s: the registry sent Docker-Content-Digest \"%s\", "
		        "whose algorithm regship cannot verify (sha256 and sha512 are "
		        "supported); refusing it",
		        name, shown);
	else
		error = rs__error_set(
		        RS_EPROTO,
		        "manifest %s: the registry sent a malformed Docker-Content-Digest "
		        "\"%s\"",
		        name, shown);
	free(shown);
	return error;
}

int rs__manifest_request(rs_client *c, const rs_ref *ref, const char *id, const char *actions,
                         rs__reg_request *req, rs__endpoint **ep, rs__http_response *resp)
{
	rs_buf path = RS_BUF_INIT;
	char *scope;
	int error;
	if ((error = rs__client_endpoint(ep, c, ref->domain)) < 0)
		return error;
	rs__buf_printf(&path, "/v2/%s/manifests/%s", ref->path, id);
	scope = rs__scope_repository(ref->path, actions);
	if (!scope || rs__buf_oom(&path)) {
		free(scope);
		rs_buf_dispose(&path);
		return rs__oom();
	}
	req->url = path.ptr;
	req->scope = scope;
	error = rs__registry_do(c, *ep, req, resp);
	req->url = req->scope = NULL;
	free(scope);
	rs_buf_dispose(&path);
	return error;
}

int rs_manifest_fetch(rs_client *c, const rs_ref *ref, rs_buf *body, char **media_type,
                      char **digest)
{
	rs__endpoint *ep;
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	char *name = ref_name(ref);
	char computed[RS_DIGEST_MAX];
	const char *header_digest;
	int error;

	if (!name)
		return rs__oom();
	req.method = "GET";
	req.headers = accept_headers;
	req.max_body = RS_MANIFEST_MAX;
	req.follow_redirects = true;
	if ((error = rs__manifest_request(c, ref, rs_ref_identifier(ref), "pull", &req, &ep,
	                                  &resp)) < 0) {
		if (error == RS_ETOOBIG)
			rs__error_set(RS_ETOOBIG, "manifest %s is larger than 4 MiB", name);
		goto done;
	}
	if (resp.status != 200) {
		error = rs__registry_errorf(ep, &resp, "manifest %s", name);
		goto done;
	}
	rs__sha256_digest(computed, resp.body.ptr ? resp.body.ptr : "", resp.body.size);
	if (ref->digest && (error = rs__digest_verify(ref->digest, rs__buf_cstr(&resp.body),
	                                              resp.body.size)) < 0) {
		rs__error_prefix("manifest %s", name);
		goto done;
	}
	header_digest = rs__http_header(&resp, "docker-content-digest");
	if (header_digest &&
	    (error = check_digest_header(name, header_digest, rs__buf_cstr(&resp.body),
	                                 resp.body.size, "says its digest is", "received")) < 0)
		goto done;
	rs__buf_put(body, rs__buf_cstr(&resp.body), resp.body.size);
	if (rs__buf_oom(body)) {
		error = RS_ENOMEM;
		goto done;
	}
	if (media_type && rs__http_header(&resp, "content-type") &&
	    !(*media_type = content_type_of(&resp))) {
		error = rs__oom();
		goto done;
	}
	if (media_type && !rs__http_header(&resp, "content-type"))
		*media_type = NULL;
	if (digest && !(*digest = rs__strdup(ref->digest ? ref->digest : computed))) {
		if (media_type) {
			free(*media_type);
			*media_type = NULL;
		}
		error = rs__oom();
	}
done:
	free(name);
	rs__http_response_dispose(&resp);
	return error;
}

int rs_manifest_resolve(rs_client *c, const rs_ref *ref, char **digest, char **media_type,
                        int64_t *size)
{
	rs__endpoint *ep;
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	char *name = ref_name(ref);
	const char *d;
	int error;

	if (!name)
		return rs__oom();
	req.method = "HEAD";
	req.headers = accept_headers;
	req.follow_redirects = true;
	if ((error = rs__manifest_request(c, ref, rs_ref_identifier(ref), "pull", &req, &ep,
	                                  &resp)) < 0)
		goto done;
	if (resp.status != 200) {
		error = rs__registry_errorf(ep, &resp, "manifest %s", name);
		goto done;
	}
	d = rs__http_header(&resp, "docker-content-digest");
	/* a digest in another algorithm than the one asked for is no answer: hash the bytes */
	if (d && rs__digest_valid(d) && (!ref->digest || !strncmp(ref->digest, d, 7))) {
		if (ref->digest && strcmp(ref->digest, d)) {
			error = rs__error_set(RS_EDIGEST,
			                      "manifest %s: the registry answered for digest %s",
			                      name, d);
			goto done;
		}
		if (digest && !(*digest = rs__strdup(d))) {
			error = rs__oom();
			goto done;
		}
		if (media_type && (*media_type = content_type_of(&resp)) == NULL &&
		    rs__http_header(&resp, "content-type")) {
			if (digest) {
				free(*digest);
				*digest = NULL;
			}
			error = rs__oom();
			goto done;
		}
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
	rs__http_response_dispose(&resp);
	return error;
}

/* The error just set for a refused manifest PUT says the tag is immutable: TAG_INVALID, or a
 * 400/403/409/412 (MANIFEST_INVALID, DENIED, ...) whose words say "immutable". */
static bool immutable_answer(int status)
{
	const rs_error *e = rs_error_last();
	if (!e)
		return false;
	if (!strcmp(e->registry_code, "TAG_INVALID"))
		return true;
	if (status != 400 && status != 403 && status != 409 && status != 412)
		return false;
	for (const char *p = e->message; *p; p++)
		if (rs__str_niequal(p, "immutab", 7))
			return true;
	return false;
}

int rs_manifest_upload(rs_client *c, const rs_ref *ref, const void *body, size_t len,
                       const char *media_type, char **digest)
{
	return rs__manifest_put(c, ref, body, len, media_type, digest, NULL);
}

int rs__manifest_put(rs_client *c, const rs_ref *ref, const void *body, size_t len,
                     const char *media_type, char **digest, bool *oci_subject)
{
	rs__endpoint *ep;
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	rs_buf ct = RS_BUF_INIT;
	char *name = ref_name(ref);
	char computed[RS_DIGEST_MAX];
	const char *headers[2];
	int error;

	if (!name)
		return rs__oom();
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
	rs__buf_printf(&ct, "Content-Type: %s", media_type);
	if (rs__buf_oom(&ct)) {
		error = RS_ENOMEM;
		goto done;
	}
	headers[0] = ct.ptr;
	headers[1] = NULL;
	req.method = "PUT";
	req.headers = headers;
	req.body = body;
	req.body_len = len;
	if ((error = rs__manifest_request(c, ref, ref->tag && !ref->digest ? ref->tag : computed,
	                                  "pull,push", &req, &ep, &resp)) < 0)
		goto done;
	if (resp.status != 201 && resp.status != 200 && resp.status != 202) {
		error = rs__registry_errorf(ep, &resp, "cannot push manifest %s", name);
		if (ref->tag && !ref->digest && immutable_answer(resp.status)) {
			rs_error said = *rs_error_last(); /* the record is rewritten below */
			error = rs__error_set_http(RS_EEXISTS, resp.status, said.registry_code,
			                           "tag %s is immutable: the registry refused to "
			                           "overwrite it (%s)",
			                           name, said.message);
		}
		goto done;
	}
	{
		const char *d = rs__http_header(&resp, "docker-content-digest");
		if (d &&
		    (error = check_digest_header(name, d, body, len, "stored digest", "sent")) < 0)
			goto done;
	}
	if (digest && !(*digest = rs__strdup(computed)))
		error = rs__oom();
	if (oci_subject)
		*oci_subject = rs__http_header(&resp, "oci-subject") != NULL;
done:
	free(name);
	rs_buf_dispose(&ct);
	rs__http_response_dispose(&resp);
	return error;
}

int rs_manifest_remove(rs_client *c, const rs_ref *ref)
{
	rs__endpoint *ep;
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	char *name = ref_name(ref);
	int error;

	if (!name)
		return rs__oom();
	if (!ref->digest) {
		error = rs__error_set(RS_EINVAL, "deleting %s needs a digest, not a tag", name);
		goto done;
	}
	req.method = "DELETE";
	if ((error = rs__manifest_request(c, ref, ref->digest, "delete", &req, &ep, &resp)) < 0)
		goto done;
	if (resp.status == 202 || resp.status == 200 || resp.status == 204)
		goto done;
	{
		error = rs__registry_errorf(ep, &resp, "cannot delete %s", name);
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
	rs__http_response_dispose(&resp);
	return error;
}

/* ---- tag deletion ------------------------------------------------------------------------ */

/* "deletion is disabled on HOST" for a 405 or an UNSUPPORTED answer; returns RS_EUNSUPPORTED. */
static int deletion_disabled(const rs__endpoint *ep, int status, const char *what)
{
	return rs__error_set_http(RS_EUNSUPPORTED, status, "UNSUPPORTED",
	                          "%s: deletion is disabled on %s (%d; the registry operator must "
	                          "enable it, e.g. storage.delete.enabled: true for "
	                          "docker-registry)",
	                          what, ep->domain, status);
}

static bool says_unsupported(void)
{
	const rs_error *last = rs_error_last();
	return last && !strcmp(last->registry_code, "UNSUPPORTED");
}

/* The empty config blob in the repository: HEAD, else a 2-byte upload. */
static int ensure_empty_blob(rs_client *c, const rs_ref *repo)
{
	rs_reader *rd = NULL;
	int error = rs__blob_head(c, repo, EMPTY_BLOB_DIGEST, NULL);

	if (error != RS_ENOTFOUND)
		return error;
	rs_error_clear();
	if ((error = rs_reader_from_memory(&rd, EMPTY_BLOB, 2)) < 0)
		return error;
	error = rs__blob_upload(c, repo, EMPTY_BLOB_DIGEST, 2, rd, NULL, NULL);
	rs_reader_free(rd);
	return error;
}

/* A manifest no other tag can point at: the empty config, no layers, a random annotation. */
static int placeholder_build(rs_buf *out, const char *name, const char *tag)
{
	unsigned char nonce[16];
	char hex[sizeof(nonce) * 2 + 1];
	rs_buf note = RS_BUF_INIT;
	rs_descriptor config = {0};
	int error;

	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return rs__error_set(RS_ERROR,
		                     "cannot draw random bytes for a placeholder manifest");
	for (size_t i = 0; i < sizeof(nonce); i++)
		snprintf(hex + 2 * i, 3, "%02x", nonce[i]);
	rs__buf_printf(&note, "regship untag %s:%s %s (deleted right after it was put)", name, tag,
	               hex);
	if (rs__buf_oom(&note))
		return RS_ENOMEM;
	config.media_type = (char *)RS_MT_OCI_EMPTY;
	config.digest = (char *)EMPTY_BLOB_DIGEST;
	config.size = 2;
	{
		const char *kv[] = {PLACEHOLDER_ANNOTATION, note.ptr, NULL};
		error = rs_manifest_build(out, RS_MT_OCI_MANIFEST, &config, NULL, 0, kv);
	}
	rs_buf_dispose(&note);
	return error;
}

static int untag_with_placeholder(char **placeholder, rs_client *c, const rs_ref *ref,
                                  const char *name)
{
	rs_buf body = RS_BUF_INIT;
	rs_ref *by_digest = NULL;
	int error;

	if ((error = ensure_empty_blob(c, ref)) < 0) {
		rs__error_prefix("cannot untag %s:%s: uploading the placeholder's config", name,
		                 ref->tag);
		goto done;
	}
	if ((error = placeholder_build(&body, ref->path, ref->tag)) < 0)
		goto done;
	if ((error = rs_manifest_upload(c, ref, body.ptr, body.size, RS_MT_OCI_MANIFEST,
	                                placeholder)) < 0) {
		rs__error_prefix("cannot untag %s:%s", name, ref->tag);
		goto done;
	}
	if ((error = rs_ref_with_digest(&by_digest, ref, *placeholder)) < 0 ||
	    (error = rs_manifest_remove(c, by_digest)) < 0) {
		rs__error_prefix("%s:%s now names the placeholder manifest %s, which could not be "
		                 "deleted",
		                 name, ref->tag, *placeholder);
		goto done;
	}
done:
	rs_ref_free(by_digest);
	rs_buf_dispose(&body);
	return error;
}

int rs__manifest_untag(rs_client *c, const rs_ref *ref, char **placeholder)
{
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	rs__endpoint *ep = NULL;
	rs_buf what = RS_BUF_INIT;
	char *name;
	int error;

	*placeholder = NULL;
	if (!ref->tag || ref->digest)
		return rs__error_set(RS_EINVAL, "untag needs a tag without a digest");
	if (!(name = rs_ref_format_name(ref)))
		return RS_ENOMEM;
	/* OCI distribution 1.1: a registry may delete a tag */
	req.method = "DELETE";
	if ((error = rs__manifest_request(c, ref, ref->tag, "delete", &req, &ep, &resp)) < 0)
		goto done;
	if (resp.status == 202 || resp.status == 200 || resp.status == 204)
		goto done;
	error = rs__registry_errorf(ep, &resp, "cannot untag %s:%s", name, ref->tag);
	if (error == RS_EAUTH || error == RS_ENOTFOUND || error == RS_ENET || resp.status == 405 ||
	    says_unsupported()) {
		/* not "this registry cannot delete tags": deletion is off, or not allowed, or
		 * the tag went away, or the registry is in trouble. Nothing was changed. */
		if (resp.status == 405 || (says_unsupported() && error != RS_EAUTH)) {
			rs__buf_printf(&what, "cannot untag %s:%s", name, ref->tag);
			error = rs__buf_oom(&what) ? RS_ENOMEM
			                           : deletion_disabled(ep, resp.status, what.ptr);
		}
		goto done;
	}
	/* distribution 2.x answers 400 DIGEST_INVALID: it only deletes by digest */
	rs_error_clear();
	error = untag_with_placeholder(placeholder, c, ref, name);
done:
	rs__http_response_dispose(&resp);
	rs_buf_dispose(&what);
	free(name);
	return error;
}

int rs__manifest_delete_probe(rs_client *c, const rs_ref *repo)
{
	static const char nothing[] =
	        "sha256:0000000000000000000000000000000000000000000000000000000000000000";
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	rs__endpoint *ep = NULL;
	char *name = rs_ref_format_name(repo);
	int error;

	if (!name)
		return rs__oom();
	req.method = "DELETE";
	if ((error = rs__manifest_request(c, repo, nothing, "delete", &req, &ep, &resp)) < 0)
		goto done;
	if (resp.status == 405) {
		error = deletion_disabled(ep, resp.status, name);
		goto done;
	}
	if (resp.status == 404 || resp.status == 202 || resp.status == 200 || resp.status == 204)
		goto done; /* "unknown": the registry would delete */
	error = rs__registry_errorf(ep, &resp, "%s", name);
	if (says_unsupported() && error != RS_EAUTH)
		error = deletion_disabled(ep, resp.status, name);
	else if (error == RS_ENOTFOUND) {
		rs_error_clear();
		error = 0;
	}
done:
	rs__http_response_dispose(&resp);
	free(name);
	return error;
}
