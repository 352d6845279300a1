/*
 * OCI archives (a tar of an OCI image layout): the input is written as a .tar in the private
 * scratch directory and opened with rs_store_open_oci_archive, which checks and unpacks the tar
 * entries and serves them with the OCI layout store; then every manifest and blob is read.
 * Properties: nothing is left in $TMPDIR once the store is freed; manifest digests match.
 */
#include "fuzz.h"

#include "regship/store.h"
#include "util/util.h"

#include <stdlib.h>

int rs_fuzz_oci_layout(const uint8_t *data, size_t size)
{
	static const char *const refs[] = {
	        "latest", "v1",
	        "sha256:"
	        "0000000000000000000000000000000000000000000000000000000000000000",
	        NULL};
	const char *scratch = rs_fuzz_tmpdir();
	rs_buf file = RS_BUF_INIT, work = RS_BUF_INIT;
	rs_store *s = NULL;

	rs__buf_printf(&file, "%s/input-oci.tar", scratch);
	rs__buf_printf(&work, "%s/work", scratch);
	rs_fuzz_write_file(file.ptr, data, size);
	if (rs_store_open_oci_archive(&s, file.ptr, RS_STORE_READ) == 0) {
		rs_fuzz_assert(s != NULL, "an opened store");
		rs_fuzz_walk_store(s, refs, false);
		rs_store_free(s);
	} else {
		rs_fuzz_assert(s == NULL, "a failed open gives no store");
	}
	rs_fuzz_assert_dir_only(work.ptr, NULL);
	rs_buf_dispose(&file);
	rs_buf_dispose(&work);
	return 0;
}

RS_FUZZ_ENTRY(rs_fuzz_oci_layout)
