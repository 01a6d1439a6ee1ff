/* lmcgw — one HTTP/1.1 connection: reading, llhttp parsing, timers, answers,
 * orderly close.
 *
 * Flow: bytes arrive (plaintext straight from the socket, or decrypted by
 * tls.c) and are parsed until a message is complete; the parser is then paused
 * and whatever follows is kept in c->in. conn_drive() hands the complete
 * request to the handler and, once gw_http_respond() has answered it, parses
 * the backlog for the next one, so pipelined requests are answered one at a
 * time and in order. Handler callbacks never run inside llhttp_execute().
 *
 * Ownership: see http_int.h. The request being parsed is c->req; it moves to
 * the handler at dispatch and comes back (and is freed) in gw_http_respond. */
#include "http/http_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"

static const gw_identity anonymous;

static void conn_drive(gw_http__conn *c);
static void update_reading(gw_http__conn *c);
static void begin_close(gw_http__conn *c);
static void finish_close(gw_http__conn *c);
static int send_bytes(gw_http__conn *c, char *buf, size_t len);

/* ---- references and teardown -------------------------------------------- */

static void conn_ref(gw_http__conn *c) { c->refs++; }

static void req_free(gw_http__req *r) {
  if (!r) return;
  if (r->pub.body != r->empty) free(r->pub.body);
  free(r->pub.headers);
  free(r->offs);
  free(r->head);
  free(r);
}

static void conn_unref(gw_http__conn *c) {
  if (--c->refs) return;
  gw_http_server *srv = c->srv;
  if (c->prev) c->prev->next = c->next;
  else srv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  req_free(c->req);
  free(c->in);
  gw_http__tls_conn_free(c);
  free(c->identity);
  free(c);
  gw_http__server_conn_freed(srv);
}

static void on_handle_closed(uv_handle_t *h) {
  gw_http__conn *c = h->data;
  if (--c->handles_open == 0) conn_unref(c);
}

