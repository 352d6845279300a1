/*
 * regship retag — put a manifest under more tags (one GET, one PUT per tag, no blob traffic in
 * the same repository), or promote a semantic version to its floating tags X.Y, X and latest.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {
        "regship retag [--no-clobber] [--referrers] [--dry-run] [--json] REFERENCE TAG [TAG...]",
        "regship retag --semver [--suffix VARIANT] [--release VERSION] [--no-latest] [--force] "
        "[--dry-run] [--json] REFERENCE",
        NULL,
};

static const char *action_name(rs_retag_action a)
{
	switch (a) {
	case RS_RETAG_MOVE:
		return "moved";
	case RS_RETAG_KEEP:
		return "kept";
	case RS_RETAG_ALREADY:
		return "already";
	case RS_RETAG_REFUSE:
		return "refused";
	default:
		return "tagged";
	}
}

static bool writes(const rs_retag_entry *e)
{
	return e->action == RS_RETAG_MOVE || e->action == RS_RETAG_TAG;
}

/* What the tag points at after this command (or would, in a dry run): NULL when nothing. */
static const char *digest_after(const rs_retag_entry *e, const char *digest, bool dry_run)
{
	if (writes(e) && ((e->written && !e->rolled_back) || dry_run))
		return digest;
	return e->action == RS_RETAG_ALREADY ? digest : e->previous;
}

/* "registry/repo:tag@digest" */
static char *entry_name(const rs_retag_entry *e, const char *digest)
{
	rs_ref *with = NULL;
	char *s;
	if (rs_ref_with_digest(&with, e->ref, digest) < 0)
		return rs_ref_format(e->ref);
	s = rs_ref_format(with);
	rs_ref_free(with);
	return s;
}

static void print_json(const rs_retag_result *r, const rs_ref *src, bool dry_run)
{
	char *source = rs_ref_format(src), *repo = rs_ref_format_name(src);
	printf("{");
	cli_json_field("repository", repo, false);
	cli_json_field("source", source, true);
	cli_json_field("tag", r->plan ? r->plan->version : src->tag, true);
	cli_json_field("digest", r->digest, true);
	cli_json_field("media_type", r->media_type, true);
	printf(", \"dry_run\": %s", dry_run ? "true" : "false");
	if (r->plan)
		cli_json_field("suffix", r->plan->suffix, true);
	printf(", \"blobs_mounted\": %zu, \"manifests_copied\": %zu, \"tags\": [", r->blobs_mounted,
	       r->manifests_copied);
	for (size_t i = 0; i < r->count; i++) {
		const rs_retag_entry *e = &r->entries[i];
		const char *after = digest_after(e, r->digest, dry_run);
		char *trepo = rs_ref_format_name(e->ref),
		     *full = after ? entry_name(e, after) : rs_ref_format(e->ref);
		printf("%s{", i ? ", " : "");
		cli_json_field("reference", full, false);
		cli_json_field("repository", trepo, true);
		cli_json_field("tag", e->ref->tag, true);
		cli_json_field("digest", after, true);
		cli_json_field("previous", e->previous, true);
		cli_json_field("action", action_name(e->action), true);
		cli_json_field("reason", e->reason, true);
		cli_json_field("holder", e->holder, true);
		printf(", \"written\": %s, \"rolled_back\": %s", e->written ? "true" : "false",
		       e->rolled_back ? "true" : "false");
		printf("}");
		free(trepo);
		free(full);
	}
	printf("]}\n");
	free(source);
	free(repo);
}

/* The plan, on stderr. */
static void print_plan(const rs_retag_result *r, bool dry_run)
{
	const char *version = r->plan ? r->plan->version : NULL;
	if (!r->plan)
		return;
	for (size_t i = 0; i < r->count; i++) {
		const rs_retag_entry *e = &r->entries[i];
		switch (e->action) {
		case RS_RETAG_KEEP:
			cli_note("kept %s: %s", e->ref->tag, e->reason);
			break;
		case RS_RETAG_ALREADY:
			cli_note("%s is already at %s", e->ref->tag, version);
			break;
		case RS_RETAG_REFUSE:
			cli_note("refused %s: %s", e->ref->tag, e->reason);
			break;
		case RS_RETAG_MOVE:
			cli_note("%s %s to %s: %s", dry_run ? "would move" : "moved", e->ref->tag,
			         version, e->reason);
			break;
		default:
			cli_note("%s %s: %s", dry_run ? "would tag" : "tagged", e->ref->tag,
			         e->reason);
			break;
		}
	}
}

