/*
 * Library initialisation (libgit2's git_libgit2_init / git_libgit2_shutdown).
 *
 * Call rs_init() once before any other regship function, and rs_shutdown() when done; both
 * are reference counted, so a library that uses regship may call them around its own use
 * while the host program does the same. The first rs_init() initialises libcurl
 * (curl_global_init) and OpenSSL; the last rs_shutdown() cleans libcurl up again. Call them
 * from the main thread before starting (and after joining) other threads that use regship:
 * libcurl's global setup is not thread-safe on every platform.
 */
#ifndef REGSHIP_GLOBAL_H
#define REGSHIP_GLOBAL_H

#include "common.h"

RS_BEGIN_DECL

/* The number of rs_init() calls now outstanding (>= 1), or a negative RS_E* code with
 * rs_error_last() naming what could not be initialised. */
RS_EXTERN(int) rs_init(void);

/* Undo one rs_init(): the number still outstanding (0 after the last), or RS_EINVAL when
 * rs_init() was not called. */
RS_EXTERN(int) rs_shutdown(void);

/* The library's version, "0.1.0" (REGSHIP_VERSION of the headers a program was built with may
 * differ from the library it runs with). */
RS_EXTERN(const char *) rs_version(void);

RS_END_DECL

#endif
