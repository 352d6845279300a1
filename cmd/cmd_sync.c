/* regship sync — mirror repositories between registries, or to and from a directory of OCI
 * layouts (one per repository), as skopeo sync does; the library's rs_sync() does the work. */
#include "cli.h"
#include "cli_list.h"
#include "progress.h"
#include "transfer.h"

#include <dirent.h>
#include <errno.h>
#include <regship/sync.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const usage[] = {
        "regship sync [--tag-regex REGEX] [--semver RANGE] [--scoped] [--dry-run] "
        "[--keep-going] [--jobs N] [--progress MODE] [--json] [--src-creds USER[:PASS]] "
        "[--dest-creds USER[:PASS]] [--src-password-stdin | --dest-password-stdin] SOURCE "
        "DESTINATION",
        "regship sync --config FILE.yaml [options] DESTINATION", NULL};

#define MAX_DEPTH 32

/* One source repository and where it goes. */
typedef struct job {
	char *src_display; /* "host/repo" or "oci:DIR" */
	char *dst_display; /* "host/prefix/name" or "oci:DEST/name" */
	char *dst_repository; /* a registry destination's host/path, else NULL */
	char *dst_path; /* a directory destination's layout, else NULL */
	rs_ref *src_ref; /* a registry source, NAME_ONLY */
	char *src_path; /* a layout source */
	size_t client; /* index into clients (registry sources) */
	const char *const *tags; /* filter */
	size_t tag_count;
	const char *tag_regex, *semver;
	char *one_tag; /* SOURCE named one tag or digest */
} job;

typedef struct src_client {
	const char *registry; /* the YAML key, or NULL for SOURCE */
	rs_client *client;
} src_client;

typedef struct sync_cli {
	bool dry_run, keep_going, scoped, json;
	const char *config, *tag_regex, *semver;
	transfer_opts t;
	transfer_creds creds;
	char **args; /* SOURCE DESTINATION, or DESTINATION with --config */
	int nargs;
	rs_sync_config *cfg; /* --config's file */
	transfer_signals_saved saved;
	bool signals; /* caught (saved holds what to put back) */
	job *jobs;
	size_t njobs;
	src_client *clients;
	size_t nclients;
	rs_client *dst_client;
	bool dst_dir; /* the destination is a directory of layouts */
	const char *dest; /* registry prefix or directory */
	progress *prog;
	rs_sync_item *items;
	size_t nitems, printed;
	bool *finished;
	rs_sync_pair *pairs;
	size_t copied, up_to_date, failed, skipped;
	uint64_t bytes;
} sync_cli;

static job *add_job(sync_cli *s)
{
	job *grown = realloc(s->jobs, (s->njobs + 1) * sizeof(*grown));
	if (!grown)
		cli_out_of_memory();
	s->jobs = grown;
	memset(&s->jobs[s->njobs], 0, sizeof(job));
	return &s->jobs[s->njobs++];
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		cli_out_of_memory();
	return d;
}

static char *join(const char *a, const char *sep, const char *b)
{
	size_t n = strlen(a) + strlen(sep) + strlen(b) + 1;
	char *out = malloc(n);
	if (!out)
		cli_out_of_memory();
	snprintf(out, n, "%s%s%s", a, sep, b);
	return out;
}

/* "oci:DIR", "dir:DIR", an existing directory, or a path written as one (/..., ./..., ../...):
 * the directory; NULL for a registry. */
static const char *dir_of(const char *text, bool must_exist)
{
	struct stat st;
	if (!strncmp(text, "oci:", 4))
		return text + 4;
	if (!strncmp(text, "dir:", 4))
		return text + 4;
	if (!strncmp(text, "docker://", 9))
		return NULL;
	if (stat(text, &st) == 0 && S_ISDIR(st.st_mode))
		return text;
	if (!must_exist && (text[0] == '/' || !strncmp(text, "./", 2) || !strncmp(text, "../", 3)))
		return text;
	return NULL;
}

