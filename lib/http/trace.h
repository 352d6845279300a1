/* lib/http private: curl's debug callback (lib/http/trace.c). */
#ifndef RS_HTTP_TRACE_H
#define RS_HTTP_TRACE_H

#include "http.h"

#include <curl/curl.h>

/* CURLOPT_DEBUGFUNCTION with CURLOPT_DEBUGDATA = the rs__http_options: headers and curl's notes
 * line by line, redacted and escaped, to options->trace (nowhere when it is NULL). */
int rs__http_debug(CURL *c, curl_infotype type, char *data, size_t size, void *userp);

#endif
