#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "regship/store.h"
#include "store/store.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct {
	const char *text;
	int error; /* 0 or the expected RS_E* code */
	rs_location_kind kind;
	const char *path;
	const char *reference;
	const char *message; /* a substring of the error message */
} location_case;

static const location_case cases[] = {
        /* registries */
        {"docker://registry.local:5000/gallery/ui:v1", 0, RS_LOCATION_REGISTRY, NULL,
         "registry.local:5000/gallery/ui:v1", NULL},
        {"docker://ubuntu", 0, RS_LOCATION_REGISTRY, NULL, "ubuntu", NULL},
        {"ubuntu", 0, RS_LOCATION_REGISTRY, NULL, "ubuntu", NULL},
        {"ubuntu:22.04", 0, RS_LOCATION_REGISTRY, NULL, "ubuntu:22.04", NULL},
        {"registry.local:5000/gallery/ui:v1", 0, RS_LOCATION_REGISTRY, NULL,
         "registry.local:5000/gallery/ui:v1", NULL},
        {"localhost:5000/app", 0, RS_LOCATION_REGISTRY, NULL, "localhost:5000/app", NULL},
        {"myhost:5000/team/app:1.0", 0, RS_LOCATION_REGISTRY, NULL, "myhost:5000/team/app:1.0",
         NULL},
        {"app@sha256:" HEX, 0, RS_LOCATION_REGISTRY, NULL, "app@sha256:" HEX, NULL},
        {"app:v2@sha256:" HEX, 0, RS_LOCATION_REGISTRY, NULL, "app:v2@sha256:" HEX, NULL},
        {"[::1]:5000/app:v1", 0, RS_LOCATION_REGISTRY, NULL, "[::1]:5000/app:v1", NULL},
        /* OCI layouts */
        {"oci:/tmp/layout", 0, RS_LOCATION_OCI_LAYOUT, "/tmp/layout", NULL, NULL},
        {"oci:/tmp/layout:v1", 0, RS_LOCATION_OCI_LAYOUT, "/tmp/layout", "v1", NULL},
        {"oci:rel/dir:1.0-rc_1", 0, RS_LOCATION_OCI_LAYOUT, "rel/dir", "1.0-rc_1", NULL},
        {"oci:dir:sha256:" HEX, 0, RS_LOCATION_OCI_LAYOUT, "dir", "sha256:" HEX, NULL},
        /* OCI reference names (podman, buildah, skopeo): '/' and ':' inside; DIR@DIGEST */
        {"oci:dir:localhost/t1:oci", 0, RS_LOCATION_OCI_LAYOUT, "dir", "localhost/t1:oci", NULL},
        {"oci:dir:a.b-c/d__e:1+x@y", 0, RS_LOCATION_OCI_LAYOUT, "dir", "a.b-c/d__e:1+x@y", NULL},
        {"oci:dir@sha256:" HEX, 0, RS_LOCATION_OCI_LAYOUT, "dir", "sha256:" HEX, NULL},
        {"oci-archive:a.tar@sha256:" HEX, 0, RS_LOCATION_OCI_ARCHIVE, "a.tar", "sha256:" HEX, NULL},
        {"oci-archive:a.tar:localhost/t1:v1", 0, RS_LOCATION_OCI_ARCHIVE, "a.tar",
         "localhost/t1:v1", NULL},
        {"oci:dir@sha256:abc", RS_EINVAL, 0, NULL, NULL, "not a valid digest"},
        {"oci:dir:localhost//t1", RS_EINVAL, 0, NULL, NULL, "invalid tag"},
        {"oci:dir:localhost/t1:", RS_EINVAL, 0, NULL, NULL, "invalid tag"},
        {"oci:dir:a/-b", RS_EINVAL, 0, NULL, NULL, "invalid tag"},
        {"oci:dir:a/b!", RS_EINVAL, 0, NULL, NULL, "invalid tag"},
        /* OCI archives */
        {"oci-archive:img.tar", 0, RS_LOCATION_OCI_ARCHIVE, "img.tar", NULL, NULL},
        {"oci-archive:/x/img.tar:latest", 0, RS_LOCATION_OCI_ARCHIVE, "/x/img.tar", "latest", NULL},
        /* docker archives: the reference may hold ':' itself */
        {"docker-archive:img.tar", 0, RS_LOCATION_DOCKER_ARCHIVE, "img.tar", NULL, NULL},
        {"docker-archive:img.tar:registry.local:5000/gallery/ui:v1", 0, RS_LOCATION_DOCKER_ARCHIVE,
         "img.tar", "registry.local:5000/gallery/ui:v1", NULL},
        {"docker-archive:/a/b.tar:ubuntu", 0, RS_LOCATION_DOCKER_ARCHIVE, "/a/b.tar", "ubuntu",
         NULL},
        {"docker-archive:img.tar:@0", 0, RS_LOCATION_DOCKER_ARCHIVE, "img.tar", "@0", NULL},
        /* unknown transports */
        {"foo:/bar", RS_EINVAL, 0, NULL, NULL,
         "unknown transport \"foo:\"; expected docker://, oci:, oci-archive: or "
         "docker-archive:"},
        {"dir:/tmp/x", RS_EINVAL, 0, NULL, NULL, "unknown transport \"dir:\""},
        {"docker-daemon:alpine:latest", RS_EINVAL, 0, NULL, NULL,
         "unknown transport \"docker-daemon:\""},
        {"containers-storage:img", RS_EINVAL, 0, NULL, NULL,
         "unknown transport \"containers-storage:\""},
        {"docker:ubuntu", RS_EINVAL, 0, NULL, NULL, "unknown transport \"docker:\""},
        {"oci-dir:x", RS_EINVAL, 0, NULL, NULL, "unknown transport \"oci-dir:\""},
        /* empty parts */
        {"", RS_EINVAL, 0, NULL, NULL, "empty"},
        {"oci:", RS_EINVAL, 0, NULL, NULL, "empty directory name"},
        {"oci::v1", RS_EINVAL, 0, NULL, NULL, "empty directory name"},
        {"oci-archive:", RS_EINVAL, 0, NULL, NULL, "empty file name"},
        {"docker-archive::ubuntu", RS_EINVAL, 0, NULL, NULL, "empty file name"},
        {"oci:dir:", RS_EINVAL, 0, NULL, NULL, "empty tag"},
        {"docker-archive:img.tar:", RS_EINVAL, 0, NULL, NULL, "empty reference"},
        {"docker://", RS_EINVAL, 0, NULL, NULL, "empty reference"},
        /* malformed parts */
        {"oci:dir:-v1", RS_EINVAL, 0, NULL, NULL, "invalid tag \"-v1\""},
        {"oci-archive:a.tar:with space", RS_EINVAL, 0, NULL, NULL, "invalid tag"},
        {"oci:dir:sha256:abc", RS_EINVAL, 0, NULL, NULL, "not a valid digest"},
        {"docker-archive:a.tar:bad ref", RS_EINVAL, 0, NULL, NULL, "bad ref"},
        {"has space", RS_EINVAL, 0, NULL, NULL, "blanks"},
        {"ubuntu\n", RS_EINVAL, 0, NULL, NULL, "control character"},
        /* standard input / output */
        {"docker-archive:-", 0, RS_LOCATION_DOCKER_ARCHIVE, "-", NULL, NULL},
        {"docker-archive:-:app:v1", 0, RS_LOCATION_DOCKER_ARCHIVE, "-", "app:v1", NULL},
        {"oci-archive:-:v1", 0, RS_LOCATION_OCI_ARCHIVE, "-", "v1", NULL},
        {"-", RS_EINVAL, 0, NULL, NULL, "docker-archive:- or oci-archive:-"},
        /* URLs: say what to write (rs_location_check_scheme), in any case */
        {"http://localhost:5000/app", RS_EINVAL, 0, NULL, NULL,
         "write it without \"http://\" (localhost:5000/app)"},
        {"HTTPS://registry.local/app:v1", RS_EINVAL, 0, NULL, NULL,
         "write it without \"HTTPS://\" (registry.local/app:v1)"},
        {"https://x/y.tar", RS_EINVAL, 0, NULL, NULL, "without \"https://\""},
        /* bare paths that do not exist */
        {"/nonexistent/regship/dir", RS_EINVAL, 0, NULL, NULL, "oci:/nonexistent/regship/dir"},
        {"./nowhere", RS_EINVAL, 0, NULL, NULL, "no such file"},
        {"missing-regship-test.tar", RS_EINVAL, 0, NULL, NULL,
         "oci-archive:missing-regship-test.tar"},
};

