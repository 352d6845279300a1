/* The generic store operations (dispatch through the table) and location parsing. */
#include "store/store.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/archive_dl.h"

/* ---- dispatch ----------------------------------------------------------------------------- */

static int no_store(const char *op)
{
	return rs__error_set(RS_EINVAL, "%s: NULL store", op);
}

static const char *scheme_of(const rs_store_ops *ops)
{
	return ops->scheme && *ops->scheme ? ops->scheme : "unnamed";
}

static int unsupported(const rs_store *s, const char *op)
{
	return rs__error_set(RS_EUNSUPPORTED, "%s stores do not support %s",
	                     s->ops->scheme ? s->ops->scheme : "these", op);
}

static int wrong_version(const rs_store_ops *ops, const char *what)
{
	return rs__error_set(RS_EINVAL,
	                     "%s: store backend \"%s\" was built for store table version %u; "
	                     "this library (%s) expects version %u",
	                     what, scheme_of(ops), ops->version, REGSHIP_VERSION,
	                     (unsigned int)RS_STORE_OPS_VERSION);
}

int rs_store_init(rs_store *s, const rs_store_ops *ops)
{
	if (!s || !ops)
		return rs__error_set(RS_EINVAL, "store init: NULL %s", s ? "table" : "store");
	if (ops->version != RS_STORE_OPS_VERSION)
		return wrong_version(ops, "opening a store");
	if (!ops->manifest_get || !ops->blob_exists || !ops->blob_open || !ops->free)
		return rs__error_set(RS_EINVAL,
		                     "opening a store: store backend \"%s\" lacks a mandatory "
		                     "operation (manifest_get, blob_exists, blob_open and free "
		                     "are required)",
		                     scheme_of(ops));
	s->ops = ops;
	return 0;
}

int rs__store_check(const rs_store *s, const char *what)
{
	if (!s || !s->ops)
		return no_store(what);
	if (s->ops->version != RS_STORE_OPS_VERSION)
		return wrong_version(s->ops, what);
	return 0;
}

/* A backend slot that fails without setting a message gets one naming the backend and the
 * operation, so rs_error_last() always describes the failure. */
static int slot_result(const rs_store *s, unsigned long serial, int error, const char *what)
{
	if (error < 0 && rs__error_serial() == serial)
		rs__error_set(error, "%s store: %s failed: %s", scheme_of(s->ops), what,
		              rs_strerror(error));
	return error;
}

#define DISPATCH(s, slot, what)                                                                    \
	do {                                                                                       \
		if (!(s) || !(s)->ops)                                                             \
			return no_store(what);                                                     \
		if ((s)->ops->version != RS_STORE_OPS_VERSION)                                     \
			return wrong_version((s)->ops, what);                                      \
		if (!(s)->ops->slot)                                                               \
			return unsupported((s), what);                                             \
	} while (0)

/* Call a slot, with the generic message when it says nothing. */
#define CALL(s, what, call)                                                                        \
	do {                                                                                       \
		unsigned long serial_ = rs__error_serial();                                        \
		int result_ = (s)->ops->call;                                                      \
		return slot_result((s), serial_, result_, what);                                   \
	} while (0)

const char *rs_store_scheme(const rs_store *s)
{
	return s && s->ops ? s->ops->scheme : NULL;
}

int rs_store_manifest_get(rs_store *s, const char *reference, rs_buf *body, char **media_type,
                          char **digest)
{
	DISPATCH(s, manifest_get, "reading a manifest");
	if (!body)
		return rs__error_set(RS_EINVAL, "reading a manifest: NULL body buffer");
	CALL(s, "reading a manifest", manifest_get(s, reference, body, media_type, digest));
}

int rs_store_manifest_put(rs_store *s, const char *reference, const void *body, size_t len,
                          const char *media_type)
{
	DISPATCH(s, manifest_put, "writing a manifest");
	CALL(s, "writing a manifest", manifest_put(s, reference, body, len, media_type));
}

int rs_store_manifest_delete(rs_store *s, const char *digest)
{
	DISPATCH(s, manifest_delete, "deleting a manifest");
	CALL(s, "deleting a manifest", manifest_delete(s, digest));
}

