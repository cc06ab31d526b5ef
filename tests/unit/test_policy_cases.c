// SPDX-License-Identifier: GPL-2.0-only
/*
 * The policy as a table: each row is a configuration, a request (who asks,
 * when, for what) and the decision it must get, with the rule that made
 * it (file:line) and, for a denial, the layer that refused. A new case,
 * a bypass found in the field say, is one more row.
 *
 * The requests go through perm_explain_path() and perm_explain_connect(),
 * which the daemon and pinfold policy explain use, and each allow is
 * checked against the session's compiled structures (grants_for() and
 * the folded network table) as well, so the kernel's view and the
 * explanation cannot drift apart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/policy.h"

struct file {
	const char *name;
	const char *text;
};

/* Line numbers matter: rows name them. */
static const struct file cfg_roles[] = {
	{ "agents.d/ci.ini",
	  "[agent]\n"				/* 1 */
	  "roles = dev\n"			/* 2 */
	  "[files]\n"				/* 3 */
	  "read = /srv/data\n"			/* 4 */
	  "deny = /srv/data/secret\n"		/* 5 */
	  "write = ${workspace}\n"		/* 6 */
	  "read = /home/${user}\n"		/* 7 */
	  "[exec]\n"				/* 8 */
	  "allow = /opt/tools\n"		/* 9 */
	  "[network]\n"				/* 10 */
	  "connect = 10.0.0.0/8 443\n"		/* 11 */
	  "connect = 2001:db8::/32 80-90\n"	/* 12 */
	  "deny = 10.66.0.0/16 443\n"		/* 13 */
	  "connect = 192.0.2.0/24 0\n"		/* 14 */
	  "deny = ::/0 25\n"			/* 15 */
	  "connect = 0.0.0.0/0 25\n" },		/* 16 */
	{ "roles.d/dev.ini",
	  "[role]\n"				/* 1 */
	  "inherit = base\n"			/* 2 */
	  "[exec]\n"				/* 3 */
	  "allow = /usr/bin\n"			/* 4 */
	  "deny = /usr/bin/nc\n" },		/* 5 */
	{ "roles.d/base.ini",
	  "[files]\n"				/* 1 */
	  "read = /usr\n"			/* 2 */
	  "read = /etc\n"			/* 3 */
	  "deny = /etc/shadow\n" },		/* 4 */
	{ NULL, NULL },
};

static const struct file cfg_cond[] = {
	{ "agents.d/c.ini",
	  "[agent]\n"						/* 1 */
	  "roles = night\n"					/* 2 */
	  "[attributes]\n"					/* 3 */
	  "env = prod\n"					/* 4 */
	  "risk = high\n"					/* 5 */
	  "[files]\n"						/* 6 */
	  "read = /a when agent.env = prod\n"			/* 7 */
	  "read = /b when agent.env = dev\n"			/* 8 */
	  "read = /c when user.uid = 1000\n"			/* 9 */
	  "read = /d when user.name = alice\n"			/* 10 */
	  "read = /e when user.group = 2000\n"			/* 11 */
	  "read = /f when session.tty = yes\n"			/* 12 */
	  "read = /g when session.age < 60\n"			/* 13 */
	  "read = /h when time.days in mon-fri and time.zone = UTC\n"	/* 14 */
	  "read = /i when time.hours in 09:00-17:00 and time.zone = UTC\n" /* 15 */
	  "read = /j when session.launch = run\n"		/* 16 */
	  "read = /k when agent.risk != high\n"			/* 17 */
	  "read = /l when user.uid in 1000,1001\n"		/* 18 */
	  "read = /m when time.hours in 18:00-20:00 and time.zone = Asia/Tokyo\n" /* 19 */
	  "read = /n\n"						/* 20 */
	  "deny = /n/x when user.uid = 1001\n"			/* 21 */
	  "[network]\n"						/* 22 */
	  "connect = 127.0.0.1/32 8080 when time.hours in 09:00-09:30 and time.zone = UTC\n" },
	{ "roles.d/night.ini",
	  "[role]\n"							/* 1 */
	  "when = time.hours in 22:00-06:00 and time.zone = UTC\n"	/* 2 */
	  "[files]\n"							/* 3 */
	  "read = /night\n" },						/* 4 */
	{ NULL, NULL },
};

