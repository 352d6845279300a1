/* Error translation: a registry's failed answer into an RS_E* code and a message. */
#include "registry.h"
#include "util/json.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *status_text(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 416:
		return "Range Not Satisfiable";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	}
	return "";
}

bool rs__is_json_type(const char *ct)
{
	if (!ct)
		return false;
	return rs__str_niequal(ct, "application/json", 16) || strstr(ct, "+json") != NULL ||
	       strstr(ct, "+JSON") != NULL;
}

static void put_escaped(rs_buf *b, const char *s)
{
	rs__buf_put_escaped(b, s, strlen(s), true);
}

int rs__registry_errorf(const rs__endpoint *ep, const rs__http_response *resp, const char *fmt, ...)
{
	rs_buf what = RS_BUF_INIT;
	va_list ap;
	int error;
	va_start(ap, fmt);
	rs__buf_vprintf(&what, fmt, ap);
	va_end(ap);
	if (rs__buf_oom(&what))
		return RS_ENOMEM;
	error = rs__registry_error(ep, resp, rs__buf_cstr(&what));
	rs_buf_dispose(&what);
	return error;
}

int rs__registry_error(const rs__endpoint *ep, const rs__http_response *resp, const char *what)
{
	rs_buf detail = RS_BUF_INIT;
	char first_code[64] = "";
	int code, status = resp->status;
	const char *ct = rs__http_header(resp, "content-type");

	if (resp->body.size && rs__is_json_type(ct)) {
		json_error_t jerr;
		json_t *root = json_loadb(resp->body.ptr, resp->body.size, 0, &jerr);
		json_t *errors = root ? json_object_get(root, "errors") : NULL;
		size_t i;
		json_t *e;
		if (!root && rs__json_oom(&jerr))
			return rs__oom();
		json_array_foreach(errors, i, e)
		{
			const char *ecode = json_string_value(json_object_get(e, "code"));
			const char *emsg = json_string_value(json_object_get(e, "message"));
			json_t *edet = json_object_get(e, "detail");
			if (i)
				rs__buf_puts(&detail, "; ");
			/* the registry's words, escaped: they must not forge lines or drive the
			 * terminal */
			if (ecode) {
				put_escaped(&detail, ecode);
				if (!first_code[0] && !rs__needs_escape(ecode))
					snprintf(first_code, sizeof(first_code), "%s", ecode);
			}
			if (emsg) {
				rs__buf_puts(&detail, ecode ? ": " : "");
				put_escaped(&detail, emsg);
			}
			if (json_is_string(edet) && *json_string_value(edet)) {
				rs__buf_puts(&detail, " (");
				put_escaped(&detail, json_string_value(edet));
				rs__buf_puts(&detail, ")");
			} else if (json_is_object(edet)) {
				json_t *v;
				const char *k;
				rs__buf_puts(&detail, " (");
				int first = 1;
				json_object_foreach(edet, k, v)
				{
					if (json_is_string(v)) {
						rs__buf_puts(&detail, first ? "" : ", ");
						put_escaped(&detail, k);
						rs__buf_puts(&detail, ": ");
						put_escaped(&detail, json_string_value(v));
						first = 0;
					}
				}
				rs__buf_puts(&detail, ")");
			}
		}
		json_decref(root);
	}
	if (!detail.size && resp->body.size && ct && rs__str_niequal(ct, "text/plain", 10) &&
	    resp->body.size < 200) {
		/* short plain-text bodies ("404 page not found") are worth showing: their first
		 * line, escaped */
		rs__buf_put_escaped(&detail, resp->body.ptr, strcspn(resp->body.ptr, "\r\n"), true);
	}

	if (status == 429)
		rs__ratelimit_describe(&detail, resp);
	if (rs__buf_oom(&detail)) /* the registry's words cannot be shown */
		return rs__oom();
	switch (status) {
	case 401:
	case 403:
		code = RS_EAUTH;
		break;
	case 404:
		code = RS_ENOTFOUND;
		break;
	case 405:
		code = RS_EUNSUPPORTED;
		break;
	case 413:
		code = RS_ETOOBIG;
		break;
	case 400:
		code = !strcmp(first_code, "DIGEST_INVALID") ? RS_EDIGEST : RS_EINVAL;
		if (!strcmp(first_code, "MANIFEST_BLOB_UNKNOWN") ||
		    !strcmp(first_code, "BLOB_UNKNOWN"))
			code = RS_ENOTFOUND;
		break;
	default:
		code = status >= 500 || status == 429 ? RS_ENET : RS_EPROTO;
	}
	rs__error_set_http(code, status, first_code[0] ? first_code : NULL,
	                   "%s: %s answered %d%s%s%s%s", what, ep ? ep->domain : "registry", status,
	                   *status_text(status) ? " " : "", status_text(status),
	                   detail.size ? ": " : "", rs__buf_cstr(&detail));
	rs_buf_dispose(&detail);
	return code;
}
