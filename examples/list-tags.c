/*
 * list-tags REPOSITORY — print every tag of a registry repository, one a line.
 *
 *   cc list-tags.c $(pkg-config --cflags --libs libregship) -o list-tags
 *   ./list-tags registry.local:5000/team/app
 *
 * Uses only the installed headers: <regship.h>. Credentials come from the environment
 * (REGSHIP_USER / REGSHIP_PASSWORD) when set; plain HTTP is allowed to loopback only.
 */
#include <regship.h>

#include <stdio.h>
#include <stdlib.h>

static int print_tag(const char *tag, void *payload)
{
	rs_buf safe = RS_BUF_INIT;
	(void)payload;
	rs_text_escape(&safe, tag, 0); /* names are the server's: escape before printing */
	printf("%s\n", safe.ptr ? safe.ptr : "");
	rs_buf_dispose(&safe);
	return 0;
}

int main(int argc, char **argv)
{
	rs_client_options opts = RS_CLIENT_OPTIONS_INIT;
	rs_client *client = NULL;
	rs_ref *repo = NULL;
	int error;

	if (argc != 2) {
		fprintf(stderr, "usage: %s REGISTRY/REPOSITORY\n", argv[0]);
		return 2;
	}
	if (rs_init() < 0) {
		fprintf(stderr, "list-tags: %s\n", rs_error_last()->message);
		return 1;
	}
	opts.username = getenv("REGSHIP_USER");
	opts.password = getenv("REGSHIP_PASSWORD");
	if ((error = rs_ref_parse(&repo, argv[1], 0)) < 0 ||
	    (error = rs_client_new(&client, &opts)) < 0 ||
	    (error = rs_tags_list(client, repo, print_tag, NULL)) < 0)
		/* rs_error_last() is never NULL and always describes a failure */
		fprintf(stderr, "list-tags: %s\n", rs_error_last()->message);
	rs_client_free(client);
	rs_ref_free(repo);
	rs_shutdown();
	return error < 0 ? 1 : 0;
}
