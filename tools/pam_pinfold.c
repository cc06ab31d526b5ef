// SPDX-License-Identifier: GPL-2.0-only
/*
 * pam_pinfold.so: PAM account and session module for agents' service
 * accounts (an agent file's unix_user).
 *
 *   account  refuses the login of a disabled or expired agent
 *   session  has pinfoldd put this login process into a session cgroup of
 *            the agent, then applies the agent's restrictions to it, as a
 *            `pinfold run` session's first process does, before the shell
 *            starts: no_new_privs, the Landlock ruleset and the seccomp
 *            filter pinfoldd built for the session
 *
 * The restrictions bind this process and all it starts from then on, the
 * login program included (docs/pam.md). If any of them cannot be applied,
 * the stage fails, and pinfoldd, told so or hearing nothing, ends the
 * session, killing this process. An account that is no agent's is
 * ignored (PAM_IGNORE). When pinfoldd cannot be asked, both stages fail:
 * whether the account is an agent's cannot be known.
 *
 * Option: socket=PATH (default /run/pinfold/pinfoldd.sock).
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "daemon/proto.h"
#include "daemon/sandbox.h"

/* Descriptors pam-open sends: the Landlock ruleset, the seccomp program,
 * the socket to answer on. */
enum { FD_RULESET, FD_FILTER, FD_ANSWER, OPEN_FDS };

static const char *socket_of(int argc, const char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], "socket=", 7))
			return argv[i] + 7;
	return PROTO_DEFAULT_SOCKET;
}

