/*
 * regship untag — remove one tag and keep the manifest and its other tags. Registries that
 * cannot delete a tag (distribution 2.x) get the tag moved to a throwaway manifest, which is
 * then deleted by digest.
 */
#include "cli.h"

#include <stdlib.h>

static const char *const usage[] = {"regship untag [--json] REFERENCE", NULL};

int cmd_untag(int argc, char **argv)
{
	bool json = false;
	const cli_opt opts[] = {
	        {CLI_OPT_BOOL, 0, "json", &json, NULL, "print a JSON summary on stdout"},
	        CLI_OPT_END_MARK,
	};
	char **args, *shown = NULL, *repo = NULL;
	int nargs, rc, error;
	rs_client *client = NULL;
	rs_ref *ref = NULL, *with_digest = NULL;
	rs_untag_result *result = NULL;
	cli_held hold;
	int held;

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	/* no default tag: untag never guesses "latest"; the client comes after the checks */
	if ((rc = cli_one_ref(usage, args, nargs, "REFERENCE", RS_REF_NO_DEFAULT, &ref, NULL)))
		goto done;
	if (ref->digest) {
		cli_error("cannot untag %s: it names a digest; untag takes a tag ('regship rm' "
		          "deletes a manifest)",
		          args[0]);
		rc = CLI_EXIT_USAGE;
		goto done;
	}
	if (!ref->tag) {
		cli_error("cannot untag %s: name the tag to remove (REPOSITORY:TAG)", args[0]);
		rc = CLI_EXIT_USAGE;
		goto done;
	}
	if ((rc = cli_client(&client)))
		goto done;
	/* the placeholder and its delete are two writes: a signal between them would leave the
	 * tag on an empty placeholder image */
	cli_hold_signals(&hold);
	error = rs_untag(&result, client, ref);
	if ((held = cli_release_signals(&hold))) {
		if (error < 0)
			cli_fail(error);
		cli_error("interrupted by %s once the tag was %s", cli_signal_name(held),
		          error < 0 ? "left as it is" : "removed");
		rc = 128 + held;
		goto done;
	}
	if (error < 0) {
		rc = cli_fail(error);
		goto done;
	}
	repo = rs_ref_format_name(ref);
	if ((error = rs_ref_with_digest(&with_digest, ref, result->digest)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	shown = rs_ref_format(with_digest);
	if (result->method == RS_UNTAG_PLACEHOLDER)
		cli_note("the registry cannot delete tags; moved %s to a placeholder manifest "
		         "and deleted that (%s)",
		         ref->tag, result->placeholder);
	if (json) {
		printf("{");
		cli_json_field("reference", shown, false);
		cli_json_field("repository", repo, true);
		cli_json_field("tag", ref->tag, true);
		cli_json_field("digest", result->digest, true);
		cli_json_field("method",
		               result->method == RS_UNTAG_PLACEHOLDER ? "placeholder" : "delete",
		               true);
		cli_json_field("placeholder", result->placeholder, true);
		printf("}\n");
	} else {
		puts(shown);
	}
done:
	free(shown);
	free(repo);
	rs_untag_result_free(result);
	rs_ref_free(ref);
	rs_ref_free(with_digest);
	rs_client_free(client);
	free(args);
	return rc;
}
