/*
 * turtle-rego-conformance DIR [--min PCT] [--verbose] [--only SUBSTR]
 *
 * Runs OPA's YAML conformance cases (one folder per category below DIR; format in
 * ../shared/testdata/rego/README.md) through src/policy/rego and prints one line per
 * category with passed/failed/skipped counts, then a total. With --min, exits 1 when a
 * category passes fewer than PCT percent of its cases that are not skipped.
 *
 * A case is skipped only when it needs a built-in that docs/rego.md lists as out of scope
 * (the evaluator reports it as an undefined function).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <yaml.h>

#include "rego.h"

/* Built-ins out of scope (docs/rego.md, "Not implemented"). */
static const char *const out_of_scope[] = {
	"yaml.marshal", "yaml.unmarshal", "yaml.is_valid", "test.sleep", NULL,
};

/* ---- YAML to JSON ---- */

static json_t *scalar(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_stringn(s, len);
	if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	    strcmp(s, "NULL") == 0)
		return json_null();
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		return json_true();
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return json_false();
	char *end;
	errno = 0;
	long long ll = strtoll(s, &end, 10);
	if (*end == '\0' && errno == 0 && s[0] != '+')
		return json_integer(ll);
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	bool numeric = *p >= '0' && *p <= '9';
	for (const char *q = p; numeric && *q; q++)
		numeric = strchr("0123456789.eE+-", *q) != NULL;
	if (numeric) {
		double d = strtod(s, &end);
		if (*end == '\0' && isfinite(d))
			return json_real(d);
	}
	return json_stringn(s, len);
}

static json_t *convert(yaml_document_t *doc, yaml_node_t *n, int depth)
{
	if (!n || depth > 100)
		return NULL;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return scalar(n);
	case YAML_SEQUENCE_NODE: {
		json_t *a = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++)
			json_array_append_new(a, convert(doc, yaml_document_get_node(doc, *it), depth + 1));
		return a;
	}
	case YAML_MAPPING_NODE: {
		json_t *o = json_object();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			if (!k || k->type != YAML_SCALAR_NODE)
				continue;
			json_object_setn_new(o, (const char *)k->data.scalar.value, k->data.scalar.length,
				convert(doc, yaml_document_get_node(doc, p->value), depth + 1));
		}
		return o;
	}
	default:
		return NULL;
	}
}

static json_t *load_yaml(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	yaml_parser_t p;
	yaml_document_t doc;
	json_t *out = NULL;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	if (yaml_parser_load(&p, &doc)) {
		out = convert(&doc, yaml_document_get_root_node(&doc), 0);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&p);
	fclose(f);
	return out;
}

/* ---- JSON order and equality (numbers by value) ---- */

static int jrank(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_NULL: return 0;
	case JSON_TRUE:
	case JSON_FALSE: return 1;
	case JSON_INTEGER:
	case JSON_REAL: return 2;
	case JSON_STRING: return 3;
	case JSON_ARRAY: return 4;
	case JSON_OBJECT: return 5;
	}
	return 6;
}

static double jnum(const json_t *j)
{
	return json_is_integer(j) ? (double)json_integer_value(j) : json_real_value(j);
}

static int keycmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int jcmp(const json_t *a, const json_t *b)
{
	int ra = jrank(a), rb = jrank(b);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (ra) {
	case 0: return 0;
	case 1: return (int)json_is_true(a) - (int)json_is_true(b);
	case 2:
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) < json_integer_value(b) ? -1 :
				json_integer_value(a) > json_integer_value(b);
		return jnum(a) < jnum(b) ? -1 : jnum(a) > jnum(b);
	case 3: {
		size_t la = json_string_length(a), lb = json_string_length(b);
		int c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
		return c ? (c < 0 ? -1 : 1) : (la < lb ? -1 : la > lb);
	}
	case 4: {
		size_t na = json_array_size(a), nb = json_array_size(b);
		for (size_t i = 0; i < na && i < nb; i++) {
			int c = jcmp(json_array_get(a, i), json_array_get(b, i));
			if (c)
				return c;
		}
		return na < nb ? -1 : na > nb;
	}
	case 5: {
		size_t na = json_object_size(a), nb = json_object_size(b);
		if (na != nb)
			return na < nb ? -1 : 1;
		const char **ka = malloc((na + 1) * sizeof(*ka)), **kb = malloc((nb + 1) * sizeof(*kb));
		size_t i = 0;
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)a, k, v) ka[i++] = k;
		i = 0;
		json_object_foreach((json_t *)b, k, v) kb[i++] = k;
		qsort(ka, na, sizeof(*ka), keycmp);
		qsort(kb, nb, sizeof(*kb), keycmp);
		int c = 0;
		for (i = 0; i < na && !c; i++) {
			c = strcmp(ka[i], kb[i]);
			if (!c)
				c = jcmp(json_object_get(a, ka[i]), json_object_get(b, kb[i]));
		}
		free(ka);
		free(kb);
		return c;
	}
	}
	return 0;
}

