/* Table-driven tests of rs_ref_parse (lib/ref/parse.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"
#include "util/util.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define D256 "sha256:" HEX64
#define D512 "sha512:" HEX64 HEX64

typedef struct {
	const char *input;
	unsigned int flags;
	/* expected result; domain == NULL means the parse must fail with `error` in the message */
	const char *domain, *path, *tag, *digest;
	const char *error;
} ref_case;

#define OK(in, d, p, t, g)                                                                         \
	{                                                                                          \
		in, 0, d, p, t, g, NULL                                                            \
	}
#define OKF(in, f, d, p, t, g)                                                                     \
	{                                                                                          \
		in, f, d, p, t, g, NULL                                                            \
	}
#define BAD(in, msg)                                                                               \
	{                                                                                          \
		in, 0, NULL, NULL, NULL, NULL, msg                                                 \
	}
#define BADF(in, f, msg)                                                                           \
	{                                                                                          \
		in, f, NULL, NULL, NULL, NULL, msg                                                 \
	}

static const ref_case cases[] = {
        /* docker.io normalisation */
        OK("ubuntu", "docker.io", "library/ubuntu", "latest", NULL),
        OK("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", NULL),
        OK("library/ubuntu", "docker.io", "library/ubuntu", "latest", NULL),
        OK("docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", NULL),
        OK("docker.io/library/ubuntu:x", "docker.io", "library/ubuntu", "x", NULL),
        OK("index.docker.io/ubuntu", "docker.io", "library/ubuntu", "latest", NULL),
        OK("index.docker.io/foo/bar", "docker.io", "foo/bar", "latest", NULL),
        OK("foo/bar", "docker.io", "foo/bar", "latest", NULL),
        OK("foo/bar/baz", "docker.io", "foo/bar/baz", "latest", NULL),
        OK("docker://alpine", "docker.io", "library/alpine", "latest", NULL),
        OK("docker://reg.io/a/b:1", "reg.io", "a/b", "1", NULL),
        /* domains */
        OK("registry.local:5000/gallery/ui:v1", "registry.local:5000", "gallery/ui", "v1", NULL),
        OK("myreg:5000/ubuntu", "myreg:5000", "ubuntu", "latest", NULL),
        OK("localhost/foo", "localhost", "foo", "latest", NULL),
        OK("localhost:5000/foo", "localhost:5000", "foo", "latest", NULL),
        OK("localhost:5000", "docker.io", "library/localhost", "5000", NULL),
        OK("127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b", "latest", NULL),
        OK("[::1]:5000/foo", "[::1]:5000", "foo", "latest", NULL),
        OK("[::1]/foo:t", "[::1]", "foo", "t", NULL),
        OK("[2001:db8::1]:443/x", "[2001:db8::1]:443", "x", "latest", NULL),
        OK("Example.COM/foo", "Example.COM", "foo", "latest", NULL),
        OK("a-b.example.com/x", "a-b.example.com", "x", "latest", NULL),
        OK("ghcr.io/owner/img:1.0", "ghcr.io", "owner/img", "1.0", NULL),
        OK("reg:1/x", "reg:1", "x", "latest", NULL),
        OK("reg:65535/x", "reg:65535", "x", "latest", NULL),
        /* separators */
        OK("a.b/c_d", "a.b", "c_d", "latest", NULL),
        OK("foo/a__b", "docker.io", "foo/a__b", "latest", NULL),
        OK("foo/a---b", "docker.io", "foo/a---b", "latest", NULL),
        OK("foo/a.b.c", "docker.io", "foo/a.b.c", "latest", NULL),
        OK("foo/0", "docker.io", "foo/0", "latest", NULL),
        /* tags */
        OK("foo:_x", "docker.io", "library/foo", "_x", NULL),
        OK("foo:V1.2-rc_3", "docker.io", "library/foo", "V1.2-rc_3", NULL),
        /* digests */
        OK("foo@" D256, "docker.io", "library/foo", NULL, D256),
        OK("foo:v1@" D256, "docker.io", "library/foo", "v1", D256),
        OK("reg:5000/a/b:v1@" D256, "reg:5000", "a/b", "v1", D256),
        OK("reg:5000/a/b@" D512, "reg:5000", "a/b", NULL, D512),
        /* flags */
        OKF("ubuntu", RS_REF_NAME_ONLY, "docker.io", "library/ubuntu", NULL, NULL),
        OKF("reg:5000/a/b", RS_REF_NAME_ONLY, "reg:5000", "a/b", NULL, NULL),
        OKF("ubuntu", RS_REF_NO_DEFAULT, "docker.io", "library/ubuntu", NULL, NULL),
        OKF("ubuntu:1", RS_REF_NO_DEFAULT, "docker.io", "library/ubuntu", "1", NULL),

        /* invalid */
        BAD("", "invalid reference \"\": empty reference"),
        BAD("docker://", "invalid reference \"docker://\": empty reference"),
        BAD("Gallery/UI", "invalid reference \"Gallery/UI\": repository name must be lowercase"),
        BAD("Ubuntu", "repository name must be lowercase"),
        BAD("reg.io/Foo", "repository name must be lowercase"),
        BAD("ubuntu:", "invalid reference \"ubuntu:\": tag missing after ':'"),
        BAD("ubuntu@", "invalid reference \"ubuntu@\": digest missing after '@'"),
        BAD("ubuntu:v1@", "digest missing after '@'"),
        BAD("@" D256, "repository name is missing"),
        BAD(":tag", "repository name is missing"),
        BAD("reg.io/", "repository name is missing after registry \"reg.io\""),
        BAD("reg.io/:v1", "repository name is missing after registry \"reg.io\""),
        BAD("foo//bar", "empty path component"),
        BAD("foo/bar/", "empty path component"),
        BAD("/foo", "empty path component"),
        BAD("foo/-bar", "path component \"-bar\" must start with a lowercase letter or digit"),
        BAD("foo/bar-", "path component \"bar-\" must end with a lowercase letter or digit"),
        BAD("foo/.bar", "must start with a lowercase letter or digit"),
        BAD("foo/a..b", "invalid separator \"..\" in path component \"a..b\""),
        BAD("foo/a___b", "invalid separator \"___\""),
        BAD("foo/a._b", "invalid separator \"._\""),
        BAD("foo/a_-b", "invalid separator \"_-\""),
        BAD("foo/a!b", "invalid character '!' in repository name"),
        BAD("foo/a b", "invalid character ' ' in repository name"),
        BAD("foo/a\tb", "invalid character \\x09 in repository name"),
        BAD(" ubuntu", "leading or trailing whitespace"),
        BAD("ubuntu\n", "leading or trailing whitespace"),
        BAD("ubuntu:-x", "tag must start with a letter, digit or '_', not '-'"),
        BAD("ubuntu:.x", "tag must start with a letter, digit or '_'"),
        BAD("ubuntu:a/b", "invalid character 'a' in port \"a\""), /* "ubuntu:a" is a host */
        BAD("ubuntu:a!b", "invalid character '!' in tag"),
        BAD("ubuntu:a:b", "invalid character ':' in tag"),
        BAD("ubuntu:a+b", "invalid character '+' in tag"),
        BAD("ubuntu:"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "tag is 129 characters long; the limit is 128"),
        BAD("foo@md5:" HEX64, "unsupported digest algorithm \"md5\" (only sha256 and sha512)"),
        BAD("foo@sha256:" HEX64 "0", "a sha256 digest has 64 hex characters, not 65"),
        BAD("foo@sha256:abc", "a sha256 digest has 64 hex characters, not 3"),
        BAD("foo@sha512:" HEX64, "a sha512 digest has 128 hex characters, not 64"),
        BAD("foo@sha256:"
            "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
            "digest hex must be lowercase"),
        BAD("foo@sha256:" HEX64 "@" D256, "invalid character '@' in digest hex"),
        BAD("foo@sha256:zz", "invalid character 'z' in digest hex"),
        BAD("foo@" HEX64, "is not of the form algorithm:hex"),
        BAD("foo@:" HEX64, "digest algorithm missing before ':'"),
        BAD("foo@1sha:" HEX64, "invalid digest algorithm \"1sha\""),
        BAD("foo@sha256:", "digest has no hex part"),
        BAD(HEX64, "a 64-character hexadecimal string is an image ID, not a repository name"),
        BAD(HEX64 ":v1", "is an image ID"),
        BAD("reg:abc/foo", "invalid character 'a' in port \"abc\""),
        BAD("reg:/foo", "port number missing after ':'"),
        BAD("reg:0/foo", "port 0 is out of range (1-65535)"),
        BAD("reg:70000/foo", "port 70000 is out of range (1-65535)"),
        BAD("reg:99999999999999999999/foo", "is out of range"),
        BAD("my_reg.io/foo", "invalid character '_' in registry host \"my_reg.io\""),
        BAD("-reg.io/foo", "starts or ends with '-'"),
        BAD("reg-.io/foo", "starts or ends with '-'"),
        BAD("reg..io/foo", "registry host \"reg..io\" has an empty name component"),
        BAD(".reg/foo", "has an empty name component"),
        BAD("[::1/foo", "lacks its closing ']'"),
        BAD("[::1]x/foo", "unexpected 'x' after IPv6 address"),
        BAD("[zz::1]:5000/foo", "invalid IPv6 address \"[zz::1]\""),
        BAD("[1:2:3:4:5:6:7:8:9]/foo", "invalid IPv6 address"),
        BAD("[]:5000/foo", "invalid IPv6 address"),
        BADF("ubuntu:v1", RS_REF_NAME_ONLY,
             "invalid reference \"ubuntu:v1\": a repository name was expected, not a tag"),
        BADF("ubuntu@" D256, RS_REF_NAME_ONLY, "a repository name was expected, not a digest"),
        BADF("ubuntu:v1@" D256, RS_REF_NAME_ONLY, "a repository name was expected"),
};