void gw_http__conn_abort(gw_http__conn *c) {
  if (c->dead) return;
  c->dead = 1;
  c->reading = 0;
  atomic_fetch_sub_explicit(&c->srv->n_open, 1, memory_order_relaxed);
  if (c->fake) {
    conn_unref(c);
    return;
  }
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

/* ---- timers ---------------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

static void timer_start(gw_http__conn *c, unsigned ms) {
  if (c->fake || c->dead) return;
  uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void timer_stop(gw_http__conn *c) {
  if (c->fake || c->dead) return;
  uv_timer_stop(&c->timer);
}

/* ---- input backlog ------------------------------------------------------- */

static int in_append(gw_http__conn *c, const char *data, size_t len) {
  if (!len) return 0;
  if (c->in_off && c->in_off + c->in_len + len > c->in_cap) {
    memmove(c->in, c->in + c->in_off, c->in_len);
    c->in_off = 0;
  }
  if (c->in_len + len > c->in_cap) {
    size_t cap = c->in_cap ? c->in_cap : 4096;
    while (cap < c->in_len + len) cap *= 2;
    char *p = realloc(c->in, cap);
    if (!p) return GW_ENOMEM;
    c->in = p;
    c->in_cap = cap;
  }
  memcpy(c->in + c->in_off + c->in_len, data, len);
  c->in_len += len;
  return 0;
}

static void in_consume(gw_http__conn *c, size_t n) {
  c->in_off += n;
  c->in_len -= n;
  if (!c->in_len) {
    /* An idle connection keeps no input buffer. */
    free(c->in);
    c->in = NULL;
    c->in_off = c->in_cap = 0;
  }
}

/* ---- llhttp callbacks ---------------------------------------------------- */

static int fail(gw_http__conn *c, int status, const char *code, const char *msg) {
  if (!c->err_status) {
    c->err_status = status;
    c->err_code = code;
    c->err_msg = msg;
  }
  return HPE_USER;
}

static int head_append(gw_http__conn *c, const char *at, size_t len, int lower) {
  gw_http__req *r = c->req;
  r->head_bytes += len;
  if (r->head_bytes > c->srv->max_header_bytes)
    return fail(c, 431, "header_too_large", "request line and headers exceed the limit");
  if (r->head_len + len + 1 > r->head_cap) {
    size_t cap = r->head_cap ? r->head_cap : 512;
    while (cap < r->head_len + len + 1) cap *= 2;
    char *p = realloc(r->head, cap);
    if (!p) return fail(c, 503, "out_of_memory", "out of memory");
    r->head = p;
    r->head_cap = cap;
  }
  char *dst = r->head + r->head_len;
  if (lower) {
    for (size_t i = 0; i < len; i++) {
      unsigned char ch = (unsigned char)at[i];
      dst[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
  } else {
    memcpy(dst, at, len);
  }
  r->head_len += len;
  return 0;
}

static int head_nul(gw_http__conn *c) {
  gw_http__req *r = c->req;
  int rc = head_append(c, "", 0, 0); /* ensures room for the NUL */
  if (rc) return rc;
  r->head[r->head_len++] = '\0';
  return 0;
}

static int on_message_begin(llhttp_t *p) {
  gw_http__conn *c = p->data;
  gw_http__req *r = calloc(1, sizeof(*r));
  if (!r) return fail(c, 503, "out_of_memory", "out of memory");
  r->conn = c;
  r->pub.body = r->empty;
  r->pub.query = r->empty;
  c->req = r;
  /* The first request's deadline runs from accept (and includes the TLS
   * handshake), so trickling bytes in never extends it. */
  if (!c->fresh) timer_start(c, c->srv->header_timeout_ms);
  c->phase = GW_HTTP__HEAD;
  c->continue_sent = 0;
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) { return head_append(p->data, at, len, 0); }

static int on_url_complete(llhttp_t *p) { return head_nul(p->data); }

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  gw_http__conn *c = p->data;
  gw_http__req *r = c->req;
  if (c->phase == GW_HTTP__BODY) {
    /* Trailers: counted against the head limit, otherwise ignored. */
    r->trailer_bytes += len;
    return r->trailer_bytes > c->srv->max_header_bytes
               ? fail(c, 431, "header_too_large", "trailers exceed the limit")
               : 0;
  }
  if (r->hstate != 1) {
    if (r->n_offs == r->cap_offs) {
      size_t cap = r->cap_offs ? r->cap_offs * 2 : 16;
      gw_http__hdr_off *o = realloc(r->offs, cap * sizeof(*o));
      if (!o) return fail(c, 503, "out_of_memory", "out of memory");
      r->offs = o;
      r->cap_offs = cap;
    }
    r->offs[r->n_offs].name = r->head_len;
    r->offs[r->n_offs].value = SIZE_MAX;
    r->n_offs++;
    r->hstate = 1;
    r->head_bytes += 4; /* ": " and CRLF */
  }
  return head_append(c, at, len, 1);
}

static int on_header_field_complete(llhttp_t *p) {
  gw_http__conn *c = p->data;
  if (c->phase == GW_HTTP__BODY) return 0;
  c->req->hstate = 0;
  return head_nul(c);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  gw_http__conn *c = p->data;
  gw_http__req *r = c->req;
  if (c->phase == GW_HTTP__BODY) {
    r->trailer_bytes += len;
    return r->trailer_bytes > c->srv->max_header_bytes
               ? fail(c, 431, "header_too_large", "trailers exceed the limit")
               : 0;
  }
  if (!r->n_offs) return 0;
  if (r->hstate != 2) {
    r->offs[r->n_offs - 1].value = r->head_len;
    r->hstate = 2;
  }
  return head_append(c, at, len, 0);
}

static int on_header_value_complete(llhttp_t *p) {
  gw_http__conn *c = p->data;
  gw_http__req *r = c->req;
  if (c->phase == GW_HTTP__BODY) return 0;
  if (!r->n_offs) return 0;
  gw_http__hdr_off *o = &r->offs[r->n_offs - 1];
  if (o->value == SIZE_MAX) o->value = r->head_len; /* empty value */
  while (r->head_len > o->value && (r->head[r->head_len - 1] == ' ' || r->head[r->head_len - 1] == '\t'))
    r->head_len--;
  r->hstate = 0;
  return head_nul(c);
}

/* Origin-form is what clients send; absolute-form (RFC 9112 3.2.2) is reduced
 * to its path so handlers see one shape. */
static void split_target(gw_http__req *r) {
  char *url = r->head; /* the URL is the first string of the arena */
  if (!strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8)) {
    char *auth = strstr(url, "//") + 2;
    char *slash = strpbrk(auth, "/?");
    if (!slash) url = "/";
    else if (*slash == '?') { /* "http://h?q": path is "/" */
      slash[-1] = '/'; /* reuse the last authority byte: never read again */
      url = slash - 1;
    } else url = slash;
  }
  char *hash = strchr(url, '#');
  if (hash) *hash = '\0';
  char *q = strchr(url, '?');
  if (q) {
    *q = '\0';
    r->pub.query = q + 1;
  }
  r->pub.path = url;
}

static int on_headers_complete(llhttp_t *p) {
  gw_http__conn *c = p->data;
  gw_http__req *r = c->req;
  gw_http_server *srv = c->srv;
  if (!r->head || !r->head_len) return fail(c, 400, "bad_request", "empty request target");
  split_target(r);
  snprintf(r->pub.method, sizeof(r->pub.method), "%s", llhttp_method_name((llhttp_method_t)p->method));
  r->head_method = p->method == HTTP_HEAD;
  r->http10 = p->http_major == 1 && p->http_minor == 0;
  r->keep_alive = llhttp_should_keep_alive(p) && !p->upgrade;
  if (r->n_offs) {
    r->pub.headers = malloc(r->n_offs * sizeof(*r->pub.headers));
    if (!r->pub.headers) return fail(c, 503, "out_of_memory", "out of memory");
    for (size_t i = 0; i < r->n_offs; i++) {
      r->pub.headers[i].name = r->head + r->offs[i].name;
      r->pub.headers[i].value = r->head + r->offs[i].value;
    }
    r->pub.n_headers = r->n_offs;
  }
  free(r->offs);
  r->offs = NULL;
  r->n_offs = r->cap_offs = 0;
  /* Refused from the head alone: the body is never read. */
  if (!(p->flags & F_CHUNKED) && (p->flags & F_CONTENT_LENGTH) && p->content_length > srv->max_body)
    return fail(c, 413, "body_too_large", "request body exceeds the limit");
  const char *expect = gw_http_header_get(&r->pub, "expect");
  if (expect && !r->http10 && !strcasecmp(expect, "100-continue")) r->want_continue = 1;
  if ((p->flags & F_CONTENT_LENGTH) && p->content_length) {
    /* Grown as bytes arrive: a large announced length costs nothing until sent. */
    size_t first = p->content_length < (64u << 10) ? (size_t)p->content_length : (64u << 10);
    char *b = malloc(first + 1);
    if (!b) return fail(c, 503, "out_of_memory", "out of memory");
    r->pub.body = b;
    r->body_cap = first + 1;
  }
  c->phase = GW_HTTP__BODY;
  timer_start(c, srv->body_timeout_ms);
  return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  gw_http__conn *c = p->data;
  gw_http__req *r = c->req;
  if (r->pub.body_len + len > c->srv->max_body)
    return fail(c, 413, "body_too_large", "request body exceeds the limit");
  if (r->pub.body_len + len + 1 > r->body_cap) {
    size_t cap = r->body_cap ? r->body_cap : 4096;
    while (cap < r->pub.body_len + len + 1) cap *= 2;
    if (cap > c->srv->max_body + 1) cap = c->srv->max_body + 1;
    char *b = realloc(r->pub.body == r->empty ? NULL : r->pub.body, cap);
    if (!b) return fail(c, 503, "out_of_memory", "out of memory");
    r->pub.body = b;
    r->body_cap = cap;
  }
  memcpy(r->pub.body + r->pub.body_len, at, len);
  r->pub.body_len += len;
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  gw_http__conn *c = p->data;
  gw_http__req *r = c->req;
  r->pub.body[r->pub.body_len] = '\0';
  r->pub.received_ns = uv_hrtime();
  timer_stop(c);
  c->phase = GW_HTTP__READY;
  /* Stop here: what follows is the next request, parsed after this one is
   * answered. */
  return HPE_PAUSED;
}

static const llhttp_settings_t parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_url_complete = on_url_complete,
    .on_header_field = on_header_field,
    .on_header_field_complete = on_header_field_complete,
    .on_header_value = on_header_value,
    .on_header_value_complete = on_header_value_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* Runs the parser over data; returns how many bytes it took. Stops early when
 * a message is complete (phase READY) or on error (err_status set). */
static size_t conn_parse(gw_http__conn *c, const char *data, size_t len) {
  if (c->paused) {
    llhttp_resume(&c->parser);
    c->paused = 0;
  }
  int before = c->phase;
  llhttp_errno_t e = llhttp_execute(&c->parser, data, len);
  size_t used = len;
  if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
    used = (size_t)(llhttp_get_error_pos(&c->parser) - data);
    c->paused = 1;
    if (e == HPE_PAUSED_UPGRADE && c->req) c->req->keep_alive = 0; /* no protocol switch: close after */
  } else if (e != HPE_OK) {
    if (!c->err_status) {
      c->err_status = 400;
      c->err_code = "bad_request";
      c->err_msg = llhttp_get_error_reason(&c->parser);
      if (!c->err_msg || !*c->err_msg) c->err_msg = llhttp_errno_name(e);
    }
    return len;
  }
  /* Header bytes the callbacks never see (whitespace, line folding...) still
   * count: an unfinished head is charged everything fed since it began. */
  if (c->phase == GW_HTTP__HEAD) {
    c->head_raw = (before == GW_HTTP__HEAD ? c->head_raw : 0) + used;
    if (c->head_raw > c->srv->max_header_bytes) {
      fail(c, 431, "header_too_large", "request line and headers exceed the limit");
      return len;
    }
  }
  if (c->phase == GW_HTTP__BODY && c->req->want_continue && !c->continue_sent) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    c->continue_sent = 1;
    char *b = malloc(sizeof(cont) - 1);
    if (b) {
      memcpy(b, cont, sizeof(cont) - 1);
      send_bytes(c, b, sizeof(cont) - 1);
    }
  }
  return used;
}

