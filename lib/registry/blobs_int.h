/*
 * The blob files' private header: what their parts share.
 *
 *   blobs.c          HEAD, the cross-repository mount, the streaming GET (download ring)
 *   blobs_upload.c   upload sessions: POST, the Location policy, the final PUT ?digest=,
 *                    monolithic and streamed uploads and their retry step
 *   blobs_chunked.c  chunked uploads: PATCH by Content-Range, the registry's Range read back,
 *                    a broken PATCH resumed from the upload's status
 */
#ifndef RS_REGISTRY_BLOBS_INT_H
#define RS_REGISTRY_BLOBS_INT_H

#include "registry.h"

#include <stdint.h>

/* One upload session in progress (chunked PATCHes, or a streamed upload's PATCH). */
typedef struct rs__upload {
	rs_client *c;
	rs__endpoint *ep;
	const rs_ref *repo;
	const char *digest;
	rs_reader *r;
	const rs__upload_options *opts;
	char *scope;
	char *location; /* owned */
	uint64_t offset; /* bytes the registry holds */
	int resumes, stalls;
	uint64_t base; /* the offset of r's byte 0 (a streamed upload's chunk in memory) */
} rs__upload;

/* ---- blobs_upload.c ---- */

/* POST (empty body) to an upload path: a new upload session, or a mount. */
int rs__upload_post(rs_client *c, rs__endpoint *ep, const char *path, const char *scope,
                    rs__http_response *resp);

/* The Location of an upload answer, resolved, and refused unless the URL policy allows it
 * (rs__url_check: http/https only, plain HTTP only where allowed). */
int rs__upload_location(char **out, rs_client *c, rs__endpoint *ep, const rs__http_response *resp,
                        const char *loc);

/* RS_EPROTO unless url is on the registry's own origin (the blob and credentials go there). */
int rs__upload_same_origin(rs__endpoint *ep, const char *url);

/* PUT <location>?digest=: the upload's end, with the body (a monolithic upload) or without
 * (body NULL: the bytes went in PATCHes). opts: progress for the body, or NULL. */
int rs__upload_put_final(rs_client *c, rs__endpoint *ep, const rs_ref *repo, const char *location,
                         const char *digest, rs_reader *body, const rs__upload_options *opts);

/* RS_EDIGEST when the answer to a blob's final PUT or mount (`what`) carries a
 * Docker-Content-Digest other than `digest`: the registry says it stored other bytes. */
int rs__blob_stored_check(rs__endpoint *ep, const rs__http_response *resp, const char *digest,
                          const char *what);

/* ---- blobs_chunked.c ---- */

/* PATCH chunk by chunk, then PUT ?digest= (see its definition). RS_EUNSUPPORTED when the
 * registry refuses chunks. Takes location. */
int rs__upload_chunked(rs_client *c, rs__endpoint *ep, const rs_ref *repo, const char *digest,
                       int64_t size, rs_reader *r, const rs__upload_options *opts, char *location,
                       uint64_t min_chunk);

/* A streamed upload's bytes from `in` in PATCHes of `chunk` bytes (each read into memory
 * first). RS_EUNSUPPORTED when the registry refuses chunks. */
int rs__upload_stream_chunks(rs__upload *u, rs_reader *in, uint64_t chunk);

#endif