static const struct file cfg_bound[] = {
	{ "agents.d/w.ini",
	  "[files]\n"			/* 1 */
	  "read = /\n"			/* 2 */
	  "write = /srv\n"		/* 3 */
	  "[exec]\n"			/* 4 */
	  "allow = /usr/bin\n"		/* 5 */
	  "[network]\n"			/* 6 */
	  "connect = 0.0.0.0/0 *\n"	/* 7 */
	  "connect = ::/0 *\n" },	/* 8 */
	{ "agents.d/other.ini", "[files]\nread = /usr\n" },
	{ "users.d/dev.ini",
	  "[bound]\n"				/* 1 */
	  "users = 1000\n"			/* 2 */
	  "groups = 3000\n"			/* 3 */
	  "agents = w\n"			/* 4 */
	  "[files]\n"				/* 5 */
	  "read = /srv\n"			/* 6 */
	  "read = /usr\n"			/* 7 */
	  "write = /srv/out\n"			/* 8 */
	  "deny = /srv/keys\n"			/* 9 */
	  "[exec]\n"				/* 10 */
	  "allow = /usr/bin/git\n"		/* 11 */
	  "[network]\n"				/* 12 */
	  "connect = 10.0.0.0/8 443\n"		/* 13 */
	  "connect = 127.0.0.1/32 8000-8999\n" },	/* 14 */
	{ NULL, NULL },
};

/* Who may launch a, b and c: names as written, a user named twice, a
 * group, and a group (4000) that bounds root when root is in it. */
static const struct file cfg_dispatch[] = {
	{ "agents.d/a.ini", "[agent]\n" },
	{ "agents.d/b.ini", "[agent]\n" },
	{ "agents.d/c.ini", "[agent]\n" },
	{ "users.d/dev.ini", "[bound]\nusers = 1000, daemon\ngroups = 3000\nagents = a\n" },
	{ "users.d/ops.ini", "[bound]\nusers = 1001, 1000\ngroups = adm\nagents = a, b\n" },
	{ "users.d/rootgroup.ini", "[bound]\ngroups = 4000\nagents = b\n" },
	{ NULL, NULL },
};

/* Root named by number: it is bounded whatever its groups. */
static const struct file cfg_dispatch_root[] = {
	{ "agents.d/a.ini", "[agent]\n" },
	{ "agents.d/c.ini", "[agent]\n" },
	{ "users.d/root.ini", "[bound]\nusers = 0\nagents = c\n" },
	{ "users.d/any.ini", "[bound]\ngroups = 3000\nagents = *\n" },
	{ NULL, NULL },
};

enum cfg { ROLES, COND, BOUND, DISPATCHERS, DISPATCHERS_ROOT, NCFG };
static const struct file *const cfgs[NCFG] = { cfg_roles, cfg_cond, cfg_bound, cfg_dispatch,
					       cfg_dispatch_root };
static struct policy *loaded[NCFG];

enum kind { R, W, X, C, DISPATCH };
enum verdict_kind { ALLOW, DENY };

/* Thursday 3 December 2026, 10:00:00 UTC. */
#define THU_10 1796292000LL
#define HOUR 3600LL

struct row {
	const char *name;
	enum cfg cfg;
	const char *agent;
	enum kind kind;
	const char *what;	/* path, or "ADDR PORT" */
	uid_t uid;		/* the dispatcher; 1000 unless said */
	const char *user;	/* its name, NULL: none */
	gid_t gid;		/* one group, 0: none */
	int64_t now;		/* 0: THU_10 */
	int64_t age;		/* seconds since the session started */
	bool no_tty;
	enum verdict_kind want;
	const char *rule;	/* "file:line", or NULL for no rule */
	enum layer layer;	/* for a denial */
};

#define U1000 1000, "alice", 2000

