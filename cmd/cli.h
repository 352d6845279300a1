/* The regship command line: option tables, messages, exit codes. Uses only <regship.h>. */
#ifndef CLI_H
#define CLI_H

#include <regship.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

/* Exit codes, the same for every verb (documented in regship(1)). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_NOTFOUND 3
#define CLI_EXIT_AUTH 4
#define CLI_EXIT_RATELIMIT 5 /* 429 still answered after the retries */
#define CLI_EXIT_PARTIAL 6 /* a multi-image verb finished with some items failed */
#define CLI_EXIT_CONFLICT 7 /* no-clobber, an immutable tag */
#define CLI_EXIT_BASE_MOVED 8 /* check-base only: the image is not on its base's current layers */

typedef enum {
	CLI_OPT_BOOL,
	CLI_OPT_STRING,
	CLI_OPT_INT,
	CLI_OPT_LIST,
	CLI_OPT_DURATION, /* long milliseconds: "500ms", "30s", "2m", "1h"; a bare number is seconds
	                   */
	CLI_OPT_END
} cli_opt_type;

typedef struct cli_list {
	const char **items;
	size_t count;
} cli_list;

typedef struct cli_opt {
	cli_opt_type type;
	char sname; /* short name, or 0 */
	const char *lname; /* long name, without -- */
	void *dest; /* bool*, const char**, int*, cli_list*, long* (duration) */
	const char *arg; /* argument name in help ("FILE"), NULL for booleans */
	const char *help;
} cli_opt;

#define CLI_OPT_END_MARK                                                                           \
	{                                                                                          \
		CLI_OPT_END, 0, NULL, NULL, NULL, NULL                                             \
	}

typedef struct cli_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	unsigned flags; /* CLI_CMD_* */
} cli_command;

/* What the command prints on standard output is its result (a listing, bytes, a script): with
 * standard output closed (regship ... >&-), which standard_fds in main.c hands /dev/null, it
 * refuses to run instead of printing there with exit status 0. */
#define CLI_CMD_PRINTS 1u

/* Global options, accepted before or after the verb. */
typedef struct cli_globals {
	const char *username;
	bool password_stdin;
	const char *ca_cert;
	bool insecure;
	bool verbose;
	bool quiet;
	bool help;
	bool version;
	int retries; /* -1: the library's default */
	long timeout_ms; /* --timeout: bound on the whole command; 0: none */
} cli_globals;

extern cli_globals cli_global;
/* standard output was closed when regship started (regship ... >&-): it is /dev/null now */
extern bool cli_stdout_closed;

/*
 * Registry writes that must not be cut in half (a promotion and its rollback, an untag's
 * placeholder and its delete): the first SIGINT, SIGTERM or SIGHUP is held until
 * cli_release_signals (every request is bounded by the stall and connection bounds); a second
 * one ends regship at once. cli_release_signals returns the held signal, or 0.
 */
typedef struct cli_held {
	struct sigaction old[3];
} cli_held;
void cli_hold_signals(cli_held *h);
int cli_release_signals(cli_held *h);
const char *cli_signal_name(int sig);
extern const cli_opt cli_global_opts[];

/*
 * Parse argv for a verb: its own options plus the global ones, in any order; "--" ends
 * options. Positional arguments are left in args (count in *nargs). Prints the error and
 * returns CLI_EXIT_USAGE on bad options; returns -1 when -h was given (help printed).
 */
int cli_parse(const char *const *usage, const cli_opt *opts, int argc, char **argv, char ***args,
              int *nargs);

/* Store an option's value (string, number, list); prints a usage error and returns
 * CLI_EXIT_USAGE when it does not parse. */
int cli_set_value(const char *const *usage, const cli_opt *o, const char *value);

/* Parse a duration ("500ms", "1.5s", "30s", "2m", "1h"; a bare number is seconds) into
 * milliseconds: 0 when it parses and is positive (at most 30 days), -1 otherwise. */
int cli_parse_duration(const char *text, long *ms);

/* Print "regship: out of memory" and exit 1. */
_Noreturn void cli_out_of_memory(void);

/* Help: usage lines, then the options table, then a pointer to global options. */
void cli_help(FILE *out, const char *const *usage, const cli_opt *opts);
/* The rows of an options table. */
void cli_print_opts(FILE *out, const cli_opt *opts);
/* "usage: ..." to stderr plus the hint, returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *const *usage, const char *fmt, ...) RS_PRINTF(2, 3);

/* Messages to stderr with the "regship: " prefix (curl's errorf/warnf/notef). */
void cli_error(const char *fmt, ...) RS_PRINTF(1, 2);
void cli_warn(const char *fmt, ...) RS_PRINTF(1, 2);
void cli_note(const char *fmt, ...) RS_PRINTF(1, 2); /* silent with --quiet */

