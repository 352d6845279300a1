/*
 * Promotion of a release to its floating tags (rs_retag_promote): look up what the plan needs,
 * write the tags that move in order, and put them back when a write fails.
 */
#include "regship/manifest.h"
#include "regship/retag.h"

#include "image/retag_internal.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* ---- promotion ------------------------------------------------------------------------------ */

/* The manifest a tag pointed at before, kept to put it back. */
typedef struct saved {
	char *digest;
	rs_buf body;
	char *media_type;
} saved;

/* Look up, in one parallel round, the tags the plan needs; unknown -> digest or "" */
static int promote_lookup(rs_client *c, const rs_ref *src, const rs_promotion_plan *plan,
                          const rs_strlist *tags, char **known)
{
	char **found = NULL;
	int error;

	if ((error = rs_tags_digests(&found, c, src, (const char *const *)plan->needed,
	                             plan->nneeded)) < 0)
		return error;
	for (size_t i = 0; i < plan->nneeded; i++) {
		ssize_t k = rs__retag_tag_index((const char *const *)tags->items, tags->count,
		                                plan->needed[i]);
		if (k >= 0 && !known[k]) {
			known[k] = found[i] ? found[i] : rs__strdup("");
			found[i] = NULL;
			if (!known[k]) {
				rs__retag_digests_free(found, plan->nneeded);
				return rs__oom();
			}
		}
	}
	rs__retag_digests_free(found, plan->nneeded);
	return 0;
}

/* Put tag e back where it was: the saved bytes under it, or untag it if it was new. */
static int rollback_one(rs_client *c, rs_retag_entry *e, const saved *saves, size_t nsaves)
{
	rs_untag_result *u = NULL;
	int error;

	if (!e->previous) {
		error = rs_untag(&u, c, e->ref);
		rs_untag_result_free(u);
		return error;
	}
	for (size_t i = 0; i < nsaves; i++)
		if (!strcmp(saves[i].digest, e->previous))
			return rs_manifest_upload(c, e->ref, rs__buf_cstr(&saves[i].body),
			                          saves[i].body.size, saves[i].media_type, NULL);
	return rs__error_set(RS_ERROR, "the manifest %s was not kept", e->previous);
}

static bool entry_writes(const rs_retag_entry *e)
{
	return e->action == RS_RETAG_MOVE || e->action == RS_RETAG_TAG;
}

/* Write the entries in order; on a failure put the written ones back. */
static int promote_write(rs_retag_result *r, rs_client *c, const rs__retag_source *s,
                         const char *name)
{
	saved *saves = rs__calloc(r->count, sizeof(*saves));
	size_t nsaves = 0, failed = r->count;
	rs_buf msg = RS_BUF_INIT, moved = RS_BUF_INIT;
	rs_error first = {0};
	int error = 0;

	if (!saves)
		return rs__oom();
	/* every manifest a tag may have to be put back on is fetched before the first write */
	for (size_t i = 0; i < r->count && error == 0; i++) {
		rs_retag_entry *e = &r->entries[i];
		rs_ref *by_digest = NULL;
		bool have = false;
		if (!entry_writes(e) || !e->previous)
			continue;
		for (size_t k = 0; k < nsaves; k++)
			have = have || !strcmp(saves[k].digest, e->previous);
		if (have)
			continue;
		if (!(saves[nsaves].digest = rs__strdup(e->previous))) {
			error = rs__oom();
			break;
		}
		if ((error = rs_ref_with_digest(&by_digest, e->ref, e->previous)) == 0)
			error = rs_manifest_fetch(c, by_digest, &saves[nsaves].body,
			                          &saves[nsaves].media_type, NULL);
		rs_ref_free(by_digest);
		nsaves++;
		if (error < 0)
			rs__error_prefix(
			        "cannot promote %s: keeping %s's manifest %s to put it back "
			        "on failure; nothing was written",
			        name, e->ref->tag, e->previous);
	}
	for (size_t i = 0; i < r->count && error == 0; i++) {
		rs_retag_entry *e = &r->entries[i];
		char *digest = NULL;
		if (!entry_writes(e))
			continue;
		error = rs_manifest_upload(c, e->ref, rs__buf_cstr(&s->body), s->body.size,
		                           s->media_type, &digest);
		if (error == 0 && strcmp(digest, s->digest) &&
		    rs__str_startswith(s->digest, "sha256:"))
			error = rs__error_set(RS_EDIGEST, "the bytes put hash to %s, not %s",
			                      digest, s->digest);
		free(digest);
		if (error == 0)
			e->written = 1;
		else
			failed = i;
	}
	if (error == 0 || failed == r->count)
		goto done;
	first = *rs_error_last();
	/* undo, newest write first */
	for (size_t i = failed; i > 0; i--) {
		rs_retag_entry *e = &r->entries[i - 1];
		if (!e->written)
			continue;
		rs__buf_printf(&moved, "%s%s", moved.size ? ", " : "", e->ref->tag);
		if (rollback_one(c, e, saves, nsaves) == 0) {
			e->rolled_back = 1;
			continue;
		}
		rs__buf_printf(&msg, "; rollback failed: %s now points at %s instead of %s (%s)",
		               e->ref->tag, r->digest, e->previous ? e->previous : "not existing",
		               rs_error_is_set() ? rs_error_last()->message : "error");
	}
	if (rs__buf_oom(&moved) || rs__buf_oom(&msg))
		error = rs__oom();
	else if (!moved.size)
		error = rs__error_set_http(first.code, first.http_status,
		                           first.registry_code[0] ? first.registry_code : NULL,
		                           "cannot promote %s: writing %s: %s; nothing was moved",
		                           name, r->entries[failed].ref->tag, first.message);
	else
		error = rs__error_set_http(RS_ERROR, first.http_status,
		                           first.registry_code[0] ? first.registry_code : NULL,
		                           "cannot promote %s: writing %s: %s; moved %s, %s%s",
		                           name, r->entries[failed].ref->tag, first.message,
		                           moved.ptr,
		                           msg.size ? "then tried to put them back"
		                                    : "then put "
		                                      "them back",
		                           msg.size ? msg.ptr : "");
done:
	for (size_t i = 0; i < nsaves; i++) {
		free(saves[i].digest);
		rs_buf_dispose(&saves[i].body);
		free(saves[i].media_type);
	}
	free(saves);
	rs_buf_dispose(&msg);
	rs_buf_dispose(&moved);
	return error;
}

