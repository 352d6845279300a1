/*
 * regship referrers — the artifacts (signatures, SBOMs, attestations) attached to an image by
 * their "subject": the OCI 1.1 referrers API, else the referrers tag schema (rs_referrers_list).
 */
#include "cli.h"

#include <stdlib.h>

static const char *const usage[] = {"regship referrers [--artifact-type TYPE] [--json] IMAGE",
                                    NULL};

static void print_json(const rs_referrers *rs, const char *reference)
{
	printf("{");
	cli_json_field("reference", reference, false);
	cli_json_field("subject", rs->subject, true);
	cli_json_field("method", rs->source == RS_REFERRERS_API ? "api" : "tag", true);
	printf(", \"filtered_by_registry\": %s, \"referrers\": [",
	       rs->filtered_by_registry ? "true" : "false");
	for (size_t i = 0; i < rs->count; i++) {
		const rs_referrer *r = &rs->items[i];
		printf("%s{", i ? ", " : "");
		cli_json_field("digest", r->digest, false);
		cli_json_field("media_type", r->media_type, true);
		printf(", \"size\": %lld", (long long)r->size);
		cli_json_field("artifact_type", r->artifact_type, true);
		printf(", \"annotations\": {");
		for (size_t k = 0; k < r->annotation_count; k++)
			cli_json_field(r->annotations[2 * k], r->annotations[2 * k + 1], k > 0);
		printf("}}");
	}
	printf("]}\n");
}

/* One line per referrer: DIGEST ARTIFACT_TYPE SIZE (the type escaped: it is the registry's). */
static void print_text(const rs_referrers *rs)
{
	for (size_t i = 0; i < rs->count; i++) {
		const rs_referrer *r = &rs->items[i];
		rs_buf b = RS_BUF_INIT;
		rs_text_escape(&b, r->artifact_type ? r->artifact_type : r->media_type, 0);
		printf("%s %s %lld\n", r->digest, b.ptr ? b.ptr : "-", (long long)r->size);
		rs_buf_dispose(&b);
	}
	if (!rs->count)
		cli_note("no referrers of %s%s", rs->subject,
		         rs->source == RS_REFERRERS_TAG ? " (referrers tag schema: no API)" : "");
}

int cmd_referrers(int argc, char **argv)
{
	const char *artifact_type = NULL;
	bool json = false;
	const cli_opt opts[] = {
	        {CLI_OPT_STRING, 0, "artifact-type", &artifact_type, "TYPE",
	         "only referrers of this artifactType "
	         "(application/vnd.dev.cosign.artifact.sig.v1+json, ...)"},
	        {CLI_OPT_BOOL, 0, "json", &json, NULL,
	         "print {\"reference\", \"subject\", \"source\", \"referrers\": [...]}"},
	        CLI_OPT_END_MARK,
	};
	rs_referrers rs = RS_REFERRERS_INIT;
	rs_client *client = NULL;
	rs_ref *ref = NULL;
	char **args, *shown = NULL;
	int nargs, rc, error;

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if (artifact_type && !*artifact_type) {
		rc = cli_usage_error(usage, "--artifact-type: empty type");
		goto done;
	}
	if ((rc = cli_one_ref(usage, args, nargs, "IMAGE", 0, &ref, &client)))
		goto done;
	if ((error = rs_referrers_list(&rs, client, ref, artifact_type)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if (!(shown = rs_ref_format(ref)))
		cli_out_of_memory();
	if (json)
		print_json(&rs, shown);
	else
		print_text(&rs);
done:
	free(shown);
	rs_referrers_dispose(&rs);
	rs_ref_free(ref);
	rs_client_free(client);
	free(args);
	return rc;
}