static void test_location_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const location_case *c = &cases[i];
		rs_location *loc = (rs_location *)(uintptr_t)1;
		int error = rs_location_parse(&loc, c->text);
		if (error != c->error)
			fail_msg("\"%s\": got %d (%s), want %d", c->text, error,
			         rs_error_last() ? rs_error_last()->message : "", c->error);
		if (error < 0) {
			assert_null(loc);
			if (!strstr(rs_error_last()->message, c->message))
				fail_msg("\"%s\": message \"%s\" lacks \"%s\"", c->text,
				         rs_error_last()->message, c->message);
			continue;
		}
		if (loc->kind != c->kind)
			fail_msg("\"%s\": kind %s, want %s", c->text,
			         rs_location_kind_name(loc->kind), rs_location_kind_name(c->kind));
		assert_string_equal(loc->text, c->text);
		if (c->path)
			assert_string_equal(loc->path, c->path);
		else
			assert_null(loc->path);
		if (c->reference)
			assert_string_equal(loc->reference, c->reference);
		else
			assert_null(loc->reference);
		rs_location_free(loc);
	}
	rs_location_free(NULL);
	assert_int_equal(rs_location_parse(NULL, "ubuntu"), RS_EINVAL);
	assert_int_equal(rs_location_check_scheme("localhost:5000/app"), 0);
	assert_int_equal(rs_location_check_scheme("docker://localhost:5000/app"), 0);
	assert_int_equal(rs_location_check_scheme(NULL), 0);
	assert_int_equal(rs_location_check_scheme("http://h/a\x01b"), RS_EINVAL);
	assert_null(strchr(rs_error_last()->message, '\x01'));
	assert_string_equal(rs_location_kind_name(RS_LOCATION_OCI_ARCHIVE), "oci-archive");
}

