#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/crash.h"
#include "util/log.h"

static const char *crash_at;

void
tt_crash_init(void)
{
	crash_at = getenv("TURTLE_TEST_CRASH_AT");
	if (crash_at != NULL && *crash_at == '\0')
		crash_at = NULL;
}

void
tt_crash_point(const char *name)
{
	if (crash_at != NULL && strcmp(crash_at, name) == 0) {
		tt_warn("crash injected at %s", name);
		_exit(99);
	}
}
