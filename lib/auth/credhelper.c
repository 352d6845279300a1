#define _GNU_SOURCE /* pipe2 */
/* Running docker-credential-* helpers. */
#include "auth/credhelper.h"
#include "http/http.h"
#include "util/escape.h"
#include "util/json.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

extern char **environ;

#define NOT_FOUND_MESSAGE "credentials not found in native keychain"
#define TOKEN_USERNAME "<token>"

void rs__credential_dispose(rs__credential *c)
{
	if (!c)
		return;
	rs__free_secret(c->username);
	rs__free_secret(c->password);
	rs__free_secret(c->identity_token);
	rs__free_secret(c->registry_token);
	c->username = c->password = c->identity_token = c->registry_token = NULL;
}

/* Find prog on PATH as execvp would; the full path, or NULL (with RS_ENOMEM set when out of
 * memory). */
static char *find_in_path(const char *prog)
{
	const char *path = getenv("PATH"), *p;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path;; p++) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		rs_buf full = RS_BUF_INIT;
		struct stat st;
		if (len == 0)
			rs__buf_puts(&full, "./");
		else
			rs__buf_printf(&full, "%.*s/", (int)len, p);
		rs__buf_puts(&full, prog);
		if (rs__buf_oom(&full))
			return NULL; /* RS_ENOMEM set */
		if (stat(full.ptr, &st) == 0 && S_ISREG(st.st_mode) && access(full.ptr, X_OK) == 0)
			return rs__buf_detach(&full);
		rs_buf_dispose(&full);
		if (!end)
			return NULL;
		p = end;
	}
}

static long long now_ms(void)
{
	return (long long)(rs__http_now() * 1000.0);
}

/* Bounds for the helpers this thread runs (rs__credhelper_limits). */
static _Thread_local long limit_timeout_ms;
static _Thread_local double limit_deadline;
static _Thread_local long limit_deadline_total_ms;

void rs__credhelper_limits(long timeout_ms, double deadline, long deadline_total_ms)
{
	limit_timeout_ms = timeout_ms;
	limit_deadline = deadline;
	limit_deadline_total_ms = deadline_total_ms;
}

/* When the helper must be done, and whether that is the caller's overall deadline. */
static long long helper_deadline(bool *overall)
{
	long timeout = limit_timeout_ms > 0 ? limit_timeout_ms : RS__CREDHELPER_TIMEOUT_MS;
	long long d = now_ms() + timeout;
	*overall = false;
	if (limit_deadline > 0 && (long long)(limit_deadline * 1000.0) < d) {
		d = (long long)(limit_deadline * 1000.0);
		*overall = true;
	}
	return d;
}

