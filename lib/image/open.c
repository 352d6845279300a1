/* Open the store a location names: one switch instead of one per verb. */
#include "regship/client.h"
#include "regship/copy.h"
#include "regship/store.h"

#include "util/util.h"

#include <stdlib.h>
#include <string.h>

int rs_store_open_location(rs_store **out, char **reference, const rs_location *loc,
                           unsigned int flags, const rs_open_options *opts)
{
	rs_open_options defaults = RS_OPEN_OPTIONS_INIT;
	int error = 0;
	*out = NULL;
	*reference = NULL;
	if (!opts)
		opts = &defaults;
	if (opts->version != RS_OPEN_OPTIONS_VERSION)
		return rs__error_set(RS_EINVAL, "rs_open_options: unsupported version %u",
		                     opts->version);
	switch (loc->kind) {
	case RS_LOCATION_REGISTRY: {
		rs_ref *ref = NULL;
		if (!opts->client)
			return rs__error_set(RS_EINVAL, "%s: a registry needs a client", loc->text);
		if ((error = rs_ref_parse(&ref, loc->reference, 0)) < 0)
			return error;
		error = rs_store_open_registry(out, opts->client, ref, opts->registry);
		if (!error && rs_ref_identifier(ref) &&
		    !(*reference = rs__strdup(rs_ref_identifier(ref)))) {
			rs_store_free(*out);
			*out = NULL;
			error = rs__oom();
		}
		rs_ref_free(ref);
		return error;
	}
	case RS_LOCATION_OCI_LAYOUT:
		error = rs_store_open_oci_layout(out, loc->path, flags);
		break;
	case RS_LOCATION_OCI_ARCHIVE:
		error = rs_store_open_oci_archive(out, loc->path, flags);
		break;
	case RS_LOCATION_DOCKER_ARCHIVE:
		error = rs_store_open_docker_archive(out, loc->path, flags, opts->docker_archive);
		break;
	default:
		return rs__error_set(RS_EINVAL, "%s: unknown kind of location", loc->text);
	}
	if (!error && loc->reference && !(*reference = rs__strdup(loc->reference))) {
		rs_store_free(*out);
		*out = NULL;
		error = rs__oom();
	}
	return error;
}
