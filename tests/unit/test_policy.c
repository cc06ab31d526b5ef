// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading policies: every bad snippet with the exact message it must
 * give, good snippets with what they must load as, the policy hash, the
 * fixture directories and the shipped examples. A new case is a new row.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "policy/policy.h"

#define DEFAULT_UID_LO 61184
#define DEFAULT_UID_HI 61439
#define DEFAULT_FSYNC_MS 10

/* --- temporary configuration directories --- */

static void remove_tree(const char *path)
{
	char child[PATH_MAX];
	struct dirent *de;
	DIR *dir = opendir(path);

	if (!dir) {
		unlink(path);
		return;
	}
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
		remove_tree(child);
	}
	closedir(dir);
	rmdir(path);
}

/* Write len bytes (strlen when 0) of text to dir/rel, making the one
 * directory level rel may name. text NULL makes rel a directory. */
static void write_at(const char *dir, const char *rel, const char *text,
		     size_t len)
{
	char path[PATH_MAX], sub[PATH_MAX];
	const char *slash = strchr(rel, '/');
	FILE *f;

	if (slash) {
		snprintf(sub, sizeof(sub), "%s/%.*s", dir,
			 (int)(slash - rel), rel);
		if (access(sub, F_OK) < 0)
			assert_int_equal(mkdir(sub, 0700), 0);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (!text) {
		assert_int_equal(mkdir(path, 0700), 0);
		return;
	}
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len ? len : strlen(text), f),
			 len ? len : strlen(text));
	assert_int_equal(fclose(f), 0);
}

static void new_config_dir(char out[PATH_MAX])
{
	snprintf(out, PATH_MAX, "/tmp/pinfold-policy-test.XXXXXX");
	assert_non_null(mkdtemp(out));
}

/* --- bad snippets --- */

struct bad_case {
	const char *file;	/* relative to the config dir */
	const char *text;	/* NULL: file is made a directory */
	size_t len;		/* 0: strlen(text) */
	const char *want[5];	/* every message, in order */
};

