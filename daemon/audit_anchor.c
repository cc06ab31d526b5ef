// SPDX-License-Identifier: GPL-2.0-only
/*
 * Anchoring: each signed checkpoint leaves the host's reach as it is
 * made. It always goes to the journal as one structured line; optionally
 * it is appended to anchor_file (a mount of another machine, say) and
 * given on stdin to anchor_command (a remote syslog, a witness). An anchor
 * that fails is logged; the checkpoint itself is in checkpoints.jsonl
 * either way.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/pinfoldd.h"

extern char **environ;

static void anchor_journal(const struct chain_checkpoint *cp)
{
	char b64[64];

	chain_base64_encode(cp->hash, CHAIN_HASH_LEN, b64);
	log_info("checkpoint origin=%s size=%llu head=%s", cp->origin,
		 (unsigned long long)cp->size, b64);
}

static void anchor_to_file(const char *path, const char *note)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	size_t len = strlen(note);

	if (fd < 0 || write(fd, note, len) != (ssize_t)len || fdatasync(fd) < 0)
		log_warn("anchor_file '%s': cannot append the checkpoint: %s", path,
			 strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* One command at a time per slot; a command still running when all slots
 * are taken means the anchor is stuck, which is said rather than piled up. */
static int anchor_slot(struct daemon *d)
{
	for (size_t i = 0; i < sizeof(d->anchor_pids) / sizeof(d->anchor_pids[0]); i++)
		if (d->anchor_pids[i] <= 0)
			return (int)i;
	return -1;
}

/* A note is far below PIPE_BUF, so writing it never blocks the daemon. */
static void anchor_to_command(struct daemon *d, const char *cmd, const char *note)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	posix_spawn_file_actions_t fa;
	int slot = anchor_slot(d), p[2], rc;
	pid_t pid;

	if (slot < 0) {
		log_warn("anchor_command '%s': earlier runs have not finished, skipping a "
			 "checkpoint", cmd);
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		log_warn("anchor_command '%s': pipe: %s", cmd, strerror(errno));
		return;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	if (rc) {
		log_warn("anchor_command '%s': cannot start: %s", cmd, strerror(rc));
	} else {
		d->anchor_pids[slot] = pid;
		if (write(p[1], note, strlen(note)) < 0)
			log_warn("anchor_command '%s': cannot pass the checkpoint: %s", cmd,
				 strerror(errno));
	}
	close(p[1]);
}

void audit_anchor(void *ctx, const char *note, const struct chain_checkpoint *cp)
{
	struct daemon *d = ctx;
	const struct audit_conf *a = &d->policy->conf.audit;

	anchor_journal(cp);
	if (a->anchor_file)
		anchor_to_file(a->anchor_file, note);
	if (a->anchor_command)
		anchor_to_command(d, a->anchor_command, note);
}

void audit_anchor_reap(struct daemon *d)
{
	int status;

	for (size_t i = 0; i < sizeof(d->anchor_pids) / sizeof(d->anchor_pids[0]); i++) {
		if (d->anchor_pids[i] <= 0 || waitpid(d->anchor_pids[i], &status, WNOHANG) <= 0)
			continue;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			log_warn("anchor_command failed (status %d)", status);
		d->anchor_pids[i] = 0;
	}
}
