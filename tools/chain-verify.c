// SPDX-License-Identifier: GPL-2.0-only
/*
 * chain-verify: check a pinfold audit log offline: every segment, every
 * link between them, every checkpoint signature and every anchor; then,
 * on request, show the records that match. The exit status is the
 * verdict; see docs/chain-verify.1.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools/chain-verify.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: chain-verify [-q] [-v] [--key PUBKEY] [--anchor CHECKPOINT]...\n"
		"                    [--agent A] [--session N] [--since T] [--until T]\n"
		"                    [--decision D] [--action A] [--json] [--follow] PATH\n"
		"Verify the pinfold audit log in PATH: a log directory (every segment and\n"
		CHAIN_CHECKPOINTS "), or one chain file.\n"
		"\n"
		"  --key PUBKEY         the log's public key (pinfold audit pubkey), or a file\n"
		"                       holding it: checkpoint signatures are checked\n"
		"  --anchor FILE        signed checkpoints kept elsewhere (repeatable)\n"
		"  --agent, --session, --decision, --action, --since, --until\n"
		"                       after verifying, print the records that match\n"
		"  --json               print matching records as JSON lines\n"
		"  --follow             then watch the live log, checking each new record\n"
		"  -q  print nothing when the log verifies;  -v  size and speed too\n"
		"\n"
		"Exit status: 0 intact; 1 tampered (first bad seq and kind on stderr);\n"
		"2 usage or I/O error; 3 intact but for a torn last record.\n");
}

/* A key given as text, or as a file holding it. */
static int key_option(struct options *o, const char *arg)
{
	char line[512], why[160];
	FILE *f = strchr(arg, '+') ? NULL : fopen(arg, "r");
	const char *text = arg;

	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = 0;
		fclose(f);
		text = line;
	} else if (!strchr(arg, '+')) {
		fprintf(stderr, "chain-verify: --key '%s': %s\n", arg, strerror(errno));
		return -1;
	}
	if (chain_key_parse_public(text, &o->key, why, sizeof(why)) < 0) {
		fprintf(stderr, "chain-verify: --key '%s': %s\n", arg, why);
		return -1;
	}
	return 0;
}

static char *file_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(1 << 20);

	*len = 0;
	if (f && buf)
		*len = fread(buf, 1, (1 << 20) - 1, f);
	if (f)
		fclose(f);
	if (!f) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * The journal's line of a checkpoint, "... checkpoint origin=O size=N
 * head=B64", carries no signature but is an anchor all the same: it left
 * the host when the checkpoint was made. Returns the length of the line,
 * or 0 when it is no such line.
 */
static size_t journal_line(const char *text, size_t len, struct chain_checkpoint *cp)
{
	const char *nl = memchr(text, '\n', len), *o, *z, *h;
	char line[512], b64[64];
	unsigned long long size;
	size_t n = nl ? (size_t)(nl - text) : len;

	if (n >= sizeof(line))
		return 0;
	memcpy(line, text, n);
	line[n] = 0;
	o = strstr(line, "checkpoint origin=");
	z = o ? strstr(o, " size=") : NULL;
	h = z ? strstr(z, " head=") : NULL;
	if (!h || (size_t)(z - o) - 18 >= sizeof(cp->origin) ||
	    sscanf(z, " size=%llu head=%63s", &size, b64) != 2 ||
	    chain_base64_decode(b64, strlen(b64), cp->hash, CHAIN_HASH_LEN) != CHAIN_HASH_LEN)
		return 0;
	memcpy(cp->origin, o + 18, (size_t)(z - o) - 18);
	cp->origin[z - o - 18] = 0;
	cp->size = size;
	return nl ? n + 1 : n;
}

/*
 * Every note in the file becomes an anchor, and so does every journal
 * line of a checkpoint; a note whose signature fails
 * is a forgery, reported here (exit 1), since it is no anchor at all.
 */
