/* Blobs: HEAD, streaming GET, uploads (monolithic, chunked, into a mount's upload), mounts. */
#include "registry.h"

#include "auth/scope.h"
#include "util/reader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* 256 KiB: one curl write at most (CURLOPT_BUFFERSIZE); with --jobs 4 a bigger ring showed no
 * gain on loopback but cost its size in peak RSS per download (issue 16) */
#define RS_PIPE_CAPACITY (256u << 10)

int rs__blob_head(rs_client *c, const rs_ref *repo, const char *digest, int64_t *size)
{
	rs__endpoint *ep;
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	rs_buf path = RS_BUF_INIT;
	char *scope = NULL;
	int error;
	if ((error = rs__client_endpoint(&ep, c, repo->domain)) < 0)
		return error;
	rs__buf_printf(&path, "/v2/%s/blobs/%s", repo->path, digest);
	scope = rs__scope_repository(repo->path, "pull");
	if (!scope || rs__buf_oom(&path)) {
		error = rs__oom();
		goto done;
	}
	req.method = "HEAD";
	req.url = path.ptr;
	req.scope = scope;
	req.follow_redirects = true;
	if ((error = rs__registry_do(c, ep, &req, &resp)) < 0)
		goto done;
	if (resp.status == 200) {
		const char *cl = rs__http_header(&resp, "content-length");
		if (size)
			*size = cl ? strtoll(cl, NULL, 10) : -1;
	} else if (resp.status == 404) {
		error = RS_ENOTFOUND;
		rs__error_set_http(RS_ENOTFOUND, 404, "BLOB_UNKNOWN", "blob %s not found in %s",
		                   digest, repo->path);
	} else {
		error = rs__registry_errorf(ep, &resp, "blob %s in %s", digest, repo->path);
	}
done:
	free(scope);
	rs_buf_dispose(&path);
	rs__http_response_dispose(&resp);
	return error;
}

/* ---- streaming GET: a producer thread and a bounded buffer ---------------------------- */

typedef struct blob_pipe {
	rs_reader base;
	rs_client *client;
	rs__endpoint *ep;
	char *path, *scope, *what;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *buf;
	size_t head, len; /* ring buffer */
	bool done, cancel;
	int error;
	rs_error error_detail;
	uint64_t delivered; /* bytes handed to the buffer: where a retry resumes */
	uint64_t start; /* the byte the reader starts at (rs__blob_open_at) */
} blob_pipe;