static int jcmp_pp(const void *a, const void *b)
{
	return jcmp(*(json_t *const *)a, *(json_t *const *)b);
}

static void sort_array(json_t *arr)
{
	size_t n = json_array_size(arr);
	if (n < 2)
		return;
	json_t **v = malloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof(*v), jcmp_pp);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

/* ---- one case ---- */

enum verdict { PASS, FAIL, SKIP };

static bool verbose;

static enum verdict run_case(const char *file, json_t *cs, char *why, size_t whyn)
{
	json_t *mods = json_object_get(cs, "modules");
	size_t nm = json_array_size(mods);
	const char **names = calloc(nm + 1, sizeof(*names));
	const char **srcs = calloc(nm + 1, sizeof(*srcs));
	size_t *lens = calloc(nm + 1, sizeof(*lens));
	char (*nbuf)[32] = calloc(nm + 1, sizeof(*nbuf));
	enum verdict v = FAIL;
	struct tt_rego *r = NULL;
	json_t *res = NULL;
	struct tt_rego_err e;
	char emsg[512];
	memset(&e, 0, sizeof(e));
	for (size_t i = 0; i < nm; i++) {
		snprintf(nbuf[i], sizeof(nbuf[i]), "test-%zu.rego", i);
		names[i] = nbuf[i];
		srcs[i] = json_string_value(json_array_get(mods, i));
		lens[i] = srcs[i] ? strlen(srcs[i]) : 0;
		if (!srcs[i])
			srcs[i] = "";
	}
	const char *want_code = json_string_value(json_object_get(cs, "want_error_code"));
	const char *want_err = json_string_value(json_object_get(cs, "want_error"));
	json_t *want = json_object_get(cs, "want_result");
	bool strict = json_is_true(json_object_get(cs, "strict_error"));
	bool sortb = json_is_true(json_object_get(cs, "sort_bindings"));
	const char *query = json_string_value(json_object_get(cs, "query"));
	int rc = tt_rego_compile(nm, names, srcs, lens, NULL, &r, &e);
	if (rc == 0) {
		struct tt_rego_eval_opts o = { 0 };
		o.strict_builtin_errors = strict;
		o.input_term = json_string_value(json_object_get(cs, "input_term"));
		json_t *data = json_object_get(cs, "data");
		json_t *input = json_object_get(cs, "input");
		rc = tt_rego_eval(r, query ? query : "", o.input_term ? NULL : input,
			json_is_object(data) ? data : NULL, &o, &res, &e);
	}
	tt_rego_err_format(&e, emsg, sizeof(emsg));
	if (rc) {
		for (size_t i = 0; out_of_scope[i]; i++) {
			char pat[96];
			snprintf(pat, sizeof(pat), "undefined function %s", out_of_scope[i]);
			if (strstr(e.msg, pat)) {
				snprintf(why, whyn, "skipped: %s", out_of_scope[i]);
				v = SKIP;
				goto out;
			}
		}
	}
	(void)file;
	if (want_code || want_err) {
		if (rc == 0) {
			char *got = json_dumps(res, JSON_COMPACT);
			snprintf(why, whyn, "want error %s %s, got %s", want_code ? want_code : "",
				want_err ? want_err : "", got ? got : "?");
			free(got);
			goto out;
		}
		if (want_code && strcmp(want_code, e.code) != 0) {
			snprintf(why, whyn, "want code %s, got %s", want_code, emsg);
			goto out;
		}
		if (want_err && !strstr(emsg, want_err)) {
			snprintf(why, whyn, "want error containing '%s', got %s", want_err, emsg);
			goto out;
		}
		v = PASS;
		goto out;
	}
	if (rc) {
		snprintf(why, whyn, "error %s", emsg);
		goto out;
	}
	if (sortb) {
		size_t i;
		json_t *sol;
		json_array_foreach(res, i, sol) {
			const char *k;
			json_t *x;
			json_object_foreach(sol, k, x)
				if (json_is_array(x))
					sort_array(x);
		}
	}
	/* order-insensitive comparison of the solution sets */
	size_t nw = json_array_size(want), ng = json_array_size(res);
	bool ok = nw == ng;
	char *used = calloc(ng + 1, 1);
	for (size_t i = 0; ok && i < nw; i++) {
		bool found = false;
		for (size_t j = 0; j < ng && !found; j++) {
			if (!used[j] && jcmp(json_array_get(want, i), json_array_get(res, j)) == 0) {
				used[j] = 1;
				found = true;
			}
		}
		ok = found;
	}
	free(used);
	if (ok) {
		v = PASS;
	} else {
		char *g = json_dumps(res, JSON_COMPACT), *w = json_dumps(want, JSON_COMPACT);
		snprintf(why, whyn, "want %.300s got %.300s", w ? w : "?", g ? g : "?");
		free(g);
		free(w);
	}
out:
	json_decref(res);
	tt_rego_free(r);
	free(names);
	free(srcs);
	free(lens);
	free(nbuf);
	return v;
}