#define LONG_X50 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static const struct bad_case bad_cases[] = {
	{ "agents.d/ci.ini", "[exec]\napprove = usr/bin/curl\n", 0,
	  { "agents.d/ci.ini:2: relative path 'usr/bin/curl': paths are absolute or begin "
	    "with ${workspace}, ${home} or ${user}" } },
	{ "agents.d/ci.ini", "[exec]\napprove = /usr/bin/curl timeout=5x\n", 0,
	  { "agents.d/ci.ini:2: bad timeout '5x': a duration such as '90s', '5m' or '1h', "
	    "1 s to 30 days" } },
	{ "agents.d/ci.ini", "[exec]\napprove = /usr/bin/curl on_timeout=maybe\n", 0,
	  { "agents.d/ci.ini:2: bad on_timeout 'maybe': deny or allow" } },
	{ "agents.d/ci.ini", "[exec]\napprove = timeout=1m\n", 0,
	  { "agents.d/ci.ini:2: approve names no program or address before its options" } },
	{ "agents.d/ci.ini", "[network]\napprove = 10.0.0.1/8 443\n", 0,
	  { "agents.d/ci.ini:2: bad CIDR '10.0.0.1/8': host bits set" } },
	{ "agents.d/ci.ini", "[network]\napprove = 10.0.0.0/8\n", 0,
	  { "agents.d/ci.ini:2: bad connect '10.0.0.0/8': write 'CIDR PORTS', e.g. "
	    "'10.0.0.0/8 443'" } },
	{ "agents.d/ci.ini", "[approval]\napprovers = alice-is-nobody-here, @no-such-group\n", 0,
	  { "agents.d/ci.ini:2: unknown user 'alice-is-nobody-here' in approvers",
	    "agents.d/ci.ini:2: unknown group 'no-such-group' in approvers" } },
	{ "agents.d/ci.ini", "[approval]\ntimeout = 31d\n", 0,
	  { "agents.d/ci.ini:2: bad timeout '31d': a duration such as '90s', '5m' or '1h', "
	    "1 s to 30 days" } },
	{ "agents.d/ci.ini", "[approval]\nself_approve = sometimes\n", 0,
	  { "agents.d/ci.ini:2: bad boolean 'sometimes' for 'self_approve': use yes, no, "
	    "true, false, 1 or 0" } },
	{ "agents.d/ci.ini", "[approval]\non_timeout = allow\non_timeout = deny\n", 0,
	  { "agents.d/ci.ini:3: duplicate key 'on_timeout' in [approval] (first on line 2)" } },
	{ "pinfoldd.conf", "[daemon]\napproval_command = notify.sh\n", 0,
	  { "pinfoldd.conf:2: bad approval_command: 'notify.sh' is not an absolute path" } },
	{ "agents.d/ci.ini", "[network]\nunix = run/x.sock\n", 0,
	  { "agents.d/ci.ini:2: bad unix socket 'run/x.sock': an absolute path without "
	    "'//', '.', '..' or a trailing '/'" } },
	{ "agents.d/ci.ini", "[network]\nunix = /run/../x.sock\n", 0,
	  { "agents.d/ci.ini:2: bad unix socket '/run/../x.sock': an absolute path "
	    "without '//', '.', '..' or a trailing '/'" } },
	/* '..' in a grant: out of a variable's directory, or anywhere. */
	{ "agents.d/ci.ini", "[files]\nread = /usr\nwrite = ${workspace}/..\n", 0,
	  { "agents.d/ci.ini:3: '..' in path '${workspace}/..': name the directory itself" } },
	{ "agents.d/ci.ini", "[files]\nread = ${home}/a/../../etc\n", 0,
	  { "agents.d/ci.ini:2: '..' in path '${home}/a/../../etc': name the directory "
	    "itself" } },
	{ "agents.d/ci.ini", "[files]\ndeny = /home/${user}/..\n", 0,
	  { "agents.d/ci.ini:2: '..' in path '/home/${user}/..': name the directory itself" } },
	{ "roles.d/r.ini", "[exec]\nallow = /usr/lib/../bin\n", 0,
	  { "roles.d/r.ini:2: '..' in path '/usr/lib/../bin': name the directory itself" } },
	{ "agents.d/ci.ini", "[exec]\napprove = ${workspace}/../x\n", 0,
	  { "agents.d/ci.ini:2: '..' in path '${workspace}/../x': name the directory itself" } },
	{ "users.d/u.ini", "[bound]\nusers = 0\nagents = *\n[files]\nread = /..\n", 0,
	  { "users.d/u.ini:5: '..' in path '/..': name the directory itself" } },
	{ "agents.d/ci.ini", "[network]\nunix = ${workspace}/s\n", 0,
	  { "agents.d/ci.ini:2: bad unix socket '${workspace}/s': an absolute path "
	    "without '//', '.', '..' or a trailing '/'" } },
	/* More port ranges on one prefix than the kernel's map entry holds. */
	{ "agents.d/ci.ini", "[network]\n"
	  "connect = 10.0.0.0/8 2\nconnect = 10.0.0.0/8 4\n"
	  "connect = 10.0.0.0/8 6\nconnect = 10.0.0.0/8 8\n"
	  "connect = 10.0.0.0/8 10\nconnect = 10.0.0.0/8 12\n"
	  "connect = 10.0.0.0/8 14\nconnect = 10.0.0.0/8 16\n"
	  "connect = 10.0.0.0/8 18\nconnect = 10.0.0.0/8 20\n"
	  "connect = 10.0.0.0/8 22\nconnect = 10.0.0.0/8 24\n"
	  "connect = 10.0.0.0/8 26\nconnect = 10.0.0.0/8 28\n"
	  "connect = 10.0.0.0/8 30\nconnect = 10.0.0.0/8 32\n"
	  "connect = 10.0.0.0/8 34\n", 0,
	  { "agents.d/ci.ini:2: 10.0.0.0/8 needs 17 port ranges once the prefixes that "
	    "cover it are folded in, at most 16 fit" } },
	{ "agents.d/ci.ini", "[files]\nread = /proc/self/status\n", 0,
	  { "agents.d/ci.ini:2: '/proc/self/status' would name pinfoldd's own "
	    "process, not the agent's: grant /proc" } },
	{ "agents.d/ci.ini", "[network]\nconect = 10.0.0.0/8 443\n", 0,
	  { "agents.d/ci.ini:2: unknown key 'conect' in [network]" } },
	{ "agents.d/ci.ini",
	  "[agent]\ndescription = x\n[netwrk]\nconnect = 10.0.0.0/8 443\n"
	  "connect = ::1/128 *\n", 0,
	  { "agents.d/ci.ini:3: unknown section [netwrk]" } },
	{ "agents.d/ci.ini", "[Agent]\nuid = 1000\n", 0,
	  { "agents.d/ci.ini:1: unknown section [Agent]" } },
	{ "agents.d/ci.ini", "[agent]\nenabled = maybe\n", 0,
	  { "agents.d/ci.ini:2: bad boolean 'maybe' for 'enabled': use yes, "
	    "no, true, false, 1 or 0" } },
	{ "agents.d/ci.ini", "[agent]\nenabled =\n", 0,
	  { "agents.d/ci.ini:2: bad boolean '' for 'enabled': use yes, "
	    "no, true, false, 1 or 0" } },
	{ "agents.d/ci.ini", "[agent]\nuid = 0\n", 0,
	  { "agents.d/ci.ini:2: uid '0' is root: agents never run as root" } },
	{ "agents.d/ci.ini", "[agent]\nuid = root\n", 0,
	  { "agents.d/ci.ini:2: uid 'root' is root: agents never run as "
	    "root" } },
	{ "agents.d/ci.ini", "[agent]\nuid = no-such-user-pinfold\n", 0,
	  { "agents.d/ci.ini:2: unknown user 'no-such-user-pinfold'" } },
	{ "agents.d/ci.ini", "[agent]\nuid = 12x\n", 0,
	  { "agents.d/ci.ini:2: bad uid '12x'" } },
	{ "agents.d/ci.ini", "[agent]\nuid = 4294967295\n", 0,
	  { "agents.d/ci.ini:2: bad uid '4294967295'" } },
	{ "agents.d/ci.ini", "[agent]\nuid = 1000\nhome = /h\nuid = 1001\n", 0,
	  { "agents.d/ci.ini:4: duplicate key 'uid' in [agent] (first on "
	    "line 2)" } },
	{ "agents.d/ci.ini",
	  "[agent]\nworkspace = /a\n[files]\nread = /x\n[agent]\n"
	  "workspace = /b\n", 0,
	  { "agents.d/ci.ini:6: duplicate key 'workspace' in [agent] (first "
	    "on line 2)" } },
	{ "agents.d/ci.ini", "[agent]\ndescription = a\n  continued\n", 0,
	  { "agents.d/ci.ini:3: duplicate key 'description' in [agent] "
	    "(first on line 2)" } },
	{ "agents.d/ci.ini", "[agent]\nhome = home/u\n", 0,
	  { "agents.d/ci.ini:2: bad home: 'home/u' is not an absolute "
	    "path" } },
	{ "agents.d/ci.ini", "[agent]\nworkspace = ${home}/ws\n", 0,
	  { "agents.d/ci.ini:2: bad workspace: '${home}/ws': variables are "
	    "not expanded here" } },
	{ "agents.d/ci.ini", "[files]\nread = etc/passwd\n", 0,
	  { "agents.d/ci.ini:2: relative path 'etc/passwd': paths are "
	    "absolute or begin with ${workspace}, ${home} or ${user}" } },
	{ "agents.d/ci.ini", "[exec]\nallow = ~/bin\n", 0,
	  { "agents.d/ci.ini:2: relative path '~/bin': paths are absolute "
	    "or begin with ${workspace}, ${home} or ${user}" } },
	{ "agents.d/ci.ini", "[files]\nread = ${tmp}/x\n", 0,
	  { "agents.d/ci.ini:2: unknown variable '${tmp}' in '${tmp}/x'" } },
	{ "agents.d/ci.ini", "[files]\nwrite = ${workspace}/x${user}\n", 0,
	  { "agents.d/ci.ini:2: '${user}' must be a whole path component in "
	    "'${workspace}/x${user}'" } },
	{ "agents.d/ci.ini", "[files]\nread = /x/${home}\n", 0,
	  { "agents.d/ci.ini:2: '${home}' must begin the path and be "
	    "followed by '/' in '/x/${home}'" } },
	{ "agents.d/ci.ini", "[files]\nread = ${workspace}x\n", 0,
	  { "agents.d/ci.ini:2: '${workspace}' must begin the path and be "
	    "followed by '/' in '${workspace}x'" } },
	{ "agents.d/ci.ini", "[files]\nread = ${home\n", 0,
	  { "agents.d/ci.ini:2: unterminated '${' in '${home'" } },
	{ "agents.d/ci.ini", "[network]\nconnect = 10.0.0.256/8 443\n", 0,
	  { "agents.d/ci.ini:2: bad CIDR '10.0.0.256/8': not an IPv4 or "
	    "IPv6 address" } },
	{ "agents.d/ci.ini", "[network]\nconnect = 10.1/16 443\n", 0,
	  { "agents.d/ci.ini:2: bad CIDR '10.1/16': not an IPv4 or IPv6 "
	    "address" } },
	{ "agents.d/ci.ini", "[network]\nconnect = ::g/128 *\n", 0,
	  { "agents.d/ci.ini:2: bad CIDR '::g/128': not an IPv4 or IPv6 "
	    "address" } },
	{ "agents.d/ci.ini", "[network]\nconnect = 10.0.0.1/8 443\n", 0,
	  { "agents.d/ci.ini:2: bad CIDR '10.0.0.1/8': host bits set" } },
	{ "agents.d/ci.ini", "[network]\nconnect = fd00::1/64 *\n", 0,
	  { "agents.d/ci.ini:2: bad CIDR 'fd00::1/64': host bits set" } },
	{ "agents.d/ci.ini", "[network]\nconnect = 10.0.0.0/33 1\n", 0,
	  { "agents.d/ci.ini:2: bad CIDR '10.0.0.0/33': prefix length is 0 "
	    "to 32" } },
	{ "agents.d/ci.ini", "[network]\nconnect = ::/129 1\n", 0,
	  { "agents.d/ci.ini:2: bad CIDR '::/129': prefix length is 0 to "
	    "128" } },
	{ "agents.d/ci.ini", "[network]\nconnect = 10.0.0.0/ 1\n", 0,
	  { "agents.d/ci.ini:2: bad CIDR '10.0.0.0/': prefix length is 0 "
	    "to 32" } },
	{ "agents.d/ci.ini", "[network]\nconnect = 10.0.0.0/8 http\n", 0,
	  { "agents.d/ci.ini:2: bad port 'http': ports are 0 to 65535 or "
	    "'*'" } },
	{ "agents.d/ci.ini", "[network]\nconnect = 10.0.0.0/8 65536\n", 0,
	  { "agents.d/ci.ini:2: bad port '65536': ports are 0 to 65535 or "
	    "'*'" } },
	{ "agents.d/ci.ini", "[network]\nconnect = 10.0.0.0/8 80,*\n", 0,
	  { "agents.d/ci.ini:2: bad port '*': ports are 0 to 65535 or "
	    "'*'" } },
	{ "agents.d/ci.ini", "[network]\nconnect = 10.0.0.0/8 90-80\n", 0,
	  { "agents.d/ci.ini:2: bad port range '90-80'" } },
	{ "agents.d/ci.ini", "[network]\nconnect = 10.0.0.0/8 1-2-3\n", 0,
	  { "agents.d/ci.ini:2: bad port '1-2-3': ports are 0 to 65535 or "
	    "'*'" } },
	{ "agents.d/ci.ini", "[network]\nconnect = 10.0.0.0/8 80,,443\n", 0,
	  { "agents.d/ci.ini:2: bad port list '80,,443'" } },
	{ "agents.d/ci.ini", "[network]\nconnect = 10.0.0.0/8\n", 0,
	  { "agents.d/ci.ini:2: bad connect '10.0.0.0/8': write 'CIDR "
	    "PORTS', e.g. '10.0.0.0/8 443'" } },
	{ "agents.d/ci.ini", "[network]\nconnect = 10.0.0.0/8 53, 443\n", 0,
	  { "agents.d/ci.ini:2: bad connect '10.0.0.0/8 53, 443': write "
	    "'CIDR PORTS', e.g. '10.0.0.0/8 443'" } },
	{ "agents.d/Bad.ini", "[agent]\n", 0,
	  { "agents.d/Bad.ini: bad agent name 'Bad': names match "
	    "[a-z0-9][a-z0-9_-]{0,31}" } },
	{ "agents.d/-x.ini", "[agent]\n", 0,
	  { "agents.d/-x.ini: bad agent name '-x': names match "
	    "[a-z0-9][a-z0-9_-]{0,31}" } },
	{ "agents.d/a23456789012345678901234567890123.ini", "", 0,
	  { "agents.d/a23456789012345678901234567890123.ini: bad agent name "
	    "'a23456789012345678901234567890123': names match "
	    "[a-z0-9][a-z0-9_-]{0,31}" } },
	{ "agents.d/a.b.ini", "", 0,
	  { "agents.d/a.b.ini: bad agent name 'a.b': names match "
	    "[a-z0-9][a-z0-9_-]{0,31}" } },
	{ "agents.d/ci.ini", "[agent]\ndescription = ok\nno equals here\n", 0,
	  { "agents.d/ci.ini:3: syntax error" } },
	{ "agents.d/ci.ini",
	  "[agent]\nbogus\n[files\nread = /usr\n\nalso bogus\n", 0,
	  { "agents.d/ci.ini:2: syntax error",
	    "agents.d/ci.ini:3: syntax error",
	    "agents.d/ci.ini:4: unknown key 'read' in [agent]",
	    "agents.d/ci.ini:6: syntax error" } },
	{ "agents.d/ci.ini", "uid = 1000\n[agent]\n", 0,
	  { "agents.d/ci.ini:1: key 'uid' before any [section]" } },
	{ "agents.d/ci.ini",
	  "[files]\nread = /" LONG_X50 LONG_X50 LONG_X50 LONG_X50 "\n", 0,
	  { "agents.d/ci.ini:2: line longer than 198 bytes" } },
	{ "agents.d/ci.ini", "[agent]\ndescription = a\0b\n", 24,
	  { "agents.d/ci.ini:2: NUL byte in line" } },
	{ "agents.d/ci.ini", NULL, 0, { "agents.d/ci.ini: Is a directory" } },
	{ "agents.d", "not a directory\n", 0,
	  { "agents.d: Not a directory" } },
	{ "pinfoldd.conf", NULL, 0, { "pinfoldd.conf: Is a directory" } },
	{ "pinfoldd.conf", "[daemon]\nagent_uids = 0-100\n", 0,
	  { "pinfoldd.conf:2: bad uid range '0-100': LO must be 1000 or "
	    "above" } },
	{ "pinfoldd.conf", "[daemon]\nagent_uids = 3000-2000\n", 0,
	  { "pinfoldd.conf:2: bad uid range '3000-2000': LO is above HI" } },
	{ "pinfoldd.conf", "[daemon]\nagent_uids = lots\n", 0,
	  { "pinfoldd.conf:2: bad uid range 'lots': write LO-HI, e.g. "
	    "'61184-61439'" } },
	{ "pinfoldd.conf", "[daemon]\nagent_uids = 2000-\n", 0,
	  { "pinfoldd.conf:2: bad uid range '2000-': write LO-HI, e.g. "
	    "'61184-61439'" } },
	{ "pinfoldd.conf", "[daemon]\nfsync_interval_ms = 0\n", 0,
	  { "pinfoldd.conf:2: bad fsync_interval_ms '0': milliseconds, 1 to "
	    "10000" } },
	{ "pinfoldd.conf", "[daemon]\nfsync_interval_ms = 10001\n", 0,
	  { "pinfoldd.conf:2: bad fsync_interval_ms '10001': milliseconds, "
	    "1 to 10000" } },
	{ "pinfoldd.conf", "[daemon]\nfsync_interval_ms = 5\nfsync = 1\n", 0,
	  { "pinfoldd.conf:3: unknown key 'fsync' in [daemon]" } },
	{ "pinfoldd.conf", "[agent]\nuid = 1000\n", 0,
	  { "pinfoldd.conf:1: unknown section [agent]" } },
	{ "pinfoldd.conf", "[daemon]\nagent_uids = 2000-2999\n"
	  "agent_uids = 3000-3999\n", 0,
	  { "pinfoldd.conf:3: duplicate key 'agent_uids' in [daemon] (first "
	    "on line 2)" } },
};

