#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <termios.h>
#include <unistd.h>

cli_globals cli_global = {.retries = -1};
static char *cli_password;

const cli_opt cli_global_opts[] = {
        {CLI_OPT_STRING, 'u', "username", &cli_global.username, "USER",
         "authenticate as USER (password from --password-stdin or a prompt)"},
        {CLI_OPT_BOOL, 0, "password-stdin", &cli_global.password_stdin, NULL,
         "read the password or token from standard input"},
        {CLI_OPT_STRING, 0, "ca-cert", &cli_global.ca_cert, "FILE",
         "trust the CA certificates in FILE (PEM) besides the system ones"},
        {CLI_OPT_BOOL, 0, "insecure", &cli_global.insecure, NULL,
         "allow plain HTTP and unverified TLS for every registry"},
        {CLI_OPT_INT, 0, "retries", &cli_global.retries, "N",
         "retry failed requests N times (default 3), with backoff"},
        {CLI_OPT_DURATION, 0, "timeout", &cli_global.timeout_ms, "DURATION",
         "give up after DURATION (500ms, 30s, 2m, 1h) in all"},
        {CLI_OPT_BOOL, 'v', "verbose", &cli_global.verbose, NULL,
         "trace HTTP requests to stderr (credentials redacted)"},
        {CLI_OPT_BOOL, 'q', "quiet", &cli_global.quiet, NULL, "print nothing but errors on stderr"},
        {CLI_OPT_BOOL, 'h', "help", &cli_global.help, NULL, "show help and exit"},
        {CLI_OPT_BOOL, 0, "version", &cli_global.version, NULL, "show the version and exit"},
        CLI_OPT_END_MARK,
};

