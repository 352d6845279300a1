#include "regship/json.h"
#include "util.h"
#include "util/json.h"

#include <jansson.h>
#include <stdlib.h>

const char *rs__json_error_reason(const json_error_t *jerr)
{
	switch (json_error_code(jerr)) {
	case json_error_out_of_memory:
		return "out of memory";
	case json_error_stack_overflow:
		return "nested too deeply";
	case json_error_invalid_utf8:
		return "invalid UTF-8";
	case json_error_premature_end_of_input:
		return "unexpected end of input";
	case json_error_end_of_input_expected:
		return "more data after the end of the JSON value";
	case json_error_null_character:
	case json_error_null_byte_in_key:
		return "a NUL character";
	case json_error_duplicate_key:
		return "a duplicate key";
	case json_error_numeric_overflow:
		return "a number out of range";
	case json_error_invalid_syntax:
	default:
		return "syntax error";
	}
}

bool rs__json_oom(const json_error_t *jerr)
{
	/* text first: when jansson could not even start, the code byte was never written */
	return !jerr->text[0] || json_error_code(jerr) == json_error_out_of_memory;
}

int rs__json_error(const char *name, const json_error_t *jerr)
{
	if (rs__json_oom(jerr))
		return rs__oom();
	return rs__error_set(RS_EFORMAT, "%s: invalid JSON at line %d, column %d: %s", name,
	                     jerr->line, jerr->column, rs__json_error_reason(jerr));
}

int rs_json_pretty(rs_buf *out, const void *json, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
	char *s;
	if (!root && rs__json_oom(&jerr))
		return rs__oom();
	if (!root)
		return rs__error_set(RS_EFORMAT, "not valid JSON (line %d, column %d: %s)",
		                     jerr.line, jerr.column, rs__json_error_reason(&jerr));
	s = json_dumps(root, JSON_INDENT(3) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	json_decref(root);
	if (!s)
		return rs__oom();
	rs__buf_puts(out, s);
	rs__buf_putc(out, '\n');
	free(s);
	return rs__buf_oom(out) ? RS_ENOMEM : 0;
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