static void test_table(void **state)
{
	size_t failures = 0;
	(void)state;
	assert_true(sizeof(cases) / sizeof(cases[0]) >= 60);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const ref_case *c = &cases[i];
		rs_ref *ref = NULL;
		int rc;
		rs_error_clear();
		rc = rs_ref_parse(&ref, c->input, c->flags);
		if (c->domain) {
			bool ok =
			        rc == 0 && ref && strcmp(ref->domain, c->domain) == 0 &&
			        strcmp(ref->path, c->path) == 0 &&
			        (c->tag ? ref->tag && strcmp(ref->tag, c->tag) == 0 : !ref->tag) &&
			        (c->digest ? ref->digest && strcmp(ref->digest, c->digest) == 0
			                   : !ref->digest);
			if (!ok) {
				failures++;
				fprintf(stderr, "case %zu \"%s\": rc=%d %s/%s:%s@%s (%s)\n", i,
				        c->input, rc, ref ? ref->domain : "-",
				        ref ? ref->path : "-", ref && ref->tag ? ref->tag : "-",
				        ref && ref->digest ? ref->digest : "-",
				        rs_error_last() ? rs_error_last()->message : "");
			}
		} else {
			const rs_error *e = rs_error_last();
			bool ok = rc == RS_EINVAL && !ref && e && e->code == RS_EINVAL &&
			          strstr(e->message, c->error) &&
			          rs__str_startswith(e->message, "invalid reference \"");
			if (!ok) {
				failures++;
				fprintf(stderr,
				        "case %zu \"%s\": rc=%d, message \"%s\", want \"%s\"\n", i,
				        c->input, rc, e ? e->message : "(none)", c->error);
			}
		}
		rs_ref_free(ref);
	}
	assert_int_equal(failures, 0);
}

