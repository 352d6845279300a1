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

/* sorted by name; one line per verb */
const cli_command cli_commands[] = {
        {"blob", cmd_blob, "stream one blob (layer, config) to stdout or a file, verified", 0},
        {"catalog", cmd_catalog, "list the repositories of a registry", CLI_CMD_PRINTS},
        {"check-base", cmd_check_base, "is an image still on its base's current layers? (CI)", 0},
        {"completion", cmd_completion, "print the bash, zsh or fish completion script",
         CLI_CMD_PRINTS},
        {"config", cmd_config, "print an image's config, verified against its digest",
         CLI_CMD_PRINTS},
        {"copy", cmd_copy, "copy images between registries and local stores", 0},
        {"digest", cmd_digest, "print the digest of a manifest (the one a delete needs)",
         CLI_CMD_PRINTS},
        {"inspect", cmd_inspect, "describe an image: digest, platform, config, layers, size",
         CLI_CMD_PRINTS},
        {"login", cmd_login, "check credentials for a registry and store them", 0},
        {"logout", cmd_logout, "remove stored credentials for a registry", 0},
        {"manifest", cmd_manifest, "print a manifest exactly as the registry stores it",
         CLI_CMD_PRINTS},
        {"prune", cmd_prune, "keep the newest N releases of a repository, remove the rest", 0},
        {"pull", cmd_pull, "pull an image from a registry into an OCI layout or docker archive", 0},
        {"push", cmd_push, "push a local image (docker archive, OCI layout) to a registry", 0},
        {"ratelimit", cmd_ratelimit, "show a registry's pull rate limit (RateLimit-* headers)",
         CLI_CMD_PRINTS},
        {"referrers", cmd_referrers,
         "list the signatures, SBOMs and other artifacts attached to an image", CLI_CMD_PRINTS},
        {"retag", cmd_retag, "put a manifest under more tags; promote X.Y.Z to X.Y, X, latest", 0},
        {"rm", cmd_rm, "delete a manifest (and so every tag on it) from a registry", 0},
        {"sync", cmd_sync, "mirror repositories between registries and OCI layout directories", 0},
        {"tags", cmd_tags, "list the tags of a repository", CLI_CMD_PRINTS},
        {"untag", cmd_untag, "remove one tag, keeping the manifest and its other tags", 0},
};
const size_t cli_command_count = sizeof(cli_commands) / sizeof(cli_commands[0]);

/* other names for commands (listed on the "aliases:" line of regship -h) */
static const struct {
	const char *alias, *command;
} aliases[] = {
        {"cp", "copy"},
        {"delete", "rm"},
        {"ls", "tags"},
};

static const char *const main_usage[] = {
        "regship [global options] <command> [options] [arguments]",
        NULL,
};

