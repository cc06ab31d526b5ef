// SPDX-License-Identifier: GPL-2.0-only
/*
 * The audit log's keys of pinfoldd.conf [daemon]: checkpoints, segments,
 * retention, anchors and what to do when the log cannot be written.
 * docs/policy.md lists them with their defaults.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/policy_int.h"

void audit_conf_defaults(struct audit_conf *a)
{
	memset(a, 0, sizeof(*a));
	a->checkpoint_records = 10000;
	a->checkpoint_interval_s = 60;
	a->segment_bytes = 64ull << 20;
	a->on_write_error = WRITE_ERROR_FREEZE;
}

void audit_conf_free(struct audit_conf *a)
{
	free(a->anchor_command);
	free(a->anchor_file);
	a->anchor_command = a->anchor_file = NULL;
}

static struct audit_conf *conf_of(struct loader *l)
{
	return &l->p->conf.audit;
}

void key_checkpoint_records(struct loader *l, const struct key_def *k, const char *value)
{
	unsigned long long v;

	(void)k;
	if (parse_uint(value, 10000000, &v) < 0 || v < 100) {
		load_error(l, l->line, "bad checkpoint_records '%s': records, 100 to 10000000",
			   value);
		return;
	}
	conf_of(l)->checkpoint_records = (unsigned)v;
}

void key_checkpoint_interval(struct loader *l, const struct key_def *k, const char *value)
{
	unsigned long long v;

	(void)k;
	if (parse_uint(value, 86400, &v) < 0) {
		load_error(l, l->line, "bad checkpoint_interval_s '%s': seconds, 0 (never) to "
			   "86400", value);
		return;
	}
	conf_of(l)->checkpoint_interval_s = (unsigned)v;
}

/* A size with an optional K, M or G (powers of 1024). */
void key_segment_size(struct loader *l, const struct key_def *k, const char *value)
{
	static const char units[] = "KMG";
	char num[32];
	size_t n = strlen(value);
	const char *u = n ? strchr(units, value[n - 1]) : NULL;
	unsigned long long v;

	(void)k;
	if (n >= sizeof(num) || (u && n < 2)) {
		load_error(l, l->line, "bad segment_size '%s': bytes, or a number with K, M or G",
			   value);
		return;
	}
	memcpy(num, value, n + 1);
	if (u && *u)
		num[n - 1] = 0;
	if (parse_uint(num, 1ull << 40, &v) < 0) {
		load_error(l, l->line, "bad segment_size '%s': bytes, or a number with K, M or G",
			   value);
		return;
	}
	if (u && *u)
		v <<= 10 * (unsigned)(u - units + 1);
	if (v < (64u << 10) || v > (64ull << 30)) {
		load_error(l, l->line, "bad segment_size '%s': 64K to 64G", value);
		return;
	}
	conf_of(l)->segment_bytes = v;
}

void key_retain_segments(struct loader *l, const struct key_def *k, const char *value)
{
	unsigned long long v;

	(void)k;
	if (parse_uint(value, 100000, &v) < 0) {
		load_error(l, l->line, "bad retain_segments '%s': a count, 0 keeps all", value);
		return;
	}
	conf_of(l)->retain_segments = (unsigned)v;
}

void key_anchor_command(struct loader *l, const struct key_def *k, const char *value)
{
	(void)k;
	if (!*value) {
		load_error(l, l->line, "empty anchor_command: leave the key out instead");
		return;
	}
	free(conf_of(l)->anchor_command);
	conf_of(l)->anchor_command = load_strdup(l, value);
}

void key_anchor_file(struct loader *l, const struct key_def *k, const char *value)
{
	(void)k;
	if (value[0] != '/') {
		load_error(l, l->line, "bad anchor_file '%s': an absolute path", value);
		return;
	}
	free(conf_of(l)->anchor_file);
	conf_of(l)->anchor_file = load_strdup(l, value);
}

void key_on_write_error(struct loader *l, const struct key_def *k, const char *value)
{
	static const char *const names[] = { "freeze", "deny", "count" };

	(void)k;
	for (size_t i = 0; i < 3; i++) {
		if (!strcasecmp(value, names[i])) {
			conf_of(l)->on_write_error = (enum write_error_action)i;
			return;
		}
	}
	load_error(l, l->line, "bad on_write_error '%s': use freeze, deny or count", value);
}