/* The references written, on stdout (none in a dry run), then the notes. */
static void print_text(const rs_retag_result *r, bool dry_run)
{
	for (size_t i = 0; i < r->count; i++) {
		const rs_retag_entry *e = &r->entries[i];
		if (writes(e) && e->written && !e->rolled_back) {
			char *name = entry_name(e, r->digest);
			puts(name);
			free(name);
		} else if (!r->plan && e->action == RS_RETAG_ALREADY) {
			char *name = rs_ref_format(e->ref);
			cli_note("%s is already at %s: nothing written", name, r->digest);
			free(name);
		}
	}
	if (r->blobs_mounted || r->manifests_copied)
		cli_note("mounted %zu blob%s and copied %zu manifest%s into other repositories",
		         r->blobs_mounted, r->blobs_mounted == 1 ? "" : "s", r->manifests_copied,
		         r->manifests_copied == 1 ? "" : "s");
	if (dry_run) {
		if (!r->plan)
			for (size_t i = 0; i < r->count; i++) {
				if (r->entries[i].action == RS_RETAG_ALREADY)
					continue;
				char *name = entry_name(&r->entries[i], r->digest);
				cli_note("would tag %s", name);
				free(name);
			}
		cli_note("dry run: nothing was written");
	}
}

/* --semver's arguments, before any request: 0 or the exit code (message printed). */
static int check_semver(const rs_ref *src, const char *release, const char *suffix)
{
	int error;

	if (!src->tag && !release) {
		cli_error("--semver needs REFERENCE with a release tag (X.Y.Z), or a digest "
		          "and --release X.Y.Z");
		return CLI_EXIT_USAGE;
	}
	if (src->tag && release) {
		cli_error("--release goes with REFERENCE given by digest only "
		          "(REPOSITORY@DIGEST); %s already names the release",
		          src->tag);
		return CLI_EXIT_USAGE;
	}
	if (!src->tag && !src->digest) {
		cli_error("--semver needs REFERENCE with a release tag or a digest");
		return CLI_EXIT_USAGE;
	}
	if (release && (error = rs_ref_check_tag(release)) < 0)
		return cli_fail(error);
	/* a release that cannot be promoted is an error (exit 1), not a no-op */
	if ((error = rs_promotion_check(src->tag ? src->tag : release, suffix)) < 0) {
		cli_fail(error);
		return CLI_EXIT_ERROR;
	}
	return 0;
}

/* --referrers: what is attached to the image follows it into each other repository */
static int retag_referrers(rs_client *client, const rs_ref *src, const rs_ref *const *targets,
                           size_t n, const char *digest)
{
	rs_store *from = NULL;
	int error = rs_store_open_registry(&from, client, src, NULL);
	for (size_t i = 0; i < n && error == 0; i++) {
		rs_store *to = NULL;
		bool done_before = false;
		if (!strcmp(targets[i]->path, src->path))
			continue; /* same repository: they are there already */
		for (size_t k = 0; k < i; k++)
			done_before = done_before || !strcmp(targets[k]->path, targets[i]->path);
		if (done_before)
			continue;
		if ((error = rs_store_open_registry(&to, client, targets[i], NULL)) == 0)
			error = rs_copy_referrers(to, from, digest, NULL, NULL);
		rs_store_free(to);
	}
	rs_store_free(from);
	return error;
}

typedef struct retag_cli {
	bool semver, no_latest, dry_run, json, force, no_clobber, referrers;
	const char *suffix, *release;
	char **args;
	int nargs;
	rs_client *client;
	rs_ref *src; /* REFERENCE */
	rs_ref **targets; /* each TAG (plain retag): nargs - 1 */
	rs_retag_result *result;
} retag_cli;

static int parse_options(retag_cli *r, int argc, char **argv)
{
	const cli_opt opts[] = {
	        {CLI_OPT_BOOL, 0, "semver", &r->semver, NULL,
	         "REFERENCE's tag is a release X.Y.Z: also move X.Y, X and latest, each only "
	         "forward, decided by the digests they point at"},
	        {CLI_OPT_STRING, 0, "suffix", &r->suffix, "VARIANT",
	         "with --semver: the release is X.Y.Z-VARIANT; move X.Y-VARIANT, X-VARIANT and "
	         "VARIANT"},
	        {CLI_OPT_STRING, 0, "release", &r->release, "VERSION",
	         "with --semver and REFERENCE given by digest: the release tag to write and "
	         "promote"},
	        {CLI_OPT_BOOL, 0, "no-latest", &r->no_latest, NULL,
	         "with --semver: leave latest (or VARIANT) where it is"},
	        {CLI_OPT_BOOL, 'f', "force", &r->force, NULL,
	         "with --semver: also move floating tags that point at a manifest no release "
	         "holds"},
	        {CLI_OPT_BOOL, 0, "no-clobber", &r->no_clobber, NULL,
	         "a TAG that exists and points at another manifest is not overwritten (exit 7)"},
	        {CLI_OPT_BOOL, 0, "referrers", &r->referrers, NULL,
	         "a TAG in another repository also gets the artifacts attached to the image by "
	         "subject (signatures, SBOMs), recursively, keeping digests"},
	        {CLI_OPT_BOOL, 'n', "dry-run", &r->dry_run, NULL,
	         "fetch and print the plan on stderr, write nothing"},
	        {CLI_OPT_BOOL, 0, "json", &r->json, NULL, "print a JSON summary on stdout"},
	        CLI_OPT_END_MARK,
	};
	return cli_parse(usage, opts, argc, argv, &r->args, &r->nargs);
}