static int anchor_option(struct options *o, const char *path)
{
	struct chain_checkpoint cp;
	size_t len, pos = 0, used, before = o->nanchors;
	char why[160], *buf = file_slurp(path, &len);
	int v, rc = -1;

	if (!buf) {
		fprintf(stderr, "chain-verify: --anchor '%s': %s\n", path, strerror(errno));
		return -EXIT_TROUBLE;
	}
	while (pos < len) {
		while (pos < len && buf[pos] == '\n')
			pos++;
		if (pos >= len)
			break;
		used = journal_line(buf + pos, len - pos, &cp);
		if (used) {
			if (o->nanchors == ANCHORS_MAX)
				break;
			o->anchors[o->nanchors++] = cp;
			pos += used;
			continue;
		}
		v = chain_note_parse(buf + pos, len - pos, o->key, &cp, &used, why, sizeof(why));
		if (v == NOTE_BAD_SIGNATURE || v == NOTE_NOT_SIGNED) {
			fprintf(stderr, "chain-verify: %s: first bad record seq %" PRIu64 ": %s: "
				"anchor at tree size %" PRIu64 ": %s\n", path,
				cp.size ? cp.size - 1 : 0,
				v == NOTE_BAD_SIGNATURE ? "forged checkpoint" : "wrong public key",
				cp.size, why);
			rc = -EXIT_TAMPERED;
			goto out;
		}
		if (v == NOTE_MALFORMED) {
			/* Other lines of a journal excerpt are passed over. */
			const char *nl = memchr(buf + pos, '\n', len - pos);

			pos = nl ? (size_t)(nl - buf) + 1 : len;
			continue;
		}
		if (o->nanchors == ANCHORS_MAX) {
			fprintf(stderr, "chain-verify: --anchor '%s': too many anchors\n", path);
			rc = -EXIT_TROUBLE;
			goto out;
		}
		o->anchors[o->nanchors++] = cp;
		pos += used;
	}
	rc = 0;
	if (o->nanchors == before) {
		fprintf(stderr, "chain-verify: --anchor '%s': no checkpoint in it\n", path);
		rc = -EXIT_TROUBLE;
	}
out:
	free(buf);
	return rc;
}

enum { OPT_KEY = 256, OPT_ANCHOR, OPT_AGENT, OPT_SESSION, OPT_SINCE, OPT_UNTIL, OPT_DECISION,
       OPT_ACTION, OPT_JSON, OPT_FOLLOW };

static int filter_option(struct options *o, int opt, const char *arg)
{
	char *end;

	o->f.any = true;
	switch (opt) {
	case OPT_AGENT: o->f.agent = arg; break;
	case OPT_SINCE: o->f.since = arg; break;
	case OPT_UNTIL: o->f.until = arg; break;
	case OPT_DECISION: o->f.decision = arg; break;
	case OPT_ACTION: o->f.action = arg; break;
	case OPT_SESSION:
		o->f.session = strtoll(arg, &end, 10);
		if (*end || o->f.session < 0) {
			fprintf(stderr, "chain-verify: --session '%s': not a session number\n", arg);
			return -1;
		}
		break;
	}
	return 0;
}

