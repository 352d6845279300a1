/*
 * regship rm — delete a manifest by digest. Deleting a manifest deletes every tag that points
 * at it, so the other tags are found first (parallel HEADs) and the deletion is refused
 * without --force.
 */
#include "cli.h"
#include "cli_list.h"

#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {"regship rm [--force] [--json] REFERENCE", NULL};

/* Tags named in the refusal message; --json lists them all. */
#define RM_SHOWN 10

/* 1990 -> "1,990" */
static void thousands(char *buf, size_t n, size_t v)
{
	char raw[32];
	size_t len, o = 0;
	snprintf(raw, sizeof(raw), "%zu", v);
	len = strlen(raw);
	for (size_t i = 0; i < len && o + 2 < n; i++) {
		if (i && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = raw[i];
	}
	buf[o] = '\0';
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_json(const char *repo, const rs_ref *ref, const char *digest, bool deleted,
                       const cli_strings *sharing)
{
	rs_buf q = RS_BUF_INIT;
	size_t n = strlen(repo) + strlen(digest) + 2;
	char *reference = malloc(n);
	if (!reference)
		cli_out_of_memory();
	snprintf(reference, n, "%s@%s", repo, digest);
	printf("{");
	cli_json_field("reference", reference, false);
	free(reference);
	cli_json_field("repository", repo, true);
	cli_json_field("tag", ref->digest ? NULL : ref->tag, true);
	cli_json_field("digest", digest, true);
	printf(", \"deleted\": %s, \"tags\": [", deleted ? "true" : "false");
	for (size_t i = 0; i < sharing->count; i++) {
		rs_json_quote(&q, sharing->items[i]);
		printf("%s%s", i ? ", " : "", q.ptr);
		rs_buf_dispose(&q);
	}
	printf("]}\n");
}

/* The other tags that point at digest (every tag's digest, looked up in parallel), in byte
 * order; the tag REFERENCE named is not among them. Returns 0 or an exit code. */
static int find_sharing(rs_client *client, const rs_ref *ref, const char *digest,
                        cli_strings *sharing)
{
	cli_strings tags = {0};
	char **digests = NULL;
	bool named_tag = ref->tag && !ref->digest;
	int rc = 0, error;
	if ((error = rs_tags_list(client, ref, cli_strings_add, &tags)) < 0 &&
	    error != RS_ENOTFOUND) {
		rc = cli_fail(error);
		goto done;
	}
	rs_error_clear();
	if ((error = rs_tags_digests(&digests, client, ref, (const char *const *)tags.items,
	                             tags.count)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	for (size_t i = 0; i < tags.count; i++)
		if (digests[i] && !strcmp(digests[i], digest) &&
		    !(named_tag && !strcmp(ref->tag, tags.items[i])))
			cli_strings_add(tags.items[i], sharing);
	/* the registry's listing order is its own: name them in byte order */
	if (sharing->count > 1)
		qsort(sharing->items, sharing->count, sizeof(*sharing->items), by_name);
done:
	if (digests)
		for (size_t i = 0; i < tags.count; i++)
			free(digests[i]);
	free(digests);
	cli_strings_dispose(&tags);
	return rc;
}

/* Other tags point at it and no --force: say which (RM_SHOWN of them) and what to do. */
static void refuse(const char *name, const char *digest, const cli_strings *sharing)
{
	char more[32], list[RM_SHOWN * 132 + 1];
	size_t o = 0;
	list[0] = '\0';
	for (size_t i = 0; i < sharing->count && i < RM_SHOWN && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
		                      sharing->items[i]);
	thousands(more, sizeof(more),
	          sharing->count - (sharing->count > RM_SHOWN ? RM_SHOWN : sharing->count));
	if (sharing->count > RM_SHOWN)
		cli_error("refusing to delete %s@%s: it is also tagged %s and %s more", name,
		          digest, list, more);
	else
		cli_error("refusing to delete %s@%s: it is also tagged %s", name, digest, list);
	fprintf(stderr,
	        "regship: deleting a manifest deletes every tag on it; use --force to delete "
	        "them all, or 'regship untag' to remove one tag%s\n",
	        sharing->count > RM_SHOWN ? " (--json lists every tag)" : "");
}

int cmd_rm(int argc, char **argv)
{
	bool force = false, json = false;
	const cli_opt opts[] = {
	        {CLI_OPT_BOOL, 'f', "force", &force, NULL,
	         "delete even when other tags point at the same manifest (they go too)"},
	        {CLI_OPT_BOOL, 0, "json", &json, NULL,
	         "print {\"reference\", \"repository\", \"tag\", \"digest\", \"deleted\", "
	         "\"tags\"}"},
	        CLI_OPT_END_MARK,
	};
	char **args, *digest = NULL, *name = NULL;
	int nargs, rc, error;
	rs_client *client = NULL;
	rs_ref *ref = NULL, *by_digest = NULL;
	cli_strings sharing = {0};
	bool deleted = false;

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if ((rc = cli_one_ref(usage, args, nargs, "REFERENCE", 0, &ref, &client)))
		goto done;
	/* the digest a delete needs: HEAD with every manifest type in Accept */
	if ((error = rs_manifest_resolve(client, ref, &digest, NULL, NULL)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if ((rc = find_sharing(client, ref, digest, &sharing)))
		goto done;
	if (!(name = rs_ref_format_name(ref)))
		cli_out_of_memory();
	if (sharing.count && !force) {
		refuse(name, digest, &sharing);
		rc = CLI_EXIT_ERROR;
	} else if ((error = rs_ref_with_digest(&by_digest, ref, digest)) < 0 ||
	           (error = rs_manifest_remove(client, by_digest)) < 0) {
		rc = cli_fail(error);
		goto done;
	} else {
		deleted = true;
	}
	if (ref->tag && !ref->digest) /* the named tag, last */
		cli_strings_add(ref->tag, &sharing);
	if (json) {
		print_json(name, ref, digest, deleted, &sharing);
	} else if (deleted) {
		printf("deleted %s@%s\n", name, digest);
		for (size_t i = 0; i < sharing.count; i++)
			printf("untagged %s:%s\n", name, sharing.items[i]);
	}
done:
	cli_strings_dispose(&sharing);
	free(digest);
	free(name);
	rs_ref_free(ref);
	rs_ref_free(by_digest);
	rs_client_free(client);
	free(args);
	return rc;
}