static size_t want_count(const char *const *want, size_t max)
{
	size_t n = 0;

	while (n < max && want[n])
		n++;
	return n;
}

/* Print what differs; returns whether the row passed. */
static bool bad_case_ok(size_t row, const struct bad_case *c,
			const struct diag *d, int rc)
{
	size_t n = want_count(c->want, 5), i;
	bool ok = rc == -1 && d->n == n;

	for (i = 0; ok && i < n; i++)
		ok = !strcmp(d->msgs[i], c->want[i]);
	if (ok)
		return true;
	print_message("bad_cases[%zu] (%s): rc %d, %zu messages, want %zu:\n",
		      row, c->file, rc, d->n, n);
	for (i = 0; i < d->n; i++)
		print_message("  got:  %s\n", d->msgs[i]);
	for (i = 0; i < n; i++)
		print_message("  want: %s\n", c->want[i]);
	return false;
}

static void test_bad_snippets(void **state)
{
	char dir[PATH_MAX];
	struct policy *p = NULL;
	struct diag d = { 0 };
	size_t i, failed = 0;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		new_config_dir(dir);
		write_at(dir, bad_cases[i].file, bad_cases[i].text,
			 bad_cases[i].len);
		rc = policy_load(dir, &p, &d);
		if (!bad_case_ok(i, &bad_cases[i], &d, rc))
			failed++;
		assert_null(p);
		diag_free(&d);
		remove_tree(dir);
	}
	assert_int_equal(failed, 0);
}

