#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "turtle/error.h"
#include "util/log.h"

static enum tt_log_level log_level = TT_LOG_INFO;

void
tt_log_set_level(enum tt_log_level lvl)
{
	__atomic_store_n(&log_level, lvl, __ATOMIC_RELAXED);
}

enum tt_log_level
tt_log_get_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int
tt_log_level_parse(const char *s, enum tt_log_level *out)
{
	static const struct { const char *n; enum tt_log_level l; } names[] = {
		{ "error", TT_LOG_ERROR }, { "warn", TT_LOG_WARN },
		{ "info", TT_LOG_INFO }, { "debug", TT_LOG_DEBUG },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].n) == 0) {
			*out = names[i].l;
			return 0;
		}
	}
	return TT_ERR_PARSE;
}

void
tt_log(enum tt_log_level lvl, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (lvl > tt_log_get_level())
		return;
	/* One write per line so concurrent threads do not interleave. */
	n = snprintf(line, sizeof(line), "<%d>", (int)lvl);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strncat(line, "\n", sizeof(line) - strlen(line) - 1);
	fputs(line, stderr);
}
