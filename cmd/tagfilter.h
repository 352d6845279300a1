#ifndef TAGFILTER_H
#define TAGFILTER_H
/* Tag lists for release scripts (regship tags --sort semver / --include / --exclude /
 * --latest [PREFIX]): the whole listing is collected, filtered, then sorted or reduced to the
 * highest release. */
#include "cli_list.h"

#include <regex.h>
#include <stdbool.h>

typedef struct tagfilter {
	const char *sort; /* NULL or "semver" */
	const char *include, *exclude; /* POSIX extended regular expressions, or NULL */
	bool latest;
	const char *prefix; /* with latest: the version line, or NULL */
	regex_t inc, exc;
	bool have_inc, have_exc;
} tagfilter;

/* Anything asked for? */
bool tagfilter_active(const tagfilter *f);

/* Check the options and compile the expressions (usage errors printed); 0 or an exit code. */
int tagfilter_setup(tagfilter *f, const char *const *usage);

/* Filter, then print: sorted list (or JSON {"repository", "tags"}), or the highest release.
 * Returns the exit code (3 when --latest finds none). */
int tagfilter_print(tagfilter *f, cli_strings *tags, bool json, const char *repository);

void tagfilter_dispose(tagfilter *f);

#endif