/* The rs__retag_source must be where it says: REPO:TAG@DIGEST needs TAG on DIGEST. */
static int check_source_tag(rs_client *c, const rs_ref *src, const char *name)
{
	rs_ref *t = NULL;
	char *d = NULL;
	int error;

	if ((error = rs_ref_with_tag(&t, src, src->tag)) < 0)
		return error;
	error = rs_manifest_resolve(c, t, &d, NULL, NULL);
	if (error == RS_ENOTFOUND) {
		rs__error_set(RS_ENOTFOUND, "cannot promote %s:%s@%s: tag %s does not exist", name,
		              src->tag, src->digest, src->tag);
		error = rs__error_mark_remote();
	} else if (error == 0 && strcmp(d, src->digest))
		error = rs__error_set(RS_ERROR,
		                      "cannot promote %s:%s@%s: %s points at %s, not at the digest "
		                      "given; nothing was written",
		                      name, src->tag, src->digest, src->tag, d);
	free(d);
	rs_ref_free(t);
	return error;
}

/* What can be checked before any request: the source names a release, or --release does. */
static int promote_args(const char **release, const rs_ref *src, const rs_retag_options *o)
{
	int error;

	if (src->tag && o->release)
		return rs__error_set(RS_EINVAL, "--release goes with a source given by digest only "
		                                "(REPOSITORY@DIGEST): the source's tag names the "
		                                "release");
	if (!src->tag && !o->release)
		return rs__error_set(
		        RS_EINVAL,
		        "promotion needs a reference with a tag that is a release "
		        "(X.Y.Z), not only a digest; or name the release with --release");
	*release = src->tag ? src->tag : o->release;
	if (o->release && (error = rs_ref_check_tag(o->release)) < 0)
		return error;
	/* nothing is fetched for a tag that cannot be promoted */
	return rs_promotion_check(*release, o->suffix);
}

/* --release: where the release tag points now (*previous, NULL when it does not exist); it is
 * new, already right, or (only with --force) moved. */
static int release_tag_check(char **previous, rs_client *client, const rs_ref *src,
                             const rs_retag_options *o, const rs__retag_source *s,
                             const rs_strlist *tags, const char *name)
{
	ssize_t k = rs__retag_tag_index((const char *const *)tags->items, tags->count, o->release);
	int error;

	if (k >= 0) {
		char **d = NULL;
		const char *one[] = {o->release};
		if ((error = rs_tags_digests(&d, client, src, one, 1)) < 0)
			return error;
		*previous = d[0];
		free(d);
	}
	if (*previous && strcmp(*previous, s->digest) && !(o->promote_flags & RS_PROMOTE_FORCE))
		return rs__error_set(RS_ERROR,
		                     "cannot promote %s@%s as %s: tag %s points at %s; a "
		                     "release tag is not moved without --force",
		                     name, s->digest, o->release, o->release, *previous);
	return 0;
}

