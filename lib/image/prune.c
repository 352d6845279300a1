/*
 * rs_prune (see include/regship/prune.h): list and look up the tags, plan, then remove with
 * the paths rm and untag use (delete by digest; untag by OCI tag delete or placeholder).
 */
#include "image/prune_internal.h"

#include "regship/retag.h"

#include "registry/manifests.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rs_prune_action_name(rs_prune_action action)
{
	switch (action) {
	case RS_PRUNE_DELETE:
		return "delete";
	case RS_PRUNE_UNTAG:
		return "untag";
	default:
		return "keep";
	}
}

void rs_prune_result_free(rs_prune_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++) {
		free(r->items[i].tag);
		free(r->items[i].digest);
		free(r->items[i].reason);
		free(r->items[i].subject);
		free(r->items[i].error);
	}
	free(r->items);
	free(r);
}

/* 0, or RS_ENOMEM (set) when the message could not be kept. */
static int item_failed(rs_prune_item *it)
{
	const rs_error *e = rs_error_last();
	it->error = rs__strdup(rs_error_is_set() && e->message[0] ? e->message : "failed");
	rs_error_clear();
	return it->error ? 0 : rs__oom();
}

/* Delete the manifest of item i by digest; every item with that digest and action shares the
 * outcome. */
static int delete_digest(rs_prune_result *r, size_t i, rs_client *c, const rs_ref *repo)
{
	rs_prune_item *it = &r->items[i];
	rs_ref *ref = NULL;
	int error;
	bool oom = false;

	if (it->done || it->error)
		return 0;
	if ((error = rs_ref_with_digest(&ref, repo, it->digest)) == 0)
		error = rs_manifest_remove(c, ref);
	if (error == RS_ENOTFOUND) { /* gone already (another tag's delete, or someone else) */
		rs_error_clear();
		error = 0;
	}
	for (size_t k = 0; k < r->count; k++) {
		rs_prune_item *o = &r->items[k];
		if (o->action != RS_PRUNE_DELETE || strcmp(o->digest, it->digest))
			continue;
		if (error < 0 && !o->error) {
			o->error =
			        rs__strdup(rs_error_is_set() ? rs_error_last()->message : "failed");
			oom = oom || !o->error;
		} else if (error == 0) {
			o->done = 1;
		}
	}
	rs_error_clear();
	rs_ref_free(ref);
	return oom ? rs__oom() : 0;
}

static char *subject_failed(const char *subject)
{
	rs_buf b = RS_BUF_INIT;
	rs__buf_printf(&b, "kept: its subject %s stays (its delete failed)", subject);
	return rs__buf_detach(&b);
}

static int untag_item(rs_prune_item *it, rs_client *c, const rs_ref *repo)
{
	rs_ref *ref = NULL;
	char *placeholder = NULL;
	int error;

	if ((error = rs_ref_with_tag(&ref, repo, it->tag)) == 0)
		error = rs__manifest_untag(c, ref, &placeholder);
	if (error < 0)
		error = item_failed(it);
	else
		it->done = 1;
	free(placeholder);
	rs_ref_free(ref);
	return error;
}

/* Whether every item that deletes subject's manifest did so (for a child of an index that goes,
 * the index's). */
static bool subject_gone(const rs_prune_result *r, const rs__prune *p, const char *subject)
{
	bool any = false;
	for (size_t i = 0; i < p->children.count; i++)
		if (!strcmp(p->children.items[i], subject))
			return subject_gone(r, p, p->child_index.items[i]);
	for (size_t k = 0; k < r->count; k++) {
		const rs_prune_item *o = &r->items[k];
		if (o->action != RS_PRUNE_DELETE || strcmp(o->digest, subject))
			continue;
		if (!o->done)
			return false;
		any = true;
	}
	return any;
}

/* Untags, then the manifests by digest, then the referrers whose subject went (a referrer goes
 * only with its subject: when the subject's delete fails, its signature stays with it). */
