/* regship manifest — print a manifest exactly as the registry stores it. */
#include "cli.h"

#include <stdlib.h>

static const char *const usage[] = {
        "regship manifest [--pretty] [--platform OS/ARCH[/VARIANT]] REFERENCE", NULL};

int cmd_manifest(int argc, char **argv)
{
	bool pretty = false;
	const char *platform = NULL;
	const cli_opt opts[] = {
	        {CLI_OPT_BOOL, 0, "pretty", &pretty, NULL, "indent the JSON for reading"},
	        {CLI_OPT_STRING, 0, "platform", &platform, "OS/ARCH[/VARIANT]",
	         "from an index, print the manifest for this platform"},
	        CLI_OPT_END_MARK,
	};
	char **args, *media_type = NULL, *digest = NULL;
	int nargs, rc, error;
	rs_client *client = NULL;
	rs_ref *ref = NULL, *child_ref = NULL;
	rs_platform *want = NULL;
	rs_manifest *m = NULL;
	rs_buf body = RS_BUF_INIT, out = RS_BUF_INIT;

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if (platform && (error = rs_platform_parse(&want, platform)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if ((rc = cli_one_ref(usage, args, nargs, "REFERENCE", 0, &ref, &client)))
		goto done;
	if ((error = rs_manifest_fetch(client, ref, &body, &media_type, &digest)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if (want) {
		const rs_descriptor *child;
		if ((error = rs_manifest_parse(&m, body.ptr, body.size, media_type)) < 0) {
			rc = cli_fail(error);
			goto done;
		}
		if (!rs_manifest_is_index(m)) {
			cli_warn("%s is a single-platform manifest, not an index: --platform %s "
			         "has nothing to select",
			         args[0], platform);
		} else {
			if ((error = rs_manifest_select_platform(&child, m, want)) < 0 ||
			    (error = rs_ref_with_digest(&child_ref, ref, child->digest)) < 0) {
				rc = cli_fail_remote(error); /* absent from the registry's index */
				goto done;
			}
			rs_buf_dispose(&body);
			free(media_type);
			media_type = NULL;
			if ((error = rs_manifest_fetch(client, child_ref, &body, &media_type,
			                               NULL)) < 0) {
				rc = cli_fail(error);
				goto done;
			}
		}
	}
	if (pretty) {
		if ((error = rs_json_pretty(&out, body.ptr, body.size)) < 0) {
			rc = cli_fail(error);
			goto done;
		}
		fwrite(out.ptr, 1, out.size, stdout);
	} else if (body.size) {
		fwrite(body.ptr, 1, body.size, stdout);
	}
done:
	rs_buf_dispose(&body);
	rs_buf_dispose(&out);
	rs_manifest_free(m);
	rs_platform_free(want);
	free(media_type);
	free(digest);
	rs_ref_free(ref);
	rs_ref_free(child_ref);
	rs_client_free(client);
	free(args);
	return rc;
}
