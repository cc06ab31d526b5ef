/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Declarations shared between the policy library's own files. Nothing here
 * is for callers; policy.h is the contract.
 */
#ifndef PINFOLD_POLICY_INT_H
#define PINFOLD_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "policy/policy.h"

/* Room for the reason a value parser gives, before "file:line: ". */
#define WHY_MAX 512
/* Single-valued and repeatable keys of one file kind, at most. */
#define SCHEMA_KEYS_MAX 16

struct key_def;
struct loader;

/* One kind of file (pinfoldd.conf or an agent file): its keys, a flat
 * table in which a section exists when some row names it. */
struct schema {
	const struct key_def *keys;
	size_t nkeys;
};

extern const struct schema schema_daemon;
extern const struct schema schema_agent;

/* State of one policy_load() call, and of the file it is parsing. */
struct loader {
	struct policy *p;
	struct diag *d;
	unsigned nerr;
	bool oom;

	const struct schema *schema;
	struct agent *agent;		/* NULL while parsing pinfoldd.conf */
	const char *file;		/* relative to the configuration dir */
	const char *buf;		/* the file's bytes */
	size_t len, pos;
	int line;			/* of the line inih last read */

	/* Syntax-error lines found by the dry passes, ascending; the real
	 * pass reports each and hands inih an empty line instead. */
	int *bad;
	size_t nbad, next_bad;
	bool dry;

	/* Section tracking: inih gives only the name, so the reader notes
	 * the line of each header and the handler spots a change. */
	int header_line;
	bool had_key;			/* since that header, as inih sees it */
	char section[64];
	int section_line;
	bool section_known;
	int seen[SCHEMA_KEYS_MAX];	/* line a single-valued key came on */
};

/* load.c */
void load_error(struct loader *l, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void *load_realloc(struct loader *l, void *ptr, size_t n, size_t size);
char *load_strdup(struct loader *l, const char *s);

/* keys.c */
int keys_handler(void *user, const char *section, const char *name,
		 const char *value);
int parse_uint(const char *s, unsigned long long max,
	       unsigned long long *out);

/* paths.c */
int path_pattern_check(const char *pattern, char *why, size_t whylen);
int path_plain_check(const char *path, char *why, size_t whylen);

/* net.c: parse "CIDR PORTS" into *n grants in a new array *out (rule and
 * line left 0). Returns 0, or -1 with the reason in why. */
int net_parse_connect(const char *value, struct net_grant **out, size_t *n,
		      char *why, size_t whylen);

/* hash.c: the policy hash, see docs/policy.md. hash_end frees md; each
 * returns 0, or -1 when OpenSSL fails. */
EVP_MD_CTX *hash_begin(void);
int hash_file(EVP_MD_CTX *md, const char *name, const char *buf, size_t len);
int hash_end(EVP_MD_CTX *md, uint8_t out[32], char hex[65]);

/* keys_audit.c: the audit keys of pinfoldd.conf [daemon]. */
struct key_def;
void audit_conf_defaults(struct audit_conf *a);
void audit_conf_free(struct audit_conf *a);
void key_checkpoint_records(struct loader *l, const struct key_def *k, const char *value);
void key_checkpoint_interval(struct loader *l, const struct key_def *k, const char *value);
void key_segment_size(struct loader *l, const struct key_def *k, const char *value);
void key_retain_segments(struct loader *l, const struct key_def *k, const char *value);
void key_anchor_command(struct loader *l, const struct key_def *k, const char *value);
void key_anchor_file(struct loader *l, const struct key_def *k, const char *value);
void key_on_write_error(struct loader *l, const struct key_def *k, const char *value);

#endif