static int carry_out(rs_prune_result *r, const rs__prune *p, rs_client *c, const rs_ref *repo,
                     const char *name)
{
	rs_buf failed = RS_BUF_INIT;
	int error;

	if ((error = rs__manifest_delete_probe(c, repo)) < 0) {
		rs__error_prefix("cannot prune %s: nothing was removed", name);
		return error;
	}
	/* out of memory stops the prune: an item whose failure cannot be recorded would read as
	 * removed */
	for (size_t i = 0; i < r->count; i++)
		if (r->items[i].action == RS_PRUNE_UNTAG && untag_item(&r->items[i], c, repo) < 0)
			return RS_ENOMEM;
	for (size_t i = 0; i < r->count; i++)
		if (!r->items[i].subject && r->items[i].action == RS_PRUNE_DELETE &&
		    delete_digest(r, i, c, repo) < 0)
			return RS_ENOMEM;
	/* a referrer of a referrer waits for its subject: passes until nothing more can go */
	for (bool progress = true; progress;) {
		progress = false;
		for (size_t i = 0; i < r->count; i++) {
			rs_prune_item *it = &r->items[i];
			if (!it->subject || it->action != RS_PRUNE_DELETE || it->done ||
			    it->error || !subject_gone(r, p, it->subject))
				continue;
			if (delete_digest(r, i, c, repo) < 0)
				return RS_ENOMEM;
			progress = true;
		}
	}
	for (size_t i = 0; i < r->count; i++) {
		rs_prune_item *it = &r->items[i];
		if (it->subject && it->action == RS_PRUNE_DELETE && !it->done && !it->error &&
		    !(it->error = subject_failed(it->subject)))
			return RS_ENOMEM;
	}
	for (size_t i = 0; i < r->count; i++) {
		const rs_prune_item *it = &r->items[i];
		if (it->action == RS_PRUNE_KEEP)
			continue;
		if (it->error) {
			rs__buf_printf(&failed, "%s%s", r->failed ? ", " : "",
			               it->tag ? it->tag : it->digest);
			r->failed++;
		} else if (it->action == RS_PRUNE_DELETE) {
			r->deleted++;
		} else {
			r->untagged++;
		}
	}
	if (rs__buf_oom(&failed))
		error = rs__oom();
	else if (r->failed)
		error = rs__error_set(RS_ERROR, "prune %s: %zu tag%s could not be removed: %s",
		                      name, r->failed, r->failed == 1 ? "" : "s",
		                      rs__buf_cstr(&failed));
	rs_buf_dispose(&failed);
	return error;
}

static int check_args(rs_prune_options *o, const rs_prune_options *given, const rs_ref *repo)
{
	if (!given)
		return rs__error_set(RS_EINVAL, "rs_prune: options are required (keep)");
	if (given->version != RS_PRUNE_OPTIONS_VERSION)
		return rs__error_set(RS_EINVAL, "rs_prune_options: version %u, expected %u",
		                     given->version, RS_PRUNE_OPTIONS_VERSION);
	*o = *given;
	if (repo->tag || repo->digest)
		return rs__error_set(RS_EINVAL,
		                     "prune takes a repository, not a tag or digest (%s%s%s)",
		                     repo->tag ? repo->tag : "", repo->digest ? "@" : "",
		                     repo->digest ? repo->digest : "");
	if (o->by != RS_PRUNE_BY_SEMVER && o->by != RS_PRUNE_BY_CREATED)
		return rs__error_set(RS_EINVAL, "rs_prune_options: unknown order %d", (int)o->by);
	return 0;
}

int rs_prune(rs_prune_result **out, rs_client *client, const rs_ref *repo,
             const rs_prune_options *opts)
{
	rs__prune p = {0};
	rs_strarray tags = {0};
	rs_prune_result *r = NULL;
	char **digests = NULL, *name = NULL;
	int error;

	if (!out || !client || !repo)
		return rs__error_set(RS_EINVAL, "rs_prune: missing argument");
	*out = NULL;
	if ((error = check_args(&p.o, opts, repo)) < 0)
		return error;
	if (!(name = rs_ref_format_name(repo)))
		return RS_ENOMEM;
	if ((error = rs_tags_list_all(&tags, client, repo)) < 0 ||
	    (error = rs_tags_digests(&digests, client, repo, (const char *const *)tags.items,
	                             tags.count)) < 0)
		goto done;
	if (!(r = rs__calloc(1, sizeof(*r))) ||
	    !(r->items = rs__calloc(tags.count ? tags.count : 1, sizeof(*r->items))) ||
	    !(p.tags = rs__calloc(tags.count ? tags.count : 1, sizeof(*p.tags)))) {
		error = rs__oom();
		goto done;
	}
	r->dry_run = p.o.dry_run;
	for (size_t i = 0; i < tags.count; i++) {
		if (!digests[i])
			continue; /* listed, but gone (or not a valid tag name) */
		r->items[r->count].tag = rs__strdup(tags.items[i]);
		r->items[r->count].digest = rs__strdup(digests[i]);
		r->count++;
		if (!r->items[r->count - 1].tag || !r->items[r->count - 1].digest) {
			error = rs__oom();
			goto done;
		}
	}
	for (size_t i = 0; i < r->count; i++)
		p.tags[i].item = &r->items[i];
	p.n = r->count;
	p.r = r;
	if ((error = rs__prune_plan(&p, client, repo)) < 0)
		goto done;
	if (!p.o.dry_run)
		error = carry_out(r, &p, client, repo, name);
	*out = r;
	r = NULL;
done:
	for (size_t i = 0; i < p.n; i++) {
		free(p.tags[i].created);
		free(p.tags[i].line);
		free(p.tags[i].pre);
	}
	free(p.tags);
	rs__strlist_dispose(&p.holds);
	rs__strlist_dispose(&p.gone);
	rs__strlist_dispose(&p.signed_oci);
	rs__strlist_dispose(&p.children);
	rs__strlist_dispose(&p.child_index);
	if (digests)
		for (size_t i = 0; i < tags.count; i++)
			free(digests[i]);
	free(digests);
	rs_strarray_dispose(&tags);
	rs_prune_result_free(r);
	free(name);
	return error;
}
