/*
 * Chunked blob uploads: the bytes go in PATCHes with a Content-Range, and after each one the
 * registry's Range says what it kept (less than was sent: send again from there). A PATCH that
 * broke asks the upload's status (GET <location>) and goes on from what the registry holds.
 * Used by rs__blob_upload (a rewindable reader, chunk by chunk) and rs__blob_upload_streamed
 * (each chunk read into memory first); the session itself is in blobs_upload.c.
 */
#include "blobs_int.h"

#include "auth/scope.h"
#include "util/reader.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A reader limited to the next `limit` bytes of another (one chunk). */
typedef struct limit_reader {
	rs_reader base;
	rs_reader *inner;
	uint64_t left;
} limit_reader;

static long long limit_read(rs_reader *r, void *buf, size_t len)
{
	limit_reader *l = (limit_reader *)r;
	long long n;
	if (!l->left)
		return 0;
	if (len > l->left)
		len = (size_t)l->left;
	n = rs_reader_read(l->inner, buf, len);
	if (n > 0)
		l->left -= (uint64_t)n;
	else if (n == 0)
		return rs__error_set(RS_EFORMAT, "blob ended %" PRIu64 " bytes early", l->left);
	return n;
}

/* The end of what an upload holds, from a Range header "0-N" or "bytes=0-N": N+1 bytes. "0-0"
 * is ambiguous (distribution/distribution#2363) and read as nothing. */
static bool range_kept(const char *v, uint64_t *kept)
{
	const char *dash;
	char *end;
	unsigned long long last;
	if (!v)
		return false;
	if (rs__str_startswith(v, "bytes="))
		v += 6;
	dash = strchr(v, '-');
	if (!dash)
		return false;
	last = strtoull(dash + 1, &end, 10);
	if (end == dash + 1)
		return false;
	*kept = last ? (uint64_t)last + 1 : 0;
	return true;
}

/* Position a reader at byte `at`: rewind, then read and drop. */
static int reader_seek(rs_reader *r, uint64_t at)
{
	char buf[65536];
	int error;
	if ((error = rs_reader_rewind(r)) < 0)
		return error;
	while (at) {
		long long n = rs_reader_read(r, buf, at < sizeof(buf) ? (size_t)at : sizeof(buf));
		if (n < 0)
			return (int)n;
		if (n == 0)
			return rs__error_set(RS_EFORMAT, "blob ended before the resume point");
		at -= (uint64_t)n;
	}
	return 0;
}

/* GET <location>: how much of the upload the registry holds, and where to go on. */
static int upload_status(rs_client *c, rs__endpoint *ep, const char *scope, char **location,
                         uint64_t *kept)
{
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	const char *loc;
	int error;
	req.method = "GET";
	req.url = *location;
	req.url_kind = RS__URL_UPLOAD;
	req.scope = scope;
	if ((error = rs__registry_do(c, ep, &req, &resp)) < 0)
		goto done;
	if ((resp.status != 204 && resp.status != 202 && resp.status != 200) ||
	    !range_kept(rs__http_header(&resp, "range"), kept)) {
		error = rs__registry_error(ep, &resp, "upload status");
		goto done;
	}
	loc = rs__http_header(&resp, "location");
	if (loc) {
		char *next = NULL;
		if ((error = rs__upload_location(&next, c, ep, &resp, loc)) < 0)
			goto done;
		free(*location);
		*location = next;
	}
done:
	rs__http_response_dispose(&resp);
	return error;
}

/* PATCH the next n bytes at the current offset. */
static int chunk_send(rs__upload *u, uint64_t n, rs__http_response *resp)
{
	static const char *const ct = "Content-Type: application/octet-stream";
	rs__reg_request req = {0};
	limit_reader lr = {{limit_read, NULL, NULL, 0, NULL}, u->r, n};
	rs_buf range = RS_BUF_INIT;
	const char *hdrs[3];
	int error;
	lr.base.size = (int64_t)n;
	if ((error = rs__upload_same_origin(u->ep, u->location)) < 0)
		return error;
	rs__buf_printf(&range, "Content-Range: %" PRIu64 "-%" PRIu64, u->offset, u->offset + n - 1);
	if (rs__buf_oom(&range))
		return rs__oom();
	hdrs[0] = ct;
	hdrs[1] = range.ptr;
	hdrs[2] = NULL;
	req.method = "PATCH";
	req.url = u->location;
	req.url_kind = RS__URL_UPLOAD;
	req.scope = u->scope;
	req.headers = hdrs;
	req.body_reader = &lr.base;
	error = rs__registry_do(u->c, u->ep, &req, resp);
	rs_buf_dispose(&range);
	if (error == 0 && rs__retryable_status(resp->status))
		error = rs__registry_error(u->ep, resp, "chunk upload");
	return error;
}

/* A PATCH broke: ask what the registry kept and go on from there (0), or give up. */
static int chunk_resume(rs__upload *u, int error)
{
	if (!rs__retryable_error(error) || u->resumes++ >= rs__retry_limit(u->c))
		return error;
	rs__retry_sleep(u->c, rs__retry_delay_ms(u->resumes - 1, NULL), rs_error_last()->message);
	if ((error = upload_status(u->c, u->ep, u->scope, &u->location, &u->offset)) < 0)
		return error;
	if (u->offset < u->base)
		return rs__error_set(RS_EPROTO,
		                     "%s reports holding %" PRIu64 " bytes of an upload that had "
		                     "%" PRIu64 " already",
		                     u->ep->domain, u->offset, u->base);
	return reader_seek(u->r, u->offset - u->base);
}