/* ---- writing ------------------------------------------------------------- */

typedef struct wreq {
  uv_write_t req;
  char *buf;
  size_t len;
} wreq;

static void on_write(uv_write_t *w, int status) {
  wreq *wr = (wreq *)w;
  gw_http__conn *c = w->data;
  c->writes--;
  c->out_bytes -= wr->len;
  free(wr->buf);
  free(wr);
  if (c->dead) return;
  if (status < 0) {
    gw_http__conn_abort(c);
    return;
  }
  /* Progress: a slow but reading client is not idle. */
  if (c->phase == GW_HTTP__IDLE || (c->phase == GW_HTTP__CLOSING && !c->fin_sent))
    timer_start(c, c->srv->idle_timeout_ms);
  if (c->phase == GW_HTTP__CLOSING) {
    if (!c->writes) finish_close(c);
    return;
  }
  if (c->stalled && c->out_bytes <= GW_HTTP__OUT_HIGH / 2) {
    c->stalled = 0;
    conn_drive(c);
  } else {
    update_reading(c);
  }
}

int gw_http__conn_send(gw_http__conn *c, char *buf, size_t len) {
  if (c->dead || c->fake || !len) {
    free(buf);
    return c->dead ? UV_ECANCELED : 0;
  }
  size_t off = 0;
  if (!c->writes) {
    /* Most answers fit in the socket buffer: no request, no callback. */
    uv_buf_t b = uv_buf_init(buf, (unsigned)len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n >= 0) off = (size_t)n;
    else if (n != UV_EAGAIN && n != UV_ENOSYS) {
      free(buf);
      gw_http__conn_abort(c);
      return n;
    }
  }
  if (off == len) {
    free(buf);
    return 0;
  }
  wreq *wr = malloc(sizeof(*wr));
  if (!wr) {
    free(buf);
    gw_http__conn_abort(c);
    return UV_ENOMEM;
  }
  wr->buf = buf;
  wr->len = len - off;
  wr->req.data = c;
  uv_buf_t b = uv_buf_init(buf + off, (unsigned)(len - off));
  int rc = uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
  if (rc) {
    free(buf);
    free(wr);
    gw_http__conn_abort(c);
    return rc;
  }
  c->writes++;
  c->out_bytes += wr->len;
  return 0;
}

