/* The callees of every row (their own object: the callers in callers.c cannot inline them). */
#include <stdarg.h>
#include "bench.h"

#define NOINLINE __attribute__((noinline))

NOINLINE int add(int a, int b) { return a + b; }

NOINLINE double mix(int i, double d, float f) { return i * d + f; }

NOINLINE float dot(struct V2 a, struct V2 b) { return a.x * b.x + a.y * b.y; }

NOINLINE int s24_sum(struct S24 s) { return s.a + s.b + s.c + s.d + s.e + s.f; }

NOINLINE struct S24 s24_make(int k) {
  struct S24 s = { k, k + 1, k + 2, k + 3, k + 4, k + 5 };
  return s;
}

NOINLINE double sum10(double a, double b, double c, double d, double e, double f, double g, double h, double i, double j) {
  return a + b + c + d + e + f + g + h + i + j;
}

NOINLINE int vsum(int n, ...) {
  va_list ap;
  int s = 0;
  va_start(ap, n);
  for (int k = 0; k < n; k++) s += va_arg(ap, int);
  s += (int)va_arg(ap, double);
  va_end(ap);
  return s;
}

/* the empty function: the stub-only cost of a void (void) call-out is nop's count minus its own instructions */
NOINLINE void nop(void) {}
