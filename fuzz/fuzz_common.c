/* Helpers shared by the fuzz targets: scratch directory, files, properties. */
#include "fuzz.h"

#include "store/store.h"
#include "util/util.h"

#include "regship/manifest.h"
#include "regship/store.h"
#include "util/digest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *fuzz_scratch;

void rs_fuzz__assert(bool cond, const char *what, const char *file, int line)
{
	if (cond)
		return;
	fprintf(stderr, "%s:%d: fuzz property broken: %s\n", file, line, what);
	abort();
}

char *rs_fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = rs__malloc(size + 1);
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static void fuzz_cleanup(void)
{
	if (fuzz_scratch)
		(void)rs__rmtree(fuzz_scratch);
	free(fuzz_scratch);
	fuzz_scratch = NULL;
}

const char *rs_fuzz_tmpdir(void)
{
	const char *base;
	rs_buf b = RS_BUF_INIT;
	if (fuzz_scratch)
		return fuzz_scratch;
	base = getenv("TMPDIR");
	rs__buf_printf(&b, "%s/regship-fuzz-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(b.ptr)) {
		fprintf(stderr, "fuzz: cannot create %s: %s\n", b.ptr, strerror(errno));
		abort();
	}
	fuzz_scratch = rs__buf_detach(&b);
	/* an empty PATH directory: no credential helper can run, whatever the input says */
	rs__buf_printf(&b, "%s/empty-path", fuzz_scratch);
	if (mkdir(b.ptr, 0700) < 0 || setenv("PATH", b.ptr, 1) < 0) {
		fprintf(stderr, "fuzz: cannot set up %s: %s\n", b.ptr, strerror(errno));
		abort();
	}
	rs_buf_dispose(&b);
	/* the stores' own temporary directories go inside the scratch directory too */
	rs__buf_printf(&b, "%s/work", fuzz_scratch);
	if (mkdir(b.ptr, 0700) < 0 || setenv("TMPDIR", b.ptr, 1) < 0) {
		fprintf(stderr, "fuzz: cannot set up %s: %s\n", b.ptr, strerror(errno));
		abort();
	}
	rs_buf_dispose(&b);
	atexit(fuzz_cleanup);
	return fuzz_scratch;
}

void rs_fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t off = 0;
	if (fd < 0) {
		fprintf(stderr, "fuzz: cannot create %s: %s\n", path, strerror(errno));
		abort();
	}
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
			abort();
		}
		off += (size_t)n;
	}
	close(fd);
}

void rs_fuzz_assert_dir_only(const char *dir, const char *const *keep)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d) {
		fprintf(stderr, "fuzz: cannot list %s: %s\n", dir, strerror(errno));
		abort();
	}
	while ((e = readdir(d))) {
		bool kept = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
		for (size_t i = 0; !kept && keep && keep[i]; i++)
			kept = !strcmp(e->d_name, keep[i]);
		if (!kept) {
			fprintf(stderr, "fuzz: %s/%s was left behind\n", dir, e->d_name);
			closedir(d);
			abort();
		}
	}
	closedir(d);
}

/* ---- walking a store ---------------------------------------------------------------------- */

#define WALK_MAX_BLOB_BYTES (64u * 1024 * 1024)
#define WALK_MAX_CHILDREN 8
#define WALK_MAX_TAGS 4

/* Read a blob to the end; with self_made, its bytes must have the descriptor's digest/size. */
static void walk_blob(rs_store *s, const rs_descriptor *d, bool self_made)
{
	rs_reader *r = NULL;
	rs__hasher *h = NULL;
	unsigned char buf[16384];
	uint64_t total = 0;
	long long n = 0;
	char got[RS_DIGEST_MAX];
	int exists = rs_store_blob_exists(s, d);

	rs_fuzz_assert(exists == 0 || exists < 0, "blob_exists returns 0 or an error");
	if (rs_store_blob_open(&r, s, d) < 0) {
		rs_fuzz_assert(!self_made, "a blob the store listed itself can be opened");
		return;
	}
	rs_fuzz_assert(r != NULL, "an opened blob has a reader");
	if (self_made && rs__hasher_new(&h, "sha256") < 0)
		abort();
	while (total < WALK_MAX_BLOB_BYTES && (n = rs_reader_read(r, buf, sizeof(buf))) > 0) {
		rs_fuzz_assert((size_t)n <= sizeof(buf), "a read returns at most what was asked");
		if (h)
			rs__hasher_update(h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (h) {
		rs_fuzz_assert(n == 0, "a blob the store listed itself reads to the end");
		rs__hasher_final(h, got);
		if (strcmp(got, d->digest) || (int64_t)total != d->size)
			fprintf(stderr,
			        "blob %s: read %llu bytes with digest %s (descriptor: %lld)\n",
			        d->digest, (unsigned long long)total, got, (long long)d->size);
		rs_fuzz_assert(!strcmp(got, d->digest) && (int64_t)total == d->size,
		               "a blob of a synthesised manifest has the digest and size the "
		               "manifest gives");
		rs__hasher_free(h);
	}
	rs_reader_free(r);
}

static void walk_manifest(rs_store *s, const char *reference, int depth, bool self_made)
{
	rs_buf body = RS_BUF_INIT;
	char *mt = NULL, *digest = NULL;
	rs_manifest *m = NULL;
	int error;

	if ((error = rs_store_manifest_get(s, reference, &body, &mt, &digest)) < 0) {
		rs_fuzz_assert(!mt && !digest, "a failed manifest_get allocates nothing");
		goto done;
	}
	rs_fuzz_assert(mt && digest, "manifest_get gives a media type and a digest");
	rs_fuzz_assert(rs__digest_verify(digest, body.ptr ? body.ptr : "", body.size) == 0,
	               "manifest_get's digest is the digest of the bytes it gives");
	error = rs_manifest_parse(&m, body.ptr ? body.ptr : "", body.size, mt);
	rs_fuzz_assert(error == 0 || !self_made, "a synthesised manifest parses");
	if (error < 0)
		goto done;
	if (rs_manifest_is_index(m)) {
		for (size_t i = 0;
		     depth < 2 && i < rs_manifest_child_count(m) && i < WALK_MAX_CHILDREN; i++)
			walk_manifest(s, rs_manifest_child(m, i)->digest, depth + 1, self_made);
	} else {
		for (size_t i = 0; i < rs_manifest_blob_count(m); i++)
			walk_blob(s, rs_manifest_blob(m, i), self_made);
	}
done:
	rs_manifest_free(m);
	free(mt);
	free(digest);
	rs_buf_dispose(&body);
}

static int walk_tag(const char *tag, void *payload)
{
	rs_strlist *tags = payload;
	rs_fuzz_assert(tag != NULL, "tag_list hands out tags");
	if (tags->count < WALK_MAX_TAGS)
		rs__strlist_push(tags, tag);
	return 0;
}

void rs_fuzz_walk_store(rs_store *s, const char *const *references, bool self_made)
{
	rs_strlist tags = RS_STRLIST_INIT;
	walk_manifest(s, NULL, 0, self_made);
	for (size_t i = 0; references && references[i]; i++)
		walk_manifest(s, references[i], 0, self_made);
	if (rs_store_tag_list(s, walk_tag, &tags) == 0)
		for (size_t i = 0; i < tags.count; i++)
			walk_manifest(s, tags.items[i], 0, self_made);
	rs__strlist_dispose(&tags);
}