/* Plain or TLS, the same ordered byte stream. */
static int send_bytes(gw_http__conn *c, char *buf, size_t len) {
  if (!c->ssl) return gw_http__conn_send(c, buf, len);
  int rc = gw_http__tls_write(c, buf, len);
  free(buf);
  return rc;
}

static void date_header(gw_http_server *srv) {
  static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t now = time(NULL);
  if ((long)now == srv->date_sec) return;
  struct tm tm;
  gmtime_r(&now, &tm);
  snprintf(srv->date, sizeof(srv->date), "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n", days[tm.tm_wday % 7],
           tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  srv->date_sec = (long)now;
}

/* Whether the handler's extra headers ask to close the connection. */
static int asks_close(const char *h) {
  for (const char *line = h; line && *line;) {
    if (!strncasecmp(line, "connection:", 11)) {
      const char *v = line + 11;
      const char *eol = strchr(v, '\n');
      size_t n = eol ? (size_t)(eol - v) : strlen(v);
      for (size_t i = 0; i + 5 <= n; i++)
        if (!strncasecmp(v + i, "close", 5)) return 1;
    }
    line = strchr(line, '\n');
    if (line) line++;
  }
  return 0;
}

static int has_crlf(const char *s) { return s && strpbrk(s, "\r\n") != NULL; }

/* Builds and queues one answer. close_after decides "Connection: close". */
static void write_response(gw_http__conn *c, int status, const char *ctype, const char *body, size_t body_len,
                           const char *extra, int keep, int http10, int head_only) {
  gw_http_server *srv = c->srv;
  int no_body = (status >= 100 && status < 200) || status == 204 || status == 304;
  int send_body = !no_body && !head_only;
  if (has_crlf(ctype)) ctype = NULL; /* never let a value split the head */
  size_t extra_len = extra ? strlen(extra) : 0;
  int extra_crlf = extra_len && (extra_len < 2 || extra[extra_len - 1] != '\n');
  date_header(srv);
  size_t cap = 256 + (ctype ? strlen(ctype) : 0) + strlen(srv->date) + extra_len + 2 +
               (send_body ? body_len : 0);
  char *out = malloc(cap);
  if (!out) {
    gw_http__conn_abort(c);
    return;
  }
  int n = snprintf(out, cap, "HTTP/1.1 %d %s\r\n", status, gw_http_status_text(status));
  size_t len = (size_t)n;
  if (ctype && *ctype && !no_body) len += (size_t)snprintf(out + len, cap - len, "Content-Type: %s\r\n", ctype);
  if (!no_body) len += (size_t)snprintf(out + len, cap - len, "Content-Length: %zu\r\n", body_len);
  len += (size_t)snprintf(out + len, cap - len, "%s", srv->date);
  if (!keep && !asks_close(extra)) len += (size_t)snprintf(out + len, cap - len, "Connection: close\r\n");
  else if (http10) len += (size_t)snprintf(out + len, cap - len, "Connection: keep-alive\r\n");
  if (extra_len) {
    memcpy(out + len, extra, extra_len);
    len += extra_len;
    if (extra_crlf) {
      out[len++] = '\r';
      out[len++] = '\n';
    }
  }
  out[len++] = '\r';
  out[len++] = '\n';
  if (send_body && body_len) {
    memcpy(out + len, body, body_len);
    len += body_len;
  }
  send_bytes(c, out, len);
}

static size_t json_escape(char *dst, size_t cap, const char *s) {
  size_t n = 0;
  for (; s && *s && n + 7 < cap; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      dst[n++] = '\\';
      dst[n++] = (char)ch;
    } else if (ch < 0x20 || ch >= 0x7f) {
      n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", ch);
    } else {
      dst[n++] = (char)ch;
    }
  }
  dst[n] = '\0';
  return n;
}

