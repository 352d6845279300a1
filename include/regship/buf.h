/* A growable byte buffer, always NUL-terminated (libgit2's git_buf). The caller owns it and
 * empties it with rs_buf_dispose(). Threads: a buffer is used by one thread at a time. */
#ifndef REGSHIP_BUF_H
#define REGSHIP_BUF_H

#include "common.h"

RS_BEGIN_DECL

typedef struct rs_buf {
	char *ptr; /* NUL-terminated contents, or NULL when empty and never grown */
	size_t size; /* bytes used, not counting the terminating NUL */
	size_t asize; /* bytes allocated */
} rs_buf;

#define RS_BUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/* Release the memory of a buffer and reset it to RS_BUF_INIT. */
RS_EXTERN(void) rs_buf_dispose(rs_buf *buf);

/*
 * Non-zero when the buffer ran out of memory while the library appended to it (libgit2's
 * git_buf_oom): its contents were freed, it reads as "", and further appends do nothing.
 * Functions that fill a caller's buffer report RS_ENOMEM themselves; this is for functions
 * that return void, such as rs_text_escape() and rs_json_quote(). Dispose it as usual.
 */
RS_EXTERN(int) rs_buf_oom(const rs_buf *buf);

/* rs_text_escape flags: also double backslashes, so that the escaping can be undone. */
#define RS_ESCAPE_BACKSLASH 1

/*
 * Append s made safe to print on a terminal: \n \r \t, \xHH for other control characters, DEL
 * and bytes that are not UTF-8, \uHHHH for C1 controls and bidirectional overrides. Text from
 * servers (tag names, error messages) goes through this before it is printed.
 */
RS_EXTERN(void) rs_text_escape(rs_buf *out, const char *s, int flags);

RS_END_DECL

#endif
