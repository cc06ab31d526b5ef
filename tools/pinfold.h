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

int cmd_reload(struct cli *c, int argc, char **argv);

/* Connects to pinfoldd, or prints why not and returns -1. */
int cli_connect(const struct cli *c);
/* Sends req on a new connection and returns the reply when it says ok;
 * otherwise prints why and returns NULL. */
json_t *cli_call(const struct cli *c, json_t *req);

#endif
