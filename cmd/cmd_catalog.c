/* regship catalog — list the repositories of a registry. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {"regship catalog [--json] REGISTRY", NULL};

int cmd_catalog(int argc, char **argv)
{
	bool json = false;
	const cli_opt opts[] = {
	        {CLI_OPT_BOOL, 0, "json", &json, NULL,
	         "print {\"registry\": \"...\", \"repositories\": [...]}"},
	        CLI_OPT_END_MARK,
	};
	char **args, *domain = NULL;
	int nargs, rc, error;
	rs_client *client = NULL;
	cli_listing out = {0};

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if (nargs != 1) {
		rc = cli_usage_error(usage, nargs ? "too many arguments" : "missing REGISTRY");
		goto done;
	}
	if ((rc = cli_registry_arg(usage, args[0], true)))
		goto done;
	if ((error = rs_ref_parse_domain(&domain, cli_registry_text(args[0]))) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if ((rc = cli_client(&client)))
		goto done;
	out.json = json;
	out.name_key = "registry";
	out.name = domain;
	out.list_key = "repositories";
	/* each page is printed as it arrives */
	if ((error = rs_catalog_list_pages(client, domain, cli_listing_add, cli_listing_page,
	                                   &out)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	cli_listing_end(&out);
done:
	free(domain);
	rs_client_free(client);
	free(args);
	return rc;
}
