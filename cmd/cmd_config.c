/* regship config — print an image's config blob, verified against its digest. */
#include "cli.h"
#include "readsrc.h"

#include <stdlib.h>

static const char *const usage[] = {"regship config [--platform OS/ARCH[/VARIANT]] IMAGE", NULL};

int cmd_config(int argc, char **argv)
{
	const char *platform = NULL;
	const cli_opt opts[] = {
	        {CLI_OPT_STRING, 0, "platform", &platform, "OS/ARCH[/VARIANT]",
	         "from an index, the image for this platform (default: this machine's)"},
	        CLI_OPT_END_MARK,
	};
	char **args;
	int nargs, rc, error;
	readsrc src = {0};
	rs_platform *want = NULL;
	rs_image_info *info = NULL;

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if (nargs != 1) {
		rc = cli_usage_error(usage, nargs ? "too many arguments" : "missing IMAGE");
		goto done;
	}
	if ((error = platform ? rs_platform_parse(&want, platform) : rs_platform_host(&want)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if (!(rc = readsrc_inspect(&src, &info, args[0], want)))
		rc = readsrc_print_config(info, args[0]);
done:
	rs_image_info_free(info);
	rs_platform_free(want);
	readsrc_close(&src);
	free(args);
	return rc;
}
