// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fetching Users and Groups from a SCIM service over HTTPS with libcurl,
 * page by page (RFC 7644 3.4.2.4: startIndex, count, totalResults). The
 * pages are written one after another to a descriptor, as they came, for
 * scim_parse() to read: the fetch looks only at the paging numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "policy/scim_fetch.h"

#define PAGE_MAX (16u << 20)
#define PAGES_MAX 10000
#define PAGE_COUNT 200
#define TOKEN_MAX 8192

struct page {
	char *buf;
	size_t len;
	bool too_large;
};

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
	struct page *pg = user;
	size_t add = size * n;
	char *grown;

	if (pg->len + add > PAGE_MAX) {
		pg->too_large = true;
		return 0;
	}
	grown = realloc(pg->buf, pg->len + add + 1);
	if (!grown)
		return 0;
	memcpy(grown + pg->len, p, add);
	pg->buf = grown;
	pg->len += add;
	pg->buf[pg->len] = 0;
	return add;
}

/* The bearer token: the file's first line. */
static int read_token(const char *path, char *out, size_t outlen, struct diag *d)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0) {
		diag_add(d, "cannot read token file '%s': %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, out, outlen - 1);
	close(fd);
	if (n <= 0) {
		diag_add(d, "token file '%s' is empty", path);
		return -1;
	}
	out[n] = 0;
	out[strcspn(out, "\r\n")] = 0;
	return 0;
}

static int get_page(CURL *h, const char *url, struct page *pg, struct diag *d)
{
	long status = 0;
	CURLcode rc;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, pg);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		diag_add(d, "%s: %s", url, pg->too_large ? "page larger than 16 MiB"
							    : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		diag_add(d, "%s: HTTP status %ld", url, status);
		return -1;
	}
	return 0;
}

/* The paging numbers of one page; a page that does not give them ends
 * the listing, and scim_parse() says what is wrong with it. */
static bool page_next(const struct page *pg, long *start)
{
	json_t *m = json_loadb(pg->buf, pg->len, 0, NULL);
	json_int_t total = json_integer_value(json_object_get(m, "totalResults"));
	size_t got = json_array_size(json_object_get(m, "Resources"));
	bool more;

	*start += (long)got;
	more = m && got > 0 && *start <= total;
	json_decref(m);
	return more;
}

static int fetch_listing(CURL *h, const char *base, const char *what, int out, struct diag *d)
{
	long start = 1;
	char url[4200];

	for (int n = 0; n < PAGES_MAX; n++) {
		struct page pg = { 0 };
		bool more;

		snprintf(url, sizeof(url), "%s/%s?startIndex=%ld&count=%d", base, what, start,
			 PAGE_COUNT);
		if (get_page(h, url, &pg, d) < 0) {
			free(pg.buf);
			return -1;
		}
		more = page_next(&pg, &start);
		if (write(out, pg.buf, pg.len) != (ssize_t)pg.len || write(out, "\n", 1) != 1) {
			diag_add(d, "cannot keep the page of '%s': %s", url, strerror(errno));
			free(pg.buf);
			return -1;
		}
		free(pg.buf);
		if (!more)
			return 0;
	}
	diag_add(d, "%s/%s: more than %d pages", base, what, PAGES_MAX);
	return -1;
}

static CURL *handle_new(const struct scim_fetch *f, struct curl_slist **hdrs, struct diag *d)
{
	char token[TOKEN_MAX], auth[TOKEN_MAX + 32];
	CURL *h;

	if (read_token(f->token_file, token, sizeof(token), d) < 0)
		return NULL;
	h = curl_easy_init();
	if (!h) {
		diag_add(d, "libcurl cannot start a transfer");
		return NULL;
	}
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	*hdrs = curl_slist_append(NULL, auth);
	*hdrs = curl_slist_append(*hdrs, "Accept: application/scim+json");
	explicit_bzero(token, sizeof(token));
	explicit_bzero(auth, sizeof(auth));
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	if (f->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, f->ca_file);
	return h;
}

int scim_fetch(const struct scim_fetch *f, int out, struct diag *d)
{
	struct curl_slist *hdrs = NULL;
	char base[4096];
	CURL *h;
	int rc;

	if (strncmp(f->url, "https://", 8)) {
		diag_add(d, "'%s': only https:// URLs are fetched", f->url);
		return -1;
	}
	snprintf(base, sizeof(base), "%s", f->url);
	base[strcspn(base, "?")] = 0;
	while (strlen(base) > 8 && base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = 0;
	h = handle_new(f, &hdrs, d);
	if (!h)
		return -1;
	rc = fetch_listing(h, base, "Users", out, d);
	if (!rc && f->groups)
		rc = fetch_listing(h, base, "Groups", out, d);
	curl_easy_cleanup(h);
	/* The header list holds the token too. */
	for (struct curl_slist *s = hdrs; s; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_slist_free_all(hdrs);
	return rc;
}
