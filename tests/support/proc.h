/* Running `lmcgw serve` as a child process in tests. */
#ifndef LMCGW_TEST_PROC_H
#define LMCGW_TEST_PROC_H

#include <sys/types.h>

/* A TCP port on 127.0.0.1 that was free a moment ago. */
int tp_free_port(void);
/* Starts argv[0] with argv, stdout+stderr appended to log_path. */
pid_t tp_spawn(char *const argv[], const char *log_path);
/* Sends sig, waits up to timeout_ms; returns the exit status (or 128+signal),
 * -1 when it did not end in time (it is then killed). */
int tp_stop(pid_t pid, int sig, int timeout_ms);
/* Polls GET /healthz until it answers 200 or timeout_ms pass; 0 when up. */
/* 1 while the child runs (not yet exited or a zombie). */
int tp_alive(pid_t pid);
int tp_wait_healthy(int port, const char *ca, const char *cert, const char *key, int timeout_ms);
/* Monotonic milliseconds. */
long long tp_now_ms(void);
/* Reads the first line of a file into buf; NULL when unreadable. */
char *tp_read_line(const char *path, char *buf, size_t cap);

#endif
