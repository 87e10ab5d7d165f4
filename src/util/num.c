#include <stddef.h>

#include "turtle/error.h"
#include "util/num.h"

/* Decimal digits from s up to the first non-digit; *end points there. Refuses an empty
 * digit run, a leading zero followed by more digits, and overflow. */
static int
parse_dec_prefix(const char *s, const char **end, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (s == NULL || *s < '0' || *s > '9')
		return TT_ERR_PARSE;
	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		return TT_ERR_PARSE;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return TT_ERR_PARSE;
		v = v * 10 + d;
	}
	*end = p;
	*out = v;
	return 0;
}

int
tt_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *e;
	uint64_t v;

	if (parse_dec_prefix(s, &e, &v) != 0 || *e != '\0' || v < min || v > max)
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

	if (parse_dec_prefix(s, &e, &v) != 0)
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

int
tt_parse_mode(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	size_t n = 0;

	if (s == NULL)
		return TT_ERR_PARSE;
	for (; s[n] != '\0'; n++) {
		if (n == 4 || s[n] < '0' || s[n] > '7')
			return TT_ERR_PARSE;
		v = v * 8 + (uint32_t)(s[n] - '0');
	}
	if (n == 0 || v > 0777)
		return TT_ERR_PARSE;
	*out = v;
	return 0;
}
