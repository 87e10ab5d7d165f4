/*
 * Logging to stderr with syslog-style priority prefixes ("<3>"), which journald turns
 * into priorities when the daemon runs under systemd. Never pass key material, PINs,
 * tokens or auth bytes to these functions.
 */
#ifndef TT_UTIL_LOG_H
#define TT_UTIL_LOG_H

enum tt_log_level {
	TT_LOG_ERROR = 3,
	TT_LOG_WARN = 4,
	TT_LOG_INFO = 6,
	TT_LOG_DEBUG = 7,
};

void tt_log_set_level(enum tt_log_level lvl);
enum tt_log_level tt_log_get_level(void);
/* Parse "error|warn|info|debug"; 0 or TT_ERR_PARSE. */
int tt_log_level_parse(const char *s, enum tt_log_level *out);
void tt_log(enum tt_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tt_err_log(...)   tt_log(TT_LOG_ERROR, __VA_ARGS__)
#define tt_warn(...)      tt_log(TT_LOG_WARN, __VA_ARGS__)
#define tt_info(...)      tt_log(TT_LOG_INFO, __VA_ARGS__)
#define tt_debug(...)     tt_log(TT_LOG_DEBUG, __VA_ARGS__)

#endif
