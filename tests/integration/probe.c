/*
 * probe: performs one action and reports how the kernel answered, for the
 * integration tests and the demo.
 *
 * Each action prints one line on stdout: "ok" (exit 0) or the errno's name,
 * such as "EACCES" (exit 1). A usage error prints "EINVAL" and exits 2, so
 * a test that calls probe wrongly is not taken for a refusal.
 *
 *   probe read PATH              open read-only and read
 *   probe write PATH             create or truncate, write one line
 *   probe connect ADDR PORT      TCP connect, 2 s timeout; ADDR is an IPv4
 *                                or IPv6 literal (also ::ffff:a.b.c.d)
 *   probe udp ADDR PORT          one unconnected sendto
 *   probe exec PATH [ARG...]     execv; only a failure is reported
 *   probe report ACTION...       ACTION, then this process's cgroup v2 line
 *   probe doublefork FILE ACTION...
 *                                a grandchild in its own session runs
 *                                "report ACTION..." with stdout into FILE;
 *                                prints FILE once the grandchild is done
 *   probe ids               prints "uid U euid E"
 *   probe cgroup                 the "0::" line of /proc/self/cgroup
 *   probe sleep SECONDS          then "ok"
 *   probe openstorm DIR N        opens DIR/f0 .. DIR/f{N-1}; "ok N"
 *   probe connectstorm N         N TCP connects to 127.0.0.1 ports
 *                                20000 + i % 40000; "ok N"
 *   probe connectfan N ADDR PORT N children at once each connect to
 *                                ADDR:PORT+i; each prints "PORT RESULT",
 *                                then "ok N" once all have ended
 *   probe execrace N A B ARG...  N times, a child execs the path in a
 *                                buffer that a second thread keeps
 *                                switching between A and B; prints
 *                                "ok N" once every child has ended
 *   probe control SOCKET VERB    one control request {"verb": VERB}; "ok",
 *                                or "refused: ERROR" (exit 1)
 *   probe unshare                unshare(CLONE_NEWUSER), which an unprivileged
 *                                process may do unless seccomp refuses it
 *
 * ECONNREFUSED from connect means the kernel let the connect out.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strerrorname_np */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define CONNECT_TIMEOUT_MS 2000
#define DOUBLEFORK_TIMEOUT_MS 5000
#define EXIT_USAGE 2

struct action {
	const char *name;
	int min_args; /* arguments after the action name */
	int max_args; /* -1: any number */
	int (*run)(char **argv, int argc);
};

static int run_action(char **argv, int argc);

static int usage(const char *why)
{
	fprintf(stderr, "probe: %s\n", why);
	printf("EINVAL\n");
	return EXIT_USAGE;
}

static int report_errno(int err)
{
	const char *name = strerrorname_np(err);

	if (name)
		printf("%s\n", name);
	else
		printf("E%d\n", err);
	return 1;
}

static int report_ok(void)
{
	printf("ok\n");
	return 0;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Accepts "1.2.3.4", "::1", "::ffff:1.2.3.4" and "[::1]". */
static int parse_sockaddr(const char *addr, const char *port, struct sockaddr_storage *ss,
			  socklen_t *len)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(addr);
	long p;

	if (parse_long(port, 0, 65535, &p) < 0 || n >= sizeof(buf))
		return -1;
	if (n > 2 && addr[0] == '[' && addr[n - 1] == ']') {
		memcpy(buf, addr + 1, n - 2);
		buf[n - 2] = '\0';
	} else {
		memcpy(buf, addr, n + 1);
	}

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)p);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)p);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* Returns 0 or a positive errno. */
static int tcp_connect(const struct sockaddr_storage *ss, socklen_t len, int timeout_ms)
{
	struct pollfd pfd;
	socklen_t errlen = sizeof(int);
	int fd, err = 0, r;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;

	if (connect(fd, (const struct sockaddr *)ss, len) == 0)
		goto out;
	if (errno != EINPROGRESS) {
		err = errno;
		goto out;
	}

	pfd.fd = fd;
	pfd.events = POLLOUT;
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		err = errno;
	else if (r == 0)
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
		err = errno;
out:
	close(fd);
	return err;
}