/* Returns -1 to go on, or the exit status to end with at once. */
static int parse_argv(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "key", required_argument, NULL, OPT_KEY },
		{ "anchor", required_argument, NULL, OPT_ANCHOR },
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "session", required_argument, NULL, OPT_SESSION },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "decision", required_argument, NULL, OPT_DECISION },
		{ "action", required_argument, NULL, OPT_ACTION },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "follow", no_argument, NULL, OPT_FOLLOW },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *anchor_files[ANCHORS_MAX];
	size_t nanchor_files = 0;
	int opt, rc;

	o->f.session = -1;
	opterr = 0; /* one line of our own instead of getopt's */
	while ((opt = getopt_long(argc, argv, "hqv", longs, NULL)) != -1) {
		switch (opt) {
		case 'h': usage(stdout); return EXIT_SUCCESS;
		case 'q': o->quiet = true; break;
		case 'v': o->verbose = true; break;
		case OPT_KEY:
			if (o->key || key_option(o, optarg) < 0)
				return EXIT_TROUBLE;
			break;
		case OPT_ANCHOR:
			if (nanchor_files == ANCHORS_MAX)
				return EXIT_TROUBLE;
			anchor_files[nanchor_files++] = optarg;
			break;
		case OPT_JSON: o->json = true; break;
		case OPT_FOLLOW: o->follow = true; break;
		case '?':
			fprintf(stderr, "chain-verify: unknown option '%s' (try 'chain-verify -h')\n",
				argv[optind - 1]);
			return EXIT_TROUBLE;
		default:
			if (filter_option(o, opt, optarg) < 0)
				return EXIT_TROUBLE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "chain-verify: expected one PATH, got %d (try 'chain-verify -h')\n",
			argc - optind);
		return EXIT_TROUBLE;
	}
	o->path = argv[optind];
	/* Anchors are read once the key is known, whatever the order given. */
	for (size_t i = 0; i < nanchor_files; i++) {
		rc = anchor_option(o, anchor_files[i]);
		if (rc < 0)
			return -rc;
	}
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
	printf("chain-verify: %s: %" PRIu64 " bytes in %" PRIu64 " file(s) in %.3f s "
		"(%.1f MB/s), record %" PRIu64 " hashes to %s\n",
	       o->path, r->bytes, r->segments, secs,
	       secs > 0 ? (double)r->bytes / secs / 1e6 : 0.0, r->last_seq, hex);
}

static void print_verified(const struct options *o, const struct verify_result *r)
{
	char ckpt[32] = "none";

	if (r->have_checkpoint)
		snprintf(ckpt, sizeof(ckpt), "%" PRIu64, r->checkpoint_seq);
	printf("chain-verify: verified %" PRIu64 " records, seq %" PRIu64 "..%" PRIu64
	       ", last signed checkpoint at seq %s, %" PRIu64 " records after it unsigned\n",
	       r->records, r->first_seq, r->last_seq, ckpt,
	       r->have_checkpoint ? r->last_seq - r->checkpoint_seq : r->records);
	if (r->genesis && !o->key)
		fprintf(stderr, "chain-verify: checkpoint signatures were not checked: "
			"give the log's key with --key\n");
	if (r->anchors)
		fprintf(stderr, "chain-verify: %" PRIu64 " anchor(s) matched\n", r->anchors);
}

static int run(const struct options *o)
{
	struct verify_opts vo = { .key = o->key, .anchors = o->anchors,
				  .nanchors = o->nanchors };
	struct verify_result r;
	double start = now();

	chain_verify(o->path, &vo, &r);
	if (o->verbose && (r.status == VERIFY_OK || r.status == VERIFY_TORN))
		print_details(o, &r, now() - start);
	switch (r.status) {
	case VERIFY_OK:
		if (!o->quiet)
			print_verified(o, &r);
		break;
	case VERIFY_TORN:
		fprintf(stderr, "chain-verify: %s: first bad record seq %" PRIu64 ": torn tail: %s\n",
			o->path, r.bad_seq, r.reason);
		if (!o->quiet)
			print_verified(o, &r);
		break;
	case VERIFY_TAMPERED:
		fprintf(stderr, "chain-verify: %s: first bad record seq %" PRIu64 ": %s: %s\n",
			o->path, r.bad_seq, verify_kind_name(r.kind), r.reason);
		return EXIT_TAMPERED;
	default:
		fprintf(stderr, "chain-verify: %s\n", r.reason);
		return EXIT_TROUBLE;
	}
	if (o->f.any && review_print(o) != EXIT_SUCCESS)
		return EXIT_TROUBLE;
	if (o->follow)
		return review_follow(o, &r);
	return r.status == VERIFY_TORN ? EXIT_TORN : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	struct options *o = calloc(1, sizeof(*o));
	int rc;

	if (!o)
		return EXIT_TROUBLE;
	rc = parse_argv(argc, argv, o);
	if (rc < 0)
		rc = run(o);
	chain_key_free(o->key);
	free(o);
	return rc;
}
