/* Internal JSON helpers over jansson (never installed). */
#ifndef RS_UTIL_JSON_H
#define RS_UTIL_JSON_H

#include "util/util.h"

#include <jansson.h>

/* What went wrong in a parse, in words of our own: never a piece of the input (which may be
 * a secret: jansson's text quotes the token it stopped at). */
const char *rs__json_error_reason(const json_error_t *jerr);

/* True when a failed json_load* ran out of memory rather than met bad input: jansson reports
 * json_error_out_of_memory, or (when it could not even start) no reason at all. */
bool rs__json_oom(const json_error_t *jerr);

/* Set RS_EFORMAT "NAME: invalid JSON at line L, column C: REASON" and return it; RS_ENOMEM
 * (rs__oom) when rs__json_oom(jerr). */
int rs__json_error(const char *name, const json_error_t *jerr);

#endif