int rs_store_blob_exists(rs_store *s, const rs_descriptor *desc)
{
	DISPATCH(s, blob_exists, "checking for a blob");
	if (!desc)
		return rs__error_set(RS_EINVAL, "checking for a blob: NULL descriptor");
	CALL(s, "checking for a blob", blob_exists(s, desc));
}

int rs_store_blob_open(rs_reader **out, rs_store *s, const rs_descriptor *desc)
{
	DISPATCH(s, blob_open, "reading a blob");
	if (!out || !desc)
		return rs__error_set(RS_EINVAL, "reading a blob: NULL %s",
		                     out ? "descriptor" : "output");
	*out = NULL;
	CALL(s, "reading a blob", blob_open(out, s, desc));
}

int rs_store_blob_put(rs_store *s, const rs_descriptor *desc, rs_reader *r, rs_transfer_cb cb,
                      void *payload)
{
	DISPATCH(s, blob_put, "writing a blob");
	if (!desc)
		return rs__error_set(RS_EINVAL, "writing a blob: NULL descriptor");
	CALL(s, "writing a blob", blob_put(s, desc, r, cb, payload));
}

int rs_store_blob_mount(rs_store *s, const rs_descriptor *desc, const char *from)
{
	DISPATCH(s, blob_mount, "mounting a blob");
	if (!desc)
		return rs__error_set(RS_EINVAL, "mounting a blob: NULL descriptor");
	CALL(s, "mounting a blob", blob_mount(s, desc, from));
}

int rs_store_tag_list(rs_store *s, int (*cb)(const char *tag, void *payload), void *payload)
{
	DISPATCH(s, tag_list, "listing tags");
	if (!cb)
		return rs__error_set(RS_EINVAL, "listing tags: NULL callback");
	CALL(s, "listing tags", tag_list(s, cb, payload));
}

int rs_store_commit(rs_store *s)
{
	if (!s || !s->ops)
		return no_store("commit");
	if (s->ops->version != RS_STORE_OPS_VERSION)
		return wrong_version(s->ops, "commit");
	if (!s->ops->commit)
		return 0;
	CALL(s, "commit", commit(s));
}

void rs_store_free(rs_store *s)
{
	if (s && s->ops && s->ops->free)
		s->ops->free(s);
}

/* ---- rmtree ------------------------------------------------------------------------------- */

static int rmtree_at(int parent, const char *name, const char *shown)
{
	struct stat st;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0
		                       : rs__error_set(RS_EIO, "cannot remove %s: %s", shown,
		                                       strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d;
		struct dirent *e;
		int error = 0;
		if (fd < 0 || !(d = fdopendir(fd))) {
			if (fd >= 0)
				close(fd);
			return rs__error_set(RS_EIO, "cannot remove %s: %s", shown,
			                     strerror(errno));
		}
		while ((e = readdir(d))) {
			int err;
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if ((err = rmtree_at(dirfd(d), e->d_name, shown)) < 0)
				error = err;
		}
		closedir(d);
		if (error < 0)
			return error;
		if (unlinkat(parent, name, AT_REMOVEDIR) < 0)
			return rs__error_set(RS_EIO, "cannot remove %s: %s", shown,
			                     strerror(errno));
		return 0;
	}
	if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
		return rs__error_set(RS_EIO, "cannot remove %s: %s", shown, strerror(errno));
	return 0;
}

int rs__rmtree(const char *path)
{
	if (!path || !*path)
		return rs__error_set(RS_EINVAL, "cannot remove an empty path");
	return rmtree_at(AT_FDCWD, path, path);
}

/* ---- locations ---------------------------------------------------------------------------- */

const char *rs_location_kind_name(rs_location_kind kind)
{
	switch (kind) {
	case RS_LOCATION_REGISTRY:
		return "registry";
	case RS_LOCATION_OCI_LAYOUT:
		return "oci";
	case RS_LOCATION_OCI_ARCHIVE:
		return "oci-archive";
	case RS_LOCATION_DOCKER_ARCHIVE:
		return "docker-archive";
	}
	return "unknown";
}

void rs_location_free(rs_location *loc)
{
	if (!loc)
		return;
	free(loc->path);
	free(loc->reference);
	free(loc->text);
	free(loc);
}

#define TRANSPORTS "expected docker://, oci:, oci-archive: or docker-archive:"

