/* libFuzzer target: the YAML configuration loader, every problem collected. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[] = "/tmp/lmcgw-fuzz-config-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return 0;
  if (write(fd, data, size) != (ssize_t)size) {
    close(fd);
    unlink(path);
    return 0;
  }
  close(fd);
  gw_config c;
  gw_config_diags d = {0};
  gw_error err = {0};
  gw_config_load(&c, path, &d, &err);
  gw_config_free(&c);
  gw_config_diags_free(&d);
  unlink(path);
  return 0;
}
