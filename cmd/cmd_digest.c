/* regship digest — print the digest of a manifest: resolved with a HEAD request on a registry,
 * read from an OCI layout or archive, or synthesised from a docker archive. */
#include "cli.h"

#include <regship/copy.h>
#include <regship/inspect.h>
#include <regship/manifest.h>
#include <regship/store.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {
        "regship digest [--json | --format TEMPLATE] [--platform OS/ARCH[/VARIANT]] REFERENCE",
        "regship digest [--json | --format TEMPLATE] [--platform OS/ARCH[/VARIANT]] "
        "oci:DIR[:NAME] | oci-archive:FILE[:NAME] | docker-archive:FILE[:REF]",
        NULL};

/* What digest prints: --json's fields, --format's {{.Field}}s. */
typedef struct digest_out {
	const char *reference; /* as given */
	char *digest, *media_type, *platform;
} digest_out;

static const char *const template_fields[] = {"Reference", "Digest", "MediaType", "Platform", NULL};

static const char *template_get(const char *name, char **owned, void *payload)
{
	const digest_out *o = payload;
	*owned = NULL;
	return !strcmp(name, "Reference")   ? o->reference
	       : !strcmp(name, "Digest")    ? o->digest
	       : !strcmp(name, "MediaType") ? o->media_type
	                                    : o->platform;
}

/* An image manifest is one platform's: its config must say the platform asked for (a script
 * asking for linux/arm64 must not get an amd64 digest). RS_ENOTFOUND naming both otherwise. */
static int check_image_platform(rs_store *s, const char *reference, const rs_manifest *m,
                                const rs_platform *want)
{
	const rs_descriptor *cfg = rs_manifest_config(m);
	rs_buf bytes = RS_BUF_INIT;
	rs_image_config *c = NULL;
	char *have = NULL, *asked = NULL;
	int error;
	if (!cfg)
		return 0; /* no config (an artifact): nothing says its platform */
	if ((error = rs_store_blob_read(s, cfg, &bytes, RS_CONFIG_MAX_SIZE)) < 0 ||
	    (error = rs_image_config_parse(&c, bytes.ptr, bytes.size)) < 0)
		goto done;
	if (rs_platform_is_unknown(rs_image_config_platform(c)) ||
	    rs_platform_match(want, rs_image_config_platform(c)))
		goto done;
	have = rs_platform_format(rs_image_config_platform(c));
	asked = rs_platform_format(want);
	if (!have || !asked)
		cli_out_of_memory();
	error = rs_error_set(RS_ENOTFOUND, "%s is a single-platform image for %s, not %s",
	                     reference ? reference : "the image", have, asked);
done:
	free(have);
	free(asked);
	rs_image_config_free(c);
	rs_buf_dispose(&bytes);
	return error;
}

/* The manifest of an opened store (registry or local), or with a platform the digest of that
 * platform's manifest when it is an index. */
static int store_digest(char **out, char **media_type, char **platform, rs_store *s,
                        const char *reference, const rs_platform *want)
{
	rs_buf body = RS_BUF_INIT;
	char *mt = NULL, *digest = NULL;
	rs_manifest *m = NULL;
	const rs_descriptor *child;
	int error;
	if ((error = rs_store_manifest_get(s, reference, &body, &mt, &digest)) < 0)
		goto done;
	if (want) {
		if ((error = rs_manifest_parse(&m, body.ptr, body.size, mt)) < 0)
			goto done;
		if (rs_manifest_is_index(m)) {
			if ((error = rs_manifest_select_platform(&child, m, want)) < 0)
				goto done;
			free(digest);
			free(mt);
			digest = strdup(child->digest);
			mt = child->media_type ? strdup(child->media_type) : NULL;
			if (!digest || (child->media_type && !mt))
				cli_out_of_memory();
			/* the index's own words: linux/arm64/v8 for --platform linux/arm64 */
			if (child->platform && !(*platform = rs_platform_format(child->platform)))
				cli_out_of_memory();
		} else if ((error = check_image_platform(s, reference, m, want)) < 0) {
			goto done;
		}
	}
	*out = digest;
	digest = NULL;
	*media_type = mt;
	mt = NULL;
done:
	rs_manifest_free(m);
	rs_buf_dispose(&body);
	free(mt);
	free(digest);
	return error;
}