static void close_all(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

/* One message from sock within 10 s: 0, or a negative errno. */
static int recv_reply(int sock, json_t **m, int *fds, int *nfds)
{
	struct pollfd p = { sock, POLLIN, 0 };
	int r = -EAGAIN;

	while (r == -EAGAIN) {
		if (poll(&p, 1, 10000) != 1)
			return -ETIMEDOUT;
		r = proto_recv(sock, m, fds, nfds);
	}
	return r;
}

/* One request for user; the reply, or NULL after logging why. The
 * descriptors that came with it go to fds (*nfds of them), or are closed
 * when fds is NULL. */
static json_t *ask(pam_handle_t *ph, const char *sock, const char *verb, const char *user,
		   int *fds, int *nfds)
{
	json_t *req = json_pack("{s:s,s:s}", "verb", verb, "user", user), *m = NULL;
	int got[PROTO_FDS_MAX], ngot = 0, fd, r;

	fd = proto_connect(sock);
	r = fd < 0 ? fd : proto_send(fd, req, NULL, 0);
	json_decref(req);
	if (!r)
		r = recv_reply(fd, &m, got, &ngot);
	if (fd >= 0)
		close(fd);
	if (r) {
		pam_syslog(ph, LOG_ERR, "cannot ask pinfoldd at '%s' about '%s': %s", sock, user,
			   strerror(-r));
		return NULL;
	}
	if (!json_is_true(json_object_get(m, "ok"))) {
		pam_syslog(ph, LOG_ERR, "pinfoldd refused '%s' for '%s': %s", verb, user,
			   json_string_value(json_object_get(m, "error")) ?: "no reason");
		json_decref(m);
		close_all(got, ngot);
		return NULL;
	}
	if (fds) {
		memcpy(fds, got, sizeof(int) * (size_t)ngot);
		*nfds = ngot;
	} else {
		close_all(got, ngot);
	}
	return m;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	const char *user = NULL, *status, *why;
	json_t *m;
	int rc;

	(void)flags;
	if (pam_get_user(ph, &user, NULL) != PAM_SUCCESS || !user)
		return PAM_USER_UNKNOWN;
	m = ask(ph, socket_of(argc, argv), "pam-account", user, NULL, NULL);
	if (!m)
		return PAM_AUTHINFO_UNAVAIL;
	status = json_string_value(json_object_get(m, "status"));
	why = json_string_value(json_object_get(m, "error"));
	if (!json_is_string(json_object_get(m, "agent")))
		rc = PAM_IGNORE;
	else if (status && !strcmp(status, "active"))
		rc = PAM_SUCCESS;
	else
		rc = status && !strcmp(status, "expired") ? PAM_ACCT_EXPIRED : PAM_PERM_DENIED;
	if (why) {
		pam_syslog(ph, LOG_NOTICE, "%s", why);
		pam_error(ph, "%s", why);
	}
	json_decref(m);
	return rc;
}

/* Landlock and seccomp bind the calling thread only: another thread of
 * the login program would stay free, so a threaded caller is refused. */
static int threads_of_self(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	int n = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/* The restrictions applied here, or why not (in why). */
static int apply(const int *fds, bool listener_wanted, int *listener, char *why, size_t len)
{
	struct sandbox_filter f;
	const char *step = "seccomp program";
	int r, threads = threads_of_self();

	*listener = -1;
	if (threads != 1) {
		snprintf(why, len, "the login process has %d threads, not 1", threads);
		return -1;
	}
	r = sandbox_filter_load(fds[FD_FILTER], listener_wanted, &f);
	if (!r) {
		r = sandbox_restrict(fds[FD_RULESET], &f, listener, &step);
		sandbox_filter_free(&f);
	}
	if (r)
		snprintf(why, len, "%s: %s", step, strerror(-r));
	return r ? -1 : 0;
}

/* Tells pinfoldd the outcome and waits for its word: until it has taken
 * the listener, a held syscall of this process would wait for nobody. */
static int answer(int sock, const char *error, int listener, char *why, size_t len)
{
	json_t *m = error ? json_pack("{s:b,s:s}", "restricted", 0, "error", error)
			  : json_pack("{s:b,s:i}", "restricted", 1, "listener", listener);
	int fds[PROTO_FDS_MAX], nfds = 0, r = proto_send(sock, m, NULL, 0);

	json_decref(m);
	m = NULL;
	why[0] = 0;
	if (!r)
		r = recv_reply(sock, &m, fds, &nfds);
	close_all(fds, nfds);
	if (r)
		snprintf(why, len, "pinfoldd did not confirm: %s", strerror(-r));
	else if (!json_is_true(json_object_get(m, "ok")))
		snprintf(why, len, "pinfoldd refused: %s",
			 json_string_value(json_object_get(m, "error")) ?: "no reason");
	json_decref(m);
	return r || why[0] ? -1 : 0;
}

static int restrict_session(pam_handle_t *ph, json_t *m, const int *fds, int nfds)
{
	const char *agent = json_string_value(json_object_get(m, "agent"));
	long long id = (long long)json_integer_value(json_object_get(m, "session"));
	char why[512], confirm[512];
	int listener, r;

	/* Without its socket pinfoldd hears nothing, and ends the session
	 * when its wait runs out. */
	if (nfds != OPEN_FDS) {
		pam_syslog(ph, LOG_ERR, "agent '%s' session %lld: pinfoldd sent %d descriptors, "
			   "not %d", agent, id, nfds, OPEN_FDS);
		return -1;
	}
	r = apply(fds, json_is_true(json_object_get(m, "listener")), &listener, why, sizeof(why));
	if (r) {
		/* Said before pinfoldd hears of it: it ends the session. */
		pam_syslog(ph, LOG_ERR, "agent '%s' session %lld: cannot apply its restrictions: "
			   "%s", agent, id, why);
		pam_error(ph, "pinfold: agent '%s': cannot apply its restrictions: %s", agent, why);
	}
	if (answer(fds[FD_ANSWER], r ? why : NULL, listener, confirm, sizeof(confirm)) && !r) {
		pam_syslog(ph, LOG_ERR, "agent '%s' session %lld: %s", agent, id, confirm);
		r = -1;
	}
	if (listener >= 0)
		close(listener);
	return r;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	const char *user = NULL;
	int fds[PROTO_FDS_MAX], nfds = 0, r;
	char env[128];
	json_t *m;

	(void)flags;
	if (pam_get_user(ph, &user, NULL) != PAM_SUCCESS || !user)
		return PAM_SESSION_ERR;
	m = ask(ph, socket_of(argc, argv), "pam-open", user, fds, &nfds);
	if (!m)
		return PAM_SESSION_ERR;
	if (!json_is_string(json_object_get(m, "agent"))) {
		json_decref(m);
		close_all(fds, nfds);
		return PAM_IGNORE;
	}
	snprintf(env, sizeof(env), "PINFOLD_AGENT=%s",
		 json_string_value(json_object_get(m, "agent")));
	pam_putenv(ph, env);
	snprintf(env, sizeof(env), "PINFOLD_SESSION=%lld",
		 (long long)json_integer_value(json_object_get(m, "session")));
	pam_putenv(ph, env);
	r = restrict_session(ph, m, fds, nfds);
	json_decref(m);
	close_all(fds, nfds);
	return r ? PAM_SESSION_ERR : PAM_SUCCESS;
}

/* The session ends when this login process does; pinfoldd follows it. */
PAM_EXTERN int pam_sm_close_session(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	(void)ph;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