/* The connection cannot go on (bad request, limit, timeout): answer and close. */
static void send_error(gw_http__conn *c) {
  char msg[256], body[384];
  json_escape(msg, sizeof(msg), c->err_msg ? c->err_msg : "");
  int n = snprintf(body, sizeof(body), "{\"errors\":[{\"code\":\"%s\",\"message\":\"%s\"}]}",
                   c->err_code ? c->err_code : "bad_request", msg);
  int status = c->err_status;
  req_free(c->req);
  c->req = NULL;
  gw_http__count(&c->srv->stats.requests_total);
  if (status > 0 && status < 600) gw_http__count(&c->srv->stats.responses_by_status[status]);
  c->phase = GW_HTTP__CLOSING;
  write_response(c, status, "application/json", body, (size_t)n, NULL, 0, 0, 0);
  begin_close(c);
}

/* ---- closing ------------------------------------------------------------- */

static void on_shutdown(uv_shutdown_t *s, int status) {
  gw_http__conn *c = s->data;
  free(s);
  if (c->dead) return;
  if (status < 0 || c->eof) gw_http__conn_abort(c);
  /* else: drain what the client still sends until it closes or the linger
   * timer fires. */
}

/* Output is flushed: say goodbye (close_notify, FIN) and linger. */
static void finish_close(gw_http__conn *c) {
  if (c->dead || c->writes || c->fin_sent) return;
  if (c->ssl && c->tls_done && !c->tls_failed && !c->tls_shut) {
    c->tls_shut = 1;
    gw_http__tls_shutdown(c);
    if (c->dead || c->writes) return; /* on_write comes back here */
  }
  if (c->fake) {
    gw_http__conn_abort(c);
    return;
  }
  c->fin_sent = 1;
  uv_shutdown_t *s = malloc(sizeof(*s));
  if (!s || uv_shutdown(s, (uv_stream_t *)&c->tcp, on_shutdown)) {
    free(s);
    gw_http__conn_abort(c);
    return;
  }
  s->data = c;
  if (c->eof) return; /* on_shutdown closes */
  timer_start(c, GW_HTTP__LINGER_MS);
  update_reading(c);
}

