/* Retry policy: which failures are worth another try, and how long to wait before it. */
#include "registry.h"

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

bool rs__retryable_error(int error)
{
	return error == RS_ENET;
}

int rs__retry_limit(const rs_client *c)
{
	return c->opts.retries < 0 ? 3 : c->opts.retries;
}

double rs__now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool rs__retry_time_left(const rs_client *c, double started)
{
	int max = c->opts.retry_max_seconds > 0 ? c->opts.retry_max_seconds : 300;
	return rs__now() - started < (double)max;
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
		if (end != ra && secs >= 0) {
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
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	if (c->opts.verbose && c->opts.trace) {
		char line[512];
		snprintf(line, sizeof(line), "* %s; retrying in %ld ms", why, ms);
		c->opts.trace(line, c->opts.trace_payload);
	}
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
