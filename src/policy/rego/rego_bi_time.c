/*
 * Built-ins: time.* (Go's reference-time layouts, IANA zones read from the system's
 * TZif files). Timestamps are int64 nanoseconds since the Unix epoch, as in OPA.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rego_eval.h"
#include "rego_bi.h"

#define A (rg_ctx_arena(c))
#define NS 1000000000LL

static const char *const months[] = { "January", "February", "March", "April", "May", "June",
	"July", "August", "September", "October", "November", "December" };
static const char *const wdays[] = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday",
	"Friday", "Saturday" };

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm) */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* ---- zones ---- */

struct zone {
	char name[64];
	int32_t fixed; /* offset when there is no file (UTC) */
	const uint8_t *data;
	size_t len;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Load a zone by IANA name; false when the name is invalid or unknown. */
static bool zone_load(struct rctx *c, const char *name, struct zone *z)
{
	memset(z, 0, sizeof(*z));
	if (!name[0] || strcmp(name, "UTC") == 0 || strcmp(name, "Local") == 0) {
		snprintf(z->name, sizeof(z->name), "UTC");
		return true;
	}
	size_t n = strlen(name);
	if (n > 60 || name[0] == '/' || strstr(name, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("/_+-", name[i]))
			return false;
	char path[128];
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	uint8_t *buf = rg_alloc(A, 1 << 16);
	size_t len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	if (len < 44 || memcmp(buf, "TZif", 4))
		return false;
	snprintf(z->name, sizeof(z->name), "%s", name);
	z->data = buf;
	z->len = len;
	return true;
}

/* Offset (seconds east of UTC) and abbreviation in force at unix time t. */
static int32_t zone_offset(const struct zone *z, int64_t t, char *abbr, size_t an)
{
	if (!z->data) {
		snprintf(abbr, an, "UTC");
		return z->fixed;
	}
	const uint8_t *p = z->data;
	size_t len = z->len;
	/* the version 1 block, then (v2+) the 64-bit block we use */
	uint32_t cnt[6];
	for (int i = 0; i < 6; i++)
		cnt[i] = be32(p + 20 + 4 * i);
	size_t v1 = 44 + (size_t)cnt[3] * 5 + (size_t)cnt[2] * 4 + (size_t)cnt[4] * 6 +
		(size_t)cnt[5] + (size_t)cnt[1] + (size_t)cnt[0];
	int tsz = 4;
	size_t off = 44;
	if (p[4] >= '2' && v1 + 44 <= len && memcmp(p + v1, "TZif", 4) == 0) {
		for (int i = 0; i < 6; i++)
			cnt[i] = be32(p + v1 + 20 + 4 * i);
		tsz = 8;
		off = v1 + 44;
	}
	uint32_t ntimes = cnt[3], ntypes = cnt[4], nchars = cnt[5];
	size_t need = off + (size_t)ntimes * (size_t)(tsz + 1) + (size_t)ntypes * 6 + nchars;
	if (need > len || ntypes == 0) {
		snprintf(abbr, an, "UTC");
		return 0;
	}
	const uint8_t *times = p + off, *idx = times + (size_t)ntimes * (size_t)tsz;
	const uint8_t *types = idx + ntimes, *chars = types + (size_t)ntypes * 6;
	size_t ti = 0;
	/* before the first transition: the first non-DST type */
	for (size_t i = 0; i < ntypes; i++)
		if (!types[i * 6 + 4]) {
			ti = i;
			break;
		}
	for (size_t i = 0; i < ntimes; i++) {
		int64_t tt = tsz == 8 ? be64(times + i * 8) : (int32_t)be32(times + i * 4);
		if (tt > t)
			break;
		ti = idx[i] < ntypes ? idx[i] : 0;
	}
	const uint8_t *ty = types + ti * 6;
	uint8_t ai = ty[5];
	if (ai < nchars) {
		size_t k = 0;
		while (ai + k < nchars && chars[ai + k] && k + 1 < an) {
			abbr[k] = (char)chars[ai + k];
			k++;
		}
		abbr[k] = '\0';
	} else {
		abbr[0] = '\0';
	}
	return (int32_t)be32(ty);
}

/* ---- broken-down time ---- */

struct tm_ns {
	int64_t year;
	int mon, day, hour, min, sec, wday, yday;
	int64_t nsec;
	int32_t off;
	char abbr[16];
};

static void breakdown(const struct zone *z, int64_t ns, struct tm_ns *t)
{
	int64_t sec = ns / NS, frac = ns % NS;
	if (frac < 0) {
		frac += NS;
		sec--;
	}
	t->nsec = frac;
	t->off = zone_offset(z, sec, t->abbr, sizeof(t->abbr));
	int64_t local = sec + t->off;
	int64_t days = floordiv(local, 86400);
	int64_t rem = local - days * 86400;
	civil_from_days(days, &t->year, &t->mon, &t->day);
	t->hour = (int)(rem / 3600);
	t->min = (int)(rem % 3600 / 60);
	t->sec = (int)(rem % 60);
	t->wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
	t->yday = (int)(days - days_from_civil(t->year, 1, 1)) + 1;
}

/* seconds and nanoseconds to int64 ns, or false when out of range */
static bool to_ns(int64_t sec, int64_t nsec, int64_t *out)
{
	int64_t r;
	if (sec < 0 && nsec > 0) {
		/* keep the intermediate in range near the lower limit */
		sec++;
		nsec -= NS;
	}
	if (__builtin_mul_overflow(sec, NS, &r) || __builtin_add_overflow(r, nsec, &r))
		return false;
	*out = r;
	return true;
}

/* ---- layouts ---- */

enum { L_LIT, L_YEAR, L_YEAR2, L_MON, L_MON2, L_MONABBR, L_MONFULL, L_DAY, L_DAY2, L_DAY_,
	L_YDAY, L_H24, L_H12, L_H12_2, L_MIN, L_MIN2, L_SEC, L_SEC2, L_PM, L_pm, L_WDAY, L_WDAYFULL,
	L_TZ, L_Z0700, L_Z07_00, L_Z07, L_Z070000, L_Z07_00_00, L_N0700, L_N07_00, L_N07,
	L_N070000, L_N07_00_00, L_FRAC0, L_FRAC9 };

static const struct { const char *s; int k; } chunks[] = {
	{ "January", L_MONFULL }, { "Jan", L_MONABBR }, { "Monday", L_WDAYFULL }, { "Mon", L_WDAY },
	{ "MST", L_TZ }, { "01", L_MON2 }, { "02", L_DAY2 }, { "03", L_H12_2 }, { "04", L_MIN2 },
	{ "05", L_SEC2 }, { "06", L_YEAR2 }, { "002", L_YDAY }, { "15", L_H24 }, { "1", L_MON },
	{ "2006", L_YEAR }, { "2", L_DAY }, { "__2", L_YDAY }, { "_2", L_DAY_ }, { "3", L_H12 },
	{ "4", L_MIN }, { "5", L_SEC }, { "PM", L_PM }, { "pm", L_pm },
	{ "-07:00:00", L_N07_00_00 }, { "-070000", L_N070000 }, { "-07:00", L_N07_00 },
	{ "-0700", L_N0700 }, { "-07", L_N07 }, { "Z07:00:00", L_Z07_00_00 },
	{ "Z070000", L_Z070000 }, { "Z07:00", L_Z07_00 }, { "Z0700", L_Z0700 }, { "Z07", L_Z07 },
};

/* The chunk at layout[i]: its kind and length (fractions: digits in *w). */
static int next_chunk(const char *l, size_t n, size_t i, size_t *len, int *w)
{
	if ((l[i] == '.' || l[i] == ',') && i + 1 < n && (l[i + 1] == '0' || l[i + 1] == '9')) {
		char d = l[i + 1];
		size_t j = i + 1;
		while (j < n && l[j] == d)
			j++;
		if (j >= n || !isdigit((unsigned char)l[j])) {
			*len = j - i;
			*w = (int)(j - i - 1);
			return d == '0' ? L_FRAC0 : L_FRAC9;
		}
	}
	size_t best = 0;
	int kind = L_LIT;
	for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
		size_t cl = strlen(chunks[k].s);
		if (cl <= n - i && memcmp(l + i, chunks[k].s, cl) == 0) {
			/* Go: "Mon" is not "Month"-like words; "Jan" only when not followed by a
			 * lower-case letter (e.g. "Janet") is not checked by Go either */
			if (cl > best) {
				best = cl;
				kind = chunks[k].k;
			}
			if (chunks[k].k == L_MON && cl == best)
				kind = L_MON;
		}
	}
	/* "2006" must win over "2", "01" over "1", "15" over "1" */
	*len = best ? best : 1;
	return kind;
}

static const char *named_layout(const char *s)
{
	static const struct { const char *n, *l; } named[] = {
		{ "ANSIC", "Mon Jan _2 15:04:05 2006" },
		{ "UnixDate", "Mon Jan _2 15:04:05 MST 2006" },
		{ "RubyDate", "Mon Jan 02 15:04:05 -0700 2006" },
		{ "RFC822", "02 Jan 06 15:04 MST" },
		{ "RFC822Z", "02 Jan 06 15:04 -0700" },
		{ "RFC850", "Monday, 02-Jan-06 15:04:05 MST" },
		{ "RFC1123", "Mon, 02 Jan 2006 15:04:05 MST" },
		{ "RFC1123Z", "Mon, 02 Jan 2006 15:04:05 -0700" },
		{ "RFC3339", "2006-01-02T15:04:05Z07:00" },
		{ "RFC3339Nano", "2006-01-02T15:04:05.999999999Z07:00" },
		{ "Kitchen", "3:04PM" },
		{ "Stamp", "Jan _2 15:04:05" },
		{ "StampMilli", "Jan _2 15:04:05.000" },
		{ "StampMicro", "Jan _2 15:04:05.000000" },
		{ "StampNano", "Jan _2 15:04:05.000000000" },
		{ "DateTime", "2006-01-02 15:04:05" },
		{ "DateOnly", "2006-01-02" },
		{ "TimeOnly", "15:04:05" },
	};
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (strcmp(named[i].n, s) == 0)
			return named[i].l;
	return s;
}

static void put_off(struct sbuf *b, int32_t off, bool colon, bool secs, bool hours_only, bool z)
{
	if (z && off == 0) {
		sb_puts(b, "Z");
		return;
	}
	char sign = off < 0 ? '-' : '+';
	int32_t a = off < 0 ? -off : off;
	if (hours_only)
		sb_printf(b, "%c%02d", sign, a / 3600);
	else if (secs)
		sb_printf(b, colon ? "%c%02d:%02d:%02d" : "%c%02d%02d%02d", sign, a / 3600, a % 3600 / 60, a % 60);
	else
		sb_printf(b, colon ? "%c%02d:%02d" : "%c%02d%02d", sign, a / 3600, a % 3600 / 60);
}

static void format(struct sbuf *b, const char *l, const struct tm_ns *t)
{
	size_t n = strlen(l);
	for (size_t i = 0; i < n;) {
		size_t len;
		int w = 0;
		int k = next_chunk(l, n, i, &len, &w);
		int h12 = t->hour % 12 == 0 ? 12 : t->hour % 12;
		switch (k) {
		case L_LIT: sb_put(b, l + i, 1); break;
		case L_YEAR: sb_printf(b, "%04lld", (long long)t->year); break;
		case L_YEAR2: sb_printf(b, "%02lld", (long long)(t->year % 100)); break;
		case L_MON: sb_printf(b, "%d", t->mon); break;
		case L_MON2: sb_printf(b, "%02d", t->mon); break;
		case L_MONABBR: sb_put(b, months[t->mon - 1], 3); break;
		case L_MONFULL: sb_puts(b, months[t->mon - 1]); break;
		case L_DAY: sb_printf(b, "%d", t->day); break;
		case L_DAY2: sb_printf(b, "%02d", t->day); break;
		case L_DAY_: sb_printf(b, "%2d", t->day); break;
		case L_YDAY: sb_printf(b, "%03d", t->yday); break;
		case L_H24: sb_printf(b, "%02d", t->hour); break;
		case L_H12: sb_printf(b, "%d", h12); break;
		case L_H12_2: sb_printf(b, "%02d", h12); break;
		case L_MIN: sb_printf(b, "%d", t->min); break;
		case L_MIN2: sb_printf(b, "%02d", t->min); break;
		case L_SEC: sb_printf(b, "%d", t->sec); break;
		case L_SEC2: sb_printf(b, "%02d", t->sec); break;
		case L_PM: sb_puts(b, t->hour >= 12 ? "PM" : "AM"); break;
		case L_pm: sb_puts(b, t->hour >= 12 ? "pm" : "am"); break;
		case L_WDAY: sb_put(b, wdays[t->wday], 3); break;
		case L_WDAYFULL: sb_puts(b, wdays[t->wday]); break;
		case L_TZ:
			if (t->abbr[0] && isalpha((unsigned char)t->abbr[0]))
				sb_puts(b, t->abbr);
			else
				put_off(b, t->off, false, false, false, false);
			break;
		case L_Z0700: put_off(b, t->off, false, false, false, true); break;
		case L_Z07_00: put_off(b, t->off, true, false, false, true); break;
		case L_Z07: put_off(b, t->off, false, false, true, true); break;
		case L_Z070000: put_off(b, t->off, false, true, false, true); break;
		case L_Z07_00_00: put_off(b, t->off, true, true, false, true); break;
		case L_N0700: put_off(b, t->off, false, false, false, false); break;
		case L_N07_00: put_off(b, t->off, true, false, false, false); break;
		case L_N07: put_off(b, t->off, false, false, true, false); break;
		case L_N070000: put_off(b, t->off, false, true, false, false); break;
		case L_N07_00_00: put_off(b, t->off, true, true, false, false); break;
		case L_FRAC0:
		case L_FRAC9: {
			char digits[16];
			snprintf(digits, sizeof(digits), "%09lld", (long long)t->nsec);
			int m = w > 9 ? 9 : w;
			if (k == L_FRAC9) {
				m = 9;
				while (m > 0 && digits[m - 1] == '0')
					m--;
				if (m > w)
					m = w;
				if (m == 0)
					break;
			}
			sb_put(b, l + i, 1);
			sb_put(b, digits, (size_t)m);
			break;
		}
		}
		i += len;
	}
}

static bool getnum(const char **s, const char *end, int minw, int maxw, int64_t *out)
{
	const char *p = *s;
	int64_t v = 0;
	int k = 0;
	while (p < end && k < maxw && isdigit((unsigned char)*p)) {
		v = v * 10 + (*p - '0');
		p++;
		k++;
	}
	if (k < minw)
		return false;
	*s = p;
	*out = v;
	return true;
}

static bool getoff(const char **s, const char *end, bool colon, bool secs, bool hours_only,
	bool z, int32_t *off)
{
	const char *p = *s;
	if (z && p < end && *p == 'Z') {
		*s = p + 1;
		*off = 0;
		return true;
	}
	if (p >= end || (*p != '+' && *p != '-'))
		return false;
	int sign = *p == '-' ? -1 : 1;
	p++;
	int64_t h, m = 0, sec = 0;
	if (!getnum(&p, end, 2, 2, &h))
		return false;
	if (!hours_only) {
		if (colon) {
			if (p >= end || *p != ':')
				return false;
			p++;
		}
		if (!getnum(&p, end, 2, 2, &m))
			return false;
		if (secs) {
			if (colon) {
				if (p >= end || *p != ':')
					return false;
				p++;
			}
			if (!getnum(&p, end, 2, 2, &sec))
				return false;
		}
	}
	*off = (int32_t)(sign * (h * 3600 + m * 60 + sec));
	*s = p;
	return true;
}

/* 0, or -1 when value does not match layout, -2 when out of range */
static int parse_time(const char *l, const char *v, size_t vn, int64_t *out)
{
	const char *s = v, *end = v + vn;
	size_t n = strlen(l);
	int64_t year = 1, mon = 1, day = 1, hour = 0, min = 0, sec = 0, nsec = 0, yday = -1;
	int32_t off = 0;
	bool pm = false, pmset = false;
	for (size_t i = 0; i < n;) {
		size_t len;
		int w = 0;
		int k = next_chunk(l, n, i, &len, &w);
		int64_t x;
		switch (k) {
		case L_LIT:
			if (s >= end || *s != l[i])
				return -1;
			s++;
			break;
		case L_YEAR:
			if (!getnum(&s, end, 4, 4, &year))
				return -1;
			break;
		case L_YEAR2:
			if (!getnum(&s, end, 2, 2, &x))
				return -1;
			year = x >= 69 ? 1900 + x : 2000 + x;
			break;
		case L_MON:
		case L_MON2:
			if (!getnum(&s, end, k == L_MON2 ? 2 : 1, 2, &mon) || mon < 1 || mon > 12)
				return -1;
			break;
		case L_MONABBR:
		case L_MONFULL: {
			bool ok = false;
			for (int m = 0; m < 12 && !ok; m++) {
				size_t ml = k == L_MONABBR ? 3 : strlen(months[m]);
				if ((size_t)(end - s) >= ml && strncasecmp(s, months[m], ml) == 0) {
					mon = m + 1;
					s += ml;
					ok = true;
				}
			}
			if (!ok)
				return -1;
			break;
		}
		case L_WDAY:
		case L_WDAYFULL: {
			bool ok = false;
			for (int d = 0; d < 7 && !ok; d++) {
				size_t dl = k == L_WDAY ? 3 : strlen(wdays[d]);
				if ((size_t)(end - s) >= dl && strncasecmp(s, wdays[d], dl) == 0) {
					s += dl;
					ok = true;
				}
			}
			if (!ok)
				return -1;
			break;
		}
		case L_DAY:
		case L_DAY2:
		case L_DAY_:
			if (k == L_DAY_ && s < end && *s == ' ')
				s++;
			if (!getnum(&s, end, k == L_DAY2 ? 2 : 1, 2, &day) || day < 1 || day > 31)
				return -1;
			break;
		case L_YDAY:
			if (!getnum(&s, end, 3, 3, &yday))
				return -1;
			break;
		case L_H24:
			if (!getnum(&s, end, 2, 2, &hour) || hour > 23)
				return -1;
			break;
		case L_H12:
		case L_H12_2:
			if (!getnum(&s, end, k == L_H12_2 ? 2 : 1, 2, &hour) || hour > 12)
				return -1;
			break;
		case L_MIN:
		case L_MIN2:
			if (!getnum(&s, end, k == L_MIN2 ? 2 : 1, 2, &min) || min > 59)
				return -1;
			break;
		case L_SEC:
		case L_SEC2:
			if (!getnum(&s, end, k == L_SEC2 ? 2 : 1, 2, &sec) || sec > 59)
				return -1;
			/* Go takes a fraction after the seconds even if the layout has none */
			if (s + 1 < end && (*s == '.' || *s == ',') && isdigit((unsigned char)s[1]) &&
			    !(i + len < n && (l[i + len] == '.' || l[i + len] == ','))) {
				s++;
				int digits = 0;
				nsec = 0;
				while (s < end && isdigit((unsigned char)*s)) {
					if (digits < 9) {
						nsec = nsec * 10 + (*s - '0');
						digits++;
					}
					s++;
				}
				while (digits++ < 9)
					nsec *= 10;
			}
			break;
		case L_PM:
		case L_pm:
			if (end - s < 2)
				return -1;
			if (strncasecmp(s, "PM", 2) == 0)
				pm = true;
			else if (strncasecmp(s, "AM", 2) != 0)
				return -1;
			pmset = true;
			s += 2;
			break;
		case L_TZ: {
			const char *st = s;
			while (s < end && isupper((unsigned char)*s))
				s++;
			if (s - st < 3)
				return -1;
			if (s - st == 3 && strncmp(st, "UTC", 3) == 0)
				off = 0;
			break;
		}
		case L_Z0700: case L_Z07_00: case L_Z07: case L_Z070000: case L_Z07_00_00:
		case L_N0700: case L_N07_00: case L_N07: case L_N070000: case L_N07_00_00: {
			bool z = k <= L_Z07_00_00;
			bool colon = k == L_Z07_00 || k == L_Z07_00_00 || k == L_N07_00 || k == L_N07_00_00;
			bool secs = k == L_Z070000 || k == L_Z07_00_00 || k == L_N070000 || k == L_N07_00_00;
			bool ho = k == L_Z07 || k == L_N07;
			if (!getoff(&s, end, colon, secs, ho, z, &off))
				return -1;
			break;
		}
		case L_FRAC0:
		case L_FRAC9: {
			if (s >= end || (*s != '.' && *s != ',')) {
				if (k == L_FRAC9)
					break;
				return -1;
			}
			s++;
			int digits = 0;
			nsec = 0;
			while (s < end && isdigit((unsigned char)*s)) {
				if (digits < 9) {
					nsec = nsec * 10 + (*s - '0');
					digits++;
				}
				s++;
			}
			if (k == L_FRAC0 && digits != w)
				return -1;
			while (digits++ < 9)
				nsec *= 10;
			break;
		}
		}
		i += len;
	}
	if (s != end)
		return -1;
	if (pmset) {
		if (hour == 12)
			hour = 0;
		if (pm)
			hour += 12;
	}
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (day > mdays[mon - 1])
		return -1;
	int64_t days = days_from_civil(year, mon, day);
	if (yday > 0)
		days = days_from_civil(year, 1, 1) + yday - 1;
	int64_t secs = days * 86400 + hour * 3600 + min * 60 + sec - off;
	if (!to_ns(secs, nsec, out))
		return -2;
	return 0;
}

/* ---- built-ins ---- */

static int bi_now_ns(struct rctx *c, struct rv **a, struct rv **out)
{
	(void)a;
	*out = rv_int(A, rg_ctx_now(c));
	return 0;
}

static int do_parse(struct rctx *c, const char *layout, struct rv *v, struct rv **out)
{
	int64_t ns;
	int r = parse_time(layout, v->s, v->n, &ns);
	if (r == -2)
		return rg_fail(c, "eval_builtin_error", "%s: time outside of valid range", rg_ctx_builtin(c));
	if (r)
		return rg_fail(c, "eval_builtin_error", "%s: cannot parse \"%s\" as \"%s\"",
			rg_ctx_builtin(c), v->s, layout);
	*out = rv_int(A, ns);
	return 0;
}

static int bi_parse_rfc3339_ns(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_STR)
		return rg_type_err(c, 1, "string", a[0]);
	return do_parse(c, "2006-01-02T15:04:05Z07:00", a[0], out);
}

