/* The OCI layout store (oci_layout.c): index.json, its journal, the writers' lock, commit. */
#include "store/oci_layout.h"
#include "store/store.h"
#include "util/digest.h"
#include "util/file.h"
#include "util/json.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

char *rs__ol_path_join(const char *a, const char *b) /* NULL when out of memory */
{
	rs_buf p = RS_BUF_INIT;
	rs__buf_printf(&p, "%s/%s", a, b);
	return rs__buf_detach(&p);
}

const char *rs__ol_entry_tag(json_t *entry)
{
	return json_string_value(json_object_get(json_object_get(entry, "annotations"), REF_NAME));
}

const char *rs__ol_entry_digest(json_t *entry)
{
	return json_string_value(json_object_get(entry, "digest"));
}

json_t *rs__ol_index_manifests(json_t *index)
{
	json_t *m = json_object_get(index, "manifests");
	if (!json_is_array(m)) {
		m = json_array();
		if (json_object_set_new(index, "manifests", m) < 0)
			return NULL; /* out of memory */
	}
	return m;
}

static json_t *index_new(void)
{
	return json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", RS_MT_OCI_INDEX,
	                 "manifests");
}

/* ---- index.json: load, journal, sort, write ---------------------------------------------- */

int rs__ol_index_load(json_t **out, const oci_layout *l, bool missing_ok)
{
	rs_buf raw = RS_BUF_INIT;
	json_error_t jerr;
	json_t *j = NULL;
	char *path = rs__ol_path_join(l->dir, "index.json");
	int error;
	if (!path)
		return rs__oom();
	if ((error = rs__file_read_regular(&raw, l->dirfd, "index.json", INDEX_MAX, l->fflags,
	                                   path)) < 0) {
		if (error == RS_ENOTFOUND && missing_ok) {
			*out = index_new();
			error = *out ? 0 : rs__oom();
		} else if (error == RS_ENOTFOUND) {
			error = rs__error_set(RS_EFORMAT,
			                      "%s is not a valid OCI layout: %s is missing",
			                      l->name, path);
		}
		goto done;
	}
	j = json_loadb(rs__buf_cstr(&raw), raw.size, 0, &jerr);
	if (!j) {
		error = rs__json_error(path, &jerr);
		goto done;
	}
	if (!json_is_object(j) ||
	    (json_object_get(j, "manifests") && !json_is_array(json_object_get(j, "manifests")))) {
		error = rs__error_set(RS_EFORMAT,
		                      "%s: not an image index (expected an object with a "
		                      "\"manifests\" array)",
		                      path);
		goto done;
	}
	if (!rs__ol_index_manifests(j)) {
		error = rs__oom();
		goto done;
	}
	*out = j;
	j = NULL;
done:
	json_decref(j);
	rs_buf_dispose(&raw);
	free(path);
	return error;
}

/* op: {"op":"set","desc":{...}} or {"op":"delete","digest":"..."}. 0, or RS_ENOMEM with the
 * index as it was. */
static int index_apply(json_t *index, json_t *op)
{
	json_t *m = rs__ol_index_manifests(index);
	const char *kind = json_string_value(json_object_get(op, "op"));
	if (!m)
		return rs__oom();
	if (!strcmp(kind, "delete")) {
		const char *digest = json_string_value(json_object_get(op, "digest"));
		for (size_t i = json_array_size(m); i-- > 0;) {
			const char *d = rs__ol_entry_digest(json_array_get(m, i));
			if (d && !strcmp(d, digest))
				json_array_remove(m, i);
		}
	} else {
		json_t *desc = json_object_get(op, "desc");
		const char *tag = rs__ol_entry_tag(desc);
		const char *digest = rs__ol_entry_digest(desc);
		size_t n = json_array_size(m);
		for (size_t i = n; !tag && i-- > 0;) {
			const char *d = rs__ol_entry_digest(json_array_get(m, i));
			if (d && !strcmp(d, digest))
				return 0; /* the manifest is already there (untagged or tagged) */
		}
		/* added first, the tag's old entries dropped after: out of memory changes nothing
		 */
		if (json_array_append(m, desc) < 0)
			return rs__oom();
		for (size_t i = n; tag && i-- > 0;) {
			const char *t = rs__ol_entry_tag(json_array_get(m, i));
			if (t && !strcmp(t, tag))
				json_array_remove(m, i);
		}
	}
	return 0;
}

