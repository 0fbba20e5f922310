/* stdin, stdout, stderr and the character and block output functions.
 *
 * The streams are objects that start like glibc's struct _IO_FILE with every
 * buffer pointer NULL, so the putc_unlocked/getc_unlocked macros of glibc's
 * headers always call __overflow/__uflow. Output is unbuffered: each call
 * hands its bytes to the host at once. There is no input: reading stdin
 * reports end of file. */
#include "rt.h"

void *memcpy(void *restrict dst, const void *restrict src, size_t n);

static FILE in = { .flags = (int)(RT_IO_MAGIC | RT_IO_UNBUFFERED | RT_IO_NO_WRITES), .fileno = 0 };
static FILE out = { .flags = (int)(RT_IO_MAGIC | RT_IO_UNBUFFERED | RT_IO_NO_READS), .fileno = 1 };
static FILE err = { .flags = (int)(RT_IO_MAGIC | RT_IO_UNBUFFERED | RT_IO_NO_READS), .fileno = 2 };

/* glibc: extern FILE *stdin, *stdout, *stderr (assignable variables) */
FILE *stdin = &in;
FILE *stdout = &out;
FILE *stderr = &err;

/* Writes to a stream; stdin, opened for reading only, refuses (glibc: EBADF). */
static int write_to(FILE *fp, const char *buf, size_t len) {
  if (fp->flags & RT_IO_NO_WRITES) {
    fp->flags |= RT_IO_ERR_SEEN;
    rt_errno = RT_EBADF;
    return -1;
  }
  if (__abiscope_write_all(fp->fileno, buf, len) < 0) {
    fp->flags |= RT_IO_ERR_SEEN;
    return -1;
  }
  return 0;
}

int fputc(int c, FILE *fp) {
  char ch = (char)c;
  return write_to(fp, &ch, 1) < 0 ? RT_EOF : (unsigned char)c;
}
int putc(int c, FILE *fp) { return fputc(c, fp); }
int putchar(int c) { return fputc(c, stdout); }
int fputc_unlocked(int c, FILE *fp) { return fputc(c, fp); }
int putc_unlocked(int c, FILE *fp) { return fputc(c, fp); }
int putchar_unlocked(int c) { return fputc(c, stdout); }

/* What glibc's inline putc calls when the (here always empty) buffer is
 * full: write the character. EOF only flushes, which is nothing to do. */
int __overflow(FILE *fp, int c) {
  if (c == RT_EOF) return 0;
  return fputc(c, fp);
}

/* The inline getc's slow path: no input here. */
int __uflow(FILE *fp) {
  fp->flags |= RT_IO_EOF_SEEN;
  return RT_EOF;
}

/* glibc's fputs returns 1 on success. */
int fputs(const char *restrict s, FILE *restrict fp) {
  return write_to(fp, s, strlen(s)) < 0 ? RT_EOF : 1;
}
int fputs_unlocked(const char *restrict s, FILE *restrict fp) { return fputs(s, fp); }

/* puts writes the string and a newline in one piece; glibc returns the
 * number of bytes (at most INT_MAX). */
int puts(const char *s) {
  size_t n = strlen(s);
  char buf[256];
  int r;
  if (n < sizeof buf) {
    memcpy(buf, s, n);
    buf[n] = '\n';
    r = write_to(stdout, buf, n + 1);
  } else {
    r = write_to(stdout, s, n);
    if (r == 0) r = write_to(stdout, "\n", 1);
  }
  if (r < 0) return RT_EOF;
  return n + 1 > INT_MAX ? INT_MAX : (int)(n + 1);
}

size_t fwrite(const void *restrict p, size_t size, size_t count, FILE *restrict fp) {
  if (size == 0 || count == 0) return 0;
  size_t bytes = size * count;
  if (bytes / size != count) return 0;
  return write_to(fp, p, bytes) < 0 ? 0 : count;
}
size_t fwrite_unlocked(const void *restrict p, size_t size, size_t count, FILE *restrict fp) {
  return fwrite(p, size, count, fp);
}

/* Nothing is ever buffered. */
int fflush(FILE *fp) {
  (void)fp;
  return 0;
}
int fflush_unlocked(FILE *fp) { return fflush(fp); }
