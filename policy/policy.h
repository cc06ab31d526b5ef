/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The policy library: loads the configuration directory (pinfoldd.conf,
 * agents.d/NAME.ini, roles.d/NAME.ini and users.d/NAME.ini) with inih,
 * validates it with file:line errors, compiles it into lookup structures
 * and answers "may this agent do this".
 *
 * The model: an agent holds its own grants and denials and those of the
 * roles it lists (roles inherit roles). Any grant or role may carry a
 * condition on attributes of the agent, the dispatching user, the session
 * or the time. The dispatcher's bound (users.d) caps what any agent that
 * user launches may hold: a session's effective permission is the agent's
 * grants whose conditions hold, intersected with the bound, less every
 * denial. A denial always beats a grant; what is not granted is denied.
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

/* Which part of the configuration a rule comes from, and so which layer
 * refused a request. LAYER_CONDITION and LAYER_DEFAULT name no file of
 * their own: a grant whose condition does not hold, and "nothing grants
 * it". */
enum layer {
	LAYER_DEFAULT = 0,
	LAYER_AGENT,
	LAYER_ROLE,
	LAYER_BOUND,
	LAYER_CONDITION,
};

/* "agent", "role", "dispatcher bound", "condition", "default". */
const char *layer_name(enum layer l);

/* One grant or denial line of the configuration; decisions name it. id 0
 * is never used, so 0 means "no rule" (the default deny). */
struct rule {
	uint32_t id;
	char *file;	/* relative to the configuration directory */
	int line;
	char *text;	/* "key = value" as written */
	enum layer layer;	/* from the file's folder */
	bool deny;
};

/* A path grant as written, before ${workspace}, ${home} and ${user} are
 * expanded. With deny set it is a denial of the access bits instead. */
struct path_grant {
	char *pattern;
	unsigned access;	/* ACC_* */
	uint32_t rule;
	int line;		/* of the rule, in its file */
	bool deny;
	uint32_t cond;		/* index into policy.conds, 0: none */
};

/* A network grant: addr is IPv6, IPv4 as ::ffff:a.b.c.d with the prefix
 * counted in IPv6 bits (so 10.0.0.0/8 has prefix 104). With deny set, a
 * denial of those addresses and ports. */
struct net_grant {
	uint8_t addr[16];
	uint8_t prefix;
	uint16_t port_lo, port_hi;
	uint32_t rule;
	int line;		/* of the rule, in its file */
	bool deny;
	uint32_t cond;		/* index into policy.conds, 0: none */
};

/* One connect line with several port ranges ("53,443") becomes one
 * net_grant per range, all naming the same rule. */
/* A pathname unix socket the agent may connect to, as an exact path. */
#define UNIX_PATH_LEN 108	/* sizeof(sun_path) */
struct unix_grant {
	char *path;
	uint32_t rule;
	uint32_t cond;		/* index into policy.conds, 0: none */
};

/* A grant that holds the action until a human decides: [exec] approve
 * (one program, by path) or [network] approve (CIDR and ports). */
enum approve_kind { APPROVE_EXEC = 1, APPROVE_CONNECT = 2 };
enum approve_timeout { TIMEOUT_INHERIT = 0, TIMEOUT_DENY, TIMEOUT_ALLOW };

#define APPROVE_TIMEOUT_DEFAULT_MS (5u * 60 * 1000)

struct approve_rule {
	enum approve_kind kind;
	uint32_t rule;
	int line;
	char *pattern;			/* exec: the path as written */
	struct net_grant *nets;		/* connect: one per port range */
	size_t nnets;
	uint64_t timeout_ms;		/* 0: the agent's [approval] timeout */
	enum approve_timeout on_timeout;	/* INHERIT: the agent's */
	uint32_t cond;			/* index into policy.conds, 0: none */
};

/* Who may approve: a uid, or every member of a gid. */
struct principal {
	bool group;
	uint32_t id;
};

/* [approval] of an agent file, but for approvers (in its grant set). */
struct approval_conf {
	bool self_approve;		/* the dispatcher may approve its own */
	uint64_t timeout_ms;
	enum approve_timeout on_timeout;	/* DENY or ALLOW */
};

