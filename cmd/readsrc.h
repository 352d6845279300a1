/* Opening an image for reading (inspect, config, blob): any location the copy verbs take. */
#ifndef CLI_READSRC_H
#define CLI_READSRC_H

#include "cli.h"

#include <regship/inspect.h>
#include <regship/store.h>

typedef struct readsrc {
	rs_location *loc;
	rs_client *client; /* registry locations only */
	rs_store *store;
	char *reference; /* tag or digest to ask the store for, or NULL */
} readsrc;

/* Parse TEXT as a location and open it for reading. Prints the error; returns 0 or an exit
 * code. */
int readsrc_open(readsrc *r, const char *text);
void readsrc_close(readsrc *r);

/* readsrc_open, then read the image TEXT names (for WANT from an index; NULL: the index
 * itself): what inspect and config start with. Prints the error; returns 0 or an exit code. */
int readsrc_inspect(readsrc *r, rs_image_info **info, const char *text, const rs_platform *want);

/* The image's config bytes (verified) on standard output; "TEXT: the manifest has no config"
 * otherwise. Returns 0 or an exit code. */
int readsrc_print_config(const rs_image_info *info, const char *text);

/* Fail like pull does when standard output is a terminal and the data is binary. */
int readsrc_refuse_tty(const char *const *usage, const char *what, bool force);

#endif
