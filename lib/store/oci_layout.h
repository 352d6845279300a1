/*
 * The OCI image layout store, private to lib/store/oci_layout*.c: oci_layout.c (manifests, tags,
 * open), oci_layout_index.c (index.json, journal, lock, commit), oci_layout_blob.c (blobs).
 * See oci_layout.c for the design (journal, lock, no links followed by a writer).
 */
#ifndef RS_STORE_OCI_LAYOUT_H
#define RS_STORE_OCI_LAYOUT_H

#include "regship/store.h"
#include "regship/sys/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define REF_NAME "org.opencontainers.image.ref.name"
#define LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"
#define INDEX_MAX (64u * 1024 * 1024)
#define MANIFEST_MAX (16u * 1024 * 1024)
#define COPY_BUF (64u * 1024)

typedef struct {
	rs_store parent;
	char *dir;
	char *name; /* for messages: "oci layout DIR" */
	unsigned int flags;
	int dirfd; /* the layout directory, for every access inside it */
	unsigned int fflags; /* RS_FILE_NOFOLLOW for a writer, else 0 */
	json_t *index; /* index.json as this store sees it */
	json_t *journal; /* pending index changes, applied to the file at commit */
	json_t *loose; /* digest -> descriptor: manifests put by digest, not (yet) an index's */
	json_t *children; /* digest -> true: the children of the indexes put */
} oci_layout;

/* ---- oci_layout_index.c ---- */

/* "a/b", allocated. */
char *rs__ol_path_join(const char *a, const char *b);
/* An index entry's ref.name annotation and digest (NULL when absent). */
const char *rs__ol_entry_tag(json_t *entry);
const char *rs__ol_entry_digest(json_t *entry);
/* The index's "manifests" array (made one when missing or not an array). */
json_t *rs__ol_index_manifests(json_t *index);
/* index.json read and checked; missing_ok: a missing file is an empty index. */
int rs__ol_index_load(json_t **out, const oci_layout *l, bool missing_ok);
/* Apply op ({"op":"set","desc":{...}} / {"op":"delete","digest":...}) to l->index and keep
 * it for commit (op is taken over). */
int rs__ol_journal_add(oci_layout *l, json_t *op);
/* flock of the layout directory: exclusive for writers, shared for a reader's open. */
int rs__ol_lock(const oci_layout *l, bool exclusive);
void rs__ol_unlock(const oci_layout *l);
/* The store's commit: the journal applied to index.json as it is now, under the lock. */
int rs__ol_commit(rs_store *s);

/* ---- oci_layout_blob.c ---- */

/* DIR/blobs/<alg>/<hex> of a checked digest (for messages). */
int rs__ol_blob_path(char **out, const oci_layout *l, const char *digest);
/* RS_EINVAL when the layout was opened read-only. */
int rs__ol_check_writable(const oci_layout *l);
/* blobs/<alg> of a checked digest opened inside the layout (created when asked). */
int rs__ol_alg_dir_open(int *fd, const oci_layout *l, const char *digest, bool create);
/* The store table's blob operations. */
int rs__ol_blob_exists(rs_store *s, const rs_descriptor *desc);
int rs__ol_blob_open(rs_reader **out, rs_store *s, const rs_descriptor *desc);
int rs__ol_blob_put(rs_store *s, const rs_descriptor *desc, rs_reader *r, rs_transfer_cb cb,
                    void *payload);
/* A manifest's bytes, written whole and atomically unless the right bytes are there. */
int rs__ol_blob_put_bytes(oci_layout *l, const char *digest, const void *data, size_t len);

#endif
