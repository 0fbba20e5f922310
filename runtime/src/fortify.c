/* The checked string functions that GCC emits under -D_FORTIFY_SOURCE
 * (Ubuntu's default) when it knows the destination's size but cannot prove
 * the write fits: the last argument is that size. Each checks as glibc does
 * and otherwise behaves as the plain function. */
#include "rt.h"

void __chk_fail(void) __attribute__((noreturn));
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
char *strcpy(char *restrict d, const char *restrict s);
char *stpcpy(char *restrict d, const char *restrict s);
char *strncpy(char *restrict d, const char *restrict s, size_t n);

void *__memcpy_chk(void *restrict dst, const void *restrict src, size_t n, size_t dstlen) {
  if (dstlen < n) __chk_fail();
  return memcpy(dst, src, n);
}

void *__memmove_chk(void *dst, const void *src, size_t n, size_t dstlen) {
  if (dstlen < n) __chk_fail();
  return memmove(dst, src, n);
}

void *__memset_chk(void *dst, int c, size_t n, size_t dstlen) {
  if (dstlen < n) __chk_fail();
  return memset(dst, c, n);
}

char *__strcpy_chk(char *restrict d, const char *restrict s, size_t dstlen) {
  size_t n = strlen(s);
  if (n >= dstlen) __chk_fail();
  return memcpy(d, s, n + 1);
}

char *__stpcpy_chk(char *restrict d, const char *restrict s, size_t dstlen) {
  size_t n = strlen(s);
  if (n >= dstlen) __chk_fail();
  memcpy(d, s, n + 1);
  return d + n;
}

/* glibc checks the whole n against the destination, even when s is shorter
 * (strncpy pads to n). */
char *__strncpy_chk(char *restrict d, const char *restrict s, size_t n, size_t dstlen) {
  if (dstlen < n) __chk_fail();
  return strncpy(d, s, n);
}

char *__strcat_chk(char *restrict d, const char *restrict s, size_t dstlen) {
  size_t dl = strlen(d), sl = strlen(s);
  if (dl >= dstlen || sl >= dstlen - dl) __chk_fail();
  memcpy(d + dl, s, sl + 1);
  return d;
}

/* The bytes actually appended (at most n, plus the terminator) must fit. */
char *__strncat_chk(char *restrict d, const char *restrict s, size_t n, size_t dstlen) {
  size_t dl = strlen(d), sl = 0;
  while (sl < n && s[sl]) sl++;
  if (dl >= dstlen || sl >= dstlen - dl) __chk_fail();
  memcpy(d + dl, s, sl);
  d[dl + sl] = 0;
  return d;
}