static const struct row rows[] = {
	/* Roles, inheritance and denials beating grants. */
	{ "role-exec", ROLES, "ci", X, "/usr/bin/ls", U1000, 0, 0, 0, ALLOW, "roles.d/dev.ini:4", 0 },
	{ "inherited-read", ROLES, "ci", R, "/usr/lib/libc.so", U1000, 0, 0, 0, ALLOW,
	  "roles.d/base.ini:2", 0 },
	{ "inherited-etc", ROLES, "ci", R, "/etc/hostname", U1000, 0, 0, 0, ALLOW,
	  "roles.d/base.ini:3", 0 },
	{ "role-deny-exec", ROLES, "ci", X, "/usr/bin/nc", U1000, 0, 0, 0, DENY,
	  "roles.d/dev.ini:5", LAYER_ROLE },
	/* The exec grant on /usr/bin is the longer one that gives reading. */
	{ "exec-deny-leaves-read", ROLES, "ci", R, "/usr/bin/nc", U1000, 0, 0, 0, ALLOW,
	  "roles.d/dev.ini:4", 0 },
	{ "inherited-deny", ROLES, "ci", R, "/etc/shadow", U1000, 0, 0, 0, DENY,
	  "roles.d/base.ini:4", LAYER_ROLE },
	{ "deny-prefix-only", ROLES, "ci", R, "/etc/shadowx", U1000, 0, 0, 0, ALLOW,
	  "roles.d/base.ini:3", 0 },
	{ "agent-deny", ROLES, "ci", R, "/srv/data/secret/k", U1000, 0, 0, 0, DENY,
	  "agents.d/ci.ini:5", LAYER_AGENT },
	{ "agent-exec", ROLES, "ci", X, "/opt/tools/bin/t", U1000, 0, 0, 0, ALLOW,
	  "agents.d/ci.ini:9", 0 },
	{ "default-deny", ROLES, "ci", R, "/var/log/syslog", U1000, 0, 0, 0, DENY, NULL,
	  LAYER_AGENT },
	{ "write-not-read", ROLES, "ci", W, "/etc/passwd", U1000, 0, 0, 0, DENY, NULL,
	  LAYER_AGENT },
	{ "workspace-write", ROLES, "ci", W, "/ws/a.c", U1000, 0, 0, 0, ALLOW, "agents.d/ci.ini:6", 0 },
	{ "user-var", ROLES, "ci", R, "/home/alice/notes", U1000, 0, 0, 0, ALLOW,
	  "agents.d/ci.ini:7", 0 },
	{ "user-var-other", ROLES, "ci", R, "/home/bob/notes", U1000, 0, 0, 0, DENY, NULL,
	  LAYER_AGENT },
	{ "user-var-nameless", ROLES, "ci", R, "/home/alice/notes", 1000, NULL, 0, 0, 0, 0, DENY,
	  NULL, LAYER_AGENT },
	/* Path edge cases. */
	{ "trailing-slash", ROLES, "ci", R, "/srv/data/", U1000, 0, 0, 0, ALLOW, "agents.d/ci.ini:4", 0 },
	{ "dotdot-inside", ROLES, "ci", R, "/srv/data/../data/x", U1000, 0, 0, 0, ALLOW,
	  "agents.d/ci.ini:4", 0 },
	{ "dotdot-out-of-deny", ROLES, "ci", R, "/srv/data/secret/../x", U1000, 0, 0, 0, ALLOW,
	  "agents.d/ci.ini:4", 0 },
	{ "dotdot-into-deny", ROLES, "ci", R, "/srv/data/x/../secret", U1000, 0, 0, 0, DENY,
	  "agents.d/ci.ini:5", LAYER_AGENT },
	{ "deny-trailing-slash", ROLES, "ci", R, "/srv/data/secret/", U1000, 0, 0, 0, DENY,
	  "agents.d/ci.ini:5", LAYER_AGENT },
	{ "dotdot-past-root", ROLES, "ci", R, "/../../etc/shadow", U1000, 0, 0, 0, DENY,
	  "roles.d/base.ini:4", LAYER_ROLE },
	{ "double-slash", ROLES, "ci", R, "//srv//data//f", U1000, 0, 0, 0, ALLOW,
	  "agents.d/ci.ini:4", 0 },
	{ "component-boundary", ROLES, "ci", R, "/srv/datax", U1000, 0, 0, 0, DENY, NULL,
	  LAYER_AGENT },
	{ "dots-name", ROLES, "ci", R, "/srv/data/.../x", U1000, 0, 0, 0, ALLOW,
	  "agents.d/ci.ini:4", 0 },
	{ "link-looking-name", ROLES, "ci", R, "/srv/data/secret -> /etc", U1000, 0, 0, 0, ALLOW,
	  "agents.d/ci.ini:4", 0 },
	{ "non-utf8", ROLES, "ci", R, "/srv/data/\xff\xfe", U1000, 0, 0, 0, ALLOW,
	  "agents.d/ci.ini:4", 0 },
	{ "non-utf8-near-deny", ROLES, "ci", R, "/srv/data/secret\xff", U1000, 0, 0, 0, ALLOW,
	  "agents.d/ci.ini:4", 0 },
	{ "relative", ROLES, "ci", R, "srv/data/f", U1000, 0, 0, 0, DENY, NULL, LAYER_AGENT },
	{ "empty", ROLES, "ci", R, "", U1000, 0, 0, 0, DENY, NULL, LAYER_AGENT },
	{ "long-path", ROLES, "ci", R, "LONG:4000", U1000, 0, 0, 0, ALLOW, "agents.d/ci.ini:4", 0 },
	{ "too-long-path", ROLES, "ci", R, "LONG:4096", U1000, 0, 0, 0, DENY, NULL, LAYER_AGENT },
	/* Address edge cases. */
	{ "v4", ROLES, "ci", C, "10.1.2.3 443", U1000, 0, 0, 0, ALLOW, "agents.d/ci.ini:11", 0 },
	{ "v4-mapped", ROLES, "ci", C, "::ffff:10.1.2.3 443", U1000, 0, 0, 0, ALLOW,
	  "agents.d/ci.ini:11", 0 },
	{ "v4-compatible-is-other", ROLES, "ci", C, "::10.1.2.3 443", U1000, 0, 0, 0, DENY, NULL,
	  LAYER_AGENT },
	{ "net-deny", ROLES, "ci", C, "10.66.1.1 443", U1000, 0, 0, 0, DENY, "agents.d/ci.ini:13",
	  LAYER_AGENT },
	{ "net-deny-mapped", ROLES, "ci", C, "::ffff:10.66.1.1 443", U1000, 0, 0, 0, DENY,
	  "agents.d/ci.ini:13", LAYER_AGENT },
	{ "wrong-port", ROLES, "ci", C, "10.1.2.3 80", U1000, 0, 0, 0, DENY, NULL, LAYER_AGENT },
	{ "port-0", ROLES, "ci", C, "192.0.2.5 0", U1000, 0, 0, 0, ALLOW, "agents.d/ci.ini:14", 0 },
	{ "port-1-not-0", ROLES, "ci", C, "192.0.2.5 1", U1000, 0, 0, 0, DENY, NULL, LAYER_AGENT },
	{ "range-low", ROLES, "ci", C, "2001:db8::1 80", U1000, 0, 0, 0, ALLOW, "agents.d/ci.ini:12", 0 },
	{ "range-high", ROLES, "ci", C, "2001:db8:ffff::1 90", U1000, 0, 0, 0, ALLOW,
	  "agents.d/ci.ini:12", 0 },
	{ "range-below", ROLES, "ci", C, "2001:db8::1 79", U1000, 0, 0, 0, DENY, NULL, LAYER_AGENT },
	{ "range-above", ROLES, "ci", C, "2001:db8::1 91", U1000, 0, 0, 0, DENY, NULL, LAYER_AGENT },
	{ "prefix-outside", ROLES, "ci", C, "2001:db9::1 80", U1000, 0, 0, 0, DENY, NULL, LAYER_AGENT },
	{ "short-deny-beats-long-grant", ROLES, "ci", C, "10.1.2.3 25", U1000, 0, 0, 0, DENY,
	  "agents.d/ci.ini:15", LAYER_AGENT },
	/* Each condition kind, true and false. */
	{ "agent-attr", COND, "c", R, "/a/f", U1000, 0, 0, 0, ALLOW, "agents.d/c.ini:7", 0 },
	{ "agent-attr-false", COND, "c", R, "/b/f", U1000, 0, 0, 0, DENY, "agents.d/c.ini:8",
	  LAYER_CONDITION },
	{ "agent-attr-ne", COND, "c", R, "/k/f", U1000, 0, 0, 0, DENY, "agents.d/c.ini:17",
	  LAYER_CONDITION },
	{ "user-uid", COND, "c", R, "/c/f", U1000, 0, 0, 0, ALLOW, "agents.d/c.ini:9", 0 },
	{ "user-uid-false", COND, "c", R, "/c/f", 1001, "bob", 2000, 0, 0, 0, DENY,
	  "agents.d/c.ini:9", LAYER_CONDITION },
	{ "user-uid-in", COND, "c", R, "/l/f", 1001, "bob", 0, 0, 0, 0, ALLOW, "agents.d/c.ini:18", 0 },
	{ "user-uid-not-in", COND, "c", R, "/l/f", 1002, "eve", 0, 0, 0, 0, DENY,
	  "agents.d/c.ini:18", LAYER_CONDITION },
	{ "user-name", COND, "c", R, "/d/f", U1000, 0, 0, 0, ALLOW, "agents.d/c.ini:10", 0 },
	{ "user-nameless", COND, "c", R, "/d/f", 1000, NULL, 2000, 0, 0, 0, DENY,
	  "agents.d/c.ini:10", LAYER_CONDITION },
	{ "user-group", COND, "c", R, "/e/f", U1000, 0, 0, 0, ALLOW, "agents.d/c.ini:11", 0 },
	{ "user-group-false", COND, "c", R, "/e/f", 1000, "alice", 0, 0, 0, 0, DENY,
	  "agents.d/c.ini:11", LAYER_CONDITION },
	{ "session-tty", COND, "c", R, "/f/f", U1000, 0, 0, 0, ALLOW, "agents.d/c.ini:12", 0 },
	{ "session-no-tty", COND, "c", R, "/f/f", U1000, 0, 0, 1, DENY, "agents.d/c.ini:12",
	  LAYER_CONDITION },
	{ "session-young", COND, "c", R, "/g/f", U1000, 0, 59, 0, ALLOW, "agents.d/c.ini:13", 0 },
	{ "session-old", COND, "c", R, "/g/f", U1000, 0, 60, 0, DENY, "agents.d/c.ini:13",
	  LAYER_CONDITION },
	{ "session-launch", COND, "c", R, "/j/f", U1000, 0, 0, 0, ALLOW, "agents.d/c.ini:16", 0 },
	{ "weekday", COND, "c", R, "/h/f", U1000, 0, 0, 0, ALLOW, "agents.d/c.ini:14", 0 },
	{ "weekend", COND, "c", R, "/h/f", U1000, THU_10 + 48 * HOUR, 0, 0, DENY,
	  "agents.d/c.ini:14", LAYER_CONDITION },
	{ "hours-in", COND, "c", R, "/i/f", U1000, 0, 0, 0, ALLOW, "agents.d/c.ini:15", 0 },
	{ "hours-end-excluded", COND, "c", R, "/i/f", U1000, THU_10 + 7 * HOUR, 0, 0, DENY,
	  "agents.d/c.ini:15", LAYER_CONDITION },
	{ "hours-named-zone", COND, "c", R, "/m/f", U1000, 0, 0, 0, ALLOW, "agents.d/c.ini:19", 0 },
	{ "hours-named-zone-out", COND, "c", R, "/m/f", U1000, THU_10 + 2 * HOUR, 0, 0, DENY,
	  "agents.d/c.ini:19", LAYER_CONDITION },
	{ "role-cond-day", COND, "c", R, "/night/f", U1000, 0, 0, 0, DENY, "roles.d/night.ini:4",
	  LAYER_CONDITION },
	{ "role-cond-night", COND, "c", R, "/night/f", U1000, THU_10 + 13 * HOUR, 0, 0, ALLOW,
	  "roles.d/night.ini:4", 0 },
	{ "role-cond-wraps", COND, "c", R, "/night/f", U1000, THU_10 + 17 * HOUR, 0, 0, ALLOW,
	  "roles.d/night.ini:4", 0 },
	{ "cond-deny-off", COND, "c", R, "/n/x", U1000, 0, 0, 0, ALLOW, "agents.d/c.ini:20", 0 },
	{ "cond-deny-on", COND, "c", R, "/n/x", 1001, "bob", 0, 0, 0, 0, DENY, "agents.d/c.ini:21",
	  LAYER_AGENT },
	{ "net-window-open", COND, "c", C, "127.0.0.1 8080", U1000, THU_10 - 45 * 60, 0, 0, ALLOW,
	  "agents.d/c.ini:23", 0 },
	{ "net-window-closed", COND, "c", C, "127.0.0.1 8080", U1000, 0, 0, 0, DENY,
	  "agents.d/c.ini:23", LAYER_CONDITION },
	/* The dispatcher's bound cutting the agent's grants. */
	{ "bound-inside", BOUND, "w", R, "/srv/a", 1000, NULL, 0, 0, 0, 0, ALLOW, "agents.d/w.ini:2", 0 },
	{ "bound-cuts-read", BOUND, "w", R, "/etc/passwd", 1000, NULL, 0, 0, 0, 0, DENY,
	  "agents.d/w.ini:2", LAYER_BOUND },
	{ "bound-write-inside", BOUND, "w", W, "/srv/out/x", 1000, NULL, 0, 0, 0, 0, ALLOW,
	  "agents.d/w.ini:3", 0 },
	{ "bound-cuts-write", BOUND, "w", W, "/srv/x", 1000, NULL, 0, 0, 0, 0, DENY,
	  "agents.d/w.ini:3", LAYER_BOUND },
	{ "bound-deny", BOUND, "w", R, "/srv/keys/k", 1000, NULL, 0, 0, 0, 0, DENY,
	  "users.d/dev.ini:9", LAYER_BOUND },
	{ "bound-exec", BOUND, "w", X, "/usr/bin/git", 1000, NULL, 0, 0, 0, 0, ALLOW,
	  "agents.d/w.ini:5", 0 },
	{ "bound-cuts-exec", BOUND, "w", X, "/usr/bin/nc", 1000, NULL, 0, 0, 0, 0, DENY,
	  "agents.d/w.ini:5", LAYER_BOUND },
	{ "bound-net", BOUND, "w", C, "10.1.1.1 443", 1000, NULL, 0, 0, 0, 0, ALLOW,
	  "agents.d/w.ini:7", 0 },
	{ "bound-cuts-port", BOUND, "w", C, "10.1.1.1 80", 1000, NULL, 0, 0, 0, 0, DENY,
	  "agents.d/w.ini:7", LAYER_BOUND },
	{ "bound-range", BOUND, "w", C, "127.0.0.1 8080", 1000, NULL, 0, 0, 0, 0, ALLOW,
	  "agents.d/w.ini:7", 0 },
	{ "bound-cuts-v6", BOUND, "w", C, "::1 8080", 1000, NULL, 0, 0, 0, 0, DENY,
	  "agents.d/w.ini:8", LAYER_BOUND },
	{ "bound-by-group", BOUND, "w", R, "/etc/passwd", 2000, NULL, 3000, 0, 0, 0, DENY,
	  "agents.d/w.ini:2", LAYER_BOUND },
	{ "root-unbounded", BOUND, "w", R, "/etc/passwd", 0, "root", 0, 0, 0, 0, ALLOW,
	  "agents.d/w.ini:2", 0 },
	{ "dispatch-named", BOUND, "w", DISPATCH, NULL, 1000, NULL, 0, 0, 0, 0, ALLOW, NULL, 0 },
	{ "dispatch-by-group", BOUND, "w", DISPATCH, NULL, 2000, NULL, 3000, 0, 0, 0, ALLOW, NULL, 0 },
	{ "dispatch-unnamed-agent", BOUND, "other", DISPATCH, NULL, 1000, NULL, 0, 0, 0, 0, DENY,
	  NULL, LAYER_BOUND },
	{ "dispatch-no-bound", BOUND, "w", DISPATCH, NULL, 4000, NULL, 0, 0, 0, 0, DENY, NULL,
	  LAYER_BOUND },
	{ "dispatch-root", BOUND, "other", DISPATCH, NULL, 0, "root", 0, 0, 0, 0, ALLOW, NULL, 0 },
};

