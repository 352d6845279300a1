/* The sync file: skopeo's YAML format (see include/regship/sync.h), read with libyaml. */
#include "regship/sync.h"

#include "image/semver.h"
#include "util/util.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MAX_FILE (16u << 20)
/* A sync file is four levels deep (registry, section, repository, tags); libyaml's scanner is
 * quadratic in the nesting (100,000 "[" took over a minute), so deeper is refused first. */
#define MAX_DEPTH 64
/* Aliases repeat a list without repeating its text ("billion laughs"): the repositories and
 * tags are counted each time they are used, and more than this many is refused. */
#define MAX_ENTRIES 1000000

typedef struct parse_ctx {
	yaml_document_t doc;
	const char *name;
	rs_sync_config *config;
	size_t entries; /* repositories and tags so far, aliases counted at each use */
} parse_ctx;

static unsigned int line_of(const yaml_node_t *node)
{
	return (unsigned int)node->start_mark.line + 1;
}

static int fail(parse_ctx *c, const yaml_node_t *node, const char *fmt, ...) RS_PRINTF(3, 4);
static int fail(parse_ctx *c, const yaml_node_t *node, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rs__error_set(RS_EINVAL, "%s:%u: %s", c->name, node ? line_of(node) : 1, msg);
}

static const char *scalar(const yaml_node_t *node)
{
	return node && node->type == YAML_SCALAR_NODE ? (const char *)node->data.scalar.value
	                                              : NULL;
}

/* A plain scalar "null", "~" or nothing at all: YAML's null. */
static bool is_null(const yaml_node_t *node)
{
	const char *s = scalar(node);
	return s && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (!*s || !strcmp(s, "~") || !strcasecmp(s, "null"));
}