static void main_help(FILE *out)
{
	fprintf(out, "usage: %s\n\ncommands:\n", main_usage[0]);
	for (size_t i = 0; i < cli_command_count; i++)
		fprintf(out, "    %-10s  %s\n", cli_commands[i].name, cli_commands[i].summary);
	fputs("\n    help [COMMAND]  show this help, or a command's (= regship COMMAND -h)\n"
	      "    version         show the version (= regship --version; --json)\n",
	      out);
	fputs("\naliases:", out);
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		fprintf(out, "%s %s = %s", i ? "," : "", aliases[i].alias, aliases[i].command);
	fputs("\n", out);
	fputs("\nglobal options (before or after the command):\n", out);
	cli_print_opts(out, cli_global_opts);
	fputs("\nexit codes: 0 success, 1 error, 2 usage or invalid argument, 3 not found,\n"
	      "4 authentication or permission denied, 5 rate limited, 6 partial, 7 conflict,\n"
	      "8 the base moved (check-base only).\n"
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

/* Optimal string alignment distance (Damerau-Levenshtein with adjacent transpositions). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[24][24];
	if (la > 22 || lb > 22)
		return 99;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1], v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* The command (or alias) closest to a mistyped one, or NULL when none is close. */
static const char *closest_command(const char *typed)
{
	const char *best = NULL;
	size_t best_d = 99, limit = strlen(typed) <= 3 ? 1 : 2;
	static const char *const extra[] = {"help", "version"};
	size_t na = sizeof(aliases) / sizeof(aliases[0]);
	for (size_t k = 0; k < cli_command_count + na + 2; k++) {
		const char *name = k < cli_command_count ? cli_commands[k].name
		                   : k < cli_command_count + na
		                           ? aliases[k - cli_command_count].alias
		                           : extra[k - cli_command_count - na];
		size_t dist = edit_distance(typed, name);
		if (!strncmp(typed, name, strlen(typed)) && strlen(typed) >= 2)
			dist = 1; /* a prefix: "insp" */
		if (dist < best_d) {
			best_d = dist;
			best = name;
		}
	}
	return best_d <= limit ? best : NULL;
}

static const cli_command *find_command(const char *name)
{
	for (size_t k = 0; k < sizeof(aliases) / sizeof(aliases[0]); k++)
		if (!strcmp(aliases[k].alias, name))
			name = aliases[k].command;
	for (size_t k = 0; k < cli_command_count; k++)
		if (!strcmp(cli_commands[k].name, name))
			return &cli_commands[k];
	return NULL;
}

/* regship version [--json]: the same line as --version, or {"version": ...} */
static int cmd_version(int argc, char **argv)
{
	static const char usage[] = "usage: regship version [--json]";
	if (argc == 1 && (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help"))) {
		printf("%s\n\nShow regship's version (the same as regship --version); --json "
		       "prints\n"
		       "{\"version\": \"X.Y.Z\"}.\n",
		       usage);
		return 0;
	}
	if (argc > 1 || (argc == 1 && strcmp(argv[0], "--json"))) {
		fprintf(stderr, "regship version: unexpected argument '%s'\n%s\n",
		        argv[argc > 1 && !strcmp(argv[0], "--json") ? 1 : 0], usage);
		return CLI_EXIT_USAGE;
	}
	if (argc == 1) {
		printf("{");
		cli_json_field("version", REGSHIP_VERSION, false);
		printf("}\n");
	} else {
		printf("regship %s\n", REGSHIP_VERSION);
	}
	return 0;
}

static int unknown_command(const char *name)
{
	const char *near = closest_command(name);
	if (near)
		return cli_usage_error(NULL, "unknown command \"%s\": did you mean '%s'?", name,
		                       near);
	return cli_usage_error(NULL, "unknown command \"%s\" (see 'regship -h')", name);
}

static void library_shutdown(void)
{
	rs_shutdown();
}

/* The global options before the command: 0 with *next at the command (or argc), else the exit
 * code of a usage error. */
static int parse_globals(int argc, char **argv, int *next)
{
	int i;
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
	*next = i;
	return 0;
}

/* regship help [VERB]: the command list, or VERB -h */
static int cmd_help(const char *verb)
{
	if (verb) {
		char *hargv[] = {(char *)verb, (char *)"-h", NULL};
		const cli_command *c = find_command(verb);
		if (!c)
			return unknown_command(verb);
		(void)c->fn(1, hargv + 1);
		return cli_finish(0);
	}
	main_help(stdout);
	return cli_finish(0);
}

int main(int argc, char **argv)
{
	int i = 1, rc;
	standard_fds();
	protect_secrets();
	/* the character set only: numbers print with a "." in every locale (JSON, sizes, rates),
	 * and start-up reads one locale file instead of a dozen */
	setlocale(LC_CTYPE, "");
	if (rs_init() < 0 || atexit(library_shutdown) != 0)
		return cli_fail(RS_ERROR);
	/* global options before the command */
	if ((rc = parse_globals(argc, argv, &i)))
		return rc;
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
	if (!strcmp(argv[i], "__complete")) /* for the completion scripts; not listed */
		return cli_finish(cmd_complete(argc - i - 1, argv + i + 1));
	if (!strcmp(argv[i], "version"))
		return cli_finish(cmd_version(argc - i - 1, argv + i + 1));
	if (!strcmp(argv[i], "help"))
		return cmd_help(i + 1 < argc ? argv[i + 1] : NULL);
	{
		const cli_command *c = find_command(argv[i]);
		if (c && cli_stdout_closed && (c->flags & CLI_CMD_PRINTS)) {
			fprintf(stderr,
			        "regship: standard output is closed: %s has nowhere to print\n",
			        c->name);
			return CLI_EXIT_USAGE;
		}
		if (c) {
			rc = c->fn(argc - i - 1, argv + i + 1);
			return cli_finish(rc < 0 ? 0 : rc);
		}
	}
	return unknown_command(argv[i]);
}
