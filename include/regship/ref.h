/*
 * Image references, as docker writes them (distribution/reference grammar):
 *
 *   reference := name [":" tag] ["@" digest]
 *   name      := [domain "/"] path-component ("/" path-component)*
 *
 * Parsing normalises: no domain -> "docker.io"; a one-component path on docker.io
 * gets "library/"; "index.docker.io" becomes "docker.io"; no tag and no digest ->
 * tag "latest". A leading "docker://" is accepted and dropped.
 *
 * Ownership: an rs_ref owns its strings (rs_ref_free); rs_ref_format* return strings the caller
 * frees. Threads: pure functions; a ref may be read from several threads at once.
 */
#ifndef REGSHIP_REF_H
#define REGSHIP_REF_H

#include "common.h"

RS_BEGIN_DECL

typedef struct rs_ref {
	char *domain; /* "docker.io", "registry.local:5000", "[::1]:5000", "localhost" */
	char *path; /* "library/ubuntu", "gallery/ui" */
	char *tag; /* "latest", "v1"; NULL when only a digest was given */
	char *digest; /* "sha256:<64 hex>" or NULL */
} rs_ref;

/* What a parse accepts. */
typedef enum {
	RS_REF_ANY = 0, /* name[:tag][@digest]; default tag "latest" */
	RS_REF_NAME_ONLY = 1, /* a repository: no tag, no digest (tags, catalog of a repo) */
	RS_REF_NO_DEFAULT = 2, /* do not add "latest" when neither tag nor digest is given */
} rs_ref_flags;

/*
 * Parse a reference. On failure returns RS_EINVAL and rs_error_last()->message says what is
 * wrong, for example: invalid reference "Gallery/UI": repository name must be lowercase
 */
RS_EXTERN(int) rs_ref_parse(rs_ref **out, const char *text, unsigned int flags);

/* Parse a registry host on its own ("registry.local:5000", "docker.io", "[::1]:5000"). */
RS_EXTERN(int) rs_ref_parse_domain(char **out, const char *text);

/* Validate a tag on its own ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}). */
RS_EXTERN(int) rs_ref_check_tag(const char *tag);

/* Deep copy. */
RS_EXTERN(int) rs_ref_dup(rs_ref **out, const rs_ref *ref);

/* Same repository with another tag (digest cleared). */
RS_EXTERN(int) rs_ref_with_tag(rs_ref **out, const rs_ref *ref, const char *tag);

/* Same repository with a digest (tag kept for display). */
RS_EXTERN(int) rs_ref_with_digest(rs_ref **out, const rs_ref *ref, const char *digest);

/* Full form: "docker.io/library/ubuntu:latest", "reg:5000/a/b@sha256:…",
 * "reg:5000/a/b:v1@sha256:…". Caller frees with free(). NULL (RS_ENOMEM set) when out of
 * memory or ref is NULL. */
RS_EXTERN(char *) rs_ref_format(const rs_ref *ref);

/* "domain/path" only. Caller frees with free(); NULL as rs_ref_format. */
RS_EXTERN(char *) rs_ref_format_name(const rs_ref *ref);

/* The tag or digest to put in a /manifests/<x> URL: the digest when present, else the tag. */
RS_EXTERN(const char *) rs_ref_identifier(const rs_ref *ref);

/* The host[:port] that requests go to: "registry-1.docker.io" for "docker.io". */
RS_EXTERN(const char *) rs_ref_endpoint(const char *domain);

RS_EXTERN(void) rs_ref_free(rs_ref *ref);

RS_END_DECL

#endif
