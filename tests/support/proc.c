#include "proc.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

long long tp_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tp_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t l = sizeof(a);
  int port = -1;
  if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) && !getsockname(fd, (struct sockaddr *)&a, &l))
    port = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return port;
}

pid_t tp_spawn(char *const argv[], const char *log_path) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

int tp_stop(pid_t pid, int sig, int timeout_ms) {
  if (sig) kill(pid, sig);
  long long end = tp_now_ms() + timeout_ms;
  int st;
  while (tp_now_ms() < end) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    usleep(20000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  return -1;
}

int tp_wait_healthy(int port, const char *ca, const char *cert, const char *key, int timeout_ms) {
  tc_tls tls = {ca, cert, key};
  long long end = tp_now_ms() + timeout_ms;
  while (tp_now_ms() < end) {
    tc_response r;
    if (!tc_request(port, ca ? &tls : NULL, "GET", "/healthz", NULL, NULL, 0, NULL, &r) && r.status == 200) {
      tc_response_free(&r);
      return 0;
    }
    tc_response_free(&r);
    usleep(50000);
  }
  return -1;
}

int tp_alive(pid_t pid) {
  char path[64], buf[256];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = 0;
  /* "pid (comm) S ...": the state follows the last ')' (comm may hold one). */
  char *rp = strrchr(buf, ')');
  return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

char *tp_read_line(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  char *r = fgets(buf, (int)cap, f);
  fclose(f);
  if (r) buf[strcspn(buf, "\r\n")] = 0;
  return r;
}