int cmd_digest(int argc, char **argv)
{
	const char *platform_text = NULL, *format = NULL;
	bool json = false;
	const cli_opt opts[] = {
	        {CLI_OPT_STRING, 0, "platform", &platform_text, "OS/ARCH[/VARIANT]",
	         "of a multi-platform image (an index), the digest of this platform's manifest"},
	        {CLI_OPT_BOOL, 0, "json", &json, NULL,
	         "print {\"reference\", \"digest\", \"media_type\", \"platform\"}"},
	        {CLI_OPT_STRING, 0, "format", &format, "TEMPLATE",
	         "print TEMPLATE with {{.Digest}}, {{.MediaType}}, {{.Reference}}, {{.Platform}}"},
	        CLI_OPT_END_MARK,
	};
	char **args, *digest = NULL, *reference = NULL, *media_type = NULL, *shown_platform = NULL;
	int nargs, rc, error;
	rs_client *client = NULL;
	rs_ref *ref = NULL;
	rs_location *loc = NULL;
	rs_platform *platform = NULL;
	rs_store *store = NULL;

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if (nargs != 1) {
		rc = cli_usage_error(usage, nargs ? "too many arguments" : "missing REFERENCE");
		goto done;
	}
	if (json && format) {
		rc = cli_usage_error(usage, "--json and --format exclude each other");
		goto done;
	}
	if (format && (rc = cli_template(usage, format, template_fields, NULL, NULL)))
		goto done;
	if (platform_text && (error = rs_platform_parse(&platform, platform_text)) < 0) {
		rc = cli_usage_error(usage, "--platform: %s", rs_error_last()->message);
		goto done;
	}
	if ((error = rs_location_parse(&loc, args[0])) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if (loc->kind == RS_LOCATION_REGISTRY && !platform) {
		/* a HEAD request: nothing is downloaded */
		if ((rc = cli_ref(&ref, loc->reference, 0)) || (rc = cli_client(&client)))
			goto done;
		if ((error = rs_manifest_resolve(client, ref, &digest, &media_type, NULL)) < 0) {
			rc = cli_fail(error);
			goto done;
		}
	} else {
		rs_open_options oo = RS_OPEN_OPTIONS_INIT;
		if (loc->kind == RS_LOCATION_REGISTRY && (rc = cli_client(&client)))
			goto done;
		oo.client = client;
		if ((error = rs_store_open_location(&store, &reference, loc, RS_STORE_READ, &oo)) <
		    0) {
			rc = cli_fail(error);
			goto done;
		}
		if ((error = store_digest(&digest, &media_type, &shown_platform, store, reference,
		                          platform)) < 0) {
			/* a registry's index without the platform is the registry's "not found" */
			rc = client ? cli_fail_remote(error) : cli_fail(error);
			goto done;
		}
	}
	if (platform && !shown_platform && !(shown_platform = rs_platform_format(platform)))
		cli_out_of_memory();
	if (json) {
		printf("{");
		cli_json_field("reference", args[0], false);
		cli_json_field("digest", digest, true);
		cli_json_field("media_type", media_type, true);
		cli_json_field("platform", shown_platform, true);
		printf("}\n");
	} else if (format) {
		digest_out o = {args[0], digest, media_type, shown_platform};
		cli_template(usage, format, template_fields, template_get, &o);
	} else {
		puts(digest);
	}
done:
	free(digest);
	free(media_type);
	free(shown_platform);
	free(reference);
	rs_store_free(store);
	rs_location_free(loc);
	rs_platform_free(platform);
	rs_ref_free(ref);
	rs_client_free(client);
	free(args);
	return rc;
}
