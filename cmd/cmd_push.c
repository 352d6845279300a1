/* regship push — push a local image (docker archive, OCI layout or archive) to a registry. */
#include "cli.h"
#include "cli_list.h"
#include "progress.h"
#include "transfer.h"

#include <regship/copy.h>
#include <regship/store.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const usage[] = {
        "regship push [--all-tags [--keep-going]] [--no-clobber] [--jobs N] [--chunk-size SIZE] "
        "[--compress "
        "gzip|zstd|none] "
        "[--compress-level N] [--format docker|oci] [--mount-from REPOSITORY] [--progress MODE] "
        "[--json] [--referrers] SOURCE [DESTINATION]",
        NULL};

int cmd_push(int argc, char **argv)
{
	transfer_opts t = TRANSFER_OPTS_INIT;
	bool all_tags = false;
	const cli_opt opts[] = {
	        {CLI_OPT_BOOL, 'a', "all-tags", &all_tags, NULL,
	         "push every tag of SOURCE (to DESTINATION's repository, or to each RepoTag)"},
	        TRANSFER_KEEP_GOING_OPT(t),
	        TRANSFER_NO_CLOBBER_OPT(t),
	        TRANSFER_COMMON_OPTS(t),
	        TRANSFER_PUSH_OPTS(t),
	        {CLI_OPT_BOOL, 0, "referrers", &t.referrers, NULL,
	         "also push the artifacts of an oci: layout attached to the image by subject "
	         "(signatures, SBOMs), recursively, keeping digests"},
	        CLI_OPT_END_MARK,
	};
	char **args;
	int nargs, rc;
	rs_location *src_loc = NULL;

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if (nargs < 1 || nargs > 2) {
		rc = cli_usage_error(usage, nargs ? "too many arguments" : "missing SOURCE");
		goto done;
	}
	if ((rc = transfer_check_opts(&t, usage)))
		goto done;
	{
		int error = rs_location_parse(&src_loc, args[0]);
		if (error < 0 && !strchr(args[0], ':') && access(args[0], F_OK) < 0) {
			/* the library's advice is for destinations ("to create one, write ...") */
			rs_buf shown = RS_BUF_INIT;
			rs_text_escape(&shown, args[0], 0);
			cli_error("%s: no such file or directory: push needs an existing image "
			          "(a docker save archive, an OCI layout directory or an OCI "
			          "archive)",
			          shown.ptr);
			rs_buf_dispose(&shown);
			rc = CLI_EXIT_USAGE;
			goto done;
		}
		if (error < 0) {
			rc = cli_fail(error);
			goto done;
		}
	}
	if (src_loc->kind == RS_LOCATION_REGISTRY) {
		rc = cli_usage_error(
		        usage,
		        "push takes a local image (docker-archive:, oci:, oci-archive: "
		        "or a path), not the registry reference \"%s\"; use 'regship "
		        "copy' between registries",
		        args[0]);
		goto done;
	}
	rc = transfer_run(&t, "pushed", src_loc, nargs > 1 ? args[1] : NULL, all_tags, usage);
done:
	free(t.mount_from.items);
	rs_location_free(src_loc);
	free(args);
	return rc;
}
