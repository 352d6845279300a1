#include "readsrc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int readsrc_open(readsrc *r, const char *text)
{
	rs_open_options oo = RS_OPEN_OPTIONS_INIT;
	int error, rc;
	memset(r, 0, sizeof(*r));
	if ((error = rs_location_parse(&r->loc, text)) < 0)
		return cli_fail(error);
	if (r->loc->kind == RS_LOCATION_REGISTRY && (rc = cli_client(&r->client)))
		return rc;
	oo.client = r->client;
	if ((error = rs_store_open_location(&r->store, &r->reference, r->loc, RS_STORE_READ, &oo)) <
	    0)
		return cli_fail(error);
	return 0;
}

int readsrc_inspect(readsrc *r, rs_image_info **info, const char *text, const rs_platform *want)
{
	int error, rc;
	if ((rc = readsrc_open(r, text)))
		return rc;
	if ((error = rs_image_inspect(info, r->store, r->reference, want)) < 0)
		return cli_fail(error);
	return 0;
}

int readsrc_print_config(const rs_image_info *info, const char *text)
{
	if (!info->config_desc.digest) {
		cli_error("%s: the manifest has no config", text);
		return CLI_EXIT_ERROR;
	}
	fwrite(info->config.ptr, 1, info->config.size, stdout);
	return 0;
}

void readsrc_close(readsrc *r)
{
	rs_store_free(r->store);
	rs_client_free(r->client);
	rs_location_free(r->loc);
	free(r->reference);
	memset(r, 0, sizeof(*r));
}

int readsrc_refuse_tty(const char *const *usage, const char *what, bool force)
{
	if (force || !isatty(STDOUT_FILENO))
		return 0;
	return cli_usage_error(usage,
	                       "refusing to write %s to a terminal: redirect standard output, "
	                       "give -o FILE, or --force",
	                       what);
}
