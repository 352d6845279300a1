/*
 * regship completion — print the bash, zsh or fish completion script (the files of completions/,
 * which cmake --install puts in the standard directories; tests check they are the same).
 * regship __complete WORD... — the candidates for the last word, one a line, for those scripts:
 * verbs, options (the verb's own and the global ones), transports, local paths, and the tags of
 * the repository being typed ("host/repo:") from the registry, with a short timeout, never
 * prompting for credentials (stored ones are used).
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const usage[] = {"regship completion bash|zsh|fish", NULL};

static const char bash_script[] =
        "# bash completion for regship (regship completion bash)\n"
        "_regship() {\n"
        "\tlocal line=${COMP_LINE:0:COMP_POINT} cur i\n"
        "\tlocal -a words cands\n"
        "\t# whole words as the user wrote them (COMP_WORDS splits oci:DIR at the colon)\n"
        "\tread -ra words <<<\"$line\"\n"
        "\t[[ $line == *[[:space:]] || ${#words[@]} -eq 0 ]] && words+=(\"\")\n"
        "\tcur=${words[${#words[@]} - 1]}\n"
        "\tlocal IFS=$'\\n'\n"
        "\tcands=($(command regship __complete \"${words[@]:1}\" 2>/dev/null))\n"
        "\t# bash replaces only the part after the last word-break character (':' by default)\n"
        "\tif [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then\n"
        "\t\tlocal keep=${cur%\"${cur##*:}\"}\n"
        "\t\tfor i in \"${!cands[@]}\"; do\n"
        "\t\t\tcands[i]=${cands[i]#\"$keep\"}\n"
        "\t\tdone\n"
        "\tfi\n"
        "\tCOMPREPLY=(\"${cands[@]}\")\n"
        "\t# a transport, a directory or \"repository:\" is continued, not ended with a space\n"
        "\tfor i in \"${COMPREPLY[@]}\"; do\n"
        "\t\tif [[ $i == *[:/] ]]; then\n"
        "\t\t\tcompopt -o nospace 2>/dev/null\n"
        "\t\t\tbreak\n"
        "\t\tfi\n"
        "\tdone\n"
        "}\n"
        "complete -F _regship regship\n";

static const char zsh_script[] = "#compdef regship\n"
                                 "# zsh completion for regship (regship completion zsh)\n"
                                 "_regship() {\n"
                                 "\tlocal -a cands cont ends\n"
                                 "\t# the words unquoted (my\\ dir is \"my dir\"); the "
                                 "candidates quoted by compadd\n"
                                 "\tcands=(\"${(@f)$(command regship __complete "
                                 "\"${(@Q)words[2,CURRENT]}\" 2>/dev/null)}\")\n"
                                 "\tcont=(${(M)cands:#*[:/]})\n"
                                 "\tends=(${cands:#*[:/]})\n"
                                 "\t(( ${#cont} )) && compadd -S '' -- \"${cont[@]}\"\n"
                                 "\t(( ${#ends} )) && compadd -- \"${ends[@]}\"\n"
                                 "}\n"
                                 "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n"
                                 "\t_regship \"$@\"\n"
                                 "else\n"
                                 "\tcompdef _regship regship\n"
                                 "fi\n";

static const char fish_script[] = "# fish completion for regship (regship completion fish)\n"
                                  "function __regship_complete\n"
                                  "    set -l tokens (commandline -opc) (commandline -ct)\n"
                                  "    command regship __complete $tokens[2..-1] 2>/dev/null\n"
                                  "end\n"
                                  "complete -c regship -f -a '(__regship_complete)'\n";

int cmd_completion(int argc, char **argv)
{
	const cli_opt opts[] = {CLI_OPT_END_MARK};
	char **args;
	int nargs, rc;
	const char *script = NULL;
	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if (nargs != 1) {
		rc = cli_usage_error(usage, nargs ? "too many arguments" : "missing SHELL");
		goto done;
	}
	if (!strcmp(args[0], "bash"))
		script = bash_script;
	else if (!strcmp(args[0], "zsh"))
		script = zsh_script;
	else if (!strcmp(args[0], "fish"))
		script = fish_script;
	else {
		rc = cli_usage_error(usage, "unknown shell \"%s\" (bash, zsh or fish)", args[0]);
		goto done;
	}
	fputs(script, stdout);
done:
	free(args);
	return rc;
}

/* ---- regship __complete ------------------------------------------------------------------ */

static void offer(const char *cand, const char *cur)
{
	if (!strncmp(cand, cur, strlen(cur)))
		puts(cand);
}

/* A global option that takes a value (so the next word is its value). */
static bool global_takes_value(const char *a)
{
	for (const cli_opt *o = cli_global_opts; o->type != CLI_OPT_END; o++) {
		if (o->type == CLI_OPT_BOOL)
			continue;
		if (a[1] == '-' && !strcmp(a + 2, o->lname))
			return true;
		if (a[1] != '-' && o->sname && a[1] == o->sname && !a[2])
			return true;
	}
	return false;
}

