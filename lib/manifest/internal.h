/* Helpers shared by the files of lib/manifest/ (never installed). */
#ifndef RS_MANIFEST_INTERNAL_H
#define RS_MANIFEST_INTERNAL_H

#include "regship/manifest.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Copy the base of a media type (parameters and surrounding blanks removed, lowercased) into
 * out; an empty string for NULL or an over-long value. */
void rs__mediatype_base(char *out, size_t outlen, const char *media_type);
/* Non-zero for a Content-Type that says nothing about the manifest kind: NULL, "",
 * application/json, text/plain, application/octet-stream, binary/octet-stream. */
bool rs__mediatype_is_generic(const char *content_type);

/* 0 when the JSON text nests at most max_depth arrays/objects, RS_EFORMAT naming `what` when
 * deeper. Linear, no recursion. */
int rs__json_check_depth(const char *text, size_t len, int max_depth, const char *what);
/* Parse a JSON object from text (depth-checked, duplicate keys rejected). `what` names the
 * document in errors ("manifest", "image config"). */
int rs__json_parse_object(json_t **out, const void *text, size_t len, const char *what);

/* Fill *out from a JSON descriptor object; errors are RS_EFORMAT prefixed with `where`
 * ("manifest layer 3"). *out is left zeroed on failure. */
int rs__descriptor_from_json(rs_descriptor *out, const json_t *obj, const char *where);
/* Check the fields a descriptor must have (media type, valid digest, size >= 0); RS_EINVAL
 * prefixed with `where`. */
int rs__descriptor_check(const rs_descriptor *d, const char *where);
/* A new JSON object for d (RS_EINVAL naming `where` for invalid UTF-8). docker: docker key order
 * (mediaType, size, digest) and no OCI-only fields (annotations, artifactType). */
int rs__descriptor_to_json(json_t **out, const rs_descriptor *d, bool docker, const char *where);

/* Platform from a JSON object ("where: platform: missing \"os\""). */
int rs__platform_from_json(rs_platform **out, const json_t *obj, const char *where);
/* RS_EINVAL naming `where` when a field is not valid UTF-8. */
int rs__platform_to_json(json_t **out, const rs_platform *p, const char *where);
/* The platform docker names for a uname() sysname and machine (testable core of
 * rs_platform_host). */
int rs__platform_from_uname(rs_platform **out, const char *sysname, const char *machine);

#endif
