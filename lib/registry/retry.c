/* Retry policy: which failures are worth another try, and how long to wait before it. */
#include "registry.h"

#include "auth/credhelper.h"
#include "regship/cancel.h"
#include "util/util.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RS_RETRY_BASE_MS 200
#define RS_RETRY_CAP_MS 10000
#define RS_RETRY_AFTER_CAP_S 60

bool rs__retryable_status(int status)
{
	return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
	       status == 504;
}

/* Connection trouble is worth another try, except what a retry cannot mend at once: a port
 * where nothing listens (refused), a host or proxy that does not resolve. The whole command's
 * deadline (RS_ETIMEOUT) is never retried. */
bool rs__retryable_error(int error)
{
	return error == RS_ENET && !rs__http_failure_final();
}

int rs__retry_limit(const rs_client *c)
{
	return c->opts.retries < 0 ? 3 : c->opts.retries;
}

double rs__now(void)
{
	return rs__http_now();
}

bool rs__retry_time_left(const rs_client *c, double started)
{
	int max = c->opts.retry_max_seconds > 0 ? c->opts.retry_max_seconds : 300;
	double now = rs__now();
	if (c->deadline > 0 && now >= c->deadline)
		return false;
	return now - started < (double)max;
}

void rs__client_limits_init(rs_client *c)
{
	c->deadline = c->opts.timeout_ms > 0 ? rs__now() + (double)c->opts.timeout_ms / 1000.0 : 0;
}

void rs__client_http_options(const rs_client *c, rs__http_options *ho)
{
	ho->verbose = c->opts.verbose;
	ho->trace = c->opts.trace;
	ho->trace_payload = c->opts.trace_payload;
	ho->connect_timeout_ms = c->opts.connect_timeout_ms;
	/* curl counts stalls in whole seconds */
	ho->stall_timeout_s =
	        c->opts.stall_timeout_ms > 0 ? (c->opts.stall_timeout_ms + 999) / 1000 : 0;
	ho->deadline = c->deadline;
	ho->timeout_ms = c->opts.timeout_ms;
}

void rs__client_helper_limits(const rs_client *c)
{
	rs__credhelper_limits(c->opts.helper_timeout_ms, c->deadline, c->opts.timeout_ms);
}

static unsigned int jitter_seed(void)
{
	static _Thread_local unsigned int seed;
	if (!seed) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (unsigned int)ts.tv_nsec ^ (unsigned int)(uintptr_t)&seed;
		if (!seed)
			seed = 1;
	}
	/* xorshift32 */
	seed ^= seed << 13;
	seed ^= seed >> 17;
	seed ^= seed << 5;
	return seed;
}

long rs__retry_delay_ms(int attempt, const rs__http_response *resp)
{
	long delay;
	const char *ra = resp ? rs__http_header(resp, "retry-after") : NULL;
	if (ra) {
		char *end;
		long secs = strtol(ra, &end, 10);
		if (end == ra) {
			/* the other form: an HTTP-date ("Fri, 31 Dec 1999 23:59:59 GMT") */
			time_t at = curl_getdate(ra, NULL), now = time(NULL);
			secs = at == -1 ? -1 : at > now ? (long)(at - now) : 0;
		}
		if (secs >= 0) {
			if (secs > RS_RETRY_AFTER_CAP_S)
				secs = RS_RETRY_AFTER_CAP_S;
			return secs * 1000 + (long)(jitter_seed() % 100);
		}
	}
	delay = RS_RETRY_BASE_MS;
	for (int i = 0; i < attempt && delay < RS_RETRY_CAP_MS; i++)
		delay *= 2;
	if (delay > RS_RETRY_CAP_MS)
		delay = RS_RETRY_CAP_MS;
	/* full jitter on the upper half: between delay/2 and delay */
	return delay / 2 + (long)(jitter_seed() % (unsigned int)(delay / 2 + 1));
}

