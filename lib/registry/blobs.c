/*
 * Blobs read and linked without sending their bytes: HEAD (does the repository hold it?), the
 * streaming GET (a producer thread feeding a bounded ring), the cross-repository mount.
 * Uploads are in blobs_upload.c and blobs_chunked.c.
 */
#include "blobs_int.h"

#include "auth/scope.h"

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

/* ---- cross-repository mount ------------------------------------------------------------ */

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
	if ((error = rs__upload_post(c, ep, path.ptr, scope, &resp)) < 0)
		goto done;
	if (resp.status == 201) {
		error = rs__blob_stored_check(ep, &resp, digest, "mount");
		goto done;
	}
	if (resp.status == 202) {
		const char *loc = rs__http_header(&resp, "location");
		if (loc && upload_url &&
		    (error = rs__upload_location(upload_url, c, ep, &resp, loc)) < 0)
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