/* Transports of other tools that we name in an error rather than take for image names. */
static const char *const foreign_transports[] = {
        "containers-storage",
        "dir",
        "docker-daemon",
        "ostree",
        "sif",
        "tarball",
        "docker",
        "oci-dir",
        "file",
        "http",
        "https",
        NULL,
};

static bool is_tag_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || (!first && (c == '.' || c == '-'));
}

/* [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}, n bytes of s. */
static bool valid_tag(const char *s, size_t n)
{
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_tag_char(s[i], i == 0))
			return false;
	return true;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * An org.opencontainers.image.ref.name (podman, buildah and skopeo write "localhost/name:tag").
 * The OCI image layout grammar, loosened to take Docker's names too ("a__b", "a---b"):
 *   ref ::= component ("/" component)*
 *   component ::= alphanum ([A-Za-z0-9] | [-._:@+])* alphanum, or a single alphanum
 */
static bool valid_ref_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool edge = i == 0 || i + 1 == n || s[i - 1] == '/' || s[i + 1] == '/';
		if (is_alnum(s[i]))
			continue;
		if (edge || (s[i] != '/' && !strchr("-._:@+", s[i])))
			return false;
	}
	return true;
}

/* The tag part of oci:DIR:TAG / oci-archive:FILE:TAG: a tag, an OCI reference name or a
 * digest. */
static int check_oci_reference(const char *text, const char *ref)
{
	if (rs__str_startswith(ref, "sha256:") || rs__str_startswith(ref, "sha512:"))
		return rs__digest_valid(ref)
		               ? 0
		               : rs__error_set(
		                         RS_EINVAL,
		                         "invalid location \"%s\": \"%s\" is not a valid digest",
		                         text, ref);
	if (!valid_tag(ref, strlen(ref)) && !valid_ref_name(ref))
		return rs__error_set(RS_EINVAL,
		                     "invalid location \"%s\": invalid tag \"%s\" (expected "
		                     "a tag such as v1, a name such as localhost/app:v1, or a "
		                     "digest)",
		                     text, ref);
	return 0;
}

/*
 * "PREFIX:" where PREFIX looks like a transport name and what follows cannot be read as
 * the rest of an image reference (a tag, or a port followed by "/"): 1, with *len the
 * prefix length; 0 when the text reads as a reference.
 */
