/*
 * Internal helpers shared by every part of lib/ (never installed).
 * Names with a double underscore (rs__) are library-internal.
 */
#ifndef RS_UTIL_H
#define RS_UTIL_H

#include "regship/buf.h"
#include "regship/errors.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Allocation. These return NULL when memory runs out (and for rs__strdup(NULL)); they never
 * write anything nor end the process. Every caller checks the result and returns rs__oom()
 * (RS_ENOMEM, "out of memory") through its normal error path, freeing what it holds. On
 * failure rs__realloc leaves the old block allocated: keep the old pointer until it succeeds.
 * jansson constructors (json_object(), json_string(), json_pack(), json_dumps(), ...) and
 * json_loads' json_error_out_of_memory count as allocations too. By the same rule, every
 * internal function that returns a new char * ("caller frees") returns NULL when out of
 * memory, with RS_ENOMEM set. Cleanup paths (dispose, free, removing temporary files) never
 * allocate. Tests fail the n-th allocation with rs__alloc_fail_at() (tests/unit/util/
 * test_oom.c) and run under ASan/LSan and valgrind.
 */
void *rs__malloc(size_t n);
void *rs__calloc(size_t nmemb, size_t size);
void *rs__realloc(void *p, size_t n);
char *rs__strdup(const char *s);
char *rs__strndup(const char *s, size_t n);
/* Tests only: the n-th allocation from now (counting rs__malloc/calloc/realloc/strdup/strndup
 * on every thread) fails; 0 turns failure injection off (lib/util/alloc.c). Returns how many
 * allocations were still to go before the previous setting fired (0: it fired, or was off). */
unsigned long rs__alloc_fail_at(unsigned long n);
/* Overwrite then free (secrets). NULL-safe. */
void rs__free_secret(char *s);
/* Zero memory in a way the compiler cannot remove. */
void rs__memzero(void *p, size_t n);

/* Errors: set the thread's last error and return `code`. */
int rs__error_set(int code, const char *fmt, ...) RS_PRINTF(2, 3);
int rs__error_vset(int code, const char *fmt, va_list ap) RS_PRINTF(2, 0);
/* Same, recording the HTTP status and the registry's error code (may be NULL). */
int rs__error_set_http(int code, int http_status, const char *registry_code, const char *fmt, ...)
        RS_PRINTF(4, 5);
/* Mark the current error as the registry's answer (rs_error.remote): a tag or platform absent
 * from a listing or an index a registry served. Returns the current code. */
int rs__error_mark_remote(void);
/* A per-thread counter bumped by every error set: equal before and after a call that failed
 * means the callee set no message of its own. */
unsigned long rs__error_serial(void);
/* Set RS_ENOMEM ("out of memory") without allocating and return RS_ENOMEM. Every caller of
 * rs__malloc & co. checks for NULL and returns this (issue 14: out of memory travels the normal
 * error path). */
int rs__oom(void);
/* Prefix the current message: "<prefix>: <old message>". Returns the current code. */
int rs__error_prefix(const char *fmt, ...) RS_PRINTF(1, 2);

/*
 * Buffers (rs_buf). All grow as needed and keep a NUL terminator. As libgit2's git_buf, a grow
 * that runs out of memory frees the contents and puts the buffer in an out-of-memory state
 * (ptr points at a static "", later puts do nothing): callers append freely and check
 * rs__buf_oom() once at the end. rs__buf_grow returns RS_ENOMEM (error set) in that state.
 */
int rs__buf_grow(rs_buf *b, size_t extra);
/* True when a grow failed since the buffer was last disposed/detached. */
bool rs__buf_oom(const rs_buf *b);
/* Put b in the out-of-memory state (its contents freed), for a step that failed to allocate
 * something else on the way to filling b. Sets RS_ENOMEM. */
void rs__buf_set_oom(rs_buf *b);
void rs__buf_put(rs_buf *b, const void *data, size_t len);
void rs__buf_puts(rs_buf *b, const char *s);
void rs__buf_putc(rs_buf *b, char c);
void rs__buf_printf(rs_buf *b, const char *fmt, ...) RS_PRINTF(2, 3);
void rs__buf_vprintf(rs_buf *b, const char *fmt, va_list ap) RS_PRINTF(2, 0);
/* A formatted string of its own (free it), or NULL when out of memory. */
char *rs__strfmt(const char *fmt, ...) RS_PRINTF(1, 2);
void rs__buf_clear(rs_buf *b);
/* Take the contents as a malloc'd string and reset the buffer; NULL (with RS_ENOMEM set)
 * when out of memory, including when the buffer is in the out-of-memory state. */
char *rs__buf_detach(rs_buf *b);
/* Like rs_buf_dispose but zeroes the memory first. */
void rs__buf_dispose_secret(rs_buf *b);
/* The contents as a string, "" when empty. */
static inline const char *rs__buf_cstr(const rs_buf *b)
{
	return b->ptr ? b->ptr : "";
}

/* Strings. */
bool rs__str_startswith(const char *s, const char *prefix);
bool rs__str_endswith(const char *s, const char *suffix);
bool rs__str_iequal(const char *a, const char *b);
bool rs__str_niequal(const char *a, const char *b, size_t n);
/* rs_size_parse (a decimal size with a K/M/G suffix) is public: regship/store.h. */

/* Growable list of owned strings. */
typedef struct rs_strlist {
	char **items;
	size_t count;
	size_t alloc;
} rs_strlist;
#define RS_STRLIST_INIT                                                                            \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}
/* Both return 0 or rs__oom(); push_owned frees s when it fails (and accepts s == NULL as a
 * failed allocation, so rs__strlist_push_owned(l, rs__strdup(x)) needs one check). */
int rs__strlist_push(rs_strlist *l, const char *s);
int rs__strlist_push_owned(rs_strlist *l, char *s);
bool rs__strlist_contains(const rs_strlist *l, const char *s);
void rs__strlist_dispose(rs_strlist *l);

/* Base64 (standard alphabet, with padding). Decoding returns RS_EFORMAT on bad input. */
char *rs__base64_encode(const void *data, size_t len);
int rs__base64_decode(rs_buf *out, const char *s);

/* Percent-encode for a URL query component (RFC 3986 unreserved kept). */
char *rs__url_escape(const char *s);

/* Files. */
/* Read a whole (small) file; RS_ENOTFOUND if missing, RS_ETOOBIG above max bytes. */
int rs__file_read(rs_buf *out, const char *path, size_t max);
/* Write atomically: temp file in the same directory, fsync, rename. mode e.g. 0600. */
int rs__file_write_atomic(const char *path, const void *data, size_t len, unsigned mode);
/* mkdir -p with the given mode for created directories. */
int rs__mkdir_p(const char *path, unsigned mode);

/* RS_EUSER with the message "interrupted" once rs_cancel() was called, else 0. Checked by the
 * copy engine, store readers and writers between chunks, and the HTTP layer (lib/util/cancel.c). */
int rs__cancel_check(void);

#endif