/* The result's entries: the release tag (--release) first, then every step of the plan. */
static int promote_entries(rs_retag_result *r, const rs_ref *src, const rs_retag_options *o,
                           const rs_promotion_plan *plan, const rs__retag_source *s,
                           char **release_previous)
{
	size_t first = o->release ? 1 : 0;
	int error;

	if (o->release) {
		rs_retag_entry *e = &r->entries[0];
		if ((error = rs_ref_with_tag(&e->ref, src, o->release)) < 0)
			return error;
		e->previous = *release_previous;
		*release_previous = NULL;
		if (e->previous && !strcmp(e->previous, s->digest)) {
			e->action = RS_RETAG_ALREADY;
			e->reason = rs__strfmt("already at %s", o->release);
			if (!e->reason)
				return rs__oom();
		} else {
			e->action = RS_RETAG_TAG;
			e->reason = e->previous
			                    ? rs__strfmt("forced: it pointed at %s", e->previous)
			                    : rs__strfmt("the release, named by --release");
			if (!e->reason)
				return rs__oom();
		}
	}
	for (size_t i = 0; i < plan->count; i++) {
		const rs_promotion_step *st = &plan->steps[i];
		rs_retag_entry *e = &r->entries[first + i];
		if ((error = rs_ref_with_tag(&e->ref, src, st->tag)) < 0)
			return error;
		e->action = st->action;
		e->reason = rs__strdup(st->reason);
		e->previous = st->previous ? rs__strdup(st->previous) : NULL;
		e->holder = st->holder ? rs__strdup(st->holder) : NULL;
		if (!e->reason || (st->previous && !e->previous) || (st->holder && !e->holder))
			return rs__oom();
	}
	return 0;
}

/* The error for a refused plan, naming the floating tags refused. */
static int promote_refused(const rs_promotion_plan *plan, const char *name, const char *release)
{
	rs_buf which = RS_BUF_INIT;
	size_t n = 0;
	int error;

	for (size_t i = 0; i < plan->count; i++)
		if (plan->steps[i].action == RS_RETAG_REFUSE)
			rs__buf_printf(&which, "%s%s", n++ ? ", " : "", plan->steps[i].tag);
	if (rs__buf_oom(&which))
		return rs__oom();
	error = rs__error_set(RS_ERROR,
	                      "cannot promote %s:%s: %s %s at a manifest that no release "
	                      "of %s line points at; nothing was written (--force moves "
	                      "%s anyway)",
	                      name, release, which.ptr, n == 1 ? "points" : "point",
	                      n == 1 ? "its" : "their", n == 1 ? "it" : "them");
	rs_buf_dispose(&which);
	return error;
}

int rs_retag_promote(rs_retag_result **out, rs_client *client, const rs_ref *src,
                     const rs_retag_options *opts)
{
	rs_retag_options o;
	rs_retag_result *r = NULL;
	rs_promotion_plan *plan = NULL;
	rs_strlist tags = RS_STRLIST_INIT;
	char **known = NULL, *name = NULL, *release_previous = NULL;
	const char *release = NULL;
	rs__retag_source s = {0};
	int error;

	if (!out || !client || !src)
		return rs__error_set(RS_EINVAL, "rs_retag_promote: missing argument");
	*out = NULL;
	if ((error = rs__retag_check_options(&o, opts)) < 0 ||
	    (error = promote_args(&release, src, &o)) < 0)
		return error;
	if (!(name = rs_ref_format_name(src)))
		return rs__oom();
	if ((error = rs__retag_source_fetch(&s, client, src, false)) < 0)
		goto done;
	if (src->tag && src->digest && (error = check_source_tag(client, src, name)) < 0)
		goto done;
	if ((error = rs_tags_list(client, src, rs__retag_collect_tag, &tags)) < 0)
		goto done;
	if (!(known = rs__calloc(tags.count ? tags.count : 1, sizeof(*known)))) {
		error = rs__oom();
		goto done;
	}
	if (o.release &&
	    (error = release_tag_check(&release_previous, client, src, &o, &s, &tags, name)) < 0)
		goto done;
	for (;;) {
		if ((error = rs_promotion_plan_new(
		             &plan, release, o.suffix, s.digest, (const char *const *)tags.items,
		             (const char *const *)known, tags.count, o.promote_flags)) < 0)
			goto done;
		if (!plan->nneeded)
			break;
		if ((error = promote_lookup(client, src, plan, &tags, known)) < 0)
			goto done;
		rs_promotion_plan_free(plan);
		plan = NULL;
	}
	if (!(r = rs__retag_result_new(&s, plan->count + (o.release ? 1 : 0)))) {
		error = RS_ENOMEM;
		goto done;
	}
	if ((error = promote_entries(r, src, &o, plan, &s, &release_previous)) < 0)
		goto done;
	r->plan = plan;
	plan = NULL;
	if (r->plan->refused) {
		error = promote_refused(r->plan, name, release);
		*out = r;
		r = NULL;
		goto done;
	}
	if (!o.dry_run && (error = promote_write(r, client, &s, name)) < 0) {
		*out = r;
		r = NULL;
		goto done;
	}
	*out = r;
	r = NULL;
done:
	rs_promotion_plan_free(plan);
	rs_retag_result_free(r);
	rs__retag_digests_free(known, tags.count);
	rs__strlist_dispose(&tags);
	rs__retag_source_dispose(&s);
	free(release_previous);
	free(name);
	return error;
}
