/* lmcgw — the inspector page's files (ui/), served from a directory on disk.
 *
 * The gateway serves index.html, app.js and style.css of <data dir>/ui under
 * /ui. A URL path is mapped to a file only when it cannot name anything outside
 * that directory: no "..", no hidden segments, no percent-encoded separators or
 * dots that would decode to them, no backslashes, no NUL, and after symlinks are
 * resolved (realpath) the file must still lie inside the directory and be a
 * regular file with an extension of the content-type table.
 *
 * Threading: every function is reentrant (no shared state).
 * Ownership: all buffers are the caller's; returned strings are static. */
#ifndef GW_UI_STATIC_H
#define GW_UI_STATIC_H

#include <stddef.h>

#include "core/error.h"
#include "http/http.h"

/* Largest file gw_ui_read() and gw_ui_serve() accept (the page is a few kB). */
#define GW_UI_MAX_FILE (4u * 1024u * 1024u)

/* Maps url_path ("/ui", "/ui/", "/ui/app.js"; without the query string) to a
 * file of root_dir. "/ui", "/ui/" and any path ending in '/' name index.html.
 * On success out_path (capacity cap) receives the file's real path and
 * *content_type (may be NULL) its media type; returns 0. Otherwise out_path is
 * "" and it returns:
 *   GW_EINVAL     the path is not under /ui, or is malformed or hostile
 *                 (traversal, encoded dots or slashes, backslash, NUL, hidden file,
 *                 a symlink leading out of root_dir);
 *   GW_ENOTFOUND  no such file, or not a regular file;
 *   GW_EUNSUPPORTED  an extension outside the content-type table;
 *   GW_ETOOBIG    out_path too small;
 *   GW_ECONFIG    root_dir missing or not a directory.
 * All of these are a 404 to a client: tell it nothing about the disk. */
int gw_ui_resolve(const char *root_dir, const char *url_path, char *out_path, size_t cap,
                  const char **content_type);

/* Media type for a file name by its extension (case-insensitive): html, js, css,
 * svg, png, ico, json. NULL for anything else. */
const char *gw_ui_content_type(const char *name);

/* The security headers of every answer of the page, as complete
 * "Name: value\r\n" lines for gw_http_respond()'s extra_headers:
 * Content-Security-Policy (default-src 'self', no framing), nosniff,
 * Referrer-Policy no-referrer, Cache-Control no-cache. Static. */
const char *gw_ui_headers(void);

/* Reads a file gw_ui_resolve() returned: refuses symlinks (O_NOFOLLOW, in case
 * the tree changed since), anything but a regular file, and files larger than
 * GW_UI_MAX_FILE. *out is malloc'd (caller frees), NUL-terminated, *len its size. */
int gw_ui_read(const char *path, char **out, size_t *len, gw_error *err);

/* Answers req for a path under /ui from root_dir, in every case: 200 with the
 * file and gw_ui_headers(); 405 (Allow: GET, HEAD) for other methods; 404
 * text/plain for anything gw_ui_resolve() or gw_ui_read() refuses; 500 when
 * memory runs out. The request is invalid afterwards. Returns the status sent. */
int gw_ui_serve(gw_http_request *req, const char *root_dir);

#endif