static void vmsg(const char *prefix, const char *fmt, va_list ap) RS_PRINTF(2, 0);
static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
	fflush(stdout);
	fputs("regship: ", stderr);
	if (prefix)
		fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(NULL, fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	if (cli_global.quiet)
		return;
	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void cli_note(const char *fmt, ...)
{
	va_list ap;
	if (cli_global.quiet)
		return;
	va_start(ap, fmt);
	vmsg(NULL, fmt, ap);
	va_end(ap);
}

int cli_exit_code(int error)
{
	const rs_error *e = rs_error_last();
	int status = e && e->code == error ? e->http_status : 0;

	if (status == 429 && error != RS_EAUTH)
		return CLI_EXIT_RATELIMIT;
	switch (error) {
	case RS_OK:
		return CLI_EXIT_OK;
	case RS_EINVAL:
		/* a registry's 400 is its refusal, not a usage error */
		return status ? CLI_EXIT_ERROR : CLI_EXIT_USAGE;
	case RS_ENOTFOUND:
		/* 3 only when a registry says so (a 404, or a tag or platform absent from what it
		 * listed); an image absent from a local layout or archive is an error (1), a local
		 * path that does not exist an invalid argument (2, RS_EINVAL) */
		return e && e->code == error && e->remote ? CLI_EXIT_NOTFOUND : CLI_EXIT_ERROR;
	case RS_EAUTH:
		return CLI_EXIT_AUTH;
	case RS_EEXISTS:
		return CLI_EXIT_CONFLICT;
	default:
		return CLI_EXIT_ERROR;
	}
}

int cli_fail(int error)
{
	const rs_error *e = rs_error_last();
	if (error == RS_ENOMEM) {
		/* said without allocating: memory is what ran out */
		fflush(stdout);
		fputs("regship: out of memory\n", stderr);
		return CLI_EXIT_ERROR;
	}
	if (rs_error_is_set() && e->message[0]) {
		/* the library escapes what servers said; this makes sure of it */
		rs_buf safe = RS_BUF_INIT;
		rs_text_escape(&safe, e->message, 0);
		cli_error("%s", safe.ptr);
		rs_buf_dispose(&safe);
	} else {
		cli_error("%s", rs_strerror(error));
	}
	return cli_exit_code(error);
}

int cli_fail_remote(int error)
{
	int code = cli_fail(error);
	return error == RS_ENOTFOUND ? CLI_EXIT_NOTFOUND : code;
}

static void json_put(const char *s)
{
	rs_buf b = RS_BUF_INIT;
	rs_json_quote(&b, s);
	fputs(b.ptr, stdout);
	rs_buf_dispose(&b);
}

/* {"<name_key>": name, "<list_key>": [ */
static void listing_open(const cli_listing *l)
{
	fputc('{', stdout);
	json_put(l->name_key);
	fputs(": ", stdout);
	json_put(l->name);
	fputs(", ", stdout);
	json_put(l->list_key);
	fputs(": [", stdout);
}

int cli_listing_add(const char *item, void *payload)
{
	cli_listing *l = payload;
	if (l->json) {
		if (!l->count)
			listing_open(l);
		else
			fputs(", ", stdout);
		json_put(item);
	} else {
		rs_buf b = RS_BUF_INIT;
		rs_text_escape(&b, item, RS_ESCAPE_BACKSLASH);
		fputs(b.ptr, stdout);
		fputc('\n', stdout);
		rs_buf_dispose(&b);
	}
	l->count++;
	return ferror(stdout) ? -1 : 0;
}

int cli_listing_page(void *payload)
{
	(void)payload;
	return fflush(stdout) ? -1 : 0;
}

void cli_listing_end(cli_listing *l)
{
	if (!l->json)
		return;
	if (!l->count)
		listing_open(l);
	fputs("]}\n", stdout);
}

static void opt_names(char *buf, size_t n, const cli_opt *o)
{
	if (o->sname && o->arg)
		snprintf(buf, n, "-%c, --%s %s", o->sname, o->lname, o->arg);
	else if (o->sname)
		snprintf(buf, n, "-%c, --%s", o->sname, o->lname);
	else if (o->arg)
		snprintf(buf, n, "    --%s %s", o->lname, o->arg);
	else
		snprintf(buf, n, "    --%s", o->lname);
}

void cli_print_opts(FILE *out, const cli_opt *opts)
{
	char names[128];
	for (const cli_opt *o = opts; o->type != CLI_OPT_END; o++) {
		opt_names(names, sizeof(names), o);
		if (strlen(names) > 26)
			fprintf(out, "    %s\n    %-26s  %s\n", names, "", o->help);
		else
			fprintf(out, "    %-26s  %s\n", names, o->help);
	}
}

void cli_help(FILE *out, const char *const *usage, const cli_opt *opts)
{
	for (int i = 0; usage[i]; i++)
		fprintf(out, "%s %s\n", i ? "   or:" : "usage:", usage[i]);
	if (opts && opts->type != CLI_OPT_END) {
		fputs("\noptions:\n", out);
		cli_print_opts(out, opts);
	}
	fputs("\nglobal options (-u, --ca-cert, --insecure, --timeout, -v, -q, ...): see "
	      "'regship -h'\n",
	      out);
}

/* "regship VERB ..." -> VERB (into buf); "" for the top-level usage. */
static const char *usage_verb(char *buf, size_t n, const char *const *usage)
{
	const char *p = usage && usage[0] ? usage[0] : "";
	size_t len;
	buf[0] = '\0';
	if (strncmp(p, "regship ", 8))
		return buf;
	p += 8;
	len = strcspn(p, " ");
	if (*p == '[' || *p == '<' || len >= n)
		return buf;
	snprintf(buf, n, "%.*s", (int)len, p);
	return buf;
}

int cli_usage_error(const char *const *usage, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(NULL, fmt, ap);
	va_end(ap);
	if (usage)
		for (int i = 0; usage[i]; i++)
			fprintf(stderr, "%s %s\n", i ? "   or:" : "usage:", usage[i]);
	{
		char verb[32];
		if (*usage_verb(verb, sizeof(verb), usage))
			fprintf(stderr,
			        "try 'regship %s -h' or 'man regship-%s' for more information\n",
			        verb, verb);
		else
			fputs("try 'regship -h' or 'man regship' for more information\n", stderr);
	}
	return CLI_EXIT_USAGE;
}

static const cli_opt *find_long(const cli_opt *opts, const char *name, size_t len)
{
	for (const cli_opt *o = opts; o && o->type != CLI_OPT_END; o++)
		if (strlen(o->lname) == len && !strncmp(o->lname, name, len))
			return o;
	for (const cli_opt *o = cli_global_opts; o->type != CLI_OPT_END; o++)
		if (strlen(o->lname) == len && !strncmp(o->lname, name, len))
			return o;
	return NULL;
}

static const cli_opt *find_short(const cli_opt *opts, char c)
{
	for (const cli_opt *o = opts; o && o->type != CLI_OPT_END; o++)
		if (o->sname == c)
			return o;
	for (const cli_opt *o = cli_global_opts; o->type != CLI_OPT_END; o++)
		if (o->sname == c)
			return o;
	return NULL;
}

_Noreturn void cli_out_of_memory(void)
{
	fflush(stdout);
	fputs("regship: out of memory\n", stderr);
	_exit(CLI_EXIT_ERROR);
}

int cli_parse_duration(const char *text, long *ms)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"", 1000}};
	char *end;
	double v;
	size_t digits;
	if (!text)
		return -1;
	/* DIGITS[.DIGITS][UNIT]: no signs, exponents or hex that strtod would take */
	digits = strspn(text, "0123456789");
	if (!digits || (text[digits] == '.' && !strspn(text + digits + 1, "0123456789")))
		return -1;
	if (text[digits] == '.')
		digits += 1 + strspn(text + digits + 1, "0123456789");
	if (strspn(text + digits, "0123456789.+-eExXpP"))
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		v *= units[i].ms;
		if (!(v >= 1 && v <= 30.0 * 24 * 3600 * 1000))
			return -1;
		*ms = (long)v;
		return 0;
	}
	return -1;
}

