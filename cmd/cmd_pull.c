/* regship pull — a registry image into an OCI layout or a docker archive. */
#include "cli.h"
#include "transfer.h"

#include <regship/store.h>
#include <stdlib.h>

static const char *const usage[] = {
        "regship pull [--platform OS/ARCH[/VARIANT]] [--all-platforms] "
        "[--jobs N] [--progress MODE] "
        "[--json] [--referrers] [--overwrite] [--preserve-digests] REFERENCE DESTINATION",
        NULL};

int cmd_pull(int argc, char **argv)
{
	transfer_opts t = TRANSFER_OPTS_INIT;
	const cli_opt opts[] = {
	        TRANSFER_PLATFORM_OPTS(t),
	        TRANSFER_COMMON_OPTS(t),
	        TRANSFER_DEST_OPTS(t),
	        {CLI_OPT_BOOL, 0, "preserve-digests", &t.preserve_digests, NULL,
	         "into oci: or oci-archive:, keep Docker manifests byte for byte (digests "
	         "equal to the source's) instead of converting them to OCI"},
	        {CLI_OPT_BOOL, 0, "referrers", &t.referrers, NULL,
	         "also pull the artifacts attached to the image by subject (signatures, SBOMs), "
	         "recursively, keeping digests (OCI layouts only)"},
	        CLI_OPT_END_MARK,
	};
	char **args;
	int nargs, rc, error;
	rs_location *src = NULL, *dst = NULL;

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if (nargs != 2) {
		rc = cli_usage_error(usage, nargs > 2 ? "too many arguments"
		                            : nargs   ? "missing DESTINATION"
		                                      : "missing REFERENCE");
		goto done;
	}
	if ((rc = transfer_check_opts(&t, usage)))
		goto done;
	if ((error = rs_location_parse(&src, args[0])) < 0 ||
	    (error = rs_location_parse(&dst, args[1])) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if (src->kind != RS_LOCATION_REGISTRY) {
		rc = cli_usage_error(usage,
		                     "pull reads from a registry; \"%s\" is a %s (use 'regship "
		                     "copy')",
		                     args[0], rs_location_kind_name(src->kind));
		goto done;
	}
	if (dst->kind == RS_LOCATION_REGISTRY) {
		rc = cli_usage_error(usage,
		                     "pull writes a local image (oci:DIR[:TAG], "
		                     "oci-archive:FILE[:TAG] or docker-archive:FILE[:REF]); "
		                     "\"%s\" is a registry reference (use 'regship copy')",
		                     args[1]);
		goto done;
	}
	rc = transfer_run(&t, "pulled", src, args[1], false, usage);
done:
	free(t.mount_from.items);
	rs_location_free(src);
	rs_location_free(dst);
	free(args);
	return rc;
}
