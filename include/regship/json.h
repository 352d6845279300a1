/* Small JSON helpers for programs built on the library (no jansson types exposed).
 * Thread-safe: they touch only the buffers given. */
#ifndef REGSHIP_JSON_H
#define REGSHIP_JSON_H

#include "buf.h"
#include "common.h"

RS_BEGIN_DECL

/* Re-indent a JSON document for people (key order kept). RS_EFORMAT if it is not JSON. */
RS_EXTERN(int) rs_json_pretty(rs_buf *out, const void *json, size_t len);

/* Append s as a JSON string literal, quotes included. */
RS_EXTERN(void) rs_json_quote(rs_buf *out, const char *s);

RS_END_DECL

#endif
