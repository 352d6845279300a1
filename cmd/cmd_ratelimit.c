/* regship ratelimit — a registry's RateLimit-Limit / RateLimit-Remaining headers (regctl's). */
#include "cli.h"

#include <stdlib.h>

static const char *const usage[] = {"regship ratelimit [--json] IMAGE", NULL};

static void json_long(const char *key, long v)
{
	if (v < 0)
		printf(", \"%s\": null", key);
	else
		printf(", \"%s\": %ld", key, v);
}

static void quota(const char *title, long n, long w)
{
	if (n < 0)
		return;
	if (w >= 0)
		printf("%-11s%ld per %lds\n", title, n, w);
	else
		printf("%-11s%ld\n", title, n);
}

int cmd_ratelimit(int argc, char **argv)
{
	bool json = false;
	const cli_opt opts[] = {
	        {CLI_OPT_BOOL, 0, "json", &json, NULL,
	         "print {\"reference\", \"limit\", \"remaining\", ...} (null when not sent)"},
	        CLI_OPT_END_MARK,
	};
	char **args, *shown = NULL;
	int nargs, rc, error;
	rs_client *client = NULL;
	rs_ref *ref = NULL;
	rs_ratelimit rl = {0};

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if ((rc = cli_one_ref(usage, args, nargs, "IMAGE", 0, &ref, &client)))
		goto done;
	if ((error = rs_ratelimit_get(&rl, client, ref)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	shown = rs_ref_format(ref);
	if (json) {
		printf("{");
		cli_json_field("reference", shown, false);
		printf(", \"rate_limited\": %s", rl.present ? "true" : "false");
		json_long("limit", rl.limit);
		json_long("limit_window", rl.limit_window);
		json_long("remaining", rl.remaining);
		json_long("remaining_window", rl.remaining_window);
		cli_json_field("limit_source", rl.source, true);
		printf("}\n");
	} else if (!rl.present) {
		printf("%s: no rate-limit headers\n", shown);
	} else {
		quota("limit:", rl.limit, rl.limit_window);
		quota("remaining:", rl.remaining, rl.remaining_window);
		if (rl.source) {
			rs_buf b = RS_BUF_INIT;
			rs_text_escape(&b, rl.source, 0);
			printf("%-11s%s\n", "source:", b.ptr);
			rs_buf_dispose(&b);
		}
	}
done:
	free(shown);
	rs_ratelimit_dispose(&rl);
	rs_ref_free(ref);
	rs_client_free(client);
	free(args);
	return rc;
}
