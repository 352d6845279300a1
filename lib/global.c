/* rs_init / rs_shutdown: the library's global setup, reference counted (regship/global.h).
 * It sits above every layer: it initialises what lib/http (libcurl) and lib/util (OpenSSL)
 * rely on. */
#include "regship/global.h"
#include "util/util.h"

#include <pthread.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int init_count;

int rs_init(void)
{
	int result;
	pthread_mutex_lock(&init_lock);
	if (init_count == 0) {
		CURLcode rc;
		if (!OPENSSL_init_crypto(0, NULL)) {
			pthread_mutex_unlock(&init_lock);
			return rs__error_set(RS_ERROR, "cannot initialise OpenSSL");
		}
		if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
			pthread_mutex_unlock(&init_lock);
			return rs__error_set(RS_ERROR, "cannot initialise libcurl: %s",
			                     curl_easy_strerror(rc));
		}
	}
	result = ++init_count;
	pthread_mutex_unlock(&init_lock);
	return result;
}

int rs_shutdown(void)
{
	int result;
	pthread_mutex_lock(&init_lock);
	if (init_count == 0) {
		pthread_mutex_unlock(&init_lock);
		return rs__error_set(RS_EINVAL, "rs_shutdown() without a matching rs_init()");
	}
	if (--init_count == 0)
		curl_global_cleanup();
	result = init_count;
	pthread_mutex_unlock(&init_lock);
	return result;
}

const char *rs_version(void)
{
	return REGSHIP_VERSION;
}
