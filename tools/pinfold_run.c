// SPDX-License-Identifier: GPL-2.0-only
/*
 * pinfold run: asks pinfoldd to start a command as an agent, hands it this
 * terminal's stdin, stdout and stderr, forwards signals, and exits with the
 * command's status.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/proto.h"
#include "tools/pinfold.h"

extern char **environ;

/* Signals a terminal or a supervisor sends that the command should get. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };

static json_t *strings_json(char **v, int n)
{
	json_t *a = json_array();

	for (int i = 0; (n < 0 || i < n) && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int run_usage(void)
{
	fprintf(stderr, "usage: pinfold run --agent NAME [--workspace DIR] -- CMD [ARGS...]\n");
	return 2;
}

static int block_forwarded(void)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* Dies of the same signal as the command, so a shell sees what it would
 * have seen running the command directly. */
static int exit_like(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		sigset_t set;

		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
		return 128 + sig;
	}
	return EXIT_PINFOLD;
}

static int wait_message(int sock, int sfd, json_t **msg)
{
	struct pollfd p[2] = { { sock, POLLIN, 0 }, { sfd, POLLIN, 0 } };
	int fds[PROTO_FDS_MAX], nfds;

	for (;;) {
		if (poll(p, sfd >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (sfd >= 0 && (p[1].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				json_t *m = json_pack("{s:s,s:i}", "verb", "signal", "signal",
						      (int)si.ssi_signo);

				proto_send(sock, m, NULL, 0);
				json_decref(m);
			}
		}
		if (p[0].revents) {
			int r = proto_recv(sock, msg, fds, &nfds);

			for (int i = 0; i < nfds; i++)
				close(fds[i]);
			if (r != -EAGAIN)
				return r;
		}
	}
}

/* While an action waits for an approver, the agent's terminal says what
 * is held and what an approver runs; then how it ended. */
static void print_approval_event(json_t *m, const char *ev)
{
	long long id = (long long)json_integer_value(json_object_get(m, "request"));
	const char *action = json_string_value(json_object_get(m, "action")) ?: "action";
	const char *object = json_string_value(json_object_get(m, "object")) ?: "?";
	const char *by = json_string_value(json_object_get(m, "by"));

	if (!strcmp(ev, "held"))
		fprintf(stderr, "pinfold: %s '%s' is held for approval as request %lld; an "
			"approver runs 'pinfold approve %lld' (%s after %llds)\n", action, object,
			id, id, json_string_value(json_object_get(m, "on_timeout")) ?: "deny",
			(long long)json_integer_value(json_object_get(m, "timeout_s")));
	else
		fprintf(stderr, "pinfold: request %lld %s%s%s\n", id, ev, by ? ": " : "",
			by ? by : "");
}

static int run_session(int sock, int sfd, const char *agent)
{
	json_t *m = NULL;
	int r = wait_message(sock, sfd, &m);

	if (r) {
		fprintf(stderr, "pinfold: no answer from pinfoldd: %s\n", strerror(-r));
		return EXIT_PINFOLD;
	}
	if (!json_is_true(json_object_get(m, "ok"))) {
		const char *e = json_string_value(json_object_get(m, "error"));

		fprintf(stderr, "pinfold: %s\n", e ? e : "request refused");
		json_decref(m);
		return EXIT_PINFOLD;
	}
	json_decref(m);
	for (;;) {
		r = wait_message(sock, sfd, &m);
		if (r) {
			fprintf(stderr, "pinfold: lost pinfoldd while agent '%s' ran: %s\n", agent,
				strerror(-r));
			return EXIT_PINFOLD;
		}
		const char *ev = json_string_value(json_object_get(m, "event")) ?: "";

		if (json_is_integer(json_object_get(m, "request")) && strcmp(ev, "exit"))
			print_approval_event(m, ev);
		if (!strcmp(ev, "exit")) {
			int status = (int)json_integer_value(json_object_get(m, "status"));

			json_decref(m);
			return exit_like(status);
		}
		json_decref(m);
	}
}

int cmd_run(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "agent", required_argument, NULL, 'a' },
		{ "workspace", required_argument, NULL, 'w' },
		{ 0 },
	};
	const char *agent = NULL, *ws = NULL;
	char wsbuf[PATH_MAX], cwd[PATH_MAX];
	int o, sock, sfd, rc;
	int fds[3] = { 0, 1, 2 };
	json_t *m;

	while ((o = getopt_long(argc, argv, "+a:w:", opts, NULL)) != -1) {
		if (o == 'a')
			agent = optarg;
		else if (o == 'w')
			ws = optarg;
		else
			return run_usage();
	}
	if (!agent || optind >= argc)
		return run_usage();
	if (ws && ws[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)) ||
		    (size_t)snprintf(wsbuf, sizeof(wsbuf), "%s/%s", cwd, ws) >= sizeof(wsbuf)) {
			fprintf(stderr, "pinfold: workspace '%s': path too long\n", ws);
			return EXIT_PINFOLD;
		}
		ws = wsbuf;
	}

	sock = cli_connect(c);
	if (sock < 0)
		return EXIT_PINFOLD;
	m = json_pack("{s:s,s:s,s:o,s:o}", "verb", "run", "agent", agent, "argv",
		      strings_json(argv + optind, -1), "env", strings_json(environ, -1));
	if (ws)
		json_object_set_new(m, "workspace", json_string(ws));
	sfd = block_forwarded();
	rc = proto_send(sock, m, fds, 3);
	json_decref(m);
	if (rc) {
		fprintf(stderr, "pinfold: cannot send the request: %s\n", strerror(-rc));
		return EXIT_PINFOLD;
	}
	rc = run_session(sock, sfd, agent);
	close(sock);
	return rc;
}
