/*
 * resolve-digest REFERENCE — print the manifest digest a tag points at (a HEAD request, as
 * `docker buildx imagetools inspect` shows it), then check it by fetching the bytes and hashing
 * them with the library's digest helper.
 *
 *   cc resolve-digest.c $(pkg-config --cflags --libs libregship) -o resolve-digest
 *   ./resolve-digest registry.local:5000/team/app:v1
 *
 * Uses only the installed headers: <regship.h>.
 */
#include <regship.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	rs_client_options opts = RS_CLIENT_OPTIONS_INIT;
	rs_client *client = NULL;
	rs_ref *ref = NULL;
	rs_buf body = RS_BUF_INIT;
	char *digest = NULL, *media_type = NULL, computed[RS_DIGEST_MAX];
	int64_t size = -1;
	int error;

	if (argc != 2) {
		fprintf(stderr, "usage: %s REGISTRY/REPOSITORY:TAG\n", argv[0]);
		return 2;
	}
	if (rs_init() < 0) {
		fprintf(stderr, "resolve-digest: %s\n", rs_error_last()->message);
		return 1;
	}
	opts.username = getenv("REGSHIP_USER");
	opts.password = getenv("REGSHIP_PASSWORD");
	if ((error = rs_ref_parse(&ref, argv[1], 0)) < 0 ||
	    (error = rs_client_new(&client, &opts)) < 0 ||
	    (error = rs_registry_manifest_resolve(client, ref, &digest, &media_type, &size)) < 0 ||
	    (error = rs_registry_manifest_get(client, ref, &body, NULL, NULL)) < 0 ||
	    (error = rs_digest_buffer(computed, body.ptr, body.size)) < 0)
		goto done;
	if (strcmp(computed, digest)) {
		error = rs_error_set(RS_EDIGEST, "the registry says %s, the bytes hash to %s",
		                     digest, computed);
		goto done;
	}
	printf("%s\n", digest);
	fprintf(stderr, "%s, %lld bytes\n", media_type, (long long)size);
done:
	if (error < 0)
		fprintf(stderr, "resolve-digest: %s\n", rs_error_last()->message);
	free(digest);
	free(media_type);
	rs_buf_dispose(&body);
	rs_client_free(client);
	rs_ref_free(ref);
	rs_shutdown();
	return error < 0 ? 1 : 0;
}
