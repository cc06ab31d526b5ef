/* SPDX-License-Identifier: GPL-2.0-only */
/* Fetching a SCIM service's Users (and Groups) over HTTPS, every page. */
#ifndef PINFOLD_SCIM_FETCH_H
#define PINFOLD_SCIM_FETCH_H

#include <stdbool.h>

#include "policy/policy.h"

struct scim_fetch {
	const char *url;	/* base URL, https:// only */
	const char *token_file;	/* bearer token, first line */
	const char *ca_file;	/* NULL: the system's CA bundle */
	bool groups;		/* fetch /Groups too */
};

/*
 * GET URL/Users (then URL/Groups) page by page, following startIndex
 * until totalResults, and write each page's body, as it came, followed
 * by a newline, to out. Returns 0, or -1 with the reason in d (the URL
 * and the HTTP status or libcurl's error); pages already written stay.
 */
int scim_fetch(const struct scim_fetch *f, int out, struct diag *d);

#endif