/* The grants and denials of one agent, role or bound. Every array and
 * string is owned by the set. */
struct grant_set {
	struct path_grant *paths;
	size_t npaths;
	struct net_grant *nets;
	size_t nnets;
	struct unix_grant *unix_socks;
	size_t nunix;
	struct approve_rule *approves;	/* agents and roles only */
	size_t napproves;
	struct principal *approvers;	/* [approval] approvers */
	size_t napprovers;
};

/* A SCIM group whose members get a pinfold role. */
struct role_map {
	char *group;		/* the group's displayName */
	char *role;
};

/* pinfoldd.conf [idp]: the identity provider sync. */
struct idp_conf {
	/* Which users are agents: any that match one of those set. */
	char *agents_group;	/* member of the group of this displayName */
	char *agents_user_type;	/* userType equal to this */
	char *agents_attr;	/* enterprise attribute (full URN) ... */
	char *agents_attr_value;	/* ... equal to this */
	struct role_map *roles;
	size_t nroles;
	char *url;		/* SCIM base URL, for the interval sync */
	char *token_file;	/* bearer token, read at each sync */
	char *ca_file;		/* CA bundle for url; NULL: the system's */
	unsigned interval_s;	/* 0: no interval sync */
	unsigned max_age_s;	/* 0: no limit on the last good sync's age */
	bool stale_disable;	/* past max_age: disable (true) or warn */
};

/* An agent attribute, [attributes] KEY = VALUE, for agent.KEY conditions. */
struct attr {
	char *key;
	char *value;
};

/* What happens to a running session when a condition it relied on stops
 * holding. The network is withdrawn in the kernel in every case; a lapsed
 * path or exec grant cannot be withdrawn from a running process
 * (Landlock), so under REVOKE_WITHDRAW such a lapse ends the session. */
enum revoke_action {
	REVOKE_WITHDRAW = 0,	/* withdraw network grants, keep running */
	REVOKE_FREEZE,		/* freeze until the conditions hold again */
	REVOKE_END,		/* end the session */
};

/*
 * An agent. Its grant set is flattened: its own lines first, then those
 * of each role it lists, inherited roles included, each keeping its rule
 * (so the rule's file says whether it came from the agent or a role) and
 * the role's condition folded into its own. The same fields can be read
 * as a->paths or a->set.paths.
 */
struct agent {
	uint32_t id;		/* 1-based, stable within one loaded policy */
	char *name;		/* the file name without ".ini" */
	char *file;		/* "agents.d/NAME.ini", or where it came from */
	char *description;
	bool enabled;
	bool has_uid;
	uid_t uid;		/* when has_uid: the uid it runs as */
	char *home;		/* NULL: the run-as user's home, else workspace */
	char *workspace;	/* NULL: <state>/workspaces/NAME */
	char *owner;		/* who answers for it; NULL: nobody named */
	char *unix_user;	/* service account PAM sessions are tagged for */
	int unix_user_line;
	bool has_expires;
	int64_t expires;	/* when has_expires: seconds since the epoch */
	char **roles;		/* names as listed in "roles =" */
	size_t nroles;
	int roles_line;
	struct attr *attrs;
	size_t nattrs;
	enum revoke_action on_revoke;
	union {
		struct grant_set set;
		struct {
			struct path_grant *paths;
			size_t npaths;
			struct net_grant *nets;
			size_t nnets;
			struct unix_grant *unix_socks;
			size_t nunix;
			struct approve_rule *approves;
			size_t napproves;
			struct principal *approvers;	/* its own and its roles' */
			size_t napprovers;
		};
	};
	struct approval_conf approval;
};

/* A role, roles.d/NAME.ini: a named set of grants and denials, which may
 * inherit other roles and carry a condition of its own. */
struct role {
	char *name;
	char *file;		/* "roles.d/NAME.ini" */
	char *description;
	char **inherit;
	size_t ninherit;
	int inherit_line;
	uint32_t cond;		/* index into policy.conds, 0: none */
	int cond_line;
	struct grant_set set;
};

