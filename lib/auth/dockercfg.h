/*
 * Docker's client config ($DOCKER_CONFIG/config.json, else ~/.docker/config.json) as docker/cli
 * reads and writes it:
 *
 *   { "auths": { "https://index.docker.io/v1/": {"auth": "base64(user:pass)"},
 *                "myreg:5000": {"auth": "…", "identitytoken": "…"} },
 *     "credsStore": "desktop",
 *     "credHelpers": { "gcr.io": "gcloud" } }
 *
 * Lookup order: credHelpers[host], else credsStore, else auths. Keys of auths and credHelpers
 * match by host after the scheme and path are stripped ("https://myreg:5000/v1/" is
 * "myreg:5000"). Docker Hub (docker.io, index.docker.io, registry-1.docker.io) uses the key
 * "https://index.docker.io/v1/", which is also the ServerURL handed to helpers.
 * Error messages never hold a secret.
 */
#ifndef RS_AUTH_DOCKERCFG_H
#define RS_AUTH_DOCKERCFG_H

#include "auth/credhelper.h"

#define RS__DOCKERCFG_HUB_KEY "https://index.docker.io/v1/"
#define RS__DOCKERCFG_MAX (4 * 1024 * 1024)

/* $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json. RS_ENOTFOUND when neither
 * variable is set. */
int rs__dockercfg_default_path(char **out);

/* The auths key / helper ServerURL of a registry: RS__DOCKERCFG_HUB_KEY for Docker Hub,
 * else the domain itself. */
const char *rs__dockercfg_server_key(const char *domain);

/* The host[:port] of a config key: scheme and path stripped, lowercased. Caller frees. */
char *rs__dockercfg_key_host(const char *key);

/*
 * The credentials for domain ("docker.io", "myreg:5000"); config_path NULL = the default path.
 * RS_ENOTFOUND when there are none (also when the file does not exist); RS_EFORMAT when the
 * file is malformed (the message names the file); RS_EUNSUPPORTED when the configured helper
 * is not installed (callers may warn and go on anonymously).
 */
int rs__cred_lookup(rs__credential *out, const char *config_path, const char *domain);

/*
 * Remember user/secret for domain: through the helper when one is configured, else as
 * auths[key].auth = base64(user:secret). Every other key of the file is kept; the directory is
 * created (0700) if needed and the file is replaced atomically with mode 0600.
 */
int rs__cred_store(const char *config_path, const char *domain, const char *user,
                   const char *secret);

/* Forget the credentials for domain (helper erase, or every matching auths entry).
 * RS_ENOTFOUND when there was nothing to forget. */
int rs__cred_erase(const char *config_path, const char *domain);

#endif
