// SPDX-License-Identifier: GPL-2.0-only
/* Collected "file:line: reason" messages. */
#include <stdio.h>
#include <stdlib.h>

#include "policy/policy.h"

static int diag_reserve(struct diag *d)
{
	size_t cap;
	char **msgs;

	if (d->n < d->cap)
		return 0;
	cap = d->cap ? d->cap * 2 : 8;
	msgs = realloc(d->msgs, cap * sizeof(*msgs));
	if (!msgs)
		return -1;
	d->msgs = msgs;
	d->cap = cap;
	return 0;
}

void diag_vadd(struct diag *d, const char *fmt, va_list ap)
{
	char *msg;

	if (!d || diag_reserve(d) < 0)
		return;
	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	d->msgs[d->n++] = msg;
}

void diag_add(struct diag *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, fmt, ap);
	va_end(ap);
}

void diag_free(struct diag *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++)
		free(d->msgs[i]);
	free(d->msgs);
	d->msgs = NULL;
	d->n = 0;
	d->cap = 0;
}