/* --- good snippets --- */

struct good_case {
	const char *file;
	const char *text;
	size_t nagents;
	/* the first agent, when there is one */
	const char *description;
	bool disabled;
	bool has_uid;
	uid_t uid;
	const char *home, *workspace;
	size_t npaths, nnets;
	/* daemon settings; 0 means the default */
	uid_t uid_lo, uid_hi;
	unsigned fsync_ms;
	/* every rule, in order */
	size_t nrules;
	const char *rule_text[4];
	int rule_line[4];
};

static const struct good_case good_cases[] = {
	{ .file = "agents.d/ci.ini", .text = "", .nagents = 1 },
	{ .file = "agents.d/ci.ini",
	  .text = "# hash comment\n; semicolon comment\n\n[agent]\n"
		  "description = CI bot ; inline comment\nenabled = no\n",
	  .nagents = 1, .description = "CI bot", .disabled = true },
	{ .file = "agents.d/ci.ini", .text = "[agent]\nenabled = FALSE\n",
	  .nagents = 1, .disabled = true },
	{ .file = "agents.d/ci.ini", .text = "[agent]\nenabled = 1\n",
	  .nagents = 1 },
	{ .file = "agents.d/ci.ini", .text = "[agent]\nuid = 1234\n",
	  .nagents = 1, .has_uid = true, .uid = 1234 },
	{ .file = "agents.d/ci.ini", .text = "[agent]\nuid = nobody\n",
	  .nagents = 1, .has_uid = true, .uid = 65534 },
	{ .file = "agents.d/ci.ini",
	  .text = "[agent]\nhome = /home//u/\nworkspace = /srv/ws/./a/..\n",
	  .nagents = 1, .home = "/home/u", .workspace = "/srv/ws" },
	{ .file = "agents.d/ci.ini",
	  .text = "[exec]\nallow = /usr/bin/git\n[files]\n"
		  "read = ${workspace}\nwrite = ${home}/out\n",
	  .nagents = 1, .npaths = 3, .nrules = 3,
	  .rule_text = { "allow = /usr/bin/git", "read = ${workspace}",
			 "write = ${home}/out" },
	  .rule_line = { 2, 4, 5 } },
	{ .file = "agents.d/ci.ini",
	  .text = "[network]\nconnect = 10.1.2.3 443\n"
		  "connect = 0.0.0.0/0 53,443 ; DNS and HTTPS\n"
		  "connect = ::1/128 *\n",
	  .nagents = 1, .nnets = 4, .nrules = 3,
	  .rule_text = { "connect = 10.1.2.3 443", "connect = 0.0.0.0/0 53,443",
			 "connect = ::1/128 *" },
	  .rule_line = { 2, 3, 4 } },
	/* An indented line continues the key above: one more grant. */
	{ .file = "agents.d/ci.ini", .text = "[files]\nread = /usr\n  /etc\n",
	  .nagents = 1, .npaths = 2, .nrules = 2,
	  .rule_text = { "read = /usr", "read = /etc" },
	  .rule_line = { 2, 3 } },
	/* inih also takes ':' between key and value. */
	{ .file = "agents.d/ci.ini", .text = "[files]\nread: /usr\n",
	  .nagents = 1, .npaths = 1, .nrules = 1,
	  .rule_text = { "read = /usr" }, .rule_line = { 2 } },
	{ .file = "agents.d/ci.ini",
	  .text = "\xef\xbb\xbf[agent]\r\nuid = 1000\r\n[exec]\r\n"
		  "allow = /bin\r\n",
	  .nagents = 1, .has_uid = true, .uid = 1000, .npaths = 1,
	  .nrules = 1, .rule_text = { "allow = /bin" }, .rule_line = { 4 } },
	{ .file = "agents.d/README", .text = "not [ an ini file\n" },
	{ .file = "agents.d/.ci.ini", .text = "editor junk [\n" },
	{ .file = "agents.d/ci.ini.bak", .text = "[bogus]\n" },
	{ .file = "pinfoldd.conf",
	  .text = "[daemon]\nagent_uids = 2000-2999\nfsync_interval_ms = 250\n",
	  .uid_lo = 2000, .uid_hi = 2999, .fsync_ms = 250 },
	{ .file = "pinfoldd.conf", .text = "[daemon]\nagent_uids = 5000\n",
	  .uid_lo = 5000, .uid_hi = 5000 },
	{ .file = "pinfoldd.conf", .text = "; all defaults\n" },
};

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool agent_ok(const struct good_case *c, const struct agent *a)
{
	return !strcmp(a->name, "ci") && !strcmp(a->file, "agents.d/ci.ini") &&
	       a->id == 1 && str_eq(a->description, c->description) &&
	       a->enabled == !c->disabled && a->has_uid == c->has_uid &&
	       (!c->has_uid || a->uid == c->uid) && str_eq(a->home, c->home) &&
	       str_eq(a->workspace, c->workspace) &&
	       a->npaths == c->npaths && a->nnets == c->nnets;
}

static bool rules_ok(const struct good_case *c, const struct policy *p)
{
	size_t i;

	if (p->nrules != c->nrules)
		return false;
	for (i = 0; i < p->nrules; i++) {
		const struct rule *r = policy_rule(p, (uint32_t)i + 1);

		if (!r || r->id != i + 1 || strcmp(r->text, c->rule_text[i]) ||
		    r->line != c->rule_line[i] || strcmp(r->file, c->file))
			return false;
	}
	return policy_rule(p, 0) == NULL &&
	       policy_rule(p, (uint32_t)p->nrules + 1) == NULL;
}