static int bi_parse_ns(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_STR)
		return rg_type_err(c, 1, "string", a[0]);
	if (a[1]->t != RV_STR)
		return rg_type_err(c, 2, "string", a[1]);
	return do_parse(c, named_layout(a[0]->s), a[1], out);
}

static int bi_parse_duration_ns(struct rctx *c, struct rv **a, struct rv **out)
{
	if (a[0]->t != RV_STR)
		return rg_type_err(c, 1, "string", a[0]);
	const char *s = a[0]->s, *end = s + a[0]->n;
	int sign = 1;
	if (s < end && (*s == '-' || *s == '+'))
		sign = *s++ == '-' ? -1 : 1;
	if (s == end)
		return rg_fail(c, "eval_builtin_error", "time.parse_duration_ns: invalid duration");
	long double total = 0;
	if (end - s == 1 && *s == '0') {
		*out = rv_int(A, 0);
		return 0;
	}
	while (s < end) {
		char *e;
		long double v = strtold(s, &e);
		if (e == s)
			return rg_fail(c, "eval_builtin_error", "time.parse_duration_ns: invalid duration");
		s = e;
		static const struct { const char *u; long double m; } units[] = {
			{ "ns", 1 }, { "us", 1e3L }, { "\xc2\xb5s", 1e3L }, { "\xce\xbcs", 1e3L },
			{ "ms", 1e6L }, { "s", 1e9L }, { "m", 60e9L }, { "h", 3600e9L },
		};
		bool ok = false;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && !ok; i++) {
			size_t ul = strlen(units[i].u);
			if ((size_t)(end - s) >= ul && memcmp(s, units[i].u, ul) == 0 &&
			    !(ul == 1 && s + 1 < end && s[1] == 's' && units[i].u[0] == 'm')) {
				total += v * units[i].m;
				s += ul;
				ok = true;
			}
		}
		if (!ok)
			return rg_fail(c, "eval_builtin_error", "time.parse_duration_ns: missing unit in duration");
	}
	total *= sign;
	if (total > 9.223372036854775807e18L || total < -9.223372036854775808e18L)
		return rg_fail(c, "eval_builtin_error", "time.parse_duration_ns: invalid duration");
	*out = rv_int(A, (int64_t)total);
	return 0;
}

