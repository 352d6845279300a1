/* regship tags — list the tags of a repository. */
#include "cli.h"
#include "cli_list.h"
#include "tagfilter.h"

#include <stdlib.h>

static const char *const usage[] = {
        "regship tags [--json] [--sort semver] [--include REGEX] [--exclude REGEX] REPOSITORY",
        "regship tags --latest [--json] [--include REGEX] [--exclude REGEX] [PREFIX] REPOSITORY",
        NULL,
};

/* "2", "2.1", "v2.1": a version line, not a repository name ("2.1" alone would be read as
 * docker.io/library/2.1) */
static bool looks_like_prefix(const char *s)
{
	bool digit = false;
	if (*s == 'v')
		s++;
	for (; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digit = true;
		else if (*s != '.' || !digit)
			return false;
	}
	return digit;
}

int cmd_tags(int argc, char **argv)
{
	bool json = false;
	tagfilter f = {0};
	const cli_opt opts[] = {
	        {CLI_OPT_BOOL, 0, "json", &json, NULL,
	         "print {\"repository\": \"HOST/PATH\", \"tags\": [...]} instead of one tag per "
	         "line"},
	        {CLI_OPT_STRING, 0, "sort", &f.sort, "semver",
	         "highest version first, pre-releases below their release, other tags last"},
	        {CLI_OPT_STRING, 0, "include", &f.include, "REGEX",
	         "only tags matching REGEX (POSIX extended)"},
	        {CLI_OPT_STRING, 0, "exclude", &f.exclude, "REGEX",
	         "leave out tags matching REGEX (POSIX extended)"},
	        {CLI_OPT_BOOL, 0, "latest", &f.latest, NULL,
	         "print only the highest release X.Y.Z (on the line PREFIX: 2, 2.1, v2.1)"},
	        CLI_OPT_END_MARK,
	};
	char **args, *name = NULL;
	int nargs, rc, error;
	rs_client *client = NULL;
	rs_ref *repo = NULL;
	cli_strings tags = {0};
	cli_listing out = {0};

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if (f.latest && nargs == 2)
		f.prefix = args[0]; /* --latest PREFIX REPOSITORY */
	if (f.latest && nargs == 1 && looks_like_prefix(args[0])) {
		rc = cli_usage_error(usage,
		                     "--latest %s: missing REPOSITORY (regship tags --latest %s "
		                     "REPOSITORY)",
		                     args[0], args[0]);
		goto done;
	}
	if ((rc = tagfilter_setup(&f, usage)))
		goto done;
	if ((rc = cli_one_ref(usage, f.prefix ? args + 1 : args, f.prefix ? 1 : nargs, "REPOSITORY",
	                      RS_REF_NAME_ONLY, &repo, &client)))
		goto done;
	if (!(name = rs_ref_format_name(repo)))
		cli_out_of_memory();
	if (tagfilter_active(&f)) {
		/* filtering and sorting need the whole listing */
		if ((error = rs_tags_list(client, repo, cli_strings_add, &tags)) < 0) {
			rc = cli_fail(error);
			goto done;
		}
		rc = tagfilter_print(&f, &tags, json, name);
		goto done;
	}
	out.json = json;
	out.name_key = "repository";
	out.name = name;
	out.list_key = "tags";
	/* each page is printed as it arrives */
	if ((error = rs_tags_list_pages(client, repo, cli_listing_add, cli_listing_page, &out)) <
	    0) {
		rc = cli_fail(error);
		goto done;
	}
	cli_listing_end(&out);
done:
	tagfilter_dispose(&f);
	cli_strings_dispose(&tags);
	free(name);
	rs_ref_free(repo);
	rs_client_free(client);
	free(args);
	return rc;
}