/* A dispatcher bound, users.d/NAME.ini: the users (by uid) and groups (by
 * gid) it applies to, the agents they may launch, and the largest set of
 * grants those agents may hold in their sessions. */
struct bound {
	char *file;		/* "users.d/NAME.ini" */
	uid_t *uids;
	char **user_names;	/* uids[i] as written: a name or a number */
	size_t nuids;
	gid_t *gids;
	char **group_names;	/* gids[i] as written */
	size_t ngids;
	char **agents;		/* names; "*" is every agent */
	size_t nagents;
	int agents_line;
	struct grant_set set;
};

struct policy;

/* A condition: terms that must all hold. See cond.c and docs/policy.md. */
struct cond_term;
struct cond {
	struct cond_term *terms;
	size_t nterms;
	char *zone;		/* time.zone, NULL: the host's zone */
	char *text;		/* as written, for explanations */
	char *file;		/* where it was written */
	int line;
	bool timed;		/* has a time or session.age term */
};

/* What conditions are judged on: the agent, who dispatched it, the
 * session and the time. */
struct eval_ctx {
	const struct agent *agent;
	uid_t uid;		/* the dispatcher's */
	const char *user;	/* its name, or NULL when it has none */
	const gid_t *gids;	/* its primary and supplementary groups */
	size_t ngids;
	const char *launch;	/* "run" or "pam" */
	bool tty;		/* the session has a terminal */
	int64_t start;		/* session start, seconds since the epoch */
	int64_t now;		/* seconds since the epoch */
};

/* Whether condition id holds in ctx; id 0 always holds. */
bool cond_holds(const struct policy *p, uint32_t id, const struct eval_ctx *ctx);
/* Seconds from ctx->now until condition id may change its value (a
 * window opens or closes, an age is reached), at least 1; INT64_MAX when
 * it never changes by itself. */
int64_t cond_next_change(const struct policy *p, uint32_t id, const struct eval_ctx *ctx);

#define CONTROL_GROUPS_MAX 32

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

/* pinfoldd.conf [daemon], [control] and [idp] */
struct daemon_conf {
	uid_t uid_lo, uid_hi;		/* range for agents without uid */
	unsigned fsync_interval_ms;	/* group commit interval */
	struct idp_conf idp;
	gid_t read_gids[CONTROL_GROUPS_MAX];	/* may call read-only verbs */
	size_t nread_gids;
	gid_t admin_gids[CONTROL_GROUPS_MAX];	/* may also call mutating verbs */
	size_t nadmin_gids;
	unsigned idle_timeout_s;	/* a silent connection is closed after it */
	unsigned clients_per_uid;	/* connections one non-root uid may hold */
	char *approval_command;		/* run for each new request, or NULL */
	struct audit_conf audit;
};