static void begin_close(gw_http__conn *c) {
  if (c->dead) return;
  c->phase = GW_HTTP__CLOSING;
  if (c->writes) {
    /* A client that stops reading cannot hold the connection forever. */
    timer_start(c, c->srv->idle_timeout_ms);
    update_reading(c);
  } else {
    finish_close(c);
  }
}

/* ---- reading ------------------------------------------------------------- */

static size_t backlog(const gw_http__conn *c) { return c->in_len + (c->ssl ? gw_http__tls_backlog(c) : 0); }

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  gw_http__conn *c = h->data;
  (void)suggested;
  *buf = uv_buf_init(c->srv->rbuf, sizeof(c->srv->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void update_reading(gw_http__conn *c) {
  if (c->dead || c->fake) return;
  int want;
  if (c->eof) want = 0;
  else if (c->phase == GW_HTTP__CLOSING) want = 1; /* drained and dropped */
  else want = backlog(c) < GW_HTTP__IN_HIGH && c->out_bytes <= GW_HTTP__OUT_HIGH;
  if (want && !c->reading) {
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) c->reading = 1;
  } else if (!want && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
}

/* Plaintext arrived. Parsed in place when nothing is queued before it, so the
 * common case copies nothing; the rest waits in c->in. */
static void plain_input(gw_http__conn *c, const char *data, size_t len) {
  size_t used = 0;
  if (!c->in_len && !c->err_status && !c->stalled &&
      (c->phase == GW_HTTP__IDLE || c->phase == GW_HTTP__HEAD || c->phase == GW_HTTP__BODY))
    used = conn_parse(c, data, len);
  if (used < len && !c->err_status && in_append(c, data + used, len - used)) {
    gw_http__conn_abort(c);
    return;
  }
  conn_drive(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  gw_http__conn *c = s->data;
  if (c->dead) return;
  if (nread == 0) return;
  if (nread < 0) {
    if (nread != UV_EOF || c->phase == GW_HTTP__HANDSHAKE) {
      /* Reset: a request with the handler stays valid, its answer dropped. */
      gw_http__conn_abort(c);
      return;
    }
    /* A half-close still gets its answer: the client may be waiting for it. */
    c->eof = 1;
    update_reading(c);
    if (c->phase == GW_HTTP__CLOSING) {
      if (c->fin_sent) gw_http__conn_abort(c); /* both directions done */
      return;                                  /* else on_shutdown closes */
    }
    conn_drive(c);
    return;
  }
  if (c->phase == GW_HTTP__CLOSING) return; /* lingering: discard */
  if (c->ssl) {
    if (gw_http__tls_feed(c, buf->base, (size_t)nread)) {
      if (!c->dead) begin_close(c); /* let the alert go out */
      return;
    }
    if (c->phase == GW_HTTP__HANDSHAKE) {
      update_reading(c);
      return;
    }
    conn_drive(c);
    return;
  }
  plain_input(c, buf->base, (size_t)nread);
}

/* ---- dispatch loop ------------------------------------------------------- */

static void dispatch(gw_http__conn *c) {
  gw_http__req *r = c->req;
  gw_http_server *srv = c->srv;
  c->phase = GW_HTTP__HANDLER;
  c->fresh = 0;
  r->pub.identity = c->identity ? c->identity : &anonymous;
  memcpy(r->pub.peer, c->peer, sizeof(r->pub.peer));
  conn_ref(c); /* dropped by gw_http_respond */
  atomic_fetch_add_explicit(&srv->n_pending, 1, memory_order_relaxed);
  gw_http__count(&srv->stats.requests_total);
  srv->on_request(&r->pub, srv->ud);
}

/* Moves the connection forward as far as it can go without waiting: hands a
 * complete request over, parses the backlog, decrypts pending records, sends
 * error answers, closes at EOF. Re-entry (a handler answering synchronously)
 * just returns; the outer loop picks the work up. */
static void conn_drive(gw_http__conn *c) {
  if (c->driving) return;
  c->driving = 1;
  conn_ref(c);
  while (!c->dead) {
    if (c->phase == GW_HTTP__READY) {
      dispatch(c);
      continue;
    }
    if (c->phase == GW_HTTP__HANDLER || c->phase == GW_HTTP__CLOSING || c->phase == GW_HTTP__HANDSHAKE) break;
    if (c->err_status) {
      send_error(c);
      break;
    }
    if (c->out_bytes > GW_HTTP__OUT_HIGH) {
      c->stalled = 1;
      break;
    }
    if (c->in_len) {
      int ph = c->phase;
      size_t used = conn_parse(c, c->in + c->in_off, c->in_len);
      if (c->err_status) continue;
      in_consume(c, used);
      if (!used && ph == c->phase) break; /* defensive: no progress */
      continue;
    }
    if (c->ssl) {
      int n = gw_http__tls_read(c, c->srv->plain, sizeof(c->srv->plain));
      if (n > 0) {
        size_t used = conn_parse(c, c->srv->plain, (size_t)n);
        if (!c->err_status && used < (size_t)n && in_append(c, c->srv->plain + used, (size_t)n - used)) {
          gw_http__conn_abort(c);
          break;
        }
        continue;
      }
      if (n == GW_HTTP__TLS_EOF) c->eof = 1;
      else if (n < 0) {
        begin_close(c); /* alert queued by OpenSSL, if any */
        break;
      }
    }
    if (c->eof) {
      if (c->phase == GW_HTTP__IDLE) begin_close(c);
      else gw_http__conn_abort(c); /* a request cut short: nobody to answer */
    }
    break;
  }
  update_reading(c);
  c->driving = 0;
  conn_unref(c);
}

/* ---- timers ---------------------------------------------------------------- */

static void on_timer(uv_timer_t *t) {
  gw_http__conn *c = t->data;
  gw_http_server *srv = c->srv;
  switch (c->phase) {
  case GW_HTTP__HEAD:
  case GW_HTTP__BODY:
    gw_http__count(&srv->stats.timeouts);
    fail(c, 408, "request_timeout",
         c->phase == GW_HTTP__HEAD ? "request head not received in time" : "request body not received in time");
    conn_drive(c);
    break;
  case GW_HTTP__IDLE:
    /* Keep-alive expiry is normal; a connection that never sent a request,
     * or does not read what it asked for, is counted. */
    if (c->fresh || c->writes) gw_http__count(&srv->stats.timeouts);
    gw_http__conn_abort(c);
    break;
  case GW_HTTP__HANDSHAKE:
    gw_http__count(&srv->stats.timeouts);
    gw_http__conn_abort(c);
    break;
  case GW_HTTP__CLOSING:
    if (c->writes) gw_http__count(&srv->stats.timeouts);
    gw_http__conn_abort(c);
    break;
  default:
    break;
  }
}

/* ---- accept and init ----------------------------------------------------- */

static void conn_init_common(gw_http__conn *c, gw_http_server *srv) {
  c->srv = srv;
  c->refs = 1; /* the handles' (or, when fake, the caller's) */
  c->fresh = 1;
  c->phase = GW_HTTP__IDLE;
  llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
  c->parser.data = c;
  c->next = srv->conns;
  if (c->next) c->next->prev = c;
  srv->conns = c;
  srv->n_alive++;
  atomic_fetch_add_explicit(&srv->n_open, 1, memory_order_relaxed);
}

static void format_peer(gw_http__conn *c) {
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  char ip[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
      uv_ip6_name(a, ip, sizeof(ip));
      port = ntohs(a->sin6_port);
      snprintf(c->peer, sizeof(c->peer), "[%s]:%d", ip, port);
      return;
    }
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    uv_ip4_name(a, ip, sizeof(ip));
    port = ntohs(a->sin_port);
  }
  snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, port);
}

static void on_reject_closed(uv_handle_t *h) { free(h); }

void gw_http__conn_accept(gw_http_server *srv) {
  gw_http__conn *c = calloc(1, sizeof(*c));
  if (!c) {
    /* libuv stops polling a listener whose connection is not taken: take it
     * and drop it, or the server would go deaf. */
    uv_tcp_t *t = malloc(sizeof(*t));
    if (t && uv_tcp_init(srv->loop, t) == 0) {
      uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)t);
      uv_close((uv_handle_t *)t, on_reject_closed);
    } else {
      free(t);
    }
    gw_log(GW_LOG_ERROR, "http_accept", "out of memory: connection dropped");
    return;
  }
  uv_tcp_init(srv->loop, &c->tcp);
  uv_timer_init(srv->loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  c->handles_open = 2;
  conn_init_common(c, srv);
  int rc = uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&c->tcp);
  if (rc) {
    gw_log(GW_LOG_WARN, "http_accept", "uv_accept: %s", uv_strerror(rc));
    gw_http__conn_abort(c);
    return;
  }
  gw_http__count(&srv->stats.connections_accepted);
  uv_tcp_nodelay(&c->tcp, 1);
  format_peer(c);
  if (srv->tls) {
    if (gw_http__tls_conn_init(c)) {
      gw_http__count(&srv->stats.tls_handshake_failures);
      gw_http__conn_abort(c);
      return;
    }
    c->phase = GW_HTTP__HANDSHAKE;
  }
  if (srv->closing) {
    gw_http__conn_abort(c);
    return;
  }
  timer_start(c, srv->header_timeout_ms);
  update_reading(c);
}

