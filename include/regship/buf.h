/* A growable byte buffer, always NUL-terminated (libgit2's git_buf). */
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

RS_END_DECL

#endif
