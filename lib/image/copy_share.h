/* What the images of one rs_copy_tags() batch share (see include/regship/copy_tags.h): the
 * blobs and index children already claimed by digest, and the lanes that bound the whole
 * batch. Internal; the copy engine (copy.c) consults it when an engine has one. */
#ifndef RS_IMAGE_COPY_SHARE_H
#define RS_IMAGE_COPY_SHARE_H

#include "regship/copy.h"

#include <stdbool.h>

typedef struct rs__copy_share rs__copy_share;

/* A share with `lanes_free` lanes free besides those its image workers hold. */
rs__copy_share *rs__share_new(unsigned int lanes_free);
void rs__share_free(rs__copy_share *s);

/* Claim digest before moving it. Returns false when it is ours to move (call
 * rs__share_release() afterwards), true when another image of the batch already moved it (or
 * was moving it: this waits for that move to end; a failed move makes it ours). */
bool rs__share_claim(rs__copy_share *s, const char *digest);
/* The move of a claimed digest ended: ok (moved or present) or failed. */
void rs__share_release(rs__copy_share *s, const char *digest, bool ok);

/* Up to `wanted` more lanes, if free now (never waits); give them back when done. */
unsigned int rs__share_lanes_take(rs__copy_share *s, unsigned int wanted);
void rs__share_lanes_give(rs__copy_share *s, unsigned int n);

/* rs_copy() as one image of a batch: share (may be NULL) is consulted for every blob and index
 * child. */
int rs__copy_shared(rs_store *dst, const char *dst_reference, rs_store *src,
                    const char *src_reference, const rs_copy_options *opts, rs_copy_result *result,
                    rs__copy_share *share);

#endif
