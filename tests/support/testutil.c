#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *tu_mkdtemp(const char *tag) {
  const char *t = getenv("TMPDIR");
  char *p = malloc(512);
  if (!p) return NULL;
  snprintf(p, 512, "%s/lmcgw-%s-XXXXXX", t && *t ? t : "/tmp", tag);
  if (!mkdtemp(p)) {
    free(p);
    return NULL;
  }
  return p;
}

char *tu_write(const char *dir, const char *name, const char *text) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (!p) return NULL;
  snprintf(p, n, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  if (!f) {
    free(p);
    return NULL;
  }
  fputs(text, f);
  fclose(f);
  return p;
}

char *tu_read(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
    free(b);
    b = NULL;
  }
  fclose(f);
  if (!b) return NULL;
  b[n] = 0;
  if (len) *len = (size_t)n;
  return b;
}

void tu_rmrf(const char *dir) {
  if (!dir || strlen(dir) < 8 || !strstr(dir, "lmcgw-")) return; /* never anything but our own */
  char cmd[600];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd)) {
  }
}
