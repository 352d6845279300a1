/* Public wrappers over docker's credential storage (lib/auth/dockercfg.c). */
#include "regship/credentials.h"

#include "auth/dockercfg.h"
#include "util/util.h"

char *rs_credentials_config_path(void)
{
	char *path = NULL;
	if (rs__dockercfg_default_path(&path) < 0)
		return NULL;
	return path;
}

int rs_credentials_store(const char *config_path, const char *domain, const char *username,
                         const char *secret)
{
	if (!domain || !*domain || !username || !*username || !secret)
		return rs__error_set(RS_EINVAL, "storing credentials needs a registry, a username "
		                                "and a secret");
	return rs__cred_store(config_path, domain, username, secret);
}

int rs_credentials_erase(const char *config_path, const char *domain)
{
	if (!domain || !*domain)
		return rs__error_set(RS_EINVAL, "erasing credentials needs a registry");
	return rs__cred_erase(config_path, domain);
}
