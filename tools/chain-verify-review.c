// SPDX-License-Identifier: GPL-2.0-only
/*
 * Forensic review: the records of a verified log that match the filters,
 * as a table or as JSON lines (the records' own bytes), and --follow,
 * which checks each new record's link and hash as it is appended.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/chain-verify.h"

static const char *str_of(json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

/*
 * Whether the record is about the agent: its "agent" member, or for an
 * identity provider's change (idp-agent) the identity's "name", and for a
 * rename its old name too, so that --agent finds the disabling of an agent
 * next to its sessions.
 */
static bool names_agent(json_t *rec, const char *agent)
{
	const char *type = str_of(rec, "type");

	if (str_of(rec, "agent"))
		return !strcmp(str_of(rec, "agent"), agent);
	if (!type || strcmp(type, "idp-agent"))
		return false;
	return (str_of(rec, "name") && !strcmp(str_of(rec, "name"), agent)) ||
	       (str_of(rec, "from") && !strcmp(str_of(rec, "from"), agent));
}

/* Times are RFC 3339 in UTC as the writer formats them, so they compare
 * as strings; a bound may be a prefix ("2025-06-01"). */
static bool record_matches(const struct filters *f, json_t *rec)
{
	const char *t = str_of(rec, "time");
	json_t *s = json_object_get(rec, "session");

	if (f->agent && !names_agent(rec, f->agent))
		return false;
	if (f->decision && (!str_of(rec, "decision") || strcmp(str_of(rec, "decision"),
								  f->decision)))
		return false;
	if (f->action && (!str_of(rec, "action") || strcmp(str_of(rec, "action"), f->action)))
		return false;
	if (f->session >= 0 && (!json_is_integer(s) || json_integer_value(s) != f->session))
		return false;
	if (f->since && (!t || strncmp(t, f->since, strlen(f->since)) < 0))
		return false;
	if (f->until && (!t || strncmp(t, f->until, strlen(f->until)) > 0))
		return false;
	return true;
}

static void table_header(void)
{
	printf("%-8s %-27s %-14s %-10s %-8s %-8s %-7s %-32s %s\n", "SEQ", "TIME", "TYPE", "AGENT",
	       "SESSION", "ACTION", "DECIDED", "OBJECT", "RULE");
}

static void table_row(json_t *rec)
{
	const char *agent = str_of(rec, "agent") ?: str_of(rec, "name");
	json_t *s = json_object_get(rec, "session");
	char session[24] = "-";

	if (json_is_integer(s))
		snprintf(session, sizeof(session), "%" JSON_INTEGER_FORMAT, json_integer_value(s));

	printf("%-8" JSON_INTEGER_FORMAT " %-27s %-14s %-10s %-8s %-8s %-7s %-32s %s\n",
	       json_integer_value(json_object_get(rec, "seq")), str_of(rec, "time") ?: "-",
	       str_of(rec, "type") ?: "-", agent ?: "-", session,
	       str_of(rec, "action") ?: "-", str_of(rec, "decision") ?: "-",
	       str_of(rec, "object") ?: "-", str_of(rec, "rule") ?: "-");
}

static int print_line(void *ctx, const char *line, size_t len)
{
	const struct options *o = ctx;
	json_t *rec = json_loadb(line, len, 0, NULL);

	if (rec && record_matches(&o->f, rec)) {
		if (o->json)
			printf("%.*s\n", (int)len, line);
		else
			table_row(rec);
	}
	json_decref(rec);
	return 0;
}

int review_print(const struct options *o)
{
	struct verify_result r;

	if (!o->json)
		table_header();
	if (chain_each_record(o->path, print_line, (void *)o, &r) < 0) {
		fprintf(stderr, "chain-verify: %s\n", r.reason);
		return EXIT_TROUBLE;
	}
	return EXIT_SUCCESS;
}

/* ---- --follow ------------------------------------------------------------ */

struct follower {
	const struct options *o;
	uint64_t expect;
	uint8_t prev[CHAIN_HASH_LEN];
	char *path;	/* the live file */
	int fd;
	ino_t ino;
	char buf[CHAIN_RECORD_MAX];
	size_t have;
};

/* A live record must be as the writer writes it: its prefix names the
 * expected seq and prev exactly. */
static int follow_line(struct follower *w, const char *line, size_t len)
{
	char hex[CHAIN_HASH_HEX_LEN + 1], prefix[128];
	int n;

	chain_hash_hex(w->prev, hex);
	n = snprintf(prefix, sizeof(prefix), "{\"seq\":%" PRIu64 ",\"prev\":\"%s\"", w->expect, hex);
	if ((size_t)n >= len || memcmp(line, prefix, (size_t)n)) {
		fprintf(stderr, "chain-verify: %s: first bad record seq %" PRIu64 ": modified "
			"(does not link to record %" PRIu64 ")\n", w->path, w->expect, w->expect - 1);
		return EXIT_TAMPERED;
	}
	chain_hash_record(line, len, w->prev, w->prev);
	w->expect++;
	if (w->o->f.any || w->o->json)
		print_line((void *)w->o, line, len);
	else
		printf("%.*s\n", (int)len, line);
	fflush(stdout);
	return 0;
}

static int follow_read(struct follower *w)
{
	ssize_t got;
	int rc;

	while ((got = read(w->fd, w->buf + w->have, sizeof(w->buf) - w->have)) > 0) {
		char *p = w->buf, *end = w->buf + w->have + got, *nl;

		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			rc = follow_line(w, p, (size_t)(nl - p));
			if (rc)
				return rc;
			p = nl + 1;
		}
		w->have = (size_t)(end - p);
		memmove(w->buf, p, w->have);
	}
	return got < 0 ? EXIT_TROUBLE : 0;
}

/* A new segment replaced the live file: finish the old one, go on. */
static int follow_rotated(struct follower *w)
{
	struct stat st;
	int fd, rc;

	if (stat(w->path, &st) < 0 || st.st_ino == w->ino)
		return 0;
	fd = open(w->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	rc = follow_read(w); /* what the old file got before it was renamed */
	if (rc) {
		close(fd);
		return rc;
	}
	close(w->fd);
	w->fd = fd;
	w->ino = st.st_ino;
	w->have = 0;
	return 0;
}

int review_follow(const struct options *o, const struct verify_result *r)
{
	struct follower *w = calloc(1, sizeof(*w));
	struct stat st;
	int rc = 0;

	if (!w || stat(o->path, &st) < 0)
		return EXIT_TROUBLE;
	w->o = o;
	w->expect = r->last_seq + 1;
	memcpy(w->prev, r->last_hash, CHAIN_HASH_LEN);
	if (S_ISDIR(st.st_mode) ? asprintf(&w->path, "%s/%s", o->path, CHAIN_FILE) < 0
				: !(w->path = strdup(o->path)))
		return EXIT_TROUBLE;
	w->fd = open(w->path, O_RDONLY | O_CLOEXEC);
	if (w->fd < 0 || fstat(w->fd, &st) < 0) {
		fprintf(stderr, "chain-verify: %s: %s\n", w->path, strerror(errno));
		return EXIT_TROUBLE;
	}
	w->ino = st.st_ino;
	lseek(w->fd, (off_t)r->active_bytes, SEEK_SET);
	while (rc == 0) {
		rc = follow_read(w);
		if (rc == 0)
			rc = follow_rotated(w);
		if (rc == 0)
			usleep(200 * 1000);
	}
	return rc;
}
