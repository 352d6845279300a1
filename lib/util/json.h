/* Internal JSON helpers over jansson (never installed). */
#ifndef RS_UTIL_JSON_H
#define RS_UTIL_JSON_H

#include "util/util.h"

#include <jansson.h>

/* What went wrong in a parse, in words of our own: never a piece of the input (which may be
 * a secret: jansson's text quotes the token it stopped at). */
const char *rs__json_error_reason(const json_error_t *jerr);

/* Set RS_EFORMAT "NAME: invalid JSON at line L, column C: REASON" and return it. */
int rs__json_error(const char *name, const json_error_t *jerr);

#endif
