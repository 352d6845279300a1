/*
 * regship check-base — does IMAGE's layer list start with BASE's current layers? Exit 0 when
 * it does (up to date), 8 when the base has moved (a rebuild is due), as any verb otherwise.
 */
#include "cli.h"
#include "readsrc.h"

#include <regship/checkbase.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {
        "regship check-base [--platform OS/ARCH[/VARIANT]] [--json] IMAGE BASE", NULL};

static void print_text(const rs_check_base_result *r, const char *image, const char *base)
{
	rs_buf a = RS_BUF_INIT, b = RS_BUF_INIT;
	rs_text_escape(&a, image, 0);
	rs_text_escape(&b, base, 0);
	for (size_t i = 0; i < r->count; i++) {
		const rs_check_base_item *it = &r->items[i];
		rs_buf built = RS_BUF_INIT, shown = RS_BUF_INIT;
		const char *plat;
		/* what a registry sent (annotations, the config's platform) is printed escaped */
		rs_text_escape(&built, it->built_on ? it->built_on : "unknown", 0);
		rs_text_escape(&shown, it->platform ? it->platform : "unknown platform", 0);
		plat = shown.ptr;
		if (it->up_to_date)
			printf("%s (%s): up to date: starts with the %zu layer%s of %s\n", a.ptr,
			       plat, it->base_layers, it->base_layers == 1 ? "" : "s", b.ptr);
		else
			printf("%s (%s): base moved: %zu of the %zu layer%s of %s match; rebuild "
			       "it\n",
			       a.ptr, plat, it->matching, it->base_layers,
			       it->base_layers == 1 ? "" : "s", b.ptr);
		printf("    built on: %s\n", built.ptr);
		printf("    current:  %s", r->base_digest);
		if (strcmp(r->base_digest, it->base_digest))
			printf(" (%s: %s)", plat, it->base_digest);
		printf("\n");
		rs_buf_dispose(&built);
		rs_buf_dispose(&shown);
	}
	rs_buf_dispose(&a);
	rs_buf_dispose(&b);
}

static void print_json(const rs_check_base_result *r, const char *image, const char *base)
{
	printf("{");
	cli_json_field("reference", image, false);
	cli_json_field("digest", r->digest, true);
	printf(", \"base\": {");
	cli_json_field("reference", base, false);
	cli_json_field("digest", r->base_digest, true);
	printf("}, \"up_to_date\": %s, \"platforms\": [", r->up_to_date ? "true" : "false");
	for (size_t i = 0; i < r->count; i++) {
		const rs_check_base_item *it = &r->items[i];
		printf("%s{", i ? ", " : "");
		cli_json_field("platform", it->platform, false);
		cli_json_field("digest", it->digest, true);
		printf(", \"up_to_date\": %s", it->up_to_date ? "true" : "false");
		cli_json_field("built_on", it->built_on, true);
		cli_json_field("base_digest", it->base_digest, true);
		printf(", \"layers\": %zu, \"base_layers\": %zu, \"matching_layers\": %zu}",
		       it->layers, it->base_layers, it->matching);
	}
	printf("]}\n");
}

int cmd_check_base(int argc, char **argv)
{
	const char *platform_text = NULL;
	bool json = false;
	const cli_opt opts[] = {
	        {CLI_OPT_STRING, 0, "platform", &platform_text, "OS/ARCH[/VARIANT]",
	         "compare only this platform (of an index); default: every platform"},
	        {CLI_OPT_BOOL, 0, "json", &json, NULL,
	         "print the comparison as JSON (see regship(1), JSON OUTPUT)"},
	        CLI_OPT_END_MARK,
	};
	char **args;
	int nargs, rc, error;
	rs_platform *platform = NULL;
	readsrc img = {0}, base = {0};
	rs_check_base_result *r = NULL;

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if (nargs != 2) {
		rc = cli_usage_error(usage, nargs > 2    ? "too many arguments"
		                            : nargs == 1 ? "missing BASE"
		                                         : "missing IMAGE and BASE");
		goto done;
	}
	if (platform_text && rs_platform_parse(&platform, platform_text) < 0) {
		rc = cli_usage_error(usage, "--platform: %s", rs_error_last()->message);
		goto done;
	}
	if ((rc = readsrc_open(&img, args[0])) || (rc = readsrc_open(&base, args[1])))
		goto done;
	if ((error = rs_check_base(&r, img.store, img.reference, base.store, base.reference,
	                           platform)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if (json)
		print_json(r, args[0], args[1]);
	else if (!cli_global.quiet)
		print_text(r, args[0], args[1]);
	rc = r->up_to_date ? CLI_EXIT_OK : CLI_EXIT_BASE_MOVED;
done:
	rs_check_base_result_free(r);
	readsrc_close(&img);
	readsrc_close(&base);
	rs_platform_free(platform);
	free(args);
	return rc;
}
