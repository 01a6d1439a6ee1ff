/* lmcgw — structured logs: one JSON object per line on stderr.
 * Thread-safe (one write(2) per line). Never pass secrets. */
#ifndef GW_CORE_LOG_H
#define GW_CORE_LOG_H

enum gw_log_level { GW_LOG_DEBUG = 0, GW_LOG_INFO, GW_LOG_WARN, GW_LOG_ERROR, GW_LOG_OFF };

void gw_log_set_level(enum gw_log_level lvl);
/* "debug", "info", "warn", "error", "off"; returns -1 when unknown. */
int gw_log_level_parse(const char *s);

/* A line about the gateway as a whole.
 * Prefer gw_log_msg for message-scoped lines. */
void gw_log(enum gw_log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A line about one message: carries its id and UCR (either may be NULL). */
void gw_log_msg(enum gw_log_level lvl, const char *event, const char *msg_id, const char *ucr,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
