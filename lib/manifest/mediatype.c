/* Media types: classification and OCI <-> docker equivalents. */
#include "internal.h"
#include "util/util.h"

#include <ctype.h>
#include <string.h>

#define MT_MAX 256

void rs__mediatype_base(char *out, size_t outlen, const char *media_type)
{
	const char *s = media_type, *e;
	size_t n, i;

	out[0] = '\0';
	if (!s)
		return;
	while (*s == ' ' || *s == '\t')
		s++;
	e = strchr(s, ';');
	if (!e)
		e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	n = (size_t)(e - s);
	if (n >= outlen)
		return;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
}

bool rs__mediatype_is_generic(const char *content_type)
{
	static const char *const generic[] = {"application/json", "text/plain",
	                                      "application/octet-stream", "binary/octet-stream"};
	char base[MT_MAX];

	rs__mediatype_base(base, sizeof(base), content_type);
	if (!base[0])
		return true;
	for (size_t i = 0; i < sizeof(generic) / sizeof(generic[0]); i++)
		if (!strcmp(base, generic[i]))
			return true;
	return false;
}

static bool is_one_of(const char *media_type, const char *a, const char *b)
{
	char base[MT_MAX];

	rs__mediatype_base(base, sizeof(base), media_type);
	return !strcmp(base, a) || (b && !strcmp(base, b));
}

int rs_mediatype_is_manifest(const char *media_type)
{
	return is_one_of(media_type, RS_MT_OCI_MANIFEST, RS_MT_DOCKER_MANIFEST);
}

int rs_mediatype_is_index(const char *media_type)
{
	return is_one_of(media_type, RS_MT_OCI_INDEX, RS_MT_DOCKER_LIST);
}

int rs_mediatype_is_known(const char *media_type)
{
	return rs_mediatype_is_manifest(media_type) || rs_mediatype_is_index(media_type);
}

int rs_mediatype_is_schema1(const char *media_type)
{
	return is_one_of(media_type, RS_MT_DOCKER_V1, RS_MT_DOCKER_V1_SIGNED);
}

/* Every layer type, with its OCI and docker names and compression. */
static const struct layer_type {
	const char *oci;
	const char *docker;
	rs_compression compression;
	bool foreign;
} layer_types[] = {
        {RS_MT_OCI_LAYER, RS_MT_DOCKER_LAYER, RS_COMPRESSION_NONE, false},
        {RS_MT_OCI_LAYER_GZIP, RS_MT_DOCKER_LAYER_GZIP, RS_COMPRESSION_GZIP, false},
        {RS_MT_OCI_LAYER_ZSTD, NULL, RS_COMPRESSION_ZSTD, false},
        {RS_MT_OCI_LAYER_NONDIST_GZIP, RS_MT_DOCKER_LAYER_FOREIGN, RS_COMPRESSION_GZIP, true},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar", NULL, RS_COMPRESSION_NONE,
         true},
        {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", NULL, RS_COMPRESSION_ZSTD,
         true},
};

static const struct layer_type *find_layer(const char *media_type)
{
	char base[MT_MAX];

	rs__mediatype_base(base, sizeof(base), media_type);
	if (!base[0])
		return NULL;
	for (size_t i = 0; i < sizeof(layer_types) / sizeof(layer_types[0]); i++)
		if (!strcmp(base, layer_types[i].oci) ||
		    (layer_types[i].docker && !strcmp(base, layer_types[i].docker)))
			return &layer_types[i];
	return NULL;
}

int rs_mediatype_is_layer(const char *media_type)
{
	return find_layer(media_type) != NULL;
}

int rs_mediatype_is_foreign(const char *media_type)
{
	const struct layer_type *t = find_layer(media_type);
	return t && t->foreign;
}

int rs_mediatype_layer_compression(const char *media_type)
{
	const struct layer_type *t = find_layer(media_type);
	return t ? (int)t->compression : -1;
}

const char *rs_mediatype_layer_for(rs_manifest_format format, rs_compression c)
{
	for (size_t i = 0; i < sizeof(layer_types) / sizeof(layer_types[0]); i++)
		if (!layer_types[i].foreign && layer_types[i].compression == c)
			return format == RS_MANIFEST_FORMAT_DOCKER ? layer_types[i].docker
			                                           : layer_types[i].oci;
	return NULL;
}

/* Manifest, index and config pairs: {oci, docker}. */
static const char *const pairs[][2] = {
        {RS_MT_OCI_MANIFEST, RS_MT_DOCKER_MANIFEST},
        {RS_MT_OCI_INDEX, RS_MT_DOCKER_LIST},
        {RS_MT_OCI_CONFIG, RS_MT_DOCKER_CONFIG},
};

static const char *convert(const char *media_type, bool to_docker)
{
	const struct layer_type *t;
	char base[MT_MAX];

	rs__mediatype_base(base, sizeof(base), media_type);
	if (!base[0])
		return NULL;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		if (!strcmp(base, pairs[i][0]) || !strcmp(base, pairs[i][1]))
			return pairs[i][to_docker ? 1 : 0];
	if ((t = find_layer(base)) != NULL)
		return to_docker ? t->docker : t->oci;
	return NULL;
}

const char *rs_mediatype_to_oci(const char *media_type)
{
	return convert(media_type, false);
}

const char *rs_mediatype_to_docker(const char *media_type)
{
	return convert(media_type, true);
}