static bool conf_ok(const struct good_case *c, const struct policy *p)
{
	uid_t lo = c->uid_lo ? c->uid_lo : DEFAULT_UID_LO;
	uid_t hi = c->uid_hi ? c->uid_hi : DEFAULT_UID_HI;
	unsigned ms = c->fsync_ms ? c->fsync_ms : DEFAULT_FSYNC_MS;

	return p->conf.uid_lo == lo && p->conf.uid_hi == hi &&
	       p->conf.fsync_interval_ms == ms;
}

static bool good_case_ok(size_t row, const struct good_case *c,
			 const struct policy *p, const struct diag *d, int rc)
{
	size_t i;

	if (rc == 0 && d->n == 0 && p->nagents == c->nagents &&
	    (!c->nagents || agent_ok(c, &p->agents[0])) && rules_ok(c, p) &&
	    conf_ok(c, p))
		return true;
	print_message("good_cases[%zu] (%s): rc %d\n", row, c->file, rc);
	for (i = 0; i < d->n; i++)
		print_message("  message: %s\n", d->msgs[i]);
	return false;
}

static void test_good_snippets(void **state)
{
	char dir[PATH_MAX];
	struct policy *p = NULL;
	struct diag d = { 0 };
	size_t i, failed = 0;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		new_config_dir(dir);
		write_at(dir, good_cases[i].file, good_cases[i].text, 0);
		p = NULL;
		rc = policy_load(dir, &p, &d);
		if (!good_case_ok(i, &good_cases[i], p, &d, rc))
			failed++;
		policy_free(p);
		diag_free(&d);
		remove_tree(dir);
	}
	assert_int_equal(failed, 0);
}

/* --- approval --- */

static void test_duration_parse(void **state)
{
	static const struct {
		const char *text;
		int rc;
		uint64_t ms;
	} rows[] = {
		{ "90", 0, 90000 }, { "90s", 0, 90000 }, { "5m", 0, 300000 },
		{ "2h", 0, 7200000 }, { "30d", 0, 2592000000ull }, { "31d", -1, 0 },
		{ "0", -1, 0 }, { "0s", -1, 0 }, { "", -1, 0 }, { "m", -1, 0 },
		{ "-5m", -1, 0 }, { "5 m", -1, 0 }, { "1.5h", -1, 0 }, { "5ms", -1, 0 },
		{ "99999999999999999999", -1, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t ms = 0;
		int rc = duration_parse(rows[i].text, &ms);

		if (rc != rows[i].rc || (rc == 0 && ms != rows[i].ms))
			fail_msg("duration '%s': rc %d, %llu ms", rows[i].text, rc,
				 (unsigned long long)ms);
	}
}

static const char approve_agent[] =
	"[exec]\n"
	"allow = /usr/bin/git\n"
	"approve = /usr/bin/curl\n"
	"approve = ${workspace}/deploy.sh timeout=30s on_timeout=allow\n"
	"[network]\n"
	"connect = 10.0.0.0/8 443\n"
	"approve = 0.0.0.0/0 443 timeout=2m\n"
	"approve = 192.168.0.0/16 80,8080\n"
	"[approval]\n"
	"approvers = 4242, @0\n"
	"approvers = 1001\n"
	"self_approve = yes\n"
	"timeout = 10m\n";

static void test_approve_rules(void **state)
{
	static const uint8_t v4[12] = { [10] = 0xff, [11] = 0xff };
	const struct approve_rule *curl, *deploy, *any, *lan;
	uint8_t addr[16];
	char dir[PATH_MAX];
	struct policy *p = NULL;
	struct diag d = { 0 };
	const struct agent *a;
	gid_t wheel = 0, other = 7;

	(void)state;
	new_config_dir(dir);
	write_at(dir, "agents.d/ci.ini", approve_agent, 0);
	assert_int_equal(policy_load(dir, &p, &d), 0);
	a = policy_agent(p, "ci");
	assert_non_null(a);
	assert_int_equal(a->napproves, 4);
	/* Exec approve grants are path grants too: Landlock must let the
	 * program run once it is approved. */
	assert_int_equal(a->npaths, 3);
	assert_int_equal(a->paths[1].access, ACC_EXEC);
	curl = agent_approve_rule(a, a->paths[1].rule);
	deploy = agent_approve_rule(a, a->paths[2].rule);
	assert_non_null(curl);
	assert_non_null(deploy);
	assert_string_equal(curl->pattern, "/usr/bin/curl");
	assert_string_equal(deploy->pattern, "${workspace}/deploy.sh");
	assert_string_equal(policy_rule(p, deploy->rule)->text,
			    "approve = ${workspace}/deploy.sh timeout=30s on_timeout=allow");
	assert_null(agent_approve_rule(a, a->paths[0].rule));
	assert_int_equal(approve_timeout_ms(a, curl), 600000);
	assert_false(approve_timeout_allows(a, curl));
	assert_int_equal(approve_timeout_ms(a, deploy), 30000);
	assert_true(approve_timeout_allows(a, deploy));

	memcpy(addr, v4, 12);
	inet_pton(AF_INET, "8.8.8.8", addr + 12);
	any = agent_approve_connect(a, addr, 443);
	assert_non_null(any);
	assert_int_equal(approve_timeout_ms(a, any), 120000);
	assert_null(agent_approve_connect(a, addr, 80));
	inet_pton(AF_INET, "192.168.1.1", addr + 12);
	lan = agent_approve_connect(a, addr, 8080);
	assert_non_null(lan);
	assert_ptr_not_equal(lan, any);
	assert_ptr_equal(agent_approve_connect(a, addr, 443), any);
	/* Approve grants are not connect grants. */
	assert_false(agent_check_connect(a, addr, 8080, NULL));

	assert_true(a->approval.self_approve);
	assert_true(approval_names(a, 4242, &other, 1));
	assert_true(approval_names(a, 1001, NULL, 0));
	assert_true(approval_names(a, 5000, &wheel, 1));
	assert_false(approval_names(a, 5000, &other, 1));
	policy_free(p);
	remove_tree(dir);
}

static void test_approval_defaults(void **state)
{
	char dir[PATH_MAX];
	struct policy *p = NULL;
	struct diag d = { 0 };
	const struct agent *a;

	(void)state;
	new_config_dir(dir);
	write_at(dir, "agents.d/ci.ini", "[exec]\napprove = /usr/bin/curl\n", 0);
	write_at(dir, "pinfoldd.conf", "[daemon]\napproval_command = /usr/local/bin/page\n", 0);
	assert_int_equal(policy_load(dir, &p, &d), 0);
	a = policy_agent(p, "ci");
	assert_int_equal(approve_timeout_ms(a, &a->approves[0]), 5 * 60 * 1000);
	assert_false(approve_timeout_allows(a, &a->approves[0]));
	assert_false(a->approval.self_approve);
	assert_false(approval_names(a, 0, NULL, 0));
	assert_string_equal(p->conf.approval_command, "/usr/local/bin/page");
	policy_free(p);
	remove_tree(dir);
}

/* A role's approve rules and approvers reach every agent that holds it,
 * inherited roles included, with the role's condition joined to them. */
static void test_approve_roles(void **state)
{
	static const uint8_t v4[12] = { [10] = 0xff, [11] = 0xff };
	char dir[PATH_MAX];
	struct policy *p = NULL;
	struct diag d = { 0 };
	const struct agent *a;
	uint8_t addr[16];

	(void)state;
	new_config_dir(dir);
	write_at(dir, "roles.d/fetcher.ini",
		 "[role]\ninherit = paged\n[exec]\napprove = /usr/bin/curl timeout=1m\n"
		 "[network]\napprove = 0.0.0.0/0 443\n", 0);
	write_at(dir, "roles.d/paged.ini", "[approval]\napprovers = 777\n", 0);
	write_at(dir, "agents.d/ci.ini",
		 "[agent]\nroles = fetcher\n[approval]\napprovers = 4242\ntimeout = 2m\n", 0);
	assert_int_equal(policy_load(dir, &p, &d), 0);
	for (size_t i = 0; i < d.n; i++)
		print_message("  %s\n", d.msgs[i]);
	a = policy_agent(p, "ci");
	assert_non_null(a);
	assert_int_equal(a->napproves, 2);
	assert_int_equal(a->npaths, 1);
	assert_non_null(agent_approve_rule(a, a->paths[0].rule));
	assert_string_equal(policy_rule(p, a->paths[0].rule)->file, "roles.d/fetcher.ini");
	assert_int_equal(approve_timeout_ms(a, agent_approve_rule(a, a->paths[0].rule)), 60000);
	memcpy(addr, v4, 12);
	inet_pton(AF_INET, "1.1.1.1", addr + 12);
	assert_non_null(agent_approve_connect(a, addr, 443));
	assert_int_equal(approve_timeout_ms(a, agent_approve_connect(a, addr, 443)), 120000);
	assert_true(approval_names(a, 4242, NULL, 0));
	assert_true(approval_names(a, 777, NULL, 0));
	assert_false(approval_names(a, 778, NULL, 0));
	policy_free(p);
	remove_tree(dir);
}

static void test_missing_config_dir(void **state)
{
	struct policy *p = NULL;
	struct diag d = { 0 };

	(void)state;
	assert_int_equal(policy_load("/nonexistent/pinfold", &p, &d), -1);
	assert_null(p);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.msgs[0],
			    "/nonexistent/pinfold: No such file or directory");
	diag_free(&d);
}

