/*
 * Link pagination headers (rs__link_next against a fixed base URL) and URL resolution
 * (rs__url_resolve, rs__url_origin). The first input line is also tried as a base URL.
 */
#include "fuzz.h"

#include "http/http.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

#define LINK_BASE "https://registry.local:5000/v2/team/app/tags/list?n=100"

static void link_check_url(const char *url)
{
	char *origin = NULL, *again = NULL;
	/* other schemes are refused later, by the transport (CURLOPT_PROTOCOLS_STR) */
	if (!rs__str_startswith(url, "http://") && !rs__str_startswith(url, "https://"))
		return;
	/* an http(s) URL handed out is absolute and resolves to itself */
	rs_fuzz_assert(rs__url_resolve(&again, url, url) == 0, "a resolved URL resolves again");
	rs_fuzz_assert(!strcmp(again, url), "resolving an absolute URL is the identity");
	if (rs__url_origin(&origin, url) == 0)
		rs_fuzz_assert(strstr(origin, "://") != NULL, "an origin is scheme://host:port");
	free(origin);
	free(again);
}

int rs_fuzz_link(const uint8_t *data, size_t size)
{
	char *text = rs_fuzz_cstr(data, size), *next = NULL, *resolved = NULL, *origin = NULL;
	char *nl = strchr(text, '\n');
	int error;

	error = rs__link_next(&next, text, LINK_BASE);
	if (error == 0 && next)
		link_check_url(next);
	else
		rs_fuzz_assert(next == NULL, "no next URL on failure or when there is none");
	free(next);
	next = NULL;

	if (rs__url_resolve(&resolved, LINK_BASE, text) == 0)
		link_check_url(resolved);
	free(resolved);
	resolved = NULL;

	/* "BASE\nLINK": a base URL from the input too (as after a redirect) */
	if (nl) {
		*nl = '\0';
		if (rs__link_next(&next, nl + 1, text) == 0 && next)
			link_check_url(next);
		free(next);
		if (rs__url_origin(&origin, text) == 0) {
			rs_fuzz_assert(strstr(origin, "://") != NULL,
			               "an origin is scheme://host:port");
			free(origin);
		}
	}
	free(text);
	return 0;
}

RS_FUZZ_ENTRY(rs_fuzz_link)
