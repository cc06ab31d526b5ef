/* SPDX-License-Identifier: GPL-2.0-only */
/* Reading one policy file whole, with the checks a policy file needs. */
#ifndef PINFOLD_READFILE_H
#define PINFOLD_READFILE_H

#include <stddef.h>

/* Returned for a file that is not a regular file (directories give
 * -EISDIR), and for one larger than the cap. */
#define READFILE_NOT_REGULAR (-10001)
#define READFILE_TOO_LARGE (-10002)

/*
 * Read name (relative to dirfd) whole into a new buffer *buf of *len
 * bytes, at most max. Opens without blocking on a FIFO and without
 * following into a controlling tty. Returns 0, or a negative errno or one
 * of the codes above.
 */
int readfile_at(int dirfd, const char *name, size_t max, char **buf,
		size_t *len);

#endif
