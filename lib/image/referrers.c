/*
 * The referrers of an image travelling with it (rs_copy_options.referrers, rs_copy_referrers):
 * a breadth-first walk from the image (and an index's children) through "subject" links, each
 * referrer copied by digest with rs_copy, so that a signature of a signature follows too.
 */
#include "regship/referrers.h"
#include "regship/copy.h"
#include "regship/manifest.h"

#include "image/referrers.h"
#include "store/store.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

/* Referrers moved for one image at most (a hostile registry could make the walk endless). */
#define REFERRERS_WALK_MAX 10000

typedef struct walk {
	rs_store *dst, *src;
	rs_client *client; /* the source registry's, or NULL for a layout */
	const rs_ref *src_repo;
	rs_strlist layout_digests; /* a layout: every manifest of its index.json */
	rs_strlist layout_subjects; /* ... and each one's subject digest ("" when none) */
	bool layout_loaded;
	rs_strlist queue; /* subjects whose referrers are still to be read */
	rs_strlist seen; /* every digest queued or copied */
	size_t copied;
} walk;

/* A manifest of the source, parsed. */
static int src_manifest(rs_manifest **out, walk *w, const char *digest)
{
	rs_buf body = RS_BUF_INIT;
	char *mt = NULL;
	int error = rs_store_manifest_get(w->src, digest, &body, &mt, NULL);
	if (error == 0)
		error = rs_manifest_parse(out, body.ptr, body.size, mt);
	rs_buf_dispose(&body);
	free(mt);
	return error;
}

/* A layout: read every manifest of its index once, and note each one's subject. */
static int layout_load(walk *w)
{
	int error;
	if (w->layout_loaded)
		return 0;
	w->layout_loaded = true;
	if ((error = rs__oci_layout_digests(w->src, &w->layout_digests)) < 0) {
		return error;
	}
	for (size_t i = 0; i < w->layout_digests.count; i++) {
		rs_manifest *m = NULL;
		const rs_descriptor *s;
		error = src_manifest(&m, w, w->layout_digests.items[i]);
		if (error == RS_EUNSUPPORTED || error == RS_EFORMAT) {
			rs_error_clear(); /* not a manifest regship reads: no subject it knows */
			error = 0;
		}
		if (error < 0)
			return error;
		s = m ? rs_manifest_subject(m) : NULL;
		error = rs__strlist_push(&w->layout_subjects, s && s->digest ? s->digest : "");
		rs_manifest_free(m);
		if (error < 0)
			return error;
	}
	return 0;
}

/* The digests of subject's referrers in the source. */
static int referrers_of(rs_strlist *out, walk *w, const char *subject)
{
	rs_referrers rs = RS_REFERRERS_INIT;
	rs_ref *ref = NULL;
	int error;

	if (!w->client) {
		if ((error = layout_load(w)) < 0)
			return error;
		for (size_t i = 0; i < w->layout_digests.count; i++)
			if (!strcmp(w->layout_subjects.items[i], subject) &&
			    (error = rs__strlist_push(out, w->layout_digests.items[i])) < 0)
				return error;
		return 0;
	}
	if ((error = rs_ref_with_digest(&ref, w->src_repo, subject)) < 0)
		return error;
	if ((error = rs_referrers_list(&rs, w->client, ref, NULL)) == 0)
		for (size_t i = 0; i < rs.count && error == 0; i++)
			error = rs__strlist_push(out, rs.items[i].digest);
	rs_referrers_dispose(&rs);
	rs_ref_free(ref);
	return error;
}

/* 0, or RS_ENOMEM (set). */
static int enqueue(walk *w, const char *digest)
{
	int error;
	if (rs__strlist_contains(&w->seen, digest))
		return 0;
	if ((error = rs__strlist_push(&w->seen, digest)) < 0)
		return error;
	return rs__strlist_push(&w->queue, digest);
}

