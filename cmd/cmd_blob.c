/* regship blob — stream one blob to standard output or a file, verified against its digest. */
#include "cli.h"
#include "readsrc.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const usage[] = {"regship blob [-o FILE] [--force] IMAGE@DIGEST",
                                    "regship blob [-o FILE] [--force] IMAGE DIGEST", NULL};

static int fd_sink(const void *data, size_t len, void *payload)
{
	int fd = *(int *)payload;
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 1; /* errno says why */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The partial file being written and its descriptor. A signal that ends regship (Ctrl-C,
 * kill) leaves it for the next run to continue, unless nothing was written into it yet. */
static char *volatile blob_tmp;
static volatile int blob_tmp_fd = -1;

static void on_signal(int sig)
{
	char *tmp = blob_tmp;
	struct stat st;
	if (tmp && blob_tmp_fd >= 0 && fstat(blob_tmp_fd, &st) == 0 && st.st_size == 0)
		unlink(tmp);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* SIGINT, SIGTERM, SIGHUP end regship leaving a non-empty partial file (those already ignored
 * stay ignored). */
static void catch_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction sa, old;
		memset(&sa, 0, sizeof(sa));
		sigemptyset(&sa.sa_mask);
		sa.sa_handler = on_signal;
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	}
}

/*
 * FILE.regship-partial-HEX beside FILE (rename() is atomic there), HEX from the blob's digest:
 * what an interrupted run left of the same blob for the same FILE is continued (*have bytes),
 * never another blob's. Opened for appending, locked against a second regship doing the same.
 * Prints the error and returns -1 when it cannot be created.
 */
static int open_partial(char **tmp, const char *file, const char *digest, uint64_t *have)
{
	const char *hex = strchr(digest, ':');
	size_t n = strlen(file) + 48;
	struct stat st;
	int fd;
	mode_t mask = umask(0);
	umask(mask);
	*have = 0;
	if (!(*tmp = malloc(n)))
		cli_out_of_memory();
	snprintf(*tmp, n, "%s.regship-partial-%.16s", file, hex ? hex + 1 : digest);
	/* O_NONBLOCK: a FIFO put there with no reader would block the open for ever */
	fd = open(*tmp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
	          0666 & ~mask);
	if (fd < 0 && lstat(*tmp, &st) == 0 && !S_ISREG(st.st_mode)) {
		cli_error("%s: not a regular file (a link, FIFO, directory or device): remove it "
		          "to download %s",
		          *tmp, file);
		free(*tmp);
		*tmp = NULL;
		return -1;
	}
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
		cli_error("%s: another regship is downloading this blob into it", *tmp);
		close(fd);
		free(*tmp);
		*tmp = NULL;
		return -1;
	}
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    fcntl(fd, F_SETFL, O_APPEND) == 0)
		*have = (uint64_t)st.st_size;
	else if (fd >= 0) {
		cli_error("%s: not a regular file (a link, FIFO, directory or device): remove it "
		          "to download %s",
		          *tmp, file);
		close(fd);
		free(*tmp);
		*tmp = NULL;
		return -1;
	}
	if (fd < 0) {
		cli_error("%s: cannot create a temporary file beside it: %s", file,
		          strerror(errno));
		free(*tmp);
		*tmp = NULL;
	}
	return fd;
}

