/*
 * copy-layout DIR TAG DESTINATION — push the image TAG of an OCI image layout directory to a
 * registry (DESTINATION = REGISTRY/REPOSITORY:TAG), printing progress as blobs move.
 *
 *   cc copy-layout.c $(pkg-config --cflags --libs libregship) -o copy-layout
 *   ./copy-layout ./layout v1 registry.local:5000/team/app:v1
 *
 * Uses only the installed headers: <regship.h>.
 */
#include <regship.h>

#include <stdio.h>
#include <stdlib.h>

/* Called from the engine's worker threads, one call at a time. */
static int progress(const rs_copy_event *ev, void *payload)
{
	(void)payload;
	if (ev->kind == RS_COPY_MANIFEST)
		fprintf(stderr, "manifest %s -> %s\n", ev->digest,
		        ev->reference ? ev->reference : "(by digest)");
	else if (ev->state != RS_BLOB_TRANSFERRING || ev->bytes_done == 0)
		fprintf(stderr, "blob %.19s %-12s %lld bytes\n", ev->digest,
		        rs_blob_state_name(ev->state), (long long)ev->size);
	return 0; /* non-zero would cancel the copy */
}

int main(int argc, char **argv)
{
	rs_client_options copts = RS_CLIENT_OPTIONS_INIT;
	rs_copy_options opts = RS_COPY_OPTIONS_INIT;
	rs_copy_result result = RS_COPY_RESULT_INIT;
	rs_client *client = NULL;
	rs_store *src = NULL, *dst = NULL;
	rs_ref *dest = NULL;
	int error;

	if (argc != 4) {
		fprintf(stderr, "usage: %s LAYOUT-DIR TAG REGISTRY/REPOSITORY:TAG\n", argv[0]);
		return 2;
	}
	if (rs_init() < 0) {
		fprintf(stderr, "copy-layout: %s\n", rs_error_last()->message);
		return 1;
	}
	copts.username = getenv("REGSHIP_USER");
	copts.password = getenv("REGSHIP_PASSWORD");
	opts.callback = progress;
	opts.no_mount_cache = 1; /* no blob-location cache under $XDG_CACHE_HOME */
	if ((error = rs_ref_parse(&dest, argv[3], 0)) < 0 ||
	    (error = rs_client_new(&client, &copts)) < 0 ||
	    (error = rs_store_open_oci_layout(&src, argv[1], RS_STORE_READ)) < 0 ||
	    (error = rs_store_open_registry(&dst, client, dest, NULL)) < 0 ||
	    (error = rs_copy(dst, dest->tag, src, argv[2], &opts, &result)) < 0 ||
	    (error = rs_store_commit(dst)) < 0)
		fprintf(stderr, "copy-layout: %s\n", rs_error_last()->message);
	else
		printf("%s %llu bytes sent\n", result.digest,
		       (unsigned long long)result.bytes_sent);
	rs_copy_result_dispose(&result); /* also after a failed copy */
	rs_store_free(dst);
	rs_store_free(src);
	rs_client_free(client);
	rs_ref_free(dest);
	rs_shutdown();
	return error < 0 ? 1 : 0;
}