void gw_http__conn_tls_ready(gw_http__conn *c) {
  c->phase = GW_HTTP__IDLE; /* the deadline from accept keeps running */
}

void gw_http__conn_shutdown(gw_http__conn *c) {
  if (c->dead) return;
  switch (c->phase) {
  case GW_HTTP__HANDSHAKE:
    gw_http__conn_abort(c);
    break;
  case GW_HTTP__IDLE:
    if (c->in_len) break; /* a pipelined request is about to be parsed: answer it */
    begin_close(c);
    break;
  default:
    /* Receiving or with the handler: the answer carries Connection: close. */
    break;
  }
}

/* ---- the answer ---------------------------------------------------------- */

void gw_http_respond(gw_http_request *req, int status, const char *content_type, const char *body,
                     size_t body_len, const char *extra_headers) {
  if (!req) return;
  gw_http__req *r = (gw_http__req *)req;
  gw_http__conn *c = r->conn;
  gw_http_server *srv = c->srv;
  atomic_fetch_sub_explicit(&srv->n_pending, 1, memory_order_relaxed);
  if (status < 200 || status > 599) { /* 1xx is never a final answer */
    gw_log(GW_LOG_ERROR, "http_respond", "handler answered status %d: sending 500", status);
    status = 500;
  }
  c->req = NULL;
  if (!c->dead) {
    int keep = r->keep_alive && !srv->closing && !asks_close(extra_headers);
    gw_http__count(&srv->stats.responses_by_status[status]);
    write_response(c, status, content_type, body ? body : "", body ? body_len : 0, extra_headers, keep, r->http10,
                   r->head_method);
    if (!c->dead) {
      if (keep) {
        c->phase = GW_HTTP__IDLE;
        timer_start(c, srv->idle_timeout_ms);
        conn_drive(c);
      } else {
        begin_close(c);
      }
    }
  }
  req_free(r);
  conn_unref(c); /* may free the connection, then the server */
}

