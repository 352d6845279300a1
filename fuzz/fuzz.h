/*
 * libFuzzer targets for regship's parsers (fuzz/README.md).
 *
 * Each target fuzz/fuzz_<name>.c defines its body as a plain function, rs_fuzz_<name>(), that a
 * unit test can call too (tests/unit/fuzz/test_regressions.c replays fuzz/regressions/ and the
 * seed corpora through it), plus the libFuzzer entry point LLVMFuzzerTestOneInput, left out when
 * RS_FUZZ_NO_ENTRY is defined. A body always returns 0; a broken property aborts (rs_fuzz_assert)
 * so that libFuzzer records the input as a crash.
 */
#ifndef RS_FUZZ_H
#define RS_FUZZ_H

#include "regship/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int rs_fuzz_ref(const uint8_t *data, size_t size);
int rs_fuzz_challenge(const uint8_t *data, size_t size);
int rs_fuzz_link(const uint8_t *data, size_t size);
int rs_fuzz_manifest(const uint8_t *data, size_t size);
int rs_fuzz_dockercfg(const uint8_t *data, size_t size);
int rs_fuzz_oci_layout(const uint8_t *data, size_t size);
int rs_fuzz_docker_archive(const uint8_t *data, size_t size);

/* ---- shared helpers (fuzz/fuzz_common.c) ---------------------------------------------------- */

/* A NUL-terminated copy of data (which may hold NULs: the string ends at the first). Free it. */
char *rs_fuzz_cstr(const uint8_t *data, size_t size);

/*
 * The process's private scratch directory, created on first use under $TMPDIR (else /tmp) and
 * removed at exit. The first call also points PATH at an empty directory inside it, so that no
 * docker-credential-* helper (or any other program) can ever be executed by a target.
 */
const char *rs_fuzz_tmpdir(void);

/* Write data to path (created or truncated); aborts when that fails. */
void rs_fuzz_write_file(const char *path, const uint8_t *data, size_t size);

/* Abort unless dir holds exactly the entries named in keep (NULL-terminated): a target must not
 * leave temporary files behind. */
void rs_fuzz_assert_dir_only(const char *dir, const char *const *keep);

/*
 * Read everything a store offers: manifest_get(NULL) and each of references (NULL-terminated,
 * may be NULL) and of the first tags; every child of an index (two levels); every blob of a
 * manifest, opened and read to the end. self_made: the store synthesises its manifests (docker
 * archives), so they must parse and their blobs must have the digests and sizes they claim.
 */
void rs_fuzz_walk_store(rs_store *s, const char *const *references, bool self_made);

/* Abort with a message naming the broken property when cond is false. */
#define rs_fuzz_assert(cond, what) rs_fuzz__assert((cond), (what), __FILE__, __LINE__)
void rs_fuzz__assert(bool cond, const char *what, const char *file, int line);

/* libFuzzer's entry point (declared for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef RS_FUZZ_NO_ENTRY
#define RS_FUZZ_ENTRY(body)
#else
#define RS_FUZZ_ENTRY(body)                                                                        \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                               \
	{                                                                                          \
		return body(data, size);                                                           \
	}
#endif

#endif
