/*
 * A CA file given by the user (rs_client_options.ca_cert, regship --ca-cert): read once when
 * the client is created and checked there, so that a missing, unreadable or non-PEM file is
 * reported at once as the caller's mistake (RS_EINVAL, naming the file and why) instead of
 * surfacing later as a TLS failure against a registry.
 */
#include "http/http.h"
#include "regship/client.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CA_FILE_MAX (16u << 20)

/* Whether text holds a PEM certificate's BEGIN line at the start of a line (public: the CLI
 * checks a --ca-cert it read from a pipe with it). */
int rs_ca_pem_has_certificate(const char *text, size_t len)
{
	static const char *const begins[] = {"-----BEGIN CERTIFICATE-----",
	                                     "-----BEGIN TRUSTED CERTIFICATE-----"};
	for (size_t i = 0; i < len; i++) {
		if (i && text[i - 1] != '\n')
			continue;
		for (size_t k = 0; k < 2; k++) {
			size_t n = strlen(begins[k]);
			if (len - i >= n && !memcmp(text + i, begins[k], n))
				return 1;
		}
	}
	return 0;
}

static int bad(const char *file, const char *why, const char *detail)
{
	return rs__error_set(RS_EINVAL, "CA certificate file %s: %s%s%s", file, why,
	                     detail ? ": " : "", detail ? detail : "");
}

int rs__ca_file_read(rs_buf *out, const char *file)
{
	rs_buf text = RS_BUF_INIT;
	struct stat st;
	char chunk[16384];
	ssize_t n;
	int fd, error = 0;
	if (!file || !*file)
		return rs__error_set(RS_EINVAL, "CA certificate file: empty file name");
	/* O_NONBLOCK: a FIFO is refused below instead of waiting for a writer */
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return errno == ENOENT ? bad(file, "no such file", NULL)
		                       : bad(file, "cannot be read", strerror(errno));
	if (fstat(fd, &st) < 0) {
		error = bad(file, "cannot be read", strerror(errno));
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		error = bad(file, "is a directory (give a PEM file)", NULL);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		error = bad(file,
		            "is not a regular file (a FIFO, socket or device is not read "
		            "as a CA file)",
		            NULL);
		goto done;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error = bad(file, "cannot be read", strerror(errno));
			goto done;
		}
		if (text.size + (size_t)n > CA_FILE_MAX) {
			error = bad(file, "larger than 16 MiB", NULL);
			goto done;
		}
		rs__buf_put(&text, chunk, (size_t)n);
		if (rs__buf_oom(&text)) {
			error = rs__oom();
			goto done;
		}
	}
	if (!rs_ca_pem_has_certificate(text.ptr ? text.ptr : "", text.size)) {
		error = bad(file,
		            "holds no PEM certificate (no \"-----BEGIN CERTIFICATE-----\" line; "
		            "convert a DER file with 'openssl x509 -inform der -in FILE -out "
		            "FILE.pem')",
		            NULL);
		goto done;
	}
	rs__buf_put(out, text.ptr, text.size);
	if (rs__buf_oom(out))
		error = rs__oom();
done:
	close(fd);
	rs_buf_dispose(&text);
	return error;
}
