/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The policy library: loads the configuration directory (pinfoldd.conf and
 * agents.d/NAME.ini) with inih, validates it with file:line errors, compiles it
 * into lookup structures and answers "may this agent do this".
 *
 * Every call that can fail on bad input reports through a struct diag, one
 * "file:line: reason" line per problem, file names relative to the
 * configuration directory.
 */
#ifndef PINFOLD_POLICY_H
#define PINFOLD_POLICY_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bpf/events.h"

/* Collected problems. Each message is one line without a trailing newline.
 * A zeroed struct is empty and ready; d may be NULL to discard messages.
 * When memory runs out a message is dropped, so success is decided by the
 * return value of the call that reported, never by n. */
struct diag {
	char **msgs;
	size_t n;
	size_t cap;
};

void diag_add(struct diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void diag_vadd(struct diag *d, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Frees every message and leaves d empty, ready for reuse. */
void diag_free(struct diag *d);

/* Access bits of a path grant or an evaluated request. */
#define ACC_READ 0x1u
#define ACC_WRITE 0x2u
#define ACC_EXEC 0x4u

/* One grant line of the configuration; decisions name it. id 0 is never
 * used, so 0 means "no rule" (the default deny). */
struct rule {
	uint32_t id;
	char *file;	/* relative to the configuration directory */
	int line;
	char *text;	/* "key = value" as written */
};

/* A path grant as written, before ${workspace}, ${home} are expanded. */
struct path_grant {
	char *pattern;
	unsigned access;	/* ACC_* */
	uint32_t rule;
	int line;		/* of the rule, in the agent's file */
};

/* A network grant: addr is IPv6, IPv4 as ::ffff:a.b.c.d with the prefix
 * counted in IPv6 bits (so 10.0.0.0/8 has prefix 104). */
struct net_grant {
	uint8_t addr[16];
	uint8_t prefix;
	uint16_t port_lo, port_hi;
	uint32_t rule;
	int line;		/* of the rule, in the agent's file */
};

/* One connect line with several port ranges ("53,443") becomes one
 * net_grant per range, all naming the same rule. */
/* A pathname unix socket the agent may connect to, as an exact path. */
#define UNIX_PATH_LEN 108	/* sizeof(sun_path) */
struct unix_grant {
	char *path;
	uint32_t rule;
};

struct agent {
	uint32_t id;		/* 1-based, stable within one loaded policy */
	char *name;		/* the file name without ".ini" */
	char *file;		/* "agents.d/NAME.ini" */
	char *description;
	bool enabled;
	bool has_uid;
	uid_t uid;		/* when has_uid: the uid it runs as */
	char *home;		/* NULL: the run-as user's home, else workspace */
	char *workspace;	/* NULL: <state>/workspaces/NAME */
	struct path_grant *paths;
	size_t npaths;
	struct net_grant *nets;
	size_t nnets;
	struct unix_grant *unix_socks;
	size_t nunix;
};

/* What pinfoldd does when the audit log cannot be written. */
enum write_error_action {
	WRITE_ERROR_FREEZE = 0,	/* freeze every agent session until writes work */
	WRITE_ERROR_DENY,	/* refuse new sessions; running ones go on */
	WRITE_ERROR_COUNT,	/* go on, and count the records lost */
};

/* pinfoldd.conf [daemon], the audit log's keys (policy/keys_audit.c). */
struct audit_conf {
	unsigned checkpoint_records;	/* a signed checkpoint at least this often */
	unsigned checkpoint_interval_s;	/* and this long after a record at most */
	unsigned long long segment_bytes;	/* a new segment past this size */
	unsigned retain_segments;	/* closed segments kept; 0 keeps all */
	char *anchor_command;		/* run with each checkpoint on stdin */
	char *anchor_file;		/* each checkpoint appended to it */
	enum write_error_action on_write_error;
};

/* pinfoldd.conf [daemon] */
struct daemon_conf {
	uid_t uid_lo, uid_hi;		/* range for agents without uid */
	unsigned fsync_interval_ms;	/* group commit interval */
	struct audit_conf audit;
};

struct policy {
	struct daemon_conf conf;
	struct agent *agents;
	size_t nagents;
	struct rule *rules;	/* rules[i].id == i + 1 */
	size_t nrules;
	uint8_t hash[32];	/* SHA-256 over every file loaded */
	char hash_hex[65];
};

/*
 * Load and validate config_dir. Returns 0 and sets *out when clean; returns
 * -1 with every problem in d otherwise (and *out untouched). A missing
 * pinfoldd.conf means defaults; a missing agents.d means no agents; a
 * missing config_dir is an error. Agents and rules come in load order:
 * pinfoldd.conf, then the agents.d/NAME.ini files sorted by byte value.
 * Every string in the policy is owned by it and freed by policy_free().
 * The format is described in docs/policy.md.
 */
int policy_load(const char *config_dir, struct policy **out, struct diag *d);
void policy_free(struct policy *p);

/* NULL when there is no such agent, or id is 0 or above nrules. */
const struct agent *policy_agent(const struct policy *p, const char *name);
const struct rule *policy_rule(const struct policy *p, uint32_t id);

/* An agent's path grants with ${workspace} and ${home} expanded and each
 * path made canonical lexically (no "//", ".", "..", trailing "/"). */
struct bound_path {
	char *path;
	unsigned access;
	uint32_t rule;
};

struct grants {
	struct bound_path *paths;
	size_t npaths;
	/* path lookup structure, private to the library */
	void *index;
};

/*
 * Bind a's grants to one session's workspace and home (either may be NULL).
 * A grant naming a variable that has no value, or expanding past PATH_MAX,
 * is skipped with a "file:line: ..., grant skipped" message in d; the rest
 * still bind. Returns NULL, with a message, when workspace or home is given
 * but is not an absolute path, or when memory runs out. The result does not
 * point into a and outlives it.
 */
struct grants *grants_bind(const struct agent *a, const char *workspace,
			   const char *home, struct diag *d);
void grants_free(struct grants *g);

/*
 * Decide a request for an absolute path, lexically canonicalised first.
 * Returns true when every bit of access is granted; *rule is the id of the
 * grant that decided (the longest matching one for an allow), 0 for the
 * default deny. A relative path is always denied, and so is one of PATH_MAX
 * bytes or more. A grant matches when its path equals the request or is an
 * ancestor of it at a component boundary (/usr covers /usr/lib, not
 * /usrx). The bits add up across grants, as in the kernel's Landlock layer:
 * read = /w and write = /w together allow a read|write open of /w/f. An
 * exec grant also allows reading the files beneath it (executing needs
 * reading). The rule named is the longest grant that gave any requested
 * bit; among equally long ones, the lowest rule id. rule may be NULL.
 * Allocates nothing.
 */
bool grants_check_path(const struct grants *g, const char *path,
		       unsigned access, uint32_t *rule);

/*
 * Network entries for the kernel's LPM trie: one per distinct prefix, with
 * the port ranges of every covering prefix folded in, so a longest-prefix
 * lookup alone gives the complete answer. Each entry's ranges are sorted,
 * do not overlap, and carry the rule agent_check_connect() would name for
 * their ports. Entries come in the order their prefixes first appear.
 * Caller frees *out with free(); it is NULL when the count is 0.
 * Returns the count, or -1 with a message in d when an entry would need more
 * than NET_RANGES_MAX ranges (every such entry is named) or memory runs out.
 */
struct net_entry {
	uint8_t addr[16];
	uint8_t prefix;		/* IPv6 bits */
	struct net_value value;
};

int agent_net_table(const struct agent *a, struct net_entry **out,
		    struct diag *d);

/* The same decision the kernel makes, for explanations and tests: among
 * the grants whose prefix holds addr and whose range holds port, the one
 * with the longest prefix decides, the lowest rule id among equals. addr is
 * in IPv6 form (IPv4 as ::ffff:a.b.c.d), so ::/0 also covers every IPv4
 * address. rule may be NULL; it is set to 0 on a deny. */
bool agent_check_connect(const struct agent *a, const uint8_t addr[16],
			 uint16_t port, uint32_t *rule);

/* Room for net_prefix_format()'s result, NUL included. */
#define NET_PREFIX_STRLEN 52

/* Write addr/prefix as it would be written in a policy: IPv4-mapped
 * prefixes of 96 bits or more as "a.b.c.d/len", others as IPv6. */
void net_prefix_format(const uint8_t addr[16], uint8_t prefix, char *out,
		       size_t outlen);

/* Canonicalise an absolute path lexically into out (size outlen): "//"
 * collapses, "." goes, ".." removes the component before it (and stays at
 * "/" at the root), a trailing "/" goes, "/" stays "/". Symlinks are not
 * looked at. Bytes are bytes: no encoding is assumed.
 * Returns 0, or -1 for a relative path, one of PATH_MAX bytes or more, or
 * one whose result does not fit. */
int path_canonical(const char *path, char *out, size_t outlen);

#endif
