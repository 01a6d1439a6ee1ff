#include "core/sched.h"

#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int gw_sched_step_back(int by) {
  static _Thread_local int done;
  if (done || by <= 0) return 0;
  done = 1;
  /* On Linux, PRIO_PROCESS with a thread id sets that thread's nice value
   * alone (a documented departure from POSIX, see setpriority(2)). */
  id_t tid = (id_t)syscall(SYS_gettid);
  errno = 0;
  int now = getpriority(PRIO_PROCESS, tid);
  if (now == -1 && errno) return -errno;
  int want = now + (by > 19 ? 19 : by);
  if (want > 19) want = 19;
  return setpriority(PRIO_PROCESS, tid, want) ? -errno : 0;
}