/* ns or [ns, zone] or [ns, zone, layout] */
static int time_arg(struct rctx *c, struct rv *x, int64_t *ns, struct zone *z, const char **layout)
{
	struct rv *t = x, *tz = NULL, *lay = NULL;
	if (x->t == RV_ARR) {
		if (x->n < 1 || x->n > (layout ? 3u : 2u))
			return rg_type_err(c, 1, "array of length 2", x);
		t = x->a[0];
		tz = x->n > 1 ? x->a[1] : NULL;
		lay = x->n > 2 ? x->a[2] : NULL;
	}
	if (t->t != RV_NUM)
		return rg_type_err(c, 1, "number", t);
	if (!t->isint) {
		if (t->s)
			return rg_fail(c, "eval_builtin_error", "%s: timestamp too big", rg_ctx_builtin(c));
		if (t->d >= 9.2233720368547758e18 || t->d <= -9.2233720368547758e18)
			return rg_fail(c, "eval_builtin_error", "%s: timestamp too big", rg_ctx_builtin(c));
		*ns = (int64_t)t->d;
	} else {
		*ns = t->i;
	}
	if (tz && tz->t != RV_STR)
		return rg_type_err(c, 1, "string time zone", tz);
	if (!zone_load(c, tz ? tz->s : "", z))
		return rg_fail(c, "eval_builtin_error", "%s: unknown time zone %s", rg_ctx_builtin(c),
			tz ? tz->s : "");
	if (layout) {
		if (lay && lay->t != RV_STR)
			return rg_type_err(c, 1, "string layout", lay);
		*layout = lay ? named_layout(lay->s) : "2006-01-02T15:04:05.999999999Z07:00";
	}
	return 0;
}

