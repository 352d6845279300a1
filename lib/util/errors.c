#include "util.h"

#include <stdio.h>
#include <string.h>

static _Thread_local rs_error last_error;
static _Thread_local int has_error;
/* Counts the errors set on this thread: a caller compares it before and after a call to learn
 * whether the callee set an error (the store dispatch does, for backends that stay silent). */
static _Thread_local unsigned long error_serial;

/* What rs_error_last() returns when nothing failed (libgit2's "no error" record). */
static const rs_error no_error = {RS_OK, 0, "", "no error", 0};

const rs_error *rs_error_last(void)
{
	return has_error ? &last_error : &no_error;
}

int rs_error_is_set(void)
{
	return has_error;
}

unsigned long rs__error_serial(void)
{
	return error_serial;
}

void rs_error_clear(void)
{
	has_error = 0;
	memset(&last_error, 0, sizeof(last_error));
}

const char *rs_strerror(int code)
{
	switch (code) {
#define RS__ERR_STR(name, value, desc)                                                             \
	case value:                                                                                \
		return desc;
		RS_ERROR_MAP(RS__ERR_STR)
#undef RS__ERR_STR
	}
	return "unknown error";
}

const char *rs_error_name(int code)
{
	switch (code) {
#define RS__ERR_NAME(name, value, desc)                                                            \
	case value:                                                                                \
		return "RS_" #name;
		RS_ERROR_MAP(RS__ERR_NAME)
#undef RS__ERR_NAME
	}
	return "RS_UNKNOWN";
}

int rs__error_vset(int code, const char *fmt, va_list ap)
{
	rs_error_clear();
	has_error = 1;
	error_serial++;
	last_error.code = code;
	if (fmt)
		vsnprintf(last_error.message, sizeof(last_error.message), fmt, ap);
	else
		snprintf(last_error.message, sizeof(last_error.message), "%s", rs_strerror(code));
	return code;
}

int rs__error_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rs__error_vset(code, fmt, ap);
	va_end(ap);
	return code;
}

int rs_error_set(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rs__error_vset(code, fmt, ap);
	va_end(ap);
	return code;
}

int rs__error_set_http(int code, int http_status, const char *registry_code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rs__error_vset(code, fmt, ap);
	va_end(ap);
	last_error.http_status = http_status;
	last_error.remote = http_status != 0;
	if (registry_code)
		snprintf(last_error.registry_code, sizeof(last_error.registry_code), "%s",
		         registry_code);
	return code;
}

int rs__error_mark_remote(void)
{
	if (!has_error)
		return RS_ERROR;
	last_error.remote = 1;
	return last_error.code;
}

int rs__error_prefix(const char *fmt, ...)
{
	char prefix[512], old[sizeof(last_error.message)];
	va_list ap;
	if (!has_error)
		return RS_ERROR;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, last_error.message, sizeof(old));
	{
		size_t cap = sizeof(last_error.message) - 1, lp = strlen(prefix), lo = strlen(old);
		size_t off = 0;
		char *m = last_error.message;
		if (lp > cap)
			lp = cap;
		memcpy(m, prefix, lp);
		off = lp;
		if (off + 2 <= cap) {
			memcpy(m + off, ": ", 2);
			off += 2;
		}
		if (lo > cap - off)
			lo = cap - off;
		memcpy(m + off, old, lo);
		m[off + lo] = '\0';
	}
	return last_error.code;
}

int rs__oom(void)
{
	/* no formatting, no allocation: this runs when memory is gone */
	last_error.code = RS_ENOMEM;
	last_error.http_status = 0;
	last_error.remote = 0;
	last_error.registry_code[0] = '\0';
	memcpy(last_error.message, "out of memory", sizeof("out of memory"));
	has_error = 1;
	error_serial++;
	return RS_ENOMEM;
}
