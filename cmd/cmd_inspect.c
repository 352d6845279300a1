/* regship inspect — describe an image without pulling it (skopeo inspect's content). */
#include "cli.h"
#include "progress.h"
#include "readsrc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage[] = {
        "regship inspect [--json | --raw | --config | --format TEMPLATE] "
        "[--platform OS/ARCH[/VARIANT]] IMAGE",
        NULL};

/* The single-value fields --format knows, as {{.Name}} ("Labels." takes a key). */
static const char *const template_fields[] = {
        "Reference", "Digest", "MediaType", "Created", "Os",          "Architecture", "Variant",
        "Platform",  "Size",   "Config",    "Layers",  "IndexDigest", "Labels.",      NULL};

static void put_escaped(FILE *out, const char *s)
{
	rs_buf b = RS_BUF_INIT;
	rs_text_escape(&b, s ? s : "", 0);
	fputs(b.ptr ? b.ptr : "", out);
	rs_buf_dispose(&b);
}

static void put_json(const char *s)
{
	rs_buf q = RS_BUF_INIT;
	if (!s) {
		fputs("null", stdout);
		return;
	}
	rs_json_quote(&q, s);
	fputs(q.ptr, stdout);
	rs_buf_dispose(&q);
}

static char *platform_text(const rs_image_info *info)
{
	rs_platform p = {info->os, info->architecture, info->variant, NULL};
	if (!info->os || !info->architecture)
		return NULL;
	return rs_platform_format(&p);
}

/* The value of {{.name}}, or NULL when it has none (printed as nothing). *owned is freed. */
static const char *field_value(const rs_image_info *info, const char *shown, const char *name,
                               char **owned)
{
	*owned = NULL;
	if (!strcmp(name, "Reference"))
		return shown;
	if (!strcmp(name, "Digest"))
		return info->digest;
	if (!strcmp(name, "MediaType"))
		return info->media_type;
	if (!strcmp(name, "Created"))
		return info->created;
	if (!strcmp(name, "Os"))
		return info->os;
	if (!strcmp(name, "Architecture"))
		return info->architecture;
	if (!strcmp(name, "Variant"))
		return info->variant;
	if (!strcmp(name, "Platform"))
		return *owned = platform_text(info);
	if (!strcmp(name, "Config"))
		return info->config_desc.digest;
	if (!strcmp(name, "IndexDigest"))
		return info->index_digest;
	if (!strcmp(name, "Size") || !strcmp(name, "Layers")) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%" PRId64,
		         !strcmp(name, "Size") ? info->total_size : (int64_t)info->layer_count);
		return *owned = strdup(buf);
	}
	if (!strncmp(name, "Labels.", 7)) {
		for (size_t i = 0; i < info->label_count; i++)
			if (!strcmp(info->labels[2 * i], name + 7))
				return info->labels[2 * i + 1];
	}
	return NULL;
}

typedef struct template_payload {
	const rs_image_info *info;
	const char *shown;
} template_payload;

static const char *template_get(const char *name, char **owned, void *payload)
{
	const template_payload *t = payload;
	return field_value(t->info, t->shown, name, owned);
}

static void json_strings(const char *key, char **v, size_t n)
{
	printf(", \"%s\": [", key);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", stdout);
		put_json(v[i]);
	}
	fputc(']', stdout);
}

static void json_descriptor(const rs_descriptor *d)
{
	printf("{");
	cli_json_field("digest", d->digest, false);
	cli_json_field("media_type", d->media_type, true);
	printf(", \"size\": %" PRId64, d->size);
	if (d->platform) {
		char *p = rs_platform_format(d->platform);
		cli_json_field("platform", p, true);
		free(p);
	}
	if (d->artifact_type)
		cli_json_field("artifact_type", d->artifact_type, true);
	printf("}");
}

static void print_json(const rs_image_info *info, const char *shown)
{
	char *platform = platform_text(info);
	bool index = info->children != NULL;
	printf("{");
	cli_json_field("reference", shown, false);
	cli_json_field("digest", info->digest, true);
	cli_json_field("media_type", info->media_type, true);
	printf(", \"index\": ");
	if (info->index_digest) {
		printf("{");
		cli_json_field("digest", info->index_digest, false);
		cli_json_field("media_type", info->index_media_type, true);
		printf("}");
	} else {
		printf("null");
	}
	if (index) {
		printf(", \"manifests\": [");
		for (size_t i = 0; i < info->child_count; i++) {
			if (i)
				fputs(", ", stdout);
			json_descriptor(&info->children[i]);
		}
		printf("]}\n");
		free(platform);
		return;
	}
	cli_json_field("created", info->created, true);
	cli_json_field("platform", platform, true);
	cli_json_field("os", info->os, true);
	cli_json_field("architecture", info->architecture, true);
	cli_json_field("variant", info->variant, true);
	printf(", \"labels\": {");
	for (size_t i = 0; i < info->label_count; i++) {
		if (i)
			fputs(", ", stdout);
		put_json(info->labels[2 * i]);
		fputs(": ", stdout);
		put_json(info->labels[2 * i + 1]);
	}
	printf("}");
	json_strings("env", info->env, info->env_count);
	json_strings("entrypoint", info->entrypoint, info->entrypoint_count);
	json_strings("cmd", info->cmd, info->cmd_count);
	printf(", \"config\": ");
	if (info->config_desc.digest)
		json_descriptor(&info->config_desc);
	else
		printf("null");
	printf(", \"layers\": [");
	for (size_t i = 0; i < info->layer_count; i++) {
		if (i)
			fputs(", ", stdout);
		json_descriptor(&info->layers[i]);
	}
	printf("], \"size\": %" PRId64 "}\n", info->total_size);
	free(platform);
}

