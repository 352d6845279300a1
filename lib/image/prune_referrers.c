/*
 * prune and OCI 1.1 referrers: what is attached by "subject" to an image that goes goes with it
 * (a signature, the signature's signature, the referrers of an index's children), found through
 * rs_referrers_list (the referrers API, else the fallback tag index sha256-<hex>). Such a
 * manifest has no tag of its own: it becomes an item without one.
 */
#include "image/prune_internal.h"

#include "regship/referrers.h"

#include "util/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Referrers followed from one prune at most (a hostile registry could make the walk endless). */
#define PRUNE_ATTACHED_MAX 100000

/* Artifact types of signatures (cosign, notation, sigstore bundles). */
static bool signature_type(const char *t)
{
	return t && (!strcmp(t, "application/vnd.dev.cosign.artifact.sig.v1+json") ||
	             !strcmp(t, "application/vnd.cncf.notary.signature") ||
	             rs__str_startswith(t, "application/vnd.dev.sigstore.bundle"));
}

static int list(rs_referrers *out, rs_client *c, const rs_ref *repo, const char *digest)
{
	rs_ref *ref = NULL;
	int error = rs_ref_with_digest(&ref, repo, digest);
	if (error == 0)
		error = rs_referrers_list(out, c, ref, NULL);
	rs_ref_free(ref);
	return error;
}

/* An item without a tag for digest, attached to subject, going. */
static int add_item(rs__prune *p, const char *digest, const char *subject, char *reason)
{
	rs_prune_result *r = p->r;
	rs_prune_item *items;
	rs__prune_tag *tags;
	rs_prune_item *it;

	if (!reason)
		return rs__oom();
	if (!(items = rs__realloc(r->items, (r->count + 1) * sizeof(*items)))) {
		free(reason);
		return rs__oom();
	}
	r->items = items;
	if (!(tags = rs__realloc(p->tags, (p->n + 1) * sizeof(*tags)))) {
		free(reason);
		return rs__oom();
	}
	p->tags = tags;
	it = &r->items[r->count];
	memset(it, 0, sizeof(*it));
	memset(&p->tags[p->n], 0, sizeof(p->tags[p->n]));
	it->digest = rs__strdup(digest);
	it->subject = rs__strdup(subject);
	if (!it->digest || !it->subject) {
		free(it->digest);
		free(it->subject);
		free(reason);
		return rs__oom();
	}
	it->action = RS_PRUNE_DELETE;
	it->reason = reason;
	r->count++;
	p->n++;
	/* the items moved: point the plan at them again */
	for (size_t i = 0; i < p->n; i++)
		p->tags[i].item = &r->items[i];
	p->tags[p->n - 1].kind = RS__PRUNE_ATTACHED;
	return 0;
}

/* Whether an item that stays (a tag) holds digest. */
static bool kept(const rs__prune *p, const char *digest)
{
	if (rs__strlist_contains(&p->holds, digest))
		return true;
	for (size_t i = 0; i < p->n; i++)
		if (p->tags[i].item->action == RS_PRUNE_KEEP &&
		    !strcmp(p->tags[i].item->digest, digest))
			return true;
	return false;
}

/* The children of an index that goes go too (nothing that stays holds them, or they would be in
 * holds): their referrers with them. */
static int add_children(rs__prune *p, rs_client *c, const rs_ref *repo, const char *digest,
                        rs_strlist *queue, rs_strlist *anchor)
{
	rs_buf body = RS_BUF_INIT;
	rs_manifest *m = NULL;
	rs_ref *ref = NULL;
	char *ct = NULL;
	int error = rs_ref_with_digest(&ref, repo, digest);
	if (error == 0)
		error = rs_registry_manifest_get(c, ref, &body, &ct, NULL);
	if (error == 0)
		error = rs_manifest_parse(&m, body.ptr, body.size, ct);
	for (size_t k = 0; error == 0 && k < rs_manifest_child_count(m); k++) {
		const char *d = rs_manifest_child(m, k)->digest;
		if (kept(p, d) || rs__strlist_contains(&p->gone, d))
			continue;
		/* children and child_index, queue and anchor go in pairs: stop at the first
		 * failure (RS_ENOMEM) */
		if ((error = rs__strlist_push(&p->gone, d)) < 0 ||
		    (error = rs__strlist_push(&p->children, d)) < 0)
			break;
		if ((error = rs__strlist_push(&p->child_index, digest)) < 0) {
			free(p->children.items[--p->children.count]);
			break;
		}
		if ((error = rs__strlist_push(queue, d)) < 0)
			break;
		if ((error = rs__strlist_push(anchor, digest)) < 0) {
			free(queue->items[--queue->count]);
			break;
		}
	}
	if (error == RS_EUNSUPPORTED || error == RS_EFORMAT || error == RS_ENOTFOUND) {
		rs_error_clear(); /* not a manifest regship reads (or gone): no children it knows */
		error = 0;
	}
	rs_manifest_free(m);
	rs_ref_free(ref);
	rs_buf_dispose(&body);
	free(ct);
	return error;
}