/* ---- folders ---- */

static int namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **list_dir(const char *path, size_t *n)
{
	DIR *d = opendir(path);
	*n = 0;
	if (!d)
		return NULL;
	char **v = NULL;
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
		}
		v[(*n)++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(v, *n, sizeof(*v), namecmp);
	return v;
}

static bool is_yaml(const char *n)
{
	size_t l = strlen(n);
	return (l > 5 && strcmp(n + l - 5, ".yaml") == 0) || (l > 4 && strcmp(n + l - 4, ".yml") == 0);
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *only = NULL;
	double min = -1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--min") == 0 && i + 1 < argc)
			min = atof(argv[++i]);
		else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0)
			verbose = true;
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else
			dir = argv[i];
	}
	if (!dir) {
		fprintf(stderr, "usage: %s DIR [--min PCT] [--verbose] [--only SUBSTR]\n", argv[0]);
		return 2;
	}
	size_t ncat;
	char **cats = list_dir(dir, &ncat);
	if (!cats) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return 2;
	}
	unsigned tp = 0, tf = 0, ts = 0;
	int status = 0;
	printf("%-26s %6s %6s %7s %6s %7s\n", "category", "passed", "failed", "skipped", "total", "pass%");
	for (size_t c = 0; c < ncat; c++) {
		char cpath[4096];
		snprintf(cpath, sizeof(cpath), "%s/%s", dir, cats[c]);
		struct stat st;
		if (stat(cpath, &st) || !S_ISDIR(st.st_mode)) {
			free(cats[c]);
			continue;
		}
		size_t nf;
		char **files = list_dir(cpath, &nf);
		unsigned p = 0, f = 0, s = 0;
		for (size_t i = 0; i < nf; i++) {
			if (!is_yaml(files[i])) {
				free(files[i]);
				continue;
			}
			char fpath[8192];
			snprintf(fpath, sizeof(fpath), "%s/%s", cpath, files[i]);
			json_t *doc = load_yaml(fpath);
			json_t *cases = json_object_get(doc, "cases");
			size_t k;
			json_t *cs;
			json_array_foreach(cases, k, cs) {
				const char *note = json_string_value(json_object_get(cs, "note"));
				if (only && (!note || !strstr(note, only)))
					continue;
				char why[1024] = "";
				enum verdict v = run_case(fpath, cs, why, sizeof(why));
				if (v == PASS)
					p++;
				else if (v == FAIL)
					f++;
				else
					s++;
				if (verbose && v != PASS)
					printf("  %s %s (%s): %s\n", v == FAIL ? "FAIL" : "SKIP",
						note ? note : "?", files[i], why);
			}
			if (!doc)
				printf("  cannot read %s\n", fpath);
			json_decref(doc);
			free(files[i]);
		}
		free(files);
		unsigned run = p + f;
		double pct = run ? 100.0 * p / run : 100.0;
		if (p + f + s)
			printf("%-26s %6u %6u %7u %6u %6.1f%%\n", cats[c], p, f, s, p + f + s, pct);
		if (min >= 0 && pct < min)
			status = 1;
		tp += p;
		tf += f;
		ts += s;
		free(cats[c]);
	}
	free(cats);
	printf("%-26s %6u %6u %7u %6u %6.1f%%\n", "total", tp, tf, ts, tp + tf + ts,
		tp + tf ? 100.0 * tp / (tp + tf) : 100.0);
	return status;
}
