/* Opening an image for reading (inspect, config, blob): any location the copy verbs take. */
#ifndef CLI_READSRC_H
#define CLI_READSRC_H

#include "cli.h"

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

/* Fail like pull does when standard output is a terminal and the data is binary. */
int readsrc_refuse_tty(const char *const *usage, const char *what, bool force);

#endif