/* Start the partial file again from zero. */
static int partial_restart(int fd, const char *tmp)
{
	if (ftruncate(fd, 0) < 0) {
		cli_error("%s: %s", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

/* FILE is our standard output already (/dev/stdout, /dev/fd/1, or the file it was redirected
 * to): write there, never replace it. */
static bool is_stdout(const char *file)
{
	struct stat a, b;
	return stat(file, &a) == 0 && fstat(STDOUT_FILENO, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static bool is_link(const char *file)
{
	struct stat st;
	return lstat(file, &st) == 0 && S_ISLNK(st.st_mode);
}

/* Whether FILE is something to write into in place (a FIFO, a device) rather than replace. */
static bool write_in_place(const char *file)
{
	struct stat st;
	return stat(file, &st) == 0 && !S_ISREG(st.st_mode);
}

/* The file a symbolic link that points nowhere yet names (its directory resolved), so that
 * the file is created and the link stays one; NULL when FILE is no such link. */
static char *dangling_target(const char *file)
{
	struct stat st;
	char target[4096], *dir, *real, *out = NULL;
	ssize_t n;

	if (lstat(file, &st) < 0 || !S_ISLNK(st.st_mode) ||
	    (n = readlink(file, target, sizeof(target) - 1)) <= 0)
		return NULL;
	target[n] = '\0';
	if (target[0] != '/') {
		char *copy = strdup(file), *full;
		size_t len;
		if (!copy)
			cli_out_of_memory();
		len = strlen(copy) + strlen(target) + 2;
		if (!(full = malloc(len)))
			cli_out_of_memory();
		snprintf(full, len, "%s/%s", dirname(copy), target);
		free(copy);
		snprintf(target, sizeof(target), "%s", full);
		free(full);
	}
	{
		char *copy = strdup(target), *base_copy = strdup(target);
		if (!copy || !base_copy)
			cli_out_of_memory();
		dir = dirname(copy);
		if ((real = realpath(dir, NULL))) {
			const char *base = basename(base_copy);
			size_t len = strlen(real) + strlen(base) + 2;
			if (!(out = malloc(len)))
				cli_out_of_memory();
			snprintf(out, len, "%s/%s", real, base);
			free(real);
		}
		free(copy);
		free(base_copy);
	}
	if (!out) /* the link's directory does not exist: say so, never replace the link */
		out = strdup(target);
	if (!out)
		cli_out_of_memory();
	return out;
}

typedef struct blob_cli {
	const char *output; /* -o FILE, resolved; NULL: standard output */
	bool force;
	char **args;
	int nargs;
	const char *digest; /* the blob's */
	readsrc src;
	rs_descriptor d;
	char *real; /* the file -o names, when it is a symbolic link (owned) */
	char *tmp; /* the partial file beside the output, if any */
	int fd; /* where the blob goes */
	uint64_t have; /* bytes an interrupted run left in tmp */
	bool keep; /* keep tmp for the next run */
} blob_cli;

static int parse_options(blob_cli *b, int argc, char **argv)
{
	const cli_opt opts[] = {
	        {CLI_OPT_STRING, 'o', "output", &b->output, "FILE",
	         "write the blob to FILE (replaced only once the digest is verified; an "
	         "interrupted download is continued by the next run)"},
	        {CLI_OPT_BOOL, 0, "force", &b->force, NULL,
	         "write to standard output even on a terminal"},
	        CLI_OPT_END_MARK,
	};
	return cli_parse(usage, opts, argc, argv, &b->args, &b->nargs);
}

static int check_arguments(blob_cli *b)
{
	if (b->nargs < 1 || b->nargs > 2)
		return cli_usage_error(usage,
		                       b->nargs ? "too many arguments" : "missing IMAGE@DIGEST");
	if (b->output && !*b->output)
		return cli_usage_error(usage, "-o: empty file name");
	/* >&-: descriptor 1 was given /dev/null, where the blob would go with exit 0 (-o
	 * /dev/stdout is a link to it then; -o /dev/null itself is written) */
	if (cli_stdout_closed &&
	    (!b->output || !strcmp(b->output, "-") || (is_stdout(b->output) && is_link(b->output))))
		return cli_usage_error(usage, "standard output is closed: there is nowhere to "
		                              "write the blob (use -o FILE)");
	if (b->output && (!strcmp(b->output, "-") || is_stdout(b->output)))
		b->output = NULL;
	if (b->nargs == 2) {
		const char *at = strrchr(b->args[0], '@');
		b->digest = b->args[1];
		if (at && strchr(at, ':'))
			return cli_usage_error(usage, "%s already names a digest: give DIGEST once",
			                       b->args[0]);
	}
	return 0;
}

/* IMAGE, and the digest it names when DIGEST was not given. */
static int open_source(blob_cli *b)
{
	int rc, error;
	if (!b->output && (rc = readsrc_refuse_tty(usage, "a blob", b->force)))
		return rc;
	if ((rc = readsrc_open(&b->src, b->args[0])))
		return rc;
	if (!b->digest) {
		if (!b->src.reference || !strchr(b->src.reference, ':'))
			return cli_usage_error(usage,
			                       "%s names no blob digest: write IMAGE@DIGEST or "
			                       "IMAGE DIGEST",
			                       b->args[0]);
		b->digest = b->src.reference;
	}
	if (b->src.loc->kind == RS_LOCATION_DOCKER_ARCHIVE) {
		/* a docker archive's layer digests exist once its manifest was made (compressed) */
		rs_buf m = RS_BUF_INIT;
		error = rs_store_manifest_get(b->src.store, b->nargs == 2 ? b->src.reference : NULL,
		                              &m, NULL, NULL);
		rs_buf_dispose(&m);
		if (error < 0)
			return cli_fail(error);
	}
	return 0;
}

/* Where the blob goes: a partial file beside FILE (renamed once verified), a FIFO or device
 * written in place, or standard output. */
static int open_output(blob_cli *b)
{
	/* a file size limit (ulimit -f) is a write error (EFBIG) that names the file and removes
	 * the temporary file, as a full disk is, not a death that leaves it behind */
	signal(SIGXFSZ, SIG_IGN);
	b->d.digest = (char *)b->digest;
	b->d.size = -1;
	b->d.media_type = (char *)"application/octet-stream";
	if (!b->output) {
		b->fd = STDOUT_FILENO;
		return 0;
	}
	if (write_in_place(b->output)) {
		if ((b->fd = open(b->output, O_WRONLY | O_CLOEXEC)) < 0) {
			/* a directory is the caller's mistake; a device we may not write is not */
			if (errno == EISDIR) {
				cli_error("-o %s: is a directory (give a file name)", b->output);
				return CLI_EXIT_USAGE;
			}
			cli_error("%s: %s", b->output, strerror(errno));
			return CLI_EXIT_ERROR;
		}
		return 0;
	}
	/* a symbolic link stays one: the file it points to is replaced */
	if (!(b->real = realpath(b->output, NULL)))
		b->real = dangling_target(b->output);
	if (b->real)
		b->output = b->real;
	if ((b->fd = open_partial(&b->tmp, b->output, b->digest, &b->have)) < 0)
		return CLI_EXIT_ERROR;
	blob_tmp = b->tmp;
	blob_tmp_fd = b->fd;
	catch_signals();
	return 0;
}

/* The blob into fd, continuing what an interrupted run received when it still belongs to it
 * (else once more from zero). *error: the library's answer. Returns an exit code. */
static int stream_blob(blob_cli *b, int *error)
{
	for (;;) {
		rs_reader *prefix = NULL;
		int pfd = -1;
		if (b->have) {
			/* what an interrupted run received: hashed again, then continued */
			cli_note("%s: continuing from byte %llu of %s", b->output,
			         (unsigned long long)b->have, b->tmp);
			if ((pfd = open(b->tmp, O_RDONLY | O_CLOEXEC)) < 0 ||
			    rs_reader_from_fd(&prefix, pfd, (int64_t)b->have) < 0) {
				cli_error("%s: %s", b->tmp, strerror(errno));
				if (pfd >= 0 && !prefix)
					close(pfd);
				return CLI_EXIT_ERROR;
			}
		}
		*error = rs_store_blob_stream_from(b->src.store, &b->d, prefix, b->have, fd_sink,
		                                   &b->fd, NULL);
		rs_reader_free(prefix);
		if (!b->have || (*error != RS_EDIGEST && *error != RS_EFORMAT &&
		                 !(*error < 0 && rs_error_last()->http_status == 416)))
			return 0;
		/* the bytes kept do not belong to this blob after all: once more from zero */
		cli_warn("%s: the %llu bytes kept in %s do not continue this blob (%s); starting "
		         "again from zero",
		         b->output, (unsigned long long)b->have, b->tmp, rs_error_last()->message);
		rs_error_clear();
		b->have = 0;
		if (partial_restart(b->fd, b->tmp) < 0)
			return CLI_EXIT_ERROR;
	}
}

/* The partial file, verified, renamed into place. */
static int commit_partial(blob_cli *b)
{
	blob_tmp_fd = -1;
	if (fsync(b->fd) < 0 || close(b->fd) < 0) {
		b->fd = -1;
		cli_error("%s: %s", b->tmp, strerror(errno));
		return CLI_EXIT_ERROR;
	}
	b->fd = -1;
	if (rename(b->tmp, b->output) < 0) {
		blob_tmp = NULL;
		cli_error("%s: cannot rename into place: %s", b->output, strerror(errno));
		return CLI_EXIT_ERROR;
	}
	blob_tmp = NULL;
	free(b->tmp);
	b->tmp = NULL;
	return 0;
}

/* After the stream: the partial file kept for the next run, an error, or the file in place. */
static int finish(blob_cli *b, int error)
{
	/* the download stopped (network, timeout): keep what came for the next run; a write error
	 * (a full disk, ulimit -f) removes it, as a wrong blob does */
	if (error < 0 && b->tmp && error != RS_EDIGEST && error != RS_EFORMAT &&
	    error != RS_EUSER) {
		struct stat st;
		if (fstat(b->fd, &st) == 0 && st.st_size > 0) {
			/* kept for the next run: the same command continues where this one stopped
			 */
			int rc = cli_fail(error);
			b->keep = true;
			cli_note("%s: the %lld bytes received are kept in %s; run the same command "
			         "again to continue",
			         b->output, (long long)st.st_size, b->tmp);
			return rc;
		}
	}
	if (error == RS_EUSER) {
		cli_error("%s: write error: %s", b->output ? b->output : "standard output",
		          strerror(errno));
		return CLI_EXIT_ERROR;
	}
	if (error < 0)
		return cli_fail(error);
	return b->tmp ? commit_partial(b) : 0;
}

static void blob_dispose(blob_cli *b)
{
	if (b->fd >= 0 && b->fd != STDOUT_FILENO)
		close(b->fd);
	blob_tmp_fd = -1;
	if (b->tmp) {
		if (!b->keep)
			unlink(b->tmp);
		blob_tmp = NULL;
		free(b->tmp);
	}
	free(b->real);
	readsrc_close(&b->src);
	free(b->args);
}

int cmd_blob(int argc, char **argv)
{
	blob_cli b;
	int rc, error = 0;

	memset(&b, 0, sizeof(b));
	b.fd = -1;
	if ((rc = parse_options(&b, argc, argv)))
		return rc;
	if (!(rc = check_arguments(&b)) && !(rc = open_source(&b)) && !(rc = open_output(&b)) &&
	    !(rc = stream_blob(&b, &error)))
		rc = finish(&b, error);
	blob_dispose(&b);
	return rc;
}
