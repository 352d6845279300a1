/*
 * Blob upload sessions: opening one (POST), the Location an answer hands back (checked by the
 * URL policy), the final PUT ?digest=, and the two uploads built on them with their retry step
 * (upload_again): rs__blob_upload (monolithic, or chunked with the monolithic fallback) and
 * rs__blob_upload_streamed (digest and size known at the end). The chunked PATCHes are in
 * blobs_chunked.c.
 */
#include "blobs_int.h"

#include "auth/scope.h"
#include "util/reader.h"

#include <stdlib.h>
#include <string.h>

/* POST (empty body) to an upload path: a new upload session, or a mount. */
int rs__upload_post(rs_client *c, rs__endpoint *ep, const char *path, const char *scope,
                    rs__http_response *resp)
{
	rs__reg_request req = {0};
	req.method = "POST";
	req.url = path;
	req.scope = scope;
	req.body = "";
	req.body_len = 0;
	return rs__registry_do(c, ep, &req, resp);
}

/* The Location of an upload answer, resolved, and refused unless the URL policy allows it
 * (rs__url_check: http/https only, plain HTTP only where allowed). */
int rs__upload_location(char **out, rs_client *c, rs__endpoint *ep, const rs__http_response *resp,
                        const char *loc)
{
	char *url = NULL;
	bool own_origin;
	int error;
	*out = NULL;
	if ((error = rs__url_resolve(&url, resp->url, loc)) < 0) {
		char *shown = error == RS_ENOMEM ? NULL : rs__escape(loc);
		if (!shown)
			return RS_ENOMEM;
		error = rs__error_set(RS_EPROTO,
		                      "upload Location from %s is not a valid URL: \"%s\"",
		                      ep->domain, shown);
		free(shown);
		return error;
	}
	if ((error = rs__url_check(&own_origin, c, ep, url, RS__URL_UPLOAD)) < 0) {
		free(url);
		return error;
	}
	*out = url;
	return 0;
}

static int open_upload(rs_client *c, rs__endpoint *ep, const rs_ref *repo, char **location,
                       uint64_t *min_chunk)
{
	rs__http_response resp = {0};
	rs_buf path = RS_BUF_INIT;
	char *scope = rs__scope_repository(repo->path, "pull,push");
	const char *loc;
	int error;
	rs__buf_printf(&path, "/v2/%s/blobs/uploads/", repo->path);
	if (!scope || rs__buf_oom(&path)) {
		error = rs__oom();
		goto done;
	}
	if ((error = rs__upload_post(c, ep, path.ptr, scope, &resp)) < 0)
		goto done;
	if (resp.status != 202 && resp.status != 201) {
		error = rs__registry_errorf(ep, &resp, "cannot start an upload to %s", repo->path);
		goto done;
	}
	loc = rs__http_header(&resp, "location");
	if (!loc) {
		error = rs__error_set(RS_EPROTO, "%s: upload started without a Location",
		                      ep->domain);
		goto done;
	}
	if ((error = rs__upload_location(location, c, ep, &resp, loc)) < 0)
		goto done;
	if (min_chunk) {
		const char *m = rs__http_header(&resp, "oci-chunk-min-length");
		*min_chunk = m ? strtoull(m, NULL, 10) : 0;
	}
done:
	free(scope);
	rs_buf_dispose(&path);
	rs__http_response_dispose(&resp);
	return error;
}

int rs__upload_same_origin(rs__endpoint *ep, const char *url)
{
	char *o1 = NULL, *o2 = NULL;
	int error = 0;
	char *base = rs__endpoint_base(ep);
	error = base ? rs__url_origin(&o1, base) : rs__oom();
	free(base);
	if (error < 0 || (error = rs__url_origin(&o2, url)) < 0)
		goto done;
	if (strcmp(o1, o2))
		error = rs__error_set(RS_EPROTO,
		                      "%s sent an upload Location on another origin (%s); refusing "
		                      "to send the blob and credentials there",
		                      ep->domain, o2);
done:
	free(o1);
	free(o2);
	return error;
}

int rs__blob_stored_check(rs__endpoint *ep, const rs__http_response *resp, const char *digest,
                          const char *what)
{
	const char *d = rs__http_header(resp, "docker-content-digest");
	char *shown;
	int error;
	if (!d || !strcmp(d, digest))
		return 0;
	if (!(shown = rs__escape(d)))
		return rs__oom();
	error = rs__error_set(RS_EDIGEST,
	                      "%s answered the %s of %s with Docker-Content-Digest \"%s\", "
	                      "another blob's; refusing it",
	                      ep->domain, what, digest, shown);
	free(shown);
	return error;
}

