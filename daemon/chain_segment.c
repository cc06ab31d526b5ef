// SPDX-License-Identifier: GPL-2.0-only
/*
 * What makes a chain a signed log: its genesis record, checkpoints in
 * checkpoints.jsonl, segments of bounded size and the retention of old
 * ones. Records the chain writes itself go through chain_append_raw, so
 * that they never trigger the work that writes them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "daemon/chain.h"
#include "daemon/chain_internal.h"

static json_t *own_record(struct chain *c, const char *type)
{
	char t[32];

	chain_format_time(chain_now_ns(c), t);
	return json_pack("{s:s,s:s}", "type", type, "time", t);
}

/* Members that let a segment be judged without the ones before it. */
static void identity_set(struct chain *c, json_t *rec)
{
	char id[9], vkey[CHAIN_KEY_NAME_MAX + 64];

	snprintf(id, sizeof(id), "%08x", chain_key_id(c->opts.key));
	chain_key_public(c->opts.key, vkey, sizeof(vkey));
	json_object_set_new(rec, "log_id", json_string(c->log_id));
	json_object_set_new(rec, "origin", json_string(c->origin));
	json_object_set_new(rec, "key_id", json_string(id));
	json_object_set_new(rec, "key", json_string(vkey));
	json_object_set_new(rec, "checkpoint_records",
			    json_integer((json_int_t)c->opts.checkpoint_records));
	if (c->opts.host)
		json_object_set_new(rec, "host", json_string(c->opts.host));
	if (c->opts.boot_id)
		json_object_set_new(rec, "boot", json_string(c->opts.boot_id));
}

static int64_t append_own(struct chain *c, json_t *rec)
{
	int64_t seq = rec ? chain_append_raw(c, rec) : -ENOMEM;

	json_decref(rec);
	return seq;
}

int64_t chain_write_genesis(struct chain *c)
{
	uint8_t id[CHAIN_LOG_ID_LEN];
	json_t *rec;

	if (c->opts.log_id)
		memcpy(id, c->opts.log_id, sizeof(id));
	else if (RAND_bytes(id, sizeof(id)) != 1)
		return -EIO;
	for (size_t i = 0; i < sizeof(id); i++)
		snprintf(c->log_id + 2 * i, 3, "%02x", id[i]);
	snprintf(c->origin, sizeof(c->origin), "%s/pinfold-audit/%s",
		 c->opts.host && *c->opts.host ? c->opts.host : "localhost", c->log_id);
	rec = own_record(c, "genesis");
	if (rec)
		json_object_set_new(rec, "format", json_integer(CHAIN_FORMAT_VERSION));
	if (rec)
		identity_set(c, rec);
	return append_own(c, rec);
}

int64_t chain_write_segment_start(struct chain *c, uint64_t prev_first)
{
	char name[64];
	json_t *rec = own_record(c, "segment");

	snprintf(name, sizeof(name), CHAIN_SEGMENT_FMT, prev_first);
	if (rec) {
		identity_set(c, rec);
		json_object_set_new(rec, "previous", json_string(name));
		json_object_set_new(rec, "previous_last_seq",
				    json_integer((json_int_t)c->next_seq - 1));
	}
	return append_own(c, rec);
}

/* One line of checkpoints.jsonl: the note as a JSON string. */
static int checkpoint_store(struct chain *c, const char *note)
{
	json_t *obj = json_pack("{s:s}", "note", note);
	char *line = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	size_t n = line ? strlen(line) : 0;
	int rc = 0;

	json_decref(obj);
	if (!line)
		return -ENOMEM;
	line[n] = '\n'; /* over the NUL: the line is written by length */
	if (write(c->ckpt_fd, line, n + 1) != (ssize_t)(n + 1) || fdatasync(c->ckpt_fd) < 0)
		rc = errno ? -errno : -EIO;
	free(line);
	return rc;
}

/*
 * The records a checkpoint covers reach the disk before it does, so that
 * no crash can leave a checkpoint of records that are not there.
 */