static bool is_layout(const char *dir)
{
	char *p = join(dir, "/", "oci-layout");
	struct stat st;
	bool yes = stat(p, &st) == 0 && S_ISREG(st.st_mode);
	free(p);
	return yes;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directories being walked, innermost first: a link back to one of them is a loop. */
typedef struct walk_up {
	dev_t dev;
	ino_t ino;
	const struct walk_up *up;
} walk_up;

/* Every layout under root/rel (rel "" at the top), in name order, to MAX_DEPTH levels; a
 * layout is not searched further. A symbolic link to a layout is a layout; a link to another
 * directory is not walked (one to "/", "..", or out of root). A directory reached twice (a
 * bind mount of a parent) is skipped: its layouts are listed once. */
static int find_layouts(sync_cli *s, const char *root, const char *rel, int depth,
                        const walk_up *up)
{
	char *dir = *rel ? join(root, "/", rel) : xstrdup(root);
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;
	struct stat here;
	walk_up self;
	memset(&here, 0, sizeof(here));
	if (stat(dir, &here) == 0) {
		for (const walk_up *a = up; a; a = a->up) {
			if (a->dev == here.st_dev && a->ino == here.st_ino) {
				free(dir);
				return 0;
			}
		}
	}
	self.dev = here.st_dev;
	self.ino = here.st_ino;
	self.up = up;
	if (depth > MAX_DEPTH) {
		cli_error("%s: directories nested deeper than %d levels", dir, MAX_DEPTH);
		free(dir);
		return CLI_EXIT_USAGE;
	}
	if (!(d = opendir(dir))) {
		cli_error("%s: cannot be read: %s", dir, strerror(errno));
		free(dir);
		return CLI_EXIT_USAGE;
	}
	while ((e = readdir(d)) != NULL) {
		char **grown;
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "blobs"))
			continue;
		if (!(grown = realloc(names, (n + 1) * sizeof(char *))))
			cli_out_of_memory();
		names = grown;
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(char *), by_name);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *sub = *rel ? join(rel, "/", names[i]) : xstrdup(names[i]);
		char *full = join(root, "/", sub);
		struct stat st, lst;
		/* a symbolic link is taken when it names a layout; a linked directory that is
		 * none is not walked (a planted link to / or elsewhere would list what is there) */
		bool link = lstat(full, &lst) == 0 && S_ISLNK(lst.st_mode);
		if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (is_layout(full)) {
				job *j = add_job(s);
				j->src_path = full;
				full = NULL;
				j->src_display = join("oci:", "", j->src_path);
				j->dst_display = sub; /* the name, for now */
				sub = NULL;
			} else if (!link) {
				rc = find_layouts(s, root, sub, depth + 1, &self);
			}
		}
		free(full);
		free(sub);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir);
	return rc;
}

/* The exit status of a failed item, from the whole error kept (cli_exit_code reads whether a
 * registry said "not found", its 400 or 429, from the thread's last error, which is gone). */
static int item_exit_code(const rs_error *e)
{
	if (e->http_status == 429 && e->code != RS_EAUTH)
		return CLI_EXIT_RATELIMIT;
	if (e->code == RS_ENOTFOUND)
		return e->remote ? CLI_EXIT_NOTFOUND : CLI_EXIT_ERROR;
	if (e->code == RS_EINVAL && e->http_status)
		return CLI_EXIT_ERROR;
	return cli_exit_code(e->code);
}

/* A registry source repository (host/path, NAME_ONLY) with its naming. */
static int add_registry_job(sync_cli *s, const char *text, size_t client, const char *one_tag)
{
	job *j = add_job(s);
	char *name;
	if (cli_ref(&j->src_ref, text, RS_REF_NAME_ONLY))
		return CLI_EXIT_USAGE;
	name = rs_ref_format_name(j->src_ref);
	if (!name)
		cli_out_of_memory();
	j->src_display = name;
	j->dst_display = xstrdup(name); /* the name, for now */
	j->client = client;
	if (one_tag)
		j->one_tag = xstrdup(one_tag);
	return 0;
}

