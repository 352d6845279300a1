/*
 * regship prune — keep the newest N releases of a repository and remove the rest; never what
 * a kept, out-of-filter or floating tag still needs. The plan is the library's (rs_prune).
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {
        "regship prune --keep N [--by semver|created] [--include REGEX] [--exclude REGEX] "
        "[--keep-prereleases N] [--keep-signed] [--dry-run] [--json] REPOSITORY",
        NULL,
};

static void print_json(const rs_prune_result *r, const char *repo)
{
	printf("{");
	cli_json_field("repository", repo, false);
	printf(", \"dry_run\": %s, \"deleted_count\": %zu, \"untagged_count\": %zu, "
	       "\"failed_count\": %zu, \"items\": [",
	       r->dry_run ? "true" : "false", r->deleted, r->untagged, r->failed);
	for (size_t i = 0; i < r->count; i++) {
		const rs_prune_item *it = &r->items[i];
		printf("%s{", i ? ", " : "");
		cli_json_field("tag", it->tag, false);
		cli_json_field("digest", it->digest, true);
		cli_json_field("action", rs_prune_action_name(it->action), true);
		cli_json_field("reason", it->reason, true);
		cli_json_field("subject", it->subject, true);
		if (!r->dry_run)
			printf(", \"done\": %s", it->done ? "true" : "false");
		cli_json_field("error", it->error, true);
		printf("}");
	}
	/* what could not be removed, as "failed" lists it in every verb */
	printf("], \"failed\": [");
	for (size_t i = 0, n = 0; i < r->count; i++) {
		const rs_prune_item *it = &r->items[i];
		if (!it->error)
			continue;
		printf("%s{", n++ ? ", " : "");
		cli_json_field("tag", it->tag, false);
		cli_json_field("digest", it->digest, true);
		cli_json_field("error", it->error, true);
		printf("}");
	}
	printf("]}\n");
}

/* Dry run: every tag, "ACTION TAG DIGEST REASON". Real run: what was removed, on stdout;
 * what was not, on stderr. */
static void print_text(const rs_prune_result *r)
{
	for (size_t i = 0; i < r->count; i++) {
		const rs_prune_item *it = &r->items[i];
		/* a referrer found by subject has no tag: "-" */
		const char *tag = it->tag ? it->tag : "-";
		if (r->dry_run) {
			printf("%-6s %s %s (%s)\n", rs_prune_action_name(it->action), tag,
			       it->digest, it->reason);
		} else if (it->done) {
			printf("%s %s %s\n", it->action == RS_PRUNE_DELETE ? "deleted" : "untagged",
			       tag, it->digest);
		} else if (it->error) {
			cli_error("could not %s %s (%s): %s", rs_prune_action_name(it->action), tag,
			          it->digest, it->error);
		}
	}
	if (r->dry_run)
		cli_note("dry run: nothing was removed");
	else
		cli_note("removed %zu, untagged %zu%s", r->deleted, r->untagged,
		         r->failed ? "; some could not be removed" : "");
}

static int count_arg(const char *opt, const char *text, long *out)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(text, &end, 10);
	if (!*text || *end || errno || v < 0 || v > INT_MAX || *text == '+' || *text == '-') {
		cli_error("%s: \"%s\" is not a count (a whole number, 0 or more)", opt, text);
		return CLI_EXIT_USAGE;
	}
	*out = v;
	return 0;
}

int cmd_prune(int argc, char **argv)
{
	const char *keep = NULL, *by = "semver", *keep_pre = NULL, *include = NULL, *exclude = NULL;
	bool keep_signed = false, dry_run = false, json = false;
	const cli_opt opts[] = {
	        {CLI_OPT_STRING, 0, "keep", &keep, "N",
	         "keep the N newest releases of each line: the plain one and each variant such as "
	         "-alpine (manifests: tags on one digest are one release)"},
	        {CLI_OPT_STRING, 0, "by", &by, "ORDER",
	         "semver (default: version tags, pre-releases below their release) or created "
	         "(the image config's created)"},
	        {CLI_OPT_STRING, 0, "include", &include, "REGEX",
	         "only version tags matching REGEX (extended) are candidates"},
	        {CLI_OPT_STRING, 0, "exclude", &exclude, "REGEX",
	         "version tags matching REGEX are not candidates"},
	        {CLI_OPT_STRING, 0, "keep-prereleases", &keep_pre, "N",
	         "keep the N newest pre-releases of each line (default: a pre-release stays only "
	         "while newer than its line's newest release; never counts against --keep)"},
	        {CLI_OPT_BOOL, 0, "keep-signed", &keep_signed, NULL,
	         "keep every image with a signature referrer (by subject, or a tag "
	         "sha256-<hex>.sig)"},
	        {CLI_OPT_BOOL, 'n', "dry-run", &dry_run, NULL,
	         "print the plan (what goes, what stays and why), remove nothing"},
	        {CLI_OPT_BOOL, 0, "json", &json, NULL, "print the plan or the outcome as JSON"},
	        CLI_OPT_END_MARK,
	};
	rs_prune_options po = RS_PRUNE_OPTIONS_INIT;
	rs_prune_result *result = NULL;
	rs_client *client = NULL;
	rs_ref *repo = NULL;
	char **args, *name = NULL;
	int nargs, rc, error;
	long n;
	cli_held hold;
	int held;

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if (!keep) {
		rc = cli_usage_error(usage, "--keep N is required (prune never guesses how many "
		                            "releases to keep)");
		goto done;
	}
	if ((rc = count_arg("--keep", keep, &n)))
		goto done;
	po.keep = (size_t)n;
	if (keep_pre) {
		if ((rc = count_arg("--keep-prereleases", keep_pre, &n)))
			goto done;
		po.keep_prereleases = n;
	}
	if (!strcmp(by, "semver")) {
		po.by = RS_PRUNE_BY_SEMVER;
	} else if (!strcmp(by, "created")) {
		po.by = RS_PRUNE_BY_CREATED;
	} else {
		rc = cli_usage_error(usage, "--by %s: use semver or created", by);
		goto done;
	}
	po.include = include;
	po.exclude = exclude;
	po.keep_signed = keep_signed;
	po.dry_run = dry_run;
	if ((rc = cli_one_ref(usage, args, nargs, "REPOSITORY", RS_REF_NAME_ONLY, &repo, &client)))
		goto done;
	name = rs_ref_format_name(repo);
	cli_hold_signals(&hold);
	error = rs_prune(&result, client, repo, &po);
	held = cli_release_signals(&hold);
	if (result) {
		if (json)
			print_json(result, name);
		else
			print_text(result);
	}
	if (error < 0) {
		rc = cli_fail(error);
		/* some removed, some not: partial */
		if (result && result->failed && (result->deleted || result->untagged))
			rc = CLI_EXIT_PARTIAL;
	}
	if (held) {
		cli_error("interrupted by %s once the removals under way were done",
		          cli_signal_name(held));
		rc = 128 + held;
	}
done:
	free(name);
	rs_prune_result_free(result);
	rs_ref_free(repo);
	rs_client_free(client);
	free(args);
	return rc;
}
