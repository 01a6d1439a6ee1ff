/* The inspector page's file server (gateway/ui): index mapping, content types,
 * and every way a URL path could try to leave the directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "ui/static.h"

/* base/ holds secret.html (outside the page) and www/ (the page's root). */
typedef struct fixture {
  char *base;
  char root[PATH_MAX];
  char real_root[PATH_MAX];
} fixture;

static void put(const char *dir, const char *name, const char *text) { free(tu_write(dir, name, text)); }

static int setup(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  if (!f) return -1;
  f->base = tu_mkdtemp("ui");
  snprintf(f->root, sizeof(f->root), "%s/www", f->base);
  char sub[PATH_MAX + 8], p[PATH_MAX + 32];
  snprintf(sub, sizeof(sub), "%s/sub", f->root);
  if (mkdir(f->root, 0755) || mkdir(sub, 0755)) return -1;
  put(f->base, "secret.html", "<p>outside</p>");
  put(f->base, "secret.js", "outside");
  put(f->root, "index.html", "<!doctype html>");
  put(f->root, "app.js", "'use strict';");
  put(f->root, "style.css", "body{}");
  put(f->root, "logo.svg", "<svg/>");
  put(f->root, "icon.PNG", "png");
  put(f->root, "favicon.ico", "ico");
  put(f->root, "data.json", "{}");
  put(f->root, "notes.txt", "text");
  put(f->root, "Makefile", "all:");
  put(f->root, ".hidden.html", "hidden");
  put(sub, "index.html", "sub index");
  put(sub, "page.css", "sub css");
  /* Links: one staying inside (allowed), several leading out (refused). */
  snprintf(p, sizeof(p), "%s/alias.js", f->root);
  if (symlink("app.js", p)) return -1;
  snprintf(p, sizeof(p), "%s/out.html", f->root);
  if (symlink("../secret.html", p)) return -1;
  snprintf(p, sizeof(p), "%s/abs.js", f->root);
  char target[PATH_MAX + 16];
  snprintf(target, sizeof(target), "%s/secret.js", f->base);
  if (symlink(target, p)) return -1;
  snprintf(p, sizeof(p), "%s/updir", f->root);
  if (symlink("..", p)) return -1;
  snprintf(p, sizeof(p), "%s/passwd.css", f->root);
  if (symlink("/etc/passwd", p)) return -1;
  snprintf(p, sizeof(p), "%s/dangling.js", f->root);
  if (symlink("nowhere.js", p)) return -1;
  snprintf(p, sizeof(p), "%s/fifo.js", f->root);
  if (mkfifo(p, 0600)) return -1;
  /* A sibling whose name starts like the root: "www" vs "www-evil". */
  snprintf(p, sizeof(p), "%s/www-evil", f->base);
  if (mkdir(p, 0755)) return -1;
  put(p, "x.js", "evil");
  snprintf(p, sizeof(p), "%s/evil.js", f->root);
  if (symlink("../www-evil/x.js", p)) return -1;
  if (!realpath(f->root, f->real_root)) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  tu_rmrf(f->base);
  free(f->base);
  free(f);
  return 0;
}

/* Resolves and checks the answer names root/<file> with the given type. */
static void expect_file(fixture *f, const char *url, const char *file, const char *type) {
  char out[PATH_MAX], want[PATH_MAX + 64];
  const char *ct = "unset";
  int rc = gw_ui_resolve(f->root, url, out, sizeof(out), &ct);
  if (rc) fail_msg("%s: expected %s, got %d", url, file, rc);
  snprintf(want, sizeof(want), "%s/%s", f->real_root, file);
  assert_string_equal(out, want);
  assert_non_null(ct);
  assert_string_equal(ct, type);
}

static void expect_refused(fixture *f, const char *url, int code) {
  char out[PATH_MAX];
  const char *ct = "unset";
  memset(out, 'x', sizeof(out));
  int rc = gw_ui_resolve(f->root, url, out, sizeof(out), &ct);
  if (rc != code) fail_msg("%s: expected %d, got %d (%s)", url, code, rc, rc ? "" : out);
  assert_string_equal(out, "");
  assert_null(ct);
}

