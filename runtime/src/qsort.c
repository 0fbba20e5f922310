/* qsort: a stable merge sort, like glibc's (which sorts through a temporary
 * buffer when it can get one, so code written against glibc may rely on
 * equal elements keeping their order). The buffer comes from the stack for
 * small arrays and from malloc otherwise; without memory it falls back to an
 * insertion sort, still stable, in place. */
#include "rt.h"

void *memcpy(void *restrict dst, const void *restrict src, size_t n);

typedef int (*cmp_fn)(const void *, const void *);

/* Merges the sorted runs [a, a+na) and [a+na*size, ...+nb) through tmp. */
static void merge(char *a, size_t na, size_t nb, size_t size, cmp_fn cmp, char *tmp) {
  char *b = a + na * size, *end = b + nb * size, *out = tmp, *p = a, *q = b;
  while (p < b && q < end) {
    /* <= 0 takes from the left run first: equal elements keep their order */
    if (cmp(p, q) <= 0) { memcpy(out, p, size); p += size; }
    else { memcpy(out, q, size); q += size; }
    out += size;
  }
  size_t rest = (size_t)(b - p);
  memcpy(out, p, rest);
  out += rest;
  /* the tail of the right run is already in place */
  memcpy(a, tmp, (size_t)(out - tmp));
}

static void msort(char *a, size_t n, size_t size, cmp_fn cmp, char *tmp) {
  if (n < 2) return;
  size_t na = n / 2;
  msort(a, na, size, cmp, tmp);
  msort(a + na * size, n - na, size, cmp, tmp);
  /* already in order: nothing to merge */
  if (cmp(a + (na - 1) * size, a + na * size) <= 0) return;
  merge(a, na, n - na, size, cmp, tmp);
}

static void swap_bytes(char *x, char *y, size_t size) {
  while (size--) { char t = *x; *x++ = *y; *y++ = t; }
}

static void insertion_sort(char *a, size_t n, size_t size, cmp_fn cmp) {
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && cmp(a + (j - 1) * size, a + j * size) > 0; j--)
      swap_bytes(a + (j - 1) * size, a + j * size, size);
}

void qsort(void *base, size_t n, size_t size, cmp_fn cmp) {
  if (n < 2 || size == 0) return;
  if (size > (size_t)-1 / n) return; /* cannot be a real array */
  size_t bytes = n * size;
  char stack_tmp[1024];
  char *tmp = bytes <= sizeof stack_tmp ? stack_tmp : malloc(bytes);
  if (!tmp) {
    insertion_sort(base, n, size, cmp);
    return;
  }
  msort(base, n, size, cmp, tmp);
  if (tmp != stack_tmp) free(tmp);
}
