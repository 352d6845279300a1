/*
 * The reader structure, for people writing a new kind of reader or store backend (libgit2's
 * sys/ headers). Programs that only use readers include regship/reader.h, where rs_reader is
 * opaque.
 */
#ifndef REGSHIP_SYS_READER_H
#define REGSHIP_SYS_READER_H

#include "../common.h"
#include "../reader.h"

RS_BEGIN_DECL

/* A streaming byte source. read returns bytes read (>0), 0 at end, or a negative RS_E* code
 * (set a message with rs_error_set(); rs_reader_read() supplies a generic one otherwise). */
struct rs_reader {
	long long (*read)(rs_reader *r, void *buf, size_t len);
	int (*rewind)(rs_reader *r); /* optional: start again from byte 0 */
	void (*free)(rs_reader *r);
	int64_t size; /* total bytes, or -1 when unknown */
	/* Optional (zero it otherwise): set by a store that computed the digest of exactly these
	 * bytes itself while writing them (a temporary file of its own); the copy engine then
	 * does not hash them a second time. Never set for bytes that came from elsewhere. */
	const char *vouched_digest;
};

RS_END_DECL

#endif
