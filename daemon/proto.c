// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/proto.h"

/* The most descriptors one SCM_RIGHTS message may carry (SCM_MAX_FD). */
#define SCM_FDS_LIMIT 253

int proto_send_bytes(int sock, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * SCM_FDS_LIMIT)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nfds < 0 || nfds > SCM_FDS_LIMIT)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}

	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return 0;
}

int proto_send(int sock, json_t *msg, const int *fds, int nfds)
{
	char buf[PROTO_MSG_MAX];
	size_t len;

	len = json_dumpb(msg, buf, sizeof(buf), JSON_COMPACT);
	if (len == 0 || len > sizeof(buf))
		return -EMSGSIZE;
	if (nfds > PROTO_FDS_MAX)
		return -EINVAL;
	return proto_send_bytes(sock, buf, len, fds, nfds);
}

static void close_fds(int *fds, int *nfds)
{
	for (int i = 0; i < *nfds; i++)
		close(fds[i]);
	*nfds = 0;
}

/* Take the descriptors out of the control message, at most PROTO_FDS_MAX;
 * any beyond are closed so a hostile client cannot leak them in. Returns
 * how many came. */
static int take_fds(struct msghdr *mh, int *fds, int *nfds)
{
	int came = 0;

	*nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		int n, *p;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		p = (int *)CMSG_DATA(c);
		came += n;
		for (int i = 0; i < n; i++) {
			if (*nfds < PROTO_FDS_MAX)
				fds[(*nfds)++] = p[i];
			else
				close(p[i]);
		}
	}
	return came;
}

int proto_recv(int sock, json_t **msg, int *fds, int *nfds)
{
	static char buf[PROTO_MSG_MAX + 1];
	union {
		char b[CMSG_SPACE(sizeof(int) * PROTO_FDS_MAX * 2)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { 0 };
	ssize_t n;
	int came;

	*msg = NULL;
	*nfds = 0;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.b;
	mh.msg_controllen = sizeof(ctl.b);
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	came = take_fds(&mh, fds, nfds);
	if (n == 0) {
		close_fds(fds, nfds);
		return -EPIPE;
	}
	if ((size_t)n > PROTO_MSG_MAX || (mh.msg_flags & MSG_TRUNC)) {
		close_fds(fds, nfds);
		return -EMSGSIZE;
	}
	/* The control buffer holds twice PROTO_FDS_MAX: more than that is cut
	 * by the kernel (MSG_CTRUNC), which closes the rest itself. */
	if (came > PROTO_FDS_MAX || (mh.msg_flags & MSG_CTRUNC)) {
		close_fds(fds, nfds);
		return -ETOOMANYREFS;
	}

	if (proto_decode(buf, n, msg)) {
		close_fds(fds, nfds);
		return -EBADMSG;
	}
	return 0;
}

int proto_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}
