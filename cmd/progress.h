/* Transfer progress on stderr: redrawn lines on a terminal, one plain line per event in logs. */
#ifndef CLI_PROGRESS_H
#define CLI_PROGRESS_H

#include "cli.h"

#include <regship/copy.h>

typedef enum { PROGRESS_AUTO, PROGRESS_TTY, PROGRESS_PLAIN, PROGRESS_NONE } progress_mode;

typedef struct progress progress;

/* Parse --progress auto|tty|plain|none; prints the error and returns CLI_EXIT_USAGE. */
int progress_mode_parse(progress_mode *out, const char *text, const char *const *usage);

/* verb: "pushed", "pulled", "copied" — the word for a blob that moved. */
progress *progress_new(progress_mode mode, const char *verb);
/* The rs_copy callback; payload is the progress. */
int progress_event(const rs_copy_event *ev, void *payload);
/* The image the next events belong to (named in plain lines); on a terminal its rows start a
 * new block below what was printed since the last one. */
void progress_image(progress *p, const char *image);
/* Name the image the next events belong to, without starting a new display (images moving
 * in parallel: copy --all-tags). */
void progress_name(progress *p, const char *image);
/* Finish the display (draws what the throttle held back; never redraws over later output). */
void progress_done(progress *p);
void progress_free(progress *p);

/* "1.5 MiB" */
void format_bytes(char *out, size_t n, double bytes);

#endif
