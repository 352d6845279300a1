#ifndef CLI_LIST_H
#define CLI_LIST_H
/* A list of owned strings for collecting a listing before printing it (nothing half-printed). */
#include <stddef.h>

typedef struct cli_strings {
	char **items;
	size_t count, alloc;
} cli_strings;

int cli_strings_add(const char *s, void *payload); /* callback shape of rs_tags_list */
void cli_strings_dispose(cli_strings *l);
/* Print as one item per line, or as {"<key0>": name, "<key>": [...]} JSON. */
void cli_strings_print(const cli_strings *l, int json, const char *name_key, const char *name,
                       const char *list_key);

#endif