static int bi_date(struct rctx *c, struct rv **a, struct rv **out)
{
	int64_t ns;
	struct zone z;
	int r = time_arg(c, a[0], &ns, &z, NULL);
	if (r)
		return r;
	struct tm_ns t;
	breakdown(&z, ns, &t);
	struct rv *v[3] = { rv_int(A, t.year), rv_int(A, t.mon), rv_int(A, t.day) };
	*out = rv_arr(A, v, 3);
	return 0;
}

static int bi_clock(struct rctx *c, struct rv **a, struct rv **out)
{
	int64_t ns;
	struct zone z;
	int r = time_arg(c, a[0], &ns, &z, NULL);
	if (r)
		return r;
	struct tm_ns t;
	breakdown(&z, ns, &t);
	struct rv *v[3] = { rv_int(A, t.hour), rv_int(A, t.min), rv_int(A, t.sec) };
	*out = rv_arr(A, v, 3);
	return 0;
}

static int bi_weekday(struct rctx *c, struct rv **a, struct rv **out)
{
	int64_t ns;
	struct zone z;
	int r = time_arg(c, a[0], &ns, &z, NULL);
	if (r)
		return r;
	struct tm_ns t;
	breakdown(&z, ns, &t);
	*out = rv_cstr(A, wdays[t.wday]);
	return 0;
}