static int pipe_sink(const void *data, size_t len, void *payload)
{
	blob_pipe *p = payload;
	const char *d = data;
	pthread_mutex_lock(&p->lock);
	while (len) {
		size_t space, tail, n;
		while (p->len == RS_PIPE_CAPACITY && !p->cancel)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->cancel) {
			pthread_mutex_unlock(&p->lock);
			return RS_EUSER;
		}
		space = RS_PIPE_CAPACITY - p->len;
		tail = (p->head + p->len) % RS_PIPE_CAPACITY;
		n = len < space ? len : space;
		if (n > RS_PIPE_CAPACITY - tail)
			n = RS_PIPE_CAPACITY - tail;
		memcpy(p->buf + tail, d, n);
		p->len += n;
		p->delivered += n;
		d += n;
		len -= n;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static void *pipe_main(void *arg)
{
	blob_pipe *p = arg;
	rs__http_response resp = {0};
	double started = rs__now();
	int error = 0, limit = rs__retry_limit(p->client);
	for (int attempt = 0;; attempt++) {
		rs__reg_request req = {0};
		bool cancelled;
		req.method = "GET";
		req.url = p->path;
		req.scope = p->scope;
		req.follow_redirects = true;
		req.sink = pipe_sink;
		req.sink_payload = p;
		/* after a broken transfer, go on from the last byte received (Range) */
		pthread_mutex_lock(&p->lock);
		req.resume_from = p->delivered;
		pthread_mutex_unlock(&p->lock);
		rs__http_response_dispose(&resp);
		error = rs__registry_do(p->client, p->ep, &req, &resp);
		if (error == 0 && resp.status != 200 && resp.status != 206) {
			error = rs__registry_error(p->ep, &resp, p->what);
			if (!rs__retryable_status(resp.status))
				break;
		} else if (error == 0) {
			break;
		} else if (!rs__retryable_error(error)) {
			break;
		}
		pthread_mutex_lock(&p->lock);
		cancelled = p->cancel;
		pthread_mutex_unlock(&p->lock);
		if (cancelled || attempt >= limit || !rs__retry_time_left(p->client, started))
			break;
		rs__retry_sleep(p->client, rs__retry_delay_ms(attempt, &resp),
		                rs_error_is_set() ? rs_error_last()->message : p->what);
	}
	pthread_mutex_lock(&p->lock);
	p->error = error;
	if (error < 0) {
		if (!rs_error_is_set()) /* a silent reader or callback: say what failed */
			rs__error_set(error, "%s: %s", p->what, rs_strerror(error));
		p->error_detail = *rs_error_last();
	}
	p->done = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	rs__http_response_dispose(&resp);
	return NULL;
}

static long long pipe_read(rs_reader *r, void *out, size_t want)
{
	blob_pipe *p = (blob_pipe *)r;
	size_t n;
	pthread_mutex_lock(&p->lock);
	while (!p->len && !p->done)
		pthread_cond_wait(&p->cond, &p->lock);
	if (!p->len) {
		int error = p->error;
		if (error < 0)
			rs__error_set_http(p->error_detail.code, p->error_detail.http_status,
			                   p->error_detail.registry_code, "%s",
			                   p->error_detail.message);
		pthread_mutex_unlock(&p->lock);
		return error;
	}
	n = want < p->len ? want : p->len;
	if (n > RS_PIPE_CAPACITY - p->head)
		n = RS_PIPE_CAPACITY - p->head;
	memcpy(out, p->buf + p->head, n);
	p->head = (p->head + n) % RS_PIPE_CAPACITY;
	p->len -= n;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return (long long)n;
}

static void pipe_stop(blob_pipe *p)
{
	if (!p->started)
		return;
	pthread_mutex_lock(&p->lock);
	p->cancel = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	p->started = false;
}

static int pipe_start(blob_pipe *p)
{
	int rc;
	p->head = p->len = 0;
	p->delivered = p->start;
	p->done = p->cancel = false;
	p->error = 0;
	rc = pthread_create(&p->thread, NULL, pipe_main, p);
	if (rc)
		return rs__error_set(RS_ERROR, "cannot start a download thread: %s", strerror(rc));
	p->started = true;
	return 0;
}

static int pipe_rewind(rs_reader *r)
{
	blob_pipe *p = (blob_pipe *)r;
	pipe_stop(p);
	return pipe_start(p);
}

static void pipe_free(rs_reader *r)
{
	blob_pipe *p = (blob_pipe *)r;
	if (!p)
		return;
	pipe_stop(p);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->buf);
	free(p->path);
	free(p->scope);
	free(p->what);
	free(p);
}

int rs__blob_open(rs_reader **out, rs_client *c, const rs_ref *repo, const char *digest,
                  int64_t size)
{
	return rs__blob_open_at(out, c, repo, digest, size, 0);
}

int rs__blob_open_at(rs_reader **out, rs_client *c, const rs_ref *repo, const char *digest,
                     int64_t size, uint64_t offset)
{
	rs__endpoint *ep;
	blob_pipe *p;
	rs_buf b = RS_BUF_INIT;
	int error;
	if ((error = rs__client_endpoint(&ep, c, repo->domain)) < 0)
		return error;
	if (!(p = rs__calloc(1, sizeof(*p))))
		return rs__oom();
	p->base.read = pipe_read;
	p->base.rewind = pipe_rewind;
	p->base.free = pipe_free;
	p->base.size = size >= 0 && (uint64_t)size >= offset ? size - (int64_t)offset : size;
	p->start = offset;
	p->client = c;
	p->ep = ep;
	rs__buf_printf(&b, "/v2/%s/blobs/%s", repo->path, digest);
	p->path = rs__buf_detach(&b);
	p->scope = rs__scope_repository(repo->path, "pull");
	rs__buf_printf(&b, "blob %s of %s", digest, repo->path);
	p->what = rs__buf_detach(&b);
	p->buf = rs__malloc(RS_PIPE_CAPACITY);
	if (!p->path || !p->scope || !p->what || !p->buf) {
		free(p->path);
		free(p->scope);
		free(p->what);
		free(p->buf);
		free(p);
		return rs__oom();
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if ((error = pipe_start(p)) < 0) {
		pipe_free(&p->base);
		return error;
	}
	*out = &p->base;
	return 0;
}

/* ---- uploads ---------------------------------------------------------------------------- */

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

/* POST (empty body) to an upload path: a new upload session, or a mount. */
static int post_upload(rs_client *c, rs__endpoint *ep, const char *path, const char *scope,
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
static int upload_location(char **out, rs_client *c, rs__endpoint *ep,
                           const rs__http_response *resp, const char *loc)
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
	if ((error = post_upload(c, ep, path.ptr, scope, &resp)) < 0)
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
	if ((error = upload_location(location, c, ep, &resp, loc)) < 0)
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

static int same_origin_or_fail(rs__endpoint *ep, const char *url)
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

static int put_final(rs_client *c, rs__endpoint *ep, const rs_ref *repo, const char *location,
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
	if ((error = same_origin_or_fail(ep, url)) < 0)
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
	}
done:
	free(url);
	free(scope);
	rs__http_response_dispose(&resp);
	return error;
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
		if ((error = upload_location(&next, c, ep, &resp, loc)) < 0)
			goto done;
		free(*location);
		*location = next;
	}
done:
	rs__http_response_dispose(&resp);
	return error;
}