/* 255 characters of path are fine, 256 are not; the domain does not count. */
static void test_path_length(void **state)
{
	char in[600];
	rs_ref *ref = NULL;
	(void)state;
	memset(in, 0, sizeof(in));
	strcpy(in, "a-very-long-registry-name.example.com:5000/");
	memset(in + strlen(in), 'a', 255);
	assert_int_equal(rs_ref_parse(&ref, in, 0), 0);
	assert_int_equal(strlen(ref->path), 255);
	rs_ref_free(ref);

	in[strlen(in)] = 'a';
	assert_int_equal(rs_ref_parse(&ref, in, 0), RS_EINVAL);
	assert_null(ref);
	assert_non_null(strstr(rs_error_last()->message,
	                       "repository path is 256 characters long; the limit is 255"));

	/* "library/" counts: 248 characters on docker.io become 256 */
	memset(in, 0, sizeof(in));
	memset(in, 'b', 248);
	assert_int_equal(rs_ref_parse(&ref, in, 0), RS_EINVAL);
	assert_non_null(strstr(rs_error_last()->message, "repository path is 256 characters"));
	in[247] = '\0';
	assert_int_equal(rs_ref_parse(&ref, in, 0), 0);
	rs_ref_free(ref);
}

static void test_null_and_garbage(void **state)
{
	rs_ref *ref = (rs_ref *)&ref;
	char garbage[256];
	(void)state;
	assert_int_equal(rs_ref_parse(&ref, NULL, 0), RS_EINVAL);
	assert_null(ref);
	assert_int_equal(rs_ref_parse(NULL, "ubuntu", 0), RS_EINVAL);
	for (int i = 0; i < 255; i++)
		garbage[i] = (char)(i + 1);
	garbage[255] = '\0';
	assert_int_equal(rs_ref_parse(&ref, garbage, 0), RS_EINVAL);
	/* control bytes are shown escaped, and long inputs are cut */
	assert_non_null(strstr(rs_error_last()->message, "\\x01\\x02"));
	for (const char *m = rs_error_last()->message; *m; m++)
		assert_true((unsigned char)*m >= 0x20 && *m != 0x7f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_table),
	        cmocka_unit_test(test_path_length),
	        cmocka_unit_test(test_null_and_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
