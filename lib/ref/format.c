/* Formatting, copying and freeing references. */
#include "ref/ref.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *rs_ref_format_name(const rs_ref *ref)
{
	rs_buf b = RS_BUF_INIT;
	if (!ref)
		return NULL;
	rs__buf_printf(&b, "%s/%s", ref->domain, ref->path);
	return rs__buf_detach(&b);
}

char *rs_ref_format(const rs_ref *ref)
{
	rs_buf b = RS_BUF_INIT;
	if (!ref)
		return NULL;
	rs__buf_printf(&b, "%s/%s", ref->domain, ref->path);
	if (ref->tag)
		rs__buf_printf(&b, ":%s", ref->tag);
	if (ref->digest)
		rs__buf_printf(&b, "@%s", ref->digest);
	return rs__buf_detach(&b);
}

const char *rs_ref_identifier(const rs_ref *ref)
{
	if (!ref)
		return NULL;
	return ref->digest ? ref->digest : ref->tag;
}

int rs_ref_check_tag(const char *tag)
{
	char why[512], *shown;
	if (tag && rs__ref_check_tag(tag, strlen(tag), why, sizeof(why)) == 0)
		return 0;
	if (!tag)
		snprintf(why, sizeof(why), "tag is empty");
	shown = rs__ref_printable(tag);
	if (!shown)
		return rs__oom();
	rs__error_set(RS_EINVAL, "invalid tag \"%s\": %s", shown, why);
	free(shown);
	return RS_EINVAL;
}

static rs_ref *copy_name(const rs_ref *ref)
{
	rs_ref *r = rs__calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->domain = rs__strdup(ref->domain);
	r->path = rs__strdup(ref->path);
	if (!r->domain || !r->path) {
		rs_ref_free(r);
		return NULL;
	}
	return r;
}

/* A copy's optional string: false when s was given and could not be copied. */
static bool copy_opt(char **out, const char *s)
{
	*out = rs__strdup(s);
	return !s || *out;
}

int rs_ref_dup(rs_ref **out, const rs_ref *ref)
{
	rs_ref *r;
	if (!out || !ref)
		return rs__error_set(RS_EINVAL, "rs_ref_dup: no reference given");
	r = copy_name(ref);
	if (!r || !copy_opt(&r->tag, ref->tag) || !copy_opt(&r->digest, ref->digest)) {
		rs_ref_free(r);
		return rs__oom();
	}
	*out = r;
	return 0;
}

int rs_ref_with_tag(rs_ref **out, const rs_ref *ref, const char *tag)
{
	rs_ref *r;
	int error;
	if (!out || !ref)
		return rs__error_set(RS_EINVAL, "rs_ref_with_tag: no reference given");
	*out = NULL;
	if ((error = rs_ref_check_tag(tag)) < 0)
		return error;
	r = copy_name(ref);
	if (!r || !copy_opt(&r->tag, tag)) {
		rs_ref_free(r);
		return rs__oom();
	}
	*out = r;
	return 0;
}

int rs_ref_with_digest(rs_ref **out, const rs_ref *ref, const char *digest)
{
	char why[512], *shown;
	rs_ref *r;
	if (!out || !ref)
		return rs__error_set(RS_EINVAL, "rs_ref_with_digest: no reference given");
	*out = NULL;
	if (!digest || rs__ref_check_digest(digest, strlen(digest), why, sizeof(why)) < 0) {
		if (!digest)
			snprintf(why, sizeof(why), "digest is empty");
		shown = rs__ref_printable(digest);
		if (!shown)
			return rs__oom();
		rs__error_set(RS_EINVAL, "invalid digest \"%s\": %s", shown, why);
		free(shown);
		return RS_EINVAL;
	}
	r = copy_name(ref);
	if (!r || !copy_opt(&r->tag, ref->tag) || !copy_opt(&r->digest, digest)) {
		rs_ref_free(r);
		return rs__oom();
	}
	*out = r;
	return 0;
}

void rs_ref_free(rs_ref *ref)
{
	if (!ref)
		return;
	free(ref->domain);
	free(ref->path);
	free(ref->tag);
	free(ref->digest);
	free(ref);
}
