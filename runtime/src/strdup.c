/* strdup and strndup: the string functions that allocate (malloc is the
 * host's), kept apart so that programs using only the others need no malloc. */
#include "rt.h"

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
size_t strnlen(const char *s, size_t max);

char *strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  return d ? memcpy(d, s, n) : NULL;
}

char *strndup(const char *s, size_t max) {
  size_t n = strnlen(s, max);
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}
