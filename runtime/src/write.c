/* The one way bytes leave the guest: the host's __abiscope_write, retried
 * until everything is written (a host may accept less than asked). */
#include "rt.h"

int __abiscope_write_all(int fd, const char *buf, size_t len) {
  while (len) {
    long n = __abiscope_write(fd, buf, len);
    if (n <= 0) return -1;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}
