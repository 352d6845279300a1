/* Unit tests for lib/util/digest.c: streaming hashes and digest string checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "regship/digest.h"
#include "util/digest.h"
#include "util/util.h"

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA256_EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA256_448 "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define SHA256_MILLION_A "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
#define SHA512_ABC                                                                                 \
	"sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a8"  \
	"36ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
#define SHA512_EMPTY                                                                               \
	"sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0"  \
	"ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
#define MSG_448 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"

static void test_sha256_vectors(void **state)
{
	char d[RS_DIGEST_MAX];
	(void)state;
	rs__sha256_digest(d, "", 0);
	assert_string_equal(d, SHA256_EMPTY);
	rs__sha256_digest(d, "abc", 3);
	assert_string_equal(d, SHA256_ABC);
	rs__sha256_digest(d, MSG_448, strlen(MSG_448));
	assert_string_equal(d, SHA256_448);
	assert_true(rs__digest_valid(d));
}

static void test_streaming_equals_one_shot(void **state)
{
	size_t n = 1000000;
	char *a = malloc(n);
	char one[RS_DIGEST_MAX], streamed[RS_DIGEST_MAX];
	rs__hasher *h = NULL;
	(void)state;
	memset(a, 'a', n);
	rs__sha256_digest(one, a, n);
	assert_string_equal(one, SHA256_MILLION_A);

	assert_int_equal(rs__hasher_new(&h, "sha256"), 0);
	/* uneven chunks, including empty updates */
	for (size_t off = 0, step = 1; off < n; step = step * 3 + 1) {
		size_t len = step % 70001;
		if (len > n - off)
			len = n - off;
		rs__hasher_update(h, a + off, len);
		off += len;
	}
	rs__hasher_final(h, streamed);
	assert_string_equal(streamed, one);

	/* final resets the hasher: it can be reused at once */
	rs__hasher_update(h, "abc", 3);
	rs__hasher_final(h, streamed);
	assert_string_equal(streamed, SHA256_ABC);

	/* reset drops what was fed so far */
	rs__hasher_update(h, "garbage", 7);
	rs__hasher_reset(h);
	rs__hasher_update(h, "a", 1);
	rs__hasher_update(h, "bc", 2);
	rs__hasher_final(h, streamed);
	assert_string_equal(streamed, SHA256_ABC);

	/* nothing fed */
	rs__hasher_final(h, streamed);
	assert_string_equal(streamed, SHA256_EMPTY);
	rs__hasher_free(h);
	rs__hasher_free(NULL);
	free(a);
}

static void test_sha512(void **state)
{
	char d[RS_DIGEST_MAX];
	rs__hasher *h = NULL;
	(void)state;
	assert_int_equal(rs__hasher_new(&h, "sha512"), 0);
	rs__hasher_update(h, "ab", 2);
	rs__hasher_update(h, "c", 1);
	rs__hasher_final(h, d);
	assert_string_equal(d, SHA512_ABC);
	assert_int_equal(strlen(d), 7 + 128);
	assert_true(strlen(d) < RS_DIGEST_MAX);
	rs__hasher_final(h, d);
	assert_string_equal(d, SHA512_EMPTY);
	assert_true(rs__digest_valid(d));
	rs__hasher_free(h);

	assert_int_equal(rs__digest_verify(SHA512_ABC, "abc", 3), 0);
	rs_error_clear();
	assert_int_equal(rs__digest_verify(SHA512_ABC, "abd", 3), RS_EDIGEST);
	/* compared with the expected algorithm: the "got" side is a sha512 too */
	assert_error_mentions(RS_EDIGEST, "got sha512:");
}

static void test_unsupported_algorithm(void **state)
{
	rs__hasher *h = (rs__hasher *)0x1;
	(void)state;
	rs_error_clear();
	assert_int_equal(rs__hasher_new(&h, "md5"), RS_EUNSUPPORTED);
	assert_error_mentions(RS_EUNSUPPORTED, "\"md5\"");
	assert_ptr_equal(h, (rs__hasher *)0x1); /* untouched */
	assert_int_equal(rs__hasher_new(&h, "SHA256"), RS_EUNSUPPORTED);
}

