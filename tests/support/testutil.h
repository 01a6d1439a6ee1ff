/* Helpers shared by lmcgw's tests: temporary directories and files. */
#ifndef LMCGW_TESTUTIL_H
#define LMCGW_TESTUTIL_H

#include <stddef.h>

/* Creates a fresh directory under $TMPDIR (or /tmp); returns a static-lifetime
 * malloc'd path the test may free. */
char *tu_mkdtemp(const char *tag);
/* Writes text to dir/name and returns the malloc'd full path. */
char *tu_write(const char *dir, const char *name, const char *text);
/* Reads a whole file; *len receives its size. malloc'd, NUL-terminated. */
char *tu_read(const char *path, size_t *len);
/* rm -rf dir (best effort). */
void tu_rmrf(const char *dir);

#endif
