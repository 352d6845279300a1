/* regship tags — list the tags of a repository. */
#include "cli.h"

#include <stdlib.h>

static const char *const usage[] = {"regship tags [--json] REPOSITORY", NULL};

int cmd_tags(int argc, char **argv)
{
	bool json = false;
	const cli_opt opts[] = {
	        {CLI_OPT_BOOL, 0, "json", &json, NULL,
	         "print {\"name\": \"...\", \"tags\": [...]} instead of one tag per line"},
	        CLI_OPT_END_MARK,
	};
	char **args;
	int nargs, rc, error;
	rs_client *client = NULL;
	rs_ref *repo = NULL;
	cli_listing out = {0};

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if ((rc = cli_one_ref(usage, args, nargs, "REPOSITORY", RS_REF_NAME_ONLY, &repo, &client)))
		goto done;
	out.json = json;
	out.name_key = "name";
	out.name = repo->path;
	out.list_key = "tags";
	/* each page is printed as it arrives */
	if ((error = rs_tags_list_pages(client, repo, cli_listing_add, cli_listing_page, &out)) <
	    0) {
		rc = cli_fail(error);
		goto done;
	}
	cli_listing_end(&out);
done:
	rs_ref_free(repo);
	rs_client_free(client);
	free(args);
	return rc;
}