/* policy_dispatchers(): who the inventory says may launch an agent. */
struct dispatch_row {
	const char *name;
	enum cfg cfg;
	const char *agent;
	gid_t root_group;	/* a group of root's besides 0, 0: none */
	const char *want;	/* the list, space-separated, groups as @name */
};

static const struct dispatch_row dispatch_rows[] = {
	{ "dispatchers-two-bounds", DISPATCHERS, "a", 0, "root 1000 daemon @3000 1001 @adm" },
	{ "dispatchers-one-bound", DISPATCHERS, "b", 0, "root 1001 1000 @adm @4000" },
	{ "dispatchers-none", DISPATCHERS, "c", 0, "root" },
	{ "dispatchers-root-bounded-out", DISPATCHERS, "a", 4000, "1000 daemon @3000 1001 @adm" },
	{ "dispatchers-root-bounded-in", DISPATCHERS, "b", 4000, "root 1001 1000 @adm @4000" },
	{ "dispatchers-root-bounded-none", DISPATCHERS, "c", 4000, "" },
	{ "dispatchers-root-by-uid", DISPATCHERS_ROOT, "c", 0, "root @3000" },
	{ "dispatchers-root-not-named", DISPATCHERS_ROOT, "a", 0, "@3000" },
};

static char dir[256];

