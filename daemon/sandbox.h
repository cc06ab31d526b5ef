/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Applying a session's static restrictions in the process they bind: the
 * first process of a `pinfold run` session, or the login process that
 * pam_pinfold.so runs in. Shared by pinfoldd and the PAM module; the
 * daemon builds what is applied (sandbox.c), the process applies it.
 */
#ifndef PINFOLD_SANDBOX_H
#define PINFOLD_SANDBOX_H

#include <stdbool.h>
#include <linux/filter.h>

/* The descriptor a run session's first process sends its listener over. */
#define LISTENER_SOCK_FD 111

struct sandbox_filter {
	struct sock_fprog prog;
	bool notify;		/* load with a listener, and send it */
};

/* Reads the seccomp program sandbox_filter_fd exported into fd. Returns 0
 * or a negative errno. */
int sandbox_filter_load(int fd, bool notify, struct sandbox_filter *f);
void sandbox_filter_free(struct sandbox_filter *f);

/*
 * In the process to restrict: no_new_privs, then Landlock (ruleset_fd),
 * then the seccomp filter. *listener is the filter's listener, or -1
 * without one. Returns 0, or a negative errno with *step naming the layer
 * that could not be applied ("no_new_privs", "landlock", "seccomp").
 */
int sandbox_restrict(int ruleset_fd, const struct sandbox_filter *f, int *listener,
		     const char **step);

/* sandbox_restrict in a run session's first process; with a listener,
 * sends it over notify_sock (SCM_RIGHTS) and closes both. */
int sandbox_apply_child(int ruleset_fd, const struct sandbox_filter *f, int notify_sock);

#endif
