/* A registry repository as a store: the vtable over lib/registry. */
#include "registry/manifests.h"
#include "registry/referrers.h"
#include "registry/registry.h"
#include "regship/client.h"
#include "regship/store.h"
#include "regship/sys/store.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

typedef struct registry_store {
	rs_store base;
	rs_client *client;
	rs_ref *repo;
	rs_registry_store_options opts;
} registry_store;

static int ref_for(rs_ref **out, const registry_store *s, const char *reference)
{
	if (!reference)
		return rs_ref_dup(out, s->repo);
	if (strchr(reference, ':') && rs__str_startswith(reference, "sha"))
		return rs_ref_with_digest(out, s->repo, reference);
	return rs_ref_with_tag(out, s->repo, reference);
}

static int reg_manifest_get(rs_store *st, const char *reference, rs_buf *body, char **media_type,
                            char **digest)
{
	registry_store *s = (registry_store *)st;
	rs_ref *r = NULL;
	int error;
	if ((error = ref_for(&r, s, reference)) == 0)
		error = rs_manifest_fetch(s->client, r, body, media_type, digest);
	rs_ref_free(r);
	return error;
}

static int reg_manifest_put(rs_store *st, const char *reference, const void *body, size_t len,
                            const char *media_type)
{
	registry_store *s = (registry_store *)st;
	rs_ref *r = NULL;
	int error;
	bool api = false;
	if ((error = ref_for(&r, s, reference)) == 0 &&
	    (error = rs__manifest_put(s->client, r, body, len, media_type, NULL, &api)) == 0)
		/* a manifest with a subject: keep the referrers tag where there is no API */
		error = rs__referrers_after_put(s->client, s->repo, body, len, media_type, api);
	rs_ref_free(r);
	return error;
}

static int reg_manifest_delete(rs_store *st, const char *digest)
{
	registry_store *s = (registry_store *)st;
	rs_ref *r = NULL;
	int error;
	if ((error = rs_ref_with_digest(&r, s->repo, digest)) == 0)
		error = rs_manifest_remove(s->client, r);
	rs_ref_free(r);
	return error;
}

static int reg_blob_exists(rs_store *st, const rs_descriptor *d)
{
	registry_store *s = (registry_store *)st;
	int64_t size = -1;
	int error = rs__blob_head(s->client, s->repo, d->digest, &size);
	if (error == 0 && size >= 0 && d->size >= 0 && size != d->size)
		return rs__error_set(
		        RS_EPROTO, "%s holds blob %s with %lld bytes, but %lld were expected",
		        s->repo->domain, d->digest, (long long)size, (long long)d->size);
	return error;
}

static int reg_blob_open(rs_reader **out, rs_store *st, const rs_descriptor *d)
{
	registry_store *s = (registry_store *)st;
	return rs__blob_open(out, s->client, s->repo, d->digest, d->size);
}

static int reg_blob_put(rs_store *st, const rs_descriptor *d, rs_reader *r, rs_transfer_cb cb,
                        void *payload)
{
	registry_store *s = (registry_store *)st;
	rs__upload_options o = {s->opts.chunk_size, cb, payload};
	return rs__blob_upload(s->client, s->repo, d->digest, d->size, r, &o, NULL);
}

static int reg_blob_mount(rs_store *st, const rs_descriptor *d, const char *from)
{
	registry_store *s = (registry_store *)st;
	char *upload = NULL;
	int error = rs__blob_mount(s->client, s->repo, d->digest, from, &upload);
	free(upload);
	return error;
}

static int reg_tag_list(rs_store *st, int (*cb)(const char *, void *), void *payload)
{
	registry_store *s = (registry_store *)st;
	return rs_tags_list(s->client, s->repo, cb, payload);
}

static void reg_free(rs_store *st)
{
	registry_store *s = (registry_store *)st;
	if (!s)
		return;
	rs_ref_free(s->repo);
	free(s);
}

static const rs_store_ops registry_ops = {
        RS_STORE_OPS_VERSION,
        "registry",
        reg_manifest_get,
        reg_manifest_put,
        reg_manifest_delete,
        reg_blob_exists,
        reg_blob_open,
        reg_blob_put,
        reg_blob_mount,
        reg_tag_list,
        NULL,
        reg_free,
};

int rs_store_open_registry(rs_store **out, rs_client *client, const rs_ref *repo,
                           const rs_registry_store_options *opts)
{
	registry_store *s;
	int error;
	if (opts && opts->version != RS_REGISTRY_STORE_OPTIONS_VERSION)
		return rs__error_set(RS_EINVAL, "rs_registry_store_options: unsupported version %u",
		                     opts->version);
	if (!(s = rs__calloc(1, sizeof(*s))))
		return rs__oom();
	s->base.ops = &registry_ops;
	s->client = client;
	if (opts)
		s->opts = *opts;
	if ((error = rs_ref_dup(&s->repo, repo)) < 0) {
		free(s);
		return error;
	}
	*out = &s->base;
	return 0;
}

const rs_ref *rs_store_registry_ref(const rs_store *st)
{
	if (!st || st->ops != &registry_ops)
		return NULL;
	return ((const registry_store *)st)->repo;
}

rs_client *rs__store_registry_client(const rs_store *st)
{
	if (!st || st->ops != &registry_ops)
		return NULL;
	return ((const registry_store *)st)->client;
}

int rs__store_registry_upload_streamed(rs_store *st, rs_reader *r, char digest[RS_DIGEST_MAX],
                                       int64_t *size)
{
	registry_store *s = (registry_store *)st;
	rs__upload_options o = {0, NULL, NULL};
	if (!st || st->ops != &registry_ops)
		return rs__error_set(RS_EINVAL, "not a registry store");
	o.chunk_size = s->opts.chunk_size;
	return rs__blob_upload_streamed(s->client, s->repo, r, &o, digest, size);
}