static const char *kind_name(const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_SCALAR_NODE:
		return "a single value";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* The value of a key that must be a string. */
static int want_string(parse_ctx *c, const yaml_node_t *node, const char *what, char **out)
{
	const char *s = scalar(node);
	if (!s || is_null(node))
		return fail(c, node, "%s: expected a string, found %s", what,
		            s ? "nothing" : kind_name(node));
	free(*out);
	if (!(*out = rs__strdup(s)))
		return rs__oom();
	return 0;
}

/* Duplicate keys of one mapping are refused (as skopeo's YAML reader does). */
static int check_duplicates(parse_ctx *c, const yaml_node_t *map, const char *where)
{
	for (yaml_node_pair_t *a = map->data.mapping.pairs.start; a < map->data.mapping.pairs.top;
	     a++) {
		const yaml_node_t *ka = yaml_document_get_node(&c->doc, a->key);
		const char *sa = scalar(ka);
		if (!sa)
			return fail(c, ka, "%s: a key must be a single value, not %s", where,
			            kind_name(ka));
		for (yaml_node_pair_t *b = map->data.mapping.pairs.start; b < a; b++) {
			const char *sb = scalar(yaml_document_get_node(&c->doc, b->key));
			if (sb && !strcmp(sa, sb))
				return fail(c, ka, "%s: key \"%s\" is given twice", where, sa);
		}
	}
	return 0;
}

/* One more repository or tag: refused past MAX_ENTRIES (NODE names the line). */
static int count_entry(parse_ctx *c, const yaml_node_t *node)
{
	if (++c->entries > MAX_ENTRIES)
		return fail(c, node,
		            "more than %d repositories and tags in all (aliases counted each time "
		            "they are used)",
		            MAX_ENTRIES);
	return 0;
}

static int add_repo(parse_ctx *c, rs_sync_registry *reg, const char *name, unsigned int line,
                    rs_sync_repo **out)
{
	rs_sync_repo *grown = rs__realloc(reg->repos, (reg->repo_count + 1) * sizeof(*grown));
	if (!grown)
		return rs__oom();
	(void)c;
	reg->repos = grown;
	*out = &reg->repos[reg->repo_count];
	memset(*out, 0, sizeof(**out));
	(*out)->line = line;
	if (!((*out)->name = rs__strdup(name)))
		return rs__oom();
	reg->repo_count++;
	return 0;
}

static int check_repo_name(parse_ctx *c, const yaml_node_t *key, const char *name)
{
	if (!*name || name[0] == '/' || strstr(name, "//") || name[strlen(name) - 1] == '/' ||
	    strpbrk(name, ":@ \t"))
		return fail(c, key,
		            "\"%s\" is not a repository path (lowercase components separated by "
		            "'/', without a tag or digest: list tags under it)",
		            name);
	return 0;
}

/* images: {REPO: [TAG...]} | images-by-tag-regex: {REPO: REGEX} | images-by-semver: ... */
static int parse_images(parse_ctx *c, rs_sync_registry *reg, const yaml_node_t *map,
                        const char *section)
{
	int error;
	if (is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return fail(c, map, "%s: expected a mapping of repositories, found %s", section,
		            kind_name(map));
	if ((error = check_duplicates(c, map, section)) < 0)
		return error;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = yaml_document_get_node(&c->doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(&c->doc, p->value);
		const char *name = scalar(k);
		rs_sync_repo *repo = NULL;
		char what[320];
		snprintf(what, sizeof(what), "%s: %s", section, name ? name : "(not a string)");
		if ((error = check_repo_name(c, k, name)) < 0 || (error = count_entry(c, k)) < 0 ||
		    (error = add_repo(c, reg, name, line_of(k), &repo)) < 0)
			return error;
		if (!strcmp(section, "images")) {
			if (is_null(v))
				continue;
			if (v->type != YAML_SEQUENCE_NODE)
				return fail(c, v, "%s: expected a list of tags, found %s", what,
				            kind_name(v));
			for (yaml_node_item_t *it = v->data.sequence.items.start;
			     it < v->data.sequence.items.top; it++) {
				const yaml_node_t *t = yaml_document_get_node(&c->doc, *it);
				char **grown;
				const char *tag = scalar(t);
				if (!tag || is_null(t))
					return fail(c, t, "%s: expected a tag, found %s", what,
					            tag ? "nothing" : kind_name(t));
				if ((error = count_entry(c, t)) < 0)
					return error;
				/* doubled at each power of two: growing by one was quadratic
				 * where realloc copies (ASan, valgrind) */
				if (!(repo->tag_count & (repo->tag_count - 1))) {
					size_t cap = repo->tag_count ? repo->tag_count * 2 : 1;
					if (!(grown = rs__realloc(repo->tags,
					                          cap * sizeof(*grown))))
						return rs__oom();
					repo->tags = grown;
				}
				if (!(repo->tags[repo->tag_count] = rs__strdup(tag)))
					return rs__oom();
				repo->tag_count++;
			}
		} else if (!strcmp(section, "images-by-tag-regex")) {
			regex_t re;
			int rc;
			if ((error = want_string(c, v, what, &repo->tag_regex)) < 0)
				return error;
			if ((rc = regcomp(&re, repo->tag_regex, REG_EXTENDED | REG_NOSUB)) != 0) {
				char why[128];
				regerror(rc, &re, why, sizeof(why));
				return fail(c, v, "%s: invalid regular expression \"%s\": %s", what,
				            repo->tag_regex, why);
			}
			regfree(&re);
		} else {
			rs__semver_range *r = NULL;
			if ((error = want_string(c, v, what, &repo->semver)) < 0)
				return error;
			if ((error = rs__semver_range_parse(&r, repo->semver)) < 0) {
				rs_error why;
				if (error == RS_ENOMEM)
					return error;
				why = *rs_error_last();
				return fail(c, v, "%s: %s", what, why.message);
			}
			rs__semver_range_free(r);
		}
	}
	return 0;
}

static int parse_bool(parse_ctx *c, const yaml_node_t *v, const char *what, int *out)
{
	static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no",
	                                                                       "off"};
	const char *s = scalar(v);
	for (size_t i = 0; s && i < 3; i++) {
		if (!strcasecmp(s, yes[i]))
			return *out = 1, 0;
		if (!strcasecmp(s, no[i]))
			return *out = 0, 0;
	}
	return fail(c, v, "%s: expected true or false, found %s%s%s", what, s ? "\"" : "",
	            s ? s : kind_name(v), s ? "\"" : "");
}

static int parse_registry(parse_ctx *c, const yaml_node_t *key, const yaml_node_t *map)
{
	rs_sync_config *cfg = c->config;
	rs_sync_registry *reg, *grown;
	const char *name = scalar(key);
	int error;

	if (!*name || strpbrk(name, "/@ \t"))
		return fail(c, key,
		            "\"%s\" is not a registry (host or host:port, without a path: list "
		            "repositories under images)",
		            name);
	if (!(grown = rs__realloc(cfg->registries, (cfg->registry_count + 1) * sizeof(*grown))))
		return rs__oom();
	cfg->registries = grown;
	reg = &cfg->registries[cfg->registry_count++];
	memset(reg, 0, sizeof(*reg));
	reg->tls_verify = -1;
	reg->line = line_of(key);
	if (!(reg->name = rs__strdup(name)))
		return rs__oom();
	if (is_null(map))
		return 0;
	if (map->type != YAML_MAPPING_NODE)
		return fail(c, map, "%s: expected a mapping (images, credentials, ...), found %s",
		            name, kind_name(map));
	if ((error = check_duplicates(c, map, name)) < 0)
		return error;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = yaml_document_get_node(&c->doc, p->key);
		const yaml_node_t *v = yaml_document_get_node(&c->doc, p->value);
		const char *key_name = scalar(k);
		if (!strcmp(key_name, "images") || !strcmp(key_name, "images-by-tag-regex") ||
		    !strcmp(key_name, "images-by-semver")) {
			error = parse_images(c, reg, v, key_name);
		} else if (!strcmp(key_name, "tls-verify")) {
			error = parse_bool(c, v, "tls-verify", &reg->tls_verify);
		} else if (!strcmp(key_name, "cert-dir")) {
			error = want_string(c, v, "cert-dir", &reg->cert_dir);
		} else if (!strcmp(key_name, "credentials")) {
			if (v->type != YAML_MAPPING_NODE)
				return fail(c, v,
				            "credentials: expected a mapping (username, password), "
				            "found %s",
				            kind_name(v));
			if ((error = check_duplicates(c, v, "credentials")) < 0)
				return error;
			for (yaml_node_pair_t *q = v->data.mapping.pairs.start;
			     q < v->data.mapping.pairs.top && error == 0; q++) {
				const yaml_node_t *ck = yaml_document_get_node(&c->doc, q->key);
				const yaml_node_t *cv = yaml_document_get_node(&c->doc, q->value);
				const char *cn = scalar(ck);
				if (!strcmp(cn, "username"))
					error = want_string(c, cv, "credentials: username",
					                    &reg->username);
				else if (!strcmp(cn, "password"))
					error = want_string(c, cv, "credentials: password",
					                    &reg->password);
				else
					error = fail(c, ck,
					             "unknown key \"%s\" in credentials (expected "
					             "username, password)",
					             cn);
			}
			if (error == 0 && (!reg->username) != (!reg->password))
				error = fail(c, v, "credentials: %s without %s",
				             reg->username ? "username" : "password",
				             reg->username ? "password" : "username");
		} else {
			error = fail(
			        c, k,
			        "unknown key \"%s\" under %s (expected images, "
			        "images-by-tag-regex, images-by-semver, credentials, tls-verify, "
			        "cert-dir)",
			        key_name, name);
		}
		if (error < 0)
			return error;
	}
	return 0;
}

