/* lmcgw — the inspector page's files, served from a directory (see static.h). */
#include "ui/static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
  const char *ext;
  const char *type;
} types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"}, /* RFC 9239 */
    {"css", "text/css; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"ico", "image/vnd.microsoft.icon"},
    {"json", "application/json"},
};

const char *gw_ui_content_type(const char *name) {
  if (!name) return NULL;
  const char *slash = strrchr(name, '/');
  const char *dot = strrchr(slash ? slash + 1 : name, '.');
  if (!dot || !dot[1]) return NULL;
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
    if (!strcasecmp(dot + 1, types[i].ext)) return types[i].type;
  return NULL;
}

/* frame-ancestors is not covered by default-src: without it the page could be
 * framed by another site and its buttons clicked through (clickjacking). */
const char *gw_ui_headers(void) {
  return "Content-Security-Policy: default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'\r\n"
         "X-Content-Type-Options: nosniff\r\n"
         "Referrer-Policy: no-referrer\r\n"
         "Cache-Control: no-cache\r\n";
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The page's files have plain names; anything else (separators, NUL, '%' left
 * after decoding, spaces, non-ASCII) is refused rather than interpreted. */
static int name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_';
}

/* url_path after "/ui" → a relative path of plain segments, decoded once. */
static int relative_path(const char *p, char *rel, size_t cap) {
  size_t n = 0;
  if (*p == '/') p++;
  while (*p) {
    const char *end = strchr(p, '/');
    if (!end) end = p + strlen(p);
    if (end == p) return GW_EINVAL; /* "//": an empty segment, or an absolute path after /ui/ */
    size_t start = n;
    for (const char *q = p; q < end; q++) {
      int c = (unsigned char)*q;
      if (c == '%') {
        /* hexval() of '/' or NUL is -1, so this never reads past the segment. */
        int hi = hexval((unsigned char)q[1]), lo = hi < 0 ? -1 : hexval((unsigned char)q[2]);
        if (hi < 0 || lo < 0) return GW_EINVAL;
        c = hi * 16 + lo;
        q += 2;
      }
      if (!name_char((unsigned char)c)) return GW_EINVAL;
      if (n + 1 >= cap) return GW_ETOOBIG;
      rel[n++] = (char)c;
    }
    /* ".", ".." and hidden files (.git, .htpasswd…) alike. */
    if (rel[start] == '.') return GW_EINVAL;
    if (*end == '/') {
      if (n + 1 >= cap) return GW_ETOOBIG;
      rel[n++] = '/';
      p = end + 1;
    } else {
      p = end;
    }
  }
  static const char index_name[] = "index.html";
  if (n == 0 || rel[n - 1] == '/') {
    if (n + sizeof(index_name) > cap) return GW_ETOOBIG;
    memcpy(rel + n, index_name, sizeof(index_name));
  } else {
    rel[n] = '\0';
  }
  return 0;
}

int gw_ui_resolve(const char *root_dir, const char *url_path, char *out_path, size_t cap,
                  const char **content_type) {
  if (content_type) *content_type = NULL;
  if (out_path && cap) out_path[0] = '\0';
  if (!root_dir || !url_path || !out_path || !cap) return GW_EINVAL;
  if (strncmp(url_path, "/ui", 3) || (url_path[3] && url_path[3] != '/')) return GW_EINVAL;

  char rel[PATH_MAX];
  int rc = relative_path(url_path + 3, rel, sizeof(rel));
  if (rc) return rc;

  char root[PATH_MAX], want[PATH_MAX], real[PATH_MAX];
  struct stat st;
  if (!realpath(root_dir, root) || stat(root, &st) || !S_ISDIR(st.st_mode)) return GW_ECONFIG;
  size_t rl = strlen(root);
  int w = snprintf(want, sizeof(want), "%s/%s", rl == 1 ? "" : root, rel);
  if (w < 0 || (size_t)w >= sizeof(want)) return GW_ETOOBIG;
  /* Resolving symlinks is what makes the containment check below mean anything. */
  if (!realpath(want, real)) return errno == ENAMETOOLONG ? GW_ETOOBIG : GW_ENOTFOUND;
  if (rl > 1 && (strncmp(real, root, rl) || real[rl] != '/')) return GW_EINVAL;
  if (stat(real, &st) || !S_ISREG(st.st_mode)) return GW_ENOTFOUND;
  /* The type of what is served: a link's target, not the name asked for. */
  const char *type = gw_ui_content_type(real);
  if (!type) return GW_EUNSUPPORTED;
  size_t len = strlen(real);
  if (len + 1 > cap) return GW_ETOOBIG;
  memcpy(out_path, real, len + 1);
  if (content_type) *content_type = type;
  return 0;
}

int gw_ui_read(const char *path, char **out, size_t *len, gw_error *err) {
  *out = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return GW_ERR(err, errno == ENOENT ? GW_ENOTFOUND : GW_EIO, "%s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    close(fd);
    return GW_ERR(err, GW_ENOTFOUND, "%s: not a regular file", path);
  }
  if ((unsigned long long)st.st_size > GW_UI_MAX_FILE) {
    close(fd);
    return GW_ERR(err, GW_ETOOBIG, "%s: %lld bytes, more than the %u allowed", path, (long long)st.st_size,
                  GW_UI_MAX_FILE);
  }
  size_t size = (size_t)st.st_size, got = 0;
  char *buf = malloc(size + 1);
  if (!buf) {
    close(fd);
    return GW_ERR(err, GW_ENOMEM, "out of memory");
  }
  int failed = 0;
  while (got < size) {
    ssize_t r = read(fd, buf + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) failed = errno;
    if (r <= 0) break; /* r == 0: the file shrank meanwhile; serve what is there */
    got += (size_t)r;
  }
  close(fd);
  if (failed) {
    free(buf);
    return GW_ERR(err, GW_EIO, "%s: %s", path, strerror(failed));
  }
  buf[got] = '\0';
  *out = buf;
  *len = got;
  return 0;
}

int gw_ui_serve(gw_http_request *req, const char *root_dir) {
  static const char not_found[] = "not found\n";
  char hdr[512];
  if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
    snprintf(hdr, sizeof(hdr), "%sAllow: GET, HEAD\r\n", gw_ui_headers());
    gw_http_respond(req, 405, "text/plain; charset=utf-8", "use GET\n", 8, hdr);
    return 405;
  }
  char path[PATH_MAX];
  const char *type = NULL;
  char *body = NULL;
  size_t len = 0;
  gw_error err = {0};
  int rc = gw_ui_resolve(root_dir, req->path, path, sizeof(path), &type);
  if (!rc) rc = gw_ui_read(path, &body, &len, &err);
  if (rc == GW_ENOMEM) {
    gw_http_respond(req, 500, "text/plain; charset=utf-8", "out of memory\n", 14, gw_ui_headers());
    return 500;
  }
  if (rc) {
    gw_http_respond(req, 404, "text/plain; charset=utf-8", not_found, sizeof(not_found) - 1, gw_ui_headers());
    return 404;
  }
  gw_http_respond(req, 200, type, body, len, gw_ui_headers());
  free(body);
  return 200;
}
