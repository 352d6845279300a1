/* Stored registry credentials, kept the way docker keeps them (config.json or a helper).
 * Threads: callable from any thread; two writers of the same config.json at once may lose one
 * of the changes (each rewrites the whole file atomically). */
#ifndef REGSHIP_CREDENTIALS_H
#define REGSHIP_CREDENTIALS_H

#include "common.h"

RS_BEGIN_DECL

/* Path of docker's config.json: $DOCKER_CONFIG/config.json or ~/.docker/config.json.
 * Caller frees. */
RS_EXTERN(char *) rs_credentials_config_path(void);

/* Store credentials for a registry domain: through the credential helper configured for it
 * (credHelpers, credsStore), else in config.json (mode 0600, written atomically, other keys
 * kept). config_path NULL = the default. */
RS_EXTERN(int)
rs_credentials_store(const char *config_path, const char *domain, const char *username,
                     const char *secret);

/* Remove stored credentials; RS_ENOTFOUND when there were none. */
RS_EXTERN(int) rs_credentials_erase(const char *config_path, const char *domain);

RS_END_DECL

#endif
