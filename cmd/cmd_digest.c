/* regship digest — print the digest of a manifest, resolved with a HEAD request. */
#include "cli.h"

#include <stdlib.h>

static const char *const usage[] = {"regship digest REFERENCE", NULL};

int cmd_digest(int argc, char **argv)
{
	const cli_opt opts[] = {CLI_OPT_END_MARK};
	char **args, *digest = NULL;
	int nargs, rc, error;
	rs_client *client = NULL;
	rs_ref *ref = NULL;

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if ((rc = cli_one_ref(usage, args, nargs, "REFERENCE", 0, &ref, &client)))
		goto done;
	if ((error = rs_manifest_resolve(client, ref, &digest, NULL, NULL)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	puts(digest);
done:
	free(digest);
	rs_ref_free(ref);
	rs_client_free(client);
	free(args);
	return rc;
}
