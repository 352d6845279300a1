/* The monotonic clock of deadlines, and durations as messages show them. */
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

double rs__http_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rs__duration_format(char *buf, size_t size, long ms)
{
	long s = ms / 1000, rest = ms % 1000;
	if (ms < 1000)
		snprintf(buf, size, "%ldms", ms);
	else if (s < 60 && rest == 0)
		snprintf(buf, size, "%lds", s);
	else if (s < 60)
		snprintf(buf, size, "%ld.%03lds", s, rest);
	else if (s % 3600 == 0 && rest == 0)
		snprintf(buf, size, "%ldh", s / 3600);
	else if (s < 3600 && s % 60 == 0 && rest == 0)
		snprintf(buf, size, "%ldm", s / 60);
	else if (s < 3600)
		snprintf(buf, size, "%ldm%lds", s / 60, s % 60);
	else
		snprintf(buf, size, "%ldh%ldm%lds", s / 3600, (s / 60) % 60, s % 60);
	/* "1.500s" reads better as "1.5s" */
	if (ms >= 1000 && s < 60 && rest) {
		size_t n = strlen(buf);
		while (n > 2 && buf[n - 2] == '0') {
			buf[n - 2] = 's';
			buf[--n] = '\0';
		}
	}
}