/* SOURCE: a registry repository (all tags, or the one named) or a directory of layouts. */
static int plan_source(sync_cli *s, const char *text)
{
	const char *dir = dir_of(text, true);
	if (dir) {
		size_t before = s->njobs;
		int rc;
		if (is_layout(dir)) {
			/* one layout: the repository named by its directory */
			job *j = add_job(s);
			const char *base = strrchr(dir, '/');
			char *trimmed = xstrdup(dir);
			size_t len = strlen(trimmed);
			while (len > 1 && trimmed[len - 1] == '/')
				trimmed[--len] = '\0';
			base = strrchr(trimmed, '/');
			j->src_path = xstrdup(dir);
			j->src_display = join("oci:", "", dir);
			j->dst_display = xstrdup(base ? base + 1 : trimmed);
			free(trimmed);
			return 0;
		}
		if ((rc = find_layouts(s, dir, "", 0, NULL)))
			return rc;
		if (s->njobs == before) {
			cli_error("%s holds no OCI layout (a directory with an oci-layout file)",
			          dir);
			return CLI_EXIT_USAGE; /* a local path, not a registry's answer */
		}
		return 0;
	}
	if (text[0] == '/' || !strncmp(text, "./", 2) || !strncmp(text, "../", 3)) {
		/* a path (no registry reference starts so) that is no directory */
		struct stat st;
		cli_error("%s: %s", text,
		          stat(text, &st) < 0 ? strerror(errno) : "not a directory of OCI layouts");
		return CLI_EXIT_USAGE;
	}
	{
		const char *t = strncmp(text, "docker://", 9) ? text : text + 9;
		rs_ref *full = NULL;
		int rc;
		if ((rc = rs_location_check_scheme(t)) < 0)
			return cli_fail(rc);
		/* host/repo: every tag; host/repo:tag or @digest: that one */
		if (rs_ref_parse(&full, t, RS_REF_NAME_ONLY) == 0) {
			rs_ref_free(full);
			return add_registry_job(s, t, 0, NULL);
		}
		rs_error_clear();
		if ((rc = cli_ref(&full, t, 0)))
			return rc;
		{
			char *name = rs_ref_format_name(full);
			if (!name)
				cli_out_of_memory();
			rc = add_registry_job(s, name, 0, rs_ref_identifier(full));
			free(name);
		}
		rs_ref_free(full);
		return rc;
	}
}

/* The YAML file: a job per repository entry, a client per registry. */
static int plan_config(sync_cli *s, rs_sync_config **out)
{
	rs_sync_config *cfg = NULL;
	int error = rs_sync_config_load(&cfg, s->config);
	if (error < 0) {
		cli_fail(error);
		return error == RS_ENOMEM ? CLI_EXIT_ERROR : CLI_EXIT_USAGE;
	}
	*out = cfg;
	if (!cfg->registry_count) {
		cli_error("%s: no registries", s->config);
		return CLI_EXIT_USAGE;
	}
	s->clients = calloc(cfg->registry_count, sizeof(*s->clients));
	if (!s->clients)
		cli_out_of_memory();
	s->nclients = cfg->registry_count;
	for (size_t i = 0; i < cfg->registry_count; i++) {
		const rs_sync_registry *reg = &cfg->registries[i];
		s->clients[i].registry = reg->name;
		for (size_t k = 0; k < reg->repo_count; k++) {
			const rs_sync_repo *repo = &reg->repos[k];
			char *text = join(reg->name, "/", repo->name);
			int rc = add_registry_job(s, text, i, NULL);
			free(text);
			if (rc)
				return rc;
			s->jobs[s->njobs - 1].tags = (const char *const *)repo->tags;
			s->jobs[s->njobs - 1].tag_count = repo->tag_count;
			s->jobs[s->njobs - 1].tag_regex = repo->tag_regex;
			s->jobs[s->njobs - 1].semver = repo->semver;
		}
	}
	return 0;
}

