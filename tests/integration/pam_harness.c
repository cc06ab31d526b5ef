// SPDX-License-Identifier: GPL-2.0-only
/*
 * pam_harness: does what a login program does with PAM, from a service
 * file in a directory of the test's, so the host's /etc/pam.d is never
 * touched:
 *
 *   pam_harness CONFDIR SERVICE USER CMD [ARGS...]
 *
 * pam_start_confdir, pam_acct_mgmt, pam_open_session; then CMD runs as
 * USER (its uid, gid, no supplementary groups) with the PAM environment,
 * as a shell would; then pam_close_session. Exit status: CMD's; 3 when
 * the account stage refuses, 4 when the session stage does, each with
 * "account: REASON" or "session: REASON" on stderr; 2 for usage.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

/* No questions are answered; messages are shown. */
static int converse(int n, const struct pam_message **msg, struct pam_response **resp,
		    void *data)
{
	(void)data;
	for (int i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_ERROR_MSG || msg[i]->msg_style == PAM_TEXT_INFO)
			fprintf(stderr, "pam: %s\n", msg[i]->msg);
	*resp = NULL;
	return PAM_SUCCESS;
}

static void __attribute__((noreturn)) run_as(const struct passwd *pw, char **cmd, char **env)
{
	if (setgroups(0, NULL) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		perror("pam_harness: cannot become the user");
		_exit(126);
	}
	execve(cmd[0], cmd, env);
	perror("pam_harness: exec");
	_exit(127);
}

int main(int argc, char **argv)
{
	struct pam_conv conv = { converse, NULL };
	pam_handle_t *ph = NULL;
	struct passwd *pw;
	int rc, status = 0;
	pid_t pid;

	if (argc < 5) {
		fprintf(stderr, "usage: pam_harness CONFDIR SERVICE USER CMD [ARGS...]\n");
		return 2;
	}
	pw = getpwnam(argv[3]);
	if (!pw) {
		fprintf(stderr, "pam_harness: no user '%s'\n", argv[3]);
		return 2;
	}
	rc = pam_start_confdir(argv[2], argv[3], &conv, argv[1], &ph);
	if (rc != PAM_SUCCESS) {
		fprintf(stderr, "pam_harness: pam_start_confdir: %s\n", pam_strerror(ph, rc));
		return 2;
	}
	rc = pam_acct_mgmt(ph, 0);
	if (rc != PAM_SUCCESS) {
		fprintf(stderr, "account: %s\n", pam_strerror(ph, rc));
		pam_end(ph, rc);
		return 3;
	}
	rc = pam_open_session(ph, 0);
	if (rc != PAM_SUCCESS) {
		fprintf(stderr, "session: %s\n", pam_strerror(ph, rc));
		pam_end(ph, rc);
		return 4;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		run_as(pw, argv + 4, pam_getenvlist(ph));
	waitpid(pid, &status, 0);
	pam_close_session(ph, 0);
	pam_end(ph, PAM_SUCCESS);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
