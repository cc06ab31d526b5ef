// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/readfile.h"

/* Read until EOF or until more than max bytes are in; *len says which. */
static int read_all(int fd, size_t max, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = NULL, *b;
	ssize_t r;

	for (;;) {
		if (!buf || n == cap) {
			cap = buf ? cap * 2 : cap;
			b = realloc(buf, cap);
			if (!b) {
				free(buf);
				return -ENOMEM;
			}
			buf = b;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return -errno;
		}
		n += (size_t)r;
		if (r == 0 || n > max)
			break;
	}
	*out = buf;
	*len = n;
	return 0;
}

int readfile_at(int dirfd, const char *name, size_t max, char **buf,
		size_t *len)
{
	struct stat st;
	int fd, rc;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (S_ISDIR(st.st_mode))
		rc = -EISDIR;
	else if (!S_ISREG(st.st_mode))
		rc = READFILE_NOT_REGULAR;
	else
		rc = read_all(fd, max, buf, len);
	close(fd);
	if (rc == 0 && *len > max) {
		free(*buf);
		rc = READFILE_TOO_LARGE;
	}
	return rc;
}
