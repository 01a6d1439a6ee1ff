/* lmcgw bench — another process's CPU time, for the load generator and the
 * stage benchmark (the gateway's and the broker's CPU per message). */
#ifndef LMCGW_BENCH_PROCSTAT_H
#define LMCGW_BENCH_PROCSTAT_H

#include <stdio.h>
#include <string.h>

/* utime + stime of pid in clock ticks (sysconf(_SC_CLK_TCK) per second). */
static inline int bench_cpu_ticks(long pid, unsigned long long *ticks) {
  char path[64], buf[2048];
  snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  unsigned long long ut = 0, st = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
  *ticks = ut + st;
  return 0;
}

#endif
