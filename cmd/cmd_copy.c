/* regship copy — between any two stores: registries, OCI layouts and archives, docker archives. */
#include "cli.h"
#include "transfer.h"

#include <regship/store.h>
#include <stdlib.h>

static const char *const usage[] = {
        "regship copy [--all-tags [--keep-going]] [--no-clobber] [--platform OS/ARCH[/VARIANT]] "
        "[--all-platforms] "
        "[--jobs N] "
        "[--chunk-size SIZE] [--mount-from REPOSITORY] [--progress MODE] [--json] [--referrers] "
        "[--overwrite] "
        "[--preserve-digests] [--src-creds USER[:PASS]] [--dest-creds USER[:PASS]] "
        "[--src-password-stdin | --dest-password-stdin] "
        "SOURCE DESTINATION",
        NULL};

int cmd_copy(int argc, char **argv)
{
	transfer_opts t = TRANSFER_OPTS_INIT;
	transfer_creds creds = {0};
	bool all_tags = false;
	const cli_opt opts[] = {
	        {CLI_OPT_BOOL, 'a', "all-tags", &all_tags, NULL,
	         "copy every tag of SOURCE's repository to DESTINATION's"},
	        TRANSFER_KEEP_GOING_OPT(t),
	        TRANSFER_NO_CLOBBER_OPT(t),
	        TRANSFER_PLATFORM_OPTS(t),
	        TRANSFER_COMMON_OPTS(t),
	        {CLI_OPT_STRING, 0, "chunk-size", &t.chunk_size, "SIZE",
	         "upload in chunks of SIZE (e.g. 8M) instead of one request"},
	        {CLI_OPT_LIST, 0, "mount-from", &t.mount_from, "REPOSITORY",
	         "try mounting blobs from this repository of the destination registry"},
	        TRANSFER_DEST_OPTS(t),
	        TRANSFER_CREDS_OPTS(creds),
	        {CLI_OPT_BOOL, 0, "preserve-digests", &t.preserve_digests, NULL,
	         "into oci: or oci-archive:, keep Docker manifests byte for byte (digests "
	         "equal to the source's) instead of converting them to OCI"},
	        {CLI_OPT_BOOL, 0, "referrers", &t.referrers, NULL,
	         "also copy the artifacts attached to the image by subject (signatures, SBOMs), "
	         "recursively, keeping digests"},
	        CLI_OPT_END_MARK,
	};
	char **args;
	int nargs, rc, error;
	rs_location *src = NULL;

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if (nargs != 2) {
		rc = cli_usage_error(usage, nargs > 2 ? "too many arguments"
		                            : nargs   ? "missing DESTINATION"
		                                      : "missing SOURCE");
		goto done;
	}
	if ((rc = transfer_check_opts(&t, usage)))
		goto done;
	if ((error = rs_location_parse(&src, args[0])) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if (all_tags && src->kind == RS_LOCATION_REGISTRY) {
		/* the repository's tags: the source is a repository, not one image */
		rs_ref *check = NULL;
		if ((error = rs_ref_parse(&check, src->reference, RS_REF_NAME_ONLY)) < 0) {
			rc = cli_usage_error(usage,
			                     "with --all-tags, SOURCE is a repository without "
			                     "a tag: %s",
			                     rs_error_last()->message);
			goto done;
		}
		rs_ref_free(check);
	}
	t.creds = &creds;
	rc = transfer_run(&t, "copied", src, args[1], all_tags, usage);
done:
	transfer_creds_dispose(&creds);
	free(t.mount_from.items);
	rs_location_free(src);
	free(args);
	return rc;
}