void rs_sync_config_free(rs_sync_config *config)
{
	if (!config)
		return;
	for (size_t i = 0; i < config->registry_count; i++) {
		rs_sync_registry *r = &config->registries[i];
		for (size_t k = 0; k < r->repo_count; k++) {
			rs_sync_repo *p = &r->repos[k];
			for (size_t t = 0; t < p->tag_count; t++)
				free(p->tags[t]);
			free(p->tags);
			free(p->name);
			free(p->tag_regex);
			free(p->semver);
		}
		free(r->repos);
		free(r->name);
		free(r->cert_dir);
		free(r->username);
		rs__free_secret(r->password);
	}
	free(config->registries);
	free(config);
}

/* Walk the events (stopping at the first level past MAX_DEPTH) before building the document. */
static int check_depth(const char *text, size_t len, const char *name)
{
	yaml_parser_t parser;
	yaml_event_t event;
	int depth = 0, error = 0;

	if (!yaml_parser_initialize(&parser))
		return rs__oom();
	yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""), len);
	for (;;) {
		/* a syntax error is left to yaml_parser_load, which reports it */
		if (!yaml_parser_parse(&parser, &event)) {
			if (parser.error == YAML_MEMORY_ERROR)
				error = rs__oom();
			break;
		}
		yaml_event_type_t type = event.type;
		size_t line = event.start_mark.line + 1;
		yaml_event_delete(&event);
		if (type == YAML_STREAM_END_EVENT)
			break;
		if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
			if (++depth > MAX_DEPTH) {
				error = rs__error_set(
				        RS_EINVAL,
				        "%s:%zu: malformed sync file: nested deeper than %d "
				        "levels",
				        name, line, MAX_DEPTH);
				break;
			}
		} else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
	}
	yaml_parser_delete(&parser);
	return error;
}