/* Print rs_error_last() and return the exit code for a library error. */
int cli_fail(int error);
int cli_exit_code(int error);
/* cli_fail for an error about what a registry served (a platform absent from its index): its
 * RS_ENOTFOUND is exit 3 even without an HTTP status. */
int cli_fail_remote(int error);

/* --ca-cert names a readable file holding a PEM certificate: else a usage error naming it
 * (printed; returns CLI_EXIT_USAGE), 0 when fine or not given. */
int cli_check_ca_cert(void);

/* The client for this command, from the global options (reads --password-stdin). */
int cli_client(rs_client **out);
/* The options every client of the CLI shares: -v traces to stderr, --insecure, --retries, and
 * docker's configuration (config.json, daemon.json, certs.d) turned on. */
void cli_client_defaults(rs_client_options *opts);

/* A REGISTRY argument (catalog, login, logout): TEXT without a leading docker://; with no_path,
 * "host/path" is a usage error (printed, CLI_EXIT_USAGE) instead of being ignored. */
const char *cli_registry_text(const char *text);
int cli_registry_arg(const char *const *usage, const char *text, bool no_path);

/* Parse a reference; prints the error. Returns 0 or an exit code. */
int cli_ref(rs_ref **out, const char *text, unsigned int flags);

/*
 * The one positional argument of a verb (WHAT names it in the usage error), parsed as a
 * reference with cli_ref's flags, then the client for it (skipped when client is NULL).
 * Prints the error; returns 0 or an exit code.
 */
int cli_one_ref(const char *const *usage, char **args, int nargs, const char *what,
                unsigned int flags, rs_ref **ref, rs_client **client);

/*
 * A listing printed as it arrives (tags, catalog): one name per line, escaped (rs_text_escape),
 * or {"<name_key>": name, "<list_key>": [...]} with --json. cli_listing_add has the callback shape
 * of rs_tags_list; cli_listing_end closes the JSON. A listing that fails half-way leaves what was
 * printed, and the JSON unclosed (so that nobody takes it for the whole list).
 */
typedef struct cli_listing {
	bool json;
	const char *name_key, *name, *list_key;
	size_t count;
} cli_listing;
int cli_listing_add(const char *item, void *payload);
int cli_listing_page(void *payload); /* after each page: flush, so that it shows at once */
void cli_listing_end(cli_listing *l);

/*
 * --format TEMPLATE: text with {{.Field}} placeholders (blanks allowed inside the braces) for
 * single values. fields: the names known, NULL-terminated; one ending in '.' takes any suffix
 * ("Labels." for {{.Labels.KEY}}). get NULL: only check the template (an unknown field or an
 * unclosed "{{" is a usage error: printed, CLI_EXIT_USAGE returned). Otherwise print it on
 * stdout with each value (get's answer, escaped; NULL prints nothing; *owned is freed) and a
 * newline.
 */
typedef const char *(*cli_template_get)(const char *name, char **owned, void *payload);
int cli_template(const char *const *usage, const char *tpl, const char *const *fields,
                 cli_template_get get, void *payload);

/* Print `"key": "value"` (value JSON-quoted, null when NULL), after ", " when comma. */
void cli_json_field(const char *key, const char *value, bool comma);

/* Read a line from stdin (from_stdin) or ask on the terminal; NULL when neither can be read. */
char *cli_read_line(const char *prompt, bool from_stdin, bool echo);
/* Read a secret line from stdin (--password-stdin) or the terminal without echo. */
char *cli_read_secret(const char *prompt, bool from_stdin);

/* Finish: flush stdout and report write errors (git's run_builtin). */
int cli_finish(int code);

/* verbs */
int cmd_catalog(int argc, char **argv);
int cmd_digest(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
int cmd_manifest(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_retag(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_tags(int argc, char **argv);
int cmd_untag(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_blob(int argc, char **argv);
int cmd_completion(int argc, char **argv);
int cmd_complete(int argc, char **argv); /* __complete: candidates for the shell scripts */
int cmd_ratelimit(int argc, char **argv);
int cmd_referrers(int argc, char **argv);
int cmd_check_base(int argc, char **argv);

/* The command table (main.c), for help and completion: names, NULL-terminated. */
extern const cli_command cli_commands[];
extern const size_t cli_command_count;

#endif