int rs__upload_put_final(rs_client *c, rs__endpoint *ep, const rs_ref *repo, const char *location,
                         const char *digest, rs_reader *body, const rs__upload_options *opts)
{
	static const char *const hdrs[] = {"Content-Type: application/octet-stream", NULL};
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	char *url = rs__url_add_query(location, "digest", digest);
	char *scope = rs__scope_repository(repo->path, "pull,push");
	int error;
	if (!url || !scope) {
		error = rs__oom();
		goto done;
	}
	if ((error = rs__upload_same_origin(ep, url)) < 0)
		goto done;
	req.method = "PUT";
	req.url = url;
	req.url_kind = RS__URL_UPLOAD;
	req.scope = scope;
	req.headers = hdrs;
	if (body)
		req.body_reader = body;
	else {
		req.body = "";
		req.body_len = 0;
	}
	if (opts) {
		req.progress = opts->progress;
		req.progress_payload = opts->progress_payload;
	}
	if ((error = rs__registry_do(c, ep, &req, &resp)) < 0)
		goto done;
	if (resp.status != 201 && resp.status != 204 && resp.status != 200) {
		error = rs__registry_errorf(ep, &resp, "upload of %s to %s failed", digest,
		                            repo->path);
	} else
		error = rs__blob_stored_check(ep, &resp, digest, "upload");
done:
	free(url);
	free(scope);
	rs__http_response_dispose(&resp);
	return error;
}

static int upload_once(rs_client *c, rs__endpoint *ep, const rs_ref *repo, const char *digest,
                       int64_t size, rs_reader *r, const rs__upload_options *opts,
                       const char *upload_url)
{
	char *location = NULL;
	uint64_t min_chunk = 0;
	int error;
	if (upload_url) {
		if (!(location = rs__strdup(upload_url)))
			return rs__oom();
	} else if ((error = open_upload(c, ep, repo, &location, &min_chunk)) < 0)
		return error;
	if (opts->chunk_size && size > 0) {
		error = rs__upload_chunked(c, ep, repo, digest, size, r, opts, location, min_chunk);
		location = NULL; /* consumed */
		if (error != RS_EUNSUPPORTED)
			return error;
		/* the registry refused chunks: start again, in one piece */
		rs_error_clear();
		if ((error = rs_reader_rewind(r)) < 0)
			return rs__error_set(RS_EUNSUPPORTED,
			                     "%s refused a chunked upload and the blob cannot be "
			                     "read again for a monolithic one",
			                     ep->domain);
		if ((error = open_upload(c, ep, repo, &location, NULL)) < 0)
			return error;
	}
	error = rs__upload_put_final(c, ep, repo, location, digest, r, opts);
	free(location);
	return error;
}

/* What the attempts of one upload share: its options, its endpoint, when the first began and
 * how many retries they may take. */
typedef struct attempts {
	const rs__upload_options *opts; /* the caller's, or the defaults (monolithic, silent) */
	rs__endpoint *ep;
	double started;
	int limit;
} attempts;

static int attempts_start(attempts *a, rs_client *c, const rs_ref *repo,
                          const rs__upload_options *opts)
{
	static const rs__upload_options defaults = {0, NULL, NULL};
	a->started = rs__now();
	a->limit = rs__retry_limit(c);
	a->opts = opts ? opts : &defaults;
	return rs__client_endpoint(&a->ep, c, repo->domain);
}

/* After a failed upload attempt: whether to try again, in a fresh session with the bytes read
 * again from the start (the reader rewound, the retry delay slept), or to give up with the
 * attempt's error kept. */
static bool upload_again(rs_client *c, rs_reader *r, int error, int attempt, const attempts *a)
{
	rs_error saved;
	if (error == 0 || !rs__retryable_error(error) || attempt >= a->limit ||
	    !rs__retry_time_left(c, a->started))
		return false;
	saved = *rs_error_last();
	if (rs_reader_rewind(r) < 0) {
		rs__error_set_http(saved.code, saved.http_status, saved.registry_code, "%s",
		                   saved.message);
		return false;
	}
	rs__retry_sleep(c, rs__retry_delay_ms(attempt, NULL), saved.message);
	return true;
}