static int transport_prefix(const char *text, size_t *len)
{
	const char *colon = strchr(text, ':'), *rest;
	size_t n, digits = 0;
	if (!colon || colon == text)
		return 0;
	n = (size_t)(colon - text);
	for (size_t i = 0; i < n; i++) {
		char c = text[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0; /* dots, slashes, capitals: a domain or a path, not a transport */
	}
	*len = n;
	for (size_t i = 0; foreign_transports[i]; i++)
		if (strlen(foreign_transports[i]) == n && !strncmp(text, foreign_transports[i], n))
			return 1;
	rest = colon + 1;
	while (rest[digits] >= '0' && rest[digits] <= '9')
		digits++;
	if (digits && rest[digits] == '/')
		return 0; /* host:port/path */
	{
		const char *at = strchr(rest, '@');
		size_t tag_len = at ? (size_t)(at - rest) : strlen(rest);
		if (valid_tag(rest, tag_len) && (!at || rs__digest_valid(at + 1)))
			return 0; /* name:tag[@digest] */
	}
	return 1;
}

/* What a .tar holds: RS_LOCATION_DOCKER_ARCHIVE (manifest.json), RS_LOCATION_OCI_ARCHIVE
 * (index.json without manifest.json), or an error. */
static int sniff_tar(rs_location_kind *out, const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	bool manifest = false, index = false;
	int error = 0, r;
	if (!a)
		return rs__oom();
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		error = rs__error_set(RS_EFORMAT, "%s: cannot read as a tar archive: %s", path,
		                      archive_error_string(a));
		goto done;
	}
	while ((r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
		const char *name;
		if (r < ARCHIVE_WARN) {
			error = rs__error_set(RS_EFORMAT,
			                      "%s: truncated or corrupt tar archive (%s)", path,
			                      archive_error_string(a));
			goto done;
		}
		name = archive_entry_pathname(e);
		while (name && rs__str_startswith(name, "./"))
			name += 2;
		if (!name)
			continue;
		if (!strcmp(name, "manifest.json"))
			manifest = true;
		else if (!strcmp(name, "index.json"))
			index = true;
	}
	if (manifest)
		*out = RS_LOCATION_DOCKER_ARCHIVE;
	else if (index)
		*out = RS_LOCATION_OCI_ARCHIVE;
	else
		error = rs__error_set(RS_EFORMAT,
		                      "%s: neither a docker archive (no manifest.json) nor an OCI "
		                      "archive (no index.json)",
		                      path);
done:
	archive_read_free(a);
	return error;
}

static bool looks_like_path(const char *text)
{
	return text[0] == '/' || text[0] == '~' || rs__str_startswith(text, "./") ||
	       rs__str_startswith(text, "../") || !strcmp(text, ".") || !strcmp(text, "..");
}

/* *out: a new location; 0, or RS_ENOMEM with *out NULL. */
static int location_new(rs_location **out, const char *text, rs_location_kind kind,
                        const char *path, size_t path_len, const char *reference)
{
	rs_location *loc = rs__calloc(1, sizeof(*loc));
	*out = NULL;
	if (!loc)
		return rs__oom();
	loc->kind = kind;
	loc->text = rs__strdup(text);
	loc->path = path ? rs__strndup(path, path_len) : NULL;
	loc->reference = reference ? rs__strdup(reference) : NULL;
	if (!loc->text || (path && !loc->path) || (reference && !loc->reference)) {
		rs_location_free(loc);
		return rs__oom();
	}
	*out = loc;
	return 0;
}

/*
 * TRANSPORT:PATH[:REF] with PATH ending at the first ':' (as skopeo splits it); for oci: and
 * oci-archive: also PATH@DIGEST (PATH@sha256:HEX, the digest after the '@').
 */
static int parse_local(rs_location **out, const char *text, size_t prefix_len,
                       rs_location_kind kind)
{
	const char *path = text + prefix_len, *colon = strchr(path, ':');
	size_t path_len = colon ? (size_t)(colon - path) : strlen(path);
	const char *ref = colon ? colon + 1 : NULL;
	int error;
	if (colon && kind != RS_LOCATION_DOCKER_ARCHIVE) {
		static const char *const algs[] = {"@sha256", "@sha512"};
		for (size_t i = 0; i < 2; i++) {
			size_t n = strlen(algs[i]);
			if (path_len > n && !strncmp(colon - n, algs[i], n)) {
				path_len -= n;
				ref = colon - n + 1;
				break;
			}
		}
	}
	if (path_len == 0)
		return rs__error_set(RS_EINVAL, "invalid location \"%s\": empty %s", text,
		                     kind == RS_LOCATION_OCI_LAYOUT ? "directory name"
		                                                    : "file name");
	if (ref && !*ref)
		return rs__error_set(RS_EINVAL, "invalid location \"%s\": empty %s after \":\"",
		                     text,
		                     kind == RS_LOCATION_DOCKER_ARCHIVE ? "reference" : "tag");
	if (ref && kind != RS_LOCATION_DOCKER_ARCHIVE &&
	    (error = check_oci_reference(text, ref)) < 0)
		return error;
	if (ref && kind == RS_LOCATION_DOCKER_ARCHIVE) {
		for (const char *p = ref; *p; p++)
			if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
				return rs__error_set(RS_EINVAL,
				                     "invalid location \"%s\": reference \"%s\" "
				                     "contains a blank or non-ASCII character",
				                     text, ref);
	}
	return location_new(out, text, kind, path, path_len, ref);
}

static int parse_bare_path(rs_location **out, const char *text, bool *matched)
{
	struct stat st;
	rs_location_kind kind = RS_LOCATION_REGISTRY;
	int error;
	*matched = false;
	if (stat(text, &st) < 0) {
		if (looks_like_path(text) || rs__str_endswith(text, ".tar"))
			return rs__error_set(RS_EINVAL,
			                     "%s: no such file or directory (to create one, write "
			                     "oci:%s, oci-archive:%s or docker-archive:%s)",
			                     text, text, text, text);
		return 0;
	}
	if (S_ISDIR(st.st_mode)) {
		rs_buf marker = RS_BUF_INIT;
		bool layout;
		rs__buf_printf(&marker, "%s/oci-layout", text);
		if (rs__buf_oom(&marker))
			return RS_ENOMEM;
		layout = access(marker.ptr, F_OK) == 0;
		rs_buf_dispose(&marker);
		if (layout) {
			*matched = true;
			return location_new(out, text, RS_LOCATION_OCI_LAYOUT, text, strlen(text),
			                    NULL);
		}
		if (looks_like_path(text))
			return rs__error_set(
			        RS_EINVAL,
			        "%s is a directory but not an OCI layout (no oci-layout "
			        "file); write oci:%s to create one in it",
			        text, text);
		return 0;
	}
	if (S_ISREG(st.st_mode) && rs__str_endswith(text, ".tar")) {
		if ((error = sniff_tar(&kind, text)) < 0)
			return error;
		*matched = true;
		return location_new(out, text, kind, text, strlen(text), NULL);
	}
	if (looks_like_path(text))
		return rs__error_set(RS_EINVAL,
		                     "%s is neither a .tar archive nor an OCI layout directory; "
		                     "name it with oci:, oci-archive: or docker-archive:",
		                     text);
	return 0;
}

int rs_location_check_scheme(const char *text)
{
	size_t n;
	rs_buf shown = RS_BUF_INIT;
	int error;
	if (!text)
		return 0;
	n = rs__str_niequal(text, "https://", 8) ? 8 : rs__str_niequal(text, "http://", 7) ? 7 : 0;
	if (!n)
		return 0;
	rs_text_escape(&shown, text, 0);
	if (!shown.ptr)
		return rs__oom();
	/* the scheme is ASCII: its n bytes are the same in the escaped text */
	error = rs__error_set(RS_EINVAL,
	                      "invalid reference \"%s\": write it without \"%.*s\" (%s); plain "
	                      "HTTP is used for loopback registries, and for others with "
	                      "--insecure",
	                      shown.ptr, (int)n, shown.ptr, shown.ptr + n);
	rs_buf_dispose(&shown);
	return error;
}

int rs_location_parse(rs_location **out, const char *text)
{
	static const struct {
		const char *prefix;
		rs_location_kind kind;
	} local[] = {
	        {"oci:", RS_LOCATION_OCI_LAYOUT},
	        {"oci-archive:", RS_LOCATION_OCI_ARCHIVE},
	        {"docker-archive:", RS_LOCATION_DOCKER_ARCHIVE},
	};
	size_t plen;
	bool matched;
	int error;
	if (!out)
		return rs__error_set(RS_EINVAL, "location: NULL output");
	*out = NULL;
	if (!text || !*text)
		return rs__error_set(RS_EINVAL, "invalid location \"\": empty");
	for (const char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return rs__error_set(
			        RS_EINVAL, "invalid location \"%s\": contains a control character",
			        text);
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if (rs__str_startswith(text, local[i].prefix))
			return parse_local(out, text, strlen(local[i].prefix), local[i].kind);
	if (!strcmp(text, "-"))
		return rs__error_set(RS_EINVAL,
		                     "invalid location \"-\": say what standard input holds: "
		                     "docker-archive:- or oci-archive:-");
	if (rs__str_startswith(text, "docker://")) {
		const char *ref = text + strlen("docker://");
		if (!*ref)
			return rs__error_set(
			        RS_EINVAL,
			        "invalid location \"%s\": empty reference after docker://", text);
		return location_new(out, text, RS_LOCATION_REGISTRY, NULL, 0, ref);
	}
	if ((error = rs_location_check_scheme(text)) < 0)
		return error;
	if ((error = parse_bare_path(out, text, &matched)) < 0 || matched)
		return error;
	if (transport_prefix(text, &plen))
		return rs__error_set(RS_EINVAL, "unknown transport \"%.*s:\"; " TRANSPORTS,
		                     (int)plen, text);
	for (const char *p = text; *p; p++)
		if (*p == ' ' || (unsigned char)*p >= 0x7f)
			return rs__error_set(RS_EINVAL,
			                     "invalid location \"%s\": a registry reference cannot "
			                     "contain blanks or non-ASCII characters",
			                     text);
	return location_new(out, text, RS_LOCATION_REGISTRY, NULL, 0, text);
}