/* The answer to a PATCH of n bytes: what the registry kept, progress, the next Location. */
static int chunk_accepted(rs__upload *u, const rs__http_response *resp, uint64_t n)
{
	uint64_t kept = u->offset + n;
	const char *loc;
	int error;
	if (resp->status != 202 && resp->status != 201 && resp->status != 204) {
		if (resp->status == 401 || resp->status == 403)
			return rs__registry_error(u->ep, resp, "chunk upload");
		rs__registry_error(u->ep, resp, "chunk upload");
		return RS_EUNSUPPORTED;
	}
	if (range_kept(rs__http_header(resp, "range"), &kept) && kept != u->offset + n) {
		if (kept > u->offset + n || u->stalls++ > rs__retry_limit(u->c))
			return rs__error_set(RS_EPROTO,
			                     "%s reports holding %" PRIu64
			                     " bytes of the upload of "
			                     "%s after %" PRIu64 " were sent",
			                     u->ep->domain, kept, u->digest, u->offset + n);
		/* the registry kept less than was sent: send again from where it stopped */
		if (kept < u->base)
			return rs__error_set(RS_EPROTO,
			                     "%s reports holding %" PRIu64
			                     " bytes of an upload that "
			                     "had %" PRIu64 " already",
			                     u->ep->domain, kept, u->base);
		if ((error = reader_seek(u->r, kept - u->base)) < 0)
			return error;
	}
	u->offset = kept;
	if (u->opts->progress && u->opts->progress(u->offset, u->opts->progress_payload) < 0)
		return rs__error_set(RS_EUSER, "upload cancelled");
	loc = rs__http_header(resp, "location");
	if (loc) {
		char *next = NULL;
		if ((error = rs__upload_location(&next, u->c, u->ep, resp, loc)) < 0)
			return error;
		free(u->location);
		u->location = next;
	}
	return 0;
}

/* PATCH chunk by chunk, then PUT ?digest=. After each chunk the registry's Range says what it
 * kept: less than was sent means sending again from there; a broken PATCH asks the upload's
 * status and resumes from what the registry holds. RS_EUNSUPPORTED when the registry refuses
 * chunks (the caller falls back to a monolithic upload). Takes location. */
int rs__upload_chunked(rs_client *c, rs__endpoint *ep, const rs_ref *repo, const char *digest,
                       int64_t size, rs_reader *r, const rs__upload_options *opts, char *location,
                       uint64_t min_chunk)
{
	rs__upload u = {c, ep, repo, digest, r, opts, NULL, location, 0, 0, 0, 0};
	uint64_t chunk = opts->chunk_size;
	int error = 0;
	if (min_chunk && chunk < min_chunk)
		chunk = min_chunk;
	if (!(u.scope = rs__scope_repository(repo->path, "pull,push")))
		error = rs__oom();
	while (error == 0 && u.offset < (uint64_t)size) {
		rs__http_response resp = {0};
		uint64_t n = chunk < (uint64_t)size - u.offset ? chunk : (uint64_t)size - u.offset;
		error = chunk_send(&u, n, &resp);
		if (error < 0)
			error = chunk_resume(&u, error);
		else
			error = chunk_accepted(&u, &resp, n);
		rs__http_response_dispose(&resp);
	}
	if (!error)
		error = rs__upload_put_final(c, ep, repo, u.location, digest, NULL, NULL);
	free(u.location);
	free(u.scope);
	return error;
}

/* A streamed upload in chunks: each chunk is read into memory first (its length goes in the
 * Content-Range), then PATCHed as any chunk is (resumed within the chunk when a PATCH broke). */
int rs__upload_stream_chunks(rs__upload *u, rs_reader *in, uint64_t chunk)
{
	unsigned char *buf = rs__malloc((size_t)chunk);
	int error = 0;
	if (!buf)
		return rs__oom();
	for (;;) {
		rs_reader *mem = NULL;
		uint64_t len = 0;
		long long n = 1;
		while (len < chunk &&
		       (n = rs_reader_read(in, buf + len, (size_t)(chunk - len))) > 0)
			len += (uint64_t)n;
		if (n < 0 || !len) {
			error = n < 0 ? (int)n : 0;
			break;
		}
		if ((error = rs_reader_from_memory(&mem, buf, (size_t)len)) < 0)
			break;
		u->r = mem;
		u->base = u->offset;
		while (error == 0 && u->offset < u->base + len) {
			rs__http_response resp = {0};
			uint64_t left = u->base + len - u->offset;
			error = chunk_send(u, left, &resp);
			if (error < 0)
				error = chunk_resume(u, error);
			else
				error = chunk_accepted(u, &resp, left);
			rs__http_response_dispose(&resp);
		}
		rs_reader_free(mem);
		u->r = NULL;
		if (error < 0 || n == 0)
			break;
	}
	free(buf);
	return error;
}