static int load_all(void **state)
{
	char path[PATH_MAX];
	struct diag d = { 0 };

	(void)state;
	for (int c = 0; c < NCFG; c++) {
		snprintf(dir, sizeof(dir), "/tmp/pinfold-cases.XXXXXX");
		if (!mkdtemp(dir))
			return -1;
		for (const char *sub = "agents.d\0roles.d\0users.d\0"; *sub;
		     sub += strlen(sub) + 1) {
			snprintf(path, sizeof(path), "%s/%s", dir, sub);
			mkdir(path, 0700);
		}
		for (const struct file *f = cfgs[c]; f->name; f++) {
			FILE *fp;

			snprintf(path, sizeof(path), "%s/%s", dir, f->name);
			fp = fopen(path, "w");
			if (!fp)
				return -1;
			fputs(f->text, fp);
			fclose(fp);
		}
		if (policy_load(dir, &loaded[c], &d)) {
			for (size_t i = 0; i < d.n; i++)
				fprintf(stderr, "config %d: %s\n", c, d.msgs[i]);
			return -1;
		}
		snprintf(path, sizeof(path), "rm -rf '%s'", dir);
		if (system(path))
			return -1;
	}
	diag_free(&d);
	return 0;
}

static int free_all(void **state)
{
	(void)state;
	for (int c = 0; c < NCFG; c++)
		policy_free(loaded[c]);
	return 0;
}

