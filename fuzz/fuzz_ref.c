/*
 * Image references: rs_ref_parse with every flag combination, rs_ref_parse_domain,
 * rs_ref_check_tag, and the round trip format -> parse -> same fields.
 */
#include "fuzz.h"

#include "regship/errors.h"
#include "regship/ref.h"

#include <stdlib.h>
#include <string.h>

static bool ref_same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool ref_same(const rs_ref *a, const rs_ref *b)
{
	return ref_same_str(a->domain, b->domain) && ref_same_str(a->path, b->path) &&
	       ref_same_str(a->tag, b->tag) && ref_same_str(a->digest, b->digest);
}

/* Properties of a successfully parsed reference. */
static void ref_check(const rs_ref *ref, unsigned int flags)
{
	rs_ref *again = NULL, *copy = NULL, *other = NULL;
	char *text, *name, *domain = NULL;

	rs_fuzz_assert(ref->domain && *ref->domain && ref->path && *ref->path,
	               "a parsed reference has a domain and a path");
	rs_fuzz_assert(!(flags & RS_REF_NAME_ONLY) || (!ref->tag && !ref->digest),
	               "RS_REF_NAME_ONLY gives neither tag nor digest");
	rs_fuzz_assert((flags & (RS_REF_NAME_ONLY | RS_REF_NO_DEFAULT)) || ref->tag || ref->digest,
	               "RS_REF_ANY always gives a tag or a digest");
	rs_fuzz_assert(!ref->tag || rs_ref_check_tag(ref->tag) == 0,
	               "the tag of a parsed reference passes rs_ref_check_tag");

	/* format -> parse gives the same fields (no default tag is added the second time) */
	text = rs_ref_format(ref);
	rs_fuzz_assert(text != NULL, "rs_ref_format of a parsed reference");
	rs_fuzz_assert(rs_ref_parse(&again, text, RS_REF_NO_DEFAULT) == 0,
	               "the formatted reference parses again");
	rs_fuzz_assert(ref_same(ref, again), "format -> parse round trip keeps every field");
	rs_ref_free(again);
	again = NULL;
	/* and formatting is a fixed point */
	rs_fuzz_assert(rs_ref_parse(&again, text, RS_REF_ANY) == 0, "reparse with RS_REF_ANY");
	{
		char *text2 = rs_ref_format(again);
		rs_fuzz_assert(!strcmp(text, text2) || (!ref->tag && !ref->digest),
		               "format(parse(format(r))) == format(r)");
		free(text2);
	}
	rs_ref_free(again);
	again = NULL;

	name = rs_ref_format_name(ref);
	rs_fuzz_assert(rs_ref_parse(&again, name, RS_REF_NAME_ONLY) == 0,
	               "the formatted name parses as a name");
	rs_fuzz_assert(!strcmp(again->domain, ref->domain) && !strcmp(again->path, ref->path),
	               "name round trip keeps domain and path");
	rs_ref_free(again);
	free(name);
	free(text);

	/* the domain of a parsed reference is a valid registry on its own */
	rs_fuzz_assert(rs_ref_parse_domain(&domain, ref->domain) == 0,
	               "the domain of a parsed reference passes rs_ref_parse_domain");
	free(domain);
	(void)rs_ref_endpoint(ref->domain);
	rs_fuzz_assert(rs_ref_identifier(ref) == (ref->digest ? ref->digest : ref->tag),
	               "rs_ref_identifier prefers the digest");

	rs_fuzz_assert(rs_ref_dup(&copy, ref) == 0 && ref_same(ref, copy), "rs_ref_dup copies");
	if (rs_ref_with_tag(&other, ref, "v1.0") == 0) {
		rs_fuzz_assert(!other->digest && !strcmp(other->tag, "v1.0"),
		               "rs_ref_with_tag sets the tag, clears the digest");
		rs_ref_free(other);
		other = NULL;
	}
	if (rs_ref_with_digest(
	            &other, ref,
	            "sha256:"
	            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef") == 0) {
		rs_fuzz_assert(ref_same_str(other->tag, ref->tag),
		               "rs_ref_with_digest keeps the tag");
		rs_ref_free(other);
	}
	rs_ref_free(copy);
}

int rs_fuzz_ref(const uint8_t *data, size_t size)
{
	static const unsigned int flag_sets[] = {RS_REF_ANY, RS_REF_NAME_ONLY, RS_REF_NO_DEFAULT,
	                                         RS_REF_NAME_ONLY | RS_REF_NO_DEFAULT};
	char *text = rs_fuzz_cstr(data, size), *domain = NULL;
	int error;

	for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
		rs_ref *ref = NULL;
		error = rs_ref_parse(&ref, text, flag_sets[i]);
		if (error == 0) {
			ref_check(ref, flag_sets[i]);
		} else {
			const rs_error *e = rs_error_last();
			rs_fuzz_assert(error == RS_EINVAL && ref == NULL,
			               "a failed parse returns RS_EINVAL and no reference");
			rs_fuzz_assert(e && e->code == RS_EINVAL && e->message[0],
			               "a failed parse sets a message");
		}
		rs_ref_free(ref);
	}

	error = rs_ref_parse_domain(&domain, text);
	if (error == 0) {
		char *again = NULL;
		rs_fuzz_assert(domain && *domain, "a parsed domain is not empty");
		rs_fuzz_assert(rs_ref_parse_domain(&again, domain) == 0 && !strcmp(again, domain),
		               "rs_ref_parse_domain is idempotent");
		free(again);
	} else {
		rs_fuzz_assert(domain == NULL, "a failed rs_ref_parse_domain gives nothing");
	}
	free(domain);

	if (rs_ref_check_tag(text) == 0) {
		/* a valid tag makes a valid reference with any valid name */
		rs_ref *ref = NULL;
		char *full = malloc(size + 32);
		rs_fuzz_assert(full != NULL, "malloc");
		strcpy(full, "registry.local:5000/a/b:");
		strcat(full, text);
		rs_fuzz_assert(rs_ref_parse(&ref, full, RS_REF_ANY) == 0 && !strcmp(ref->tag, text),
		               "a tag passing rs_ref_check_tag parses inside a reference");
		rs_ref_free(ref);
		free(full);
	}
	free(text);
	return 0;
}

RS_FUZZ_ENTRY(rs_fuzz_ref)