/* An empty directory is a valid policy with no agents and defaults. */
static void test_empty_config_dir(void **state)
{
	char dir[PATH_MAX];
	struct policy *p = NULL;
	struct diag d = { 0 };

	(void)state;
	new_config_dir(dir);
	assert_int_equal(policy_load(dir, &p, &d), 0);
	assert_int_equal(p->nagents, 0);
	assert_int_equal(p->nrules, 0);
	assert_null(policy_agent(p, "ci"));
	policy_free(p);
	remove_tree(dir);
}

/* --- fixture directories --- */

static void test_fixture_good(void **state)
{
	struct policy *p = NULL;
	struct diag d = { 0 };
	const struct agent *alpha, *beta;
	const struct rule *r;

	(void)state;
	assert_int_equal(policy_load("tests/fixtures/policy/good", &p, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(p->nagents, 2);
	alpha = policy_agent(p, "alpha");
	beta = policy_agent(p, "beta");
	assert_non_null(alpha);
	assert_non_null(beta);
	assert_null(policy_agent(p, "README"));
	/* Sorted load order gives the ids. */
	assert_int_equal(alpha->id, 1);
	assert_int_equal(beta->id, 2);
	assert_int_equal(p->conf.uid_lo, 40000);
	assert_int_equal(p->conf.uid_hi, 40999);
	assert_int_equal(p->conf.fsync_interval_ms, 20);
	/* Rule ids run across files in load order. */
	assert_int_equal(alpha->npaths, 2);
	assert_int_equal(p->nrules, 5);
	r = policy_rule(p, 2);
	assert_string_equal(r->file, "agents.d/alpha.ini");
	assert_string_equal(r->text, "write = ${workspace}");
	assert_int_equal(r->line, 9);
	r = policy_rule(p, 3);
	assert_string_equal(r->file, "agents.d/beta.ini");
	assert_int_equal(beta->paths[0].rule, 3);
	assert_int_equal(beta->nnets, 3);
	assert_int_equal(beta->nets[2].rule, 5);
	assert_true(beta->has_uid);
	assert_false(beta->enabled);
	policy_free(p);
}

static const char *const fixture_bad_want[] = {
	"pinfoldd.conf:5: bad fsync_interval_ms 'soon': milliseconds, 1 to "
	"10000",
	"agents.d/Upper.ini: bad agent name 'Upper': names match "
	"[a-z0-9][a-z0-9_-]{0,31}",
	"agents.d/ci.ini:6: unknown key 'conect' in [network]",
	"agents.d/ci.ini:7: bad port range '90-80'",
	"agents.d/ci.ini:10: unknown section [netwrk]",
	"agents.d/ci.ini:14: uid 'root' is root: agents never run as root",
	"agents.d/ci.ini:15: syntax error",
	"agents.d/web.ini:4: bad CIDR '10.0.0.1/8': host bits set",
};

/* Every problem of every file is reported, in load order. */
static void test_fixture_bad(void **state)
{
	size_t n = sizeof(fixture_bad_want) / sizeof(fixture_bad_want[0]);
	struct policy *p = NULL;
	struct diag d = { 0 };
	size_t i;

	(void)state;
	assert_int_equal(policy_load("tests/fixtures/policy/bad", &p, &d), -1);
	assert_null(p);
	if (d.n != n)
		for (i = 0; i < d.n; i++)
			print_message("  got: %s\n", d.msgs[i]);
	assert_int_equal(d.n, n);
	for (i = 0; i < n; i++)
		assert_string_equal(d.msgs[i], fixture_bad_want[i]);
	diag_free(&d);
}

/* --- the policy hash --- */

static void load_hash(const char *dir, char hex[65])
{
	struct policy *p = NULL;
	struct diag d = { 0 };

	assert_int_equal(policy_load(dir, &p, &d), 0);
	memcpy(hex, p->hash_hex, 65);
	policy_free(p);
}

static void digest_file(EVP_MD_CTX *md, const char *name, const char *text)
{
	uint64_t len = strlen(text);
	uint8_t be[8];
	int i;

	for (i = 0; i < 8; i++)
		be[i] = (uint8_t)(len >> (56 - 8 * i));
	EVP_DigestUpdate(md, name, strlen(name) + 1);
	EVP_DigestUpdate(md, be, 8);
	EVP_DigestUpdate(md, text, strlen(text));
}

static const char hash_conf[] = "[daemon]\nfsync_interval_ms = 5\n";
static const char hash_agent[] =
	"; a comment to flip bytes in\n[agent]\ndescription = hashed\n"
	"[files]\nread = /usr\n";

/* The hash is exactly the construction docs/policy.md gives. */
static void test_hash_construction(void **state)
{
	uint8_t want[32];
	char dir[PATH_MAX], hex[65], want_hex[65];
	unsigned int n;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int i;

	(void)state;
	new_config_dir(dir);
	write_at(dir, "pinfoldd.conf", hash_conf, 0);
	write_at(dir, "agents.d/b.ini", hash_agent, 0);
	write_at(dir, "agents.d/a.ini", "", 0);
	write_at(dir, "agents.d/notes.txt", "ignored, not hashed", 0);
	load_hash(dir, hex);

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	digest_file(md, "pinfoldd.conf", hash_conf);
	digest_file(md, "agents.d/a.ini", "");
	digest_file(md, "agents.d/b.ini", hash_agent);
	EVP_DigestFinal_ex(md, want, &n);
	EVP_MD_CTX_free(md);
	for (i = 0; i < 32; i++)
		sprintf(want_hex + 2 * i, "%02x", want[i]);
	assert_string_equal(hex, want_hex);
	remove_tree(dir);
}

/* Any changed byte that still loads changes the hash; the same bytes
 * give the same hash. */
static void test_hash_every_byte(void **state)
{
	char dir[PATH_MAX], base[65], again[65], hex[65];
	char text[sizeof(hash_agent)];
	struct policy *p;
	struct diag d = { 0 };
	size_t i, clean = 0;

	(void)state;
	new_config_dir(dir);
	write_at(dir, "agents.d/b.ini", hash_agent, 0);
	load_hash(dir, base);
	load_hash(dir, again);
	assert_string_equal(base, again);
	for (i = 0; i < strlen(hash_agent); i++) {
		memcpy(text, hash_agent, sizeof(text));
		text[i] = text[i] == 'x' ? 'y' : 'x';
		write_at(dir, "agents.d/b.ini", text, 0);
		p = NULL;
		if (policy_load(dir, &p, &d) == 0) {
			clean++;
			assert_string_not_equal(p->hash_hex, base);
		}
		policy_free(p);
		diag_free(&d);
	}
	/* The comment and the description must have been among them. */
	assert_true(clean > 30);
	write_at(dir, "agents.d/b.ini", hash_agent, 0);
	load_hash(dir, hex);
	assert_string_equal(hex, base);

	/* The name is hashed too. */
	remove_tree(dir);
	new_config_dir(dir);
	write_at(dir, "agents.d/c.ini", hash_agent, 0);
	load_hash(dir, hex);
	assert_string_not_equal(hex, base);
	remove_tree(dir);
}

/* --- the shipped examples --- */

static void test_examples_load_clean(void **state)
{
	struct policy *p = NULL;
	struct diag d = { 0 };
	size_t i;

	(void)state;
	assert_int_equal(policy_load("policy/examples", &p, &d), 0);
	for (i = 0; i < d.n; i++)
		print_message("  %s\n", d.msgs[i]);
	assert_int_equal(d.n, 0);
	assert_non_null(policy_agent(p, "demo"));
	assert_non_null(policy_agent(p, "build"));
	assert_int_equal(policy_agent(p, "build")->nnets, 0);
	assert_non_null(policy_agent(p, "fetch"));
	assert_int_equal(policy_agent(p, "fetch")->napproves, 3);
	assert_string_equal(policy_agent(p, "fetch")->approves[0].pattern, "/usr/bin/curl");
	assert_int_equal(approve_timeout_ms(policy_agent(p, "fetch"),
					    &policy_agent(p, "fetch")->approves[0]), 600000);
	assert_int_equal(p->conf.uid_lo, DEFAULT_UID_LO);
	assert_int_equal(strlen(p->hash_hex), 64);
	policy_free(p);
}

enum req { EXEC, READ, WRITE, CONNECT };

struct example_case {
	const char *agent;
	enum req req;
	const char *what;	/* path, or address for CONNECT */
	uint16_t port;
	const char *rule;	/* text of the deciding rule; NULL: denied */
};

/* workspace /home/dev/proj, home /home/dev */
static const struct example_case example_cases[] = {
	{ "demo", EXEC, "/usr/bin/git", 0, "allow = /usr/bin/git" },
	{ "demo", EXEC, "/usr/lib/git-core/git-remote-http", 0,
	  "allow = /usr/lib/git-core" },
	{ "demo", EXEC, "/usr/lib/gcc/x86_64-linux-gnu/12/cc1", 0,
	  "allow = /usr/lib/gcc" },
	{ "demo", EXEC, "/usr/bin/python3.11", 0,
	  "allow = /usr/bin/python3.11" },
	{ "demo", EXEC, "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", 0,
	  "allow = /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" },
	{ "demo", EXEC, "/home/dev/proj/a.out", 0, "allow = ${workspace}" },
	{ "demo", EXEC, "/usr/bin/id", 0, NULL },
	{ "demo", EXEC, "/usr/bin/curl", 0, NULL },
	{ "demo", EXEC, "/usr/bin/gitk", 0, NULL },
	{ "demo", READ, "/etc/passwd", 0, "read = /etc" },
	{ "demo", READ, "/usr/include/stdio.h", 0, "read = /usr" },
	{ "demo", READ, "/home/dev/.ssh/id_ed25519", 0, NULL },
	{ "demo", READ, "/home/dev/proj/../.ssh/id_rsa", 0, NULL },
	{ "demo", READ, "/proc/self/environ", 0, NULL },
	{ "demo", WRITE, "/etc/passwd", 0, NULL },
	{ "demo", WRITE, "/var/tmp/x", 0, NULL },
	{ "demo", WRITE, "/home/dev/proj/src/main.c", 0,
	  "write = ${workspace}" },
	{ "demo", WRITE, "/dev/tty", 0, "write = /dev/tty" },
	{ "demo", CONNECT, "127.0.0.1", 8080,
	  "connect = 127.0.0.0/8 1024-65535" },
	{ "demo", CONNECT, "::ffff:127.0.0.1", 8080,
	  "connect = 127.0.0.0/8 1024-65535" },
	{ "demo", CONNECT, "::1", 65535, "connect = ::1/128 1024-65535" },
	{ "demo", CONNECT, "127.0.0.1", 22, NULL },
	{ "demo", CONNECT, "169.254.169.254", 80, NULL },
	{ "demo", CONNECT, "1.1.1.1", 443, NULL },
	{ "build", EXEC, "/usr/bin/make", 0, "allow = /usr/bin" },
	{ "build", EXEC, "/home/dev/proj/lua-5.4.6/src/lua", 0,
	  "allow = ${workspace}" },
	{ "build", EXEC, "/usr/sbin/iptables", 0, NULL },
	{ "build", WRITE, "/home/dev/proj/lua-5.4.6/src/lua.o", 0,
	  "write = ${workspace}" },
	{ "build", WRITE, "/usr/local/bin/lua", 0, NULL },
	{ "build", READ, "/home/dev/.ssh/id_rsa", 0, NULL },
	{ "build", CONNECT, "127.0.0.1", 8080, NULL },
};

static void parse_addr(const char *s, uint8_t addr[16])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (inet_pton(AF_INET6, s, addr) == 1)
		return;
	memcpy(addr, mapped, 12);
	assert_int_equal(inet_pton(AF_INET, s, addr + 12), 1);
}

static bool example_decide(const struct policy *p,
			   const struct example_case *c, uint32_t *rule)
{
	static const unsigned bits[] = { ACC_EXEC, ACC_READ, ACC_WRITE };
	const struct agent *a = policy_agent(p, c->agent);
	struct grants *g;
	uint8_t addr[16];
	bool allow;

	assert_non_null(a);
	if (c->req == CONNECT) {
		parse_addr(c->what, addr);
		return agent_check_connect(a, addr, c->port, rule);
	}
	g = grants_bind(a, "/home/dev/proj", "/home/dev", NULL);
	assert_non_null(g);
	allow = grants_check_path(g, c->what, bits[c->req], rule);
	grants_free(g);
	return allow;
}

static void test_examples_decide(void **state)
{
	struct policy *p = NULL;
	const struct rule *r;
	size_t i, failed = 0;
	uint32_t rule;
	bool allow;

	(void)state;
	assert_int_equal(policy_load("policy/examples", &p, NULL), 0);
	for (i = 0; i < sizeof(example_cases) / sizeof(example_cases[0]); i++) {
		const struct example_case *c = &example_cases[i];

		allow = example_decide(p, c, &rule);
		r = policy_rule(p, rule);
		if (c->rule ? allow && r && !strcmp(r->text, c->rule)
			    : !allow && rule == 0)
			continue;
		print_message("example_cases[%zu] (%s %s): %s by '%s'\n", i,
			      c->agent, c->what, allow ? "allowed" : "denied",
			      r ? r->text : "-");
		failed++;
	}
	assert_int_equal(failed, 0);
	policy_free(p);
}

/* --- files that are links --- */

/* A configuration file that is a symbolic link to LINK (relative to the
 * file's directory), holding TEXT there unless dangling; every message
 * about it, from any stage of the load, names the file as the
 * configuration does, the line in the file read, and where it leads:
 * "@" in want stands for the configuration directory. */
struct link_case {
	const char *file;
	const char *link;
	const char *text;	/* written at the link's target; NULL: dangling */
	const char *want[3];
};

static const struct link_case link_cases[] = {
	{ "agents.d/ci.ini", "../shared/ci.ini", "[agent]\ndescription = x\n[files]\nraed = /u\n",
	  { "agents.d/ci.ini:4: unknown key 'raed' in [files] (agents.d/ci.ini is a link to "
	    "@/shared/ci.ini)" } },
	{ "roles.d/r.ini", "../shared/r.ini", "[role]\nwhen = agent.tier = gold\n",
	  { "roles.d/r.ini:2: condition on attribute 'agent.tier', which no agent declares in "
	    "[attributes] (roles.d/r.ini is a link to @/shared/r.ini)" } },
	{ "agents.d/gone.ini", "../nowhere.ini", NULL,
	  { "agents.d/gone.ini: No such file or directory (agents.d/gone.ini is a link to "
	    "../nowhere.ini)" } },
	{ "pinfoldd.conf", "shared/pinfoldd.conf", "[daemon]\n\nfsync = 1\n",
	  { "pinfoldd.conf:3: unknown key 'fsync' in [daemon] (pinfoldd.conf is a link to "
	    "@/shared/pinfoldd.conf)" } },
};

static void link_case_write(const char *dir, const struct link_case *c)
{
	char path[PATH_MAX], target[PATH_MAX * 2];
	const char *slash = strrchr(c->file, '/');
	int len = slash ? (int)(slash - c->file) : 0;
	FILE *f;

	assert_true(snprintf(path, sizeof(path), "%s/%.*s", dir, len, c->file) <
		    (int)sizeof(path));
	mkdir(path, 0700);
	snprintf(target, sizeof(target), "%s/shared", dir);
	mkdir(target, 0700);
	snprintf(target, sizeof(target), "%s/%s", path, c->link);
	if (c->text) {
		f = fopen(target, "w");
		assert_non_null(f);
		fputs(c->text, f);
		assert_int_equal(fclose(f), 0);
	}
	assert_true(snprintf(path, sizeof(path), "%s/%s", dir, c->file) < (int)sizeof(path));
	assert_int_equal(symlink(c->link, path), 0);
}

static bool has_msg(const struct diag *d, const char *want)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->msgs[i], want))
			return true;
	return false;
}

