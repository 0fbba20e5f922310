/* strtol, strtoul, strtoll, strtoull and atoi, atol, atoll (C locale).
 *
 * glibc's rules, which the tests check: leading isspace() is skipped; a sign
 * is optional; base 0 reads a 0x/0X prefix as 16 and a leading 0 as 8; a
 * 0x prefix not followed by a hex digit converts just the "0" and leaves
 * *endptr at the "x"; with no digits at all the result is 0 and *endptr is
 * the original string; a base other than 0 or 2..36 gives EINVAL. Out of
 * range: ERANGE and the limit of the type in the direction of the sign. The
 * unsigned functions accept a minus sign and negate in the unsigned type, so
 * strtoul("-1") is ULONG_MAX, but the magnitude itself must fit. */
#include "rt.h"

static int digit_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

static int space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Reads the magnitude into *value (saturated at `limit`, with *over set when
 * it exceeded it) and returns 1, or returns 0 when nothing was converted.
 * *neg tells the sign; *end is where conversion stopped. */
static int scan(const char *s, const char **end, int base, unsigned long long limit,
                unsigned long long *value, int *neg, int *over) {
  const unsigned char *p = (const unsigned char *)s;
  *neg = 0;
  *over = 0;
  *value = 0;
  *end = s;
  if (base < 0 || base == 1 || base > 36) {
    rt_errno = RT_EINVAL;
    return 0;
  }
  while (space(*p)) p++;
  if (*p == '-' || *p == '+') *neg = *p++ == '-';
  if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    if (digit_value(p[2]) < 16) {
      p += 2;
      base = 16;
    } else {
      /* "0x" and no hex digit: the 0 is the number, the x is left over */
      *end = (const char *)p + 1;
      return 1;
    }
  } else if (base == 0) {
    base = *p == '0' ? 8 : 10;
  }
  const unsigned char *first = p;
  unsigned long long v = 0;
  /* one division per call (a library call on 32-bit targets), not per digit */
  unsigned long long cutoff = limit / (unsigned)base;
  unsigned cutlim = (unsigned)(limit - cutoff * (unsigned)base);
  for (int d; (d = digit_value(*p)) < base; p++) {
    if (*over) continue;
    if (v > cutoff || (v == cutoff && (unsigned)d > cutlim)) {
      *over = 1;
      v = limit;
    } else {
      v = v * (unsigned)base + (unsigned)d;
    }
  }
  if (p == first) return 0;
  *end = (const char *)p;
  *value = v;
  return 1;
}

/* The signed functions: the magnitude may reach max + 1 when negative. */
static long long to_signed(const char *s, char **endptr, int base, long long max) {
  const char *end;
  unsigned long long v;
  int neg, over;
  unsigned long long limit = (unsigned long long)max + 1; /* |min| */
  int ok = scan(s, &end, base, limit, &v, &neg, &over);
  if (endptr) *endptr = (char *)end;
  if (!ok) return 0;
  if (!neg && v > (unsigned long long)max) over = 1;
  if (over) {
    rt_errno = RT_ERANGE;
    return neg ? -max - 1 : max;
  }
  return neg ? (long long)(0 - v) : (long long)v;
}

static unsigned long long to_unsigned(const char *s, char **endptr, int base, unsigned long long max) {
  const char *end;
  unsigned long long v;
  int neg, over;
  int ok = scan(s, &end, base, max, &v, &neg, &over);
  if (endptr) *endptr = (char *)end;
  if (!ok) return 0;
  if (over) {
    rt_errno = RT_ERANGE;
    return max;
  }
  return neg ? (0 - v) & max : v;
}

long strtol(const char *restrict s, char **restrict end, int base) { return (long)to_signed(s, end, base, LONG_MAX); }
long long strtoll(const char *restrict s, char **restrict end, int base) { return to_signed(s, end, base, LLONG_MAX); }
unsigned long strtoul(const char *restrict s, char **restrict end, int base) { return (unsigned long)to_unsigned(s, end, base, ULONG_MAX); }
unsigned long long strtoull(const char *restrict s, char **restrict end, int base) { return to_unsigned(s, end, base, ULLONG_MAX); }

/* glibc defines these as strtol(s, NULL, 10) (with the same errno effects). */
int atoi(const char *s) { return (int)strtol(s, NULL, 10); }
long atol(const char *s) { return strtol(s, NULL, 10); }
long long atoll(const char *s) { return strtoll(s, NULL, 10); }
