/*
 * Stores: the places images live (a registry repository, an OCI image layout directory,
 * an OCI archive, a docker-save archive), and the command-line location syntax that names
 * them. rs_store is opaque here; the operations dispatch through a table that backend authors
 * fill in (regship/sys/store.h, not part of regship.h).
 *
 * Ownership: every rs_store_open_* gives the caller a store released with rs_store_free();
 * strings returned through char ** are the caller's (free()). Errors: 0 or a negative RS_E*
 * code with rs_error_last() describing it (never a blank message, even from a backend that
 * set none). Threads: a store is used by one thread at a time, except that the copy engine
 * calls the blob operations of the stores it was given from its worker threads (the stores
 * regship provides allow that).
 */
#ifndef REGSHIP_STORE_H
#define REGSHIP_STORE_H

#include "buf.h"
#include "client.h"
#include "common.h"
#include "manifest.h"
#include "reader.h"
#include "ref.h"

RS_BEGIN_DECL

typedef struct rs_store rs_store;
/* rs_transfer_cb (progress of one blob transfer): regship/reader.h. */

/* Open flags. RS_STORE_WRITE creates the store when missing, or adds to an existing one;
 * it implies reading. */
#define RS_STORE_READ 0x1u
#define RS_STORE_WRITE 0x2u
/* With RS_STORE_WRITE, archive stores only: start a new archive, replacing FILE whatever it
 * holds (without it an existing archive is added to, and anything else is refused). */
#define RS_STORE_OVERWRITE 0x4u

/*
 * An OCI image layout directory (oci-layout, index.json, blobs/<alg>/<hex>).
 * RS_STORE_READ: the directory must exist and be a layout.
 * RS_STORE_WRITE: created when missing or empty; a non-empty directory that is not a layout
 * is refused (RS_EINVAL). index.json is written by rs_store_commit(), merged with the file
 * as it is then (entries written meanwhile by others are kept).
 * manifest_get(reference): a tag (org.opencontainers.image.ref.name), a digest, or NULL for
 * the only entry. manifest_put(reference): a tag adds or replaces that tag's entry; a digest
 * stores the blob only, except that an image index also gets an untagged entry; NULL adds
 * an untagged entry. manifest_delete removes the index.json entries (the blob stays).
 */
RS_EXTERN(int) rs_store_open_oci_layout(rs_store **out, const char *dir, unsigned int flags);

/*
 * A tar of an OCI image layout. Reading unpacks it into a private temporary directory
 * (under $TMPDIR, removed by rs_store_free). RS_STORE_WRITE creates the archive (or adds to
 * an existing one); nothing is written to FILE before rs_store_commit(), which replaces
 * FILE atomically with a deterministic tar.
 *
 * FILE "-" is standard input when reading (see "Standard input" below) and standard output
 * when writing (streamed at rs_store_commit(); refused when it is a terminal).
 */
RS_EXTERN(int) rs_store_open_oci_archive(rs_store **out, const char *file, unsigned int flags);

/*
 * Standard input ("-" as the FILE of an archive store opened RS_STORE_READ, hence
 * docker-archive:- and oci-archive:- through rs_store_open_location): the archive is read more
 * than once, so a pipe is first copied, streaming (memory stays flat), into a temporary file
 * under the store's temporary directory ($TMPDIR; mode 0600, close-on-exec) that has no name
 * from the start (O_TMPFILE, else unlinked at once): nothing is left behind by a failure, an
 * rs_cancel() (the copy stops with RS_EUSER) or a kill. A regular file redirected into
 * standard input is read in place. A terminal on standard input is RS_EINVAL ("refusing to
 * read an archive from a terminal"), an empty one RS_EFORMAT; messages name "standard input".
 * The file stays open until rs_store_free(). Needs /proc (Linux).
 */

/* Options of the docker-save archive store (lib/store/docker_archive.c). rs_compression and
 * rs_manifest_format come from manifest.h. */
