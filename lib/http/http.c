/*
 * The HTTP handle and its requests: options, libcurl's global state, the DNS / TLS-session
 * share, the CA bundle, the pool of easy handles; rs__http_do, which follows redirects by hand
 * so that credentials never reach another origin; the response and its header lookup. One
 * transfer is in http_transfer.c, the messages of a failed one in http_failure.c.
 */
#include "http_int.h"

#include "util/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RS_HTTP_MAX_REDIRECTS 10

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *userptr)
{
	rs__http *h = userptr;
	(void)handle;
	(void)access;
	pthread_mutex_lock(&h->share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userptr)
{
	rs__http *h = userptr;
	(void)handle;
	pthread_mutex_unlock(&h->share_locks[data]);
}

static const char *system_ca_bundles[] = {
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        NULL,
};

/*
 * Whether libcurl looks the system CAs up in a hashed directory of its own (its CApath, e.g.
 * Debian's /etc/ssl/certs), which it consults next to a CURLOPT_CAINFO_BLOB. Then the blob
 * holds only the extra CA: the system CAs stay trusted, and no connection parses the whole
 * system bundle (~140 certificates; about 0.18 s of CPU per connection under ASan, ~15 ms
 * without). Without such a directory (a build whose CAs are only a bundle file) the extra CA
 * is joined to the system bundle, since the blob replaces curl's CAINFO file.
 */
static bool curl_has_ca_dir(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	struct stat st;
	return v && v->age >= CURLVERSION_SEVENTH && v->capath && *v->capath &&
	       stat(v->capath, &st) == 0 && S_ISDIR(st.st_mode);
}

int rs__http_new(rs__http **out, const rs__http_options *opts)
{
	rs__http *h;
	int error = 0;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return rs__error_set(RS_ERROR, "cannot initialise libcurl: %s",
		                     curl_easy_strerror(global_rc));
	h = rs__calloc(1, sizeof(*h));
	if (!h)
		return rs__oom();
	if (opts)
		h->opts = *opts;
	h->user_agent =
	        rs__strdup(h->opts.user_agent ? h->opts.user_agent : "regship/" REGSHIP_VERSION);
	h->opts.user_agent = h->user_agent;
	if (!h->user_agent) {
		free(h);
		return rs__oom();
	}
	if (h->opts.connect_timeout_ms <= 0)
		h->opts.connect_timeout_ms = RS__HTTP_CONNECT_TIMEOUT_MS_DEFAULT;
	if (h->opts.stall_timeout_s <= 0)
		h->opts.stall_timeout_s = RS__HTTP_STALL_TIMEOUT_S_DEFAULT;
	if (h->opts.stall_bytes_per_s <= 0)
		h->opts.stall_bytes_per_s = RS__HTTP_STALL_BYTES_DEFAULT;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->share_locks[i], NULL);
	pthread_mutex_init(&h->pool_lock, NULL);
	h->share = curl_share_init();
	if (h->share) {
		curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
		curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
		curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
		curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
		curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
		/* not CURL_LOCK_DATA_CONNECT: curl does not support a shared connection cache used
		 * from several threads at once (valgrind saw libcurl 7.88 write to a freed
		 * connection under rm's parallel HEADs). Each pooled handle keeps its own
		 * connections instead, and curl_easy_reset leaves them alive. */
	}
	h->client_cert = rs__strdup(h->opts.client_cert);
	h->client_key = rs__strdup(h->opts.client_key);
	h->opts.client_cert = h->client_cert;
	h->opts.client_key = h->client_key;
	if ((opts && opts->client_cert && !h->client_cert) ||
	    (opts && opts->client_key && !h->client_key)) {
		rs__http_free(h);
		return rs__oom();
	}
	if (h->opts.ca_file) {
		/* the extra CA is added to, not a replacement for, the system CAs */
		h->ca_file = rs__strdup(h->opts.ca_file);
		h->opts.ca_file = h->ca_file;
		if (!h->ca_file) {
			rs__http_free(h);
			return rs__oom();
		}
		for (int i = 0; !curl_has_ca_dir() && system_ca_bundles[i]; i++) {
			if (rs__file_read(&h->ca_pem, system_ca_bundles[i], 16u << 20) == 0) {
				rs__buf_putc(&h->ca_pem, '\n');
				break;
			}
			rs__buf_clear(&h->ca_pem);
		}
		if (rs__buf_oom(&h->ca_pem)) {
			rs__http_free(h);
			return rs__oom();
		}
		if ((error = rs__ca_file_read(&h->ca_pem, h->ca_file)) < 0) {
			rs__http_free(h);
			return error;
		}
		rs_error_clear();
		h->ca_blob.data = h->ca_pem.ptr;
		h->ca_blob.len = h->ca_pem.size;
		h->ca_blob.flags = CURL_BLOB_NOCOPY;
	}
	*out = h;
	return 0;
}

