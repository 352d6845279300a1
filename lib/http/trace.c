/* Traces (curl's debug callback into the client's trace callback) and their redaction: secrets
 * in header lines, URLs and proxy settings. */
#include "trace.h"

#include "util/escape.h"
#include "util/util.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool contains_ci(const char *s, size_t n, const char *word)
{
	size_t w = strlen(word);
	for (size_t i = 0; i + w <= n; i++)
		if (rs__str_niequal(s + i, word, w))
			return true;
	return false;
}

/* Query parameter and JSON key names whose values are secrets. */
static bool secret_name(const char *name, size_t n)
{
	static const char *const exact[] = {"code",   "sig",     "policy", "key",  "key-pair-id",
	                                    "apikey", "api_key", "auth",   "pass", NULL};
	static const char *const parts[] = {"token", "signature",  "secret",
	                                    "passw", "credential", NULL};
	for (int i = 0; exact[i]; i++)
		if (strlen(exact[i]) == n && rs__str_niequal(name, exact[i], n))
			return true;
	for (int i = 0; parts[i]; i++)
		if (contains_ci(name, n, parts[i]))
			return true;
	return false;
}

/* Header names whose values are secrets. */
static bool secret_header(const char *name, size_t n)
{
	static const char *const ends[] = {"authorization", "cookie", NULL};
	static const char *const exact[] = {"x-registry-auth", "x-api-key", NULL};
	for (int i = 0; ends[i]; i++) {
		size_t w = strlen(ends[i]);
		if (n >= w && rs__str_niequal(name + n - w, ends[i], w))
			return true;
	}
	for (int i = 0; exact[i]; i++)
		if (strlen(exact[i]) == n && rs__str_niequal(name, exact[i], n))
			return true;
	return contains_ci(name, n, "token") || contains_ci(name, n, "secret") ||
	       contains_ci(name, n, "passw");
}

static bool tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool param_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

void rs__trace_redact(rs_buf *out, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	size_t i = 0;
	if (colon && colon > line) {
		size_t n = (size_t)(colon - line);
		bool name = true;
		for (size_t k = 0; k < n && name; k++)
			name = tchar(line[k]);
		if (name && secret_header(line, n)) {
			rs__buf_put(out, line, n);
			rs__buf_puts(out, ": [redacted]");
			return;
		}
	}
	while (i < len) {
		char ch = line[i];
		if (ch == ':' && i + 2 < len && line[i + 1] == '/' && line[i + 2] == '/') {
			/* scheme://user:password@host: the whole user part goes */
			size_t j = i + 3, at = 0;
			for (; j < len && !strchr("/?# \t\"'<>", line[j]); j++)
				if (line[j] == '@')
					at = j;
			rs__buf_puts(out, "://");
			if (at) {
				rs__buf_puts(out, "[redacted]");
				i = at;
			} else {
				i += 3;
			}
			continue;
		}
		if (ch == '?' || ch == '&' || ch == ';' || i == 0 || line[i - 1] == ' ') {
			/* name=value: a query or form parameter */
			size_t start = (ch == '?' || ch == '&' || ch == ';') ? i + 1 : i, j = start;
			while (j < len && param_char(line[j]))
				j++;
			if (j > start && j < len && line[j] == '=' &&
			    secret_name(line + start, j - start)) {
				rs__buf_put(out, line + i, j + 1 - i);
				rs__buf_puts(out, "[redacted]");
				j++;
				while (j < len && !strchr("&#; \t\"'<>,", line[j]))
					j++;
				i = j;
				continue;
			}
		}
		if (ch == '"') {
			/* "key": "value" in JSON */
			size_t j = i + 1, k;
			while (j < len && line[j] != '"' && line[j] != '\\')
				j++;
			k = j + 1;
			while (k < len && (line[k] == ' ' || line[k] == '\t'))
				k++;
			if (j < len && line[j] == '"' && k < len && line[k] == ':' &&
			    secret_name(line + i + 1, j - i - 1)) {
				k++;
				while (k < len && (line[k] == ' ' || line[k] == '\t'))
					k++;
				if (k < len && line[k] == '"') {
					rs__buf_put(out, line + i, k + 1 - i);
					rs__buf_puts(out, "[redacted]\"");
					k++;
					while (k < len && line[k] != '"')
						k += line[k] == '\\' ? 2 : 1;
					i = k < len ? k + 1 : len;
					continue;
				}
			}
		}
		rs__buf_putc(out, ch);
		i++;
	}
}

/* The library never writes to stderr itself: without a trace callback, traces go nowhere. */
static void trace_line(const rs__http_options *o, const char *line)
{
	if (o->trace)
		o->trace(line, o->trace_payload);
}

int rs__http_debug(CURL *c, curl_infotype type, char *data, size_t size, void *userp)
{
	const rs__http_options *o = userp;
	const char *mark;
	(void)c;
	if (type == CURLINFO_HEADER_OUT)
		mark = "> ";
	else if (type == CURLINFO_HEADER_IN)
		mark = "< ";
	else if (type == CURLINFO_TEXT)
		mark = "* ";
	else
		return 0;
	/* split into lines; redact secrets */
	for (size_t i = 0; i < size;) {
		size_t j = i;
		rs_buf line = RS_BUF_INIT;
		while (j < size && data[j] != '\n' && data[j] != '\r')
			j++;
		if (j > i) {
			/* redacted, then escaped: a header value is the server's text */
			rs_buf red = RS_BUF_INIT;
			rs__trace_redact(&red, data + i, j - i);
			rs__buf_puts(&line, mark);
			rs__buf_put_escaped(&line, rs__buf_cstr(&red), red.size, false);
			rs__buf_dispose_secret(&red);
			if (!rs__buf_oom(&line)) /* out of memory: the trace misses a line */
				trace_line(o, rs__buf_cstr(&line));
		}
		rs_buf_dispose(&line);
		while (j < size && (data[j] == '\n' || data[j] == '\r'))
			j++;
		i = j;
	}
	return 0;
}
