/*
 * docker-save archives: the input is written as a .tar in the private scratch directory and
 * opened with rs_store_open_docker_archive (compression cache off, one job, temporary files in
 * the scratch directory); then every image is synthesised and every blob read.
 * The options (layer compression and manifest format) depend on the input's length, so that
 * one corpus exercises all of them and a given input always runs the same way.
 * Properties: the synthesised manifests parse and their blobs have the digests and sizes they
 * claim; nothing is left in $TMPDIR once the store is freed.
 */
#include "fuzz.h"

#include "regship/store.h"
#include "util/util.h"

#include <stdlib.h>

int rs_fuzz_docker_archive(const uint8_t *data, size_t size)
{
	static const char *const refs[] = {"@0", "@1", "a/b:c", "docker.io/library/busybox:latest",
	                                   NULL};
	const char *scratch = rs_fuzz_tmpdir();
	rs_docker_archive_options opts = RS_DOCKER_ARCHIVE_OPTIONS_INIT;
	rs_buf file = RS_BUF_INIT, work = RS_BUF_INIT;
	rs_store *s = NULL;

	rs__buf_printf(&file, "%s/input-docker.tar", scratch);
	rs__buf_printf(&work, "%s/work", scratch);
	rs_fuzz_write_file(file.ptr, data, size);
	opts.jobs = 1;
	opts.level = 1;
	opts.cache_dir = "";
	opts.tmp_dir = work.ptr;
	switch (size % 3) {
	case 0:
		opts.compression = RS_COMPRESSION_GZIP;
		break;
	case 1:
		opts.compression = RS_COMPRESSION_NONE;
		break;
	default:
		opts.compression = RS_COMPRESSION_ZSTD;
		break;
	}
	opts.format = opts.compression == RS_COMPRESSION_ZSTD || size % 2
	                      ? RS_MANIFEST_FORMAT_OCI
	                      : RS_MANIFEST_FORMAT_DOCKER;
	if (rs_store_open_docker_archive(&s, file.ptr, RS_STORE_READ, &opts) == 0) {
		rs_fuzz_assert(s != NULL, "an opened store");
		rs_fuzz_walk_store(s, refs, true);
		rs_store_free(s);
	} else {
		rs_fuzz_assert(s == NULL, "a failed open gives no store");
	}
	rs_fuzz_assert_dir_only(work.ptr, NULL);
	rs_buf_dispose(&file);
	rs_buf_dispose(&work);
	return 0;
}

RS_FUZZ_ENTRY(rs_fuzz_docker_archive)
