/*
 * Error codes and the per-thread last-error record (libgit2 style).
 * Codes and their messages are written once, in RS_ERROR_MAP (libuv style).
 * Threads: the last-error record is per thread; every function here is thread-safe.
 */
#ifndef REGSHIP_ERRORS_H
#define REGSHIP_ERRORS_H

#include "common.h"

RS_BEGIN_DECL

/* XX(name, value, description) */
#define RS_ERROR_MAP(XX)                                                                           \
	XX(OK, 0, "success")                                                                       \
	XX(ERROR, -1, "error")                                                                     \
	XX(EINVAL, -2, "invalid argument")                                                         \
	XX(ENOTFOUND, -3, "not found")                                                             \
	XX(EAUTH, -4, "authentication required or permission denied")                              \
	XX(ENOMEM, -5, "out of memory")                                                            \
	XX(EIO, -6, "input/output error")                                                          \
	XX(ENET, -7, "network error")                                                              \
	XX(EPROTO, -8, "unexpected answer from the registry")                                      \
	XX(EDIGEST, -9, "digest mismatch")                                                         \
	XX(EUNSUPPORTED, -10, "operation not supported")                                           \
	XX(EEXISTS, -11, "already exists")                                                         \
	XX(EUSER, -12, "cancelled")                                                                \
	XX(EINSECURE, -13, "refusing an insecure connection")                                      \
	XX(ETLS, -14, "TLS error")                                                                 \
	XX(ECONFLICT, -15, "refused: the operation would affect more than was asked")              \
	XX(ETOOBIG, -16, "too large")                                                              \
	XX(EFORMAT, -17, "malformed input")                                                        \
	XX(ETIMEOUT, -18, "timed out")

typedef enum {
#define RS__ERR_ENUM(name, value, desc) RS_##name = value,
	RS_ERROR_MAP(RS__ERR_ENUM)
#undef RS__ERR_ENUM
} rs_error_code;

typedef struct rs_error {
	int code; /* one of rs_error_code */
	int http_status; /* HTTP status that caused it, or 0 */
	char registry_code[64]; /* e.g. "MANIFEST_UNKNOWN", or "" */
	char message[1024]; /* human-readable, never holds a secret */
	/* Non-zero when a registry's answer is the cause: an HTTP error status, or (RS_ENOTFOUND) a
	 * tag or platform absent from a listing or index the registry served. 0 for local files,
	 * layouts and archives: "not found" there is the caller's problem, not the registry's. A
	 * local path that does not exist is RS_EINVAL, its message naming the path. */
	int remote;
} rs_error;

/* The last error set on this thread. Never NULL: when none was set (or after rs_error_clear)
 * it is a static record with code RS_OK and the message "no error" (as libgit2's
 * git_error_last). The record stays valid until the next library call on this thread that
 * fails or clears it: copy it (it is a plain struct) to keep it longer. */
RS_EXTERN(const rs_error *) rs_error_last(void);

/* Non-zero when an error was set on this thread since the last rs_error_clear(). */
RS_EXTERN(int) rs_error_is_set(void);

/* Forget the last error of this thread. */
RS_EXTERN(void) rs_error_clear(void);

/* A short description of a code ("not found"). */
RS_EXTERN(const char *) rs_strerror(int code);

/* The symbolic name of a code ("RS_ENOTFOUND"). */
RS_EXTERN(const char *) rs_error_name(int code);

/* Set the last error from a library user's code (for callbacks); returns code. */
RS_EXTERN(int) rs_error_set(int code, const char *fmt, ...) RS_PRINTF(2, 3);

RS_END_DECL

#endif