static void test_digest_valid(void **state)
{
	(void)state;
	assert_true(rs__digest_valid(SHA256_ABC));
	assert_true(rs__digest_valid(SHA512_ABC));
	assert_false(rs__digest_valid(NULL));
	assert_false(rs__digest_valid(""));
	assert_false(rs__digest_valid("sha256:"));
	assert_false(rs__digest_valid(SHA256_ABC "0"));
	assert_false(rs__digest_valid(
	        "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
	assert_false(rs__digest_valid(
	        "sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	assert_false(rs__digest_valid(
	        "md5:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	assert_false(rs__digest_valid(
	        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag"));

	/* it does not touch the last error */
	rs__error_set(RS_EIO, "earlier problem");
	assert_false(rs__digest_valid("nope"));
	assert_int_equal(rs_error_last()->code, RS_EIO);
	assert_string_equal(rs_error_last()->message, "earlier problem");
}

static void check_bad(const char *digest, const char *shown, const char *why)
{
	rs_error_clear();
	assert_int_equal(rs__digest_check(digest), RS_EINVAL);
	assert_error_mentions(RS_EINVAL, shown);
	assert_error_mentions(RS_EINVAL, why);
}

static void test_digest_check_messages(void **state)
{
	(void)state;
	assert_int_equal(rs__digest_check(SHA256_ABC), 0);
	assert_int_equal(rs__digest_check(SHA512_ABC), 0);

	check_bad(NULL, "invalid digest", "empty");
	check_bad("", "\"\"", "empty");
	check_bad("latest", "\"latest\"", "expected ALGORITHM:HEX");
	check_bad("md5:d41d8cd98f00b204e9800998ecf8427e",
	          "\"md5:d41d8cd98f00b204e9800998ecf8427e\"", "unsupported algorithm");
	check_bad("SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	          "SHA256:", "unsupported algorithm");
	check_bad("sha256:abc", "\"sha256:abc\"", "expected 64 lowercase hex digits");
	check_bad("sha256:", "\"sha256:\"", "expected 64 lowercase hex digits");
	check_bad("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
	          "BA7816BF", "expected 64 lowercase hex digits");
	check_bad(SHA256_ABC "00", "sha256:ba78", "expected 64 lowercase hex digits");
	check_bad("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f200 5ad",
	          "f200 5ad", "expected 64 lowercase hex digits");
	check_bad("sha512:"
	          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	          "sha512:ba78", "expected 128 lowercase hex digits");
}

static void test_digest_verify(void **state)
{
	(void)state;
	assert_int_equal(rs__digest_verify(SHA256_ABC, "abc", 3), 0);
	assert_int_equal(rs__digest_verify(SHA256_EMPTY, "", 0), 0);
	rs_error_clear();
	assert_int_equal(rs__digest_verify(SHA256_ABC, "abC", 3), RS_EDIGEST);
	assert_error_mentions(RS_EDIGEST, "expected " SHA256_ABC);
	{
		char got[RS_DIGEST_MAX], want[RS_DIGEST_MAX + 8];
		rs__sha256_digest(got, "abC", 3);
		snprintf(want, sizeof(want), "got %s", got);
		assert_error_mentions(RS_EDIGEST, want);
	}
	/* a malformed expected digest is an argument error, not a mismatch */
	rs_error_clear();
	assert_int_equal(rs__digest_verify("sha256:nothex", "abc", 3), RS_EINVAL);
	assert_error_mentions(RS_EINVAL, "sha256:nothex");
}

/* The public helper: streaming equals one-shot equals over a reader, for known vectors. */
static void test_public_api(void **state)
{
	static const char abc_sha256[] =
	        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	char out[RS_DIGEST_MAX], again[RS_DIGEST_MAX];
	rs_digest *d = NULL;
	rs_reader *r = NULL;
	uint64_t bytes = 0;
	unsigned char *big = rs__malloc(200000);
	(void)state;
	for (size_t i = 0; i < 200000; i++)
		big[i] = (unsigned char)(i * 7);

	assert_int_equal(rs_digest_buffer(out, "abc", 3), 0);
	assert_string_equal(out, abc_sha256);

	assert_int_equal(rs_digest_new(&d, NULL), 0);
	assert_int_equal(rs_digest_update(d, "a", 1), 0);
	assert_int_equal(rs_digest_update(d, "bc", 2), 0);
	assert_int_equal(rs_digest_final(d, again), 0);
	assert_string_equal(again, abc_sha256);
	/* final starts again empty */
	assert_int_equal(rs_digest_update(d, big, 200000), 0);
	assert_int_equal(rs_digest_final(d, again), 0);
	rs_digest_free(d);
	assert_int_equal(rs_digest_buffer(out, big, 200000), 0);
	assert_string_equal(again, out);

	/* over a reader, in several chunks */
	assert_int_equal(rs_reader_from_memory(&r, big, 200000), 0);
	assert_int_equal(rs_digest_reader(again, r, NULL, &bytes), 0);
	assert_string_equal(again, out);
	assert_int_equal(bytes, 200000);
	rs_reader_free(r);

	assert_int_equal(rs_digest_new(&d, "md5"), RS_EUNSUPPORTED);
	assert_null(d);
	assert_int_equal(rs_digest_check(abc_sha256), 0);
	assert_int_equal(rs_digest_check("sha256:abc"), RS_EINVAL);
	assert_int_equal(rs_digest_reader(out, NULL, NULL, NULL), RS_EINVAL);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_sha256_vectors),
	        cmocka_unit_test(test_streaming_equals_one_shot),
	        cmocka_unit_test(test_sha512),
	        cmocka_unit_test(test_unsupported_algorithm),
	        cmocka_unit_test(test_digest_valid),
	        cmocka_unit_test(test_digest_check_messages),
	        cmocka_unit_test(test_digest_verify),
	        cmocka_unit_test(test_public_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