static int act_read(char **argv, int argc)
{
	char buf[4096];
	int fd;

	(void)argc;
	fd = open(argv[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return report_errno(errno);
	if (read(fd, buf, sizeof(buf)) < 0) {
		int err = errno;

		close(fd);
		return report_errno(err);
	}
	close(fd);
	return report_ok();
}

static int act_write(char **argv, int argc)
{
	static const char line[] = "written by probe\n";
	ssize_t n;
	int fd;

	(void)argc;
	fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return report_errno(errno);
	n = write(fd, line, sizeof(line) - 1);
	if (n < 0) {
		int err = errno;

		close(fd);
		return report_errno(err);
	}
	if (close(fd) < 0)
		return report_errno(errno);
	if ((size_t)n != sizeof(line) - 1)
		return report_errno(EIO);
	return report_ok();
}

static int act_connect(char **argv, int argc)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int err;

	(void)argc;
	if (parse_sockaddr(argv[0], argv[1], &ss, &len) < 0)
		return usage("connect: bad address or port");
	err = tcp_connect(&ss, len, CONNECT_TIMEOUT_MS);
	return err ? report_errno(err) : report_ok();
}

static int act_udp(char **argv, int argc)
{
	static const char msg[] = "probe\n";
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, err = 0;

	(void)argc;
	if (parse_sockaddr(argv[0], argv[1], &ss, &len) < 0)
		return usage("udp: bad address or port");
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return report_errno(errno);
	if (sendto(fd, msg, sizeof(msg) - 1, 0, (struct sockaddr *)&ss, len) < 0)
		err = errno;
	close(fd);
	return err ? report_errno(err) : report_ok();
}

static int act_exec(char **argv, int argc)
{
	(void)argc;
	fflush(stdout);
	execv(argv[0], argv);
	return report_errno(errno);
}

/* Copies the cgroup v2 line ("0::/path") into buf, without the newline. */
static int read_cgroup_line(char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	int err = ENOENT;

	if (!f)
		return errno;
	while (fgets(buf, (int)size, f)) {
		if (strncmp(buf, "0::", 3) == 0) {
			buf[strcspn(buf, "\n")] = '\0';
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

static int act_cgroup(char **argv, int argc)
{
	char line[PATH_MAX + 8];
	int err;

	(void)argv;
	(void)argc;
	err = read_cgroup_line(line, sizeof(line));
	if (err)
		return report_errno(err);
	printf("%s\n", line);
	return 0;
}

static int act_unshare(char **argv, int argc)
{
	(void)argv;
	(void)argc;
	return unshare(CLONE_NEWUSER) ? report_errno(errno) : report_ok();
}

static int act_report(char **argv, int argc)
{
	char line[PATH_MAX + 8];
	int rc, err;

	rc = run_action(argv, argc);
	err = read_cgroup_line(line, sizeof(line));
	if (err)
		report_errno(err);
	else
		printf("%s\n", line);
	return rc;
}

/* Runs in the grandchild; never returns. */
static void doublefork_grandchild(const char *file, char **argv, int argc)
{
	char **args = calloc((size_t)argc + 3, sizeof(*args));
	int out, null;

	out = open(file, O_WRONLY | O_APPEND | O_CLOEXEC);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (out < 0 || null < 0 || !args)
		_exit(1);

	/* The caller's stdout must not stay open here, or a shell that reads
	 * it would wait for this process as well. */
	if (dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(null, 2) < 0)
		_exit(1);

	args[0] = "probe";
	args[1] = "report";
	memcpy(args + 2, argv, (size_t)argc * sizeof(*args));
	execv("/proc/self/exe", args);
	report_errno(errno);
	fflush(stdout);
	_exit(1);
}

/* Waits until every copy of fd's write end is closed, at most timeout_ms. */
static int wait_for_eof(int fd, int timeout_ms)
{
	struct timespec start, now;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		long spent;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &now);
		spent = (now.tv_sec - start.tv_sec) * 1000 +
			(now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent >= timeout_ms)
			return -1;
		r = poll(&pfd, 1, (int)(timeout_ms - spent));
		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0 && read(fd, &c, 1) == 0)
			return 0;
	}
}

static int print_file(const char *file, int *first_ok)
{
	char line[PATH_MAX + 8];
	FILE *f = fopen(file, "re");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (n++ == 0)
			*first_ok = strcmp(line, "ok\n") == 0;
		fputs(line, stdout);
	}
	fclose(f);
	return n;
}

