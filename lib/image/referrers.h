/* The referrers walk of lib/image/referrers.c, for the copy engine (not installed). */
#ifndef RS_IMAGE_REFERRERS_H
#define RS_IMAGE_REFERRERS_H

#include "regship/store.h"

/* rs_copy_options.referrers: can src's referrers be read and dst hold them? Checked before
 * anything moves: RS_EUNSUPPORTED naming the store otherwise. */
int rs__referrers_copy_check(rs_store *dst, rs_store *src);

#endif
