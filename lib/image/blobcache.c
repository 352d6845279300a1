#include "blobcache.h"
#include "util/digest.h"
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define RS_BLOBCACHE_FILE_MAX (64u * 1024)

char *rs__blobcache_dir(const char *override)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	rs_buf b = RS_BUF_INIT;
	if (override)
		return rs__strdup(override);
	if (xdg && *xdg)
		rs__buf_printf(&b, "%s/regship/blobs", xdg);
	else if (home && *home)
		rs__buf_printf(&b, "%s/.cache/regship/blobs", home);
	else
		return NULL;
	return rs__buf_detach(&b);
}

static char *entry_path(const char *dir, const char *digest)
{
	rs_buf b = RS_BUF_INIT;
	const char *colon = strchr(digest, ':');
	rs__buf_printf(&b, "%s/%.*s/%s", dir, (int)(colon - digest), digest, colon + 1);
	return rs__buf_detach(&b);
}

void rs__blobcache_lookup(rs_strlist *out, const char *dir, const char *digest, const char *domain,
                          const char *except)
{
	rs_buf content = RS_BUF_INIT;
	char *path, *save = NULL;
	size_t dlen = strlen(domain);
	if (!dir || !rs__digest_valid(digest))
		return;
	if (!(path = entry_path(dir, digest)))
		return; /* a cache: out of memory finds nothing */
	/* entries are replaced whole (rename): no lock needed to read one */
	if (rs__file_read_regular(&content, AT_FDCWD, path, RS_BLOBCACHE_FILE_MAX, RS_FILE_NOFOLLOW,
	                          path) == 0 &&
	    content.ptr) {
		for (char *line = strtok_r(content.ptr, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			const char *repo;
			if (strncmp(line, domain, dlen) || line[dlen] != ' ')
				continue;
			repo = line + dlen + 1;
			if (!*repo || (except && !strcmp(repo, except)) ||
			    rs__strlist_contains(out, repo))
				continue;
			if (rs__strlist_push(out, repo) < 0)
				break;
		}
	}
	rs_error_clear();
	rs_buf_dispose(&content);
	free(path);
}

/* content without its oldest lines, so that `room` more bytes fit under the size bound */
static void drop_oldest(rs_buf *content, size_t room)
{
	size_t cut = 0;
	while (content->size - cut + room > RS_BLOBCACHE_FILE_MAX - 1) {
		const char *nl = memchr(content->ptr + cut, '\n', content->size - cut);
		cut = nl ? (size_t)(nl - content->ptr) + 1 : content->size;
	}
	if (cut) {
		memmove(content->ptr, content->ptr + cut, content->size - cut);
		content->size -= cut;
		content->ptr[content->size] = '\0';
	}
}

void rs__blobcache_record(const char *dir, const char *digest, const char *domain, const char *path)
{
	rs_buf content = RS_BUF_INIT, line = RS_BUF_INIT, sub = RS_BUF_INIT, shown = RS_BUF_INIT;
	rs_buf probe = RS_BUF_INIT;
	const char *hex;
	int subfd = -1, error;
	bool locked = false;
	if (!dir || !rs__digest_valid(digest))
		return;
	hex = strchr(digest, ':') + 1;
	rs__buf_printf(&sub, "%s/%.*s", dir, (int)(hex - 1 - digest), digest);
	rs__buf_printf(&shown, "%s/%s", sub.ptr, hex);
	rs__buf_printf(&line, "%s %s\n", domain, path);
	/* a cache: out of memory records nothing (and never writes a file half-made) */
	if (rs__buf_oom(&sub) || rs__buf_oom(&shown) || rs__buf_oom(&line))
		goto done;
	if (line.size > RS_BLOBCACHE_FILE_MAX / 2 || rs__mkdir_p(sub.ptr, 0700) < 0 ||
	    rs__dir_open_at(&subfd, AT_FDCWD, sub.ptr, 0, 0700, sub.ptr) < 0)
		goto done;
	/* read, add, replace under an flock of the directory: concurrent runs lose no line */
	while ((error = flock(subfd, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (error < 0)
		goto done;
	locked = true;
	error = rs__file_read_regular(&content, subfd, hex, RS_BLOBCACHE_FILE_MAX, RS_FILE_NOFOLLOW,
	                              shown.ptr);
	if (error < 0 && error != RS_ENOTFOUND && error != RS_ETOOBIG)
		goto done; /* a FIFO, a link, unreadable: leave it alone */
	if (error == RS_ENOMEM)
		goto done;
	if (error == RS_ETOOBIG)
		rs__buf_clear(&content);
	/* the line already there, as a whole line? */
	rs__buf_printf(&probe, "\n%s", line.ptr);
	if (content.size &&
	    (rs__str_startswith(content.ptr, line.ptr) || strstr(content.ptr, probe.ptr)))
		goto done;
	if (content.size && content.ptr[content.size - 1] != '\n')
		rs__buf_putc(&content, '\n');
	drop_oldest(&content, line.size);
	rs__buf_put(&content, line.ptr, line.size);
	if (rs__buf_oom(&content) || rs__buf_oom(&probe))
		goto done;
	(void)rs__file_write_atomic_at(subfd, hex, content.ptr, content.size, 0600, RS_FILE_NOSYNC,
	                               shown.ptr);
done:
	rs_error_clear();
	if (locked)
		(void)flock(subfd, LOCK_UN);
	if (subfd >= 0)
		close(subfd);
	rs_buf_dispose(&content);
	rs_buf_dispose(&line);
	rs_buf_dispose(&sub);
	rs_buf_dispose(&shown);
	rs_buf_dispose(&probe);
}