/* One chunked upload in progress. */
typedef struct chunked {
	rs_client *c;
	rs__endpoint *ep;
	const rs_ref *repo;
	const char *digest;
	rs_reader *r;
	const rs__upload_options *opts;
	char *scope;
	char *location; /* owned */
	uint64_t offset; /* bytes the registry holds */
	int resumes, stalls;
	uint64_t base; /* the offset of r's byte 0 (a streamed upload's chunk in memory) */
} chunked;

/* PATCH the next n bytes at the current offset. */
static int chunk_send(chunked *u, uint64_t n, rs__http_response *resp)
{
	static const char *const ct = "Content-Type: application/octet-stream";
	rs__reg_request req = {0};
	limit_reader lr = {{limit_read, NULL, NULL, 0, NULL}, u->r, n};
	rs_buf range = RS_BUF_INIT;
	const char *hdrs[3];
	int error;
	lr.base.size = (int64_t)n;
	if ((error = same_origin_or_fail(u->ep, u->location)) < 0)
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
static int chunk_resume(chunked *u, int error)
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
static int chunk_accepted(chunked *u, const rs__http_response *resp, uint64_t n)
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
		if ((error = upload_location(&next, u->c, u->ep, resp, loc)) < 0)
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
static int upload_chunked(rs_client *c, rs__endpoint *ep, const rs_ref *repo, const char *digest,
                          int64_t size, rs_reader *r, const rs__upload_options *opts,
                          char *location, uint64_t min_chunk)
{
	chunked u = {c, ep, repo, digest, r, opts, NULL, location, 0, 0, 0, 0};
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
		error = put_final(c, ep, repo, u.location, digest, NULL, NULL);
	free(u.location);
	free(u.scope);
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
		error = upload_chunked(c, ep, repo, digest, size, r, opts, location, min_chunk);
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
	error = put_final(c, ep, repo, location, digest, r, opts);
	free(location);
	return error;
}

/* After a failed upload attempt: whether to try again, in a fresh session with the bytes read
 * again from the start (the reader rewound, the retry delay slept), or to give up with the
 * attempt's error kept. */
static bool upload_again(rs_client *c, rs_reader *r, int error, int attempt, int limit,
                         double started)
{
	rs_error saved;
	if (error == 0 || !rs__retryable_error(error) || attempt >= limit ||
	    !rs__retry_time_left(c, started))
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
	static const rs__upload_options defaults = {0, NULL, NULL};
	rs__endpoint *ep;
	double started = rs__now();
	int error, limit = rs__retry_limit(c);
	if (!opts)
		opts = &defaults;
	if ((error = rs__client_endpoint(&ep, c, repo->domain)) < 0)
		return error;
	for (int attempt = 0;; attempt++) {
		error = upload_once(c, ep, repo, digest, size, r, opts,
		                    attempt ? NULL : upload_url);
		if (!upload_again(c, r, error, attempt, limit, started))
			return error;
	}
}

/* A streamed upload in chunks: each chunk is read into memory first (its length goes in the
 * Content-Range), then PATCHed as any chunk is (resumed within the chunk when a PATCH broke). */
static int stream_chunks(chunked *u, rs_reader *in, uint64_t chunk)
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

/* A streamed upload in one PATCH with no length (chunked transfer encoding). */
static int stream_patch(chunked *u, rs_reader *in)
{
	static const char *const hdrs[] = {"Content-Type: application/octet-stream", NULL};
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	const char *loc;
	int error;
	if ((error = same_origin_or_fail(u->ep, u->location)) < 0)
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
		if ((error = upload_location(&next, u->c, u->ep, &resp, loc)) < 0)
			goto done;
		free(u->location);
		u->location = next;
	}
done:
	rs__http_response_dispose(&resp);
	return error;
}