static void parse_dest(const char *s, uint8_t addr[16], uint16_t *port)
{
	char host[64];
	unsigned p;

	assert_int_equal(sscanf(s, "%63s %u", host, &p), 2);
	*port = (uint16_t)p;
	if (inet_pton(AF_INET6, host, addr) == 1)
		return;
	memset(addr, 0, 16);
	addr[10] = addr[11] = 0xff;
	assert_int_equal(inet_pton(AF_INET, host, addr + 12), 1);
}

/* "LONG:N": a path of N bytes beneath /srv/data. */
static const char *row_path(const char *what, char *buf, size_t len)
{
	size_t n;

	if (strncmp(what, "LONG:", 5))
		return what;
	n = strtoul(what + 5, NULL, 10);
	assert_true(n < len);
	memset(buf, 'a', n);
	memcpy(buf, "/srv/data/", 10);
	for (size_t i = 100; i < n; i += 100)
		buf[i] = '/';
	buf[n] = 0;
	return buf;
}

static const char *rule_name(const struct policy *p, uint32_t id, char *buf, size_t len)
{
	const struct rule *r = policy_rule(p, id);

	if (!r)
		return "(none)";
	snprintf(buf, len, "%s:%d", r->file, r->line);
	return buf;
}

/* The compiled structures must agree with the explanation. */
static bool compiled(const struct perm_req *r, const struct row *w, const char *path,
		     const uint8_t addr[16], uint16_t port)
{
	static const unsigned acc[] = { ACC_READ, ACC_WRITE, ACC_EXEC };
	struct net_entry *t = NULL;
	struct net_grant *v;
	size_t n;
	bool ok = false;
	int nt;

	if (w->kind != C) {
		struct grants *g = grants_for(r, NULL);

		assert_non_null(g);
		ok = grants_check_path(g, path, acc[w->kind], NULL);
		grants_free(g);
		return ok;
	}
	assert_int_equal(net_list_for(r, &v, &n), 0);
	nt = net_table(v, n, "t", &t, NULL);
	assert_true(nt >= 0);
	/* The kernel's lookup, as net_index_check() makes it. */
	{
		struct net_index *ix = net_index_build(t, nt);

		assert_non_null(ix);
		ok = net_index_check(ix, addr, port, NULL);
		net_index_free(ix);
	}
	free(t);
	free(v);
	return ok;
}

