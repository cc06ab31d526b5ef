// SPDX-License-Identifier: GPL-2.0-only
/*
 * pinfold idp sync: hands a SCIM export (--scim FILE), or the pages
 * fetched from a SCIM service (--url URL --token-file F), to pinfoldd,
 * which parses and applies it, and prints what changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "policy/scim_fetch.h"
#include "tools/pinfold.h"

static int sync_usage(void)
{
	fprintf(stderr, "usage: pinfold idp sync --scim FILE\n"
			"       pinfold idp sync --url URL --token-file FILE [--ca-file FILE]\n");
	return 2;
}

/* The pages of the service, in a memory file the daemon reads. */
static int fetch_to_memfd(const struct scim_fetch *f)
{
	struct diag dg = { 0 };
	int fd = memfd_create("pinfold-scim", MFD_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "pinfold: memfd_create: %s\n", strerror(errno));
		return -1;
	}
	if (scim_fetch(f, fd, &dg)) {
		for (size_t i = 0; i < dg.n; i++)
			fprintf(stderr, "pinfold: %s\n", dg.msgs[i]);
		diag_free(&dg);
		close(fd);
		return -1;
	}
	return fd;
}

static void print_changes(json_t *reply)
{
	json_t *ch;
	size_t i;

	printf("sync %lld (%s): %zu change(s)\n",
	       (long long)json_integer_value(json_object_get(reply, "sync")),
	       json_is_true(json_object_get(reply, "complete")) ? "complete" : "partial",
	       json_array_size(json_object_get(reply, "changes")));
	json_array_foreach(json_object_get(reply, "changes"), i, ch)
		printf("  %-13s %-24s %s%s%s\n", json_string_value(json_object_get(ch, "event")),
		       json_string_value(json_object_get(ch, "name")) ?: "-",
		       json_string_value(json_object_get(ch, "key")) ?: "",
		       json_object_get(ch, "reason") ? ": " : "",
		       json_string_value(json_object_get(ch, "reason")) ?: "");
	json_array_foreach(json_object_get(reply, "conflicts"), i, ch)
		printf("  conflict      %-24s %s wins over the identity provider's (key %s)\n",
		       json_string_value(json_object_get(ch, "agent")),
		       json_string_value(json_object_get(ch, "file")),
		       json_string_value(json_object_get(ch, "key")));
	json_array_foreach(json_object_get(reply, "invalid"), i, ch)
		printf("  invalid       %-24s %s: %s\n",
		       json_string_value(json_object_get(ch, "name")),
		       json_string_value(json_object_get(ch, "key")),
		       json_string_value(json_object_get(ch, "reason")));
}

/* The daemon's reasons, all of them: the first is the reply's error. */
static void print_errors(json_t *reply)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(reply, "errors"), i, e)
		if (i > 0)
			fprintf(stderr, "pinfold: %s\n", json_string_value(e));
}

static int cmd_sync(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scim", required_argument, NULL, 's' },
		{ "url", required_argument, NULL, 'u' },
		{ "token-file", required_argument, NULL, 't' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ 0 },
	};
	struct scim_fetch f = { .groups = true };
	const char *file = NULL;
	json_t *req, *reply = NULL;
	int o, fd, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': file = optarg; break;
		case 'u': f.url = optarg; break;
		case 't': f.token_file = optarg; break;
		case 'c': f.ca_file = optarg; break;
		default: return sync_usage();
		}
	}
	if (optind != argc || !!file == !!f.url || (f.url && !f.token_file))
		return sync_usage();
	fd = file ? open(file, O_RDONLY | O_CLOEXEC) : fetch_to_memfd(&f);
	if (fd < 0) {
		if (file)
			fprintf(stderr, "pinfold: cannot open '%s': %s\n", file, strerror(errno));
		return EXIT_PINFOLD;
	}
	req = json_pack("{s:s,s:s}", "verb", "idp-sync", "source", file ? file : f.url);
	r = cli_request_full(c, req, &fd, 1, &reply);
	json_decref(req);
	close(fd);
	if (r) {
		print_errors(reply);
		json_decref(reply);
		return EXIT_PINFOLD;
	}
	print_changes(reply);
	json_decref(reply);
	return 0;
}

int cmd_idp(struct cli *c, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "sync"))
		return cmd_sync(c, argc - 1, argv + 1);
	return sync_usage();
}
