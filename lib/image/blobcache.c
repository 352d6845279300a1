#include "blobcache.h"
#include "util/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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
	path = entry_path(dir, digest);
	if (rs__file_read(&content, path, RS_BLOBCACHE_FILE_MAX) == 0 && content.ptr) {
		for (char *line = strtok_r(content.ptr, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			const char *repo;
			if (strncmp(line, domain, dlen) || line[dlen] != ' ')
				continue;
			repo = line + dlen + 1;
			if (!*repo || (except && !strcmp(repo, except)) ||
			    rs__strlist_contains(out, repo))
				continue;
			rs__strlist_push(out, repo);
		}
	}
	rs_error_clear();
	rs_buf_dispose(&content);
	free(path);
}

void rs__blobcache_record(const char *dir, const char *digest, const char *domain, const char *path)
{
	rs_strlist known = RS_STRLIST_INIT;
	rs_buf line = RS_BUF_INIT, sub = RS_BUF_INIT;
	char *file;
	int fd;
	if (!dir || !rs__digest_valid(digest))
		return;
	rs__blobcache_lookup(&known, dir, digest, domain, NULL);
	if (rs__strlist_contains(&known, path))
		goto done;
	file = entry_path(dir, digest);
	{
		struct stat st;
		/* a full entry stops growing (lookups read at most RS_BLOBCACHE_FILE_MAX) */
		if (stat(file, &st) == 0 && st.st_size >= (off_t)(RS_BLOBCACHE_FILE_MAX - 1024)) {
			free(file);
			goto done;
		}
	}
	free(file);
	rs__buf_printf(&sub, "%s/%.*s", dir, (int)(strchr(digest, ':') - digest), digest);
	if (rs__mkdir_p(sub.ptr, 0700) < 0) {
		rs_error_clear();
		goto done;
	}
	file = entry_path(dir, digest);
	rs__buf_printf(&line, "%s %s\n", domain, path);
	fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		/* one write of a short line with O_APPEND: concurrent writers don't interleave */
		if (write(fd, line.ptr, line.size) < 0)
			(void)errno;
		close(fd);
	}
	free(file);
done:
	rs__strlist_dispose(&known);
	rs_buf_dispose(&line);
	rs_buf_dispose(&sub);
}
