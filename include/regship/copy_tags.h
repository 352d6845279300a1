/*
 * Copying many images at once (copy --all-tags, push of every name in a layout): the images
 * move in parallel, a blob shared between them moves once, and one bound limits everything in
 * flight.
 *
 * jobs is a number of lanes shared by every image and every blob: up to `jobs` images are
 * copied at once, each holding one lane while it reads its manifest and moves its blobs; an
 * image with several blobs to move takes more lanes only when some are free (fewer images left
 * than lanes). So at no time are more than `jobs` requests or streams in flight for the copy,
 * whatever the number of images. A blob is claimed by digest before it is checked: the first
 * image to need it moves it, another image that needs it meanwhile waits for that move and then
 * counts it as present (RS_BLOB_EXISTS, no request); a blob that failed to move is tried again
 * by the next image that needs it. Index children are shared the same way (put once).
 *
 * Images move in parallel only between stores that allow it (a registry destination, read from
 * a registry or an OCI layout); any other pair is copied one image at a time, in order, with the
 * same results.
 */
#ifndef REGSHIP_COPY_TAGS_H
#define REGSHIP_COPY_TAGS_H

#include "common.h"
#include "copy.h"
#include "errors.h"
#include "store.h"

RS_BEGIN_DECL

/* What happened to one image of the batch. */
typedef struct rs_copy_tags_item {
	int error; /* 0, or the rs_error_code of its failure */
	rs_error detail; /* the failure's message (error < 0) */
	int attempted; /* 0: not started (an earlier failure stopped the batch) */
	rs_copy_result result; /* digest and blobs (error == 0; partial otherwise) */
} rs_copy_tags_item;

/* Called once per image as soon as it is finished, with its index in the batch; calls are
 * serialised (never two at once), but arrive in completion order. */
typedef void (*rs_copy_tags_done_cb)(size_t index, const rs_copy_tags_item *item, void *payload);

typedef struct rs_copy_tags_options {
	unsigned int version;
	/* Per-image copy options (platform, mount_from, retries, callback, ...). Its jobs is
	 * the total bound described above (0: 4). Its callback is called for every image, one
	 * call at a time. */
	const rs_copy_options *copy;
	/* Go on with the other images after one failed (default: start no new image once one
	 * failed; those already moving finish). */
	int keep_going;
	rs_copy_tags_done_cb done;
	void *done_payload;
	/* Optional: every copy event of image `index` (serialised like done), in place of the
	 * per-image options' callback, so a caller can tell which image an event belongs to.
	 * Non-zero cancels, as rs_copy_cb does. */
	int (*event)(size_t index, const rs_copy_event *ev, void *payload);
	void *event_payload;
} rs_copy_tags_options;

#define RS_COPY_TAGS_OPTIONS_VERSION 1
#define RS_COPY_TAGS_OPTIONS_INIT                                                                  \
	{                                                                                          \
		RS_COPY_TAGS_OPTIONS_VERSION, NULL, 0, NULL, NULL, NULL, NULL                      \
	}

/*
 * Copy src_refs[i] of src to dst under dst_refs[i] (a tag; NULL: by digest only), for i < n.
 * items receives n entries (the caller allocates them, and releases each with
 * rs_copy_tags_item_dispose()). Returns 0 when every image was copied; otherwise the error of
 * the first failed image in batch order (its message prefixed with its reference). The
 * destination is not committed: call rs_store_commit().
 */
RS_EXTERN(int)
rs_copy_tags(rs_store *dst, const char *const *dst_refs, rs_store *src, const char *const *src_refs,
             size_t n, const rs_copy_tags_options *opts, rs_copy_tags_item *items);

/* One image of a batch over several stores. */
typedef struct rs_copy_tags_pair {
	rs_store *dst;
	const char *dst_ref; /* a tag; NULL: by digest only */
	rs_store *src;
	const char *src_ref;
} rs_copy_tags_pair;

/*
 * rs_copy_tags() for images of several repositories at once (regship sync): pairs[i].src_ref
 * of pairs[i].src goes to pairs[i].dst under pairs[i].dst_ref. The same bound, sharing and
 * results; a blob counts as moved only for the destination store it was moved to. Images move
 * in parallel when every pair allows it (see above). Destinations are not committed.
 */
RS_EXTERN(int)
rs_copy_tags_pairs(const rs_copy_tags_pair *pairs, size_t n, const rs_copy_tags_options *opts,
                   rs_copy_tags_item *items);

RS_EXTERN(void) rs_copy_tags_item_dispose(rs_copy_tags_item *item);

RS_END_DECL

#endif
