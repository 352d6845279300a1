/* regship — command table and dispatch (git's git.c). */
#include "cli.h"
#include "transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

bool cli_stdout_closed;

/* sorted by name */
static const cli_command commands[] = {
        {"catalog", cmd_catalog, "list the repositories of a registry"},
        {"copy", cmd_copy, "copy images between registries and local stores"},
        {"digest", cmd_digest, "print the digest of a manifest (the one a delete needs)"},
        {"login", cmd_login, "check credentials for a registry and store them"},
        {"logout", cmd_logout, "remove stored credentials for a registry"},
        {"manifest", cmd_manifest, "print a manifest exactly as the registry stores it"},
        {"pull", cmd_pull, "pull an image from a registry into an OCI layout or docker archive"},
        {"push", cmd_push, "push a local image (docker archive, OCI layout) to a registry"},
        {"retag", cmd_retag, "put a manifest under more tags; promote X.Y.Z to X.Y, X, latest"},
        {"rm", cmd_rm, "delete a manifest (and so every tag on it) from a registry"},
        {"tags", cmd_tags, "list the tags of a repository"},
        {"untag", cmd_untag, "remove one tag, keeping the manifest and its other tags"},
};

static const char *const main_usage[] = {
        "regship [global options] <command> [options] [arguments]",
        NULL,
};

static void main_help(FILE *out)
{
	fprintf(out, "usage: %s\n\ncommands:\n", main_usage[0]);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "    %-10s  %s\n", commands[i].name, commands[i].summary);
	fputs("\nglobal options (before or after the command):\n", out);
	cli_print_opts(out, cli_global_opts);
	fputs("\nexit codes: 0 success, 1 error, 2 usage or invalid argument, 3 not found,\n"
	      "4 authentication or permission denied.\n"
	      "'regship <command> -h' shows a command's options; 'man regship' has the rest.\n",
	      out);
}

/*
 * Passwords and tokens live in this process's memory: keep them out of core dumps and away
 * from ptrace by other processes of the same user (no dump, /proc/PID/mem closed). Children
 * (credential helpers) start with a core limit of 0 as well.
 */
static void protect_secrets(void)
{
	struct rlimit none = {0, 0};
	prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
	setrlimit(RLIMIT_CORE, &none);
}

/*
 * A standard stream that is closed (regship ... >&-) would be taken by the next file or socket
 * opened (curl's wakeup descriptor, a blob), and an archive on "-" or the reference lines would
 * be written into it: keep descriptors 0-2 taken by /dev/null, and remember a closed stdout.
 */
static void standard_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int n;
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (fd == STDOUT_FILENO)
			cli_stdout_closed = true;
		n = open("/dev/null", fd == STDIN_FILENO ? O_RDONLY : O_WRONLY);
		if (n >= 0 && n != fd) {
			(void)dup2(n, fd);
			close(n);
		}
	}
}

static void library_shutdown(void)
{
	rs_shutdown();
}

int main(int argc, char **argv)
{
	int i, rc;
	standard_fds();
	protect_secrets();
	setlocale(LC_ALL, "");
	if (rs_init() < 0 || atexit(library_shutdown) != 0)
		return cli_fail(RS_ERROR);
	/* global options before the command */
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];
		const cli_opt *found = NULL;
		if (!strcmp(a, "--"))
			break;
		for (const cli_opt *o = cli_global_opts; o->type != CLI_OPT_END; o++) {
			size_t n = strlen(o->lname);
			if ((a[1] == '-' && !strncmp(a + 2, o->lname, n) &&
			     (a[2 + n] == '\0' || a[2 + n] == '=')) ||
			    (a[1] != '-' && o->sname && a[1] == o->sname)) {
				found = o;
				break;
			}
		}
		if (!found)
			return cli_usage_error(main_usage, "unknown global option \"%s\"", a);
		if (found->type == CLI_OPT_BOOL) {
			if (a[1] != '-' && a[2]) {
				/* bundled short booleans: -vq */
				for (const char *p = a + 1; *p; p++) {
					const cli_opt *o2 = NULL;
					for (const cli_opt *o = cli_global_opts;
					     o->type != CLI_OPT_END; o++)
						if (o->sname == *p && o->type == CLI_OPT_BOOL)
							o2 = o;
					if (!o2)
						return cli_usage_error(
						        main_usage, "unknown option \"-%c\"", *p);
					*(bool *)o2->dest = true;
				}
			} else {
				*(bool *)found->dest = true;
			}
			continue;
		}
		{
			const char *value;
			int set;
			if (a[1] == '-' && strchr(a, '='))
				value = strchr(a, '=') + 1;
			else if (a[1] != '-' && a[2])
				value = a + 2;
			else if (i + 1 < argc)
				value = argv[++i];
			else
				return cli_usage_error(main_usage, "option %s needs a value", a);
			if ((set = cli_set_value(main_usage, found, value)))
				return set;
		}
	}
	if (cli_global.version) {
		printf("regship %s\n", REGSHIP_VERSION);
		return cli_finish(0);
	}
	if (i >= argc) {
		if (cli_global.help) {
			main_help(stdout);
			return cli_finish(0);
		}
		main_help(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		if (i + 1 < argc) {
			/* regship help VERB == regship VERB -h */
			char *hargv[] = {argv[i + 1], (char *)"-h", NULL};
			for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
				if (!strcmp(commands[k].name, argv[i + 1]))
					return cli_finish(commands[k].fn(1, hargv + 1) < 0 ? 0 : 0);
			return cli_usage_error(main_usage, "unknown command \"%s\"", argv[i + 1]);
		}
		main_help(stdout);
		return cli_finish(0);
	}
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++) {
		if (!strcmp(commands[k].name, argv[i])) {
			rc = commands[k].fn(argc - i - 1, argv + i + 1);
			return cli_finish(rc < 0 ? 0 : rc);
		}
	}
	return cli_usage_error(main_usage, "unknown command \"%s\" (see 'regship -h')", argv[i]);
}