static int run_row(const struct row *w)
{
	static const unsigned acc[] = { ACC_READ, ACC_WRITE, ACC_EXEC };
	const struct policy *p = loaded[w->cfg];
	const struct agent *a = policy_agent(p, w->agent);
	gid_t gids[1] = { w->gid };
	size_t ng = w->gid ? 1 : 0;
	int64_t now = w->now ? w->now : THU_10;
	struct eval_ctx ctx = { .agent = a, .uid = w->uid, .user = w->user, .gids = gids,
				.ngids = ng, .launch = "run", .tty = !w->no_tty,
				.start = now - w->age, .now = now };
	const struct bound **b;
	struct perm_req r;
	struct verdict v = { 0 };
	char buf[PATH_MAX + 16], rbuf[300];
	const char *rn;
	const char *path = NULL;
	uint8_t addr[16];
	uint16_t port = 0;
	size_t nb;
	int bad = 0;

	assert_non_null(a);
	if (w->kind == DISPATCH) {
		bool may = policy_may_dispatch(p, w->agent, w->uid, gids, ng);

		if (may != (w->want == ALLOW)) {
			print_error("%s: dispatch %s\n", w->name, may ? "allowed" : "refused");
			return 1;
		}
		return 0;
	}
	assert_int_equal(perm_bounds(p, a->name, w->uid, gids, ng, &b, &nb), 0);
	r = (struct perm_req){ .p = p, .a = a, .ctx = &ctx, .bounds = b, .nbounds = nb,
			       .vars = { "/ws", "/home/alice", w->user } };
	if (w->kind == C) {
		parse_dest(w->what, addr, &port);
		assert_int_equal(perm_explain_connect(&r, addr, port, &v), 0);
	} else {
		path = row_path(w->what, buf, sizeof(buf));
		assert_int_equal(perm_explain_path(&r, path, acc[w->kind], &v), 0);
	}
	rn = rule_name(p, v.rule, rbuf, sizeof(rbuf));
	if (v.allow != (w->want == ALLOW) || strcmp(rn, w->rule ? w->rule : "(none)") ||
	    (!v.allow && v.layer != w->layer)) {
		print_error("%s: %s by %s (layer %s); want %s by %s (layer %s)\n", w->name,
			    v.allow ? "allow" : "deny", rn, layer_name(v.layer),
			    w->want == ALLOW ? "allow" : "deny", w->rule ? w->rule : "(none)",
			    layer_name(w->layer));
		bad = 1;
	}
	if (compiled(&r, w, path, addr, port) != v.allow) {
		print_error("%s: the compiled structures disagree with the explanation\n",
			    w->name);
		bad = 1;
	}
	free((void *)b);
	return bad;
}