static const char *HTML = "text/html; charset=utf-8";
static const char *JS = "text/javascript; charset=utf-8";
static const char *CSS = "text/css; charset=utf-8";

static void index_mapping(void **state) {
  fixture *f = *state;
  expect_file(f, "/ui", "index.html", HTML);
  expect_file(f, "/ui/", "index.html", HTML);
  expect_file(f, "/ui/index.html", "index.html", HTML);
  expect_file(f, "/ui/sub/", "sub/index.html", HTML);
  expect_file(f, "/ui/sub/page.css", "sub/page.css", CSS);
  /* A directory without the slash is not a file. */
  expect_refused(f, "/ui/sub", GW_ENOTFOUND);
  /* Only /ui and below. */
  expect_refused(f, "/", GW_EINVAL);
  expect_refused(f, "", GW_EINVAL);
  expect_refused(f, "/uifoo", GW_EINVAL);
  expect_refused(f, "/ui.html", GW_EINVAL);
  expect_refused(f, "/v1/ui/app.js", GW_EINVAL);
  expect_refused(f, "ui/app.js", GW_EINVAL);
}

static void content_types(void **state) {
  fixture *f = *state;
  expect_file(f, "/ui/app.js", "app.js", JS);
  expect_file(f, "/ui/style.css", "style.css", CSS);
  expect_file(f, "/ui/logo.svg", "logo.svg", "image/svg+xml");
  expect_file(f, "/ui/icon.PNG", "icon.PNG", "image/png");
  expect_file(f, "/ui/favicon.ico", "favicon.ico", "image/vnd.microsoft.icon");
  expect_file(f, "/ui/data.json", "data.json", "application/json");
  /* Percent-encoded plain characters decode once: %61 is 'a'. */
  expect_file(f, "/ui/%61pp.js", "app.js", JS);
  expect_refused(f, "/ui/notes.txt", GW_EUNSUPPORTED);
  expect_refused(f, "/ui/Makefile", GW_EUNSUPPORTED);
  expect_refused(f, "/ui/missing.js", GW_ENOTFOUND);
  assert_string_equal(gw_ui_content_type("a/b.HTML"), HTML);
  assert_string_equal(gw_ui_content_type("x.js"), JS);
  assert_null(gw_ui_content_type("x.js/readme"));
  assert_null(gw_ui_content_type("x."));
  assert_null(gw_ui_content_type("js"));
  assert_null(gw_ui_content_type(NULL));
}

static void traversal(void **state) {
  fixture *f = *state;
  static const char *hostile[] = {
      "/ui/../secret.html",
      "/ui/..",
      "/ui/../",
      "/ui/sub/../../secret.html",
      "/ui/sub/../index.html", /* harmless, but ".." is never interpreted */
      "/ui/./index.html",
      "/ui/.",
      "/ui/%2e%2e/secret.html",
      "/ui/%2E%2e/secret.html",
      "/ui/.%2e/secret.html",
      "/ui/%2e./secret.html",
      "/ui/%2e%2e%2fsecret.html",
      "/ui/..%2fsecret.html",
      "/ui/sub%2f..%2f..%2fsecret.html",
      "/ui/%252e%252e/secret.html", /* double encoding: decoded once, '%' refused */
      "/ui/..\\secret.html",
      "/ui\\..\\secret.html",
      "/ui/sub\\index.html",
      "/ui/%5c..%5csecret.html",
      "/ui/app.js%00.html",
      "/ui/%00",
      "/ui//etc/passwd",
      "/ui//",
      "/ui/sub//page.css",
      "/ui/.hidden.html",
      "/ui/%2ehidden.html",
      "/ui/%",
      "/ui/%2",
      "/ui/%zz.js",
      "/ui/a%2",
      "/ui/app js",
      "/ui/app%20.js",
      "/ui/caf\xc3\xa9.js",
      "/ui/app.js?x=1", /* the query string is the caller's to strip */
      "/ui/app.js#x",
      "/ui/~/app.js",
  };
  for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) expect_refused(f, hostile[i], GW_EINVAL);
}

