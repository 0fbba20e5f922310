/* Prints every printf case as one JSON object per line:
 *   {"r": snprintf's result, "e": errno after the call, "a": what %n stored
 *    (printf_case_aux), "o": 1 if a byte at or past n was written,
 *    "b": the buffer up to its last written byte, one char per byte}
 * Linked statically with glibc this gives the expected results
 * (expected/<target>.json); linked with the runtime instead (qemu-check.sh)
 * it checks the runtime without the emulator. Uses only fwrite, memset and
 * errno, which both provide. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

extern int printf_case(int i, char *buf, unsigned long n);
extern int printf_case_count(void);
extern unsigned long printf_case_size(int i);
extern long long printf_case_aux;

#define BUF 600   /* larger than any n: writes past n are seen */
#define FILL 0xa5 /* what the buffer holds before each call */
#define NO_AUX (-1234567LL)

static char line[8 * BUF];
static size_t len;

static void add(const char *s) {
  while (*s) line[len++] = *s++;
}

static void add_num(long long v) {
  char tmp[24], *p = tmp + sizeof tmp;
  unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
  *--p = 0;
  do *--p = (char)('0' + u % 10); while (u /= 10);
  if (v < 0) *--p = '-';
  add(p);
}

int main(void) {
  static unsigned char buf[BUF];
  int count = printf_case_count();
  fwrite("[\n", 1, 2, stdout);
  for (int i = 0; i < count; i++) {
    unsigned long n = printf_case_size(i);
    memset(buf, FILL, sizeof buf);
    printf_case_aux = NO_AUX;
    errno = 0;
    int r = printf_case(i, (char *)buf, n);
    int e = errno;
    int last = BUF - 1;
    while (last >= 0 && buf[last] == FILL) last--;
    len = 0;
    add("{\"r\":"); add_num(r);
    add(",\"e\":"); add_num(e);
    add(",\"a\":"); add_num(printf_case_aux == NO_AUX ? 0 : printf_case_aux);
    add(",\"o\":"); add_num(last >= (long)n);
    add(",\"b\":\"");
    for (int j = 0; j <= last; j++) {
      unsigned c = buf[j];
      if (c == '"' || c == '\\') { line[len++] = '\\'; line[len++] = (char)c; }
      else if (c >= 0x20 && c < 0x7f) line[len++] = (char)c;
      else {
        static const char hex[] = "0123456789abcdef";
        add("\\u00");
        line[len++] = hex[c >> 4];
        line[len++] = hex[c & 15];
      }
    }
    add(i + 1 < count ? "\"},\n" : "\"}\n");
    fwrite(line, 1, len, stdout);
  }
  fwrite("]\n", 1, 2, stdout);
  return 0;
}
