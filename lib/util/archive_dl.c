/* libarchive, loaded on first use (see archive_dl.h). */
#define RS_ARCHIVE_DL_IMPL
#include "util/archive_dl.h"
#include "util/util.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

rs__archive_table rs__archive;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int load_error;
static char load_why[256];

/* A symbol of handle into *slot (a function pointer of the table). */
static int sym(void *handle, void *slot, const char *name)
{
	void *p = dlsym(handle, name);
	if (!p) {
		snprintf(load_why, sizeof(load_why), "libarchive has no %s", name);
		return -1;
	}
	memcpy(slot, &p, sizeof(p));
	return 0;
}

static void load(void)
{
	static const char *const names[] = {"libarchive.so.13", "libarchive.so"};
	void *h = NULL;
	const char *why = NULL;
	for (size_t i = 0; !h && i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL)) && !why)
			why = dlerror();
	}
	if (!h) {
		snprintf(load_why, sizeof(load_why), "%s", why ? why : "not found");
		load_error = -1;
		return;
	}
	if (sym(h, &rs__archive.archive_entry_copy_pathname, "archive_entry_copy_pathname") < 0 ||
	    sym(h, &rs__archive.archive_entry_filetype, "archive_entry_filetype") < 0 ||
	    sym(h, &rs__archive.archive_entry_free, "archive_entry_free") < 0 ||
	    sym(h, &rs__archive.archive_entry_hardlink, "archive_entry_hardlink") < 0 ||
	    sym(h, &rs__archive.archive_entry_new, "archive_entry_new") < 0 ||
	    sym(h, &rs__archive.archive_entry_pathname, "archive_entry_pathname") < 0 ||
	    sym(h, &rs__archive.archive_entry_set_filetype, "archive_entry_set_filetype") < 0 ||
	    sym(h, &rs__archive.archive_entry_set_gid, "archive_entry_set_gid") < 0 ||
	    sym(h, &rs__archive.archive_entry_set_mtime, "archive_entry_set_mtime") < 0 ||
	    sym(h, &rs__archive.archive_entry_set_perm, "archive_entry_set_perm") < 0 ||
	    sym(h, &rs__archive.archive_entry_set_size, "archive_entry_set_size") < 0 ||
	    sym(h, &rs__archive.archive_entry_set_uid, "archive_entry_set_uid") < 0 ||
	    sym(h, &rs__archive.archive_entry_size, "archive_entry_size") < 0 ||
	    sym(h, &rs__archive.archive_entry_symlink, "archive_entry_symlink") < 0 ||
	    sym(h, &rs__archive.archive_errno, "archive_errno") < 0 ||
	    sym(h, &rs__archive.archive_error_string, "archive_error_string") < 0 ||
	    sym(h, &rs__archive.archive_read_data, "archive_read_data") < 0 ||
	    sym(h, &rs__archive.archive_read_data_skip, "archive_read_data_skip") < 0 ||
	    sym(h, &rs__archive.archive_read_free, "archive_read_free") < 0 ||
	    sym(h, &rs__archive.archive_read_new, "archive_read_new") < 0 ||
	    sym(h, &rs__archive.archive_read_next_header, "archive_read_next_header") < 0 ||
	    sym(h, &rs__archive.archive_read_open_fd, "archive_read_open_fd") < 0 ||
	    sym(h, &rs__archive.archive_read_open_filename, "archive_read_open_filename") < 0 ||
	    sym(h, &rs__archive.archive_read_support_filter_gzip,
	        "archive_read_support_filter_gzip") < 0 ||
	    sym(h, &rs__archive.archive_read_support_filter_zstd,
	        "archive_read_support_filter_zstd") < 0 ||
	    sym(h, &rs__archive.archive_read_support_format_tar,
	        "archive_read_support_format_tar") < 0 ||
	    sym(h, &rs__archive.archive_write_close, "archive_write_close") < 0 ||
	    sym(h, &rs__archive.archive_write_data, "archive_write_data") < 0 ||
	    sym(h, &rs__archive.archive_write_fail, "archive_write_fail") < 0 ||
	    sym(h, &rs__archive.archive_write_free, "archive_write_free") < 0 ||
	    sym(h, &rs__archive.archive_write_header, "archive_write_header") < 0 ||
	    sym(h, &rs__archive.archive_write_new, "archive_write_new") < 0 ||
	    sym(h, &rs__archive.archive_write_open_fd, "archive_write_open_fd") < 0 ||
	    sym(h, &rs__archive.archive_write_set_format_pax_restricted,
	        "archive_write_set_format_pax_restricted") < 0)
		load_error = -1;
}

int rs__archive_load(void)
{
	pthread_once(&once, load);
	if (load_error < 0)
		return rs__error_set(RS_EUNSUPPORTED, "cannot load libarchive (tar archives): %s",
		                     load_why);
	return 0;
}
