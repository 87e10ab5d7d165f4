/*
 * Fault injection for crash-safety tests. When the environment variable
 * TURTLE_TEST_CRASH_AT names a point (read once at start-up), reaching that point kills
 * the process with _exit(99) as if the power failed. Points are compiled in always and
 * cost one pointer comparison when unset.
 */
#ifndef TT_UTIL_CRASH_H
#define TT_UTIL_CRASH_H

void tt_crash_init(void);
void tt_crash_point(const char *name);

#endif
