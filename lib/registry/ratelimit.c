/* Docker Hub's RateLimit-* headers from a manifest HEAD (regship/inspect.h). */
#include "registry.h"

#include "regship/inspect.h"
#include "regship/ref.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const accept_headers[] = {"Accept: " RS_MANIFEST_ACCEPT, NULL};

/* "100;w=21600" (or "100"): the count and the window, -1 for what is missing or malformed */
static void parse_quota(const char *v, long *count, long *window)
{
	char *end;
	const char *w;
	long n;
	*count = *window = -1;
	if (!v)
		return;
	while (*v == ' ')
		v++;
	if (!isdigit((unsigned char)*v))
		return;
	n = strtol(v, &end, 10);
	if (n < 0)
		return;
	*count = n;
	if ((w = strstr(end, "w=")) && isdigit((unsigned char)w[2]))
		*window = strtol(w + 2, NULL, 10);
}

int rs_ratelimit_get(rs_ratelimit *out, rs_client *c, const rs_ref *ref)
{
	rs__endpoint *ep;
	rs__http_response resp = {0};
	rs__reg_request req = {0};
	const char *lim, *rem, *src;
	int error;
	memset(out, 0, sizeof(*out));
	out->limit = out->limit_window = out->remaining = out->remaining_window = -1;
	req.method = "HEAD";
	req.headers = accept_headers;
	req.follow_redirects = true;
	if ((error = rs__manifest_request(c, ref, rs_ref_identifier(ref), "pull", &req, &ep,
	                                  &resp)) < 0)
		goto done;
	lim = rs__http_header(&resp, "ratelimit-limit");
	rem = rs__http_header(&resp, "ratelimit-remaining");
	src = rs__http_header(&resp, "docker-ratelimit-source");
	/* Docker Hub answers 429 with the headers once the quota is used up: still an answer */
	if (resp.status != 200 && !(resp.status == 429 && (lim || rem))) {
		char *name = rs_ref_format(ref);
		error = rs__registry_errorf(ep, &resp, "manifest %s", name ? name : "");
		free(name);
		goto done;
	}
	parse_quota(lim, &out->limit, &out->limit_window);
	parse_quota(rem, &out->remaining, &out->remaining_window);
	out->present = out->limit >= 0 || out->remaining >= 0;
	if (src && *src && !(out->source = rs__strdup(src)))
		error = rs__oom();
done:
	rs__http_response_dispose(&resp);
	return error;
}

void rs_ratelimit_dispose(rs_ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->source);
	rl->source = NULL;
}