/* Beside each link a plain file with a mistake of its own, whose message
 * stays as it is. */
static void test_linked_files(void **state)
{
	static const char plain[] = "agents.d/plain.ini:2: relative path 'usr': paths are "
				    "absolute or begin with ${workspace}, ${home} or ${user}";
	char dir[PATH_MAX], real[PATH_MAX], want[PATH_MAX + 512];
	struct policy *p = NULL;
	struct diag d = { 0 };
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(link_cases) / sizeof(link_cases[0]); i++) {
		const struct link_case *c = &link_cases[i];
		size_t n = want_count(c->want, 3);
		bool ok;

		new_config_dir(dir);
		assert_non_null(realpath(dir, real));
		link_case_write(dir, c);
		write_at(dir, "agents.d/plain.ini", "[files]\nread = usr\n", 0);
		ok = policy_load(dir, &p, &d) == -1 && d.n == n + 1 && has_msg(&d, plain);
		for (size_t k = 0; ok && k < n; k++) {
			const char *at = strchr(c->want[k], '@');

			if (at)
				snprintf(want, sizeof(want), "%.*s%s%s", (int)(at - c->want[k]),
					 c->want[k], real, at + 1);
			else
				snprintf(want, sizeof(want), "%s", c->want[k]);
			ok = has_msg(&d, want);
		}
		if (!ok) {
			failed++;
			print_message("link_cases[%zu] (%s):\n", i, c->file);
			for (size_t j = 0; j < d.n; j++)
				print_message("  got:  %s\n", d.msgs[j]);
		}
		diag_free(&d);
		remove_tree(dir);
	}
	assert_int_equal(failed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_snippets),
		cmocka_unit_test(test_good_snippets),
		cmocka_unit_test(test_duration_parse),
		cmocka_unit_test(test_approve_rules),
		cmocka_unit_test(test_approval_defaults),
		cmocka_unit_test(test_approve_roles),
		cmocka_unit_test(test_missing_config_dir),
		cmocka_unit_test(test_empty_config_dir),
		cmocka_unit_test(test_fixture_good),
		cmocka_unit_test(test_fixture_bad),
		cmocka_unit_test(test_hash_construction),
		cmocka_unit_test(test_hash_every_byte),
		cmocka_unit_test(test_examples_load_clean),
		cmocka_unit_test(test_examples_decide),
		cmocka_unit_test(test_linked_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