int cli_set_value(const char *const *usage, const cli_opt *o, const char *value)
{
	switch (o->type) {
	case CLI_OPT_DURATION:
		if (cli_parse_duration(value, (long *)o->dest) < 0)
			return cli_usage_error(usage,
			                       "option --%s: invalid duration \"%s\" (use a number "
			                       "with ms, s, m or h, e.g. 500ms, 30s, 2m)",
			                       o->lname, value);
		return 0;
	case CLI_OPT_STRING:
		*(const char **)o->dest = value;
		return 0;
	case CLI_OPT_INT: {
		char *end;
		long v;
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || *end || !*value || v < 0 || v > 1000000)
			return cli_usage_error(usage, "option --%s: invalid number \"%s\"",
			                       o->lname, value);
		*(int *)o->dest = (int)v;
		return 0;
	}
	case CLI_OPT_LIST: {
		cli_list *l = o->dest;
		const char **items = realloc(l->items, (l->count + 1) * sizeof(*l->items));
		if (!items)
			cli_out_of_memory();
		l->items = items;
		l->items[l->count++] = value;
		return 0;
	}
	default:
		*(bool *)o->dest = true;
		return 0;
	}
}

int cli_parse(const char *const *usage, const cli_opt *opts, int argc, char **argv, char ***args,
              int *nargs)
{
	char **pos = calloc((size_t)argc + 1, sizeof(char *));
	int n = 0, rc = 0;
	bool only_args = false;
	if (!pos)
		cli_out_of_memory();
	for (int i = 0; i < argc; i++) {
		char *a = argv[i];
		if (only_args || a[0] != '-' || !a[1]) {
			pos[n++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_args = true;
			continue;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const cli_opt *o = find_long(opts, name, len);
			if (!o) {
				rc = cli_usage_error(usage, "unknown option \"--%.*s\"", (int)len,
				                     name);
				goto done;
			}
			if (o->type == CLI_OPT_BOOL) {
				if (eq) {
					rc = cli_usage_error(usage, "option --%s takes no value",
					                     o->lname);
					goto done;
				}
				*(bool *)o->dest = true;
				continue;
			}
			if (eq) {
				if ((rc = cli_set_value(usage, o, eq + 1)))
					goto done;
			} else if (i + 1 < argc) {
				if ((rc = cli_set_value(usage, o, argv[++i])))
					goto done;
			} else {
				rc = cli_usage_error(usage, "option --%s needs a value (%s)",
				                     o->lname, o->arg);
				goto done;
			}
			continue;
		}
		/* short options, possibly bundled: -qv, -uUSER, -u USER */
		for (char *p = a + 1; *p; p++) {
			const cli_opt *o = find_short(opts, *p);
			if (!o) {
				rc = cli_usage_error(usage, "unknown option \"-%c\"", *p);
				goto done;
			}
			if (o->type == CLI_OPT_BOOL) {
				*(bool *)o->dest = true;
				continue;
			}
			if (p[1]) {
				if ((rc = cli_set_value(usage, o, p + 1)))
					goto done;
			} else if (i + 1 < argc) {
				if ((rc = cli_set_value(usage, o, argv[++i])))
					goto done;
			} else {
				rc = cli_usage_error(usage, "option -%c needs a value (%s)", *p,
				                     o->arg);
				goto done;
			}
			break;
		}
	}
	if (cli_global.help) {
		cli_help(stdout, usage, opts);
		rc = -1;
		goto done;
	}
	/* --ca-cert is checked at start, whatever the command reaches later */
	if ((rc = cli_check_ca_cert()))
		goto done;
	if (cli_global.username && !*cli_global.username) {
		rc = cli_usage_error(usage, "-u/--username: empty user name");
		goto done;
	}
	*args = pos;
	*nargs = n;
	return 0;
done:
	free(pos);
	*args = NULL;
	*nargs = 0;
	return rc;
}

/* the signals that end regship at a prompt, and that writes which must not be cut in half
 * hold (cli_hold_signals) */
static const int held_signals[] = {SIGINT, SIGTERM, SIGHUP};

/* the terminal's settings while a secret is read with the echo off, put back by a signal that
 * ends regship at the prompt (Ctrl-C) so the shell is not left without echo */
static struct termios prompt_saved;
static volatile sig_atomic_t prompt_quiet;
static struct sigaction prompt_sa; /* prompt_signal's, restarting the read once continued */

/* the signals that end regship at a prompt (Ctrl-\ too), and Ctrl-Z, which stops it there */
static const int prompt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
#define PROMPT_SIGNALS (sizeof(prompt_signals) / sizeof(prompt_signals[0]))

static void prompt_signal(int sig)
{
	int saved_errno = errno;
	sigset_t set;
	if (prompt_quiet)
		tcsetattr(STDIN_FILENO, TCSANOW, &prompt_saved);
	if (sig != SIGTSTP)
		(void)!write(STDERR_FILENO, "\n", 1);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	/* Ctrl-Z: stopped with the echo on (the shell's terminal as it was); continued (fg):
	 * the echo goes off again for the rest of the answer */
	sigaction(sig, &prompt_sa, NULL);
	if (prompt_quiet) {
		struct termios t = prompt_saved;
		t.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
	}
	errno = saved_errno;
}

char *cli_read_line(const char *prompt, bool from_stdin, bool echo)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct sigaction old_sa[PROMPT_SIGNALS];
	bool tty = !from_stdin && isatty(STDIN_FILENO);
	bool quiet = false;
	if (!from_stdin && !tty)
		return NULL;
	if (tty && !echo && tcgetattr(STDIN_FILENO, &prompt_saved) == 0) {
		struct termios t = prompt_saved;
		memset(&prompt_sa, 0, sizeof(prompt_sa));
		sigemptyset(&prompt_sa.sa_mask);
		prompt_sa.sa_handler = prompt_signal;
		prompt_sa.sa_flags = SA_RESTART;
		for (size_t i = 0; i < PROMPT_SIGNALS; i++)
			sigaction(prompt_signals[i], &prompt_sa, &old_sa[i]);
		t.c_lflag &= ~(tcflag_t)ECHO;
		/* the echo goes off (and what was typed ahead is dropped, as getpass(3) does)
		 * before the prompt is shown: what is typed once the prompt is there is kept */
		prompt_quiet = 1;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
		quiet = true;
	}
	if (tty) {
		fprintf(stderr, "%s", prompt);
		fflush(stderr);
	}
	n = getline(&line, &cap, stdin);
	if (quiet) {
		tcsetattr(STDIN_FILENO, TCSANOW, &prompt_saved);
		prompt_quiet = 0;
		for (size_t i = 0; i < PROMPT_SIGNALS; i++)
			sigaction(prompt_signals[i], &old_sa[i], NULL);
		fputc('\n', stderr);
	}
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

char *cli_read_secret(const char *prompt, bool from_stdin)
{
	return cli_read_line(prompt, from_stdin, false);
}

/* ---- --timeout ---- */

static char watchdog_msg[128];
static size_t watchdog_len;

static void watchdog_fire(int sig)
{
	(void)sig;
	if (write(STDERR_FILENO, watchdog_msg, watchdog_len) < 0)
		watchdog_len = 0;
	_exit(CLI_EXIT_ERROR);
}

/* "500ms", "2s", "1.5s", "2m", "1m30s" */
static void format_duration(char *buf, size_t n, long ms)
{
	long s = ms / 1000;
	if (ms < 1000)
		snprintf(buf, n, "%ldms", ms);
	else if (ms % 1000)
		snprintf(buf, n, "%ld.%03lds", s, ms % 1000);
	else if (s < 60 || s % 60)
		snprintf(buf, n, s < 60 ? "%lds" : "%ldm%02lds", s < 60 ? s : s / 60, s % 60);
	else
		snprintf(buf, n, "%ldm", s / 60);
	if (ms % 1000 && ms >= 1000) {
		/* 1.500s -> 1.5s */
		size_t len = strlen(buf);
		while (buf[len - 2] == '0') {
			buf[len - 2] = 's';
			buf[--len] = '\0';
		}
	}
}

/*
 * The library ends its requests, retries and helpers at the deadline itself, with a message
 * that says what was waited for. Anything else (a stuck file system, a name lookup curl cannot
 * interrupt) meets this watchdog two seconds later: the same message, exit 1.
 */
static void watchdog_start(long ms)
{
	static bool started;
	struct sigaction sa;
	struct itimerval it = {{0, 0}, {0, 0}};
	char dur[32];
	long fire = ms + 2000;
	if (started || ms <= 0)
		return;
	started = true;
	format_duration(dur, sizeof(dur), ms);
	snprintf(watchdog_msg, sizeof(watchdog_msg), "regship: timed out after %s\n", dur);
	watchdog_len = strlen(watchdog_msg);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watchdog_fire;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	it.it_value.tv_sec = fire / 1000;
	it.it_value.tv_usec = (fire % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

/* A pipe or FIFO (--ca-cert <(...)) can be read once: its bytes go to an unlinked temporary
 * file, named /dev/fd/N, which the library reads as often as it needs. */
static int ca_cert_keep(const char *file, const char *text, size_t len)
{
	static char name[32];
	FILE *t = tmpfile();
	if (!t || fwrite(text, 1, len, t) != len || fflush(t) != 0) {
		int e = errno;
		if (t)
			fclose(t);
		return cli_usage_error(NULL, "--ca-cert %s: cannot keep a copy: %s", file,
		                       strerror(e));
	}
	rewind(t);
	(void)fcntl(fileno(t), F_SETFD, FD_CLOEXEC);
	snprintf(name, sizeof(name), "/dev/fd/%d", fileno(t));
	cli_global.ca_cert = name; /* t stays open until regship exits */
	return 0;
}

int cli_check_ca_cert(void)
{
	/* the library reads at most 16 MiB of a CA file */
	static const size_t max = 16u << 20;
	static int checked = -1;
	const char *file = cli_global.ca_cert;
	FILE *f;
	char *text;
	size_t len = 0, n;
	bool regular;
	struct stat st;
	if (!file || checked >= 0)
		return checked > 0 ? checked : 0;
	if (!*file)
		return checked = cli_usage_error(NULL, "--ca-cert: empty file name");
	if (stat(file, &st) < 0)
		return checked = cli_usage_error(NULL, "--ca-cert %s: %s", file, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return checked = cli_usage_error(
		               NULL, "--ca-cert %s: is a directory (give a PEM file)", file);
	regular = S_ISREG(st.st_mode);
	if (!(f = fopen(file, "r")))
		return checked = cli_usage_error(NULL, "--ca-cert %s: %s", file, strerror(errno));
	if (!(text = malloc(max + 1)))
		cli_out_of_memory();
	while (len <= max && (n = fread(text + len, 1, max + 1 - len, f)) > 0)
		len += n;
	fclose(f);
	if (len > max) {
		free(text);
		return checked = cli_usage_error(NULL, "--ca-cert %s: larger than 16 MiB", file);
	}
	if (!rs_ca_pem_has_certificate(text, len)) {
		free(text);
		return checked = cli_usage_error(
		               NULL,
		               "--ca-cert %s: holds no PEM certificate (\"-----BEGIN "
		               "CERTIFICATE-----\"); convert a DER file with 'openssl x509 "
		               "-inform der -in FILE -out FILE.pem'",
		               file);
	}
	checked = regular ? 0 : ca_cert_keep(file, text, len);
	free(text);
	return checked;
}

/* -v: the library's trace lines, one per line on stderr */
static void cli_trace(const char *line, void *payload)
{
	(void)payload;
	fprintf(stderr, "%s\n", line);
}

void cli_client_defaults(rs_client_options *opts)
{
	opts->insecure = cli_global.insecure;
	opts->verbose = cli_global.verbose;
	opts->trace = cli_trace;
	opts->certs_d = getenv("REGSHIP_CERTS_D");
	opts->retries = cli_global.retries;
	/* the command line reads what docker reads; the library reads nothing unasked */
	opts->use_docker_config = 1;
	opts->use_registry_config = 1;
	opts->use_certs_d = 1;
}

int cli_client(rs_client **out)
{
	rs_client_options opts = RS_CLIENT_OPTIONS_INIT;
	int error;
	if ((error = cli_check_ca_cert()))
		return error;
	if (cli_global.password_stdin && !cli_global.username)
		return cli_usage_error(NULL, "--password-stdin needs -u/--username");
	if (cli_global.username && !cli_password) {
		cli_password = cli_read_secret("Password: ", cli_global.password_stdin);
		if (!cli_password) {
			if (cli_global.password_stdin)
				cli_error("--password-stdin: nothing could be read from standard "
				          "input");
			else
				cli_error("-u %s: no password: use --password-stdin when standard "
				          "input is not a terminal",
				          cli_global.username);
			return CLI_EXIT_USAGE;
		}
	}
	opts.username = cli_global.username;
	opts.password = cli_password;
	opts.ca_cert = cli_global.ca_cert;
	cli_client_defaults(&opts);
	opts.timeout_ms = cli_global.timeout_ms;
	{
		/* per-request bounds, for tests and unusual links (documented in regship(1)) */
		static const char *const vars[] = {"REGSHIP_CONNECT_TIMEOUT",
		                                   "REGSHIP_STALL_TIMEOUT",
		                                   "REGSHIP_HELPER_TIMEOUT"};
		long *dest[] = {&opts.connect_timeout_ms, &opts.stall_timeout_ms,
		                &opts.helper_timeout_ms};
		for (size_t i = 0; i < 3; i++) {
			const char *v = getenv(vars[i]);
			if (v && *v && cli_parse_duration(v, dest[i]) < 0) {
				cli_error("%s: invalid duration \"%s\" (use a number with ms, s, m "
				          "or h, e.g. 500ms, 30s, 2m)",
				          vars[i], v);
				return CLI_EXIT_USAGE;
			}
		}
	}
	watchdog_start(cli_global.timeout_ms);
	/* a bad --ca-cert file is the library's RS_EINVAL (a usage error), naming the file */
	if ((error = rs_client_new(out, &opts)) < 0)
		return cli_fail(error);
	return 0;
}

const char *cli_registry_text(const char *text)
{
	return !strncasecmp(text, "docker://", 9) ? text + 9 : text;
}

int cli_registry_arg(const char *const *usage, const char *text, bool no_path)
{
	const char *s = cli_registry_text(text), *slash;
	if (!strncasecmp(s, "https://", 8))
		s += 8;
	else if (!strncasecmp(s, "http://", 7))
		s += 7;
	slash = strchr(s, '/');
	if (no_path && slash && slash[1]) {
		rs_buf shown = RS_BUF_INIT;
		int rc;
		rs_text_escape(&shown, text, 0);
		rc = cli_usage_error(usage,
		                     "\"%s\" names a repository, not a registry: give the "
		                     "registry alone (%.*s); 'regship tags %s' lists a "
		                     "repository's tags",
		                     shown.ptr, (int)(slash - s), s, shown.ptr);
		rs_buf_dispose(&shown);
		return rc;
	}
	return 0;
}

/* "oci:DIR", "oci-archive:FILE", "docker-archive:FILE": the transport prefix, else NULL (and
 * for "oci:5000/app", the registry "oci" on port 5000). */
static const char *local_transport(const char *text)
{
	static const char *const local[] = {"oci:", "oci-archive:", "docker-archive:"};
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		size_t n = strlen(local[i]), digits;
		if (strncmp(text, local[i], n))
			continue;
		digits = strspn(text + n, "0123456789");
		if (digits && (text[n + digits] == '/' || !text[n + digits]))
			return NULL;
		return local[i];
	}
	return NULL;
}

int cli_ref(rs_ref **out, const char *text, unsigned int flags)
{
	const char *local = local_transport(text);
	int error;
	/* a local image where a registry's is needed: say so, not "port number missing" */
	if (local) {
		rs_buf shown = RS_BUF_INIT;
		rs_text_escape(&shown, text, 0);
		cli_error(
		        "\"%s\" is a local image (%s): this command works with registries only "
		        "(REGISTRY/REPOSITORY[:TAG]); inspect, digest, config, copy and push read "
		        "local images",
		        shown.ptr ? shown.ptr : "", local);
		rs_buf_dispose(&shown);
		return CLI_EXIT_USAGE;
	}
	/* "http://host/repo": the library says what to write instead */
	if ((error = rs_location_check_scheme(text)) < 0 ||
	    (error = rs_ref_parse(out, text, flags)) < 0)
		return cli_fail(error);
	return 0;
}

int cli_one_ref(const char *const *usage, char **args, int nargs, const char *what,
                unsigned int flags, rs_ref **ref, rs_client **client)
{
	int rc;
	if (nargs != 1)
		return cli_usage_error(usage, nargs ? "too many arguments" : "missing %s", what);
	if ((rc = cli_ref(ref, args[0], flags)))
		return rc;
	return client ? cli_client(client) : 0;
}

void cli_json_field(const char *key, const char *value, bool comma)
{
	rs_buf q = RS_BUF_INIT;
	if (value)
		rs_json_quote(&q, value);
	printf("%s\"%s\": %s", comma ? ", " : "", key, value ? q.ptr : "null");
	rs_buf_dispose(&q);
}

static bool template_known(const char *const *fields, const char *name, size_t len)
{
	for (size_t i = 0; fields[i]; i++) {
		size_t n = strlen(fields[i]);
		if (n && fields[i][n - 1] == '.' ? len > n && !strncmp(fields[i], name, n)
		                                 : n == len && !strncmp(fields[i], name, len))
			return true;
	}
	return false;
}

int cli_template(const char *const *usage, const char *tpl, const char *const *fields,
                 cli_template_get get, void *payload)
{
	const char *p = tpl;
	while (*p) {
		const char *open = strstr(p, "{{"), *close, *name, *end;
		rs_buf b = RS_BUF_INIT;
		if (!open) {
			if (get) {
				rs_text_escape(&b, p, 0);
				fputs(b.ptr ? b.ptr : "", stdout);
				rs_buf_dispose(&b);
			}
			break;
		}
		if (get)
			fprintf(stdout, "%.*s", (int)(open - p), p);
		if (!(close = strstr(open, "}}")))
			return cli_usage_error(usage, "--format: \"{{\" without \"}}\" in \"%s\"",
			                       tpl);
		name = open + 2;
		while (*name == ' ')
			name++;
		end = close;
		while (end > name && end[-1] == ' ')
			end--;
		if (*name != '.' || !template_known(fields, name + 1, (size_t)(end - name - 1))) {
			char known[512];
			size_t o = 0;
			known[0] = '\0';
			for (size_t i = 0; fields[i] && o < sizeof(known); i++) {
				size_t n = strlen(fields[i]);
				o += (size_t)snprintf(known + o, sizeof(known) - o, "%s.%s%s",
				                      i ? " " : "", fields[i],
				                      n && fields[i][n - 1] == '.' ? "KEY" : "");
			}
			return cli_usage_error(usage,
			                       "--format: unknown field \"%.*s\" (known: %s)",
			                       (int)(end - name), name, known);
		}
		if (get) {
			char key[256], *owned = NULL;
			const char *v;
			snprintf(key, sizeof(key), "%.*s", (int)(end - name - 1), name + 1);
			v = get(key, &owned, payload);
			rs_text_escape(&b, v ? v : "", 0);
			fputs(b.ptr ? b.ptr : "", stdout);
			rs_buf_dispose(&b);
			free(owned);
		}
		p = close + 2;
	}
	if (get)
		fputc('\n', stdout);
	return 0;
}

int cli_finish(int code)
{
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "regship: write failure on standard output: %s\n", strerror(errno));
		return code ? code : CLI_EXIT_ERROR;
	}
	if (cli_password) {
		memset(cli_password, 0, strlen(cli_password));
		free(cli_password);
		cli_password = NULL;
	}
	return code;
}

/* ---- signals held during writes that must not be cut in half ----------------------------- */

static volatile sig_atomic_t held_signal;

static void hold_signal(int sig)
{
	static const char msg[] = "regship: finishing the writes under way first (a second "
	                          "signal ends regship at once, leaving them half-done)\n";
	if (held_signal) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	held_signal = sig;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
}

void cli_hold_signals(cli_held *h)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = hold_signal;
	held_signal = 0;
	for (size_t i = 0; i < 3; i++)
		sigaction(held_signals[i], &sa, &h->old[i]);
}

int cli_release_signals(cli_held *h)
{
	for (size_t i = 0; i < 3; i++)
		sigaction(held_signals[i], &h->old[i], NULL);
	return held_signal;
}

const char *cli_signal_name(int sig)
{
	return sig == SIGINT    ? "SIGINT"
	       : sig == SIGTERM ? "SIGTERM"
	       : sig == SIGHUP  ? "SIGHUP"
	                        : "a signal";
}
