#include "regship/json.h"
#include "util.h"

#include <jansson.h>
#include <stdlib.h>

int rs_json_pretty(rs_buf *out, const void *json, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
	char *s;
	if (!root)
		return rs__error_set(RS_EFORMAT, "not valid JSON (line %d: %s)", jerr.line,
		                     jerr.text);
	s = json_dumps(root, JSON_INDENT(3) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	json_decref(root);
	if (!s)
		return rs__error_set(RS_ENOMEM, "cannot format JSON");
	rs__buf_puts(out, s);
	rs__buf_putc(out, '\n');
	free(s);
	return 0;
}

void rs_json_quote(rs_buf *out, const char *s)
{
	rs__buf_putc(out, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '"':
			rs__buf_puts(out, "\\\"");
			break;
		case '\\':
			rs__buf_puts(out, "\\\\");
			break;
		case '\n':
			rs__buf_puts(out, "\\n");
			break;
		case '\r':
			rs__buf_puts(out, "\\r");
			break;
		case '\t':
			rs__buf_puts(out, "\\t");
			break;
		default:
			if (c < 0x20)
				rs__buf_printf(out, "\\u%04x", c);
			else
				rs__buf_putc(out, (char)c);
		}
	}
	rs__buf_putc(out, '"');
}
