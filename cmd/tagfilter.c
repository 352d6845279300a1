/* regship tags: --sort semver, --include/--exclude REGEX, --latest [PREFIX] (see tagfilter.h). */
#include "tagfilter.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

bool tagfilter_active(const tagfilter *f)
{
	return f->sort || f->include || f->exclude || f->latest;
}

static int compile(regex_t *re, bool *have, const char *const *usage, const char *opt,
                   const char *text)
{
	char why[256];
	int rc;

	if (!text)
		return 0;
	if ((rc = regcomp(re, text, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, re, why, sizeof(why));
		return cli_usage_error(usage, "invalid --%s \"%s\": %s", opt, text, why);
	}
	*have = true;
	return 0;
}

int tagfilter_setup(tagfilter *f, const char *const *usage)
{
	int rc;

	if (f->sort && strcmp(f->sort, "semver"))
		return cli_usage_error(usage, "invalid --sort \"%s\": the only order is semver",
		                       f->sort);
	if (f->sort && f->latest)
		return cli_usage_error(usage,
		                       "--latest prints one tag; --sort does not go with it");
	if (f->latest && f->prefix) {
		const char *got = NULL, *none[] = {NULL};
		/* the prefix is checked now, before any request */
		if (rs_tags_latest(&got, none, 0, f->prefix) == RS_EINVAL)
			return cli_usage_error(usage, "%s", rs_error_last()->message);
		rs_error_clear();
	}
	if ((rc = compile(&f->inc, &f->have_inc, usage, "include", f->include)) ||
	    (rc = compile(&f->exc, &f->have_exc, usage, "exclude", f->exclude)))
		return rc;
	return 0;
}

int tagfilter_print(tagfilter *f, cli_strings *tags, bool json, const char *repository)
{
	size_t kept = 0;
	const char *best = NULL;
	int error;

	for (size_t i = 0; i < tags->count; i++) {
		char *t = tags->items[i];
		if ((f->have_inc && regexec(&f->inc, t, 0, NULL, 0) != 0) ||
		    (f->have_exc && regexec(&f->exc, t, 0, NULL, 0) == 0)) {
			free(t);
			continue;
		}
		tags->items[kept++] = t;
	}
	tags->count = kept;
	if (!f->latest) {
		if (f->sort)
			rs_tags_sort_semver(tags->items, tags->count);
		cli_listing out = {json, "repository", repository, "tags", 0};
		for (size_t i = 0; i < tags->count; i++)
			if (cli_listing_add(tags->items[i], &out) < 0)
				break;
		cli_listing_end(&out);
		return CLI_EXIT_OK;
	}
	error = rs_tags_latest(&best, (const char *const *)tags->items, tags->count, f->prefix);
	if (error < 0) {
		const rs_error *e = rs_error_last();
		cli_error("%s: %s", repository,
		          rs_error_is_set() ? e->message : rs_strerror(error));
		return cli_exit_code(error);
	}
	if (json) {
		printf("{");
		cli_json_field("repository", repository, false);
		cli_json_field("tag", best, true);
		printf("}\n");
	} else {
		puts(best);
	}
	return CLI_EXIT_OK;
}

void tagfilter_dispose(tagfilter *f)
{
	if (f->have_inc)
		regfree(&f->inc);
	if (f->have_exc)
		regfree(&f->exc);
	f->have_inc = f->have_exc = false;
}