void rs__retry_sleep(rs_client *c, long ms, const char *why)
{
	struct timespec ts;
	if (c->deadline > 0) {
		/* wake up at the deadline at the latest: the next try then ends the command */
		double left = c->deadline - rs__now();
		long left_ms = left > 0 ? (long)(left * 1000.0) + 1 : 0;
		if (ms > left_ms)
			ms = left_ms;
	}
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	if (c->opts.verbose && c->opts.trace) {
		char line[512];
		snprintf(line, sizeof(line), "* %s; retrying in %ld ms", why, ms);
		c->opts.trace(line, c->opts.trace_payload);
	}
	/* in slices, so that rs_cancel() (a signal) ends the wait within 100 ms */
	while ((ts.tv_sec > 0 || ts.tv_nsec > 0) && !rs_cancelled()) {
		struct timespec slice = {0, 100 * 1000000L};
		if (ts.tv_sec == 0 && ts.tv_nsec < slice.tv_nsec)
			slice = ts;
		while (nanosleep(&slice, &slice) < 0 && errno == EINTR && !rs_cancelled())
			;
		if (ts.tv_nsec >= 100 * 1000000L) {
			ts.tv_nsec -= 100 * 1000000L;
		} else if (ts.tv_sec > 0) {
			ts.tv_sec--;
			ts.tv_nsec += 900 * 1000000L;
		} else {
			ts.tv_nsec = 0;
		}
	}
}

int rs__retry_stop(const rs_client *c, int error)
{
	char dur[32], last[1024];
	if (rs_cancelled())
		return rs__cancel_check();
	if (error != RS_ETIMEOUT && c->deadline > 0 && rs__now() >= c->deadline) {
		/* the command's deadline ended the retries: say so, with what failed last */
		snprintf(last, sizeof(last), "%s",
		         rs_error_is_set() ? rs_error_last()->message : "");
		rs__duration_format(dur, sizeof(dur), c->opts.timeout_ms);
		return rs__error_set(RS_ETIMEOUT, "timed out after %s (last try: %s)", dur, last);
	}
	return error;
}

void rs__ratelimit_describe(rs_buf *b, const rs__http_response *resp)
{
	static const char *const names[] = {"Retry-After", "RateLimit-Limit", "RateLimit-Remaining",
	                                    "RateLimit-Reset", "RateLimit-Policy"};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		char lower[32];
		const char *v;
		size_t k;
		for (k = 0; names[i][k] && k + 1 < sizeof(lower); k++)
			lower[k] =
			        (char)(names[i][k] >= 'A' && names[i][k] <= 'Z' ? names[i][k] + 32
			                                                        : names[i][k]);
		lower[k] = '\0';
		if (!(v = rs__http_header(resp, lower)) || !*v)
			continue;
		rs__buf_puts(b, n++ ? "; " : (b->size ? "; rate limited (" : "rate limited ("));
		rs__buf_printf(b, "%s: ", names[i]);
		rs__buf_put_escaped(b, v, strlen(v), true);
	}
	if (n)
		rs__buf_puts(b, ")");
	else
		rs__buf_puts(b, b->size ? "; rate limited (no Retry-After or RateLimit-* header)"
		                        : "rate limited (no Retry-After or RateLimit-* header)");
}

/*
 * send(payload, resp), again after 408/429/5xx or a transient connection error, with backoff
 * (rs__retry_delay_ms), at most `limit` more times and within the client's total time bound.
 * `what` names the request in the retry notes ("GET /v2/"). A ping stops at "cannot connect"
 * (refused_final): nothing listens there, and the caller tries the other scheme.
 */
int rs__send_retrying(rs_client *c, rs__endpoint *ep, int limit, const char *what,
                      bool refused_final, int (*send)(void *, rs__http_response *), void *payload,
                      rs__http_response *resp)
{
	double started = rs__now();
	for (int attempt = 0;; attempt++) {
		int error = send(payload, resp);
		char why[1200];
		long delay;
		if (error == 0 && !rs__retryable_status(resp->status))
			return 0;
		if (error < 0 &&
		    (!rs__retryable_error(error) ||
		     (refused_final && strstr(rs_error_last()->message, "cannot connect to"))))
			return error;
		if (attempt >= limit || !rs__retry_time_left(c, started))
			return error < 0 ? rs__retry_stop(c, error) : error;
		if (error < 0)
			snprintf(why, sizeof(why), "%s", rs_error_last()->message);
		else
			snprintf(why, sizeof(why), "%s on %s answered %d", what, ep->domain,
			         resp->status);
		delay = rs__retry_delay_ms(attempt, error < 0 ? NULL : resp);
		/* an answer asking for a wait past the command's deadline is the final one: the
		 * caller reports it (rate limited, with its Retry-After), instead of a time-out
		 * after a wait that could not end in time */
		if (error == 0 && c->deadline > 0 &&
		    rs__now() + (double)delay / 1000.0 >= c->deadline)
			return 0;
		rs__retry_sleep(c, delay, why);
		if (rs_cancelled())
			return rs__cancel_check();
		rs_error_clear();
	}
}