/* One streamed upload: POST, the bytes (hashed on the way) in PATCHes, then PUT ?digest=. */
static int stream_once(rs_client *c, rs__endpoint *ep, const rs_ref *repo, rs_reader *r,
                       const rs__upload_options *opts, char digest[RS_DIGEST_MAX], int64_t *size)
{
	chunked u = {c, ep, repo, "a streamed blob", NULL, opts, NULL, NULL, 0, 0, 0, 0};
	rs_reader *hashing = NULL;
	uint64_t bytes = 0, min_chunk = 0;
	int error;
	if (!(u.scope = rs__scope_repository(repo->path, "pull,push")))
		return rs__oom();
	if ((error = open_upload(c, ep, repo, &u.location, &min_chunk)) < 0 ||
	    (error = rs__reader_verify(&hashing, r, NULL, -1, false)) < 0)
		goto done;
	hashing->size = -1; /* the length is known at the end only */
	if (opts->chunk_size) {
		error = stream_chunks(&u, hashing,
		                      opts->chunk_size > min_chunk ? opts->chunk_size : min_chunk);
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
	error = put_final(c, ep, repo, u.location, digest, NULL, NULL);
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
	static const rs__upload_options defaults = {0, NULL, NULL};
	rs__endpoint *ep;
	double started = rs__now();
	int error, limit = rs__retry_limit(c);
	if (!opts)
		opts = &defaults;
	if ((error = rs__client_endpoint(&ep, c, repo->domain)) < 0)
		return error;
	for (int attempt = 0;; attempt++) {
		error = stream_once(c, ep, repo, r, opts, digest, size);
		if (!upload_again(c, r, error, attempt, limit, started))
			return error;
	}
}

int rs__blob_mount(rs_client *c, const rs_ref *repo, const char *digest, const char *from_path,
                   char **upload_url)
{
	rs__endpoint *ep;
	rs__http_response resp = {0};
	rs_buf path = RS_BUF_INIT;
	char *scope = NULL, *s1, *s2, *mount_q, *from_q;
	int error;
	if (upload_url)
		*upload_url = NULL;
	if ((error = rs__client_endpoint(&ep, c, repo->domain)) < 0)
		return error;
	s1 = rs__scope_repository(repo->path, "pull,push");
	s2 = rs__scope_repository(from_path, "pull");
	error = s1 && s2 ? rs__scope_union(&scope, s1, s2) : rs__oom();
	free(s1);
	free(s2);
	if (error < 0)
		goto done;
	mount_q = rs__url_escape(digest);
	from_q = rs__url_escape(from_path);
	rs__buf_printf(&path, "/v2/%s/blobs/uploads/?mount=%s&from=%s", repo->path,
	               mount_q ? mount_q : "", from_q ? from_q : "");
	error = mount_q && from_q && !rs__buf_oom(&path) ? 0 : rs__oom();
	free(mount_q);
	free(from_q);
	if (error < 0)
		goto done;
	if ((error = post_upload(c, ep, path.ptr, scope, &resp)) < 0)
		goto done;
	if (resp.status == 201)
		goto done;
	if (resp.status == 202) {
		const char *loc = rs__http_header(&resp, "location");
		if (loc && upload_url &&
		    (error = upload_location(upload_url, c, ep, &resp, loc)) < 0)
			goto done;
		error = rs__error_set(RS_ENOTFOUND, "%s did not mount %s from %s", ep->domain,
		                      digest, from_path);
		goto done;
	}
	{
		error = rs__registry_errorf(ep, &resp, "mount of %s from %s", digest, from_path);
		/* some registries refuse a mount from a repository they don't know (Harbor: 401);
		 * that only means "upload it" */
		if (error != RS_EAUTH || resp.status == 401)
			error = RS_ENOTFOUND;
	}
done:
	free(scope);
	rs_buf_dispose(&path);
	rs__http_response_dispose(&resp);
	return error;
}
