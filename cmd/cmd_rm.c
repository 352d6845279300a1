/*
 * regship rm — delete a manifest by digest. Deleting a manifest deletes every tag that points
 * at it, so the other tags are found first and the deletion is refused without --force.
 */
#include "cli.h"
#include "cli_list.h"

#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {"regship rm [--force] REFERENCE", NULL};

int cmd_rm(int argc, char **argv)
{
	bool force = false;
	const cli_opt opts[] = {
	        {CLI_OPT_BOOL, 'f', "force", &force, NULL,
	         "delete even when other tags point at the same manifest (they go too)"},
	        CLI_OPT_END_MARK,
	};
	char **args, *digest = NULL, *name = NULL;
	int nargs, rc, error;
	rs_client *client = NULL;
	rs_ref *ref = NULL, *by_digest = NULL;
	cli_strings tags = {0}, sharing = {0};

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if ((rc = cli_one_ref(usage, args, nargs, "REFERENCE", 0, &ref, &client)))
		goto done;
	/* the digest a delete needs: HEAD with every manifest type in Accept */
	if ((error = rs_manifest_resolve(client, ref, &digest, NULL, NULL)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if ((error = rs_tags_list(client, ref, cli_strings_add, &tags)) < 0 &&
	    error != RS_ENOTFOUND) {
		rc = cli_fail(error);
		goto done;
	}
	for (size_t i = 0; i < tags.count; i++) {
		rs_ref *t = NULL;
		char *d = NULL;
		if ((error = rs_ref_with_tag(&t, ref, tags.items[i])) < 0) {
			rc = cli_fail(error);
			goto done;
		}
		error = rs_manifest_resolve(client, t, &d, NULL, NULL);
		rs_ref_free(t);
		if (error == RS_ENOTFOUND) {
			rs_error_clear();
			continue; /* deleted meanwhile */
		}
		if (error < 0) {
			rc = cli_fail(error);
			goto done;
		}
		if (!strcmp(d, digest) &&
		    !(ref->tag && !ref->digest && !strcmp(ref->tag, tags.items[i])))
			cli_strings_add(tags.items[i], &sharing);
		free(d);
	}
	name = rs_ref_format_name(ref);
	if (sharing.count && !force) {
		cli_error("refusing to delete %s@%s: it is also tagged %s", name, digest,
		          sharing.items[0]);
		for (size_t i = 1; i < sharing.count; i++)
			fprintf(stderr, "regship:   also tagged %s\n", sharing.items[i]);
		fprintf(stderr, "regship: deleting a manifest deletes every tag on it; use --force "
		                "to delete them all, or 'regship untag' to remove one tag\n");
		rc = CLI_EXIT_ERROR;
		goto done;
	}
	if ((error = rs_ref_with_digest(&by_digest, ref, digest)) < 0 ||
	    (error = rs_manifest_remove(client, by_digest)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	printf("deleted %s@%s\n", name, digest);
	for (size_t i = 0; i < sharing.count; i++)
		printf("untagged %s:%s\n", name, sharing.items[i]);
	if (ref->tag && !ref->digest)
		printf("untagged %s:%s\n", name, ref->tag);
done:
	cli_strings_dispose(&tags);
	cli_strings_dispose(&sharing);
	free(digest);
	free(name);
	rs_ref_free(ref);
	rs_ref_free(by_digest);
	rs_client_free(client);
	free(args);
	return rc;
}
