#include "transfer.h"
#include "cli_list.h"

#include <regship/copy.h>
#include <regship/copy_tags.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- interruption ----------------------------------------------------------------------- */

static const int transfer_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NSIGNALS (sizeof(transfer_signals) / sizeof(transfer_signals[0]))

/* The first signal cancels the transfer (which then cleans up); a second one ends the process
 * at once, as the signal would have. */
static void on_signal(int sig)
{
	if (rs_cancelled()) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	rs_cancel(sig);
}

typedef transfer_signals_saved saved_signals;

void transfer_signals_catch(saved_signals *saved)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	rs_cancel_reset();
	for (size_t i = 0; i < NSIGNALS; i++)
		sigaction(transfer_signals[i], &sa, &saved->old[i]);
	/* a reader that goes away (regship pull ... docker-archive:- | head) is a write error
	 * that cleans up, not a silent death */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &saved->pipe);
	/* a file size limit (ulimit -f) is a write error (EFBIG, "File too large") that names the
	 * file and cleans up, as a full disk is, not a death that leaves temporaries behind */
	sigaction(SIGXFSZ, &sa, &saved->xfsz);
}

void transfer_signals_restore(const saved_signals *saved)
{
	for (size_t i = 0; i < NSIGNALS; i++)
		sigaction(transfer_signals[i], &saved->old[i], NULL);
	sigaction(SIGPIPE, &saved->pipe, NULL);
	sigaction(SIGXFSZ, &saved->xfsz, NULL);
}

#define signals_catch transfer_signals_catch
#define signals_restore transfer_signals_restore

/* ---- credentials for one side ------------------------------------------------------------- */

/* USER[:PASS] of one side into *user / *pass; the password from standard input, or asked on a
 * terminal, when missing. */
static int creds_side(const char *opt, const char *text, bool from_stdin, const char *stdin_opt,
                      char **user, char **pass, const char *const *usage)
{
	const char *colon;
	if (!text) {
		if (from_stdin)
			return cli_usage_error(usage, "--%s needs --%s USER", stdin_opt, opt);
		return 0;
	}
	colon = strchr(text, ':');
	if (colon == text || !*text)
		return cli_usage_error(usage, "--%s: expected USER[:PASS], with a user name", opt);
	if (colon && from_stdin)
		return cli_usage_error(usage,
		                       "--%s gives a password and --%s reads one: give only one",
		                       opt, stdin_opt);
	*user = colon ? strndup(text, (size_t)(colon - text)) : strdup(text);
	if (!*user)
		cli_out_of_memory();
	if (colon) {
		if (!(*pass = strdup(colon + 1)))
			cli_out_of_memory();
		return 0;
	}
	{
		char prompt[300];
		rs_buf shown = RS_BUF_INIT;
		rs_text_escape(&shown, *user, 0);
		snprintf(prompt, sizeof(prompt), "Password for %s (%s): ", shown.ptr,
		         !strncmp(opt, "src", 3) ? "source" : "destination");
		*pass = cli_read_secret(prompt, from_stdin);
		if (!*pass) {
			int rc;
			if (from_stdin)
				rc = cli_usage_error(usage,
				                     "--%s: nothing could be read from standard "
				                     "input",
				                     stdin_opt);
			else
				rc = cli_usage_error(
				        usage,
				        "--%s %s: no password: write USER:PASS, or use "
				        "--%s when standard input is not a terminal",
				        opt, shown.ptr, stdin_opt);
			rs_buf_dispose(&shown);
			return rc;
		}
		rs_buf_dispose(&shown);
	}
	return 0;
}

int transfer_creds_read(transfer_creds *c, const char *const *usage)
{
	int rc;
	if (c->src_password_stdin && c->dest_password_stdin)
		return cli_usage_error(usage, "--src-password-stdin and --dest-password-stdin "
		                              "exclude each other (standard input is read once): "
		                              "give one password as USER:PASS");
	if ((c->src_password_stdin || c->dest_password_stdin) && cli_global.password_stdin)
		return cli_usage_error(usage,
		                       "--password-stdin and --%s-password-stdin exclude "
		                       "each other (standard input is read once)",
		                       c->src_password_stdin ? "src" : "dest");
	if ((rc = creds_side("src-creds", c->src_creds, c->src_password_stdin, "src-password-stdin",
	                     &c->src_user, &c->src_pass, usage)))
		return rc;
	return creds_side("dest-creds", c->dest_creds, c->dest_password_stdin,
	                  "dest-password-stdin", &c->dest_user, &c->dest_pass, usage);
}