typedef struct rs_docker_archive_options {
	unsigned int version;
	/* Reading: how layers stored uncompressed in the archive are compressed for the
	 * manifest (layers already gzip/zstd in the archive are passed through unchanged;
	 * gzip output is deterministic). zstd needs format RS_MANIFEST_FORMAT_OCI. */
	rs_compression compression; /* default RS_COMPRESSION_GZIP */
	int level; /* 0: the algorithm's default (gzip 6, zstd 3); gzip 1-9, zstd 1-19 */
	unsigned int jobs; /* layers compressed in parallel; 0: 4 */
	rs_manifest_format format; /* media types; default RS_MANIFEST_FORMAT_DOCKER */
	const char *tmp_dir; /* temporary files; NULL: $TMPDIR, else /var/tmp */
	/* Compression cache: NULL: $XDG_CACHE_HOME/regship/compress (default
	 * ~/.cache/regship/compress); "": no cache. */
	const char *cache_dir;
	/* Writing: foreign / non-distributable layers (which registries do not serve) are
	 * fetched from the URLs of their descriptors, never with any credentials, with these TLS
	 * settings, as rs_client_options has them: ca_cert, an extra CA file (PEM) trusted
	 * besides the system CAs (checked: RS_EINVAL when missing or not PEM); insecure, plain
	 * HTTP and unverified TLS to any host (the bytes are verified against the digest all the
	 * same); use_registry_config, also to the hosts "insecure-registries" of
	 * /etc/docker/daemon.json and regship's config.json list. Without them: verified TLS with
	 * the system CAs, plain HTTP to loopback only. rs_store_open_location copies the three
	 * from its client when these are unset (NULL / 0). */
	const char *ca_cert;
	int insecure;
	int use_registry_config;
} rs_docker_archive_options;
#define RS_DOCKER_ARCHIVE_OPTIONS_VERSION 2
#define RS_DOCKER_ARCHIVE_OPTIONS_INIT                                                             \
	{                                                                                          \
		RS_DOCKER_ARCHIVE_OPTIONS_VERSION, RS_COMPRESSION_GZIP, 0, 4,                      \
		        RS_MANIFEST_FORMAT_DOCKER, NULL, NULL, NULL, 0, 0                          \
	}

/*
 * A docker-save archive (`docker save` output: the legacy layout with manifest.json and
 * <id>/layer.tar, and the docker 25+ OCI-in-tar layout with manifest.json beside blobs/).
 * opts may be NULL for the defaults.
 *
 * RS_STORE_READ: FILE is indexed at once (hostile content is refused with RS_EFORMAT);
 * "-" is standard input (see above).
 * manifest_get(reference) selects an image: NULL (the only one), a RepoTag ("ubuntu" matches
 * "docker.io/library/ubuntu:latest"), "@N" (the N-th image, from 0) or a manifest digest
 * already handed out; it synthesises a manifest whose layers are compressed per opts.
 *
 * RS_STORE_WRITE: a new archive replaces FILE at rs_store_commit() (nothing is written to
 * FILE before, nor on failure); layers are stored uncompressed, as docker save does. Each
 * manifest_put(reference) records an image under a RepoTag (reference NULL or a digest: an
 * untagged image); an index is refused (pick a platform first).
 */
RS_EXTERN(int)
rs_store_open_docker_archive(rs_store **out, const char *file, unsigned int flags,
                             const rs_docker_archive_options *opts);

/* ---- a registry repository as a store ---------------------------------------------------- */

typedef struct rs_registry_store_options {
	unsigned int version;
	uint64_t
	        chunk_size; /* 0: monolithic uploads (POST + PUT); else PATCH chunks of this size */
} rs_registry_store_options;
#define RS_REGISTRY_STORE_OPTIONS_VERSION 1
#define RS_REGISTRY_STORE_OPTIONS_INIT                                                             \
	{                                                                                          \
		RS_REGISTRY_STORE_OPTIONS_VERSION, 0                                               \
	}

/* A repository of a registry as a store. manifest references are tags or digests; NULL means
 * repo's own tag or digest. The client must outlive the store. opts may be NULL. */
RS_EXTERN(int)
rs_store_open_registry(rs_store **out, rs_client *client, const rs_ref *repo,
                       const rs_registry_store_options *opts);

/* The repository a registry store was opened on, or NULL for any other store. */
RS_EXTERN(const rs_ref *) rs_store_registry_ref(const rs_store *s);

/* ---- generic operations (dispatch through the store's table) ---------------------------- */

/* "registry", "oci", "oci-archive", "docker-archive" (NULL for a NULL store). */
RS_EXTERN(const char *) rs_store_scheme(const rs_store *s);

/* Manifest by tag or digest; reference NULL: the store's only image. body receives the exact
 * bytes; *media_type and *digest (either may be NULL) are allocated, caller frees. */
RS_EXTERN(int)
rs_store_manifest_get(rs_store *s, const char *reference, rs_buf *body, char **media_type,
                      char **digest);
/* Store the exact bytes under reference (a tag, or the manifest's own digest). */
RS_EXTERN(int)
rs_store_manifest_put(rs_store *s, const char *reference, const void *body, size_t len,
                      const char *media_type);
RS_EXTERN(int) rs_store_manifest_delete(rs_store *s, const char *digest);

