/*
 * regship retag — put a manifest under more tags (one GET, one PUT per tag, no blob traffic in
 * the same repository), or promote a semantic version to its floating tags X.Y, X and latest.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {
        "regship retag [--dry-run] [--json] REFERENCE TAG [TAG...]",
        "regship retag --semver [--no-latest] [--dry-run] [--json] REFERENCE",
        NULL,
};

static const char *action_name(rs_retag_action a)
{
	switch (a) {
	case RS_RETAG_MOVE:
		return "move";
	case RS_RETAG_KEEP:
		return "keep";
	default:
		return "tag";
	}
}

/* "registry/repo:tag@digest" for a tag written (or to be written), "registry/repo:tag" for a
 * kept one. */
static char *entry_name(const rs_retag_entry *e, const char *digest)
{
	rs_ref *with = NULL;
	char *s;
	if (e->action == RS_RETAG_KEEP || rs_ref_with_digest(&with, e->ref, digest) < 0)
		return rs_ref_format(e->ref);
	s = rs_ref_format(with);
	rs_ref_free(with);
	return s;
}

static void print_json(const rs_retag_result *r, const char *source, bool dry_run)
{
	printf("{");
	cli_json_field("source", source, false);
	cli_json_field("digest", r->digest, true);
	cli_json_field("media_type", r->media_type, true);
	printf(", \"dry_run\": %s", dry_run ? "true" : "false");
	if (r->plan) {
		cli_json_field("version", r->plan->version, true);
		printf(", \"prerelease\": %s", r->plan->prerelease ? "true" : "false");
	}
	printf(", \"blobs_mounted\": %zu, \"manifests_copied\": %zu, \"tags\": [", r->blobs_mounted,
	       r->manifests_copied);
	for (size_t i = 0; i < r->count; i++) {
		const rs_retag_entry *e = &r->entries[i];
		char *name = entry_name(e, r->digest), *repo = rs_ref_format_name(e->ref);
		printf("%s{", i ? ", " : "");
		cli_json_field("reference", name, false);
		cli_json_field("repository", repo, true);
		cli_json_field("tag", e->ref->tag, true);
		cli_json_field("action", action_name(e->action), true);
		printf(", \"written\": %s", e->written ? "true" : "false");
		if (r->plan) {
			cli_json_field("reason", e->reason, true);
			cli_json_field("newer", e->newer, true);
		}
		printf("}");
		free(name);
		free(repo);
	}
	printf("]}\n");
}

static void print_text(const rs_retag_result *r, bool dry_run)
{
	const char *version = r->plan ? r->plan->version : NULL;
	/* the plan on stderr first, then the references on stdout */
	for (size_t i = 0; i < r->count; i++) {
		const rs_retag_entry *e = &r->entries[i];
		if (e->action == RS_RETAG_KEEP)
			cli_note("kept %s: %s", e->ref->tag, e->reason);
		else if (e->action == RS_RETAG_MOVE)
			cli_note("%s %s to %s: %s", dry_run ? "would move" : "moved", e->ref->tag,
			         version, e->reason);
	}
	for (size_t i = 0; i < r->count; i++) {
		const rs_retag_entry *e = &r->entries[i];
		if (e->action != RS_RETAG_KEEP && (e->written || dry_run)) {
			char *name = entry_name(e, r->digest);
			puts(name);
			free(name);
		}
	}
	if (r->blobs_mounted || r->manifests_copied)
		cli_note("mounted %zu blob%s and copied %zu manifest%s into other repositories",
		         r->blobs_mounted, r->blobs_mounted == 1 ? "" : "s", r->manifests_copied,
		         r->manifests_copied == 1 ? "" : "s");
	if (dry_run)
		cli_note("dry run: nothing was written");
}

int cmd_retag(int argc, char **argv)
{
	bool semver = false, no_latest = false, dry_run = false, json = false;
	const cli_opt opts[] = {
	        {CLI_OPT_BOOL, 0, "semver", &semver, NULL,
	         "REFERENCE's tag is X.Y.Z: also move X.Y, X and latest, each only forward"},
	        {CLI_OPT_BOOL, 0, "no-latest", &no_latest, NULL,
	         "with --semver: leave latest where it is"},
	        {CLI_OPT_BOOL, 'n', "dry-run", &dry_run, NULL,
	         "fetch and print the plan, write nothing"},
	        {CLI_OPT_BOOL, 0, "json", &json, NULL, "print a JSON summary on stdout"},
	        CLI_OPT_END_MARK,
	};
	char **args, *source = NULL;
	int nargs, rc, error;
	rs_client *client = NULL;
	rs_ref *src = NULL, **targets = NULL;
	rs_retag_result *result = NULL;
	rs_retag_options ro = RS_RETAG_OPTIONS_INIT;

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if (no_latest && !semver) {
		rc = cli_usage_error(usage, "--no-latest only goes with --semver");
		goto done;
	}
	if (nargs < 1 || (!semver && nargs < 2)) {
		rc = cli_usage_error(usage, nargs ? "missing TAG" : "missing REFERENCE");
		goto done;
	}
	if (semver && nargs > 1) {
		rc = cli_usage_error(usage, "--semver takes no TAG: X.Y, X and latest follow from "
		                            "REFERENCE's version");
		goto done;
	}
	if ((rc = cli_ref(&src, args[0], 0)))
		goto done;
	/* every argument is checked before a password is asked for or a request is made */
	if (semver) {
		rs_promotion_plan *check = NULL;
		if (!src->tag) {
			cli_error("--semver needs REFERENCE with a tag (X.Y.Z), not only a digest");
			rc = CLI_EXIT_USAGE;
			goto done;
		}
		if ((error = rs_promotion_plan_new(&check, src->tag, NULL, 0, 0)) < 0) {
			rc = cli_fail(error);
			goto done;
		}
		rs_promotion_plan_free(check);
	} else {
		targets = calloc((size_t)nargs, sizeof(*targets));
		if (!targets)
			cli_out_of_memory();
		for (int i = 1; i < nargs; i++)
			if ((error = rs_retag_target(&targets[i - 1], src, args[i])) < 0) {
				rc = cli_fail(error);
				goto done;
			}
	}
	if ((rc = cli_client(&client)))
		goto done;
	ro.dry_run = dry_run;
	ro.promote_flags = no_latest ? RS_PROMOTE_NO_LATEST : 0;
	if (semver)
		error = rs_retag_promote(&result, client, src, &ro);
	else
		error = rs_retag(&result, client, src, (const rs_ref *const *)targets,
		                 (size_t)nargs - 1, &ro);
	if (error < 0) {
		rc = cli_fail(error);
		goto done;
	}
	source = rs_ref_format(src);
	if (json)
		print_json(result, source, dry_run);
	else
		print_text(result, dry_run);
done:
	if (targets)
		for (int i = 0; i < nargs - 1; i++)
			rs_ref_free(targets[i]);
	free(targets);
	free(source);
	rs_retag_result_free(result);
	rs_ref_free(src);
	rs_client_free(client);
	free(args);
	return rc;
}