static void symlinks(void **state) {
  fixture *f = *state;
  /* A link within the directory is served as its target (real path, target's type). */
  expect_file(f, "/ui/alias.js", "app.js", JS);
  expect_refused(f, "/ui/out.html", GW_EINVAL);
  expect_refused(f, "/ui/abs.js", GW_EINVAL);
  expect_refused(f, "/ui/evil.js", GW_EINVAL);
  expect_refused(f, "/ui/passwd.css", GW_EINVAL);
  expect_refused(f, "/ui/updir/secret.html", GW_EINVAL);
  /* Out and back in through a link: what counts is where the file really is. */
  expect_file(f, "/ui/updir/www/app.js", "app.js", JS);
  expect_refused(f, "/ui/dangling.js", GW_ENOTFOUND);
  expect_refused(f, "/ui/fifo.js", GW_ENOTFOUND);
}

static void root_and_capacity(void **state) {
  fixture *f = *state;
  char out[PATH_MAX], small[8];
  const char *ct = NULL;
  assert_int_equal(gw_ui_resolve(f->root, "/ui/app.js", small, sizeof(small), &ct), GW_ETOOBIG);
  assert_string_equal(small, "");
  assert_null(ct);
  /* content_type may be NULL. */
  assert_int_equal(gw_ui_resolve(f->root, "/ui/app.js", out, sizeof(out), NULL), 0);
  char missing[PATH_MAX + 16], file[PATH_MAX + 16];
  snprintf(missing, sizeof(missing), "%s/nope", f->base);
  assert_int_equal(gw_ui_resolve(missing, "/ui/app.js", out, sizeof(out), &ct), GW_ECONFIG);
  snprintf(file, sizeof(file), "%s/secret.html", f->base);
  assert_int_equal(gw_ui_resolve(file, "/ui/", out, sizeof(out), &ct), GW_ECONFIG);
  assert_int_equal(gw_ui_resolve(NULL, "/ui/", out, sizeof(out), &ct), GW_EINVAL);
  assert_int_equal(gw_ui_resolve(f->root, NULL, out, sizeof(out), &ct), GW_EINVAL);
  /* A root given with a trailing slash or through a link works the same. */
  char slash[PATH_MAX + 2], link[PATH_MAX + 16];
  snprintf(slash, sizeof(slash), "%s/", f->root);
  assert_int_equal(gw_ui_resolve(slash, "/ui/app.js", out, sizeof(out), &ct), 0);
  snprintf(link, sizeof(link), "%s/www-link", f->base);
  assert_int_equal(symlink("www", link), 0);
  assert_int_equal(gw_ui_resolve(link, "/ui/style.css", out, sizeof(out), &ct), 0);
  assert_string_equal(ct, CSS);
  /* A very long path is refused, not truncated. */
  size_t n = PATH_MAX + 100;
  char *lng = malloc(n + 1);
  assert_non_null(lng);
  memcpy(lng, "/ui/", 4);
  memset(lng + 4, 'a', n - 4);
  lng[n] = '\0';
  assert_int_equal(gw_ui_resolve(f->root, lng, out, sizeof(out), &ct), GW_ETOOBIG);
  free(lng);
}

static void read_files(void **state) {
  fixture *f = *state;
  char out[PATH_MAX], p[PATH_MAX + 32];
  char *body = NULL;
  size_t len = 0;
  gw_error err = {0};
  assert_int_equal(gw_ui_resolve(f->root, "/ui/app.js", out, sizeof(out), NULL), 0);
  assert_int_equal(gw_ui_read(out, &body, &len, &err), 0);
  assert_int_equal(len, strlen("'use strict';"));
  assert_string_equal(body, "'use strict';");
  free(body);
  /* The link itself, should the tree change after resolving: refused. */
  snprintf(p, sizeof(p), "%s/alias.js", f->root);
  assert_int_equal(gw_ui_read(p, &body, &len, &err), GW_EIO);
  assert_null(body);
  snprintf(p, sizeof(p), "%s/sub", f->root);
  assert_int_equal(gw_ui_read(p, &body, &len, &err), GW_ENOTFOUND);
  snprintf(p, sizeof(p), "%s/gone.js", f->root);
  assert_int_equal(gw_ui_read(p, &body, &len, &err), GW_ENOTFOUND);
  assert_non_null(strstr(err.msg, "gone.js"));
  /* Larger than allowed (sparse: costs no disk). */
  snprintf(p, sizeof(p), "%s/big.js", f->root);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, (off_t)GW_UI_MAX_FILE + 1), 0);
  close(fd);
  assert_int_equal(gw_ui_read(p, &body, &len, &err), GW_ETOOBIG);
  assert_null(body);
  unlink(p);
}