static void make_tar(const char *file, const char *const *names, size_t n)
{
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, file), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();
		archive_entry_copy_pathname(e, names[i]);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0644);
		archive_entry_set_size(e, 2);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		archive_write_data(a, "{}", 2);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static void expect_kind(const char *text, rs_location_kind kind)
{
	rs_location *loc = NULL;
	int error = rs_location_parse(&loc, text);
	if (error < 0)
		fail_msg("\"%s\": %s", text, rs_error_last()->message);
	assert_int_equal(loc->kind, kind);
	assert_string_equal(loc->path, text);
	assert_null(loc->reference);
	rs_location_free(loc);
}

static void test_bare_paths(void **state)
{
	char root[] = "/tmp/rs-loc-XXXXXX";
	rs_buf p = RS_BUF_INIT;
	rs_store *s = NULL;
	rs_location *loc = NULL;
	static const char *const docker[] = {"manifest.json", "index.json", "oci-layout"};
	static const char *const oci[] = {"./oci-layout", "./index.json"};
	static const char *const neither[] = {"hello.txt"};
	(void)state;
	assert_non_null(mkdtemp(root));

	rs__buf_printf(&p, "%s/layout", root);
	assert_int_equal(rs_store_open_oci_layout(&s, p.ptr, RS_STORE_WRITE), 0);
	rs_store_free(s);
	expect_kind(p.ptr, RS_LOCATION_OCI_LAYOUT);

	rs__buf_clear(&p);
	rs__buf_printf(&p, "%s/docker.tar", root);
	make_tar(p.ptr, docker, 3);
	expect_kind(p.ptr, RS_LOCATION_DOCKER_ARCHIVE);

	rs__buf_clear(&p);
	rs__buf_printf(&p, "%s/oci.tar", root);
	make_tar(p.ptr, oci, 2);
	expect_kind(p.ptr, RS_LOCATION_OCI_ARCHIVE);

	rs__buf_clear(&p);
	rs__buf_printf(&p, "%s/neither.tar", root);
	make_tar(p.ptr, neither, 1);
	assert_int_equal(rs_location_parse(&loc, p.ptr), RS_EFORMAT);
	assert_non_null(strstr(rs_error_last()->message, "neither"));

	rs__buf_clear(&p);
	rs__buf_printf(&p, "%s/garbage.tar", root);
	assert_int_equal(rs__file_write_atomic(p.ptr, "nope", 4, 0644), 0);
	assert_int_equal(rs_location_parse(&loc, p.ptr), RS_EFORMAT);
	assert_non_null(strstr(rs_error_last()->message, p.ptr));

	/* a directory that is not a layout, a file that is not a .tar */
	assert_int_equal(rs_location_parse(&loc, root), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "not an OCI layout"));
	rs__buf_clear(&p);
	rs__buf_printf(&p, "%s/notes.txt", root);
	assert_int_equal(rs__file_write_atomic(p.ptr, "x", 1, 0644), 0);
	assert_int_equal(rs_location_parse(&loc, p.ptr), RS_EINVAL);
	assert_null(loc);

	assert_int_equal(rs__rmtree(root), 0);
	rs_buf_dispose(&p);
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static int fake_get(rs_store *s, const char *reference, rs_buf *body, char **media_type,
                    char **digest)
{
	(void)s;
	(void)media_type;
	(void)digest;
	rs__buf_puts(body, reference ? reference : "(default)");
	return 0;
}