int chain_checkpoint_make(struct chain *c)
{
	struct chain_checkpoint cp = { .size = c->next_seq };
	char note[CHAIN_NOTE_MAX];
	int rc;

	c->ckpt_due = true;
	if (c->next_seq == 0)
		return 0;
	rc = chain_buffer_write(c);
	if (rc == 0 && fdatasync(c->fd) < 0)
		rc = -errno;
	if (rc < 0)
		return rc;
	snprintf(cp.origin, sizeof(cp.origin), "%s", c->origin);
	memcpy(cp.hash, c->last, CHAIN_HASH_LEN);
	rc = chain_note_sign(c->opts.key, &cp, note, sizeof(note));
	if (rc >= 0)
		rc = checkpoint_store(c, note);
	if (rc < 0)
		return rc;
	c->ckpt = cp;
	c->ckpt_ms = chain_mono_ms();
	c->ckpt_due = false;
	if (c->opts.on_checkpoint)
		c->opts.on_checkpoint(c->opts.ctx, note, &cp);
	return 0;
}

/* Closed segments, oldest first: their first seqs, from their names. */
static size_t segments_list(struct chain *c, uint64_t *firsts, size_t max)
{
	int fd = dup(c->dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	size_t n = 0;
	uint64_t v;
	char tail;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	rewinddir(d);
	while ((e = readdir(d)) && n < max)
		if (sscanf(e->d_name, "chain-%20" SCNu64 ".jsonl%c", &v, &tail) == 1 &&
		    strlen(e->d_name) == 32)
			firsts[n++] = v;
	closedir(d);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && firsts[j - 1] > firsts[j]; j--) {
			v = firsts[j];
			firsts[j] = firsts[j - 1];
			firsts[j - 1] = v;
		}
	return n;
}

/*
 * Whole old segments go, oldest first, and a record says which and what
 * range of seqs, durable before the first file is removed.
 */
static int retention_apply(struct chain *c)
{
	uint64_t firsts[256];
	size_t n = segments_list(c, firsts, 256), drop;
	char name[64];
	json_t *rec, *files;
	int rc;

	if (!c->opts.retain_segments || n <= c->opts.retain_segments)
		return 0;
	drop = n - c->opts.retain_segments;
	rec = own_record(c, "retention");
	files = json_array();
	for (size_t i = 0; i < drop; i++) {
		snprintf(name, sizeof(name), CHAIN_SEGMENT_FMT, firsts[i]);
		json_array_append_new(files, json_string(name));
	}
	json_object_set_new(rec, "removed", files);
	json_object_set_new(rec, "first_seq", json_integer((json_int_t)firsts[0]));
	json_object_set_new(rec, "last_seq", json_integer((json_int_t)firsts[drop] - 1));
	rc = (int)append_own(c, rec);
	if (rc >= 0)
		rc = chain_buffer_write(c);
	if (rc == 0 && fdatasync(c->fd) < 0)
		rc = -errno;
	for (size_t i = 0; rc == 0 && i < drop; i++) {
		snprintf(name, sizeof(name), CHAIN_SEGMENT_FMT, firsts[i]);
		if (unlinkat(c->dfd, name, 0) < 0 && errno != ENOENT)
			rc = -errno;
	}
	if (rc == 0)
		fsync(c->dfd);
	return rc;
}

/*
 * The full segment gets a final checkpoint and its closed name; the new
 * chain.jsonl opens with a record naming it. A crash between the rename
 * and the new file leaves no chain.jsonl, which chain_open handles.
 */
static int segment_rotate(struct chain *c)
{
	uint64_t prev_first = c->seg_first;
	char name[64], err[256];
	int rc;

	rc = chain_checkpoint_make(c);
	if (rc < 0)
		return rc;
	snprintf(name, sizeof(name), CHAIN_SEGMENT_FMT, prev_first);
	if (renameat(c->dfd, CHAIN_FILE, c->dfd, name) < 0)
		return -errno;
	fsync(c->dfd);
	close(c->fd);
	c->fd = -1;
	c->rotating = true;
	rc = chain_active_open(c, err, sizeof(err));
	c->rotating = false;
	if (rc < 0)
		return rc;
	c->seg_first = c->next_seq;
	c->seg_bytes = 0;
	rc = (int)chain_write_segment_start(c, prev_first);
	return rc < 0 ? rc : retention_apply(c);
}

void chain_after_append(struct chain *c)
{
	if (c->next_seq - c->ckpt.size >= c->opts.checkpoint_records)
		chain_checkpoint_make(c);
	if (c->opts.segment_bytes && c->seg_bytes >= c->opts.segment_bytes &&
	    c->next_seq > c->seg_first + 1)
		segment_rotate(c);
}
