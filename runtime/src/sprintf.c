/* sprintf, snprintf and their v- and _chk forms: formatting into memory.
 *
 * snprintf stores at most n-1 bytes and a terminator (nothing when n is 0)
 * and returns the length the whole output would have had. The _chk forms
 * are GCC's under _FORTIFY_SOURCE: slen is the size GCC knows the
 * destination has; as in glibc, an snprintf whose n exceeds it, or an
 * sprintf whose output does not fit it, ends in __chk_fail. */
#include "rt.h"

void __chk_fail(void) __attribute__((noreturn));

/* Formats into s[0..n) (n may be 0, then s may be NULL). */
static int format_to(char *s, size_t n, const char *fmt, va_list ap) {
  struct rt_out o = { .buf = s, .cap = n ? n - 1 : 0, .fd = -1 };
  int r = __abiscope_vformat(&o, fmt, ap);
  if (n) s[o.len] = 0;
  return r;
}

/* sprintf has no bound: the largest n that cannot wrap the address space
 * from s. */
static size_t unbounded(const char *s) { return (size_t)-1 - (size_t)(uintptr_t)s; }

int vsnprintf(char *restrict s, size_t n, const char *restrict fmt, va_list ap) { return format_to(s, n, fmt, ap); }
int vsprintf(char *restrict s, const char *restrict fmt, va_list ap) { return format_to(s, unbounded(s), fmt, ap); }

int snprintf(char *restrict s, size_t n, const char *restrict fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = format_to(s, n, fmt, ap);
  va_end(ap);
  return r;
}

int sprintf(char *restrict s, const char *restrict fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = format_to(s, unbounded(s), fmt, ap);
  va_end(ap);
  return r;
}

int __vsnprintf_chk(char *restrict s, size_t n, int flag, size_t slen, const char *restrict fmt, va_list ap) {
  (void)flag;
  if (slen < n) __chk_fail();
  return format_to(s, n, fmt, ap);
}

/* Formats into at most slen bytes; more output than fits is fatal. */
int __vsprintf_chk(char *restrict s, int flag, size_t slen, const char *restrict fmt, va_list ap) {
  (void)flag;
  if (slen == 0) __chk_fail();
  int r = format_to(s, slen, fmt, ap);
  if (r >= 0 && (size_t)r >= slen) __chk_fail();
  return r;
}

int __snprintf_chk(char *restrict s, size_t n, int flag, size_t slen, const char *restrict fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = __vsnprintf_chk(s, n, flag, slen, fmt, ap);
  va_end(ap);
  return r;
}

int __sprintf_chk(char *restrict s, int flag, size_t slen, const char *restrict fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = __vsprintf_chk(s, flag, slen, fmt, ap);
  va_end(ap);
  return r;
}
