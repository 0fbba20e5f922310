/* The <string.h> functions on NUL-terminated strings (strdup/strndup, which
 * allocate, are in strdup.c). Comparisons are of unsigned char, as C says,
 * whatever the signedness of char on the target (unsigned on ARM and PPC). */
#include "rt.h"

size_t strlen(const char *s) {
  const char *p = s;
  while (*p) p++;
  return (size_t)(p - s);
}

size_t strnlen(const char *s, size_t max) {
  size_t n = 0;
  while (n < max && s[n]) n++;
  return n;
}

int strcmp(const char *a, const char *b) {
  const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
  while (*p && *p == *q) p++, q++;
  return *p - *q;
}

int strncmp(const char *a, const char *b, size_t n) {
  const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
  for (; n; n--, p++, q++) {
    if (*p != *q) return *p - *q;
    if (!*p) break;
  }
  return 0;
}

char *strcpy(char *restrict d, const char *restrict s) {
  char *r = d;
  while ((*d++ = *s++)) {}
  return r;
}

/* Copies at most n bytes and pads the rest of the n with NULs (C's rule:
 * the result is not terminated when s has n or more bytes). */
char *strncpy(char *restrict d, const char *restrict s, size_t n) {
  size_t i = 0;
  for (; i < n && s[i]; i++) d[i] = s[i];
  for (; i < n; i++) d[i] = 0;
  return d;
}

char *stpcpy(char *restrict d, const char *restrict s) {
  while ((*d = *s++)) d++;
  return d;
}

char *strcat(char *restrict d, const char *restrict s) {
  strcpy(d + strlen(d), s);
  return d;
}

/* Appends at most n bytes of s, always terminated. */
char *strncat(char *restrict d, const char *restrict s, size_t n) {
  char *e = d + strlen(d);
  size_t i = 0;
  for (; i < n && s[i]; i++) e[i] = s[i];
  e[i] = 0;
  return d;
}

/* strchr(s, 0) finds the terminator. */
char *strchr(const char *s, int c) {
  char ch = (char)c;
  for (;; s++) {
    if (*s == ch) return (char *)s;
    if (!*s) return NULL;
  }
}

char *strrchr(const char *s, int c) {
  char ch = (char)c;
  const char *last = NULL;
  for (;; s++) {
    if (*s == ch) last = s;
    if (!*s) return (char *)last;
  }
}

/* Naive search: O(n*m) in the worst case, plenty for the strings C code
 * hands to an FFI test bench. An empty needle matches at the start. */
char *strstr(const char *h, const char *n) {
  if (!*n) return (char *)h;
  for (; *h; h++) {
    size_t i = 0;
    while (n[i] && h[i] == n[i]) i++;
    if (!n[i]) return (char *)h;
  }
  return NULL;
}

/* One bit per byte value: the set of characters of `set`. */
static void byteset(unsigned long bits[256 / (8 * sizeof(unsigned long))], const char *set) {
  for (size_t i = 0; i < 256 / (8 * sizeof(unsigned long)); i++) bits[i] = 0;
  for (const unsigned char *p = (const unsigned char *)set; *p; p++)
    bits[*p / (8 * sizeof(unsigned long))] |= 1UL << (*p % (8 * sizeof(unsigned long)));
}
#define INSET(bits, c) ((bits)[(c) / (8 * sizeof(unsigned long))] >> ((c) % (8 * sizeof(unsigned long))) & 1)

size_t strspn(const char *s, const char *accept) {
  unsigned long bits[256 / (8 * sizeof(unsigned long))];
  byteset(bits, accept);
  const unsigned char *p = (const unsigned char *)s;
  while (*p && INSET(bits, *p)) p++;
  return (size_t)(p - (const unsigned char *)s);
}

size_t strcspn(const char *s, const char *reject) {
  unsigned long bits[256 / (8 * sizeof(unsigned long))];
  byteset(bits, reject);
  const unsigned char *p = (const unsigned char *)s;
  while (*p && !INSET(bits, *p)) p++;
  return (size_t)(p - (const unsigned char *)s);
}

char *strpbrk(const char *s, const char *accept) {
  s += strcspn(s, accept);
  return *s ? (char *)s : NULL;
}
