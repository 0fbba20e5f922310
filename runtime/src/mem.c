/* memcpy, memmove, memset, memcmp, memchr.
 *
 * GCC emits calls to the first four even in freestanding code (struct copies,
 * loops it recognises), so every program needs them. They copy a word at a
 * time once both pointers share an alignment: in the emulator each guest
 * instruction costs, and byte loops are four to eight times slower. */
#include "rt.h"

/* A word that may alias anything, so word accesses to char buffers are
 * well defined. */
typedef unsigned long __attribute__((__may_alias__)) rt_word;
#define WSIZE sizeof(rt_word)
#define WMASK (WSIZE - 1)

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if ((((uintptr_t)d ^ (uintptr_t)s) & WMASK) == 0) {
    while (n && ((uintptr_t)d & WMASK)) { *d++ = *s++; n--; }
    for (; n >= WSIZE; n -= WSIZE, d += WSIZE, s += WSIZE) *(rt_word *)d = *(const rt_word *)s;
  }
  while (n--) *d++ = *s++;
  return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  if (d == s || n == 0) return dst;
  /* Forward copying is safe unless the destination starts inside the
   * source; compare as integers (the pointers may be unrelated objects). */
  if ((uintptr_t)d - (uintptr_t)s >= n) {
    if ((((uintptr_t)d ^ (uintptr_t)s) & WMASK) == 0) {
      while (n && ((uintptr_t)d & WMASK)) { *d++ = *s++; n--; }
      for (; n >= WSIZE; n -= WSIZE, d += WSIZE, s += WSIZE) *(rt_word *)d = *(const rt_word *)s;
    }
    while (n--) *d++ = *s++;
  } else {
    /* overlap with dst above src: copy from the end down */
    d += n;
    s += n;
    if ((((uintptr_t)d ^ (uintptr_t)s) & WMASK) == 0) {
      while (n && ((uintptr_t)d & WMASK)) { *--d = *--s; n--; }
      for (; n >= WSIZE; n -= WSIZE) { d -= WSIZE; s -= WSIZE; *(rt_word *)d = *(const rt_word *)s; }
    }
    while (n--) *--d = *--s;
  }
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  unsigned char *d = dst;
  unsigned char b = (unsigned char)c;
  while (n && ((uintptr_t)d & WMASK)) { *d++ = b; n--; }
  if (n >= WSIZE) {
    rt_word w = (rt_word)-1 / 0xff * b; /* the byte in every byte of the word */
    for (; n >= WSIZE; n -= WSIZE, d += WSIZE) *(rt_word *)d = w;
  }
  while (n--) *d++ = b;
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *p = a, *q = b;
  for (; n; n--, p++, q++)
    if (*p != *q) return *p - *q;
  return 0;
}

void *memchr(const void *s, int c, size_t n) {
  const unsigned char *p = s;
  unsigned char b = (unsigned char)c;
  for (; n; n--, p++)
    if (*p == b) return (void *)p;
  return NULL;
}