static int entry_cmp(const void *pa, const void *pb)
{
	json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
	const char *ta = rs__ol_entry_tag(a), *tb = rs__ol_entry_tag(b);
	const char *da = rs__ol_entry_digest(a), *db = rs__ol_entry_digest(b);
	int c;
	if (ta && !tb)
		return -1;
	if (!ta && tb)
		return 1;
	if (ta && (c = strcmp(ta, tb)))
		return c;
	return strcmp(da ? da : "", db ? db : "");
}

/* Tagged entries by tag, then untagged ones by digest. 0 or RS_ENOMEM. */
static int index_sort(json_t *index)
{
	json_t *m = rs__ol_index_manifests(index), *sorted = json_array();
	size_t n = json_array_size(m);
	json_t **v = rs__calloc(n ? n : 1, sizeof(*v));
	int error = 0;
	if (!m || !sorted || !v) {
		error = rs__oom();
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(m, i);
	if (n)
		qsort(v, n, sizeof(*v), entry_cmp);
	for (size_t i = 0; i < n; i++)
		if (json_array_append(sorted, v[i]) < 0) {
			error = rs__oom();
			goto done;
		}
	error = json_object_set_new(index, "manifests", sorted) < 0 ? rs__oom() : 0;
	sorted = NULL;
done:
	json_decref(sorted);
	free(v);
	return error;
}

int rs__ol_journal_add(oci_layout *l, json_t *op)
{
	size_t n = json_array_size(l->journal);
	if (!op)
		return rs__oom();
	if (json_array_append(l->journal, op) < 0) {
		json_decref(op);
		return rs__oom();
	}
	json_decref(op);
	if (index_apply(l->index, op) < 0) {
		json_array_remove(l->journal, n);
		return RS_ENOMEM;
	}
	return 0;
}

static int index_write(const oci_layout *l, json_t *index)
{
	char *path = rs__ol_path_join(l->dir, "index.json");
	char *text;
	int error;
	if (!path)
		return rs__oom();
	if ((error = index_sort(index)) < 0) {
		free(path);
		return error;
	}
	text = json_dumps(index, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text) {
		free(path);
		return rs__oom();
	}
	error = rs__file_write_atomic_at(l->dirfd, "index.json", text, strlen(text), 0644, 0, path);
	free(text);
	free(path);
	return error;
}

/* Serialise with the other writers of this layout: an flock of the directory itself
 * (exclusive; shared for a reader's open, so it never sees a half-made skeleton). */
int rs__ol_lock(const oci_layout *l, bool exclusive)
{
	while (flock(l->dirfd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno != EINTR)
			return rs__error_set(RS_EIO, "cannot lock %s: %s", l->name,
			                     strerror(errno));
	}
	return 0;
}

void rs__ol_unlock(const oci_layout *l)
{
	(void)flock(l->dirfd, LOCK_UN);
}

int rs__ol_commit(rs_store *s)
{
	oci_layout *l = (oci_layout *)s;
	json_t *disk = NULL;
	int error = 0;
	bool locked = false;
	const char *key;
	json_t *desc;
	if (!(l->flags & RS_STORE_WRITE))
		return 0;
	/* a manifest put by digest that no index put here names is the image itself (pulled by
	 * digest, no tag): an untagged entry, or the layout would not hold it at all */
	json_object_foreach(l->loose, key, desc)
	{
		if (!json_object_get(l->children, key) &&
		    (error = rs__ol_journal_add(
		             l, json_pack("{s:s, s:O}", "op", "set", "desc", desc))) < 0)
			return error; /* loose and children kept: commit may be tried again */
	}
	json_object_clear(l->loose);
	json_object_clear(l->children);
	if (json_array_size(l->journal) == 0)
		return 0;
	/* load, modify, write under the lock: no writer's entries are lost */
	if ((error = rs__ol_lock(l, true)) < 0)
		goto done;
	locked = true;
	if ((error = rs__ol_index_load(&disk, l, true)) < 0)
		goto done;
	for (size_t i = 0; i < json_array_size(l->journal); i++)
		if ((error = index_apply(disk, json_array_get(l->journal, i))) < 0)
			goto done;
	if ((error = index_write(l, disk)) < 0)
		goto done;
	json_decref(l->index);
	l->index = disk;
	disk = NULL;
	json_array_clear(l->journal);
done:
	if (locked)
		rs__ol_unlock(l);
	json_decref(disk);
	return error;
}
