/* C code as users write it, compiled twice: as Ubuntu's GCC does by default
 * (-O2 -D_FORTIFY_SOURCE=2, PIC, glibc's headers) into user_calls.o, and as
 * Debian's does (-O2) into user_calls_plain.o. GCC turns these calls into the
 * runtime entry points named in the comments (fortified / plain).
 * tests/runtime-stdio.test.ts checks that each object really calls them, and
 * what each prints. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void say_hello(void) { printf("hello\n"); }              /* puts */
void say_char(int c) { printf("%c", c); }                /* putchar */
void say_line(const char *s) { printf("%s\n", s); }      /* puts */
void err_text(void) { fprintf(stderr, "to stderr\n"); }  /* fwrite */
void err_char(int c) { fputc(c, stderr); }               /* fputc */
void out_text(const char *s) { fputs(s, stdout); }       /* fputs */
void out_char(int c) { putc(c, stdout); }                /* putc */

/* glibc's inline putc_unlocked: __overflow, since the buffer pointers are NULL */
void out_unlocked(const char *s) {
  while (*s) putc_unlocked(*s++, stdout);
}

/* glibc's inline getc_unlocked: __uflow; there is no input */
int read_char(void) { return getc_unlocked(stdin); }

int say_numbers(int n, double d, long long q) { return printf("n=%d d=%.3f q=%lld\n", n, d, q); } /* __printf_chk / printf */
int err_format(const char *s) { return fprintf(stderr, "[%s]\n", s); }                          /* __fprintf_chk / fprintf */
int out_block(const void *p, size_t n) { return (int)fwrite(p, 1, n, stdout); }                 /* fwrite */
int out_flush(void) { return fflush(stdout); }                                                  /* fflush */
int fd_format(int fd, int v) { return dprintf(fd, "fd%d\n", v); }                               /* __dprintf_chk / dprintf */

int err_vformat(const char *fmt, ...) {                                                          /* __vfprintf_chk / vfprintf */
  va_list ap;
  va_start(ap, fmt);
  int r = vfprintf(stderr, fmt, ap);
  va_end(ap);
  return r;
}

/* stdout and stderr calls interleaved: the bytes must arrive in this order */
void interleaved(void) {
  printf("1");
  fputs("2", stderr);
  putchar('3');
  fprintf(stderr, "%d", 4);
  puts("5");
}

/* more than the runtime's 512-byte formatting buffer in one call */
int long_line(char c, int n) { return printf("%c%*c|\n", c, n, c); }

/* into a local buffer of known size: __snprintf_chk / snprintf, then strcpy */
int to_buffer(char *out, int v) {
  char b[16];
  int r = snprintf(b, sizeof b, "<%d>", v);
  strcpy(out, b);
  return r;
}

/* sprintf into 4 bytes: __sprintf_chk, fatal from 4 characters on (plain:
 * sprintf, and an overflow of b that the tests do not provoke) */
int sprintf_small(int v) {
  char b[4];
  int r = sprintf(b, "%d", v);
  return r + b[0];
}

/* strcpy into 8 bytes (GCC makes it stpcpy for the length): __stpcpy_chk,
 * fatal from 8 characters on (plain: stpcpy) */
int copy_small(const char *s) {
  char b[8];
  strcpy(b, s);
  return (int)strlen(b);
}

/* the ctype macros index __ctype_b_loc() and __ctype_toupper_loc() tables */
int count_upper(const char *s) {
  int n = 0;
  for (; *s; s++) n += isupper((unsigned char)*s) != 0;
  return n;
}

void upcase(char *s) {
  for (; *s; s++) *s = (char)toupper((unsigned char)*s);
}

long parse(const char *s) { return atoi(s) + atol(s); } /* strtol (inline atoi/atol) */

/* stdin is read-only: writes to it fail (EOF and -1) and reach no one */
int write_stdin(int v) { return fputs("ab", stdin) + fprintf(stdin, "%d", v); }

/* the v- forms, each with a va_list of its own: into a local buffer
 * (__vsnprintf_chk / vsnprintf), into out (vsprintf: its size is unknown),
 * to stdout (__vprintf_chk / vprintf) and to descriptor 2 (__vdprintf_chk /
 * vdprintf); local is copied to out + 64 */
int v_forms(char *out, const char *fmt, ...) {
  char local[12];
  va_list ap;
  va_start(ap, fmt);
  int a = vsnprintf(local, sizeof local, fmt, ap);
  va_end(ap);
  va_start(ap, fmt);
  int b = vsprintf(out, fmt, ap);
  va_end(ap);
  va_start(ap, fmt);
  int c = vprintf(fmt, ap);
  va_end(ap);
  va_start(ap, fmt);
  int d = vdprintf(2, fmt, ap);
  va_end(ap);
  memcpy(out + 64, local, sizeof local);
  return a + b + c + d;
}

/* snprintf and sprintf into buffers of unknown size: the plain functions in
 * both builds */
int into(char *out, unsigned long n, int v) { return snprintf(out, n, "%08.3f", v / 8.0) + sprintf(out + 32, "%x", v); }