static int helper_timed_out(const char *prog, bool overall, const char *what)
{
	char dur[32];
	if (overall) {
		rs__duration_format(dur, sizeof(dur), limit_deadline_total_ms);
		return rs__error_set(RS_ETIMEOUT, "timed out after %s (waiting for %s)", dur, prog);
	}
	rs__duration_format(dur, sizeof(dur),
	                    limit_timeout_ms > 0 ? limit_timeout_ms : RS__CREDHELPER_TIMEOUT_MS);
	return rs__error_set(RS_ETIMEOUT, "%s %s within %s", prog, what, dur);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Reap the child; past the deadline (0: none) it is killed. 1 when it had to be killed. */
static int wait_child(pid_t pid, int *status, long long deadline)
{
	int st, killed = 0;
	for (;;) {
		pid_t r = waitpid(pid, &st, deadline && !killed ? WNOHANG : 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == pid)
			break;
		if (now_ms() >= deadline) {
			kill(pid, SIGKILL);
			killed = 1;
			continue;
		}
		{
			struct timespec ts = {0, 5 * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return killed;
}

/* Feed input, collect output, until the child closes stdout. */
static int exchange(rs_buf *out, const char *prog, pid_t pid, int to_child, int from_child,
                    const char *input, size_t input_len, long long deadline, bool overall)
{
	size_t written = 0;
	char chunk[4096];

	if (input_len == 0)
		close_fd(&to_child);
	while (from_child >= 0) {
		struct pollfd fds[2];
		nfds_t n = 0;
		long long left = deadline - now_ms();
		int rc;
		if (left <= 0) {
			kill(pid, SIGKILL);
			helper_timed_out(prog, overall, "did not answer");
			goto fail;
		}
		fds[n].fd = from_child;
		fds[n++].events = POLLIN;
		if (to_child >= 0) {
			fds[n].fd = to_child;
			fds[n++].events = POLLOUT;
		}
		rc = poll(fds, n, (int)(left > 1000 ? 1000 : left));
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			rs__error_set(RS_EIO, "poll on %s failed: %s", prog, strerror(errno));
			kill(pid, SIGKILL);
			goto fail;
		}
		if (n == 2 && fds[1].revents) {
			ssize_t w = write(to_child, input + written, input_len - written);
			if (w < 0 && errno != EINTR && errno != EAGAIN) {
				/* the helper does not read its input (EPIPE): let it answer anyway
				 */
				close_fd(&to_child);
			} else if (w > 0) {
				written += (size_t)w;
				if (written == input_len)
					close_fd(&to_child);
			}
		}
		if (fds[0].revents) {
			ssize_t r = read(from_child, chunk, sizeof(chunk));
			if (r < 0 && errno != EINTR && errno != EAGAIN) {
				rs__error_set(RS_EIO, "cannot read the output of %s: %s", prog,
				              strerror(errno));
				kill(pid, SIGKILL);
				goto fail;
			}
			if (r == 0)
				break;
			if (r > 0) {
				if (out->size + (size_t)r > RS__CREDHELPER_OUTPUT_MAX) {
					kill(pid, SIGKILL);
					rs__error_set(RS_ETOOBIG, "%s printed more than %d bytes",
					              prog, RS__CREDHELPER_OUTPUT_MAX);
					rs__memzero(chunk, sizeof(chunk));
					goto fail;
				}
				rs__buf_put(out, chunk, (size_t)r);
				if (rs__buf_oom(out)) { /* RS_ENOMEM set */
					kill(pid, SIGKILL);
					rs__memzero(chunk, sizeof(chunk));
					goto fail;
				}
			}
		}
	}
	rs__memzero(chunk, sizeof(chunk));
	close_fd(&to_child);
	return 0;
fail:
	close_fd(&to_child);
	return rs_error_is_set() ? rs_error_last()->code : RS_EIO;
}

int rs__credhelper_run(rs_buf *out, int *exit_status, const char *helper, const char *action,
                       const char *input, size_t input_len)
{
	int to_child[2] = {-1, -1}, from_child[2] = {-1, -1}, error = 0, rc, status = -1;
	posix_spawn_file_actions_t fa;
	bool fa_init = false, sig_blocked = false;
	sigset_t pipe_set, old_set;
	char prog[256], *full = NULL;
	char *argv[3];
	pid_t pid = -1;
	bool overall;
	long long deadline = helper_deadline(&overall);
	unsigned long serial;

	*exit_status = -1;
	if (!helper || !*helper || strchr(helper, '/') || strlen(helper) > 200)
		return rs__error_set(RS_EINVAL, "invalid credential helper name \"%s\"",
		                     helper ? helper : "");
	snprintf(prog, sizeof(prog), "docker-credential-%s", helper);
	serial = rs__error_serial();
	if (!(full = find_in_path(prog)) && rs__error_serial() != serial)
		return RS_ENOMEM;
	if (!full)
		return rs__error_set(RS_EUNSUPPORTED, "credential helper %s is not on PATH", prog);
	argv[0] = prog;
	argv[1] = (char *)action;
	argv[2] = NULL;

	/* close-on-exec from birth: no other thread's child inherits them */
	if (pipe2(to_child, O_CLOEXEC) < 0 || pipe2(from_child, O_CLOEXEC) < 0) {
		error = rs__error_set(RS_EIO, "cannot create a pipe for %s: %s", prog,
		                      strerror(errno));
		goto done;
	}
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		error = rs__error_set(RS_EIO, "cannot run %s: %s", prog, strerror(rc));
		goto done;
	}
	fa_init = true;
	if ((rc = posix_spawn_file_actions_adddup2(&fa, to_child[0], 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, from_child[1], 1)) != 0 ||
	    (rc = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0)) != 0) {
		error = rs__error_set(RS_EIO, "cannot run %s: %s", prog, strerror(rc));
		goto done;
	}

	rc = posix_spawn(&pid, full, &fa, NULL, argv, environ);
	if (rc != 0) {
		pid = -1;
		error = rs__error_set(RS_EIO, "cannot run %s: %s", full, strerror(rc));
		goto done;
	}
	close_fd(&to_child[0]);
	close_fd(&from_child[1]);

	/* A helper that exits without reading its input must not kill us with SIGPIPE. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set) == 0)
		sig_blocked = true;

	error = exchange(out, prog, pid, to_child[1], from_child[0], input, input_len, deadline,
	                 overall);
	to_child[1] = -1; /* closed by exchange */

	if (sig_blocked) {
		sigset_t pending;
		struct timespec zero = {0, 0};
		if (!sigismember(&old_set, SIGPIPE) && sigpending(&pending) == 0 &&
		    sigismember(&pending, SIGPIPE))
			sigtimedwait(&pipe_set, NULL, &zero);
		pthread_sigmask(SIG_SETMASK, &old_set, NULL);
	}

done:
	close_fd(&to_child[0]);
	close_fd(&to_child[1]);
	close_fd(&from_child[0]);
	close_fd(&from_child[1]);
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (pid > 0) {
		/* a helper that closed its output but goes on running is not waited for forever */
		int w = wait_child(pid, &status, error ? 0 : deadline);
		if (w < 0 && !error)
			error = rs__error_set(RS_EIO, "cannot wait for %s: %s", prog,
			                      strerror(errno));
		else if (w > 0 && !error)
			error = helper_timed_out(prog, overall,
			                         "closed its output but did not exit");
		*exit_status = status;
	}
	free(full);
	return error;
}

/* The helper's own message for a failure: first line of stdout, bounded and printable. */
static char *failure_message(const rs_buf *out)
{
	rs_buf m = RS_BUF_INIT;
	const char *s = rs__buf_cstr(out);
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	for (size_t i = 0; s[i] && s[i] != '\n' && s[i] != '\r' && i < 300; i++) {
		unsigned char c = (unsigned char)s[i];
		rs__buf_putc(&m, c < 0x20 || c == 0x7f ? '?' : (char)c);
	}
	while (m.size && m.ptr[m.size - 1] == ' ')
		m.ptr[--m.size] = '\0';
	return rs__buf_detach(&m);
}

/* Run an action and turn a non-zero exit into an error. */
static int run_checked(rs_buf *out, const char *helper, const char *action, const char *server_url,
                       const char *input, size_t input_len)
{
	int status, error;
	char *msg;
	if ((error = rs__credhelper_run(out, &status, helper, action, input, input_len)) < 0)
		return error;
	if (status == 0)
		return 0;
	if (!(msg = failure_message(out)))
		return RS_ENOMEM;
	if (strcmp(msg, NOT_FOUND_MESSAGE) == 0)
		error = rs__error_set(RS_ENOTFOUND, "no credentials for %s in docker-credential-%s",
		                      server_url, helper);
	else
		error = rs__error_set(RS_EAUTH,
		                      "docker-credential-%s %s for %s failed (exit %d)%s%s", helper,
		                      action, server_url, status, *msg ? ": " : "", msg);
	free(msg);
	return error;
}

int rs__credhelper_get(rs__credential *out, const char *helper, const char *server_url)
{
	rs_buf buf = RS_BUF_INIT;
	json_t *root = NULL, *user, *secret;
	json_error_t jerr;
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = run_checked(&buf, helper, "get", server_url, server_url, strlen(server_url))) <
	    0)
		goto done;
	/* never quote the output: it holds the secret */
	root = json_loadb(rs__buf_cstr(&buf), buf.size, 0, &jerr);
	if (!root && rs__json_oom(&jerr)) {
		error = rs__oom();
		goto done;
	}
	if (!root || !json_is_object(root)) {
		error = rs__error_set(
		        RS_EFORMAT, "docker-credential-%s get for %s: output is not a JSON object",
		        helper, server_url);
		goto done;
	}
	user = json_object_get(root, "Username");
	secret = json_object_get(root, "Secret");
	if ((user && !json_is_string(user)) || (secret && !json_is_string(secret))) {
		error = rs__error_set(
		        RS_EFORMAT,
		        "docker-credential-%s get for %s: Username and Secret must be "
		        "strings",
		        helper, server_url);
		goto done;
	}
	if (!secret || !*json_string_value(secret)) {
		error = rs__error_set(RS_ENOTFOUND, "no credentials for %s in docker-credential-%s",
		                      server_url, helper);
		goto done;
	}
	if (user && strcmp(json_string_value(user), TOKEN_USERNAME) == 0) {
		if (!(out->identity_token = rs__strdup(json_string_value(secret))))
			error = rs__oom();
	} else {
		out->username = rs__strdup(user ? json_string_value(user) : "");
		out->password = rs__strdup(json_string_value(secret));
		if (!out->username || !out->password) {
			rs__credential_dispose(out);
			error = rs__oom();
		}
	}
