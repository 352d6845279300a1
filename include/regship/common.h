/*
 * regship — common definitions shared by every public header.
 *
 * Ownership rule, stated once for the whole API (after jq's jv.h):
 *   - whatever a function returns through its first `**out` parameter belongs
 *     to the caller and is released with the matching NULL-safe rs_<type>_free();
 *   - a `const` pointer returned by a getter lives as long as its parent object;
 *   - functions return 0 on success and a negative RS_E* code on failure, with
 *     details in rs_error_last().
 */
#ifndef REGSHIP_COMMON_H
#define REGSHIP_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define RS_EXTERN(type) extern __attribute__((visibility("default"))) type
#define RS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define RS_EXTERN(type) extern type
#define RS_PRINTF(fmt, args)
#endif

#ifdef __cplusplus
#define RS_BEGIN_DECL extern "C" {
#define RS_END_DECL }
#else
#define RS_BEGIN_DECL
#define RS_END_DECL
#endif

#define REGSHIP_VERSION "0.1.0"

RS_BEGIN_DECL

/* Parse a byte size as --chunk-size takes it: decimal digits only (no sign, fraction, exponent,
 * hex, "nan" or "inf"), then optionally a binary unit K/KiB/KB, M/MiB/MB, G/GiB/GB (1024-based;
 * lowercase k/m/g too) or B. RS_EINVAL naming the text and the problem ("unknown unit",
 * "out of range" past 2^64-1 bytes) otherwise; *out is left alone on failure. */
RS_EXTERN(int) rs_size_parse(uint64_t *out, const char *text);

RS_END_DECL

#endif