void rs__http_free(rs__http *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->pool_count; i++)
		curl_easy_cleanup(h->pool[i]);
	if (h->share)
		curl_share_cleanup(h->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&h->share_locks[i]);
	pthread_mutex_destroy(&h->pool_lock);
	rs_buf_dispose(&h->ca_pem);
	free(h->user_agent);
	free(h->ca_file);
	free(h->client_cert);
	free(h->client_key);
	free(h);
}

CURL *rs__http_handle_acquire(rs__http *h)
{
	CURL *c = NULL;
	pthread_mutex_lock(&h->pool_lock);
	if (h->pool_count)
		c = h->pool[--h->pool_count];
	pthread_mutex_unlock(&h->pool_lock);
	if (!c)
		c = curl_easy_init();
	else
		curl_easy_reset(c);
	return c;
}

void rs__http_handle_release(rs__http *h, CURL *c)
{
	pthread_mutex_lock(&h->pool_lock);
	if (h->pool_count < RS_HTTP_POOL_MAX) {
		h->pool[h->pool_count++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&h->pool_lock);
	if (c)
		curl_easy_cleanup(c);
}

int rs__http_do(rs__http *h, const rs__http_request *req, rs__http_response *resp)
{
	char *url = rs__strdup(req->url), *origin = NULL, *cur_origin = NULL;
	int error = 0;
	bool redirectable = req->follow_redirects &&
	                    (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"));

	if (!url)
		return rs__oom();
	if ((error = rs__url_origin(&origin, req->url)) < 0)
		goto done;
	for (int hops = 0;; hops++) {
		const char *location;
		char *next = NULL;
		const char *auth = NULL;
		free(cur_origin);
		cur_origin = NULL;
		if ((error = rs__url_origin(&cur_origin, url)) < 0)
			goto done;
		/* credentials go to the origin they were meant for, never elsewhere */
		if (!strcmp(cur_origin, origin))
			auth = req->authorization;
		if ((error = rs__http_transfer(h, req, url, auth, resp)) < 0)
			goto done;
		if (!redirectable || resp->status < 300 || resp->status > 399 ||
		    resp->status == 304)
			break;
		location = rs__http_header(resp, "location");
		if (!location)
			break;
		if (hops >= RS_HTTP_MAX_REDIRECTS) {
			error = rs__error_set(RS_EPROTO, "too many redirects from %s", req->url);
			goto done;
		}
		if ((error = rs__url_resolve(&next, url, location)) < 0)
			goto done;
		if (rs__str_startswith(cur_origin, "https:") && rs__str_startswith(next, "http:")) {
			error = rs__error_set(RS_EINSECURE,
			                      "refusing a redirect from https to plain http (%s)",
			                      next);
			free(next);
			goto done;
		}
		free(url);
		url = next;
	}
	free(resp->url);
	resp->url = url;
	url = NULL;
done:
	free(url);
	free(origin);
	free(cur_origin);
	return error;
}

void rs__http_response_dispose(rs__http_response *resp)
{
	if (!resp)
		return;
	rs__strlist_dispose(&resp->headers);
	rs_buf_dispose(&resp->body);
	free(resp->url);
	resp->url = NULL;
	resp->status = 0;
}

static const char *header_value(const char *line, const char *name)
{
	size_t n = strlen(name);
	if (!rs__str_niequal(line, name, n) || line[n] != ':')
		return NULL;
	line += n + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

const char *rs__http_header(const rs__http_response *resp, const char *name)
{
	for (size_t i = 0; i < resp->headers.count; i++) {
		const char *v = header_value(resp->headers.items[i], name);
		if (v)
			return v;
	}
	return NULL;
}

int rs__http_headers_all(const rs__http_response *resp, const char *name, rs_strlist *out)
{
	for (size_t i = 0; i < resp->headers.count; i++) {
		const char *v = header_value(resp->headers.items[i], name);
		if (v && rs__strlist_push(out, v) < 0)
			return RS_ENOMEM;
	}
	return 0;
}