done:
	json_decref(root);
	rs__buf_dispose_secret(&buf);
	return error;
}

int rs__credhelper_store(const char *helper, const char *server_url, const char *user,
                         const char *secret)
{
	rs_buf buf = RS_BUF_INIT;
	json_t *obj = json_object(), *u = json_string(user ? user : ""),
	       *s = json_string(secret ? secret : ""), *url = json_string(server_url);
	char *input = NULL;
	int error;

	bool oom = !obj;
	if (u && s && url) {
		/* each call takes its value, even when it fails */
		oom |= json_object_set_new(obj, "ServerURL", url) < 0;
		oom |= json_object_set_new(obj, "Username", u) < 0;
		oom |= json_object_set_new(obj, "Secret", s) < 0;
		u = s = url = NULL;
		if (!oom && !(input = json_dumps(obj, JSON_COMPACT)))
			oom = true;
	} else if ((user && !u && rs__utf8_valid(user)) || (!user && !u) ||
	           (secret && !s && rs__utf8_valid(secret)) || (!secret && !s) ||
	           (!url && rs__utf8_valid(server_url))) {
		oom = true; /* json_string failed on valid text */
	}
	json_decref(u);
	json_decref(s);
	json_decref(url);
	if (oom) {
		error = rs__oom();
		goto done;
	}
	if (!input) {
		error = rs__error_set(RS_EINVAL,
		                      "cannot encode credentials for %s as JSON "
		                      "(invalid UTF-8?)",
		                      server_url);
		goto done;
	}
	error = run_checked(&buf, helper, "store", server_url, input, strlen(input));
done:
	rs__free_secret(input);
	json_decref(obj);
	rs__buf_dispose_secret(&buf);
	return error;
}

int rs__credhelper_erase(const char *helper, const char *server_url)
{
	rs_buf buf = RS_BUF_INIT;
	int error = run_checked(&buf, helper, "erase", server_url, server_url, strlen(server_url));
	rs__buf_dispose_secret(&buf);
	return error;
}