/*
 * The grandchild is reparented away from this process and sits in a new
 * session, which is how a process tries to leave its supervisor. Its end of
 * the "done" pipe survives its exec, so EOF on the pipe says that it and
 * everything it started have exited.
 */
static int act_doublefork(char **argv, int argc)
{
	const char *file = argv[0];
	int done[2], fd, status, first_ok = 0;
	pid_t child;

	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return report_errno(errno);
	close(fd);
	if (pipe(done) < 0)
		return report_errno(errno);

	fflush(stdout);
	child = fork();
	if (child < 0)
		return report_errno(errno);
	if (child == 0) {
		pid_t grandchild;

		close(done[0]);
		if (setsid() < 0)
			_exit(1);
		grandchild = fork();
		if (grandchild == 0)
			doublefork_grandchild(file, argv + 1, argc - 1);
		_exit(grandchild < 0);
	}

	close(done[1]);
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return report_errno(ECHILD);
	if (wait_for_eof(done[0], DOUBLEFORK_TIMEOUT_MS) < 0) {
		print_file(file, &first_ok);
		return report_errno(ETIMEDOUT);
	}
	close(done[0]);

	if (print_file(file, &first_ok) <= 0)
		return report_errno(ENODATA);
	return first_ok ? 0 : 1;
}

static int act_sleep(char **argv, int argc)
{
	struct timespec ts;
	char *end;
	double s;

	(void)argc;
	errno = 0;
	s = strtod(argv[0], &end);
	if (errno || end == argv[0] || *end || s < 0 || s > 86400)
		return usage("sleep: bad number of seconds");
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return report_ok();
}

/* Every name is new, so no cache or de-duplication can hide an open. */
static int act_openstorm(char **argv, int argc)
{
	char path[PATH_MAX];
	long n, i;

	(void)argc;
	if (parse_long(argv[1], 0, 100000000, &n) < 0)
		return usage("openstorm: bad count");
	for (i = 0; i < n; i++) {
		int fd;

		if (snprintf(path, sizeof(path), "%s/f%ld", argv[0], i) >= (int)sizeof(path))
			return report_errno(ENAMETOOLONG);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
	}
	printf("ok %ld\n", n);
	return 0;
}

static int act_connectstorm(char **argv, int argc)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	long n, i;

	(void)argc;
	if (parse_long(argv[0], 0, 100000000, &n) < 0)
		return usage("connectstorm: bad count");
	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < n; i++) {
		sin->sin_port = htons((unsigned short)(20000 + i % 40000));
		tcp_connect(&ss, sizeof(*sin), CONNECT_TIMEOUT_MS);
	}
	printf("ok %ld\n", n);
	return 0;
}

/* Real and effective uid: what a setuid bit would change. */
static int act_ids(char **argv, int argc)
{
	(void)argv;
	(void)argc;
	printf("uid %u euid %u\n", (unsigned)getuid(), (unsigned)geteuid());
	return 0;
}

