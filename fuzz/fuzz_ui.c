/* libFuzzer target: URL paths into gw_ui_resolve(). Besides not crashing, what
 * it resolves must lie inside the page's directory and never be the file kept
 * beside it (reachable only by traversal) or behind the links leading out. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ui/static.h"

static char root[PATH_MAX];
static char base[] = "/tmp/lmcgw-fuzz-ui-XXXXXX";

/* Leave no directory behind per run (libFuzzer ends with exit()). */
static void cleanup(void) {
  static const char *const files[] = {"www/out.html", "www/sub/page.css", "www/app.js", "www/index.html", "secret.html"};
  static const char *const dirs[] = {"www/sub", "www", ""};
  char p[PATH_MAX];
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    snprintf(p, sizeof(p), "%s/%s", base, files[i]);
    unlink(p);
  }
  for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
    snprintf(p, sizeof(p), "%s/%s", base, dirs[i]);
    rmdir(p);
  }
}

static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (!f) abort();
  fputs(text, f);
  fclose(f);
}

/* base/secret.html, base/www/{index.html,app.js,sub/page.css,out.html -> ../secret.html}. */
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  char p[PATH_MAX];
  if (!mkdtemp(base)) abort();
  atexit(cleanup);
  snprintf(p, sizeof(p), "%s/secret.html", base);
  put(p, "outside");
  snprintf(p, sizeof(p), "%s/www", base);
  if (mkdir(p, 0700)) abort();
  snprintf(p, sizeof(p), "%s/www/sub", base);
  if (mkdir(p, 0700)) abort();
  snprintf(p, sizeof(p), "%s/www/index.html", base);
  put(p, "index");
  snprintf(p, sizeof(p), "%s/www/app.js", base);
  put(p, "app");
  snprintf(p, sizeof(p), "%s/www/sub/page.css", base);
  put(p, "css");
  snprintf(p, sizeof(p), "%s/www/out.html", base);
  if (symlink("../secret.html", p)) abort();
  snprintf(p, sizeof(p), "%s/www", base);
  if (!realpath(p, root)) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 8192) return 0;
  char *url = malloc(size + 1);
  if (!url) return 0;
  memcpy(url, data, size);
  url[size] = '\0';
  char out[PATH_MAX];
  const char *ct = NULL;
  if (gw_ui_resolve(root, url, out, sizeof(out), &ct) == 0) {
    size_t rl = strlen(root);
    if (strncmp(out, root, rl) || out[rl] != '/' || !ct) abort();
    if (strstr(out, "secret")) abort();
  } else if (ct) {
    abort();
  }
  free(url);
  return 0;
}