/* ---- fuzzing --------------------------------------------------------------- */

static void fuzz_on_request(gw_http_request *req, void *ud) {
  (void)ud;
  const char *ct = gw_http_header_get(req, "content-type");
  char extra[64];
  snprintf(extra, sizeof(extra), "X-Path-Len: %zu\r\n", strlen(req->path) + strlen(req->query));
  char k = req->path[0] ? req->path[1] : 0;
  int status = req->body_len ? 201 : (k == 'c' ? 204 : 200);
  if (k == 'x') gw_http_respond(req, status, ct, req->body, req->body_len, "Connection: close\r\n");
  else gw_http_respond(req, status, ct, req->body, req->body_len, extra);
}

void gw_http__fuzz_feed(const uint8_t *data, size_t len) {
  static gw_http_server *srv;
  if (!srv) {
    srv = calloc(1, sizeof(*srv));
    if (!srv) return;
    srv->fake = 1;
    srv->on_request = fuzz_on_request;
    srv->max_body = 64u << 10;
    srv->max_header_bytes = 4096;
    srv->header_timeout_ms = srv->body_timeout_ms = srv->idle_timeout_ms = 1000;
    srv->date_sec = -1;
  }
  gw_http__conn *c = calloc(1, sizeof(*c));
  if (!c) return;
  c->fake = 1;
  conn_init_common(c, srv);
  snprintf(c->peer, sizeof(c->peer), "fuzz:0");
  conn_ref(c); /* ours, so c stays readable until the end */
  /* The first byte picks the read size, so request pieces straddle reads the
   * way they do on a real socket. */
  size_t step = len ? (size_t)data[0] * 7 + 1 : 1;
  for (size_t off = len ? 1 : 0; off < len && !c->dead; off += step) {
    size_t n = len - off < step ? len - off : step;
    if (c->phase == GW_HTTP__CLOSING) break;
    plain_input(c, (const char *)data + off, n);
  }
  if (!c->dead) {
    c->eof = 1;
    conn_drive(c);
  }
  if (!c->dead) gw_http__conn_abort(c);
  conn_unref(c);
}