static void print_list(const char *title, char **v, size_t n)
{
	printf("%-14s", title);
	if (!n) {
		puts("-");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(' ', stdout);
		put_escaped(stdout, v[i]);
	}
	fputc('\n', stdout);
}

static void print_human(const rs_image_info *info, const char *shown)
{
	char size[32];
	printf("%-14s", "Name:");
	put_escaped(stdout, shown);
	printf("\n%-14s%s\n", "Digest:", info->digest);
	printf("%-14s", "MediaType:");
	put_escaped(stdout, info->media_type);
	fputc('\n', stdout);
	if (info->index_digest)
		printf("%-14s%s\n", "Index:", info->index_digest);
	if (info->children) {
		printf("Platforms:\n");
		for (size_t i = 0; i < info->child_count; i++) {
			const rs_descriptor *d = &info->children[i];
			char *p = d->platform ? rs_platform_format(d->platform) : NULL;
			printf("    %-22s %s\n", p ? p : "(no platform)", d->digest);
			free(p);
		}
		return;
	}
	{
		char *p = platform_text(info);
		printf("%-14s", "Created:");
		put_escaped(stdout, info->created ? info->created : "-");
		printf("\n%-14s", "Platform:");
		put_escaped(stdout, p ? p : "-");
		fputc('\n', stdout);
		free(p);
	}
	printf("Labels:%s\n", info->label_count ? "" : "       -");
	for (size_t i = 0; i < info->label_count; i++) {
		printf("    ");
		put_escaped(stdout, info->labels[2 * i]);
		fputc('=', stdout);
		put_escaped(stdout, info->labels[2 * i + 1]);
		fputc('\n', stdout);
	}
	printf("Env:%s\n", info->env_count ? "" : "          -");
	for (size_t i = 0; i < info->env_count; i++) {
		printf("    ");
		put_escaped(stdout, info->env[i]);
		fputc('\n', stdout);
	}
	print_list("Entrypoint:", info->entrypoint, info->entrypoint_count);
	print_list("Cmd:", info->cmd, info->cmd_count);
	if (info->config_desc.digest)
		printf("%-14s%s (%" PRId64 " bytes)\n", "Config:", info->config_desc.digest,
		       info->config_desc.size);
	printf("Layers:\n");
	for (size_t i = 0; i < info->layer_count; i++) {
		const rs_descriptor *d = &info->layers[i];
		format_bytes(size, sizeof(size), (double)d->size);
		printf("    %s  %10s  ", d->digest, size);
		put_escaped(stdout, d->media_type);
		fputc('\n', stdout);
	}
	format_bytes(size, sizeof(size), (double)info->total_size);
	printf("%-14s%" PRId64 " bytes (%s, compressed)\n", "Size:", info->total_size, size);
}

int cmd_inspect(int argc, char **argv)
{
	bool json = false, raw = false, config = false;
	const char *platform = NULL, *format = NULL;
	const cli_opt opts[] = {
	        {CLI_OPT_BOOL, 0, "json", &json, NULL,
	         "print one JSON object (schema in regship-inspect(1))"},
	        {CLI_OPT_BOOL, 0, "raw", &raw, NULL, "print the manifest bytes, exactly as stored"},
	        {CLI_OPT_BOOL, 0, "config", &config, NULL,
	         "print the image config bytes (verified against their digest)"},
	        {CLI_OPT_STRING, 0, "format", &format, "TEMPLATE",
	         "print TEMPLATE with {{.Digest}}-style fields replaced"},
	        {CLI_OPT_STRING, 0, "platform", &platform, "OS/ARCH[/VARIANT]",
	         "from an index, describe the image for this platform"},
	        CLI_OPT_END_MARK,
	};
	char **args;
	int nargs, rc, error;
	readsrc src = {0};
	rs_platform *want = NULL;
	rs_image_info *info = NULL;

	if ((rc = cli_parse(usage, opts, argc, argv, &args, &nargs)))
		return rc;
	if ((int)json + (int)raw + (int)config + (format != NULL) > 1) {
		rc = cli_usage_error(usage, "--json, --raw, --config and --format exclude each "
		                            "other");
		goto done;
	}
	if (nargs != 1) {
		rc = cli_usage_error(usage, nargs ? "too many arguments" : "missing IMAGE");
		goto done;
	}
	if (format && (rc = cli_template(usage, format, template_fields, NULL, NULL)))
		goto done;
	if (platform && (error = rs_platform_parse(&want, platform)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	/* an index with --config: the config of this machine's platform */
	if (config && !want && (error = rs_platform_host(&want)) < 0) {
		rc = cli_fail(error);
		goto done;
	}
	if ((rc = readsrc_inspect(&src, &info, args[0], want)))
		goto done;
	if (raw) {
		fwrite(info->manifest.ptr, 1, info->manifest.size, stdout);
	} else if (config) {
		rc = readsrc_print_config(info, args[0]);
	} else if (json) {
		print_json(info, args[0]);
	} else if (format) {
		template_payload t = {info, args[0]};
		cli_template(usage, format, template_fields, template_get, &t);
	} else {
		print_human(info, args[0]);
	}
done:
	rs_image_info_free(info);
	rs_platform_free(want);
	readsrc_close(&src);
	free(args);
	return rc;
}