/* digest goes, with no index it is a child of: into gone, queue and anchor (queue and anchor
 * stay in pairs). RS_ENOMEM when out of memory. */
static int push_gone(rs__prune *p, rs_strlist *queue, rs_strlist *anchor, const char *digest)
{
	int error;
	if ((error = rs__strlist_push(&p->gone, digest)) < 0 ||
	    (error = rs__strlist_push(queue, digest)) < 0)
		return error;
	if ((error = rs__strlist_push(anchor, "")) < 0)
		free(queue->items[--queue->count]);
	return error;
}

int rs__prune_attached(rs__prune *p, rs_client *c, const rs_ref *repo)
{
	/* queue[i]: a digest that goes; anchor[i]: the index it is a child of, or "" */
	rs_strlist queue = RS_STRLIST_INIT, anchor = RS_STRLIST_INIT;
	int error = 0;

	for (size_t i = 0; i < p->n; i++) {
		const rs_prune_item *it = p->tags[i].item;
		if (p->tags[i].kind != RS__PRUNE_CANDIDATE || it->action != RS_PRUNE_DELETE ||
		    rs__strlist_contains(&p->gone, it->digest))
			continue;
		if ((error = push_gone(p, &queue, &anchor, it->digest)) < 0)
			goto done;
	}
	/* an index that goes: its children (read before the walk adds to the queue) */
	for (size_t i = 0, n = queue.count; i < n && error == 0; i++)
		error = add_children(p, c, repo, queue.items[i], &queue, &anchor);
	for (size_t i = 0; i < queue.count && error == 0; i++) {
		rs_referrers rs = RS_REFERRERS_INIT;
		const char *subject = queue.items[i];
		if ((error = list(&rs, c, repo, subject)) < 0) {
			rs__error_prefix("prune: the referrers of %s", subject);
			break;
		}
		for (size_t k = 0; k < rs.count && error == 0; k++) {
			const rs_referrer *ref = &rs.items[k];
			const char *type =
			        ref->artifact_type ? ref->artifact_type : ref->media_type;
			if (kept(p, ref->digest) || rs__strlist_contains(&p->gone, ref->digest))
				continue;
			if (p->n >= PRUNE_ATTACHED_MAX) {
				error = rs__error_set(RS_EPROTO,
				                      "prune: more than %d referrers; giving up",
				                      PRUNE_ATTACHED_MAX);
				break;
			}
			/* an index child's referrer goes after the index (its subject is never
			 * deleted by itself) */
			error = add_item(
			        p, ref->digest, anchor.items[i][0] ? anchor.items[i] : subject,
			        anchor.items[i][0]
			                ? rs__strfmt(
			                          "referrer (%s) of %s, a child of %s, which goes",
			                          type, subject, anchor.items[i])
			                : rs__strfmt("referrer (%s) of %s, which goes", type,
			                             subject));
			if (error == 0)
				error = push_gone(p, &queue, &anchor, ref->digest);
		}
		rs_referrers_dispose(&rs);
	}
done:
	rs__strlist_dispose(&queue);
	rs__strlist_dispose(&anchor);
	return error;
}

int rs__prune_find_signed(rs__prune *p, rs_client *c, const rs_ref *repo,
                          const char *const *digests, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rs_referrers rs = RS_REFERRERS_INIT;
		int error;
		if (rs__strlist_contains(&p->signed_oci, digests[i]))
			continue;
		if ((error = list(&rs, c, repo, digests[i])) < 0) {
			rs__error_prefix("prune --keep-signed: the referrers of %s", digests[i]);
			return error;
		}
		for (size_t k = 0; k < rs.count && error == 0; k++)
			if (signature_type(rs.items[k].artifact_type)) {
				error = rs__strlist_push(&p->signed_oci, digests[i]);
				break;
			}
		rs_referrers_dispose(&rs);
		if (error < 0)
			return error;
	}
	return 0;
}
