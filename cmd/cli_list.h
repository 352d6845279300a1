#ifndef CLI_LIST_H
#define CLI_LIST_H
/* A list of owned strings, for verbs that need a whole listing before they act on it. */
#include <stddef.h>

typedef struct cli_strings {
	char **items;
	size_t count, alloc;
} cli_strings;

int cli_strings_add(const char *s, void *payload); /* callback shape of rs_tags_list */
void cli_strings_dispose(cli_strings *l);
#endif
