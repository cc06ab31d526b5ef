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
#define SCHEMA_KEYS_MAX 32

struct key_def;
struct loader;

/* A configuration file that is a symbolic link, and where it leads. */
struct file_link {
	char *file;		/* relative to the configuration dir */
	char *target;
};

/* One kind of file (pinfoldd.conf or an agent file): its keys, a flat
 * table in which a section exists when some row names it. */
struct schema {
	const struct key_def *keys;
	size_t nkeys;
};

extern const struct schema schema_daemon;
extern const struct schema schema_agent;
extern const struct schema schema_role;
extern const struct schema schema_bound;

/* State of one policy_load() call, and of the file it is parsing. */
struct loader {
	struct policy *p;
	struct diag *d;
	unsigned nerr;
	bool oom;

	const struct schema *schema;
	/* The file being parsed: at most one of agent, role and bound is
	 * set, and set is its grant set (all NULL for pinfoldd.conf). */
	struct agent *agent;
	struct role *role;
	struct bound *bound;
	struct grant_set *set;
	enum layer layer;
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

	struct file_link *links;	/* the files read that are links */
	size_t nlinks;
};

/* load.c */
void load_error(struct loader *l, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void *load_realloc(struct loader *l, void *ptr, size_t n, size_t size);
char *load_strdup(struct loader *l, const char *s);

/* load_links.c: note whether l->file (name within dfd) is a link; add
 * to each message from the first on that names a linked file where it
 * leads; free what was noted. */
void load_note_link(struct loader *l, int dfd, const char *name);
void load_annotate_links(struct loader *l, size_t first);
void load_links_free(struct loader *l);

/* keys.c */
int keys_handler(void *user, const char *section, const char *name,
		 const char *value);
int parse_uint(const char *s, unsigned long long max,
	       unsigned long long *out);
/* A group name or number; reports an unknown one at l->line. */
int load_resolve_gid(struct loader *l, const char *value, gid_t *gid);

/* paths.c */
int path_pattern_check(const char *pattern, char *why, size_t whylen);
int path_plain_check(const char *path, char *why, size_t whylen);

/* net.c: whether the first bits of a and b agree. */
bool prefix_match(const uint8_t a[16], const uint8_t b[16], unsigned bits);

/* net.c: parse "CIDR PORTS" into *n grants in a new array *out (rule and
 * line left 0). Returns 0, or -1 with the reason in why. */
int net_parse_connect(const char *value, struct net_grant **out, size_t *n,
		      char *why, size_t whylen);

/* approve.c: value parsers of the approval keys; each returns 0, or -1
 * with the reason in why. */
int approve_split_options(char *value, struct approve_rule *r, char *why, size_t whylen);
int approve_parse_timeout(const char *value, uint64_t *ms, char *why, size_t whylen);
int approve_parse_outcome(const char *value, enum approve_timeout *out, char *why,
			  size_t whylen);
int principal_parse(const char *item, struct principal *out, char *why, size_t whylen);
/* Frees the approve rules and approvers of a set. */
void approve_rules_free(struct grant_set *s);
/* Appends copies of src's approve rules to dst, each condition joined to
 * cond, and src's approvers. Returns 0, or cond_join()'s error. */
int approve_append(struct policy *p, struct grant_set *dst, const struct grant_set *src,
		   uint32_t cond);

/* cond.c: parse a condition written at l->file:l->line into a new
 * entry of p->conds, *out its index. Returns 0, or -1 after reporting. */
int cond_parse(struct loader *l, const char *text, uint32_t *out);
/* Whether a line with condition cond takes part in permission r. With
 * no context a grant's condition cannot be judged and the grant is left
 * out; a denial's is kept. */
bool perm_selects(const struct perm_req *r, uint32_t cond, bool deny);
/* The conjunction of a and b as a condition index (0 is "none"). Returns
 * 0, -1 when memory runs out, -2 when they name different time zones. */
int cond_join(struct policy *p, uint32_t a, uint32_t b, uint32_t *out);
/* Report each agent.KEY term no agent that may use it declares. */
unsigned cond_check_attrs(struct policy *p, struct diag *d);
void conds_free(struct policy *p);
/* Split "VALUE when COND" at the first " when ": *cond points to COND,
 * or is NULL; the value part is copied into buf. -1 when it does not fit. */
int split_when(const char *value, char *buf, size_t buflen, const char **cond);

/* grants.c: append to a set; each returns the new element or NULL when
 * memory runs out (l->oom set). */
struct path_grant *set_add_path(struct loader *l, struct grant_set *s);
struct net_grant *set_add_nets(struct loader *l, struct grant_set *s, size_t n);
struct unix_grant *set_add_unix(struct loader *l, struct grant_set *s);
/* Append copies of every grant of src to dst, each with its condition
 * joined to cond (0: none). Returns 0, or cond_join()'s error. */
int set_append(struct policy *p, struct grant_set *dst, const struct grant_set *src,
	       uint32_t cond);
void set_free(struct grant_set *s);
/* A comma-separated list into *out (each item trimmed, none empty).
 * Returns the count, or -1 with the reason in why. */
int parse_name_list(const char *value, char ***out, char *why, size_t whylen);
void names_free(char **v, size_t n);

/* roles.c: resolve every agent's roles into its set, report unknown roles
 * and cycles. Returns the number of errors reported. */
unsigned roles_resolve(struct policy *p, struct diag *d);
/* Resolve one agent's roles (names in a->roles) into a->set. file and
 * line say where the list was written. Returns 0 or -1 with d told. */
int roles_apply(struct policy *p, struct agent *a, struct diag *d);
bool name_ok(const char *name, size_t len);

/* bounds.c: report bounds that name an unknown agent. Returns the number
 * of errors. */
unsigned bounds_check(struct policy *p, struct diag *d);

/* load.c */
void agent_free(struct agent *a);

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
