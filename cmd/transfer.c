#include "transfer.h"
#include "cli_list.h"

#include <regship/copy.h>
#include <stdlib.h>
#include <string.h>

int transfer_check_opts(transfer_opts *t, const char *const *usage)
{
	if (t->jobs < 1 || t->jobs > 64)
		return cli_usage_error(usage, "--jobs: expected a number from 1 to 64, not %d",
		                       t->jobs);
	if (t->chunk_size) {
		char *end;
		double v = strtod(t->chunk_size, &end);
		uint64_t mult = 1;
		if (end == t->chunk_size || v <= 0)
			return cli_usage_error(usage, "--chunk-size: invalid size \"%s\"",
			                       t->chunk_size);
		if (!strcmp(end, "K") || !strcmp(end, "k") || !strcmp(end, "KiB"))
			mult = 1024;
		else if (!strcmp(end, "M") || !strcmp(end, "m") || !strcmp(end, "MiB"))
			mult = 1024 * 1024;
		else if (!strcmp(end, "G") || !strcmp(end, "g") || !strcmp(end, "GiB"))
			mult = 1024ULL * 1024 * 1024;
		else if (*end)
			return cli_usage_error(
			        usage, "--chunk-size: unknown unit in \"%s\" (use K, M or G)",
			        t->chunk_size);
		t->chunk_bytes = (uint64_t)(v * (double)mult);
		if (t->chunk_bytes < 1024)
			return cli_usage_error(usage, "--chunk-size: at least 1K, not \"%s\"",
			                       t->chunk_size);
	}
	if (t->compress && strcmp(t->compress, "gzip") && strcmp(t->compress, "zstd") &&
	    strcmp(t->compress, "none"))
		return cli_usage_error(usage,
		                       "--compress: unknown algorithm \"%s\" (gzip, zstd or "
		                       "none)",
		                       t->compress);
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

typedef struct run {
	transfer_opts *t;
	const char *verb;
	rs_client *client;
	rs_store *src;
	char *src_reference;
	rs_docker_archive_options da;
	rs_registry_store_options ro;
	rs_platform *platform;
	dest_store *dests;
	size_t ndests;
	pair *pairs;
	size_t npairs;
	progress *prog;
	size_t images;
	uint64_t bytes_sent;
	rs_copy_result *results;
	size_t nresults;
} run;

static void add_pair(run *r, const char *src_ref, const char *dest_text, const char *tag)
{
	r->pairs = realloc(r->pairs, (r->npairs + 1) * sizeof(*r->pairs));
	if (!r->pairs)
		cli_out_of_memory();
	r->pairs[r->npairs].src_reference = src_ref ? strdup(src_ref) : NULL;
	r->pairs[r->npairs].dest_text = strdup(dest_text);
	r->pairs[r->npairs].dest_tag = tag ? strdup(tag) : NULL;
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

static int open_dest(run *r, const char *text, const char *tag, dest_store **ds, char **reference,
                     char **display)
{
	rs_location *loc = NULL;
	rs_buf key = RS_BUF_INIT;
	rs_ref *ref = NULL;
	rs_store *opened = NULL;
	int error;
	*reference = NULL;
	*display = NULL;
	if ((error = rs_location_parse(&loc, text)) < 0)
		return cli_fail(error);
	if (loc->kind == RS_LOCATION_REGISTRY) {
		if ((error = rs_ref_parse(&ref, loc->reference, 0)) < 0) {
			rs_location_free(loc);
			return cli_fail(error);
		}
		rs_buf_dispose(&key);
		{
			char *name = rs_ref_format_name(ref);
			rs_json_quote(&key, name);
			free(name);
		}
		*reference = strdup(tag ? tag : rs_ref_identifier(ref));
		{
			rs_ref *shown = NULL;
			if (rs_ref_with_tag(&shown, ref, *reference) == 0 && !ref->digest) {
				*display = rs_ref_format(shown);
			} else {
				*display = rs_ref_format(ref);
			}
			rs_ref_free(shown);
		}
	} else {
		rs_json_quote(&key, rs_location_kind_name(loc->kind));
		rs_json_quote(&key, loc->path);
		if (tag)
			*reference = strdup(tag);
		else if (loc->reference)
			*reference = strdup(loc->reference);
		{
			size_t n = strlen(rs_location_kind_name(loc->kind)) + strlen(loc->path) +
			           (*reference ? strlen(*reference) : 0) + 4;
			*display = malloc(n);
			if (!*display)
				cli_out_of_memory();
			snprintf(*display, n, "%s:%s%s%s", rs_location_kind_name(loc->kind),
			         loc->path, *reference ? ":" : "", *reference ? *reference : "");
		}
	}
	for (size_t i = 0; i < r->ndests; i++) {
		if (!strcmp(r->dests[i].key, key.ptr)) {
			*ds = &r->dests[i];
			rs_location_free(loc);
			rs_ref_free(ref);
			rs_buf_dispose(&key);
			return 0;
		}
	}
	{
		rs_open_options oo = RS_OPEN_OPTIONS_INIT;
		char *ignored = NULL;
		oo.client = r->client;
		oo.docker_archive = &r->da;
		oo.registry = &r->ro;
		error = rs_store_open_location(&opened, &ignored, loc, RS_STORE_WRITE, &oo);
		free(ignored);
	}
	if (error < 0) {
		rs_location_free(loc);
		rs_ref_free(ref);
		rs_buf_dispose(&key);
		free(*reference);
		free(*display);
		*reference = *display = NULL;
		return cli_fail(error);
	}
	r->dests = realloc(r->dests, (r->ndests + 1) * sizeof(*r->dests));
	if (!r->dests)
		cli_out_of_memory();
	memset(&r->dests[r->ndests], 0, sizeof(r->dests[r->ndests]));
	r->dests[r->ndests].store = opened;
	r->dests[r->ndests].key = strdup(key.ptr);
	r->dests[r->ndests].loc = loc;
	*ds = &r->dests[r->ndests];
	r->ndests++;
	rs_ref_free(ref);
	rs_buf_dispose(&key);
	return 0;
}

static void json_image(run *r, const char *source, const char *dest, const char *digest)
{
	rs_buf q = RS_BUF_INIT;
	rs_json_quote(&q, source);
	printf("%s{\"source\": %s", r->images++ ? ", " : "", q.ptr);
	rs_buf_dispose(&q);
	rs_json_quote(&q, dest);
	printf(", \"destination\": %s", q.ptr);
	rs_buf_dispose(&q);
	rs_json_quote(&q, digest);
	printf(", \"digest\": %s}", q.ptr);
	rs_buf_dispose(&q);
}

static void print_json(run *r, const char *const *sources, const char *const *dests,
                       const char *const *digests, size_t n)
{
	rs_buf q = RS_BUF_INIT;
	size_t nblobs = 0;
	fputs("{\"images\": [", stdout);
	for (size_t i = 0; i < n; i++)
		json_image(r, sources[i], dests[i], digests[i]);
	fputs("], \"blobs\": [", stdout);
	for (size_t k = 0; k < r->nresults; k++) {
		const rs_copy_result *res = &r->results[k];
		for (size_t i = 0; i < res->blob_count; i++) {
			const rs_copy_blob *bl = &res->blobs[i];
			rs_json_quote(&q, bl->digest);
			printf("%s{\"digest\": %s, \"size\": %lld, \"state\": \"%s\", "
			       "\"bytes_sent\": %llu",
			       nblobs++ ? ", " : "", q.ptr, (long long)bl->size,
			       rs_blob_state_name(bl->state), (unsigned long long)bl->bytes_sent);
			rs_buf_dispose(&q);
			if (bl->mounted_from) {
				rs_json_quote(&q, bl->mounted_from);
				printf(", \"mounted_from\": %s", q.ptr);
				rs_buf_dispose(&q);
			}
			fputs("}", stdout);
		}
	}
	printf("], \"bytes_sent\": %llu}\n", (unsigned long long)r->bytes_sent);
}

/* How to name the source of a pair in the output: the location, with its tag or reference. */
static char *source_name(const rs_location *loc, const char *reference)
{
	const char *kind = rs_location_kind_name(loc->kind);
	size_t n;
	char *out;
	if (!reference)
		return strdup(loc->text);
	if (loc->kind == RS_LOCATION_REGISTRY) {
		/* --all-tags: the text names the repository, reference the tag */
		if (strstr(loc->text, reference))
			return strdup(loc->text);
		n = strlen(loc->text) + strlen(reference) + 2;
		out = malloc(n);
		if (!out)
			cli_out_of_memory();
		snprintf(out, n, "%s:%s", loc->text, reference);
		return out;
	}
	n = strlen(kind) + strlen(loc->path) + strlen(reference) + 3;
	out = malloc(n);
	if (!out)
		cli_out_of_memory();
	snprintf(out, n, "%s:%s:%s", kind, loc->path, reference);
	return out;
}

/*
 * Another tag of an image this run already copied to the same destination: the blobs are all
 * there, so only the manifest is written (one PUT, no blob checks). *digest stays NULL when the
 * image still has to be copied.
 */
static int retag_if_copied(run *r, dest_store *ds, const char *src_reference, const char *reference,
                           char **digest)
{
	rs_buf body = RS_BUF_INIT;
	char *mt = NULL, *d = NULL;
	int error = 0;
	*digest = NULL;
	if (!ds->copied.count)
		return 0;
	if ((error = rs_store_manifest_get(r->src, src_reference, &body, &mt, &d)) < 0)
		goto done;
	for (size_t i = 0; i < ds->copied.count; i++) {
		if (strcmp(ds->copied.items[i], d))
			continue;
		if ((error = rs_store_manifest_put(ds->store, reference, body.ptr, body.size, mt)) <
		    0)
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

int transfer_run(transfer_opts *t, const char *verb, const rs_location *src_loc,
                 const char *dest_text, bool all_tags, const char *const *usage)
{
	run r = {0};
	rs_location *dest_loc = NULL;
	cli_strings tags = {0};
	char **shown_src = NULL, **shown_dst = NULL, **digests = NULL;
	size_t done = 0;
	int rc = 0, error;
	rs_copy_options co = RS_COPY_OPTIONS_INIT;

	r.t = t;
	r.verb = verb;
	{
		rs_docker_archive_options da = RS_DOCKER_ARCHIVE_OPTIONS_INIT;
		rs_registry_store_options ro = RS_REGISTRY_STORE_OPTIONS_INIT;
		r.da = da;
		r.ro = ro;
	}
	if (t->compress)
		r.da.compression = !strcmp(t->compress, "zstd")   ? RS_COMPRESSION_ZSTD
		                   : !strcmp(t->compress, "none") ? RS_COMPRESSION_NONE
		                                                  : RS_COMPRESSION_GZIP;
	r.da.level = t->compress_level;
	r.da.jobs = (unsigned int)t->jobs;
	if (t->format)
		r.da.format = !strcmp(t->format, "oci") ? RS_MANIFEST_FORMAT_OCI
		                                        : RS_MANIFEST_FORMAT_DOCKER;
	r.ro.chunk_size = t->chunk_bytes;

	if (dest_text && (error = rs_location_parse(&dest_loc, dest_text)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	/* an image read from a docker archive into an OCI layout or archive gets an OCI manifest
	 * (what OCI tools expect there), unless --format says otherwise */
	if (!t->format && dest_loc &&
	    (dest_loc->kind == RS_LOCATION_OCI_LAYOUT || dest_loc->kind == RS_LOCATION_OCI_ARCHIVE))
		r.da.format = RS_MANIFEST_FORMAT_OCI;
	if (t->platform && (error = rs_platform_parse(&r.platform, t->platform)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if (dest_loc && dest_loc->kind == RS_LOCATION_DOCKER_ARCHIVE) {
		if (t->all_platforms) {
			rc = cli_usage_error(usage,
			                     "a docker archive holds one platform per image: "
			                     "--all-platforms needs an OCI destination");
			goto done;
		}
		if (!r.platform && (error = rs_platform_host(&r.platform)) < 0) {
			rc = cli_fail(error);
			goto done;
		}
	}
	if ((rc = cli_client(&r.client)))
		goto done;
	{
		rs_open_options oo = RS_OPEN_OPTIONS_INIT;
		oo.client = r.client;
		oo.docker_archive = &r.da;
		oo.registry = &r.ro;
		if ((error = rs_store_open_location(&r.src, &r.src_reference, src_loc,
		                                    RS_STORE_READ, &oo)) < 0) {
			rc = cli_fail(error);
			goto done;
		}
	}

	/* what goes where */
	if (!dest_text) {
		if (src_loc->kind != RS_LOCATION_DOCKER_ARCHIVE) {
			rc = cli_usage_error(usage,
			                     "missing DESTINATION (only a docker archive names "
			                     "its own destinations, in its RepoTags)");
			goto done;
		}
		if (src_loc->reference && !all_tags) {
			add_pair(&r, src_loc->reference, src_loc->reference, NULL);
		} else {
			if ((error = rs_store_tag_list(r.src, src_tags, &tags)) < 0) {
				rc = cli_fail(error);
				goto done;
			}
			if (!tags.count) {
				cli_error("%s has no RepoTags to push to: give a DESTINATION",
				          src_loc->path);
				rc = CLI_EXIT_USAGE;
				goto done;
			}
			for (size_t i = 0; i < tags.count; i++)
				add_pair(&r, tags.items[i], tags.items[i], NULL);
		}
	} else if (all_tags) {
		if (dest_loc->kind == RS_LOCATION_REGISTRY) {
			rs_ref *check = NULL;
			if ((error = rs_ref_parse(&check, dest_loc->reference, RS_REF_NAME_ONLY)) <
			    0) {
				rc = cli_usage_error(usage,
				                     "with --all-tags, DESTINATION is a repository "
				                     "without a tag: %s",
				                     rs_error_last()->message);
				goto done;
			}
			rs_ref_free(check);
		} else if (dest_loc->reference) {
			rc = cli_usage_error(usage, "with --all-tags, DESTINATION takes no tag");
			goto done;
		}
		if ((error = rs_store_tag_list(r.src, src_tags, &tags)) < 0) {
			rc = cli_fail(error);
			goto done;
		}
		if (!tags.count) {
			cli_error("%s has no tags", src_loc->text);
			rc = CLI_EXIT_NOTFOUND;
			goto done;
		}
		for (size_t i = 0; i < tags.count; i++)
			add_pair(&r, tags.items[i], dest_text, tag_part(tags.items[i]));
	} else {
		const char *tag = NULL;
		char *full = NULL;
		/* a local destination without a tag takes the source's: an OCI layout its tag, a
		 * docker archive the whole reference as RepoTag (as docker save does) */
		if (dest_loc->kind != RS_LOCATION_REGISTRY && !dest_loc->reference &&
		    r.src_reference && !strchr(r.src_reference, '@') &&
		    strncmp(r.src_reference, "sha256:", 7)) {
			if (dest_loc->kind == RS_LOCATION_DOCKER_ARCHIVE &&
			    src_loc->kind == RS_LOCATION_REGISTRY) {
				rs_ref *sref = NULL;
				if (rs_ref_parse(&sref, src_loc->reference, 0) == 0)
					full = rs_ref_format(sref);
				rs_ref_free(sref);
				tag = full;
			} else if (dest_loc->kind == RS_LOCATION_DOCKER_ARCHIVE) {
				tag = strchr(r.src_reference, '/') ? r.src_reference : NULL;
			} else {
				tag = tag_part(r.src_reference);
			}
		}
		add_pair(&r, r.src_reference, dest_text, tag);
		free(full);
	}

	r.prog = progress_new(t->mode, verb);
	co.platform = t->all_platforms ? NULL : r.platform;
	co.jobs = (unsigned int)t->jobs;
	co.mount_from = t->mount_from.items;
	co.mount_from_count = t->mount_from.count;
	co.retries = cli_global.retries;
	co.callback = progress_event;
	co.payload = r.prog;
	shown_src = calloc(r.npairs, sizeof(char *));
	shown_dst = calloc(r.npairs, sizeof(char *));
	digests = calloc(r.npairs, sizeof(char *));
	r.results = calloc(r.npairs, sizeof(*r.results));
	if (!shown_src || !shown_dst || !digests || !r.results)
		cli_out_of_memory();
	for (size_t i = 0; i < r.npairs; i++) {
		dest_store *ds = NULL;
		char *reference = NULL, *display = NULL, *digest = NULL;
		if ((rc = open_dest(&r, r.pairs[i].dest_text, r.pairs[i].dest_tag, &ds, &reference,
		                    &display)))
			goto done;
		if ((error = retag_if_copied(&r, ds, r.pairs[i].src_reference, reference,
		                             &digest)) == 0) {
			if (!digest) {
				/* not yet in this destination: the full copy */
				error = rs_copy(ds->store, reference, r.src,
				                r.pairs[i].src_reference, &co,
				                &r.results[r.nresults]);
				if (error == 0) {
					digest = strdup(r.results[r.nresults].digest);
					r.bytes_sent += r.results[r.nresults].bytes_sent;
					r.nresults++;
					cli_strings_add(digest, &ds->copied);
				}
			}
		}
		free(reference);
		if (error < 0) {
			free(display);
			progress_done(r.prog);
			rc = cli_fail(error);
			goto done;
		}
		shown_src[done] = source_name(src_loc, r.pairs[i].src_reference);
		shown_dst[done] = display;
		digests[done] = digest;
		done++;
		if (!t->json)
			printf("%s@%s\n", display, digest);
	}
	progress_done(r.prog);
	/* local destinations become visible only now, whole */
	for (size_t i = 0; i < r.ndests; i++) {
		if ((error = rs_store_commit(r.dests[i].store)) < 0) {
			rc = cli_fail(error);
			goto done;
		}
	}
	if (t->json)
		print_json(&r, (const char *const *)shown_src, (const char *const *)shown_dst,
		           (const char *const *)digests, done);
done:
	for (size_t i = 0; i < done; i++) {
		free(shown_src[i]);
		free(shown_dst[i]);
		free(digests[i]);
	}
	free(shown_src);
	free(shown_dst);
	free(digests);
	/* every slot: a failed copy leaves its partial result in the next one */
	for (size_t i = 0; r.results && i < r.npairs; i++)
		rs_copy_result_dispose(&r.results[i]);
	free(r.results);
	for (size_t i = 0; i < r.ndests; i++) {
		rs_store_free(r.dests[i].store);
		rs_location_free(r.dests[i].loc);
		cli_strings_dispose(&r.dests[i].copied);
		free(r.dests[i].key);
	}
	free(r.dests);
	for (size_t i = 0; i < r.npairs; i++) {
		free(r.pairs[i].src_reference);
		free(r.pairs[i].dest_text);
		free(r.pairs[i].dest_tag);
	}
	free(r.pairs);
	progress_free(r.prog);
	rs_store_free(r.src);
	free(r.src_reference);
	rs_platform_free(r.platform);
	rs_location_free(dest_loc);
	cli_strings_dispose(&tags);
	rs_client_free(r.client);
	return rc;
}
