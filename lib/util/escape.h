/*
 * Text from servers (tag and repository names, error messages, header values) made safe to print:
 * control characters, C1 controls, bidirectional overrides and bytes that are not UTF-8 are
 * written as visible escapes, so that such text cannot forge output lines or drive a terminal.
 */
#ifndef RS_UTIL_ESCAPE_H
#define RS_UTIL_ESCAPE_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * Append len bytes of s to b with \n \r \t, \xHH (other C0 controls, DEL, bytes that are not
 * UTF-8) and \uHHHH (U+0080..U+009F, U+200E/F, U+202A..U+202E, U+2066..U+2069). A backslash is
 * doubled when `backslash` is set (so the escaping can be undone); leave it unset to make text
 * that may already hold such escapes safe without doubling them.
 */
void rs__buf_put_escaped(rs_buf *b, const char *s, size_t len, bool backslash);

/* s escaped as above (backslash doubled), as a new string (NULL gives ""). Caller frees. */
char *rs__escape(const char *s);

/* Is s valid UTF-8 (as jansson's json_string wants it)? Tells a json_string() that ran out of
 * memory from one that refused the text. */
bool rs__utf8_valid(const char *s);

/* Does s hold anything rs__buf_put_escaped would change (backslash not counted)? */
bool rs__needs_escape(const char *s);

#endif