static int bi_format(struct rctx *c, struct rv **a, struct rv **out)
{
	int64_t ns;
	struct zone z;
	const char *layout;
	int r = time_arg(c, a[0], &ns, &z, &layout);
	if (r)
		return r;
	struct tm_ns t;
	breakdown(&z, ns, &t);
	struct sbuf b = { .a = A };
	sb_put(&b, "", 0);
	format(&b, layout, &t);
	*out = rv_str(A, b.p, b.n);
	return 0;
}

static int bi_add_date(struct rctx *c, struct rv **a, struct rv **out)
{
	for (int i = 0; i < 4; i++)
		if (a[i]->t != RV_NUM || !a[i]->isint)
			return rg_type_err(c, i + 1, "integer", a[i]);
	struct zone z = { .name = "UTC" };
	struct tm_ns t;
	breakdown(&z, a[0]->i, &t);
	int64_t y = t.year + a[1]->i, m = t.mon - 1 + a[2]->i;
	if (a[1]->i > 1000000 || a[1]->i < -1000000 || a[2]->i > 12000000 || a[2]->i < -12000000 ||
	    a[3]->i > 400000000 || a[3]->i < -400000000)
		return rg_fail(c, "eval_builtin_error", "time.add_date: time outside of valid range");
	y += floordiv(m, 12);
	m -= floordiv(m, 12) * 12;
	/* Go normalises overflowing days (Jan 31 + 1 month = Mar 3) */
	int64_t days = days_from_civil(y, m + 1, 1) + t.day - 1 + a[3]->i;
	int64_t secs = days * 86400 + t.hour * 3600 + t.min * 60 + t.sec;
	int64_t ns;
	if (!to_ns(secs, t.nsec, &ns))
		return rg_fail(c, "eval_builtin_error", "time.add_date: time outside of valid range");
	*out = rv_int(A, ns);
	return 0;
}