/* The long options `regship VERB -h` lists (its own; the global ones are added by the caller). */
static void verb_options(const char *verb, const char *cur)
{
	int fds[2];
	pid_t pid;
	FILE *f;
	char line[512];
	if (pipe(fds) < 0)
		return;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(fds[1], STDOUT_FILENO);
		if (null >= 0) {
			dup2(null, STDERR_FILENO);
			dup2(null, STDIN_FILENO);
		}
		close(fds[0]);
		close(fds[1]);
		execl("/proc/self/exe", "regship", verb, "-h", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	if ((f = fdopen(fds[0], "r"))) {
		while (fgets(line, sizeof(line), f)) {
			char *p = line + strspn(line, " ");
			char name[128];
			if (!strncmp(p, "-", 1) && p[1] != '-') /* "-a, --all-tags" */
				p = strstr(p, "--") ? strstr(p, "--") : p;
			if (strncmp(p, "--", 2))
				continue;
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, " \n"), p);
			offer(name, cur);
		}
		fclose(f);
	} else {
		close(fds[0]);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Files and directories starting with cur (after prefix, which is printed in front). */
static void paths(const char *prefix, const char *cur)
{
	const char *slash = strrchr(cur, '/');
	char dir[4096], base[256];
	DIR *d;
	struct dirent *e;
	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - cur + 1), cur);
	else
		dir[0] = '\0';
	snprintf(base, sizeof(base), "%s", slash ? slash + 1 : cur);
	if (!(d = opendir(dir[0] ? dir : ".")))
		return;
	while ((e = readdir(d))) {
		char full[8192];
		struct stat st;
		bool is_dir;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (e->d_name[0] == '.' && base[0] != '.')
			continue;
		if (strncmp(e->d_name, base, strlen(base)))
			continue;
		snprintf(full, sizeof(full), "%s%s", dir, e->d_name);
		is_dir = stat(full, &st) == 0 && S_ISDIR(st.st_mode);
		printf("%s%s%s\n", prefix, full, is_dir ? "/" : "");
	}
	closedir(d);
}

typedef struct tag_offer {
	const char *name; /* "host/repo" as typed */
	const char *cur; /* what follows the ':' */
} tag_offer;

static int offer_tag(const char *tag, void *payload)
{
	tag_offer *t = payload;
	if (!strncmp(tag, t->cur, strlen(t->cur)) && !strpbrk(tag, " \t\n\r"))
		printf("%s:%s\n", t->name, tag);
	return 0;
}

/* "host/repo:TAGPREFIX": the repository's tags, bounded in time, never asking for a password */
static void tags(const char *cur)
{
	const char *slash = strrchr(cur, '/'), *colon = slash ? strchr(slash, ':') : NULL;
	char *name;
	rs_ref *ref = NULL;
	rs_client *client = NULL;
	tag_offer t;
	if (!colon)
		return;
	name = strndup(cur, (size_t)(colon - cur));
	if (!name)
		return;
	cli_global.username = NULL;
	cli_global.password_stdin = false;
	cli_global.retries = 0;
	cli_global.timeout_ms = 3000;
	if (rs_ref_parse(&ref, name, RS_REF_NAME_ONLY) == 0 && cli_client(&client) == 0) {
		t.name = name;
		t.cur = colon + 1;
		(void)rs_tags_list(client, ref, offer_tag, &t);
	}
	rs_client_free(client);
	rs_ref_free(ref);
	free(name);
}

static void references(const char *cur)
{
	static const char *const transports[] = {
	        "oci:", "oci-archive:", "docker-archive:", "docker://"};
	const char *slash;
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(transports[i]);
		if (!strncmp(cur, transports[i], n)) {
			char prefix[32];
			snprintf(prefix, sizeof(prefix), "%s", transports[i]);
			paths(prefix, cur + n);
			return;
		}
	}
	if (!strncmp(cur, "docker://", 9)) {
		tags(cur + 9);
		return;
	}
	slash = strrchr(cur, '/');
	if (slash && strchr(slash, ':')) {
		tags(cur);
		return;
	}
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		offer(transports[i], cur);
	paths("", cur);
}

int cmd_complete(int argc, char **argv)
{
	const char *cur = argc ? argv[argc - 1] : "", *verb = NULL;
	int i;
	fflush(stdout);
	for (i = 0; i < argc - 1; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1]) {
			if (!strchr(a, '=') && global_takes_value(a))
				i++;
			continue;
		}
		verb = a;
		break;
	}
	if (cur[0] == '-') {
		if (verb)
			verb_options(verb, cur);
		for (const cli_opt *o = cli_global_opts; o->type != CLI_OPT_END; o++) {
			char name[64];
			snprintf(name, sizeof(name), "--%s", o->lname);
			offer(name, cur);
		}
		return 0;
	}
	if (!verb || !strcmp(verb, "help")) {
		if (verb && i + 1 < argc - 1)
			return 0;
		for (size_t k = 0; k < cli_command_count; k++)
			offer(cli_commands[k].name, cur);
		if (!verb) {
			offer("help", cur);
			offer("version", cur);
		}
		return 0;
	}
	if (!strcmp(verb, "completion")) {
		offer("bash", cur);
		offer("fish", cur);
		offer("zsh", cur);
		return 0;
	}
	if (!strcmp(verb, "version"))
		return 0;
	references(cur);
	return 0;
}
