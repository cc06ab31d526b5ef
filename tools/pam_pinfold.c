// SPDX-License-Identifier: GPL-2.0-only
/*
 * pam_pinfold.so: PAM account and session module for agents' service
 * accounts (an agent file's unix_user).
 *
 *   account  refuses the login of a disabled or expired agent
 *   session  has pinfoldd put this login process into a session cgroup of
 *            the agent, before the shell starts, and sets no_new_privs
 *
 * Tagging brings everything that follows the cgroup: the network rules
 * (cgroup BPF), the recording of execs, opens and connects, and kill,
 * freeze, expiry and deprovisioning of the session. Landlock and seccomp
 * are not applied: they would bind the login program itself (sshd, su,
 * login) for the rest of its life, not only the shell; docs/pam.md says
 * what that leaves open. An account that is no agent's is ignored
 * (PAM_IGNORE). When pinfoldd cannot be asked, both stages fail: whether
 * the account is an agent's cannot be known.
 *
 * Option: socket=PATH (default /run/pinfold/pinfoldd.sock).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <syslog.h>
#include <unistd.h>

#define PAM_SM_ACCOUNT
#define PAM_SM_SESSION
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "daemon/proto.h"

static const char *socket_of(int argc, const char **argv)
{
	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], "socket=", 7))
			return argv[i] + 7;
	return PROTO_DEFAULT_SOCKET;
}

/* One request for user; the reply, or NULL after logging why. */
static json_t *ask(pam_handle_t *ph, const char *sock, const char *verb, const char *user)
{
	json_t *req = json_pack("{s:s,s:s}", "verb", verb, "user", user), *m = NULL;
	struct pollfd p = { -1, POLLIN, 0 };
	int fds[PROTO_FDS_MAX], nfds = 0, r;

	p.fd = proto_connect(sock);
	r = p.fd < 0 ? p.fd : proto_send(p.fd, req, NULL, 0);
	json_decref(req);
	while (!r) {
		if (poll(&p, 1, 10000) != 1) {
			r = -ETIMEDOUT;
			break;
		}
		r = proto_recv(p.fd, &m, fds, &nfds);
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		if (r != -EAGAIN)
			break;
		r = 0;
	}
	if (p.fd >= 0)
		close(p.fd);
	if (r) {
		pam_syslog(ph, LOG_ERR, "cannot ask pinfoldd at '%s' about '%s': %s", sock, user,
			   strerror(-r));
		return NULL;
	}
	if (!json_is_true(json_object_get(m, "ok"))) {
		pam_syslog(ph, LOG_ERR, "pinfoldd refused '%s' for '%s': %s", verb, user,
			   json_string_value(json_object_get(m, "error")) ?: "no reason");
		json_decref(m);
		return NULL;
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
	m = ask(ph, socket_of(argc, argv), "pam-account", user);
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

PAM_EXTERN int pam_sm_open_session(pam_handle_t *ph, int flags, int argc, const char **argv)
{
	const char *user = NULL;
	char env[128];
	json_t *m;

	(void)flags;
	if (pam_get_user(ph, &user, NULL) != PAM_SUCCESS || !user)
		return PAM_SESSION_ERR;
	m = ask(ph, socket_of(argc, argv), "pam-open", user);
	if (!m)
		return PAM_SESSION_ERR;
	if (!json_is_string(json_object_get(m, "agent"))) {
		json_decref(m);
		return PAM_IGNORE;
	}
	snprintf(env, sizeof(env), "PINFOLD_AGENT=%s",
		 json_string_value(json_object_get(m, "agent")));
	pam_putenv(ph, env);
	snprintf(env, sizeof(env), "PINFOLD_SESSION=%lld",
		 (long long)json_integer_value(json_object_get(m, "session")));
	pam_putenv(ph, env);
	json_decref(m);
	/* Setuid programs run from the shell gain nothing. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		pam_syslog(ph, LOG_ERR, "cannot set no_new_privs: %s", strerror(errno));
		return PAM_SESSION_ERR;
	}
	return PAM_SUCCESS;
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
