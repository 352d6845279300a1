/* Platforms: "os/arch[/variant]", normalisation like containerd, the host's platform. */
#include "internal.h"
#include "util/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

static void lower(char *s)
{
	for (; s && *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* false when out of memory (the field is then NULL) */
static bool set_field(char **field, const char *value)
{
	free(*field);
	*field = value && *value ? rs__strdup(value) : NULL;
	return *field || !value || !*value;
}

/* containerd platforms.normalizeArch, plus os aliases. */
int rs_platform_normalize(rs_platform *p)
{
	char *a, *v;
	bool ok = true;

	if (!p)
		return 0;
	lower(p->os);
	lower(p->architecture);
	lower(p->variant);
	if (p->variant && !*p->variant)
		ok &= set_field(&p->variant, NULL);
	if (p->os && !strcmp(p->os, "macos"))
		ok &= set_field(&p->os, "darwin");
	if (!ok)
		return rs__oom();
	if (!p->architecture)
		return 0;
	/* private copies: set_field frees the originals */
	a = rs__strdup(p->architecture);
	v = rs__strdup(p->variant ? p->variant : "");
	if (!a || !v) {
		free(a);
		free(v);
		return rs__oom();
	}
	if (!strcmp(a, "i386")) {
		ok &= set_field(&p->architecture, "386");
		ok &= set_field(&p->variant, NULL);
	} else if (!strcmp(a, "x86_64") || !strcmp(a, "x86-64") || !strcmp(a, "amd64")) {
		ok &= set_field(&p->architecture, "amd64");
		if (!strcmp(v, "v1"))
			ok &= set_field(&p->variant, NULL);
	} else if (!strcmp(a, "aarch64") || !strcmp(a, "arm64")) {
		ok &= set_field(&p->architecture, "arm64");
		if (!strcmp(v, "8") || !strcmp(v, "v8") || !strcmp(v, "v8.0"))
			ok &= set_field(&p->variant, NULL);
		else if (!strcmp(v, "9") || !strcmp(v, "9.0") || !strcmp(v, "v9.0"))
			ok &= set_field(&p->variant, "v9");
	} else if (!strcmp(a, "armhf")) {
		ok &= set_field(&p->architecture, "arm");
		ok &= set_field(&p->variant, "v7");
	} else if (!strcmp(a, "armel")) {
		ok &= set_field(&p->architecture, "arm");
		ok &= set_field(&p->variant, "v6");
	} else if (!strcmp(a, "arm")) {
		if (!*v || !strcmp(v, "7"))
			ok &= set_field(&p->variant, "v7");
		else if (!strcmp(v, "5") || !strcmp(v, "6") || !strcmp(v, "8")) {
			char buf[3] = {'v', v[0], '\0'};
			ok &= set_field(&p->variant, buf);
		}
	}
	free(a);
	free(v);
	return ok ? 0 : rs__oom();
}

static bool valid_component(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

int rs_platform_parse(rs_platform **out, const char *s)
{
	static const char *const names[] = {"os", "architecture", "variant"};
	const char *parts[3] = {NULL, NULL, NULL};
	size_t lens[3] = {0, 0, 0};
	size_t count = 0;
	const char *p;
	rs_platform *plat;

	*out = NULL;
	if (!s || !*s)
		return rs__error_set(RS_EINVAL,
		                     "invalid platform \"\": expected OS/ARCH[/VARIANT]");
	for (p = s;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (count == 3)
			return rs__error_set(RS_EINVAL,
			                     "invalid platform \"%s\": too many parts, expected "
			                     "OS/ARCH[/VARIANT]",
			                     s);
		parts[count] = p;
		lens[count++] = n;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (count < 2)
		return rs__error_set(RS_EINVAL,
		                     "invalid platform \"%s\": expected OS/ARCH[/VARIANT], e.g. "
		                     "linux/amd64",
		                     s);
	for (size_t i = 0; i < count; i++) {
		if (!lens[i])
			return rs__error_set(RS_EINVAL, "invalid platform \"%s\": empty %s", s,
			                     names[i]);
		if (!valid_component(parts[i], lens[i]))
			return rs__error_set(
			        RS_EINVAL, "invalid platform \"%s\": bad character in %s \"%.*s\"",
			        s, names[i], (int)lens[i], parts[i]);
	}
	plat = rs__calloc(1, sizeof(*plat));
	if (!plat)
		return rs__oom();
	plat->os = rs__strndup(parts[0], lens[0]);
	plat->architecture = rs__strndup(parts[1], lens[1]);
	if (count == 3)
		plat->variant = rs__strndup(parts[2], lens[2]);
	if (!plat->os || !plat->architecture || (count == 3 && !plat->variant) ||
	    rs_platform_normalize(plat) < 0) {
		rs_platform_free(plat);
		return rs__oom();
	}
	*out = plat;
	return 0;
}

char *rs_platform_format(const rs_platform *p)
{
	rs_buf b = RS_BUF_INIT;

	if (!p)
		return NULL;
	rs__buf_printf(&b, "%s/%s", p->os ? p->os : "unknown",
	               p->architecture ? p->architecture : "unknown");
	if (p->variant && *p->variant)
		rs__buf_printf(&b, "/%s", p->variant);
	return rs__buf_detach(&b);
}

int rs__platform_from_uname(rs_platform **out, const char *sysname, const char *machine)
{
	rs_platform *p;
	bool vok = true;

	*out = NULL;
	if (!sysname || !*sysname || !machine || !*machine)
		return rs__error_set(RS_ERROR, "cannot tell this machine's platform from uname");
	p = rs__calloc(1, sizeof(*p));
	if (!p)
		return rs__oom();
	p->os = rs__strdup(sysname);
	lower(p->os);
	if (!strcmp(machine, "i386") || !strcmp(machine, "i486") || !strcmp(machine, "i586") ||
	    !strcmp(machine, "i686")) {
		p->architecture = rs__strdup("386");
	} else if (!strcmp(machine, "armv8l") || !strcmp(machine, "armv7l") ||
	           !strcmp(machine, "armv7") || !strcmp(machine, "armhf")) {
		/* armv8l: a 32-bit userland on a 64-bit core runs arm/v7 images */
		p->architecture = rs__strdup("arm");
		vok = (p->variant = rs__strdup("v7")) != NULL;
	} else if (!strncmp(machine, "armv6", 5) || !strncmp(machine, "armv5", 5)) {
		char v[3] = {'v', machine[4], '\0'};
		p->architecture = rs__strdup("arm");
		vok = (p->variant = rs__strdup(v)) != NULL;
	} else if (!strcmp(machine, "ppc64le") || !strcmp(machine, "ppc64el")) {
		p->architecture = rs__strdup("ppc64le");
	} else if (!strcmp(machine, "mips64")) {
		p->architecture = rs__strdup("mips64");
	} else {
		p->architecture = rs__strdup(machine); /* x86_64, aarch64, s390x, riscv64 ... */
	}
	if (!p->os || !p->architecture || !vok || rs_platform_normalize(p) < 0) {
		rs_platform_free(p);
		return rs__oom();
	}
	*out = p;
	return 0;
}

int rs_platform_host(rs_platform **out)
{
	struct utsname u;

	*out = NULL;
	if (uname(&u) < 0)
		return rs__error_set(RS_ERROR, "cannot tell this machine's platform: uname failed");
	return rs__platform_from_uname(out, u.sysname, u.machine);
}

static bool same(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

int rs_platform_match(const rs_platform *want, const rs_platform *have)
{
	rs_platform *w = NULL, *h = NULL;
	int match;

	if (!want || !have)
		return 0;
	/* out of memory: no match, with RS_ENOMEM set (callers compare rs__error_serial) */
	if (rs_platform_dup(&w, want) < 0 || rs_platform_dup(&h, have) < 0 ||
	    rs_platform_normalize(w) < 0 || rs_platform_normalize(h) < 0) {
		rs_platform_free(w);
		rs_platform_free(h);
		return 0;
	}
	match = same(w->os, h->os) && same(w->architecture, h->architecture) &&
	        same(w->variant, h->variant) &&
	        (!w->os_version || same(w->os_version, h->os_version));
	rs_platform_free(w);
	rs_platform_free(h);
	return match;
}

int rs_platform_is_unknown(const rs_platform *p)
{
	return p && same(p->os, "unknown") && same(p->architecture, "unknown");
}