/* cert-dir: the CA certificates it holds (ca.crt, else its only *.crt file). */
static int cert_dir_ca(const char *dir, char **ca)
{
	DIR *d;
	struct dirent *e;
	size_t found = 0;
	char *path = join(dir, "/", "ca.crt");
	*ca = NULL;
	if (access(path, R_OK) == 0) {
		*ca = path;
		return 0;
	}
	free(path);
	if (!(d = opendir(dir))) {
		cli_error("cert-dir %s: cannot be read: %s", dir, strerror(errno));
		return CLI_EXIT_USAGE;
	}
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n > 4 && !strcmp(e->d_name + n - 4, ".crt")) {
			found++;
			free(*ca);
			*ca = join(dir, "/", e->d_name);
		}
	}
	closedir(d);
	if (found > 1) {
		free(*ca);
		*ca = NULL;
		cli_error("cert-dir %s: several .crt files: name the CA bundle ca.crt", dir);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static int open_clients(sync_cli *s, const rs_sync_config *cfg)
{
	int rc;
	if (!cfg) {
		s->clients = calloc(1, sizeof(*s->clients));
		if (!s->clients)
			cli_out_of_memory();
		s->nclients = 1;
	}
	for (size_t i = 0; i < s->nclients; i++) {
		const rs_sync_registry *reg = cfg ? &cfg->registries[i] : NULL;
		const char *user = s->creds.src_user, *pass = s->creds.src_pass;
		char *ca = NULL;
		bool used = !cfg && s->njobs && s->jobs[0].src_ref;
		for (size_t k = 0; k < s->njobs && !used; k++)
			used = s->jobs[k].src_ref && s->jobs[k].client == i;
		if (!used)
			continue;
		if (reg && reg->username) {
			/* the file's credentials for its registry win over --src-creds */
			user = reg->username;
			pass = reg->password;
		}
		if (reg && reg->cert_dir && (rc = cert_dir_ca(reg->cert_dir, &ca)))
			return rc;
		rc = transfer_client(&s->clients[i].client, user, pass,
		                     reg && reg->tls_verify == 0 ? 1 : 0, ca);
		free(ca);
		if (rc)
			return rc;
	}
	if (!s->dst_dir)
		return transfer_client(&s->dst_client, s->creds.dest_user, s->creds.dest_pass, 0,
		                       NULL);
	return 0;
}

/* The layout sync makes under DESTINATION (dest/name, a name of the source's) is written only
 * there: a symbolic link planted at it, or at a directory of it below dest, is refused. */
static int dest_link_check(const char *dest, const char *name)
{
	size_t n = strlen(dest);
	char *p;
	int rc = 0;
	if (strncmp(name, dest, n))
		return 0;
	p = xstrdup(name);
	for (char *c = p + n + (p[n] == '/');; c++) {
		struct stat st;
		char was = *c;
		if (was && was != '/')
			continue;
		*c = '\0';
		if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode)) {
			cli_error("%s is a symbolic link: sync writes only inside %s; refusing", p,
			          dest);
			rc = CLI_EXIT_USAGE;
			break;
		}
		*c = was;
		if (!was)
			break;
	}
	free(p);
	return rc;
}

/* Names and stores of every job; pairs for rs_sync. */
static int open_stores(sync_cli *s)
{
	int error;
	s->pairs = calloc(s->njobs ? s->njobs : 1, sizeof(*s->pairs));
	if (!s->pairs)
		cli_out_of_memory();
	for (size_t i = 0; i < s->njobs; i++) {
		job *j = &s->jobs[i];
		rs_sync_pair *p = &s->pairs[i];
		char *name = rs_sync_dest_name(s->dest, j->dst_display, s->scoped);
		if (!name)
			cli_out_of_memory();
		free(j->dst_display);
		j->dst_display = NULL;
		if (j->src_ref)
			error = rs_store_open_registry(&p->src, s->clients[j->client].client,
			                               j->src_ref, NULL);
		else
			error = rs_store_open_oci_layout(&p->src, j->src_path, RS_STORE_READ);
		if (error < 0) {
			free(name);
			return cli_fail(error);
		}
		if (s->dst_dir) {
			struct stat st;
			int rc;
			if ((rc = dest_link_check(s->dest, name))) {
				free(name);
				return rc;
			}
			j->dst_path = name;
			j->dst_display = join("oci:", "", name);
			if (s->dry_run && stat(name, &st) < 0)
				p->dst = NULL; /* nothing there yet: every tag would be copied */
			else if ((error = rs_store_open_oci_layout(
			                  &p->dst, name,
			                  s->dry_run ? RS_STORE_READ : RS_STORE_WRITE)) < 0)
				return cli_fail(error);
		} else {
			rs_ref *ref = NULL;
			if (cli_ref(&ref, name, RS_REF_NAME_ONLY)) {
				free(name);
				return CLI_EXIT_USAGE;
			}
			j->dst_repository = rs_ref_format_name(ref);
			j->dst_display = xstrdup(j->dst_repository);
			free(name);
			error = rs_store_open_registry(&p->dst, s->dst_client, ref, NULL);
			rs_ref_free(ref);
			if (error < 0)
				return cli_fail(error);
		}
		if (j->one_tag) {
			p->filter.tags = (const char *const *)&j->one_tag;
			p->filter.tag_count = 1;
		} else {
			p->filter.tags = j->tags;
			p->filter.tag_count = j->tag_count;
			p->filter.tag_regex = j->tag_regex ? j->tag_regex : s->tag_regex;
			p->filter.semver = j->semver ? j->semver : s->semver;
		}
	}
	return 0;
}

