/* The format engine behind every printf-family function of the runtime.
 *
 * It follows glibc 2.36 (Debian 12's) in the C locale, conversion by
 * conversion, because user objects are compiled against glibc's headers and
 * their authors expect glibc's output: "(nil)" for a null %p, "(null)" for a
 * null %s when the precision allows six bytes, 'L', 'q' and "ll" all meaning
 * long double for floating conversions and long long for integer ones,
 * padding of inf/nan with spaces even under the 0 flag, %La of an x87 value
 * with a full leading nibble ("0x8p-3" for 1.0L), and so on.
 *
 * Floating-point output never uses floating-point arithmetic: the value's
 * bits are taken apart into an integer mantissa m and a power of two e2
 * (value = m * 2^e2), and decimal digits come from exact big-integer
 * arithmetic on 32-bit limbs, rounded as glibc rounds: in the FPU's current
 * rounding mode, to nearest with ties to even by default. That also keeps
 * the soft-float ARM build free of libgcc's floating-point helpers.
 */
#include "rt.h"

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
size_t strnlen(const char *s, size_t max);

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

/* Bytes beyond INT_MAX cannot be counted in printf's int result: glibc
 * stops there and fails with EOVERFLOW. total saturates just above. */
#define TOO_MUCH ((size_t)INT_MAX + 1)

void __abiscope_out_flush(struct rt_out *o) {
  if (o->fd >= 0 && o->len) {
    if (__abiscope_write_all(o->fd, o->buf, o->len) < 0) o->failed = 1;
    o->len = 0;
  }
}

/* Returns how many of n more bytes may still be produced (all, or none once
 * the count would pass INT_MAX). */
static size_t admit(struct rt_out *o, size_t n) {
  if (o->total >= TOO_MUCH || n > TOO_MUCH - 1 - o->total) {
    o->total = TOO_MUCH;
    return 0;
  }
  o->total += n;
  return n;
}

void __abiscope_out_put(struct rt_out *o, const char *s, size_t n) {
  n = admit(o, n);
  while (n) {
    size_t room = o->cap - o->len;
    if (room == 0) {
      if (o->fd < 0) return; /* string mode: the rest is counted, not stored */
      __abiscope_out_flush(o);
      room = o->cap;
    }
    size_t k = n < room ? n : room;
    memcpy(o->buf + o->len, s, k);
    o->len += k;
    s += k;
    n -= k;
  }
}

void __abiscope_out_pad(struct rt_out *o, char c, size_t n) {
  char run[32];
  for (size_t i = 0; i < sizeof run; i++) run[i] = c;
  while (n) {
    size_t k = n < sizeof run ? n : sizeof run;
    __abiscope_out_put(o, run, k);
    n -= k;
    if (o->total >= TOO_MUCH) return;
  }
}

#define put __abiscope_out_put
#define pad __abiscope_out_pad
static void putc1(struct rt_out *o, char c) { put(o, &c, 1); }

/* ------------------------------------------------------------------ */
/* Conversion specifications                                           */
/* ------------------------------------------------------------------ */

struct spec {
  /* flags */
  unsigned char left, plus, space, alt, zero, group, i18n;
  /* length modifiers, as glibc records them: "hh" is_char, 'h' is_short,
   * 'l' is_long, "ll"/'L'/'q' is_long_double with is_long; z, t and j set
   * them by the size of their type */
  unsigned char is_char, is_short, is_long, is_long_double;
  char conv;
  int width;       /* 0 when none */
  int prec;        /* -1 when none */
  /* positional argument numbers (0-based), -1 when the next sequential
   * argument is meant; width_star/prec_star say a '*' was given */
  int arg, width_arg, prec_arg;
  unsigned char width_star, prec_star;
  const char *start, *end; /* the specification's text, '%' included */
};