struct policy {
	struct daemon_conf conf;
	struct agent *agents;
	size_t nagents;
	struct role *roles;
	size_t nroles;
	struct bound *bounds;
	size_t nbounds;
	struct rule *rules;	/* rules[i].id == i + 1 */
	size_t nrules;
	struct cond *conds;	/* conds[0] is the empty condition */
	size_t nconds;
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
const struct role *policy_role(const struct policy *p, const char *name);

/*
 * An agent that comes from elsewhere than agents.d (an identity
 * provider's state file, say): a name, the roles it holds and its
 * attributes. It has no grants of its own; its roles give them. source
 * names where it came from, for messages and for the agent's file field.
 */
struct agent_spec {
	const char *name;	/* [a-z0-9][a-z0-9_-]{0,31} */
	const char *source;	/* e.g. "idp-state.json"; NULL: "api" */
	const char *description;	/* NULL: none */
	const char *const *roles;
	size_t nroles;
	const struct attr *attrs;	/* copied */
	size_t nattrs;
	bool has_uid;		/* uid 0 is refused */
	uid_t uid;
	enum revoke_action on_revoke;
};

/*
 * Add an agent to a loaded policy, its roles resolved as for an agent
 * file. Returns 0, or -1 with the reason in d (a bad or taken name, an
 * unknown role, uid 0, a network table that does not fit, out of memory),
 * and then p is as it was. Pointers to p's agents may move: look them up
 * again afterwards. The policy hash is not changed; callers that add
 * agents say in their own records where the agents came from.
 */
int policy_add_agent(struct policy *p, const struct agent_spec *spec, struct diag *d);

/* Whether bound b names uid, or a group among gids. */
bool bound_applies(const struct bound *b, uid_t uid, const gid_t *gids, size_t ngids);
/* Whether some bound in users.d applies to the user. */
bool policy_user_bounded(const struct policy *p, uid_t uid, const gid_t *gids, size_t ngids);
/* Whether the user may launch agent: some bound that applies names it,
 * or, for root, no bound applies at all (root is bounded only when a
 * users.d file names it). Everyone else needs a bound. */
bool policy_may_dispatch(const struct policy *p, const char *agent, uid_t uid,
			 const gid_t *gids, size_t ngids);

/* One who may launch an agent, as users.d writes it. */
struct dispatcher {
	const char *name;	/* "root", or a user or group as its bound writes it */
	bool group;		/* every member of the group may */
	unsigned id;		/* the uid or gid */
};

/*
 * Who may launch agent, by the rule policy_may_dispatch() applies: root
 * (first) when it may, judged with root_gids as its groups, then every
 * user and group named by a bound that names the agent, each id once, in
 * load order. Root is not listed again when a bound names uid 0. The
 * names point into the policy; *out is freed with free(). Returns the
 * count, or -1 when memory runs out.
 */
int policy_dispatchers(const struct policy *p, const char *agent, const gid_t *root_gids,
		       size_t nroot_gids, struct dispatcher **out);

/* The value of agent attribute key, or NULL. */
const char *agent_attr(const struct agent *a, const char *key);

/* Path grants bound to one session: ${workspace}, ${home} and ${user}
 * expanded and each path made canonical lexically (no "//", ".", "..",
 * trailing "/"). */
struct bound_path {
	char *path;
	unsigned access;
	uint32_t rule;
};

struct grants {
	struct bound_path *paths;	/* what is granted */
	size_t npaths;
	struct bound_path *denies;	/* what is denied, whatever grants it */
	size_t ndenies;
	/* path lookup structures, private to the library */
	void *index;
	void *deny_index;
};

/* The values of the path variables in one session; NULL: none. */
struct bind_vars {
	const char *workspace;
	const char *home;
	const char *user;
};

/* Which lines of the configuration take part in a permission. */
#define PERM_ALL_CONDS 0x1u	/* take every condition as holding */
#define PERM_NO_BOUND 0x2u	/* leave the dispatcher's bound out */
#define PERM_NO_DENIES 0x4u	/* leave denials out */

/*
 * A request for one session's permission: agent a of policy p, judged in
 * ctx (NULL: no context, so a grant with a condition is left out and a
 * denial with one is kept, failing closed), capped by the bounds that
 * apply to the dispatcher (none: unbounded, as for root without a
 * users.d entry).
 */
struct perm_req {
	const struct policy *p;
	const struct agent *a;
	const struct eval_ctx *ctx;
	const struct bound *const *bounds;
	size_t nbounds;
	struct bind_vars vars;
	unsigned flags;		/* PERM_* */
};

/*
 * The path part of a session's permission. A grant naming a variable
 * that has no value, or expanding past PATH_MAX, is skipped with a
 * "file:line: ..., grant skipped" message in d; a denial that cannot be
 * expanded fails the whole call, since leaving it out would widen the
 * permission. The agent's grants are intersected with the union of the
 * bounds' grants: where one path lies beneath the other, the deeper path
 * with the access bits both give. Returns NULL with a message when
 * workspace or home is given but is not absolute, or memory runs out.
 */
struct grants *grants_for(const struct perm_req *r, struct diag *d);

/* grants_for() with no context and no bound: a's unconditional grants and
 * every denial, bound to workspace and home. */
struct grants *grants_bind(const struct agent *a, const char *workspace,
			   const char *home, struct diag *d);
void grants_free(struct grants *g);

/*
 * Decide a request for an absolute path, lexically canonicalised first.
 * Returns true when every bit of access is granted and no denial covers
 * any bit of it. *rule is the id of the rule that decided: the denial for
 * a denied request a denial covers, the grant for an allow (the longest
 * matching one), 0 for the default deny. A relative path is always
 * denied, and so is one of PATH_MAX bytes or more. A grant or denial
 * matches when its path equals the request or is an ancestor of it at a
 * component boundary (/usr covers /usr/lib, not /usrx). The bits add up
 * across grants, as in the kernel's Landlock layer: read = /w and write =
 * /w together allow a read|write open of /w/f. An exec grant also allows
 * reading the files beneath it (executing needs reading). The rule named
 * is the longest grant that gave any requested bit; among equally long
 * ones, the lowest rule id; for denials, the longest, then the lowest id.
 * rule may be NULL. Allocates nothing.
 */
bool grants_check_path(const struct grants *g, const char *path,
		       unsigned access, uint32_t *rule);

/*
 * The rules the kernel's Landlock layer gets for g: the grants with the
 * denials carved out. Landlock only adds access, so a grant that covers a
 * denied path beneath it is replaced, for the denied bits, by one rule per
 * entry of each directory on the way down to the denied path, the denied
 * path itself left out. Entries are listed when this is called: one made
 * later in those directories is not covered (denied, which fails closed).
 * Returns the count and *out (free with grants_rules_free()), or -1 with a
 * message in d when memory runs out or more than max rules would result.
 */
int grants_kernel_rules(const struct grants *g, size_t max, struct bound_path **out,
			struct diag *d);
void grants_rules_free(struct bound_path *v, size_t n);

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

/* The same decision the kernel makes, for explanations and tests: a
 * denial whose prefix holds addr and whose range holds port refuses it
 * (*rule names the longest such denial); otherwise among the grants
 * whose prefix holds addr and whose range holds port, the one with the
 * longest prefix decides, the lowest rule id among equals. addr is in
 * IPv6 form (IPv4 as ::ffff:a.b.c.d), so ::/0 also covers every IPv4
 * address. Grants with a condition are left out, denials with one kept.
 * rule may be NULL; it is 0 for the default deny. */
bool agent_check_connect(const struct agent *a, const uint8_t addr[16],
			 uint16_t port, uint32_t *rule);

/* The network part of a session's permission: the agent's grants whose
 * conditions hold, each cut to the bounds' grants, and every denial.
 * *out is freed with free(). Returns 0, or -1 when memory runs out. */
int net_list_for(const struct perm_req *r, struct net_grant **out, size_t *n);
/* The decision over such a list: a denial holding addr and port beats
 * every grant (the longest denial is named); otherwise as
 * agent_check_connect(). */
bool net_check(const struct net_grant *v, size_t n, const uint8_t addr[16],
	       uint16_t port, uint32_t *rule);
/* agent_net_table() for a list; file names it in messages. */
int net_table(const struct net_grant *v, size_t n, const char *file,
	      struct net_entry **out, struct diag *d);
/* The unix socket grants of a session: the agent's whose conditions hold
 * and, when bounded, that some bound names too. *out points into the
 * policy and is freed with free(). */
int unix_list_for(const struct perm_req *r, const struct unix_grant ***out, size_t *n);

/* A decision with its reason: the rule that made it (0: none) and, for a
 * denial, the layer that refused. For LAYER_CONDITION the rule is the
 * grant whose condition does not hold; for LAYER_BOUND, the agent's grant
 * the bound cut; for a denial line, that line; LAYER_AGENT with rule 0 is
 * "nothing the agent or its roles hold grants it". */
struct verdict {
	bool allow;
	uint32_t rule;
	enum layer layer;
};

/* Explain one request against permission r (whose flags are ignored).
 * Returns 0, or -1 when memory runs out or a denial does not bind. */
int perm_explain_path(const struct perm_req *r, const char *path, unsigned access,
		      struct verdict *v);
int perm_explain_connect(const struct perm_req *r, const uint8_t addr[16], uint16_t port,
			 struct verdict *v);
/* The same, compiled once for many requests (a session's denials): the
 * permission at each stage of the explanation. NULL when memory runs out
 * or a denial does not bind. The request's policy must outlive it. */
struct perm_stages;
struct perm_stages *perm_stages_build(const struct perm_req *r);
void perm_stages_explain_path(const struct perm_stages *st, const char *path, unsigned access,
			      struct verdict *v);
void perm_stages_explain_connect(const struct perm_stages *st, const uint8_t addr[16],
				 uint16_t port, struct verdict *v);
void perm_stages_free(struct perm_stages *st);
/* The bounds that apply to a dispatcher, in load order; *out is freed
 * with free(). An empty list for a user no bound names (only root may
 * then dispatch, unbounded). Returns 0, or -1 when memory runs out. */
int perm_bounds(const struct policy *p, const char *agent, uid_t uid, const gid_t *gids,
		size_t ngids, const struct bound ***out, size_t *n);

/* The folded table as a user-space lookup, answering as the kernel's LPM
 * trie does: the entry with the longest prefix holding addr decides
 * alone, by its ranges. One binary search per distinct prefix length. */
struct net_index;
struct net_index *net_index_build(const struct net_entry *t, int n);
bool net_index_check(const struct net_index *ix, const uint8_t addr[16], uint16_t port,
		     uint32_t *rule);
void net_index_free(struct net_index *ix);

/* Room for net_prefix_format()'s result, NUL included. */
#define NET_PREFIX_STRLEN 52

/* Write addr/prefix as it would be written in a policy: IPv4-mapped
 * prefixes of 96 bits or more as "a.b.c.d/len", others as IPv6. */
void net_prefix_format(const uint8_t addr[16], uint8_t prefix, char *out,
		       size_t outlen);

/* Parse an ISO 8601 date ("2026-12-31", midnight UTC) or date-time
 * ("2026-12-31T18:00", optional ":SS", then "Z", "+HH:MM" or "-HH:MM";
 * no zone is UTC) into seconds since the epoch. Returns 0, or -1 for
 * anything else, including a date that does not exist. */
int parse_iso8601(const char *s, int64_t *out);

/* Canonicalise an absolute path lexically into out (size outlen): "//"
 * collapses, "." goes, ".." removes the component before it (and stays at
 * "/" at the root), a trailing "/" goes, "/" stays "/". Symlinks are not
 * looked at. Bytes are bytes: no encoding is assumed.
 * Returns 0, or -1 for a relative path, one of PATH_MAX bytes or more, or
 * one whose result does not fit. */
int path_canonical(const char *path, char *out, size_t outlen);

/*
 * Approval. An [exec] approve grant is also a path grant with ACC_EXEC (the
 * kernel must let the program run once it is approved), so
 * grants_check_path() allows it; what holds it is the daemon.
 */

/* The approve rule with id rule, or NULL when rule is not one of a's. */
const struct approve_rule *agent_approve_rule(const struct agent *a, uint32_t rule);

/* The approve rule covering addr (IPv6 form) and port, chosen as
 * agent_check_connect() chooses among connect grants, or NULL. */
const struct approve_rule *agent_approve_connect(const struct agent *a,
						 const uint8_t addr[16], uint16_t port);

/* The timeout of r and what it means: the rule's own, else the agent's. */
uint64_t approve_timeout_ms(const struct agent *a, const struct approve_rule *r);
bool approve_timeout_allows(const struct agent *a, const struct approve_rule *r);

/* Whether uid, or one of the ngids groups, is among a's approvers (its
 * own and its roles'). */
bool approval_names(const struct agent *a, uid_t uid, const gid_t *gids, size_t ngids);

/* "90s", "5m", "2h", "1d" or plain seconds, into milliseconds: at least
 * 1 s, at most 30 days. Returns 0, or -1 for anything else. */
int duration_parse(const char *s, uint64_t *ms);

#endif
