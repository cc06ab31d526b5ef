// SPDX-License-Identifier: GPL-2.0-only
/* Log lines go to stderr, which journald collects under systemd. */
#include <stdarg.h>
#include <stdio.h>

#include "daemon/pinfoldd.h"

int log_verbose;

static void log_line(const char *level, const char *fmt, va_list ap)
{
	char buf[2048];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (level)
		fprintf(stderr, "pinfoldd: %s: %s\n", level, buf);
	else
		fprintf(stderr, "pinfoldd: %s\n", buf);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("error", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line("warning", fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(NULL, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_line(NULL, fmt, ap);
	va_end(ap);
}