int rs__blob_upload(rs_client *c, const rs_ref *repo, const char *digest, int64_t size,
                    rs_reader *r, const rs__upload_options *opts, const char *upload_url)
{
	attempts a;
	int error;
	if ((error = attempts_start(&a, c, repo, opts)) < 0)
		return error;
	for (int attempt = 0;; attempt++) {
		error = upload_once(c, a.ep, repo, digest, size, r, a.opts,
		                    attempt ? NULL : upload_url);
		if (!upload_again(c, r, error, attempt, &a))
			return error;
	}
}

/* A streamed upload in one PATCH with no length (chunked transfer encoding). */
static int stream_patch(rs__upload *u, rs_reader *in)
{
	static const char *const hdrs[] = {"Content-Type: application/octet-stream", NULL};
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	const char *loc;
	int error;
	if ((error = rs__upload_same_origin(u->ep, u->location)) < 0)
		return error;
	req.method = "PATCH";
	req.url = u->location;
	req.url_kind = RS__URL_UPLOAD;
	req.scope = u->scope;
	req.headers = hdrs;
	req.body_reader = in;
	req.progress = u->opts->progress;
	req.progress_payload = u->opts->progress_payload;
	if ((error = rs__registry_do(u->c, u->ep, &req, &resp)) < 0)
		goto done;
	if (resp.status != 202 && resp.status != 204 && resp.status != 201) {
		error = rs__registry_errorf(u->ep, &resp, "streamed upload to %s", u->repo->path);
		goto done;
	}
	if ((loc = rs__http_header(&resp, "location"))) {
		char *next = NULL;
		if ((error = rs__upload_location(&next, u->c, u->ep, &resp, loc)) < 0)
			goto done;
		free(u->location);
		u->location = next;
	}
done:
	rs__http_response_dispose(&resp);
	return error;
}

/* The largest OCI-Chunk-Min-Length a streamed upload holds in memory to honour. */
#define STREAM_CHUNK_MAX (64u * 1024 * 1024)

/* One streamed upload: POST, the bytes (hashed on the way) in PATCHes, then PUT ?digest=. */
static int stream_once(rs_client *c, rs__endpoint *ep, const rs_ref *repo, rs_reader *r,
                       const rs__upload_options *opts, char digest[RS_DIGEST_MAX], int64_t *size)
{
	rs__upload u = {c, ep, repo, "a streamed blob", NULL, opts, NULL, NULL, 0, 0, 0, 0};
	rs_reader *hashing = NULL;
	uint64_t bytes = 0, min_chunk = 0;
	int error;
	if (!(u.scope = rs__scope_repository(repo->path, "pull,push")))
		return rs__oom();
	if ((error = open_upload(c, ep, repo, &u.location, &min_chunk)) < 0 ||
	    (error = rs__reader_verify(&hashing, r, NULL, -1, false)) < 0)
		goto done;
	hashing->size = -1; /* the length is known at the end only */
	/* each chunk is held in memory: a registry's minimum over STREAM_CHUNK_MAX (and over the
	 * chunk size asked for) is met by sending the blob in one PATCH instead */
	if (opts->chunk_size && (min_chunk <= opts->chunk_size || min_chunk <= STREAM_CHUNK_MAX)) {
		error = rs__upload_stream_chunks(
		        &u, hashing, opts->chunk_size > min_chunk ? opts->chunk_size : min_chunk);
		if (error != RS_EUNSUPPORTED)
			goto sent;
		/* the registry refused chunks: start again, in one piece */
		rs_error_clear();
		free(u.location);
		u.location = NULL;
		if ((error = rs_reader_rewind(hashing)) < 0 ||
		    (error = open_upload(c, ep, repo, &u.location, NULL)) < 0)
			goto done;
	}
	error = stream_patch(&u, hashing);
sent:
	if (error < 0 || (error = rs__reader_verify_result(hashing, digest, &bytes)) < 0)
		goto done;
	*size = (int64_t)bytes;
	error = rs__upload_put_final(c, ep, repo, u.location, digest, NULL, NULL);
done:
	rs_reader_free(hashing);
	free(u.location);
	free(u.scope);
	return error;
}

int rs__blob_upload_streamed(rs_client *c, const rs_ref *repo, rs_reader *r,
                             const rs__upload_options *opts, char digest[RS_DIGEST_MAX],
                             int64_t *size)
{
	attempts a;
	int error;
	if ((error = attempts_start(&a, c, repo, opts)) < 0)
		return error;
	for (int attempt = 0;; attempt++) {
		error = stream_once(c, a.ep, repo, r, a.opts, digest, size);
		if (!upload_again(c, r, error, attempt, &a))
			return error;
	}
}