static void wipe(char **s)
{
	if (*s) {
		memset(*s, 0, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void transfer_creds_dispose(transfer_creds *c)
{
	if (!c)
		return;
	wipe(&c->src_user);
	wipe(&c->src_pass);
	wipe(&c->dest_user);
	wipe(&c->dest_pass);
}

int transfer_client(rs_client **out, const char *user, const char *pass, int insecure,
                    const char *ca_cert)
{
	rs_client_options opts = RS_CLIENT_OPTIONS_INIT;
	static const char *const vars[] = {"REGSHIP_CONNECT_TIMEOUT", "REGSHIP_STALL_TIMEOUT",
	                                   "REGSHIP_HELPER_TIMEOUT"};
	long *dest[] = {&opts.connect_timeout_ms, &opts.stall_timeout_ms, &opts.helper_timeout_ms};
	int error, rc;
	*out = NULL;
	/* the checks of the global options (--ca-cert, the bounds) and the --timeout watchdog,
	 * once: a client of the command's own */
	if ((rc = cli_client(out)))
		return rc;
	if (!user && insecure <= 0 && !ca_cert)
		return 0;
	rs_client_free(*out);
	*out = NULL;
	cli_client_defaults(&opts);
	opts.username = user;
	opts.password = user ? pass : NULL;
	opts.ca_cert = ca_cert ? ca_cert : cli_global.ca_cert;
	if (insecure > 0)
		opts.insecure = 1;
	opts.timeout_ms = cli_global.timeout_ms;
	for (size_t i = 0; i < 3; i++) {
		const char *v = getenv(vars[i]);
		if (v && *v)
			cli_parse_duration(v, dest[i]); /* checked by cli_client above */
	}
	if ((error = rs_client_new(out, &opts)) < 0)
		return cli_fail(error);
	return 0;
}

/* An error's exit code; once interrupted, nothing is printed yet (transfer_run says
 * "interrupted" once everything is cleaned up). */
static int transfer_fail(int error)
{
	if (rs_cancelled())
		return 128 + (rs_cancelled() > 0 ? rs_cancelled() : SIGINT);
	return cli_fail(error);
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	default:
		return "a signal";
	}
}

/* Whether a destination writes its archive to our standard output: "-", or a path that is the
 * very FIFO or device standard output is (docker-archive:/dev/stdout). */
static bool writes_stdout(const rs_location *loc)
{
	struct stat a, b;
	if (!loc ||
	    (loc->kind != RS_LOCATION_DOCKER_ARCHIVE && loc->kind != RS_LOCATION_OCI_ARCHIVE))
		return false;
	if (!strcmp(loc->path, "-"))
		return true;
	if (stat(loc->path, &a) < 0 || fstat(STDOUT_FILENO, &b) < 0)
		return false;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Whether the archive would stream into the very file or pipe standard error goes to
 * (docker-archive:- 2>&1 | docker load, docker-archive:/dev/stderr 2>&1 >/dev/null | ...):
 * regship's messages would be mixed into the archive. A regular file named by a path is
 * replaced by a new file, not written in place, and /dev/null takes anything. */
static bool streams_into_stderr(const rs_location *loc)
{
	struct stat a, b;
	if (!loc ||
	    (loc->kind != RS_LOCATION_DOCKER_ARCHIVE && loc->kind != RS_LOCATION_OCI_ARCHIVE))
		return false;
	if (fstat(STDERR_FILENO, &b) < 0)
		return false;
	if (!strcmp(loc->path, "-")) {
		if (fstat(STDOUT_FILENO, &a) < 0)
			return false;
	} else if (stat(loc->path, &a) < 0 || S_ISREG(a.st_mode)) {
		return false;
	}
	return !S_ISCHR(a.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int transfer_check_opts(transfer_opts *t, const char *const *usage)
{
	rs_compression compression;
	if (t->jobs < 1 || t->jobs > 64)
		return cli_usage_error(usage, "--jobs: expected a number from 1 to 64, not %d",
		                       t->jobs);
	if (t->chunk_size) {
		/* the library's parser: digits and a unit only (no strtod: "1e30G", "nan", "inf"
		 * and hex are refused, never converted with undefined behaviour) */
		if (rs_size_parse(&t->chunk_bytes, t->chunk_size) < 0)
			return cli_usage_error(usage, "--chunk-size: %s", rs_error_last()->message);
		if (t->chunk_bytes < 1024)
			return cli_usage_error(usage, "--chunk-size: at least 1K, not \"%s\"",
			                       t->chunk_size);
	}
	if (t->compress && rs_compression_parse(&compression, t->compress) < 0)
		return cli_usage_error(usage, "--compress: %s", rs_error_last()->message);
	if (t->format && strcmp(t->format, "docker") && strcmp(t->format, "oci"))
		return cli_usage_error(usage, "--format: unknown format \"%s\" (docker or oci)",
		                       t->format);
	if (t->compress && !strcmp(t->compress, "zstd") &&
	    !(t->format && !strcmp(t->format, "oci")))
		return cli_usage_error(usage,
		                       "--compress zstd needs --format oci (docker manifests "
		                       "have no zstd layer type)");
	if (t->compress_level &&
	    (t->compress_level < 1 ||
	     t->compress_level > (t->compress && !strcmp(t->compress, "zstd") ? 19 : 9)))
		return cli_usage_error(usage,
		                       "--compress-level: %d is out of range (gzip 1-9, zstd "
		                       "1-19)",
		                       t->compress_level);
	if (t->platform && t->all_platforms)
		return cli_usage_error(usage, "--platform and --all-platforms exclude each other");
	for (size_t i = 0; i < t->mount_from.count; i++)
		if (!*t->mount_from.items[i])
			return cli_usage_error(usage, "--mount-from: empty repository name");
	return progress_mode_parse(&t->mode, t->progress, usage);
}

/* One destination store, shared by every pair that writes to it. */
typedef struct dest_store {
	char *key;
	rs_store *store;
	rs_location *loc;
	cli_strings copied; /* manifest digests already complete in this store */
} dest_store;

typedef struct pair {
	char *src_reference; /* NULL: the source's default */
	char *dest_text; /* location of the destination */
	char *dest_tag; /* the tag to put under (overrides the location's) */
} pair;

/* One image copied, as the output names it. */
typedef struct image {
	char *source; /* the source location with its tag or reference */
	char *dest; /* the destination, as shown */
	char *digest;
	char *repository; /* a registry destination's host/path, else NULL */
	char *tag; /* a registry destination's tag (NULL when it was named by digest) */
	bool local; /* a local destination: it has the image only once committed */
} image;

typedef struct run {
	transfer_opts *t;
	const char *verb;
	const rs_location *src_loc;
	rs_location *dest_loc; /* NULL: the source names its own destinations */
	rs_client *client; /* the source's */
	rs_client *dst_client; /* the destination's: client, unless --dest-creds */
	rs_store *src;
	char *src_reference;
	cli_strings tags; /* the source's tags (--all-tags, a docker archive's RepoTags) */
	rs_docker_archive_options da;
	rs_registry_store_options ro;
	rs_copy_options co;
	rs_platform *platform;
	dest_store *dests;
	size_t ndests;
	pair *pairs;
	size_t npairs;
	progress *prog;
	image *images; /* what was copied, in order (npairs slots) */
	size_t nimages;
	uint64_t bytes_sent;
	rs_copy_result *results;
	size_t nresults;
	FILE *out; /* the reference@digest lines and JSON: stdout, or stderr when stdout carries
	            * an archive */
	size_t nfailed; /* --all-tags --keep-going: images that failed */
	char **failed_src; /* their sources */
	char **failed_msg; /* and why */
} run;

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		cli_out_of_memory();
	return d;
}

static void add_pair(run *r, const char *src_ref, const char *dest_text, const char *tag)
{
	pair *grown = realloc(r->pairs, (r->npairs + 1) * sizeof(*r->pairs));
	if (!grown)
		cli_out_of_memory();
	r->pairs = grown;
	r->pairs[r->npairs].src_reference = src_ref ? xstrdup(src_ref) : NULL;
	r->pairs[r->npairs].dest_text = xstrdup(dest_text);
	r->pairs[r->npairs].dest_tag = tag ? xstrdup(tag) : NULL;
	r->npairs++;
}

/* The tag part of "name:tag" (a docker archive RepoTag), or the text itself. */
static const char *tag_part(const char *s)
{
	const char *slash = strrchr(s, '/'), *colon = strrchr(s, ':');
	if (colon && (!slash || colon > slash))
		return colon + 1;
	return s;
}

static bool is_archive(const rs_location *loc)
{
	return loc->kind == RS_LOCATION_DOCKER_ARCHIVE || loc->kind == RS_LOCATION_OCI_ARCHIVE;
}

/* ---- destinations ------------------------------------------------------------------------- */

/* A registry destination's names: its store's key, the reference written (tag, else the
 * location's tag or digest), how it is shown, its repository. Returns 0 or a library error. */
static int registry_dest_names(const rs_location *loc, const char *tag, rs_buf *key,
                               char **reference, char **display, char **repository)
{
	rs_ref *ref = NULL, *shown = NULL;
	int error;
	if ((error = rs_ref_parse(&ref, loc->reference, 0)) < 0)
		return error;
	if (!(*repository = rs_ref_format_name(ref)))
		cli_out_of_memory();
	rs_json_quote(key, *repository);
	*reference = xstrdup(tag ? tag : rs_ref_identifier(ref));
	if (rs_ref_with_tag(&shown, ref, *reference) == 0 && !ref->digest)
		*display = rs_ref_format(shown);
	else
		*display = rs_ref_format(ref);
	rs_ref_free(shown);
	rs_ref_free(ref);
	if (!*display)
		cli_out_of_memory();
	return 0;
}

/* A local destination's names: its store's key (kind and path), the reference written (tag,
 * else the location's, else none) and how it is shown ("kind:path[:reference]", or
 * "kind:path@digest" as a digest is written). */
static void local_dest_names(const rs_location *loc, const char *tag, rs_buf *key, char **reference,
                             char **display)
{
	const char *kind = rs_location_kind_name(loc->kind);
	const char *written = tag ? tag : loc->reference;
	const char *sep = ":";
	size_t n = strlen(kind) + strlen(loc->path) + (written ? strlen(written) : 0) + 4;
	rs_json_quote(key, kind);
	rs_json_quote(key, loc->path);
	if (written)
		*reference = xstrdup(written);
	if (!(*display = malloc(n)))
		cli_out_of_memory();
	if (!written)
		sep = "";
	else if (rs_digest_check(written) == 0)
		sep = "@";
	snprintf(*display, n, "%s:%s%s%s", kind, loc->path, sep, written ? written : "");
}

/* The store of the destination *loc names (key): the one this run opened already, else a
 * new one, which takes *loc. Returns 0 or a library error. */
static int dest_store_get(run *r, rs_location **loc, const char *key, dest_store **ds)
{
	rs_open_options oo = RS_OPEN_OPTIONS_INIT;
	rs_store *opened = NULL;
	char *ignored = NULL;
	unsigned int flags = RS_STORE_WRITE;
	dest_store *grown;
	int error;
	for (size_t i = 0; i < r->ndests; i++) {
		if (!strcmp(r->dests[i].key, key)) {
			*ds = &r->dests[i];
			return 0;
		}
	}
	oo.client = r->dst_client;
	oo.docker_archive = &r->da;
	oo.registry = &r->ro;
	if (r->t->overwrite)
		flags |= RS_STORE_OVERWRITE;
	error = rs_store_open_location(&opened, &ignored, *loc, flags, &oo);
	free(ignored);
	if (error < 0)
		return error;
	if (!(grown = realloc(r->dests, (r->ndests + 1) * sizeof(*r->dests))))
		cli_out_of_memory();
	r->dests = grown;
	memset(&r->dests[r->ndests], 0, sizeof(r->dests[r->ndests]));
	r->dests[r->ndests].store = opened;
	r->dests[r->ndests].key = xstrdup(key);
	r->dests[r->ndests].loc = *loc;
	*loc = NULL;
	*ds = &r->dests[r->ndests++];
	return 0;
}

/* The destination text names (tag: the one to put under, NULL for the location's): its store,
 * and the reference written there, how it is shown, a registry's repository (owned by the
 * caller; all NULL on failure). Returns an exit code. */
static int open_dest(run *r, const char *text, const char *tag, dest_store **ds, char **reference,
                     char **display, char **repository)
{
	rs_location *loc = NULL;
	rs_buf key = RS_BUF_INIT;
	int error;
	*reference = *display = *repository = NULL;
	if ((error = rs_location_parse(&loc, text)) < 0)
		return transfer_fail(error);
	if (loc->kind == RS_LOCATION_REGISTRY)
		error = registry_dest_names(loc, tag, &key, reference, display, repository);
	else
		local_dest_names(loc, tag, &key, reference, display);
	if (error == 0)
		error = dest_store_get(r, &loc, key.ptr, ds);
	rs_location_free(loc); /* unless the new store took it */
	rs_buf_dispose(&key);
	if (error < 0) {
		free(*reference);
		free(*display);
		free(*repository);
		*reference = *display = *repository = NULL;
		return transfer_fail(error);
	}
	return 0;
}
/* A JSON string, or null for NULL. */
static void json_field(FILE *out, const char *name, const char *value)
{
	rs_buf q = RS_BUF_INIT;
	if (value)
		rs_json_quote(&q, value);
	fprintf(out, ", \"%s\": %s", name, value ? q.ptr : "null");
	rs_buf_dispose(&q);
}

/* One image: source and destination as named, and for a registry destination the field names
 * the other verbs use: repository (host/path), tag (null for a digest), digest. */
static void json_image(run *r, const image *im, bool first)
{
	rs_buf q = RS_BUF_INIT;
	rs_json_quote(&q, im->source);
	fprintf(r->out, "%s{\"source\": %s", first ? "" : ", ", q.ptr);
	rs_buf_dispose(&q);
	json_field(r->out, "destination", im->dest);
	json_field(r->out, "repository", im->repository);
	json_field(r->out, "tag", im->tag);
	json_field(r->out, "digest", im->digest);
	fputs("}", r->out);
}

static void json_blob(FILE *out, const rs_copy_blob *bl, bool first)
{
	rs_buf q = RS_BUF_INIT;
	rs_json_quote(&q, bl->digest);
	fprintf(out, "%s{\"digest\": %s, \"size\": %lld, \"state\": \"%s\", \"bytes_sent\": %llu",
	        first ? "" : ", ", q.ptr, (long long)bl->size, rs_blob_state_name(bl->state),
	        (unsigned long long)bl->bytes_sent);
	rs_buf_dispose(&q);
	if (bl->mounted_from) {
		rs_json_quote(&q, bl->mounted_from);
		fprintf(out, ", \"mounted_from\": %s", q.ptr);
		rs_buf_dispose(&q);
	}
	fputs("}", out);
}

static void print_json(run *r)
{
	rs_buf q = RS_BUF_INIT;
	size_t nblobs = 0;
	FILE *out = r->out;
	fputs("{\"images\": [", out);
	for (size_t i = 0; i < r->nimages; i++)
		json_image(r, &r->images[i], i == 0);
	fputs("], \"blobs\": [", out);
	for (size_t k = 0; k < r->nresults; k++)
		for (size_t i = 0; i < r->results[k].blob_count; i++)
			json_blob(out, &r->results[k].blobs[i], nblobs++ == 0);
	fputs("]", out);
	if (r->nfailed) {
		fputs(", \"failed\": [", out);
		for (size_t i = 0; i < r->nfailed; i++) {
			fprintf(out, "%s{", i ? ", " : "");
			rs_json_quote(&q, r->failed_src[i]);
			fprintf(out, "\"source\": %s", q.ptr);
			rs_buf_dispose(&q);
			json_field(out, "error", r->failed_msg[i]);
			fputs("}", out);
		}
		fputs("]", out);
	}
	fprintf(out, ", \"bytes_sent\": %llu}\n", (unsigned long long)r->bytes_sent);
}

/* How to name the source of a pair in the output: the location, with its tag or reference. */
static char *source_name(const rs_location *loc, const char *reference)
{
	const char *kind = rs_location_kind_name(loc->kind);
	size_t n;
	char *out;
	if (!reference)
		return xstrdup(loc->text);
	if (loc->kind == RS_LOCATION_REGISTRY) {
		/* the text names the image (it ends in ":TAG" or "@DIGEST"); or, with
		 * --all-tags, the repository, and reference the tag. (Not "the tag is somewhere in
		 * the text": tag 1 of 127.0.0.1:5001/team/app was left out.) */
		size_t tl = strlen(loc->text), rl = strlen(reference);
		if (tl > rl && !strcmp(loc->text + tl - rl, reference) &&
		    (loc->text[tl - rl - 1] == ':' || loc->text[tl - rl - 1] == '@'))
			return xstrdup(loc->text);
		n = tl + rl + 2;
		out = malloc(n);
		if (!out)
			cli_out_of_memory();
		snprintf(out, n, "%s%s%s", loc->text, strchr(reference, ':') ? "@" : ":",
		         reference);
		return out;
	}
	n = strlen(kind) + strlen(loc->path) + strlen(reference) + 3;
	out = malloc(n);
	if (!out)
		cli_out_of_memory();
	snprintf(out, n, "%s:%s:%s", kind, loc->path, reference);
	return out;
}

/* A registry destination tag: already at digest (*already), or elsewhere and --no-clobber
 * (RS_EEXISTS, the library's words), or free to write. */
static int tag_check(run *r, dest_store *ds, const char *reference, const char *digest,
                     bool *already)
{
	const rs_ref *repo = rs_store_registry_ref(ds->store);
	rs_ref *ref = NULL;
	char *now = NULL;
	int error;
	*already = false;
	if (!repo || !r->dst_client || !reference || strchr(reference, ':'))
		return 0;
	if ((error = rs_ref_with_tag(&ref, repo, reference)) < 0)
		return error;
	error = rs_registry_manifest_resolve(r->dst_client, ref, &now, NULL, NULL);
	if (error == RS_ENOTFOUND ||
	    (error < 0 && error != RS_EUSER && !r->t->no_clobber && !rs_cancelled())) {
		/* not there; or not readable (the PUT will say what is wrong, if anything) */
		rs_error_clear();
		error = 0;
	} else if (error == 0 && !strcmp(now, digest)) {
		*already = true;
	} else if (error == 0 && r->t->no_clobber) {
		char *name = rs_ref_format(ref);
		error = rs_error_set(RS_EEXISTS,
		                     "%s exists and points at %s, not %s; not overwritten "
		                     "(--no-clobber)",
		                     name ? name : reference, now, digest);
		free(name);
	}
	free(now);
	rs_ref_free(ref);
	return error;
}

/*
 * Another tag of an image this run already copied to the same destination: the blobs are all
 * there, so only the manifest is written (one PUT, no blob checks). *digest stays NULL when the
 * image still has to be copied.
 */
static int retag_if_copied(run *r, dest_store *ds, const char *src_reference, const char *reference,
                           char **digest, bool *already)
{
	rs_buf body = RS_BUF_INIT;
	char *mt = NULL, *d = NULL;
	int error = 0;
	*digest = NULL;
	*already = false;
	if (!ds->copied.count)
		return 0;
	if ((error = rs_store_manifest_get(r->src, src_reference, &body, &mt, &d)) < 0)
		goto done;
	for (size_t i = 0; i < ds->copied.count; i++) {
		if (strcmp(ds->copied.items[i], d))
			continue;
		/* as the copy engine does: the tag read first, kept when already there */
		if ((error = tag_check(r, ds, reference, d, already)) < 0)
			goto done;
		if (!*already && (error = rs_store_manifest_put(ds->store, reference, body.ptr,
		                                                body.size, mt)) < 0)
			goto done;
		*digest = d;
		d = NULL;
		break;
	}
done:
	rs_buf_dispose(&body);
	free(mt);
	free(d);
	return error;
}

static int src_tags(const char *tag, void *payload)
{
	return cli_strings_add(tag, payload);
}

/* ---- --all-tags: every tag at once, through the library's rs_copy_tags() ------------------- */

#ifndef CLI_EXIT_PARTIAL
#define CLI_EXIT_PARTIAL 6 /* --keep-going finished with some images failed */
#endif

typedef struct tags_run {
	run *r;
	rs_copy_tags_item *items;
	const char **src_refs; /* the pairs' */
	char **display, **reference, **repository; /* as open_dest names each pair */
	bool *finished;
	size_t printed; /* every image before this one was reported */
	bool registry; /* the destination is a registry: lines as images complete */
} tags_run;

/* A copy event of image i: plain progress lines name its tag. */
static int tag_event(size_t i, const rs_copy_event *ev, void *payload)
{
	tags_run *a = payload;
	progress_name(a->r->prog, a->r->pairs[i].src_reference);
	return progress_event(ev, a->r->prog);
}

/* The line of an image written, on stdout: "DEST@DIGEST"; a destination named by that digest
 * already ends with it. */
static void image_line(FILE *out, const char *display, const char *digest)
{
	size_t n = strlen(display), d = strlen(digest);
	if (n > d && display[n - d - 1] == '@' && !strcmp(display + n - d, digest))
		fprintf(out, "%s\n", display);
	else
		fprintf(out, "%s@%s\n", display, digest);
}

/* The destination tag already pointed at the image: nothing was written (as retag says it). */
static void already_note(const char *display, const char *digest)
{
	rs_buf name = RS_BUF_INIT;
	rs_text_escape(&name, display, 0);
	cli_note("%s is already at %s: nothing written", name.ptr, digest);
	rs_buf_dispose(&name);
}

/* "regship: DEST: why" for a failed image (nothing once interrupted: transfer_run says so). */
static void tag_failed(const char *display, const rs_copy_tags_item *it)
{
	rs_buf safe = RS_BUF_INIT, name = RS_BUF_INIT;
	if (rs_cancelled())
		return;
	rs_text_escape(&name, display, 0);
	rs_text_escape(&safe, it->detail.message[0] ? it->detail.message : rs_strerror(it->error),
	               0);
	cli_error("%s: %s", name.ptr, safe.ptr);
	rs_buf_dispose(&safe);
	rs_buf_dispose(&name);
}

/* Report images in batch order, as far as they are finished (lines stay in tag order whatever
 * the order they complete in). */
static void tags_report(tags_run *a, bool all)
{
	for (; a->printed < a->r->npairs; a->printed++) {
		size_t i = a->printed;
		const rs_copy_tags_item *it = &a->items[i];
		if (!a->finished[i] && !all)
			break;
		if (!it->attempted)
			continue;
		/* what is drawn stays above the line; the display goes on below it */
		progress_image(a->r->prog, NULL);
		if (it->error < 0)
			tag_failed(a->display[i], it);
		else if (a->registry && !a->r->t->json)
			image_line(a->r->out, a->display[i], it->result.digest);
		if (it->error == 0 && it->result.already && !a->r->t->json)
			already_note(a->display[i], it->result.digest);
	}
	fflush(a->r->out);
}

static void tag_done(size_t index, const rs_copy_tags_item *item, void *payload)
{
	tags_run *a = payload;
	(void)item;
	a->finished[index] = true;
	tags_report(a, false);
}

static int pair_by_tag(const void *a, const void *b)
{
	const pair *x = a, *y = b;
	return strcmp(x->dest_tag ? x->dest_tag : "", y->dest_tag ? y->dest_tag : "");
}

/* What the output says of a pair copied: takes display, digest, repository and reference. */
static void add_image(run *r, const char *src_reference, char *display, char *digest,
                      char *repository, char *reference, bool local)
{
	image *im = &r->images[r->nimages++];
	im->source = source_name(r->src_loc, src_reference);
	im->dest = display;
	im->digest = digest;
	im->repository = repository;
	/* a registry destination's tag (none when it was named by digest) */
	im->tag = repository && reference && !strchr(reference, ':') ? reference : NULL;
	if (!im->tag)
		free(reference);
	im->local = local;
}

/* --all-tags --keep-going: an image that failed, and why. */
static void add_failed(run *r, const char *src_reference, const char *why)
{
	char **src, **msg;
	if (!(src = realloc(r->failed_src, (r->nfailed + 1) * sizeof(char *))))
		cli_out_of_memory();
	r->failed_src = src;
	if (!(msg = realloc(r->failed_msg, (r->nfailed + 1) * sizeof(char *))))
		cli_out_of_memory();
	r->failed_msg = msg;
	r->failed_src[r->nfailed] = source_name(r->src_loc, src_reference);
	r->failed_msg[r->nfailed] = xstrdup(why);
	r->nfailed++;
}

static void tags_run_init(tags_run *a, run *r)
{
	size_t n = r->npairs;
	memset(a, 0, sizeof(*a));
	a->r = r;
	a->items = calloc(n, sizeof(*a->items));
	a->src_refs = calloc(n, sizeof(char *));
	a->display = calloc(n, sizeof(char *));
	a->reference = calloc(n, sizeof(char *));
	a->repository = calloc(n, sizeof(char *));
	a->finished = calloc(n, sizeof(bool));
	if (!a->items || !a->src_refs || !a->display || !a->reference || !a->repository ||
	    !a->finished)
		cli_out_of_memory();
}

static void tags_run_dispose(tags_run *a)
{
	for (size_t i = 0; i < a->r->npairs; i++) {
		rs_copy_tags_item_dispose(&a->items[i]);
		free(a->display[i]);
		free(a->reference[i]);
		free(a->repository[i]);
	}
	free(a->items);
	free(a->src_refs);
	free(a->display);
	free(a->reference);
	free(a->repository);
	free(a->finished);
}

/* The images rs_copy_tags() copied into the output, in order; the failed ones into the
 * failures (the items keep nothing the run took). */
static void tags_collect(tags_run *a)
{
	run *r = a->r;
	for (size_t i = 0; i < r->npairs; i++) {
		rs_copy_tags_item *it = &a->items[i];
		if (it->error < 0 && it->attempted)
			add_failed(r, r->pairs[i].src_reference, it->detail.message);
		if (it->error < 0 || !it->attempted)
			continue;
		add_image(r, r->pairs[i].src_reference, a->display[i], xstrdup(it->result.digest),
		          a->repository[i], a->reference[i], !a->registry);
		a->display[i] = a->repository[i] = a->reference[i] = NULL;
		r->bytes_sent += it->result.bytes_sent;
		r->results[r->nresults++] = it->result;
		memset(&it->result, 0, sizeof(it->result));
	}
}

/*
 * Copy every pair (all to one destination) with rs_copy_tags(), then add the images copied to
 * the output, in order. Returns an exit code: 0 (also when --keep-going went past failures:
 * r->nfailed says so), or the first failure's.
 */
static int copy_all_tags(run *r)
{
	tags_run a;
	rs_copy_tags_options to = RS_COPY_TAGS_OPTIONS_INIT;
	dest_store *ds = NULL;
	int rc = 0, first = 0;

	/* lines, JSON and errors in tag order, whatever order the source lists them in */
	qsort(r->pairs, r->npairs, sizeof(*r->pairs), pair_by_tag);
	tags_run_init(&a, r);
	for (size_t i = 0; i < r->npairs; i++) {
		/* one destination store for all (opened once, by its key) */
		if ((rc = open_dest(r, r->pairs[i].dest_text, r->pairs[i].dest_tag, &ds,
		                    &a.reference[i], &a.display[i], &a.repository[i])))
			goto out;
		a.src_refs[i] = r->pairs[i].src_reference;
	}
	a.registry = ds->loc->kind == RS_LOCATION_REGISTRY;
	to.copy = &r->co;
	to.keep_going = r->t->keep_going;
	to.done = tag_done;
	to.done_payload = &a;
	to.event = tag_event;
	to.event_payload = &a;
	if (rs_copy_tags(ds->store, (const char *const *)a.reference, r->src, a.src_refs, r->npairs,
	                 &to, a.items) < 0)
		first = rs_error_is_set() ? rs_error_last()->code : RS_ERROR;
	tags_report(&a, true);
	tags_collect(&a);
	if (first) {
		/* the first failure's code; with --keep-going, "partial" once something was copied
		 * (each failure was named above) */
		if (rs_cancelled())
			rc = 128 + (rs_cancelled() > 0 ? rs_cancelled() : SIGINT);
		else if (!r->t->keep_going || !r->nimages)
			rc = cli_exit_code(first);
	}
out:
	tags_run_dispose(&a);
	return rc;
}

/* ---- one pair at a time ------------------------------------------------------------------- */

/* The full copy of a pair's image into a destination that does not hold it yet. */
static int copy_image(run *r, dest_store *ds, const pair *p, const char *reference,
                      const char *display, char **digest)
{
	rs_copy_result *res = &r->results[r->nresults];
	int error;
	progress_image(r->prog, p->src_reference);
	if ((error = rs_copy(ds->store, reference, r->src, p->src_reference, &r->co, res)) < 0)
		return error;
	*digest = xstrdup(res->digest);
	if (res->already && !r->t->json) {
		progress_image(r->prog, NULL);
		already_note(display, *digest);
	}
	r->bytes_sent += res->bytes_sent;
	r->nresults++;
	cli_strings_add(*digest, &ds->copied);
	return 0;
}

/* One pair: only the manifest when this run copied its image to the destination already, the
 * full copy otherwise. A registry destination's line is printed at once. Returns an exit
 * code. */
static int copy_pair(run *r, const pair *p)
{
	dest_store *ds = NULL;
	char *reference = NULL, *display = NULL, *digest = NULL, *repository = NULL;
	bool already = false;
	image *im;
	int rc, error;
	if ((rc = open_dest(r, p->dest_text, p->dest_tag, &ds, &reference, &display, &repository)))
		return rc;
	if ((error = retag_if_copied(r, ds, p->src_reference, reference, &digest, &already)) == 0) {
		if (digest && already && !r->t->json) {
			progress_image(r->prog, NULL);
			already_note(display, digest);
		}
		if (!digest) /* not yet in this destination: the full copy */
			error = copy_image(r, ds, p, reference, display, &digest);
	}
	if (error < 0) {
		free(reference);
		free(display);
		free(repository);
		progress_done(r->prog);
		return transfer_fail(error);
	}
	/* a registry has the image now; a local destination only once committed */
	add_image(r, p->src_reference, display, digest, repository, reference,
	          ds->loc->kind != RS_LOCATION_REGISTRY);
	im = &r->images[r->nimages - 1];
	if (!r->t->json && !im->local)
		image_line(r->out, im->dest, im->digest);
	return 0;
}

/* ---- the steps of transfer_run ------------------------------------------------------------ */

static void run_init(run *r, transfer_opts *t, const char *verb, const rs_location *src_loc)
{
	rs_docker_archive_options da = RS_DOCKER_ARCHIVE_OPTIONS_INIT;
	rs_registry_store_options ro = RS_REGISTRY_STORE_OPTIONS_INIT;
	rs_copy_options co = RS_COPY_OPTIONS_INIT;
	memset(r, 0, sizeof(*r));
	r->t = t;
	r->verb = verb;
	r->src_loc = src_loc;
	r->out = stdout;
	r->da = da;
	r->ro = ro;
	r->co = co;
	if (t->compress) /* checked already: the same parse cannot fail here */
		(void)rs_compression_parse(&r->da.compression, t->compress);
	r->da.level = t->compress_level;
	r->da.jobs = (unsigned int)t->jobs;
	if (t->format)
		r->da.format = !strcmp(t->format, "oci") ? RS_MANIFEST_FORMAT_OCI
		                                         : RS_MANIFEST_FORMAT_DOCKER;
	r->ro.chunk_size = t->chunk_bytes;
}

/* DESTINATION against the options, standard output and standard error; where the output goes
 * and the manifest format follow from it. Returns an exit code. */
static int check_destination(run *r, const char *dest_text, bool all_tags, const char *const *usage)
{
	const rs_location *d;
	int error;
	if (r->t->keep_going && !(all_tags && dest_text))
		return cli_usage_error(usage,
		                       "--keep-going applies to --all-tags with a DESTINATION");
	if (dest_text && (error = rs_location_parse(&r->dest_loc, dest_text)) < 0)
		return transfer_fail(error);
	d = r->dest_loc;
	if (r->t->overwrite && (!d || !is_archive(d)))
		return cli_usage_error(usage, "--overwrite applies to docker-archive: and "
		                              "oci-archive: destinations");
	/* stdout carries the archive: what is normally printed there goes to stderr */
	if (cli_stdout_closed && d && !strcmp(d->path, "-") && is_archive(d))
		return cli_usage_error(usage, "standard output is closed: there is nowhere to "
		                              "write the archive");
	if (streams_into_stderr(d))
		return cli_usage_error(usage,
		                       "%s goes where standard error goes, which carries "
		                       "regship's messages: they would corrupt the archive "
		                       "(redirect standard error elsewhere)",
		                       strcmp(d->path, "-") ? d->path : "standard output");
	if (writes_stdout(d))
		r->out = stderr;
	/* an image read from a docker archive into an OCI layout or archive gets an OCI manifest
	 * (what OCI tools expect there), unless --format says otherwise */
	if (!r->t->format && d &&
	    (d->kind == RS_LOCATION_OCI_LAYOUT || d->kind == RS_LOCATION_OCI_ARCHIVE))
		r->da.format = RS_MANIFEST_FORMAT_OCI;
	return 0;
}

/* --platform; a docker archive destination holds one platform: the host's by default. */
static int choose_platform(run *r, const char *const *usage)
{
	int error;
	if (r->t->platform && (error = rs_platform_parse(&r->platform, r->t->platform)) < 0)
		return transfer_fail(error);
	if (!r->dest_loc || r->dest_loc->kind != RS_LOCATION_DOCKER_ARCHIVE)
		return 0;
	if (r->t->all_platforms)
		return cli_usage_error(usage, "a docker archive holds one platform per image: "
		                              "--all-platforms needs an OCI destination");
	if (!r->platform && (error = rs_platform_host(&r->platform)) < 0)
		return transfer_fail(error);
	return 0;
}

/* copy's --src-creds & co.: checked against the locations, read, and a client per side that
 * has credentials of its own. */
static int open_creds_clients(run *r, transfer_creds *c, const char *const *usage)
{
	int rc;
	if (c->src_creds && r->src_loc->kind != RS_LOCATION_REGISTRY)
		return cli_usage_error(usage, "--src-creds: the source is not a registry");
	if (c->dest_creds && (!r->dest_loc || r->dest_loc->kind != RS_LOCATION_REGISTRY))
		return cli_usage_error(usage, "--dest-creds: the destination is not a registry");
	if ((c->src_password_stdin || c->dest_password_stdin) && r->src_loc->path &&
	    !strcmp(r->src_loc->path, "-"))
		return cli_usage_error(usage, "standard input carries the archive: give the "
		                              "password as USER:PASS, or on a terminal");
	if ((rc = transfer_creds_read(c, usage)))
		return rc;
	if ((rc = transfer_client(&r->client, c->src_user, c->src_pass, 0, NULL)))
		return rc;
	/* a side with credentials of its own has a client of its own: the other side never
	 * sees them */
	if (c->src_user || c->dest_user)
		return transfer_client(&r->dst_client, c->dest_user, c->dest_pass, 0, NULL);
	return 0;
}

static int open_clients(run *r, const char *const *usage)
{
	int rc;
	if (r->t->creds)
		rc = open_creds_clients(r, r->t->creds, usage);
	else
		rc = cli_client(&r->client);
	if (rc == 0 && !r->dst_client)
		r->dst_client = r->client;
	return rc;
}

static int open_source(run *r)
{
	rs_open_options oo = RS_OPEN_OPTIONS_INIT;
	int error;
	oo.client = r->client;
	oo.docker_archive = &r->da;
	oo.registry = &r->ro;
	if ((error = rs_store_open_location(&r->src, &r->src_reference, r->src_loc, RS_STORE_READ,
	                                    &oo)) < 0)
		return transfer_fail(error);
	return 0;
}

/* No DESTINATION: a docker archive's image (the one named, or every one) to its RepoTags. */
static int plan_repotags(run *r, bool all_tags, const char *const *usage)
{
	const rs_location *src = r->src_loc;
	int error;
	if (src->kind != RS_LOCATION_DOCKER_ARCHIVE)
		return cli_usage_error(usage, "missing DESTINATION (only a docker archive names "
		                              "its own destinations, in its RepoTags)");
	if (src->reference && !all_tags) {
		add_pair(r, src->reference, src->reference, NULL);
		return 0;
	}
	if ((error = rs_store_tag_list(r->src, src_tags, &r->tags)) < 0)
		return transfer_fail(error);
	if (!r->tags.count) {
		cli_error("%s has no RepoTags to push to: give a DESTINATION", src->path);
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < r->tags.count; i++)
		add_pair(r, r->tags.items[i], r->tags.items[i], NULL);
	return 0;
}

/* --all-tags to DESTINATION, a repository or a local location without a tag: every tag of the
 * source under its own name. */
static int plan_all_tags(run *r, const char *dest_text, const char *const *usage)
{
	const rs_location *dest = r->dest_loc;
	int error;
	if (dest->kind == RS_LOCATION_REGISTRY) {
		rs_ref *check = NULL;
		if ((error = rs_ref_parse(&check, dest->reference, RS_REF_NAME_ONLY)) < 0)
			return cli_usage_error(usage,
			                       "with --all-tags, DESTINATION is a repository "
			                       "without a tag: %s",
			                       rs_error_last()->message);
		rs_ref_free(check);
	} else if (dest->reference) {
		return cli_usage_error(usage, "with --all-tags, DESTINATION takes no tag");
	}
	if ((error = rs_store_tag_list(r->src, src_tags, &r->tags)) < 0)
		return transfer_fail(error);
	if (!r->tags.count) {
		cli_error("%s has no tags", r->src_loc->text);
		return CLI_EXIT_NOTFOUND;
	}
	for (size_t i = 0; i < r->tags.count; i++)
		add_pair(r, r->tags.items[i], dest_text, tag_part(r->tags.items[i]));
	return 0;
}

/* The tag a local destination named without one takes from the source (NULL: none; *owned is
 * freed by the caller): an OCI layout its tag, a docker archive the whole reference as RepoTag
 * (as docker save does). */
static const char *inherited_tag(const run *r, char **owned)
{
	const rs_location *src = r->src_loc, *dest = r->dest_loc;
	const char *sref = r->src_reference;
	*owned = NULL;
	if (dest->kind == RS_LOCATION_REGISTRY || dest->reference || !sref || strchr(sref, '@') ||
	    !strncmp(sref, "sha256:", 7))
		return NULL;
	if (dest->kind == RS_LOCATION_DOCKER_ARCHIVE && src->kind == RS_LOCATION_REGISTRY) {
		rs_ref *parsed = NULL;
		if (rs_ref_parse(&parsed, src->reference, 0) == 0)
			*owned = rs_ref_format(parsed);
		rs_ref_free(parsed);
		return *owned;
	}
	if (dest->kind == RS_LOCATION_DOCKER_ARCHIVE)
		return strchr(sref, '/') ? sref : NULL;
	if (src->kind == RS_LOCATION_OCI_LAYOUT || src->kind == RS_LOCATION_OCI_ARCHIVE)
		return sref; /* an OCI name as it is: localhost/a:v1 */
	return tag_part(sref);
}

/* What goes where: the pairs. Returns an exit code. */
static int plan_pairs(run *r, const char *dest_text, bool all_tags, const char *const *usage)
{
	char *owned = NULL;
	if (!dest_text)
		return plan_repotags(r, all_tags, usage);
	if (all_tags)
		return plan_all_tags(r, dest_text, usage);
	add_pair(r, r->src_reference, dest_text, inherited_tag(r, &owned));
	free(owned);
	return 0;
}

static void set_copy_options(run *r)
{
	transfer_opts *t = r->t;
	rs_copy_options *co = &r->co;
	co->platform = t->all_platforms ? NULL : r->platform;
	co->jobs = (unsigned int)t->jobs;
	co->mount_from = t->mount_from.items;
	co->mount_from_count = t->mount_from.count;
	co->retries = cli_global.retries;
	co->preserve_digests = t->preserve_digests;
	co->mount_cache = 1; /* $XDG_CACHE_HOME/regship/blobs */
	co->no_clobber = t->no_clobber;
	co->referrers = t->referrers;
	co->callback = progress_event;
	co->payload = r->prog;
}

/* Local destinations become visible only now, whole; then their lines, or the JSON. */
static int commit_and_report(run *r)
{
	int error;
	for (size_t i = 0; i < r->ndests; i++)
		if ((error = rs_store_commit(r->dests[i].store)) < 0)
			return transfer_fail(error);
	for (size_t i = 0; i < r->nimages && !r->t->json; i++)
		if (r->images[i].local)
			image_line(r->out, r->images[i].dest, r->images[i].digest);
	if (r->t->json)
		print_json(r);
	return r->nfailed ? CLI_EXIT_PARTIAL : 0;
}

/* Every pair (all at once with --all-tags and a DESTINATION), then the report. */
static int copy_pairs(run *r, bool all_tags)
{
	int rc;
	r->prog = progress_new(r->t->mode, r->verb);
	set_copy_options(r);
	r->images = calloc(r->npairs, sizeof(*r->images));
	r->results = calloc(r->npairs, sizeof(*r->results));
	if (!r->images || !r->results)
		cli_out_of_memory();
	if (all_tags && (rc = copy_all_tags(r))) {
		progress_done(r->prog);
		return rc;
	}
	for (size_t i = 0; i < r->npairs && !all_tags; i++)
		if ((rc = copy_pair(r, &r->pairs[i])))
			return rc;
	progress_done(r->prog);
	return commit_and_report(r);
}

static void run_dispose(run *r)
{
	for (size_t i = 0; i < r->nimages; i++) {
		free(r->images[i].source);
		free(r->images[i].dest);
		free(r->images[i].digest);
		free(r->images[i].repository);
		free(r->images[i].tag);
	}
	free(r->images);
	/* every slot: a failed copy leaves its partial result in the next one */
	for (size_t i = 0; r->results && i < r->npairs; i++)
		rs_copy_result_dispose(&r->results[i]);
	free(r->results);
	for (size_t i = 0; i < r->ndests; i++) {
		rs_store_free(r->dests[i].store);
		rs_location_free(r->dests[i].loc);
		cli_strings_dispose(&r->dests[i].copied);
		free(r->dests[i].key);
	}
	free(r->dests);
	for (size_t i = 0; i < r->npairs; i++) {
		free(r->pairs[i].src_reference);
		free(r->pairs[i].dest_text);
		free(r->pairs[i].dest_tag);
	}
	free(r->pairs);
	for (size_t i = 0; i < r->nfailed; i++) {
		free(r->failed_src[i]);
		free(r->failed_msg[i]);
	}
	free(r->failed_src);
	free(r->failed_msg);
	progress_free(r->prog);
	rs_store_free(r->src);
	free(r->src_reference);
	rs_platform_free(r->platform);
	rs_location_free(r->dest_loc);
	cli_strings_dispose(&r->tags);
	if (r->dst_client != r->client)
		rs_client_free(r->dst_client);
	rs_client_free(r->client);
}

int transfer_run(transfer_opts *t, const char *verb, const rs_location *src_loc,
                 const char *dest_text, bool all_tags, const char *const *usage)
{
	run r;
	saved_signals saved;
	int rc;

	signals_catch(&saved);
	run_init(&r, t, verb, src_loc);
	if (!(rc = check_destination(&r, dest_text, all_tags, usage)) &&
	    !(rc = choose_platform(&r, usage)) && !(rc = open_clients(&r, usage)) &&
	    !(rc = open_source(&r)) && !(rc = plan_pairs(&r, dest_text, all_tags, usage)))
		rc = copy_pairs(&r, all_tags && dest_text);
	run_dispose(&r);
	/* everything temporary is gone by now: say why we stop (a signal that came after
	 * everything was done changes nothing) */
	if (rs_cancelled() && rc != 0) {
		int sig = rs_cancelled() > 0 ? rs_cancelled() : SIGINT;
		cli_error("interrupted by %s: the transfer was cancelled and its temporary files "
		          "removed",
		          signal_name(sig));
		rc = 128 + sig;
	}
	signals_restore(&saved);
	return rc;
}
