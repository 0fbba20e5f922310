/* wcslen, wcscmp, wcscpy. wchar_t is 4 bytes everywhere here but its
 * signedness follows the target (signed on x86 and PPC, unsigned on ARM), and
 * wcscmp compares wchar_t values as the type is, as glibc does. */
#include "rt.h"

size_t wcslen(const rt_wchar_t *s) {
  const rt_wchar_t *p = s;
  while (*p) p++;
  return (size_t)(p - s);
}

int wcscmp(const rt_wchar_t *a, const rt_wchar_t *b) {
  while (*a && *a == *b) a++, b++;
  return *a < *b ? -1 : *a > *b;
}

rt_wchar_t *wcscpy(rt_wchar_t *restrict d, const rt_wchar_t *restrict s) {
  rt_wchar_t *r = d;
  while ((*d++ = *s++)) {}
  return r;
}