static void test_row(void **state)
{
	assert_int_equal(run_row(*state), 0);
}

/* Each one listed may launch the agent, as the daemon judges a launch: a
 * user with its uid, a group's member with a uid no bound names. */
static void assert_dispatchers_may(const struct policy *p, const char *agent,
				   const struct dispatcher *v, int n, const gid_t *root_gids,
				   size_t nroot)
{
	for (int i = 0; i < n; i++) {
		gid_t g = v[i].id;

		if (!strcmp(v[i].name, "root"))
			assert_true(policy_may_dispatch(p, agent, 0, root_gids, nroot));
		else if (v[i].group)
			assert_true(policy_may_dispatch(p, agent, 59999, &g, 1));
		else
			assert_true(policy_may_dispatch(p, agent, v[i].id, NULL, 0));
	}
}

static void test_dispatch_row(void **state)
{
	const struct dispatch_row *w = *state;
	const struct policy *p = loaded[w->cfg];
	gid_t root_gids[2] = { 0, w->root_group };
	size_t nroot = w->root_group ? 2 : 1;
	struct dispatcher *v;
	char got[256] = "";
	int n = policy_dispatchers(p, w->agent, root_gids, nroot, &v);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s%s", i ? " " : "",
			 v[i].group ? "@" : "", v[i].name);
	assert_string_equal(got, w->want);
	assert_dispatchers_may(p, w->agent, v, n, root_gids, nroot);
	assert_int_equal(!strstr(got, "root"), !policy_may_dispatch(p, w->agent, 0, root_gids,
								   nroot));
	free(v);
}

/* One cmocka case per row, named for it. */
int main(void)
{
	size_t n = sizeof(rows) / sizeof(rows[0]);
	size_t nd = sizeof(dispatch_rows) / sizeof(dispatch_rows[0]);
	struct CMUnitTest tests[sizeof(rows) / sizeof(rows[0]) + nd];

	_Static_assert(sizeof(rows) / sizeof(rows[0]) >= 60, "at least 60 rows");
	setenv("TZ", "UTC", 1);
	for (size_t i = 0; i < n; i++)
		tests[i] = (struct CMUnitTest){ .name = rows[i].name, .test_func = test_row,
						.initial_state = (void *)&rows[i] };
	for (size_t i = 0; i < nd; i++)
		tests[n + i] = (struct CMUnitTest){ .name = dispatch_rows[i].name,
						    .test_func = test_dispatch_row,
						    .initial_state = (void *)&dispatch_rows[i] };
	return _cmocka_run_group_tests("policy cases", tests, n + nd, load_all, free_all);
}
