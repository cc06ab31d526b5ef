// SPDX-License-Identifier: GPL-2.0-only
/* pinfold audit pubkey: the public key that verifies the log's checkpoints. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "daemon/chain.h"
#include "tools/pinfold.h"

static int audit_pubkey(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ 0 },
	};
	const char *state = "/var/lib/pinfold";
	char path[PATH_MAX], err[512], vkey[512];
	struct chain_key *k;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o != 's') {
			fprintf(stderr, "usage: pinfold audit pubkey [--state-dir DIR]\n");
			return 2;
		}
		state = optarg;
	}
	snprintf(path, sizeof(path), "%s/keys/audit.key", state);
	if (chain_key_load(path, &k, err, sizeof(err)) < 0) {
		fprintf(stderr, "pinfold: %s\n", err);
		return EXIT_PINFOLD;
	}
	chain_key_public(k, vkey, sizeof(vkey));
	chain_key_free(k);
	printf("%s\n", vkey);
	return 0;
}

int cmd_audit(struct cli *c, int argc, char **argv)
{
	(void)c;
	if (argc >= 2 && !strcmp(argv[1], "pubkey"))
		return audit_pubkey(argc - 1, argv + 1);
	fprintf(stderr, "usage: pinfold audit pubkey [--state-dir DIR]\n"
			"  prints the public key that verifies the audit log's checkpoints\n"
			"  (give it to chain-verify --key)\n");
	return 2;
}