/* "REPO:TAG" or "REPO@DIGEST" (layouts: "oci:DIR:TAG"). */
static char *at(const char *repo, const char *tag)
{
	if (!tag)
		return xstrdup(repo);
	return join(repo, strchr(tag, ':') ? "@" : ":", tag);
}

static const char *state_word(rs_sync_state st, bool json)
{
	switch (st) {
	case RS_SYNC_COPY:
		return "copy";
	case RS_SYNC_COPIED:
		return "copied";
	case RS_SYNC_UP_TO_DATE:
		return json ? "up-to-date" : "up to date";
	case RS_SYNC_FAILED:
		return "failed";
	default:
		return "skipped";
	}
}

static void print_item(sync_cli *s, const rs_sync_item *it)
{
	const job *j = &s->jobs[it->pair];
	char *src = at(j->src_display, it->tag), *dst = at(j->dst_display, it->tag);
	rs_buf a = RS_BUF_INIT, b = RS_BUF_INIT;
	rs_text_escape(&a, src, 0);
	rs_text_escape(&b, dst, 0);
	if (it->state == RS_SYNC_FAILED) {
		if (!rs_cancelled()) {
			rs_buf why = RS_BUF_INIT;
			rs_text_escape(&why, it->error.message, 0);
			cli_error("%s: %s", a.ptr, why.ptr);
			rs_buf_dispose(&why);
		}
	} else if (it->state != RS_SYNC_SKIPPED && !s->json) {
		/* by digest, the name says it already */
		bool show =
		        it->digest && it->state != RS_SYNC_COPY && it->tag && !strchr(it->tag, ':');
		printf("%s %s -> %s%s%s\n", state_word(it->state, false), a.ptr, b.ptr,
		       show ? "@" : "", show ? it->digest : "");
	}
	rs_buf_dispose(&a);
	rs_buf_dispose(&b);
	free(src);
	free(dst);
}

/* Lines in item order, as far as items are finished. */
static void report(sync_cli *s, bool all)
{
	for (; s->printed < s->nitems; s->printed++) {
		if (!s->finished[s->printed] && !all)
			break;
		progress_image(s->prog, NULL);
		print_item(s, &s->items[s->printed]);
	}
	fflush(stdout);
}

/* rs_sync's done callback: lines are printed at the end, in order (rs_sync is still filling
 * its array); the progress display makes room meanwhile. */
static void on_done(const rs_sync_item *item, void *payload)
{
	sync_cli *s = payload;
	(void)item;
	progress_image(s->prog, NULL);
}

static int on_event(const rs_sync_item *item, const rs_copy_event *ev, void *payload)
{
	sync_cli *s = payload;
	const job *j = &s->jobs[item->pair];
	char *name = at(j->src_display, item->tag);
	progress_name(s->prog, name);
	free(name);
	return progress_event(ev, s->prog);
}

static void json_str(const char *key, const char *value, bool comma)
{
	cli_json_field(key, value, comma);
}