int rs_sync_config_parse(rs_sync_config **out, const char *text, size_t len, const char *name)
{
	yaml_parser_t parser;
	parse_ctx c;
	yaml_node_t *root;
	int error = 0;

	if (!out || (!text && len))
		return rs__error_set(RS_EINVAL, "rs_sync_config_parse: missing argument");
	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.name = name ? name : "sync file";
	if ((error = check_depth(text, len, c.name)) < 0)
		return error;
	if (!yaml_parser_initialize(&parser))
		return rs__oom();
	yaml_parser_set_input_string(&parser, (const unsigned char *)(text ? text : ""), len);
	if (!yaml_parser_load(&parser, &c.doc)) {
		if (parser.error == YAML_MEMORY_ERROR)
			error = rs__oom();
		else
			error = rs__error_set(
			        RS_EINVAL, "%s:%zu:%zu: malformed YAML: %s%s%s", c.name,
			        (parser.problem_mark.line + 1), parser.problem_mark.column + 1,
			        parser.problem ? parser.problem : "syntax error",
			        parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		return error;
	}
	if (!(c.config = rs__calloc(1, sizeof(*c.config)))) {
		error = rs__oom();
		goto done;
	}
	root = yaml_document_get_root_node(&c.doc);
	if (!root || is_null(root)) {
		error = rs__error_set(RS_EINVAL, "%s: no registries (the file is empty)", c.name);
		goto done;
	}
	{
		/* a second document would be ignored silently: refuse it */
		yaml_document_t next;
		if (!yaml_parser_load(&parser, &next)) {
			error = rs__error_set(RS_EINVAL, "%s:%zu: malformed YAML: %s", c.name,
			                      parser.problem_mark.line + 1,
			                      parser.problem ? parser.problem : "syntax error");
			goto done;
		}
		if (yaml_document_get_root_node(&next)) {
			error = rs__error_set(RS_EINVAL,
			                      "%s:%zu: a second YAML document (one mapping of "
			                      "registries is expected)",
			                      c.name, next.start_mark.line + 1);
			yaml_document_delete(&next);
			goto done;
		}
		yaml_document_delete(&next);
	}
	if (root->type != YAML_MAPPING_NODE) {
		error = fail(&c, root, "expected a mapping of registries, found %s",
		             kind_name(root));
		goto done;
	}
	if ((error = check_duplicates(&c, root, "registries")) < 0)
		goto done;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top && error == 0; p++)
		error = parse_registry(&c, yaml_document_get_node(&c.doc, p->key),
		                       yaml_document_get_node(&c.doc, p->value));
done:
	yaml_document_delete(&c.doc);
	yaml_parser_delete(&parser);
	if (error < 0) {
		rs_sync_config_free(c.config);
		return error;
	}
	*out = c.config;
	return 0;
}

int rs_sync_config_load(rs_sync_config **out, const char *path)
{
	FILE *f;
	rs_buf data = RS_BUF_INIT;
	char chunk[65536];
	size_t n;
	int error;

	if (!out || !path)
		return rs__error_set(RS_EINVAL, "rs_sync_config_load: missing argument");
	*out = NULL;
	if (!(f = fopen(path, "r")))
		return rs__error_set(RS_EIO, "%s: cannot be read: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (data.size + n > MAX_FILE) {
			fclose(f);
			rs_buf_dispose(&data);
			return rs__error_set(RS_EINVAL, "%s: larger than 16 MiB", path);
		}
		rs__buf_put(&data, chunk, n);
	}
	if (ferror(f)) {
		error = rs__error_set(RS_EIO, "%s: cannot be read: %s", path, strerror(errno));
		fclose(f);
		rs_buf_dispose(&data);
		return error;
	}
	fclose(f);
	error = rs_sync_config_parse(out, data.ptr, data.size, path);
	rs__buf_dispose_secret(&data);
	return error;
}
