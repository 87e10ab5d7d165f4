/* Helpers shared by the fuzz targets (header-only: each target is one translation unit). */
#ifndef TT_FUZZ_UTIL_H
#define TT_FUZZ_UTIL_H

#include <ftw.h>
#include <stdio.h>

static int
fuzz_rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Remove a target's scratch directory and everything in it (best effort, at exit). */
static inline void
fuzz_rmtree(const char *dir)
{
	(void)nftw(dir, fuzz_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
