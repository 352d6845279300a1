/* Shared by the retag files (retag.c, promote.c, promote_plan.c); not installed. */
#ifndef RS_IMAGE_RETAG_INTERNAL_H
#define RS_IMAGE_RETAG_INTERNAL_H

#include "regship/buf.h"
#include "regship/manifest.h"
#include "regship/retag.h"

#include <stdbool.h>
#include <sys/types.h>

/* The source manifest of a retag: its exact bytes and the media type to PUT them with. */
typedef struct rs__retag_source {
	rs_buf body;
	char *media_type;
	char *digest;
	rs_manifest *manifest; /* parsed on need */
} rs__retag_source;

/* One GET. The media type to PUT with is the Content-Type the registry stored, when it is a
 * manifest type; else the one the body declares or implies. parse: parse the body too. */
int rs__retag_source_fetch(rs__retag_source *s, rs_client *c, const rs_ref *src, bool parse);
void rs__retag_source_dispose(rs__retag_source *s);

/* *o = given (checked version), or the defaults when given is NULL. */
int rs__retag_check_options(rs_retag_options *o, const rs_retag_options *given);
/* A result for s with count zeroed entries. */
rs_retag_result *rs__retag_result_new(const rs__retag_source *s, size_t count);
/* rs_tags_list callback: push tag onto the rs_strlist payload. */
int rs__retag_collect_tag(const char *tag, void *payload);
/* rs_tags_digests for references of any repositories (all on one registry): (*out)[i] is the
 * digest refs[i] points at, NULL where the registry has none; HEADs in parallel. */
int rs__refs_digests(char ***out, rs_client *client, const rs_ref *const *refs, size_t n);
/* Free rs_tags_digests' answer. */
void rs__retag_digests_free(char **d, size_t n);
/* The index of tag in tags, or -1. */
ssize_t rs__retag_tag_index(const char *const *tags, size_t n, const char *tag);

#endif