static void print_json(sync_cli *s)
{
	bool first = true;
	printf("{\"dry_run\": %s, \"images\": [", s->dry_run ? "true" : "false");
	for (size_t i = 0; i < s->nitems; i++) {
		const rs_sync_item *it = &s->items[i];
		const job *j = &s->jobs[it->pair];
		char *src, *dst;
		if (it->state == RS_SYNC_FAILED || it->state == RS_SYNC_SKIPPED)
			continue;
		src = at(j->src_display, it->tag);
		dst = at(j->dst_display, it->tag);
		printf("%s{", first ? "" : ", ");
		first = false;
		json_str("source", src, false);
		json_str("destination", dst, true);
		json_str("repository", j->dst_repository, true);
		json_str("tag", it->tag && !strchr(it->tag, ':') ? it->tag : NULL, true);
		json_str("digest", it->digest, true);
		json_str("status", state_word(it->state, true), true);
		printf("}");
		free(src);
		free(dst);
	}
	printf("], \"blobs\": [");
	first = true;
	for (size_t i = 0; i < s->nitems; i++) {
		const rs_copy_result *res = &s->items[i].result;
		for (size_t k = 0; k < res->blob_count; k++) {
			const rs_copy_blob *bl = &res->blobs[k];
			printf("%s{", first ? "" : ", ");
			first = false;
			json_str("digest", bl->digest, false);
			printf(", \"size\": %lld, \"state\": \"%s\", \"bytes_sent\": %llu",
			       (long long)bl->size, rs_blob_state_name(bl->state),
			       (unsigned long long)bl->bytes_sent);
			if (bl->mounted_from)
				json_str("mounted_from", bl->mounted_from, true);
			printf("}");
		}
	}
	printf("], \"failed\": [");
	first = true;
	for (size_t i = 0; i < s->nitems; i++) {
		const rs_sync_item *it = &s->items[i];
		const job *j = &s->jobs[it->pair];
		char *src;
		if (it->state != RS_SYNC_FAILED)
			continue;
		src = at(j->src_display, it->tag);
		printf("%s{", first ? "" : ", ");
		first = false;
		json_str("source", src, false);
		json_str("error", it->error.message, true);
		printf("}");
		free(src);
	}
	printf("], \"copied_count\": %zu, \"up_to_date_count\": %zu, \"failed_count\": %zu, "
	       "\"skipped_count\": %zu, \"bytes_sent\": %llu}\n",
	       s->dry_run ? 0 : s->copied, s->up_to_date, s->failed, s->skipped,
	       (unsigned long long)s->bytes);
}

/* The options and arguments; returns 0, or the exit code (-1 after -h). */
static int parse_options(sync_cli *s, int argc, char **argv)
{
	const cli_opt opts[] = {
	        {CLI_OPT_STRING, 0, "config", &s->config, "FILE.yaml",
	         "the repositories to mirror, in skopeo's sync format (instead of SOURCE)"},
	        {CLI_OPT_STRING, 0, "tag-regex", &s->tag_regex, "REGEX",
	         "only the tags this POSIX extended regular expression matches"},
	        {CLI_OPT_STRING, 0, "semver", &s->semver, "RANGE",
	         "only the version tags in RANGE (e.g. '>=2.1', '>=1.2, <2', '~1.4', '^2')"},
	        {CLI_OPT_BOOL, 0, "scoped", &s->scoped, NULL,
	         "name destinations by the whole source path, registry included (as skopeo's "
	         "--scoped)"},
	        {CLI_OPT_BOOL, 'n', "dry-run", &s->dry_run, NULL,
	         "copy nothing: print what would be copied and what is up to date"},
	        {CLI_OPT_BOOL, 0, "keep-going", &s->keep_going, NULL,
	         "go on past a failed tag or repository (exit status 6)"},
	        TRANSFER_COMMON_OPTS(s->t),
	        TRANSFER_CREDS_OPTS(s->creds),
	        CLI_OPT_END_MARK,
	};
	int rc = cli_parse(usage, opts, argc, argv, &s->args, &s->nargs);
	s->json = s->t.json;
	return rc;
}

/* The number of arguments and the option values, before anything is read. */
static int check_arguments(sync_cli *s)
{
	int nargs = s->nargs, rc;
	if (s->config && !*s->config)
		return cli_usage_error(usage, "--config: empty file name");
	if (s->config ? nargs != 1 : nargs != 2)
		return cli_usage_error(usage, nargs > (s->config ? 1 : 2) ? "too many arguments"
		                              : !s->config && !nargs      ? "missing SOURCE"
		                                                          : "missing DESTINATION");
	if (s->config && (s->tag_regex || s->semver))
		return cli_usage_error(usage, "--tag-regex and --semver filter SOURCE; with "
		                              "--config write images-by-tag-regex or "
		                              "images-by-semver in the file");
	if ((rc = transfer_check_opts(&s->t, usage)))
		return rc;
	{
		rs_sync_filter f = {NULL, 0, s->tag_regex, s->semver};
		if (rs_sync_filter_check(&f) < 0)
			return cli_usage_error(usage, "%s", rs_error_last()->message);
	}
	return 0;
}