static int act_connectfan(char **argv, int argc)
{
	struct sockaddr_storage ss;
	socklen_t len;
	long n, port;

	(void)argc;
	if (parse_long(argv[0], 1, 4096, &n) < 0 || parse_long(argv[2], 1, 65535, &port) < 0 ||
	    port + n > 65536)
		return usage("connectfan: bad count or port");
	fflush(stdout);
	for (long i = 0; i < n; i++) {
		char p[8];
		pid_t pid;

		snprintf(p, sizeof(p), "%ld", port + i);
		if (parse_sockaddr(argv[1], p, &ss, &len) < 0)
			return usage("connectfan: bad address");
		pid = fork();
		if (pid < 0)
			return report_errno(errno);
		if (pid == 0) {
			int err = tcp_connect(&ss, len, CONNECT_TIMEOUT_MS);
			const char *name = err ? strerrorname_np(err) : "ok";

			printf("%s %s\n", p, name ? name : "error");
			fflush(stdout);
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	printf("ok %ld\n", n);
	return 0;
}

struct race {
	char path[PATH_MAX];
	const char *a, *b;
	atomic_int stop;
};

static void *race_flip(void *arg)
{
	struct race *r = arg;

	for (unsigned long i = 0; !atomic_load(&r->stop); i++)
		strcpy(r->path, i & 1 ? r->b : r->a);
	return NULL;
}

/* One child: the exec's path argument changes under it. */
static void race_child(const char *a, const char *b, char **args)
{
	static struct race r;
	pthread_t t;

	r.a = a;
	r.b = b;
	strcpy(r.path, a);
	pthread_create(&t, NULL, race_flip, &r);
	args[0] = r.path;
	execv(r.path, args);
	_exit(127);
}

static int act_execrace(char **argv, int argc)
{
	long n;

	if (parse_long(argv[0], 1, 10000, &n) < 0 || strlen(argv[1]) >= PATH_MAX ||
	    strlen(argv[2]) >= PATH_MAX)
		return usage("execrace: bad count or path");
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return report_errno(errno);
		if (pid == 0)
			race_child(argv[1], argv[2], argv + 2);
		waitpid(pid, NULL, 0);
	}
	(void)argc;
	printf("ok %ld\n", n);
	return 0;
}

/* One request on pinfoldd's control socket, as any local process could. */
static int act_control(char **argv, int argc)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd p = { .events = POLLIN };
	char reply[65536];
	json_t *req, *m;
	ssize_t n;
	int ok;

	(void)argc;
	if (strlen(argv[0]) >= sizeof(sa.sun_path))
		return usage("control: socket path too long");
	strcpy(sa.sun_path, argv[0]);
	p.fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (p.fd < 0 || connect(p.fd, (struct sockaddr *)&sa, sizeof(sa)))
		return report_errno(errno);
	req = json_pack("{s:s}", "verb", argv[1]);
	n = json_dumpb(req, reply, sizeof(reply), JSON_COMPACT);
	json_decref(req);
	if (send(p.fd, reply, (size_t)n, 0) < 0)
		return report_errno(errno);
	if (poll(&p, 1, 5000) != 1)
		return report_errno(ETIMEDOUT);
	n = recv(p.fd, reply, sizeof(reply), 0);
	if (n <= 0)
		return report_errno(n < 0 ? errno : EPIPE);
	m = json_loadb(reply, (size_t)n, 0, NULL);
	ok = json_is_true(json_object_get(m, "ok"));
	if (ok)
		printf("ok\n");
	else
		printf("refused: %s\n", json_string_value(json_object_get(m, "error")) ?: "?");
	json_decref(m);
	close(p.fd);
	return ok ? 0 : 1;
}

static const struct action actions[] = {
	{ "control", 2, 2, act_control },
	{ "ids", 0, 0, act_ids },
	{ "read", 1, 1, act_read },
	{ "write", 1, 1, act_write },
	{ "connect", 2, 2, act_connect },
	{ "udp", 2, 2, act_udp },
	{ "exec", 1, -1, act_exec },
	{ "report", 1, -1, act_report },
	{ "doublefork", 2, -1, act_doublefork },
	{ "cgroup", 0, 0, act_cgroup },
	{ "unshare", 0, 0, act_unshare },
	{ "sleep", 1, 1, act_sleep },
	{ "openstorm", 2, 2, act_openstorm },
	{ "connectstorm", 1, 1, act_connectstorm },
	{ "execrace", 3, -1, act_execrace },
	{ "connectfan", 3, 3, act_connectfan },
};

/* argv[0] is the action name; argv[argc] is NULL. */
static int run_action(char **argv, int argc)
{
	size_t i;

	if (argc < 1)
		return usage("no action given");
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		const struct action *a = &actions[i];

		if (strcmp(argv[0], a->name) != 0)
			continue;
		if (argc - 1 < a->min_args || (a->max_args >= 0 && argc - 1 > a->max_args))
			return usage("wrong number of arguments");
		return a->run(argv + 1, argc - 1);
	}
	return usage("unknown action");
}

int main(int argc, char **argv)
{
	int rc = run_action(argv + 1, argc - 1);

	fflush(stdout);
	return rc;
}