static int freed;

static void fake_free(rs_store *s)
{
	freed++;
	free(s);
}

static const rs_store_ops fake_ops = {
        .version = RS_STORE_OPS_VERSION,
        .scheme = "fake",
        .manifest_get = fake_get,
        .free = fake_free,
};

static int never_cb(const char *tag, void *payload)
{
	(void)tag;
	(void)payload;
	return 0;
}

static void test_dispatch(void **state)
{
	rs_store *s = calloc(1, sizeof(*s));
	rs_buf body = RS_BUF_INIT;
	rs_descriptor desc = {0};
	rs_reader *r = NULL;
	(void)state;
	s->ops = &fake_ops;
	assert_string_equal(rs_store_scheme(s), "fake");
	assert_null(rs_store_scheme(NULL));
	assert_int_equal(rs_store_manifest_get(s, "v1", &body, NULL, NULL), 0);
	assert_string_equal(body.ptr, "v1");
	assert_int_equal(rs_store_manifest_get(s, "v1", NULL, NULL, NULL), RS_EINVAL);

	assert_int_equal(rs_store_manifest_put(s, "v1", "{}", 2, NULL), RS_EUNSUPPORTED);
	assert_non_null(strstr(rs_error_last()->message, "fake"));
	assert_int_equal(rs_store_manifest_delete(s, "sha256:" HEX), RS_EUNSUPPORTED);
	assert_int_equal(rs_store_blob_exists(s, &desc), RS_EUNSUPPORTED);
	assert_int_equal(rs_store_blob_open(&r, s, &desc), RS_EUNSUPPORTED);
	assert_int_equal(rs_store_blob_put(s, &desc, NULL, NULL, NULL), RS_EUNSUPPORTED);
	assert_int_equal(rs_store_blob_mount(s, &desc, "other/repo"), RS_EUNSUPPORTED);
	assert_non_null(strstr(rs_error_last()->message, "mounting"));
	assert_int_equal(rs_store_tag_list(s, never_cb, NULL), RS_EUNSUPPORTED);
	assert_int_equal(rs_store_commit(s), 0); /* nothing to finish */

	assert_int_equal(rs_store_manifest_get(NULL, "v1", &body, NULL, NULL), RS_EINVAL);
	assert_int_equal(rs_store_commit(NULL), RS_EINVAL);
	rs_store_free(NULL);
	freed = 0;
	rs_store_free(s);
	assert_int_equal(freed, 1);
	rs_buf_dispose(&body);
}

static void test_rmtree_stays_inside(void **state)
{
	char root[] = "/tmp/rs-rm-XXXXXX";
	rs_buf p = RS_BUF_INIT, keep = RS_BUF_INIT, link = RS_BUF_INIT;
	struct stat st;
	(void)state;
	assert_non_null(mkdtemp(root));
	rs__buf_printf(&keep, "%s/keep/precious", root);
	rs__buf_printf(&p, "%s/tree/a/b", root);
	assert_int_equal(rs__mkdir_p(p.ptr, 0755), 0);
	rs__buf_puts(&p, "/file");
	assert_int_equal(rs__file_write_atomic(p.ptr, "x", 1, 0644), 0);
	rs__buf_clear(&p);
	rs__buf_printf(&p, "%s/keep", root);
	assert_int_equal(rs__mkdir_p(p.ptr, 0755), 0);
	assert_int_equal(rs__file_write_atomic(keep.ptr, "x", 1, 0644), 0);
	rs__buf_printf(&link, "%s/tree/a/escape", root);
	assert_int_equal(symlink(p.ptr, link.ptr), 0);
	rs__buf_clear(&p);
	rs__buf_printf(&p, "%s/tree", root);
	assert_int_equal(rs__rmtree(p.ptr), 0);
	assert_int_equal(stat(p.ptr, &st), -1);
	assert_int_equal(stat(keep.ptr, &st), 0); /* the link was removed, not followed */
	assert_int_equal(rs__rmtree(p.ptr), 0); /* missing: fine */
	assert_int_equal(rs__rmtree(""), RS_EINVAL);
	assert_int_equal(rs__rmtree(root), 0);
	rs_buf_dispose(&p);
	rs_buf_dispose(&keep);
	rs_buf_dispose(&link);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_location_table),
	        cmocka_unit_test(test_bare_paths),
	        cmocka_unit_test(test_dispatch),
	        cmocka_unit_test(test_rmtree_stays_inside),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