/* A registry DESTINATION: host[/path], no tag or digest, and a host that is one. */
static int check_registry_dest(const char *dest)
{
	const char *slash = strchr(dest, '/'), *last = strrchr(dest, '/');
	size_t hostlen = slash ? (size_t)(slash - dest) : strlen(dest);
	int rc;
	if ((rc = rs_location_check_scheme(dest)) < 0)
		return cli_fail(rc);
	if (strchr(dest, '@') || (slash && strchr(last, ':')))
		return cli_usage_error(usage, "DESTINATION is a registry or a repository prefix "
		                              "(host[/path]), without a tag or digest");
	/* "mirror" would be docker.io/mirror: a mistyped directory must not go to Docker Hub */
	if (!memchr(dest, '.', hostlen) && !memchr(dest, ':', hostlen) &&
	    !(hostlen == 9 && !strncmp(dest, "localhost", 9))) {
		rs_buf shown = RS_BUF_INIT;
		rs_text_escape(&shown, dest, 0);
		rc = cli_usage_error(usage,
		                     "DESTINATION \"%s\" names no registry host: write "
		                     "docker.io/%s for Docker Hub, or ./%s or oci:%s for a "
		                     "directory",
		                     shown.ptr, shown.ptr, shown.ptr, shown.ptr);
		rs_buf_dispose(&shown);
		return rc;
	}
	return 0;
}

/* DESTINATION: a directory of layouts, or a registry prefix. */
static int check_destination(sync_cli *s)
{
	const char *text = s->args[s->config ? 0 : 1];
	const char *dir = dir_of(text, false);
	struct stat st;
	s->dst_dir = dir != NULL;
	s->dest = s->dst_dir ? dir : (strncmp(text, "docker://", 9) ? text : text + 9);
	if (!s->dst_dir)
		return check_registry_dest(s->dest);
	/* one that exists must be a directory (a file there is the caller's mistake) */
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
		return cli_usage_error(usage, "DESTINATION %s: not a directory", dir);
	return 0;
}

/* The jobs, checked against the destination and the credentials options, whose passwords
 * are read then. */
static int plan(sync_cli *s)
{
	int rc = s->config ? plan_config(s, &s->cfg) : plan_source(s, s->args[0]);
	if (rc)
		return rc;
	if (s->dst_dir && s->njobs && !s->jobs[0].src_ref)
		return cli_usage_error(usage, "from a directory of layouts to another: use cp -r");
	if (s->creds.src_creds && s->njobs && !s->jobs[0].src_ref)
		return cli_usage_error(usage, "--src-creds: the source is not a registry");
	if (s->creds.dest_creds && s->dst_dir)
		return cli_usage_error(usage, "--dest-creds: the destination is not a registry");
	return transfer_creds_read(&s->creds, usage);
}

/* The totals of what rs_sync() did (in a dry run, "copied" counts what would be). */
static void count_items(sync_cli *s)
{
	size_t would_copy = 0;
	s->finished = calloc(s->nitems ? s->nitems : 1, sizeof(bool));
	if (!s->finished)
		cli_out_of_memory();
	for (size_t i = 0; i < s->nitems; i++) {
		const rs_sync_item *it = &s->items[i];
		s->finished[i] = true;
		s->bytes += it->result.bytes_sent;
		switch (it->state) {
		case RS_SYNC_COPY:
			would_copy++;
			break;
		case RS_SYNC_COPIED:
			s->copied++;
			break;
		case RS_SYNC_UP_TO_DATE:
			s->up_to_date++;
			break;
		case RS_SYNC_FAILED:
			s->failed++;
			break;
		default:
			s->skipped++;
		}
	}
	if (s->dry_run)
		s->copied = would_copy;
}

/* Layouts become visible whole, once everything is in. */
static int commit_layouts(sync_cli *s)
{
	int error;
	if (!s->dst_dir || s->dry_run || rs_cancelled())
		return 0;
	for (size_t i = 0; i < s->njobs; i++)
		if (s->pairs[i].dst && (error = rs_store_commit(s->pairs[i].dst)) < 0)
			return cli_fail(error);
	return 0;
}

