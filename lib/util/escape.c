/* Escaping text from servers for printing (see escape.h). */
#include "escape.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes) and its code point; 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned long *cp)
{
	size_t len;
	unsigned long c;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and code points beyond U+10FFFF */
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

bool rs__utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	unsigned long cp;
	while (n) {
		size_t len = utf8_decode(p, n, &cp);
		if (!len)
			return false;
		p += len;
		n -= len;
	}
	return true;
}

/* Code points that reorder or hide text in a terminal although they print nothing. */
static bool invisible_control(unsigned long cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

void rs__buf_put_escaped(rs_buf *b, const char *s, size_t len, bool backslash)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		unsigned long cp = 0;
		size_t n;
		unsigned char c = p[i];
		switch (c) {
		case '\n':
			rs__buf_puts(b, "\\n");
			i++;
			continue;
		case '\r':
			rs__buf_puts(b, "\\r");
			i++;
			continue;
		case '\t':
			rs__buf_puts(b, "\\t");
			i++;
			continue;
		case '\\':
			rs__buf_puts(b, backslash ? "\\\\" : "\\");
			i++;
			continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			rs__buf_printf(b, "\\x%02x", c);
			i++;
			continue;
		}
		n = utf8_decode(p + i, len - i, &cp);
		if (!n) {
			rs__buf_printf(b, "\\x%02x", c);
			i++;
		} else if (invisible_control(cp)) {
			rs__buf_printf(b, "\\u%04lx", cp);
			i += n;
		} else {
			rs__buf_put(b, p + i, n);
			i += n;
		}
	}
	/* an empty input still leaves a valid (empty) string behind */
	rs__buf_put(b, "", 0);
}

char *rs__escape(const char *s)
{
	rs_buf b = RS_BUF_INIT;
	if (s)
		rs__buf_put_escaped(&b, s, strlen(s), true);
	return rs__buf_detach(&b);
}

bool rs__needs_escape(const char *s)
{
	rs_buf b = RS_BUF_INIT;
	size_t len = strlen(s);
	bool changed;
	rs__buf_put_escaped(&b, s, len, false);
	changed = b.size != len || memcmp(rs__buf_cstr(&b), s, len) != 0;
	rs_buf_dispose(&b);
	return changed;
}

void rs_text_escape(rs_buf *out, const char *s, int flags)
{
	if (s)
		rs__buf_put_escaped(out, s, strlen(s), (flags & RS_ESCAPE_BACKSLASH) != 0);
	else
		rs__buf_put(out, "", 0);
}
