#include "cli_list.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cli_strings_add(const char *s, void *payload)
{
	cli_strings *l = payload;
	if (l->count == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 64;
		l->items = realloc(l->items, l->alloc * sizeof(*l->items));
		if (!l->items)
			cli_out_of_memory();
	}
	l->items[l->count] = strdup(s);
	if (!l->items[l->count])
		cli_out_of_memory();
	l->count++;
	return 0;
}

void cli_strings_dispose(cli_strings *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}