static void print_summary(sync_cli *s)
{
	char sent[32];
	if (s->json) {
		print_json(s);
		return;
	}
	if (rs_cancelled())
		return;
	format_bytes(sent, sizeof(sent), (double)s->bytes);
	if (s->dry_run)
		cli_note("sync --dry-run: %zu to copy, %zu up to date, %zu failed", s->copied,
		         s->up_to_date, s->failed);
	else
		cli_note("sync: %zu copied, %zu up to date, %zu failed%s; %s sent", s->copied,
		         s->up_to_date, s->failed, s->skipped ? " (the rest not tried)" : "", sent);
}

/* Interrupted: 128 + the signal; failures: "partial" with --keep-going once something is in
 * place, else the first failure's code. */
static int exit_status(const sync_cli *s)
{
	if (rs_cancelled()) {
		int sig = rs_cancelled() > 0 ? rs_cancelled() : 2;
		cli_error("interrupted by %s: the sync was cancelled", cli_signal_name(sig));
		return 128 + sig;
	}
	if (!s->failed)
		return 0;
	if (s->keep_going && (s->copied || s->up_to_date))
		return CLI_EXIT_PARTIAL;
	for (size_t i = 0; i < s->nitems; i++)
		if (s->items[i].state == RS_SYNC_FAILED)
			return item_exit_code(&s->items[i].error);
	return 0;
}

/* rs_sync() over the pairs, with progress and cancellation, then the report. */
static int run_sync(sync_cli *s)
{
	rs_sync_options so = RS_SYNC_OPTIONS_INIT;
	rs_copy_options co = RS_COPY_OPTIONS_INIT;
	int error, rc;

	transfer_signals_catch(&s->saved);
	s->signals = true;
	s->prog = progress_new(s->dry_run ? PROGRESS_NONE : s->t.mode, "copied");
	co.jobs = (unsigned int)s->t.jobs;
	co.retries = cli_global.retries;
	co.mount_cache = 1;
	so.copy = &co;
	so.keep_going = s->keep_going;
	so.dry_run = s->dry_run;
	so.done = on_done;
	so.done_payload = s;
	so.event = on_event;
	so.event_payload = s;
	error = rs_sync(s->pairs, s->njobs, &so, &s->items, &s->nitems);
	progress_done(s->prog);
	if (error < 0 && !s->nitems)
		return cli_fail(error);
	count_items(s);
	report(s, true);
	if ((rc = commit_layouts(s)))
		return rc;
	print_summary(s);
	return exit_status(s);
}

static void sync_dispose(sync_cli *s)
{
	if (s->signals)
		transfer_signals_restore(&s->saved);
	progress_free(s->prog);
	rs_sync_items_free(s->items, s->nitems);
	free(s->finished);
	for (size_t i = 0; s->pairs && i < s->njobs; i++) {
		rs_store_free(s->pairs[i].src);
		rs_store_free(s->pairs[i].dst);
	}
	free(s->pairs);
	for (size_t i = 0; i < s->njobs; i++) {
		job *j = &s->jobs[i];
		free(j->src_display);
		free(j->dst_display);
		free(j->dst_repository);
		free(j->dst_path);
		rs_ref_free(j->src_ref);
		free(j->src_path);
		free(j->one_tag);
	}
	free(s->jobs);
	for (size_t i = 0; i < s->nclients; i++)
		rs_client_free(s->clients[i].client);
	free(s->clients);
	rs_client_free(s->dst_client);
	rs_sync_config_free(s->cfg);
	transfer_creds_dispose(&s->creds);
	free(s->args);
}

int cmd_sync(int argc, char **argv)
{
	sync_cli s;
	transfer_opts init = TRANSFER_OPTS_INIT;
	int rc;

	memset(&s, 0, sizeof(s));
	s.t = init;
	if ((rc = parse_options(&s, argc, argv)))
		return rc;
	if (!(rc = check_arguments(&s)) && !(rc = check_destination(&s)) && !(rc = plan(&s)) &&
	    !(rc = open_clients(&s, s.cfg)) && !(rc = open_stores(&s)))
		rc = run_sync(&s);
	sync_dispose(&s);
	return rc;
}
