// SPDX-License-Identifier: GPL-2.0-only
/*
 * chain-verify: check a pinfold audit hash chain, offline. The exit status
 * is the verdict; see usage() and docs/audit-format.md.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "daemon/chain.h"

#define EXIT_TAMPERED 1
#define EXIT_TROUBLE 2

struct options {
	bool quiet;
	bool verbose;
	const char *path;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: chain-verify [-q] [-v] PATH\n"
		   "Verify the pinfold audit hash chain in PATH: a chain file, or a directory\n"
		   "holding " CHAIN_FILE ". Verify a copy, or the log of a stopped daemon.\n"
		   "\n"
		   "  -q  print nothing when the chain verifies\n"
		   "  -v  also print the size, speed and hash of the last record\n"
		   "  -h  print this help\n"
		   "\n"
		   "Exit status: 0 the chain verifies; 1 it was tampered with or is damaged\n"
		   "(the first bad record is named on stderr); 2 usage or I/O error.\n");
}

/* Returns -1 to go on, or the exit status to end with at once. */
static int parse_argv(int argc, char **argv, struct options *o)
{
	int opt;

	opterr = 0; /* one line of our own instead of getopt's */
	while ((opt = getopt(argc, argv, "hqv")) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'q':
			o->quiet = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		default:
			fprintf(stderr,
				"chain-verify: unknown option '-%c' (try 'chain-verify -h')\n",
				optopt);
			return EXIT_TROUBLE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "chain-verify: expected one PATH, got %d (try 'chain-verify -h')\n",
			argc - optind);
		return EXIT_TROUBLE;
	}
	o->path = argv[optind];
	return -1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_details(const struct options *o, const struct verify_result *r, double secs)
{
	char hex[CHAIN_HASH_HEX_LEN + 1];

	chain_hash_hex(r->last_hash, hex);
	printf("chain-verify: %s: %" PRIu64 " bytes in %.3f s (%.1f MB/s), "
	       "record %" PRIu64 " hashes to %s\n",
	       o->path, r->bytes, secs, secs > 0 ? (double)r->bytes / secs / 1e6 : 0.0, r->last_seq,
	       hex);
}

static int run(const struct options *o)
{
	struct verify_result r;
	double start = now();

	chain_verify_path(o->path, &r);
	switch (r.status) {
	case VERIFY_OK:
		if (o->verbose)
			print_details(o, &r, now() - start);
		if (!o->quiet)
			printf("chain-verify: verified %" PRIu64 " records, seq %" PRIu64
			       "..%" PRIu64 "\n",
			       r.records, r.first_seq, r.last_seq);
		return EXIT_SUCCESS;
	case VERIFY_TAMPERED:
		fprintf(stderr, "chain-verify: %s: first bad record seq %" PRIu64 ": %s\n", o->path,
			r.bad_seq, r.reason);
		return EXIT_TAMPERED;
	default:
		fprintf(stderr, "chain-verify: %s\n", r.reason);
		return EXIT_TROUBLE;
	}
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	int rc = parse_argv(argc, argv, &o);

	if (rc >= 0)
		return rc;
	return run(&o);
}