/* Which options go together, and the number of arguments. */
static int check_options(const retag_cli *r)
{
	if (r->semver && r->no_clobber)
		return cli_usage_error(usage, "--no-clobber goes with plain retag, not --semver "
		                              "(a promotion moves floating tags only forward)");
	if (r->semver && r->referrers)
		return cli_usage_error(usage, "--referrers goes with plain retag into another "
		                              "repository, not --semver (which moves tags of one "
		                              "repository)");
	if (!r->semver && (r->no_latest || r->suffix || r->release || r->force))
		return cli_usage_error(
		        usage, "--%s only goes with --semver",
		        r->no_latest ? "no-latest"
		                     : (r->suffix ? "suffix" : (r->release ? "release" : "force")));
	if (r->nargs < 1 || (!r->semver && r->nargs < 2))
		return cli_usage_error(usage, r->nargs ? "missing TAG" : "missing REFERENCE");
	if (r->semver && r->nargs > 1)
		return cli_usage_error(usage, "--semver takes no TAG: X.Y, X and latest follow "
		                              "from REFERENCE's version");
	return 0;
}

/* REFERENCE and each TAG (or --semver's release), before a password is asked for or a
 * request is made. */
static int parse_references(retag_cli *r)
{
	int rc, error;
	if ((rc = cli_ref(&r->src, r->args[0], r->semver ? RS_REF_NO_DEFAULT : 0)))
		return rc;
	if (r->semver)
		return check_semver(r->src, r->release, r->suffix);
	r->targets = calloc((size_t)r->nargs, sizeof(*r->targets));
	if (!r->targets)
		cli_out_of_memory();
	for (int i = 1; i < r->nargs; i++)
		if ((error = rs_retag_target(&r->targets[i - 1], r->src, r->args[i])) < 0)
			return cli_fail(error);
	return 0;
}

/* The tags written (signals held meanwhile), the referrers copied, the report. */
static int run_retag(retag_cli *r)
{
	rs_retag_options ro = RS_RETAG_OPTIONS_INIT;
	const rs_ref *const *targets = (const rs_ref *const *)r->targets;
	size_t ntargets = (size_t)r->nargs - 1;
	cli_held hold;
	int rc = 0, error, held;

	if ((rc = cli_client(&r->client)))
		return rc;
	ro.dry_run = r->dry_run;
	ro.no_clobber = r->no_clobber;
	ro.promote_flags =
	        (r->no_latest ? RS_PROMOTE_NO_LATEST : 0) | (r->force ? RS_PROMOTE_FORCE : 0);
	ro.suffix = r->suffix;
	ro.release = r->release;
	/* a promotion writes several tags and puts them back when one write fails: a signal in
	 * the middle must not leave some moved and others not */
	cli_hold_signals(&hold);
	if (r->semver)
		error = rs_retag_promote(&r->result, r->client, r->src, &ro);
	else
		error = rs_retag(&r->result, r->client, r->src, targets, ntargets, &ro);
	held = cli_release_signals(&hold);
	if (error == 0 && r->referrers && !r->dry_run && !r->semver && r->result)
		error = retag_referrers(r->client, r->src, targets, ntargets, r->result->digest);
	if (r->result) {
		print_plan(r->result, r->dry_run);
		if (r->json)
			print_json(r->result, r->src, r->dry_run);
		else
			print_text(r->result, r->dry_run);
	}
	if (error < 0)
		rc = cli_fail(error);
	if (held) {
		fprintf(stderr, "regship: interrupted by %s once the tags were written%s\n",
		        cli_signal_name(held), error < 0 ? " or put back" : "");
		rc = 128 + held;
	}
	return rc;
}

int cmd_retag(int argc, char **argv)
{
	retag_cli r;
	int rc;

	memset(&r, 0, sizeof(r));
	if ((rc = parse_options(&r, argc, argv)))
		return rc;
	if (!(rc = check_options(&r)) && !(rc = parse_references(&r)))
		rc = run_retag(&r);
	if (r.targets)
		for (int i = 0; i < r.nargs - 1; i++)
			rs_ref_free(r.targets[i]);
	free(r.targets);
	rs_retag_result_free(r.result);
	rs_ref_free(r.src);
	rs_client_free(r.client);
	free(r.args);
	return rc;
}
