/*
 * bench/spawn.c — run one command and print its wall time and resource usage.
 *
 *   spawn [-b DIR] [-o FILE] [-e FILE] -- PROGRAM [ARG...]
 *
 * Prints one line on stdout:
 *   wall=SECONDS user=SECONDS sys=SECONDS maxrss=KIB status=N
 * wall is CLOCK_MONOTONIC from just before fork() to the return of wait4(); user, sys and maxrss
 * come from wait4()'s rusage of the child. status is the exit code, or 128 + the signal.
 *
 * Why a C helper: Linux folds the RSS of the image a process replaces at execve() into its
 * ru_maxrss, so a command forked straight from the Python driver would report at least the
 * driver's ~20 MiB. Forked from this small (static) helper, the floor is the helper's few
 * hundred KiB.
 *
 * -b DIR: in the child, enter a private mount namespace and bind-mount DIR over
 *         /var/lib/containers/cache (where skopeo keeps its blob-info cache when run as root).
 * -o/-e:  append the child's stdout/stderr to FILE (default: inherited; stdout then mixes with
 *         the result line, so give -o).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SKOPEO_ROOT_CACHE "/var/lib/containers/cache"

static void die_child(const char *what, const char *arg)
{
	/* the child reports through stderr and a distinctive exit code */
	fprintf(stderr, "spawn: %s %s: %s\n", what, arg, strerror(errno));
	_exit(127);
}

static void redirect(const char *path, int fd)
{
	int f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (f < 0)
		die_child("cannot open", path);
	if (dup2(f, fd) < 0)
		die_child("cannot redirect to", path);
	close(f);
}

static double seconds(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	const char *bind_dir = NULL, *out = NULL, *err = NULL;
	struct timespec t0, t1;
	struct rusage ru;
	int opt, status, code;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+b:o:e:")) != -1) {
		switch (opt) {
		case 'b':
			bind_dir = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'e':
			err = optarg;
			break;
		default:
			fprintf(stderr,
			        "usage: spawn [-b DIR] [-o FILE] [-e FILE] -- PROGRAM [ARG...]\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "spawn: no program given\n");
		return 2;
	}
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "spawn: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		if (out)
			redirect(out, STDOUT_FILENO);
		if (err)
			redirect(err, STDERR_FILENO);
		if (bind_dir) {
			if (unshare(CLONE_NEWNS) < 0)
				die_child("cannot unshare the mount namespace for", bind_dir);
			if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
				die_child("cannot make mounts private for", bind_dir);
			if (mount(bind_dir, SKOPEO_ROOT_CACHE, NULL, MS_BIND, NULL) < 0)
				die_child("cannot bind-mount over " SKOPEO_ROOT_CACHE ":",
				          bind_dir);
		}
		execvp(argv[optind], argv + optind);
		die_child("cannot run", argv[optind]);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "spawn: wait4: %s\n", strerror(errno));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	printf("wall=%.6f user=%.6f sys=%.6f maxrss=%ld status=%d\n",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       seconds(&ru.ru_utime), seconds(&ru.ru_stime), ru.ru_maxrss, code);
	return 0;
}
