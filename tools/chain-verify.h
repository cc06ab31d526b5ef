/* SPDX-License-Identifier: GPL-2.0-only */
/* chain-verify's parts: options, and the review of verified records. */
#ifndef PINFOLD_CHAIN_VERIFY_TOOL_H
#define PINFOLD_CHAIN_VERIFY_TOOL_H

#include <stdbool.h>

#include "daemon/chain.h"

#define EXIT_TAMPERED 1
#define EXIT_TROUBLE 2
#define EXIT_TORN 3
#define ANCHORS_MAX 256

struct filters {
	const char *agent, *since, *until, *decision, *action;
	long long session;	/* -1: any */
	bool any;		/* some filter given: print matching records */
};

struct options {
	bool quiet, verbose, json, follow;
	const char *path;
	struct chain_key *key;
	struct chain_checkpoint anchors[ANCHORS_MAX];
	size_t nanchors;
	struct filters f;
};

/* chain-verify-review.c: print the records that match, once verified.
 * Returns an exit status. */
int review_print(const struct options *o);
/* Watch the live log from where r ended; returns an exit status. */
int review_follow(const struct options *o, const struct verify_result *r);

#endif
