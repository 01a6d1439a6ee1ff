#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum gw_log_level g_level = GW_LOG_INFO;

void gw_log_set_level(enum gw_log_level lvl) { g_level = lvl; }

int gw_log_level_parse(const char *s) {
  static const char *names[] = {"debug", "info", "warn", "error", "off"};
  for (int i = 0; i < 5; i++)
    if (strcmp(s, names[i]) == 0) return i;
  return -1;
}

/* Appends s to buf as JSON string content; returns new length (bounded). */
static size_t esc(char *buf, size_t len, size_t cap, const char *s) {
  for (; *s && len + 7 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      buf[len++] = '\\';
      buf[len++] = (char)c;
    } else if (c < 0x20) {
      len += (size_t)snprintf(buf + len, cap - len, "\\u%04x", c);
    } else {
      buf[len++] = (char)c;
    }
  }
  return len;
}

__attribute__((format(printf, 5, 0))) static void vlog(enum gw_log_level lvl, const char *event, const char *id, const char *ucr,
                 const char *fmt, va_list ap) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  if (lvl < g_level || lvl >= GW_LOG_OFF) return;
  char text[1024];
  vsnprintf(text, sizeof(text), fmt, ap);
  char line[2048];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = (size_t)snprintf(line, sizeof(line),
                              "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"event\":\"",
                              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                              tm.tm_sec, ts.tv_nsec / 1000000, names[lvl]);
  n = esc(line, n, sizeof(line) - 64, event);
  if (id) {
    n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"id\":\"");
    n = esc(line, n, sizeof(line) - 64, id);
  }
  if (ucr) {
    n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"ucr\":\"");
    n = esc(line, n, sizeof(line) - 64, ucr);
  }
  n += (size_t)snprintf(line + n, sizeof(line) - n, "\",\"msg\":\"");
  n = esc(line, n, sizeof(line) - 8, text);
  n += (size_t)snprintf(line + n, sizeof(line) - n, "\"}\n");
  if (n > sizeof(line)) n = sizeof(line);
  /* One write per line keeps lines whole when threads log at once. */
  ssize_t w = write(STDERR_FILENO, line, n);
  (void)w;
}

void gw_log(enum gw_log_level lvl, const char *event, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog(lvl, event, NULL, NULL, fmt, ap);
  va_end(ap);
}

void gw_log_msg(enum gw_log_level lvl, const char *event, const char *msg_id, const char *ucr,
                const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog(lvl, event, msg_id, ucr, fmt, ap);
  va_end(ap);
}
