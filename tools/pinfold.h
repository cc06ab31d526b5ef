/* SPDX-License-Identifier: GPL-2.0-only */
/* The pinfold CLI's subcommands. Each returns the process exit status. */
#ifndef PINFOLD_CLI_H
#define PINFOLD_CLI_H

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

/* Connects to pinfoldd, or prints why not and returns -1. */
int cli_connect(const struct cli *c);

#endif