/* 0 when present, RS_ENOTFOUND when absent. */
RS_EXTERN(int) rs_store_blob_exists(rs_store *s, const rs_descriptor *desc);
RS_EXTERN(int) rs_store_blob_open(rs_reader **out, rs_store *s, const rs_descriptor *desc);
/* Write a blob from r (not freed), verifying desc->digest and desc->size. */
RS_EXTERN(int)
rs_store_blob_put(rs_store *s, const rs_descriptor *desc, rs_reader *r, rs_transfer_cb cb,
                  void *payload);
RS_EXTERN(int) rs_store_blob_mount(rs_store *s, const rs_descriptor *desc, const char *from);

/* Calls cb for each tag; a non-zero return from cb stops the walk with RS_EUSER. */
RS_EXTERN(int)
rs_store_tag_list(rs_store *s, int (*cb)(const char *tag, void *payload), void *payload);

/* Finish writing (index.json, archive rename). A store with nothing to finish returns 0. */
RS_EXTERN(int) rs_store_commit(rs_store *s);

/* Release a store; an uncommitted archive leaves the destination file untouched. */
RS_EXTERN(void) rs_store_free(rs_store *s);

/* ---- locations: what the command line names ---------------------------------------------- */

typedef enum rs_location_kind {
	RS_LOCATION_REGISTRY = 1, /* docker://REF or a bare registry reference */
	RS_LOCATION_OCI_LAYOUT = 2, /* oci:DIR[:TAG] or an existing layout directory */
	RS_LOCATION_OCI_ARCHIVE = 3, /* oci-archive:FILE[:TAG] */
	RS_LOCATION_DOCKER_ARCHIVE = 4, /* docker-archive:FILE[:REF] */
} rs_location_kind;

typedef struct rs_location {
	rs_location_kind kind;
	char *path; /* the directory or file; NULL for a registry */
	/* REGISTRY: the reference text for rs_ref_parse (without "docker://").
	 * OCI_LAYOUT / OCI_ARCHIVE: the tag (or a digest), NULL when none was given.
	 * DOCKER_ARCHIVE: the image reference inside the archive, NULL when none was given. */
	char *reference;
	char *text; /* the text as given */
} rs_location;

/*
 * Parse a location: docker://REF, oci:DIR[:TAG], oci-archive:FILE[:TAG],
 * docker-archive:FILE[:REF] (FILE ends at the first ':'; FILE "-" of an archive is standard
 * input or output, as rs_store_open_location opens it; an OCI TAG may be a full reference
 * name such as localhost/app:v1, as podman and skopeo write them, or a digest, also written
 * oci:DIR@sha256:HEX / oci-archive:FILE@sha256:HEX), a bare path to an existing .tar
 * file (docker-archive when it holds manifest.json, oci-archive when it holds only
 * index.json) or to an existing OCI layout directory, else a registry reference.
 * RS_EINVAL with a message naming the problem otherwise.
 */
RS_EXTERN(int) rs_location_parse(rs_location **out, const char *text);

/*
 * Registry references are written without a scheme: RS_EINVAL with a message saying what to
 * write ("write it without \"http://\" (host/repo); plain HTTP is used for loopback
 * registries, and for others with --insecure") when text begins with http:// or https://
 * (in any case), else 0. rs_location_parse applies it; call it before rs_ref_parse to give
 * the same answer for a reference parsed on its own.
 */
RS_EXTERN(int) rs_location_check_scheme(const char *text);

/* "registry", "oci", "oci-archive", "docker-archive". */
RS_EXTERN(const char *) rs_location_kind_name(rs_location_kind kind);

RS_EXTERN(void) rs_location_free(rs_location *loc);

/* ---- opening the store a location names ---------------------------------------------------- */

typedef struct rs_open_options {
	unsigned int version;
	/* needed for registry locations; a docker archive also takes its TLS settings (CA file,
	 * insecure, registry config) for fetching foreign layers, unless docker_archive sets them
	 */
	rs_client *client;
	const rs_docker_archive_options *docker_archive; /* NULL: defaults */
	const rs_registry_store_options *registry; /* NULL: defaults */
} rs_open_options;
#define RS_OPEN_OPTIONS_VERSION 1
#define RS_OPEN_OPTIONS_INIT                                                                       \
	{                                                                                          \
		RS_OPEN_OPTIONS_VERSION, NULL, NULL, NULL                                          \
	}

/*
 * Open the store a location names (RS_STORE_READ or RS_STORE_WRITE). *reference receives
 * what to ask the store for: a registry reference's tag or digest, the tag/REF given after a
 * local path, or NULL. Caller frees it.
 */
RS_EXTERN(int)
rs_store_open_location(rs_store **out, char **reference, const rs_location *loc, unsigned int flags,
                       const rs_open_options *opts);

RS_END_DECL

#endif
