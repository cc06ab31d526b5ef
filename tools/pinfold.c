// SPDX-License-Identifier: GPL-2.0-only
/* pinfold: the command line of pinfold. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/proto.h"
#include "tools/pinfold.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pinfold [--socket PATH] [-v] COMMAND [ARGS]\n"
		"commands:\n"
		"  run --agent NAME [--workspace DIR] -- CMD [ARGS...]\n"
		"                     run CMD as agent NAME under its policy\n"
		"  status             what pinfoldd enforces, its sessions and counters\n"
		"  agents [--json]    every agent identity: status, source, owner, sessions\n"
		"  idp sync --scim FILE | --url URL --token-file FILE [--ca-file FILE]\n"
		"                     apply an identity provider's SCIM users and groups\n"
		"  sessions [--json]  the running sessions and their processes\n"
		"  kill|freeze|thaw SESSION | --agent NAME\n"
		"                     end, freeze or thaw one session or all of an agent's\n"
		"  reload             load the configuration again (as SIGHUP does)\n"
		"  policy check|explain|show [--config-dir DIR] ...\n"
		"                     check a configuration, explain a decision, show grants\n"
		"  approvals [--json] actions held for approval\n"
		"  approve ID [--once | --session | --for DURATION] [--reason TEXT]\n"
		"  deny ID [--reason TEXT]\n"
		"                     decide a held action\n"
		"  audit pubkey [--state-dir DIR]\n"
		"                     the public key that verifies the audit log's checkpoints\n"
		"exit status: that of CMD for run; %d when pinfold itself fails\n",
		EXIT_PINFOLD);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct cli c = { .socket_path = PROTO_DEFAULT_SOCKET };
	int o;

	/* "+" stops at the first non-option: the rest is the subcommand's. */
	while ((o = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (o) {
		case 'S': c.socket_path = optarg; break;
		case 'v': c.verbose++; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	argc -= optind;
	argv += optind;
	optind = 0;
	if (!strcmp(argv[0], "run"))
		return cmd_run(&c, argc, argv);
	if (!strcmp(argv[0], "status"))
		return cmd_status(&c, argc, argv);
	if (!strcmp(argv[0], "agents"))
		return cmd_agents(&c, argc, argv);
	if (!strcmp(argv[0], "idp"))
		return cmd_idp(&c, argc, argv);
	if (!strcmp(argv[0], "sessions"))
		return cmd_sessions(&c, argc, argv);
	if (!strcmp(argv[0], "kill") || !strcmp(argv[0], "freeze") || !strcmp(argv[0], "thaw"))
		return cmd_session_action(&c, argc, argv);
	if (!strcmp(argv[0], "reload"))
		return cmd_reload(&c, argc, argv);
	if (!strcmp(argv[0], "policy"))
		return cmd_policy(&c, argc, argv);
	if (!strcmp(argv[0], "approvals"))
		return cmd_approvals(&c, argc, argv);
	if (!strcmp(argv[0], "approve"))
		return cmd_approve(&c, argc, argv);
	if (!strcmp(argv[0], "deny"))
		return cmd_deny(&c, argc, argv);
	if (!strcmp(argv[0], "audit"))
		return cmd_audit(&c, argc, argv);
	fprintf(stderr, "pinfold: unknown command '%s'\n", argv[0]);
	usage(stderr);
	return 2;
}