static int bi_diff(struct rctx *c, struct rv **a, struct rv **out)
{
	int64_t n1, n2;
	struct zone z1, z2;
	int r = time_arg(c, a[0], &n1, &z1, NULL);
	if (r || (r = time_arg(c, a[1], &n2, &z2, NULL)))
		return r;
	if (n1 > n2) {
		int64_t t = n1;
		n1 = n2;
		n2 = t;
	}
	struct tm_ns x, y;
	breakdown(&z1, n1, &x);
	breakdown(&z1, n2, &y);
	int64_t d[6] = { y.year - x.year, y.mon - x.mon, y.day - x.day, y.hour - x.hour,
		y.min - x.min, y.sec - x.sec };
	if (d[5] < 0) { d[5] += 60; d[4]--; }
	if (d[4] < 0) { d[4] += 60; d[3]--; }
	if (d[3] < 0) { d[3] += 24; d[2]--; }
	if (d[2] < 0) {
		int64_t pm = x.mon == 12 ? 1 : x.mon + 1, py = x.mon == 12 ? x.year + 1 : x.year;
		d[2] += days_from_civil(py, pm, 1) - days_from_civil(x.year, x.mon, 1);
		d[1]--;
	}
	if (d[1] < 0) { d[1] += 12; d[0]--; }
	struct rv *v[6];
	for (int i = 0; i < 6; i++)
		v[i] = rv_int(A, d[i]);
	*out = rv_arr(A, v, 6);
	return 0;
}

static const struct rg_builtin time_tab[] = {
	{ "time.now_ns", 0, bi_now_ns, false },
	{ "time.parse_rfc3339_ns", 1, bi_parse_rfc3339_ns, false },
	{ "time.parse_ns", 2, bi_parse_ns, false },
	{ "time.parse_duration_ns", 1, bi_parse_duration_ns, false },
	{ "time.date", 1, bi_date, false },
	{ "time.clock", 1, bi_clock, false },
	{ "time.weekday", 1, bi_weekday, false },
	{ "time.format", 1, bi_format, false },
	{ "time.add_date", 4, bi_add_date, false },
	{ "time.diff", 2, bi_diff, false },
	{ NULL, 0, NULL, false },
};

const struct rg_builtin *rg_builtin_find_time(const char *name);
const struct rg_builtin *rg_builtin_find_time(const char *name)
{
	for (const struct rg_builtin *b = time_tab; b->name; b++)
		if (strcmp(b->name, name) == 0)
			return b;
	return NULL;
}
