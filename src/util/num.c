#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "turtle/error.h"
#include "util/num.h"

static int
parse_u64_raw(const char *s, const char **end, uint64_t *out)
{
	unsigned long long v;
	char *e;

	if (s == NULL || *s == '\0' || !isdigit((unsigned char)*s))
		return TT_ERR_PARSE;
	errno = 0;
	v = strtoull(s, &e, 0);
	if (errno != 0 || e == s)
		return TT_ERR_PARSE;
	*end = e;
	*out = v;
	return 0;
}

int
tt_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *e;
	uint64_t v;

	if (parse_u64_raw(s, &e, &v) != 0 || *e != '\0' || v < min || v > max)
		return TT_ERR_PARSE;
	*out = v;
	return 0;
}

int
tt_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;
	int r;

	if ((r = tt_parse_u64(s, min, max, &v)) != 0)
		return r;
	*out = (uint32_t)v;
	return 0;
}

int
tt_parse_size(const char *s, uint64_t max, uint64_t *out)
{
	const char *e;
	uint64_t v, mul = 1;

	if (parse_u64_raw(s, &e, &v) != 0)
		return TT_ERR_PARSE;
	if (*e != '\0') {
		switch (*e) {
		case 'k': case 'K': mul = 1024ULL; break;
		case 'm': case 'M': mul = 1024ULL * 1024; break;
		case 'g': case 'G': mul = 1024ULL * 1024 * 1024; break;
		default: return TT_ERR_PARSE;
		}
		if (e[1] != '\0' && !((e[1] == 'i' || e[1] == 'B') && e[2] == '\0') &&
		    !(e[1] == 'i' && e[2] == 'B' && e[3] == '\0'))
			return TT_ERR_PARSE;
	}
	if (v > UINT64_MAX / mul || v * mul > max)
		return TT_ERR_PARSE;
	*out = v * mul;
	return 0;
}
