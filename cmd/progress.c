#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct row {
	char digest[80];
	int64_t size;
	uint64_t done;
	rs_blob_state state;
	double started;
	char from[128];
} row;

struct progress {
	progress_mode mode;
	const char *verb;
	row *rows;
	size_t count;
	size_t drawn; /* lines drawn last time (TTY) */
	double last_draw;
	bool dirty; /* a change not drawn yet (throttled) */
	char image[256]; /* the image being moved (progress_image), or "" */
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void format_bytes(char *out, size_t n, double b)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;
	while (b >= 1024 && u < 4) {
		b /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, n, "%.0f %s", b, units[u]);
	else
		snprintf(out, n, "%.1f %s", b, units[u]);
}

int progress_mode_parse(progress_mode *out, const char *text, const char *const *usage)
{
	if (!text || !strcmp(text, "auto"))
		*out = PROGRESS_AUTO;
	else if (!strcmp(text, "tty"))
		*out = PROGRESS_TTY;
	else if (!strcmp(text, "plain"))
		*out = PROGRESS_PLAIN;
	else if (!strcmp(text, "none"))
		*out = PROGRESS_NONE;
	else
		return cli_usage_error(usage,
		                       "--progress: unknown mode \"%s\" (auto, tty, plain or "
		                       "none)",
		                       text);
	return 0;
}

/* TERM=dumb (or unset) and NO_COLOR (https://no-color.org) want no escape sequences. */
static bool no_escapes(void)
{
	const char *term = getenv("TERM"), *nc = getenv("NO_COLOR");
	return !term || !*term || !strcmp(term, "dumb") || (nc && *nc);
}

progress *progress_new(progress_mode mode, const char *verb)
{
	progress *p = calloc(1, sizeof(*p));
	if (!p)
		cli_out_of_memory();
	if (cli_global.quiet)
		mode = PROGRESS_NONE;
	else if (mode == PROGRESS_AUTO)
		mode = isatty(STDERR_FILENO) && !no_escapes() ? PROGRESS_TTY : PROGRESS_PLAIN;
	p->mode = mode;
	p->verb = verb;
	return p;
}

static row *find_row(progress *p, const char *digest)
{
	for (size_t i = 0; i < p->count; i++)
		if (!strcmp(p->rows[i].digest, digest))
			return &p->rows[i];
	p->rows = realloc(p->rows, (p->count + 1) * sizeof(*p->rows));
	if (!p->rows)
		cli_out_of_memory();
	memset(&p->rows[p->count], 0, sizeof(row));
	snprintf(p->rows[p->count].digest, sizeof(p->rows[p->count].digest), "%s", digest);
	p->rows[p->count].started = now();
	return &p->rows[p->count++];
}

static const char *state_word(const progress *p, rs_blob_state s)
{
	switch (s) {
	case RS_BLOB_COPIED:
		return p->verb;
	case RS_BLOB_TRANSFERRING:
		return !strcmp(p->verb, "pulled") ? "receiving" : "sending";
	default:
		return rs_blob_state_name(s);
	}
}

static void short_digest(char *out, size_t n, const char *digest)
{
	const char *colon = strchr(digest, ':');
	snprintf(out, n, "%.12s", colon ? colon + 1 : digest);
}

static void draw(progress *p, bool force)
{
	double t = now();
	if (!force && t - p->last_draw < 0.1) {
		p->dirty = true;
		return; /* at most 10 redraws a second */
	}
	p->last_draw = t;
	p->dirty = false;
	if (p->drawn)
		fprintf(stderr, "\033[%zuA", p->drawn);
	for (size_t i = 0; i < p->count; i++) {
		row *r = &p->rows[i];
		char id[16], done[32], total[32], rate[32] = "";
		short_digest(id, sizeof(id), r->digest);
		format_bytes(done, sizeof(done), (double)r->done);
		format_bytes(total, sizeof(total), r->size >= 0 ? (double)r->size : 0);
		if (r->state == RS_BLOB_TRANSFERRING && t > r->started) {
			char v[24];
			format_bytes(v, sizeof(v), (double)r->done / (t - r->started));
			snprintf(rate, sizeof(rate), "  %s/s", v);
		}
		fprintf(stderr, "\033[2K%s  %-12s %10s / %-10s%s\n", id, state_word(p, r->state),
		        done, total, rate);
	}
	p->drawn = p->count;
	fflush(stderr);
}

int progress_event(const rs_copy_event *ev, void *payload)
{
	progress *p = payload;
	row *r;
	rs_blob_state before;
	if (p->mode == PROGRESS_NONE || ev->kind != RS_COPY_BLOB)
		return 0;
	r = find_row(p, ev->digest);
	before = r->state;
	r->size = ev->size;
	r->state = ev->state;
	if (ev->state == RS_BLOB_TRANSFERRING && before != RS_BLOB_TRANSFERRING)
		r->started = now();
	if (ev->bytes_done)
		r->done = ev->bytes_done;
	if (ev->state == RS_BLOB_COPIED && ev->size >= 0)
		r->done = (uint64_t)ev->size;
	if (ev->mounted_from)
		snprintf(r->from, sizeof(r->from), "%s", ev->mounted_from);
	if (p->mode == PROGRESS_TTY) {
		draw(p, ev->state != RS_BLOB_TRANSFERRING);
		return 0;
	}
	/* plain: one line per state change, none for byte counts */
	if (before == ev->state)
		return 0;
	if (ev->state == RS_BLOB_EXISTS || ev->state == RS_BLOB_MOUNTED ||
	    ev->state == RS_BLOB_COPIED || ev->state == RS_BLOB_TRANSFERRING) {
		char size[32];
		format_bytes(size, sizeof(size), ev->size >= 0 ? (double)ev->size : 0);
		rs_buf img = RS_BUF_INIT;
		if (p->image[0])
			rs_text_escape(&img, p->image, 0);
		if (ev->state == RS_BLOB_MOUNTED)
			fprintf(stderr, "regship: %s%s%s mounted from %s (%s)\n",
			        img.ptr ? img.ptr : "", img.ptr ? ": " : "", ev->digest, r->from,
			        size);
		else
			fprintf(stderr, "regship: %s%s%s %s (%s)\n", img.ptr ? img.ptr : "",
			        img.ptr ? ": " : "", ev->digest, state_word(p, ev->state), size);
		rs_buf_dispose(&img);
	}
	return 0;
}

void progress_done(progress *p)
{
	/* only what was not drawn yet: a redraw now would move the cursor up over lines printed
	 * on standard output since (the "<reference>@<digest>" of the image just moved) */
	if (p && p->mode == PROGRESS_TTY && p->count && p->dirty)
		draw(p, true);
}

void progress_image(progress *p, const char *image)
{
	if (!p)
		return;
	progress_done(p);
	snprintf(p->image, sizeof(p->image), "%s", image ? image : "");
	/* the next image's rows start below whatever was printed meanwhile */
	p->drawn = 0;
	p->count = 0;
}

void progress_name(progress *p, const char *image)
{
	if (p)
		snprintf(p->image, sizeof(p->image), "%s", image ? image : "");
}

void progress_free(progress *p)
{
	if (!p)
		return;
	free(p->rows);
	free(p);
}