/* Reads a decimal number; -1 when it exceeds INT_MAX (glibc: EOVERFLOW). */
static int read_int(const char **pf) {
  const char *f = *pf;
  long long v = 0;
  int big = 0;
  while (*f >= '0' && *f <= '9') {
    if (!big) {
      v = v * 10 + (*f - '0');
      if (v > INT_MAX) big = 1;
    }
    f++;
  }
  *pf = f;
  return big ? -1 : (int)v;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Parses the specification at *pf ('%' there). Returns 0, or -1 for a
 * number beyond INT_MAX. */
static int parse_spec(const char **pf, struct spec *sp) {
  const char *f = *pf + 1;
  *sp = (struct spec){ .prec = -1, .arg = -1, .width_arg = -1, .prec_arg = -1, .start = *pf };
  if (is_digit(*f)) {
    const char *begin = f;
    int n = read_int(&f);
    if (n != 0 && *f == '$') {
      if (n < 0) return -1;
      sp->arg = n - 1;
      f++;
    } else {
      f = begin; /* it was a width (or the 0 flag) */
    }
  }
  for (;; f++) {
    switch (*f) {
      case ' ': sp->space = 1; continue;
      case '+': sp->plus = 1; continue;
      case '-': sp->left = 1; continue;
      case '#': sp->alt = 1; continue;
      case '0': sp->zero = 1; continue;
      case '\'': sp->group = 1; continue; /* no grouping in the C locale */
      case 'I': sp->i18n = 1; continue;   /* the C locale's digits are ASCII */
    }
    break;
  }
  if (*f == '*') {
    f++;
    sp->width_star = 1;
    if (is_digit(*f)) {
      const char *begin = f;
      int n = read_int(&f);
      if (n != 0 && *f == '$') {
        if (n < 0) return -1;
        sp->width_arg = n - 1;
        f++;
      } else {
        f = begin;
      }
    }
  } else if (is_digit(*f)) {
    sp->width = read_int(&f);
    if (sp->width < 0) return -1;
  }
  if (*f == '.') {
    f++;
    if (*f == '*') {
      f++;
      sp->prec_star = 1;
      if (is_digit(*f)) {
        const char *begin = f;
        int n = read_int(&f);
        if (n != 0 && *f == '$') {
          if (n < 0) return -1;
          sp->prec_arg = n - 1;
          f++;
        } else {
          f = begin;
        }
      }
    } else if (is_digit(*f)) {
      sp->prec = read_int(&f);
      if (sp->prec < 0) return -1;
    } else {
      sp->prec = 0;
    }
  }
  switch (*f) {
    case 'h':
      f++;
      if (*f == 'h') { f++; sp->is_char = 1; } else sp->is_short = 1;
      break;
    case 'l':
      f++;
      sp->is_long = 1;
      if (*f == 'l') { f++; sp->is_long_double = 1; }
      break;
    case 'L': case 'q':
      f++;
      sp->is_long_double = 1;
      sp->is_long = 1;
      break;
    case 'z': case 'Z':
      f++;
      sp->is_long_double = sizeof(size_t) > sizeof(unsigned long);
      sp->is_long = sizeof(size_t) > sizeof(unsigned int);
      break;
    case 't':
      f++;
      sp->is_long_double = sizeof(ptrdiff_t) > sizeof(unsigned long);
      sp->is_long = sizeof(ptrdiff_t) > sizeof(unsigned int);
      break;
    case 'j':
      f++;
      sp->is_long_double = sizeof(long long) > sizeof(unsigned long); /* intmax_t */
      sp->is_long = sizeof(long long) > sizeof(unsigned int);
      break;
  }
  sp->conv = *f;
  if (*f) f++;
  sp->end = f;
  *pf = f;
  return 0;
}

/* ------------------------------------------------------------------ */
/* Arguments                                                           */
/* ------------------------------------------------------------------ */

enum argtype { T_NONE, T_INT, T_LONG, T_LLONG, T_PTR, T_DOUBLE, T_LDOUBLE };

union argval {
  int i;
  long l;
  long long ll;
  void *p;
  double d;
  long double ld;
};

struct args {
  va_list ap;
  union argval *pos; /* positional mode: every argument, fetched in order */
  int npos;
  int next;          /* positional mode: the next sequential argument */
};

/* The type of the value a conversion consumes. */
static enum argtype value_type(const struct spec *sp) {
  switch (sp->conv) {
    case 'd': case 'i': case 'u': case 'o': case 'x': case 'X': case 'b': case 'B':
      /* glibc: long long when 'll' on targets where long is shorter */
      if (sp->is_long_double && sizeof(long) < sizeof(long long)) return T_LLONG;
      return sp->is_long && sizeof(long) > sizeof(int) ? T_LONG : T_INT;
    case 'c': case 'C':
      return T_INT; /* int, or wint_t (unsigned int): the same slot */
    case 's': case 'S': case 'p': case 'n':
      return T_PTR;
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A':
      return sp->is_long_double ? T_LDOUBLE : T_DOUBLE;
    default:
      return T_NONE;
  }
}

static void fetch_va(struct args *a, enum argtype t, union argval *v) {
  switch (t) {
    case T_INT: v->i = va_arg(a->ap, int); break;
    case T_LONG: v->l = va_arg(a->ap, long); break;
    case T_LLONG: v->ll = va_arg(a->ap, long long); break;
    case T_PTR: v->p = va_arg(a->ap, void *); break;
    case T_DOUBLE: v->d = va_arg(a->ap, double); break;
    case T_LDOUBLE: v->ld = va_arg(a->ap, long double); break;
    case T_NONE: break;
  }
}

/* Argument number n (0-based; -1: the next one) of type t, into *v. */
static void arg(struct args *a, int n, enum argtype t, union argval *v) {
  if (!a->pos) {
    fetch_va(a, t, v);
    return;
  }
  if (n < 0) n = a->next++;
  if (n < a->npos) *v = a->pos[n];
}

static int int_arg(struct args *a, int n) {
  union argval v = { 0 };
  arg(a, n, T_INT, &v);
  return v.i;
}

/* ------------------------------------------------------------------ */
/* Integers                                                            */
/* ------------------------------------------------------------------ */

/* Writes the digits of v in base (2, 8, 10, 16) ending at end; returns the
 * first. 64-bit division is a library call on 32-bit targets, so decimal
 * conversion divides by 10^9 once per nine digits and the rest in 32 bits. */
static char *utoa(unsigned long long v, char *end, int base, int upper) {
  const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char *p = end;
  if (base == 10) {
    while (v > 0xffffffffu) {
      unsigned long long q = v / 1000000000u;
      unsigned r = (unsigned)(v - q * 1000000000u);
      for (int i = 0; i < 9; i++, r /= 10) *--p = (char)('0' + r % 10);
      v = q;
    }
    unsigned w = (unsigned)v;
    do *--p = (char)('0' + w % 10); while (w /= 10);
  } else {
    int shift = base == 16 ? 4 : base == 8 ? 3 : 1;
    do *--p = digits[v & (unsigned)(base - 1)]; while (v >>= shift);
  }
  return p;
}

/* glibc's integer layout: [spaces] [sign] [0x] [zeros] digits [spaces]. */
static void format_int(struct rt_out *o, const struct spec *sp, unsigned long long v, int neg, int base, char conv, int plus, int space) {
  char work[72];
  char *end = work + sizeof work, *s = end;
  int prec = sp->prec, width = sp->width;
  char padc = sp->zero && !sp->left ? '0' : ' ';
  if (prec < 0) prec = 1;
  else padc = ' '; /* a precision cancels the 0 flag */
  if (!(prec == 0 && v == 0)) s = utoa(v, end, base, conv == 'X');
  else if (base == 8 && sp->alt) *--s = '0';
  int len = (int)(end - s);
  /* '#' with octal: a leading 0 unless the precision already gives one */
  if (sp->alt && base == 8 && v != 0 && prec <= len) { *--s = '0'; len++; }
  int zeros = prec > len ? prec - len : 0;
  int prefix = v != 0 && sp->alt && (base == 16 || base == 2) ? 2 : 0;
  char sign = neg ? '-' : plus ? '+' : space ? ' ' : 0;
  int body = len + zeros + prefix + (sign != 0);
  int fill = width > body ? width - body : 0;
  if (!sp->left && padc == ' ') pad(o, ' ', (size_t)fill);
  if (sign) putc1(o, sign);
  if (prefix) { putc1(o, '0'); putc1(o, conv); }
  if (!sp->left && padc == '0') zeros += fill;
  pad(o, '0', (size_t)zeros);
  put(o, s, (size_t)len);
  if (sp->left) pad(o, ' ', (size_t)fill);
}

/* ------------------------------------------------------------------ */
/* Strings and characters                                              */
/* ------------------------------------------------------------------ */

static void padded(struct rt_out *o, const struct spec *sp, const char *s, size_t n) {
  size_t fill = sp->width > 0 && (size_t)sp->width > n ? (size_t)sp->width - n : 0;
  if (!sp->left) pad(o, ' ', fill);
  put(o, s, n);
  if (sp->left) pad(o, ' ', fill);
}

/* A wide character in the C locale: bytes below 0x80 convert to themselves,
 * anything else fails (glibc's wcrtomb: EILSEQ). */
static int wide_ok(rt_wint_t c) { return c < 0x80; }

/* %ls: at most prec bytes (no limit when -1); -1 on an unconvertible
 * character among those that would be written. */
static int wide_string(struct rt_out *o, const struct spec *sp, const rt_wchar_t *ws) {
  size_t n = 0, limit = sp->prec < 0 ? (size_t)-1 : (size_t)sp->prec;
  for (; n < limit && ws[n]; n++)
    if (!wide_ok((rt_wint_t)ws[n])) {
      rt_errno = RT_EILSEQ;
      return -1;
    }
  size_t fill = sp->width > 0 && (size_t)sp->width > n ? (size_t)sp->width - n : 0;
  if (!sp->left) pad(o, ' ', fill);
  for (size_t i = 0; i < n; i++) putc1(o, (char)ws[i]);
  if (sp->left) pad(o, ' ', fill);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Floating point: taking the value apart                              */
/* ------------------------------------------------------------------ */

/* m * 2^e2 with m up to 128 bits (4 limbs, least significant first). */
struct fpval {
  int neg;
  char special;  /* 0 finite, 'i' infinite, 'n' NaN */
  uint32_t m[4];
  int e2;
};

#define FRAC52 ((1ull << 52) - 1)

static void set_m64(struct fpval *v, uint64_t lo, uint64_t hi) {
  v->m[0] = (uint32_t)lo;
  v->m[1] = (uint32_t)(lo >> 32);
  v->m[2] = (uint32_t)hi;
  v->m[3] = (uint32_t)(hi >> 32);
}

static struct fpval from_double(uint64_t b) {
  struct fpval v = { .neg = (int)(b >> 63) };
  int exp = (int)(b >> 52) & 0x7ff;
  uint64_t frac = b & FRAC52;
  if (exp == 0x7ff) {
    v.special = frac ? 'n' : 'i';
  } else if (exp == 0) {
    set_m64(&v, frac, 0);
    v.e2 = 1 - 1075;
  } else {
    set_m64(&v, frac | 1ull << 52, 0);
    v.e2 = exp - 1075;
  }
  return v;
}

#if __LDBL_MANT_DIG__ == 64
/* x87 80-bit extended: explicit integer bit. An exponent field of all ones
 * is infinity only with the integer bit set and nothing else; a non-zero
 * exponent without the integer bit (unnormal, pseudo-infinity, pseudo-NaN)
 * is an invalid operand that the FPU, and so glibc, treats as NaN.
 * Pseudo-denormals (exponent 0, integer bit set) are ordinary values. */
static struct fpval from_x87(const unsigned char *p) {
  uint64_t mant;
  uint16_t se;
  memcpy(&mant, p, 8);
  memcpy(&se, p + 8, 2);
  struct fpval v = { .neg = se >> 15 };
  int exp = se & 0x7fff;
  if (exp == 0x7fff) v.special = mant == 1ull << 63 ? 'i' : 'n';
  else if (exp != 0 && !(mant >> 63)) v.special = 'n';
  else {
    set_m64(&v, mant, 0);
    v.e2 = (exp ? exp : 1) - 16383 - 63;
  }
  return v;
}
#endif

#if __LDBL_MANT_DIG__ == 113
/* IEEE binary128 (AArch64): 15-bit exponent, 112 fraction bits, implicit
 * integer bit; little-endian, so the sign and exponent are in the high word. */
#define FRAC48 ((1ull << 48) - 1)
static struct fpval from_binary128(const unsigned char *p) {
  uint64_t lo, hi;
  memcpy(&lo, p, 8);
  memcpy(&hi, p + 8, 8);
  struct fpval v = { .neg = (int)(hi >> 63) };
  int exp = (int)(hi >> 48) & 0x7fff;
  uint64_t fhi = hi & FRAC48;
  if (exp == 0x7fff) {
    v.special = (fhi | lo) ? 'n' : 'i';
    return v;
  }
  if (exp) fhi |= 1ull << 48;
  set_m64(&v, lo, fhi);
  v.e2 = (exp ? exp : 1) - 16383 - 112;
  return v;
}
#endif

#if __LDBL_MANT_DIG__ == 106
/* IBM double-double: the value is hi + lo. glibc does not print that sum
 * exactly: it builds a 106-bit mantissa from the two doubles, keeping only 7
 * bits of lo below hi's 53 (lo further down is cut), and borrows from hi when
 * the signs differ. The same steps here give glibc's digits. */
static struct fpval from_ibm(uint64_t h, uint64_t l) {
  struct fpval v = { .neg = (int)(h >> 63) };
  int hexp = (int)(h >> 52) & 0x7ff, lexp = (int)(l >> 52) & 0x7ff;
  if (hexp == 0x7ff) {
    v.special = h & FRAC52 ? 'n' : 'i';
    return v;
  }
  uint64_t hi = h & FRAC52, lo = (l & FRAC52) << 7;
  int expt = hexp;
  if (lexp != 0) lo |= 1ull << (52 + 7);
  else lo <<= 1;
  int ediff = hexp - lexp - 53;
  if (ediff > 0) lo = ediff < 64 ? lo >> ediff : 0;
  else if (ediff < 0) lo = -ediff < 64 ? lo << -ediff : 0;
  if ((h >> 63) != (l >> 63) && lo != 0) {
    lo = (1ull << (53 + 7)) - lo;
    if (hi == 0) {
      hi = 0x000ffffffffffffeull | (lo >> (52 + 7));
      lo = 0x0fffffffffffffffull & (lo << 1);
      expt--;
    } else {
      hi--;
    }
  }
  /* mantissa = [implicit 1] hi (52 bits) lo>>7 (53 bits) */
  uint64_t low = (hi << 53) | (lo >> 7), high = hi >> 11;
  if (hexp != 0) high |= 1ull << (105 - 64);
  set_m64(&v, low, high);
  v.e2 = (hexp ? expt : 1) - 1023 - 105;
  return v;
}
#endif

/* ------------------------------------------------------------------ */
/* Floating point: exact decimal digits                                */
/* ------------------------------------------------------------------ */

/* The exact decimal expansion of m * 2^e2, read from the front: first the
 * integer part's digits (computed whole), then the fraction's digits, nine
 * at a time: the fraction is f / 2^(32*nf) and each step multiplies f by
 * 10^9; what carries out of the top limb is the next nine digits. */
struct dec {
  const char *ip;   /* integer digits, most significant first */
  int ni;           /* their number; 0 when the integer part is 0 */
  uint32_t *f;      /* fraction limbs, least significant first */
  int nf;           /* limbs */
  int flo, fhi;     /* f[0..flo) and f[fhi..nf) are known to be zero */
  char chunk[9];
  int cpos;         /* next unread digit of chunk (9: refill) */
};

static int frac_zero(const struct dec *d) {
  for (int i = d->flo; i < d->fhi; i++)
    if (d->f[i]) return 0;
  return 1;
}

static int dec_next(struct dec *d) {
  if (d->cpos == 9) {
    uint32_t carry = 0;
    while (d->flo < d->fhi && d->f[d->flo] == 0) d->flo++;
    for (int i = d->flo; i < d->fhi; i++) {
      uint64_t t = (uint64_t)d->f[i] * 1000000000u + carry;
      d->f[i] = (uint32_t)t;
      carry = (uint32_t)(t >> 32);
    }
    /* below the top limb the carry extends the number, and the digits
     * are still leading zeros */
    if (d->fhi < d->nf) {
      if (carry) d->f[d->fhi++] = carry;
      carry = 0;
    }
    for (int i = 8; i >= 0; i--, carry /= 10) d->chunk[i] = (char)(carry % 10);
    d->cpos = 0;
  }
  return d->chunk[d->cpos++];
}

/* Whether any digit after those read is non-zero. */
static int dec_rest(const struct dec *d) {
  if (d->cpos < 9)
    for (int i = d->cpos; i < 9; i++)
      if (d->chunk[i]) return 1;
  return !frac_zero(d);
}

/* Integer part of v, as limbs: m << e2 or m >> -e2 (n limbs). */
static void int_limbs(const struct fpval *v, uint32_t *out, int n) {
  for (int i = 0; i < n; i++) out[i] = 0;
  if (v->e2 >= 0) {
    int ws = v->e2 / 32, bs = v->e2 % 32;
    for (int i = 0; i < 4; i++) {
      uint64_t t = (uint64_t)v->m[i] << bs;
      if (i + ws < n) out[i + ws] |= (uint32_t)t;
      if (i + ws + 1 < n) out[i + ws + 1] |= (uint32_t)(t >> 32);
    }
  } else {
    int k = -v->e2, ws = k / 32, bs = k % 32;
    for (int i = 0; i + ws < 4 && i < n; i++) {
      uint64_t t = v->m[i + ws];
      if (i + ws + 1 < 4) t |= (uint64_t)v->m[i + ws + 1] << 32;
      out[i] = (uint32_t)(t >> bs);
    }
  }
}

/* Fraction of v (e2 < 0), scaled so the binary point sits above limb nf-1. */
static void frac_limbs(const struct fpval *v, uint32_t *out, int nf) {
  int k = -v->e2, shift = 32 * nf - k; /* 0..31 */
  for (int i = 0; i < nf; i++) out[i] = 0;
  for (int b = 0; b < 4; b++) {
    /* bits of limb b of m that lie below the binary point */
    int bit0 = 32 * b;
    if (bit0 >= k) break;
    uint32_t w = v->m[b];
    if (k - bit0 < 32) w &= (1u << (k - bit0)) - 1;
    int pos = bit0 + shift; /* bit position in out */
    out[pos / 32] |= w << (pos % 32);
    if (pos % 32 && pos / 32 + 1 < nf) out[pos / 32 + 1] |= w >> (32 - pos % 32);
  }
}

/* One step of dividing a big integer by CHUNK_BASE, limb by limb from the
 * top: (r * 2^32 + a) / CHUNK_BASE with r < CHUNK_BASE, so the quotient fits
 * in 32 bits. x86 does it with one 64-by-32-bit division (i386's divl;
 * x86-64's is a multiplication by GCC). ARM and PPC have no such instruction
 * and 64-bit division is a libgcc call there, so they divide by 10^4, a
 * half-limb at a time, in 32 bits (a multiplication for GCC too). */
#if defined(__x86_64__) || defined(__i386__)
#define CHUNK_BASE 1000000000u
#define CHUNK_DIGITS 9
static uint32_t div_step(uint32_t *r, uint32_t a) {
#if defined(__i386__)
  uint32_t q, rem;
  __asm__("divl %4" : "=a"(q), "=d"(rem) : "a"(a), "d"(*r), "rm"(CHUNK_BASE));
  *r = rem;
  return q;
#else
  uint64_t t = (uint64_t)*r << 32 | a;
  uint32_t q = (uint32_t)(t / CHUNK_BASE);
  *r = (uint32_t)(t - (uint64_t)q * CHUNK_BASE);
  return q;
#endif
}
#else
#define CHUNK_BASE 10000u
#define CHUNK_DIGITS 4
static uint32_t div_step(uint32_t *r, uint32_t a) {
  uint32_t hi = (*r << 16) | (a >> 16);
  uint32_t qh = hi / CHUNK_BASE;
  uint32_t lo = ((hi - qh * CHUNK_BASE) << 16) | (a & 0xffff);
  uint32_t ql = lo / CHUNK_BASE;
  *r = lo - ql * CHUNK_BASE;
  return qh << 16 | ql;
}
#endif

/* Decimal digits of the integer in limbs a[0..n) (destroyed), most
 * significant first into out; returns their number (0 for 0). Each pass
 * over the limbs divides by CHUNK_BASE and yields CHUNK_DIGITS digits. */
static int int_digits(uint32_t *a, int n, char *out, int cap) {
  int nd = 0;
  while (n > 0 && a[n - 1] == 0) n--;
  while (n > 0) {
    uint32_t r = 0;
    for (int i = n - 1; i >= 0; i--) a[i] = div_step(&r, a[i]);
    while (n > 0 && a[n - 1] == 0) n--;
    for (int j = 0; j < CHUNK_DIGITS && nd < cap; j++, r /= 10) out[nd++] = (char)('0' + r % 10);
  }
  while (nd > 0 && out[nd - 1] == '0') nd--; /* leading zeros of the last group */
  for (int i = 0, j = nd - 1; i < j; i++, j--) {
    char t = out[i]; out[i] = out[j]; out[j] = t;
  }
  return nd;
}

/* Sizes of the work areas for a value: integer limbs and digits, fraction
 * limbs. */
struct decsize { int il, id, nf; };

static struct decsize dec_size(const struct fpval *v) {
  struct decsize z;
  int ibits = v->e2 >= 0 ? 128 + v->e2 : 128;
  z.il = (ibits + 31) / 32 + 1;
  z.id = (int)((long long)ibits * 1233 / 4096) + 2 + 9; /* + a last, partly zero chunk */
  z.nf = v->e2 < 0 ? (-v->e2 + 31) / 32 : 0;
  return z;
}

static void dec_init(struct dec *d, const struct fpval *v, struct decsize z, uint32_t *il, char *id, uint32_t *fl) {
  int_limbs(v, il, z.il);
  d->ni = int_digits(il, z.il, id, z.id);
  d->ip = id;
  d->f = fl;
  d->nf = z.nf;
  d->flo = 0;
  d->cpos = 9;
  if (z.nf) frac_limbs(v, fl, z.nf);
  d->fhi = z.nf;
  while (d->fhi > 0 && fl[d->fhi - 1] == 0) d->fhi--;
}

/* ------------------------------------------------------------------ */
/* Rounding                                                            */
/* ------------------------------------------------------------------ */

/* glibc rounds printed values in the FPU's current rounding mode (what
 * fesetround sets): it reads the x87 control word on x86, FPSCR on ARM and
 * PowerPC. Soft-float ARM code has no FPU state to read: nearest. */
enum { RM_NEAREST, RM_UP, RM_DOWN, RM_ZERO };

static int rounding_mode(void) {
#if defined(__i386__) || defined(__x86_64__)
  unsigned short cw;
  __asm__ volatile("fnstcw %0" : "=m"(cw));
  static const unsigned char rc[4] = { RM_NEAREST, RM_DOWN, RM_UP, RM_ZERO };
  return rc[(cw >> 10) & 3];
#elif defined(__arm__) && defined(__ARM_PCS_VFP)
  unsigned fpscr;
  __asm__ volatile("vmrs %0, fpscr" : "=r"(fpscr));
  static const unsigned char rmode[4] = { RM_NEAREST, RM_UP, RM_DOWN, RM_ZERO };
  return rmode[(fpscr >> 22) & 3];
#elif defined(__aarch64__)
  uint64_t fpcr;
  __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
  static const unsigned char rmode[4] = { RM_NEAREST, RM_UP, RM_DOWN, RM_ZERO };
  return rmode[(fpcr >> 22) & 3];
#elif defined(__powerpc__) && !defined(__NO_FPRS__)
  union { double d; uint64_t u; } f;
  __asm__ volatile("mffs %0" : "=f"(f.d));
  static const unsigned char rn[4] = { RM_NEAREST, RM_ZERO, RM_UP, RM_DOWN };
  return rn[f.u & 3];
#else
  return RM_NEAREST;
#endif
}

/* Whether to round a magnitude away from zero (glibc's round_away): half
 * says the dropped part is at least one half, more that it is not exactly
 * zero or one half. */
static int round_away(int mode, int neg, int last_odd, int half, int more) {
  switch (mode) {
    case RM_UP: return !neg && (half || more);
    case RM_DOWN: return neg && (half || more);
    case RM_ZERO: return 0;
    default: return half && (last_odd || more);
  }
}

/* The same for a decimal digit string: next is the first dropped digit,
 * rest whether anything after it is non-zero. */
static int round_up(int mode, int neg, int next, int rest, int last_odd) {
  return round_away(mode, neg, last_odd, next >= 5, (next != 0 && next != 5) || rest);
}

/* Increments the decimal digits s[0..n); returns 1 when it carried out of
 * s[0] (all were 9s, now all 0s). */
static int increment(char *s, int n) {
  for (int i = n - 1; i >= 0; i--) {
    if (s[i] != '9') { s[i]++; return 0; }
    s[i] = '0';
  }
  return 1;
}

/* The first n significant digits (stored: min(n, cap); the rest are zeros),
 * rounded; returns the decimal exponent of the first. Zero: X = 0. */
static int sig_digits(struct dec *d, char *s, int n, int cap, int *stored, int mode, int neg) {
  int X, k = 0, i = 0, exhausted = 0;
  if (d->ni > 0) {
    X = d->ni - 1;
  } else {
    if (frac_zero(d)) { *stored = 0; return 0; }
    int z = 0, c;
    while ((c = dec_next(d)) == 0) z++;
    X = -(z + 1);
    s[k++] = (char)('0' + c);
  }
  int limit = n < cap ? n : cap;
  while (k < limit) {
    if (i < d->ni) s[k++] = d->ip[i++];
    else if (!dec_rest(d)) { exhausted = 1; break; }
    else s[k++] = (char)('0' + dec_next(d));
  }
  if (!exhausted && k == n) {
    int next = i < d->ni ? d->ip[i++] - '0' : dec_next(d);
    int rest = dec_rest(d);
    for (; i < d->ni && !rest; i++) rest = d->ip[i] != '0';
    if (round_up(mode, neg, next, rest, (s[k - 1] - '0') & 1) && increment(s, k)) {
      s[0] = '1';
      X++;
    }
  }
  *stored = k;
  return X;
}

/* ------------------------------------------------------------------ */
/* Floating point: layout                                              */
/* ------------------------------------------------------------------ */

/* A number's text in pieces: bytes s[0..n) followed by nz zeros. */
struct piece { const char *s; int n; int nz; };

static void emit_number(struct rt_out *o, const struct spec *sp, char sign, const char *prefix,
                        const struct piece *pc, int npc) {
  size_t len = (sign != 0) + (prefix ? 2 : 0);
  for (int i = 0; i < npc; i++) len += (size_t)pc[i].n + (size_t)pc[i].nz;
  size_t fill = sp->width > 0 && (size_t)sp->width > len ? (size_t)sp->width - len : 0;
  int zero = sp->zero && !sp->left;
  if (!sp->left && !zero) pad(o, ' ', fill);
  if (sign) putc1(o, sign);
  if (prefix) put(o, prefix, 2);
  if (zero) pad(o, '0', fill);
  for (int i = 0; i < npc; i++) {
    put(o, pc[i].s, (size_t)pc[i].n);
    pad(o, '0', (size_t)pc[i].nz);
  }
  if (sp->left) pad(o, ' ', fill);
}

static void emit_special(struct rt_out *o, const struct spec *sp, const struct fpval *v, int upper) {
  /* glibc pads inf and nan with spaces, whatever the 0 flag says */
  char buf[4], *p = buf;
  if (v->neg) *p++ = '-';
  else if (sp->plus) *p++ = '+';
  else if (sp->space) *p++ = ' ';
  const char *word = v->special == 'i' ? (upper ? "INF" : "inf") : (upper ? "NAN" : "nan");
  for (int i = 0; i < 3; i++) *p++ = word[i];
  padded(o, sp, buf, (size_t)(p - buf));
}

static char sign_of(const struct spec *sp, int neg) {
  return neg ? '-' : sp->plus ? '+' : sp->space ? ' ' : 0;
}

/* "e+05": at least two exponent digits */
static int exp_text(char *out, char e, int X) {
  char tmp[12], *end = tmp + sizeof tmp;
  char *p = utoa((unsigned)(X < 0 ? -X : X), end, 10, 0);
  int n = 0;
  out[n++] = e;
  out[n++] = X < 0 ? '-' : '+';
  if (end - p < 2) out[n++] = '0';
  while (p < end) out[n++] = *p++;
  return n;
}

static void format_fixed(struct rt_out *o, const struct spec *sp, const struct fpval *v, int prec) {
  struct decsize z = dec_size(v);
  uint32_t il[z.il], fl[z.nf ? z.nf : 1];
  char id[z.id];
  struct dec d;
  dec_init(&d, v, z, il, id, fl);
  /* digits kept: [carry] integer digits, then up to prec fraction digits;
   * beyond 32*nf fraction digits the expansion is all zeros */
  int ni = d.ni ? d.ni : 1;
  int maxfrac = 32 * z.nf;
  int nstore = prec < maxfrac ? prec : maxfrac;
  char buf[1 + ni + nstore];
  char *s = buf + 1;
  if (d.ni) memcpy(s, d.ip, (size_t)d.ni);
  else s[0] = '0';
  for (int i = 0; i < nstore; i++) s[ni + i] = (char)('0' + dec_next(&d));
  if (nstore == prec) {
    int next = dec_next(&d), rest = dec_rest(&d);
    if (round_up(rounding_mode(), v->neg, next, rest, (s[ni + nstore - 1] - '0') & 1) && increment(s, ni + nstore)) {
      *--s = '1';
      ni++;
    }
  }
  struct piece pc[3];
  int npc = 0;
  pc[npc++] = (struct piece){ s, ni, 0 };
  if (prec > 0 || sp->alt) pc[npc++] = (struct piece){ ".", 1, 0 };
  if (prec > 0) pc[npc++] = (struct piece){ s + ni, nstore, prec - nstore };
  emit_number(o, sp, sign_of(sp, v->neg), NULL, pc, npc);
}

/* %e (style 'e') and %g (style 'g'), which share the rounding to a number
 * of significant digits. */
static void format_exp_or_general(struct rt_out *o, const struct spec *sp, const struct fpval *v, int prec, int general, int upper) {
  struct decsize z = dec_size(v);
  uint32_t il[z.il], fl[z.nf ? z.nf : 1];
  char id[z.id];
  struct dec d;
  dec_init(&d, v, z, il, id, fl);
  int P = general ? (prec == 0 ? 1 : prec) : prec + 1;
  int cap = d.ni + 32 * z.nf + 1; /* the expansion has no more digits */
  if (cap > P) cap = P;
  char s[cap > 0 ? cap : 1];
  int stored;
  int X = sig_digits(&d, s, P, cap, &stored, rounding_mode(), v->neg);
  char sign = sign_of(sp, v->neg);
  char ebuf[16];
  struct piece pc[6];
  int npc = 0;
  if (general && X < P && X >= -4) {
    /* fixed style, precision P - 1 - X: the same digits */
    int fracn = P - 1 - X; /* digits after the point */
    int total_sig = P;
    if (!sp->alt) {
      /* drop trailing zeros of the fraction (implied ones first) */
      int last = stored; /* digits beyond stored are zeros */
      while (last > 0 && s[last - 1] == '0') last--;
      int keep_sig = last;
      int min_sig = X >= 0 ? X + 1 : 0; /* integer digits stay */
      if (keep_sig < min_sig) keep_sig = min_sig;
      fracn -= total_sig - keep_sig;
      total_sig = keep_sig;
      if (fracn < 0) fracn = 0;
    }
    if (X >= 0) {
      int nint = X + 1;
      int in_s = stored < nint ? stored : nint;
      pc[npc++] = (struct piece){ s, in_s, nint - in_s };
      if (fracn > 0 || sp->alt) pc[npc++] = (struct piece){ ".", 1, 0 };
      if (fracn > 0) {
        int avail = stored - nint > 0 ? stored - nint : 0;
        if (avail > fracn) avail = fracn;
        pc[npc++] = (struct piece){ s + nint, avail, fracn - avail };
      }
    } else {
      pc[npc++] = (struct piece){ "0", 1, 0 };
      if (fracn > 0 || sp->alt) pc[npc++] = (struct piece){ ".", 1, 0 };
      if (fracn > 0) {
        int lead = -X - 1;
        int avail = total_sig < stored ? total_sig : stored;
        pc[npc++] = (struct piece){ "", 0, lead };
        pc[npc++] = (struct piece){ s, avail, fracn - lead - avail };
      }
    }
    emit_number(o, sp, sign, NULL, pc, npc);
    return;
  }
  int fracn = P - 1;
  if (general && !sp->alt) {
    int last = stored;
    while (last > 1 && s[last - 1] == '0') last--;
    fracn = last > 0 ? last - 1 : 0;
  }
  char first = stored ? s[0] : '0';
  pc[npc++] = (struct piece){ stored ? s : &first, 1, 0 };
  if (fracn > 0 || sp->alt) pc[npc++] = (struct piece){ ".", 1, 0 };
  if (fracn > 0) {
    int avail = stored - 1 > 0 ? stored - 1 : 0;
    if (avail > fracn) avail = fracn;
    pc[npc++] = (struct piece){ s + 1, avail, fracn - avail };
  }
  pc[npc++] = (struct piece){ ebuf, exp_text(ebuf, upper ? 'E' : 'e', X), 0 };
  emit_number(o, sp, sign, NULL, pc, npc);
}

/* ------------------------------------------------------------------ */
/* Floating point: %a                                                  */
/* ------------------------------------------------------------------ */

/* glibc's hexadecimal layout per format: the leading digit, the digits
 * after the point (numstr, trailing zeros removed), and the exponent. For
 * double (and ARM's long double) and IBM double-double the leading digit is
 * the implicit bit (0 for denormals, whose exponent is fixed at -1022); x87
 * puts the top nibble of its 64-bit mantissa before the point. */
struct hexform { char leading; char digits[32]; int nd; int exp; int zero; };

static void hex_digits(struct hexform *h, uint64_t hi, int nhi, uint64_t lo, int nlo, int upper) {
  const char *xd = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  h->nd = 0;
  for (int i = nhi - 1; i >= 0; i--) h->digits[h->nd++] = xd[(hi >> (4 * i)) & 15];
  for (int i = nlo - 1; i >= 0; i--) h->digits[h->nd++] = xd[(lo >> (4 * i)) & 15];
}

static int hexval(char c) {
  return c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0';
}

static void format_hex(struct rt_out *o, const struct spec *sp, const struct fpval *v, const unsigned char *raw, int is_ld, int upper) {
  struct hexform h;
  (void)is_ld; /* unused where long double is double */
#if __LDBL_MANT_DIG__ == 64
  if (is_ld) {
    uint64_t mant;
    uint16_t se;
    memcpy(&mant, raw, 8);
    memcpy(&se, raw + 8, 2);
    h.zero = mant == 0;
    hex_digits(&h, mant, 16, 0, 0, upper);
    h.leading = h.digits[0];
    for (int i = 1; i < 16; i++) h.digits[i - 1] = h.digits[i];
    h.nd = 15;
    /* the leading nibble holds 3 bits below the integer bit: exponent - 3 */
    int expfield = se & 0x7fff;
    h.exp = expfield == 0 ? (h.zero ? 0 : -(16382 + 3)) : expfield - (16383 + 3);
  } else
#endif
#if __LDBL_MANT_DIG__ == 113
  if (is_ld) {
    uint64_t lo, hi;
    memcpy(&lo, raw, 8);
    memcpy(&hi, raw + 8, 8);
    int expfield = (int)(hi >> 48) & 0x7fff;
    uint64_t fhi = hi & FRAC48;
    h.zero = fhi == 0 && lo == 0;
    /* 112 fraction bits as 28 hex digits after the implicit bit */
    hex_digits(&h, fhi, 12, lo, 16, upper);
    h.leading = expfield == 0 ? '0' : '1';
    h.exp = expfield == 0 ? (h.zero ? 0 : -16382) : expfield - 16383;
  } else
#endif
#if __LDBL_MANT_DIG__ == 106
  if (is_ld) {
    uint64_t hb, lb;
    memcpy(&hb, raw, 8);
    memcpy(&lb, raw + 8, 8);
    /* glibc's own combination of the two doubles for %La (not quite the
     * one it uses for decimal output) */
    uint64_t hi = hb & FRAC52, lo = (lb & FRAC52) << 7;
    int hexp = (int)(hb >> 52) & 0x7ff, lexp = (int)(lb >> 52) & 0x7ff;
    if (lexp != 0) lo |= 1ull << (52 + 7);
    else lo <<= 1;
    int ediff = hexp - lexp - 53;
    if (ediff > 63) lo = 0;
    else if (ediff > 0) lo >>= ediff;
    else if (ediff < 0) lo = -ediff < 64 ? lo << -ediff : 0;
    if ((hb >> 63) != (lb >> 63) && lo != 0) {
      lo = (1ull << 60) - lo;
      if (hi == 0) {
        hi = 0xffffffffffffeull | (lo >> 59);
        lo = 0xfffffffffffffffull & (lo << 1);
        hexp--;
      } else {
        hi--;
      }
    }
    h.zero = hi == 0 && lo == 0;
    /* 112 bits: hi (52) then lo (60), as 28 hex digits */
    hex_digits(&h, hi, 13, lo, 15, upper);
    h.leading = hexp == 0 ? '0' : '1';
    h.exp = hexp == 0 ? (h.zero ? 0 : -1022) : hexp - 1023;
  } else
#endif
  {
    uint64_t b;
    memcpy(&b, raw, 8);
    uint64_t frac = b & FRAC52;
    int expfield = (int)(b >> 52) & 0x7ff;
    h.zero = frac == 0;
    hex_digits(&h, frac, 13, 0, 0, upper);
    h.leading = expfield == 0 ? '0' : '1';
    h.exp = expfield == 0 ? (h.zero ? 0 : -1022) : expfield - 1023;
  }
  int nd = h.nd;
  int prec = sp->prec;
  if (!h.zero) {
    while (nd > 0 && h.digits[nd - 1] == '0') nd--;
    if (prec >= 0 && prec < nd) {
      char last = prec > 0 ? h.digits[prec - 1] : h.leading;
      int next = hexval(h.digits[prec]);
      int more = (next & 7) != 0 || prec + 1 < nd;
      if (round_away(rounding_mode(), v->neg, hexval(last) & 1, next >= 8, more)) {
        /* round up, carrying into the leading digit (glibc: 0x1.f -> 0x2) */
        int i = prec;
        while (--i >= 0) {
          char c = h.digits[i];
          if (c == '9') { h.digits[i] = upper ? 'A' : 'a'; break; }
          if (c != 'f' && c != 'F') { h.digits[i]++; break; }
          h.digits[i] = '0';
        }
        if (i < 0) {
          if (h.leading == '9') h.leading = upper ? 'A' : 'a';
          else if (h.leading != 'f' && h.leading != 'F') h.leading++;
          else {
            h.leading = '1';
            h.exp += 4;
          }
        }
      }
    }
    if (prec < 0) prec = nd;
  } else {
    if (prec < 0) prec = 0;
    nd = 0;
  }
  char ebuf[16], *ep = ebuf;
  char tmp[12], *end = tmp + sizeof tmp;
  char *p = utoa((unsigned)(h.exp < 0 ? -h.exp : h.exp), end, 10, 0);
  *ep++ = upper ? 'P' : 'p';
  *ep++ = h.exp < 0 ? '-' : '+';
  while (p < end) *ep++ = *p++;
  struct piece pc[4];
  int npc = 0;
  pc[npc++] = (struct piece){ &h.leading, 1, 0 };
  if (prec > 0 || sp->alt) pc[npc++] = (struct piece){ ".", 1, 0 };
  if (prec > 0) {
    int shown = nd < prec ? nd : prec;
    pc[npc++] = (struct piece){ h.digits, shown, prec - shown };
  }
  pc[npc++] = (struct piece){ ebuf, (int)(ep - ebuf), 0 };
  emit_number(o, sp, sign_of(sp, v->neg), upper ? "0X" : "0x", pc, npc);
}

static void format_float(struct rt_out *o, const struct spec *sp, const union argval *a) {
  struct fpval v;
  unsigned char raw[16];
  int is_ld = sp->is_long_double && sizeof(long double) > sizeof(double);
  if (is_ld) {
    memcpy(raw, &a->ld, sizeof(long double));
#if __LDBL_MANT_DIG__ == 64
    v = from_x87(raw);
#elif __LDBL_MANT_DIG__ == 106
    uint64_t h, l;
    memcpy(&h, raw, 8);
    memcpy(&l, raw + 8, 8);
    v = from_ibm(h, l);
#elif __LDBL_MANT_DIG__ == 113
    v = from_binary128(raw);
#endif
  } else {
    /* a double, or a long double that is a double (ARM): the same bits */
    uint64_t b;
    if (sp->is_long_double) memcpy(&b, &a->ld, 8);
    else memcpy(&b, &a->d, 8);
    memcpy(raw, &b, 8);
    v = from_double(b);
  }
  char c = sp->conv;
  int upper = c == 'F' || c == 'E' || c == 'G' || c == 'A';
  if (v.special) {
    emit_special(o, sp, &v, upper);
    return;
  }
  int prec = sp->prec;
  switch (c) {
    case 'f': case 'F':
      format_fixed(o, sp, &v, prec < 0 ? 6 : prec);
      break;
    case 'e': case 'E':
      format_exp_or_general(o, sp, &v, prec < 0 ? 6 : prec, 0, upper);
      break;
    case 'g': case 'G':
      format_exp_or_general(o, sp, &v, prec < 0 ? 6 : prec, 1, upper);
      break;
    default:
      format_hex(o, sp, &v, raw, is_ld, upper);
      break;
  }
}

/* ------------------------------------------------------------------ */
/* The engine                                                          */
/* ------------------------------------------------------------------ */

/* glibc prints an unknown conversion back as it understood it. */
static void format_unknown(struct rt_out *o, const struct spec *sp) {
  char buf[40], *p = buf;
  char tmp[12], *end = tmp + sizeof tmp, *q;
  *p++ = '%';
  if (sp->alt) *p++ = '#';
  if (sp->group) *p++ = '\'';
  if (sp->plus) *p++ = '+';
  else if (sp->space) *p++ = ' ';
  if (sp->left) *p++ = '-';
  if (sp->zero && !sp->left) *p++ = '0';
  if (sp->i18n) *p++ = 'I';
  if (sp->width) for (q = utoa((unsigned)sp->width, end, 10, 0); q < end;) *p++ = *q++;
  if (sp->prec >= 0) {
    *p++ = '.';
    for (q = utoa((unsigned)sp->prec, end, 10, 0); q < end;) *p++ = *q++;
  }
  *p++ = sp->conv;
  put(o, buf, (size_t)(p - buf));
}

/* One conversion; returns -1 on an error that ends the call. */
static int convert(struct rt_out *o, struct spec *sp, struct args *a) {
  if (sp->width_star) {
    int w = int_arg(a, sp->width_arg);
    if (w < 0) {
      sp->left = 1;
      w = w == INT_MIN ? INT_MAX : -w;
    }
    sp->width = w;
  }
  if (sp->prec_star) {
    int p = int_arg(a, sp->prec_arg);
    sp->prec = p < 0 ? -1 : p;
  }
  enum argtype t = value_type(sp);
  union argval v = { 0 };
  if (t != T_NONE) arg(a, sp->arg, t, &v);
  switch (sp->conv) {
    case '%':
      putc1(o, '%');
      return 0;
    case 'd': case 'i': {
      long long x = t == T_LLONG ? v.ll : t == T_LONG ? v.l : sp->is_char ? (signed char)v.i
                  : sp->is_short ? (short)v.i : v.i;
      unsigned long long m = x < 0 ? 0 - (unsigned long long)x : (unsigned long long)x;
      format_int(o, sp, m, x < 0, 10, 'd', sp->plus, sp->space);
      return 0;
    }
    case 'u': case 'o': case 'x': case 'X': case 'b': case 'B': {
      unsigned long long x = t == T_LLONG ? (unsigned long long)v.ll : t == T_LONG ? (unsigned long)v.l
                           : sp->is_char ? (unsigned char)v.i : sp->is_short ? (unsigned short)v.i : (unsigned)v.i;
      int base = sp->conv == 'u' ? 10 : sp->conv == 'o' ? 8 : (sp->conv == 'b' || sp->conv == 'B') ? 2 : 16;
      /* '+' and ' ' belong to signed conversions only */
      format_int(o, sp, x, 0, base, sp->conv, 0, 0);
      return 0;
    }
    case 'p':
      if (v.p) {
        /* glibc: %#lx, keeping '+' and ' ' */
        struct spec s2 = *sp;
        s2.alt = 1;
        format_int(o, &s2, (unsigned long)(uintptr_t)v.p, 0, 16, 'x', sp->plus, sp->space);
      } else {
        padded(o, sp, "(nil)", 5);
      }
      return 0;
    case 'c': case 'C':
      if (sp->conv == 'C' || sp->is_long) {
        rt_wint_t wc = (rt_wint_t)v.i;
        if (!wide_ok(wc)) {
          rt_errno = RT_EILSEQ;
          return -1;
        }
      }
      {
        char ch = (char)(unsigned char)v.i;
        padded(o, sp, &ch, 1);
      }
      return 0;
    case 's': case 'S':
      if (!v.p) {
        /* "(null)" when the precision leaves room for it, else nothing */
        if (sp->prec < 0 || sp->prec >= 6) padded(o, sp, "(null)", 6);
        else padded(o, sp, "", 0);
        return 0;
      }
      if (sp->conv == 'S' || sp->is_long) return wide_string(o, sp, v.p);
      padded(o, sp, v.p, sp->prec < 0 ? strlen(v.p) : strnlen(v.p, (size_t)sp->prec));
      return 0;
    case 'n': {
      /* the count so far, stored in the type the modifiers name */
      int done = (int)o->total;
      if (sp->is_long_double) *(long long *)v.p = done;
      else if (sp->is_long) *(long *)v.p = done;
      else if (sp->is_char) *(char *)v.p = (char)done;
      else if (sp->is_short) *(short *)v.p = (short)done;
      else *(int *)v.p = done;
      return 0;
    }
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A':
      format_float(o, sp, &v);
      return 0;
    case '\0':
      /* the format ended inside a specification */
      rt_errno = RT_EINVAL;
      return -1;
    default:
      format_unknown(o, sp);
      return 0;
  }
}

/* Positional mode (%n$): every specification is parsed once to learn each
 * argument's type, the arguments are read in order, then the format runs. */
static int collect_positional(const char *fmt, enum argtype *types, int max) {
  int n = 0, next = 0;
  for (const char *f = fmt; *f;) {
    if (*f != '%') { f++; continue; }
    struct spec sp;
    if (parse_spec(&f, &sp) < 0) return -1;
    if (sp.conv == '%' && sp.arg < 0 && !sp.width_star && !sp.prec_star) continue;
    int idx[3] = { -2, -2, -2 };
    enum argtype ty[3] = { T_INT, T_INT, value_type(&sp) };
    if (sp.width_star) idx[0] = sp.width_arg >= 0 ? sp.width_arg : next++;
    if (sp.prec_star) idx[1] = sp.prec_arg >= 0 ? sp.prec_arg : next++;
    if (ty[2] != T_NONE) idx[2] = sp.arg >= 0 ? sp.arg : next++;
    for (int j = 0; j < 3; j++) {
      if (idx[j] < 0) continue;
      if (idx[j] >= max) return -1;
      types[idx[j]] = ty[j];
      if (idx[j] + 1 > n) n = idx[j] + 1;
    }
    if (!sp.conv) break;
  }
  return n;
}

/* Positional arguments beyond this many are refused (glibc has no limit;
 * the stack here does). */
#define MAX_POSITIONAL 1024

static int uses_positional(const char *fmt) {
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') continue;
    if (f[1] == '%') { f++; continue; }
    const char *p = f + 1;
    while (is_digit(*p)) p++;
    return p > f + 1 && *p == '$' && f[1] != '0';
  }
  return 0;
}

static int run(struct rt_out *o, const char *fmt, struct args *a) {
  const char *f = fmt;
  while (*f) {
    const char *lit = f;
    while (*f && *f != '%') f++;
    if (f > lit) put(o, lit, (size_t)(f - lit));
    if (!*f) break;
    struct spec sp;
    if (parse_spec(&f, &sp) < 0) {
      rt_errno = RT_EOVERFLOW;
      return -1;
    }
    if (convert(o, &sp, a) < 0) return -1;
    if (o->total >= TOO_MUCH) break;
  }
  if (o->total >= TOO_MUCH) {
    rt_errno = RT_EOVERFLOW;
    return -1;
  }
  return (int)o->total;
}

int __abiscope_vformat(struct rt_out *o, const char *fmt, va_list ap) {
  struct args a;
  va_copy(a.ap, ap);
  a.pos = NULL;
  a.npos = 0;
  a.next = 0;
  int r;
  if (uses_positional(fmt)) {
    enum argtype types[MAX_POSITIONAL];
    for (int i = 0; i < MAX_POSITIONAL; i++) types[i] = T_NONE;
    int n = collect_positional(fmt, types, MAX_POSITIONAL);
    if (n < 0) {
      rt_errno = RT_EINVAL;
      va_end(a.ap);
      return -1;
    }
    union argval vals[n > 0 ? n : 1];
    for (int i = 0; i < n; i++) fetch_va(&a, types[i] == T_NONE ? T_INT : types[i], &vals[i]);
    a.pos = vals;
    a.npos = n;
    r = run(o, fmt, &a);
  } else {
    r = run(o, fmt, &a);
  }
  va_end(a.ap);
  return r;
}