static void security_headers(void **state) {
  (void)state;
  const char *h = gw_ui_headers();
  assert_non_null(strstr(h, "Content-Security-Policy: default-src 'self'"));
  assert_non_null(strstr(h, "frame-ancestors 'none'"));
  assert_non_null(strstr(h, "X-Content-Type-Options: nosniff\r\n"));
  assert_non_null(strstr(h, "Referrer-Policy: no-referrer\r\n"));
  assert_non_null(strstr(h, "Cache-Control: no-cache\r\n"));
  /* Complete lines only, as gw_http_respond() wants them. */
  size_t n = strlen(h);
  assert_true(n > 2 && !strcmp(h + n - 2, "\r\n"));
  assert_null(strstr(h, "\n\n"));
}

/* The project's own page: present, served, and written for a CSP of
 * default-src 'self' (no inline script, style or event handler). */
static void project_page(void **state) {
  (void)state;
  char root[PATH_MAX], out[PATH_MAX];
  snprintf(root, sizeof(root), "%s/ui", LMCGW_SOURCE_DIR);
  const char *ct = NULL;
  assert_int_equal(gw_ui_resolve(root, "/ui", out, sizeof(out), &ct), 0);
  assert_string_equal(ct, HTML);
  size_t len;
  char *html = tu_read(out, &len);
  assert_non_null(html);
  assert_null(strstr(html, "<style"));
  assert_null(strstr(html, " style="));
  assert_null(strstr(html, " onclick="));
  assert_null(strstr(html, " onload="));
  assert_null(strstr(html, "javascript:"));
  assert_null(strstr(html, "http://"));
  assert_null(strstr(html, "https://"));
  for (const char *s = html; (s = strstr(s, "<script")); s++) {
    const char *end = strchr(s, '>');
    assert_non_null(end);
    char tag[256];
    snprintf(tag, sizeof(tag), "%.*s", (int)(end - s), s);
    assert_non_null(strstr(tag, " src=\"/ui/"));
    assert_true(!strncmp(end, "></script>", 10)); /* no inline body */
  }
  free(html);
  assert_int_equal(gw_ui_resolve(root, "/ui/app.js", out, sizeof(out), &ct), 0);
  assert_string_equal(ct, JS);
  char *js = tu_read(out, &len);
  assert_non_null(js);
  /* No eval-like constructs (CSP would block them) and no HTML from strings. */
  assert_null(strstr(js, "eval("));
  assert_null(strstr(js, "new Function"));
  assert_null(strstr(js, "innerHTML"));
  assert_null(strstr(js, "document.write"));
  assert_null(strstr(js, "https://"));
  free(js);
  assert_int_equal(gw_ui_resolve(root, "/ui/style.css", out, sizeof(out), &ct), 0);
  assert_string_equal(ct, CSS);
  char *css = tu_read(out, &len);
  assert_non_null(css);
  assert_null(strstr(css, "@import"));
  assert_null(strstr(css, "url(http"));
  free(css);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(index_mapping, setup, teardown),
      cmocka_unit_test_setup_teardown(content_types, setup, teardown),
      cmocka_unit_test_setup_teardown(traversal, setup, teardown),
      cmocka_unit_test_setup_teardown(symlinks, setup, teardown),
      cmocka_unit_test_setup_teardown(root_and_capacity, setup, teardown),
      cmocka_unit_test_setup_teardown(read_files, setup, teardown),
      cmocka_unit_test(security_headers),
      cmocka_unit_test(project_page),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
