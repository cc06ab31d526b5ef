/* SPDX-License-Identifier: GPL-2.0-only */
/* The pinfold CLI's subcommands. Each returns the process exit status. */
#ifndef PINFOLD_CLI_H
#define PINFOLD_CLI_H

#include <jansson.h>

/* Exit status for pinfold's own failures (no daemon, refused request),
 * kept apart from the command's statuses as env(1) and timeout(1) do. */
#define EXIT_PINFOLD 125

struct cli {
	const char *socket_path;
	int verbose;
};

int cmd_run(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_policy(struct cli *c, int argc, char **argv);
int cmd_audit(struct cli *c, int argc, char **argv);

int cmd_sessions(struct cli *c, int argc, char **argv);
int cmd_agents(struct cli *c, int argc, char **argv);
int cmd_idp(struct cli *c, int argc, char **argv);
/* kill, freeze and thaw, by argv[0]. */
int cmd_session_action(struct cli *c, int argc, char **argv);
int cmd_approvals(struct cli *c, int argc, char **argv);
int cmd_approve(struct cli *c, int argc, char **argv);
int cmd_deny(struct cli *c, int argc, char **argv);
int cmd_reload(struct cli *c, int argc, char **argv);

/* A subcommand whose one option is --json: 1 with it, 0 without, -1
 * for anything else. */
int cli_json_flag(int argc, char **argv);

/* A listing command: sends the verb argv[0], prints reply[key] as JSON
 * with --json, else each member with print. Returns the exit status. */
int cli_list(struct cli *c, int argc, char **argv, const char *key, void (*print)(json_t *));

/* Connects to pinfoldd, or prints why not and returns -1. */
int cli_connect(const struct cli *c);
/* Sends req (with nfds descriptors) on a connection of its own and waits
 * for the reply. Returns 0 and *reply for {"ok": true}; otherwise prints
 * the reason on stderr and returns -1. */
int cli_request(const struct cli *c, json_t *req, const int *fds, int nfds, json_t **reply);
/* The same, but a refusal's reply is kept in *reply for the caller. */
int cli_request_full(const struct cli *c, json_t *req, const int *fds, int nfds,
		     json_t **reply);

/* Sends req on a new connection and returns the reply when it says ok;
 * otherwise prints why and returns NULL. */
json_t *cli_call(const struct cli *c, json_t *req);

#endif
