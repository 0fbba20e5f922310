/* printf, fprintf, dprintf and their v- and _chk forms: formatting to a
 * stream or file descriptor.
 *
 * Nothing is buffered across calls: each call formats into a buffer on its
 * own stack and hands the bytes to the host when it fills and when the call
 * ends, so output to stdout and stderr arrives in call order and every byte
 * belongs to the call that printed it. The _chk forms are what GCC emits
 * under _FORTIFY_SOURCE; their flag asks glibc for extra checks (%n only in
 * read-only formats) that need knowledge of the memory map, so they print
 * exactly as the plain ones. */
#include "rt.h"

extern FILE *stdout;

#define FD_BUFFER 512

int __abiscope_vdprintf(int fd, const char *fmt, va_list ap) {
  char buf[FD_BUFFER];
  struct rt_out o = { .buf = buf, .cap = sizeof buf, .fd = fd };
  int r = __abiscope_vformat(&o, fmt, ap);
  __abiscope_out_flush(&o);
  return o.failed ? -1 : r;
}

static int vfprintf_to(FILE *fp, const char *fmt, va_list ap) {
  if (fp->flags & RT_IO_NO_WRITES) { /* stdin (glibc: EBADF) */
    fp->flags |= RT_IO_ERR_SEEN;
    rt_errno = RT_EBADF;
    return -1;
  }
  int r = __abiscope_vdprintf(fp->fileno, fmt, ap);
  if (r < 0) fp->flags |= RT_IO_ERR_SEEN;
  return r;
}

int vfprintf(FILE *restrict fp, const char *restrict fmt, va_list ap) { return vfprintf_to(fp, fmt, ap); }
int vprintf(const char *restrict fmt, va_list ap) { return vfprintf_to(stdout, fmt, ap); }
int vdprintf(int fd, const char *restrict fmt, va_list ap) { return __abiscope_vdprintf(fd, fmt, ap); }

int fprintf(FILE *restrict fp, const char *restrict fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = vfprintf_to(fp, fmt, ap);
  va_end(ap);
  return r;
}

int printf(const char *restrict fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = vfprintf_to(stdout, fmt, ap);
  va_end(ap);
  return r;
}

int dprintf(int fd, const char *restrict fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = __abiscope_vdprintf(fd, fmt, ap);
  va_end(ap);
  return r;
}

int __vfprintf_chk(FILE *restrict fp, int flag, const char *restrict fmt, va_list ap) {
  (void)flag;
  return vfprintf_to(fp, fmt, ap);
}

int __vprintf_chk(int flag, const char *restrict fmt, va_list ap) {
  (void)flag;
  return vfprintf_to(stdout, fmt, ap);
}

int __vdprintf_chk(int fd, int flag, const char *restrict fmt, va_list ap) {
  (void)flag;
  return __abiscope_vdprintf(fd, fmt, ap);
}

int __fprintf_chk(FILE *restrict fp, int flag, const char *restrict fmt, ...) {
  (void)flag;
  va_list ap;
  va_start(ap, fmt);
  int r = vfprintf_to(fp, fmt, ap);
  va_end(ap);
  return r;
}

int __printf_chk(int flag, const char *restrict fmt, ...) {
  (void)flag;
  va_list ap;
  va_start(ap, fmt);
  int r = vfprintf_to(stdout, fmt, ap);
  va_end(ap);
  return r;
}

int __dprintf_chk(int fd, int flag, const char *restrict fmt, ...) {
  (void)flag;
  va_list ap;
  va_start(ap, fmt);
  int r = __abiscope_vdprintf(fd, fmt, ap);
  va_end(ap);
  return r;
}