/* The subject and, for an index, its children. */
static int enqueue_image(walk *w, const char *digest)
{
	rs_manifest *m = NULL;
	int error;
	if ((error = enqueue(w, digest)) < 0 || (error = src_manifest(&m, w, digest)) < 0)
		return error;
	for (size_t i = 0; i < rs_manifest_child_count(m) && error == 0; i++)
		error = enqueue(w, rs_manifest_child(m, i)->digest);
	rs_manifest_free(m);
	return error;
}

int rs__referrers_copy_check(rs_store *dst, rs_store *src)
{
	const char *from = rs_store_scheme(src), *to = rs_store_scheme(dst);
	if (to && !strcmp(to, "docker-archive"))
		return rs__error_set(
		        RS_EUNSUPPORTED,
		        "--referrers: a docker archive cannot hold referrers (artifacts "
		        "attached by subject); use an OCI layout (oci:DIR) instead");
	if (!from || (strcmp(from, "registry") && strcmp(from, "oci")))
		return rs__error_set(
		        RS_EUNSUPPORTED,
		        "--referrers: regship finds referrers in a registry or an oci: "
		        "layout, not in a %s source",
		        from ? from : "custom");
	return 0;
}

int rs_copy_referrers(rs_store *dst, rs_store *src, const char *digest,
                      const rs_copy_options *given, size_t *copied)
{
	rs_copy_options o = RS_COPY_OPTIONS_INIT;
	walk w = {0};
	int error;

	if (copied)
		*copied = 0;
	if (!dst || !src || !digest)
		return rs__error_set(RS_EINVAL, "rs_copy_referrers: missing argument");
	if (given) {
		if (given->version != RS_COPY_OPTIONS_VERSION)
			return rs__error_set(RS_EINVAL, "rs_copy_options: unsupported version %u",
			                     given->version);
		o = *given;
	}
	if ((error = rs__store_check(src, "copy source")) < 0 ||
	    (error = rs__store_check(dst, "copy destination")) < 0)
		return error;
	if ((error = rs__referrers_copy_check(dst, src)) < 0)
		return error;
	/* each referrer goes by itself, whole, with its exact bytes */
	o.referrers = 0;
	o.platform = NULL;
	o.no_clobber = 0;
	o.preserve_digests = 1;
	w.dst = dst;
	w.src = src;
	w.client = rs__store_registry_client(src);
	w.src_repo = rs_store_registry_ref(src);
	if ((error = enqueue_image(&w, digest)) < 0)
		goto done;
	for (size_t next = 0; next < w.queue.count; next++) {
		rs_strlist found = RS_STRLIST_INIT;
		if ((error = rs__cancel_check()) < 0 ||
		    (error = referrers_of(&found, &w, w.queue.items[next])) < 0) {
			rs__strlist_dispose(&found);
			goto done;
		}
		for (size_t i = 0; i < found.count && error == 0; i++) {
			if (rs__strlist_contains(&w.seen, found.items[i]))
				continue;
			if (w.copied >= REFERRERS_WALK_MAX) {
				error = rs__error_set(
				        RS_EPROTO,
				        "--referrers: more than %d referrers of %s; giving "
				        "up",
				        REFERRERS_WALK_MAX, digest);
				break;
			}
			/* the subject is in place: now what points at it (sig-of-sig: next round)
			 */
			if ((error = rs_copy(dst, NULL, src, found.items[i], &o, NULL)) < 0) {
				rs__error_prefix("referrer %s of %s", found.items[i],
				                 w.queue.items[next]);
				break;
			}
			w.copied++;
			error = enqueue(&w, found.items[i]);
		}
		rs__strlist_dispose(&found);
		if (error < 0)
			goto done;
	}
	if (copied)
		*copied = w.copied;
done:
	rs__strlist_dispose(&w.queue);
	rs__strlist_dispose(&w.seen);
	rs__strlist_dispose(&w.layout_digests);
	rs__strlist_dispose(&w.layout_subjects);
	return error;
}
