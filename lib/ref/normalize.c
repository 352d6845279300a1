/*
 * Docker's normalisation of names (distribution/reference normalize.go): the default domain
 * docker.io, "library/" for official images, index.docker.io as a legacy alias, and the
 * registry-1.docker.io endpoint; plus parsing a registry host given on its own.
 */
#include "ref/ref.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

bool rs__ref_is_hub(const char *domain)
{
	return domain &&
	       (rs__str_iequal(domain, "docker.io") || rs__str_iequal(domain, "index.docker.io") ||
	        rs__str_iequal(domain, "registry-1.docker.io"));
}

int rs__ref_normalize(char **domain_out, char **path_out, const char *domain, size_t dlen,
                      const char *path, size_t plen)
{
	rs_buf p = RS_BUF_INIT;
	bool hub;

	if (!domain ||
	    (dlen == strlen("index.docker.io") && memcmp(domain, "index.docker.io", dlen) == 0)) {
		*domain_out = rs__strdup(RS__REF_HUB_DOMAIN);
		hub = true;
	} else {
		*domain_out = rs__strndup(domain, dlen);
		hub = *domain_out && strcmp(*domain_out, RS__REF_HUB_DOMAIN) == 0;
	}
	if (!*domain_out) {
		*path_out = NULL;
		return rs__oom();
	}
	if (hub && !memchr(path, '/', plen))
		rs__buf_puts(&p, "library/");
	rs__buf_put(&p, path, plen);
	*path_out = rs__buf_detach(&p);
	if (!*path_out) {
		free(*domain_out);
		*domain_out = NULL;
		return RS_ENOMEM;
	}
	return 0;
}

int rs_ref_parse_domain(char **out, const char *text)
{
	const char *s, *slash;
	char why[512], *shown;
	size_t len;

	if (out)
		*out = NULL;
	if (!out || !text || !*text)
		return rs__error_set(RS_EINVAL, "invalid registry \"\": empty");
	s = text;
	/* docker login accepts URLs: https://host[:port][/path] */
	if (rs__str_niequal(s, "https://", 8))
		s += 8;
	else if (rs__str_niequal(s, "http://", 7))
		s += 7;
	slash = strchr(s, '/');
	len = slash ? (size_t)(slash - s) : strlen(s);
	if (rs__ref_check_domain(s, len, why, sizeof(why)) < 0) {
		shown = rs__ref_printable(text);
		if (!shown)
			return rs__oom();
		rs__error_set(RS_EINVAL, "invalid registry \"%s\": %s", shown, why);
		free(shown);
		return RS_EINVAL;
	}
	*out = rs__strndup(s, len);
	if (*out && rs__ref_is_hub(*out)) {
		free(*out);
		*out = rs__strdup(RS__REF_HUB_DOMAIN);
	}
	return *out ? 0 : rs__oom();
}

const char *rs_ref_endpoint(const char *domain)
{
	if (domain &&
	    (strcmp(domain, RS__REF_HUB_DOMAIN) == 0 || strcmp(domain, "index.docker.io") == 0))
		return RS__REF_HUB_ENDPOINT;
	return domain;
}
