/*
 * libarchive, loaded when first needed (dlopen) rather than at start-up: registry-only commands
 * never pay for it (libarchive pulls in libxml2, ICU and libstdc++: about 3 MiB of peak RSS and
 * thousands of relocations per process, issue 16). Include this instead of <archive.h> and
 * <archive_entry.h>: the archive_* calls of lib/ then go through a table filled on first use.
 * The constructors (archive_read_new, archive_write_new, archive_entry_new) return NULL when
 * the library cannot be loaded, as when memory runs out; rs__archive_load() tells why.
 */
#ifndef RS_UTIL_ARCHIVE_DL_H
#define RS_UTIL_ARCHIVE_DL_H

#include <archive.h>
#include <archive_entry.h>

typedef struct rs__archive_table {
	__typeof__(archive_entry_copy_pathname) *archive_entry_copy_pathname;
	__typeof__(archive_entry_filetype) *archive_entry_filetype;
	__typeof__(archive_entry_free) *archive_entry_free;
	__typeof__(archive_entry_hardlink) *archive_entry_hardlink;
	__typeof__(archive_entry_new) *archive_entry_new;
	__typeof__(archive_entry_pathname) *archive_entry_pathname;
	__typeof__(archive_entry_set_filetype) *archive_entry_set_filetype;
	__typeof__(archive_entry_set_gid) *archive_entry_set_gid;
	__typeof__(archive_entry_set_mtime) *archive_entry_set_mtime;
	__typeof__(archive_entry_set_perm) *archive_entry_set_perm;
	__typeof__(archive_entry_set_size) *archive_entry_set_size;
	__typeof__(archive_entry_set_uid) *archive_entry_set_uid;
	__typeof__(archive_entry_size) *archive_entry_size;
	__typeof__(archive_entry_symlink) *archive_entry_symlink;
	__typeof__(archive_errno) *archive_errno;
	__typeof__(archive_error_string) *archive_error_string;
	__typeof__(archive_read_data) *archive_read_data;
	__typeof__(archive_read_data_skip) *archive_read_data_skip;
	__typeof__(archive_read_free) *archive_read_free;
	__typeof__(archive_read_new) *archive_read_new;
	__typeof__(archive_read_next_header) *archive_read_next_header;
	__typeof__(archive_read_open_fd) *archive_read_open_fd;
	__typeof__(archive_read_open_filename) *archive_read_open_filename;
	__typeof__(archive_read_support_filter_gzip) *archive_read_support_filter_gzip;
	__typeof__(archive_read_support_filter_zstd) *archive_read_support_filter_zstd;
	__typeof__(archive_read_support_format_tar) *archive_read_support_format_tar;
	__typeof__(archive_write_close) *archive_write_close;
	__typeof__(archive_write_data) *archive_write_data;
	__typeof__(archive_write_fail) *archive_write_fail;
	__typeof__(archive_write_free) *archive_write_free;
	__typeof__(archive_write_header) *archive_write_header;
	__typeof__(archive_write_new) *archive_write_new;
	__typeof__(archive_write_open_fd) *archive_write_open_fd;
	__typeof__(archive_write_set_format_pax_restricted)
	        *archive_write_set_format_pax_restricted;
} rs__archive_table;

extern rs__archive_table rs__archive;

/* Load libarchive once (thread-safe): 0, or RS_EUNSUPPORTED with a message naming it. */
int rs__archive_load(void);

#ifndef RS_ARCHIVE_DL_IMPL
#define archive_entry_copy_pathname (*rs__archive.archive_entry_copy_pathname)
#define archive_entry_filetype (*rs__archive.archive_entry_filetype)
#define archive_entry_free (*rs__archive.archive_entry_free)
#define archive_entry_hardlink (*rs__archive.archive_entry_hardlink)
#define archive_entry_new() (rs__archive_load() < 0 ? NULL : rs__archive.archive_entry_new())
#define archive_entry_pathname (*rs__archive.archive_entry_pathname)
#define archive_entry_set_filetype (*rs__archive.archive_entry_set_filetype)
#define archive_entry_set_gid (*rs__archive.archive_entry_set_gid)
#define archive_entry_set_mtime (*rs__archive.archive_entry_set_mtime)
#define archive_entry_set_perm (*rs__archive.archive_entry_set_perm)
#define archive_entry_set_size (*rs__archive.archive_entry_set_size)
#define archive_entry_set_uid (*rs__archive.archive_entry_set_uid)
#define archive_entry_size (*rs__archive.archive_entry_size)
#define archive_entry_symlink (*rs__archive.archive_entry_symlink)
#define archive_errno (*rs__archive.archive_errno)
#define archive_error_string (*rs__archive.archive_error_string)
#define archive_read_data (*rs__archive.archive_read_data)
#define archive_read_data_skip (*rs__archive.archive_read_data_skip)
#define archive_read_free (*rs__archive.archive_read_free)
#define archive_read_new() (rs__archive_load() < 0 ? NULL : rs__archive.archive_read_new())
#define archive_read_next_header (*rs__archive.archive_read_next_header)
#define archive_read_open_fd (*rs__archive.archive_read_open_fd)
#define archive_read_open_filename (*rs__archive.archive_read_open_filename)
#define archive_read_support_filter_gzip (*rs__archive.archive_read_support_filter_gzip)
#define archive_read_support_filter_zstd (*rs__archive.archive_read_support_filter_zstd)
#define archive_read_support_format_tar (*rs__archive.archive_read_support_format_tar)
#define archive_write_close (*rs__archive.archive_write_close)
#define archive_write_data (*rs__archive.archive_write_data)
#define archive_write_fail (*rs__archive.archive_write_fail)
#define archive_write_free (*rs__archive.archive_write_free)
#define archive_write_header (*rs__archive.archive_write_header)
#define archive_write_new() (rs__archive_load() < 0 ? NULL : rs__archive.archive_write_new())
#define archive_write_open_fd (*rs__archive.archive_write_open_fd)
#define archive_write_set_format_pax_restricted                                                    \
	(*rs__archive.archive_write_set_format_pax_restricted)
#endif

#endif
