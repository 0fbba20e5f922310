/* Private header of abiscope's guest C runtime.
 *
 * The runtime is compiled freestanding: nothing here may come from glibc's
 * headers, yet every public function must have exactly glibc's prototype and
 * ABI, because the objects that call it were compiled against glibc's
 * headers. Types therefore come from GCC's own predefined macros, which give
 * each target's real types (wchar_t is `long int` on i386 and ppc32, `int` on
 * x86-64 and `unsigned int` on ARM; size_t is unsigned int or unsigned long).
 */
#ifndef ABISCOPE_RT_H
#define ABISCOPE_RT_H

#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <limits.h>

typedef __WCHAR_TYPE__ rt_wchar_t;
typedef __WINT_TYPE__ rt_wint_t;
typedef long rt_ssize_t; /* ssize_t is long on every target here (int-sized on 32-bit) */

/* Linux errno values: identical on i386, x86-64, ARM and PowerPC. */
#define RT_EBADF 9
#define RT_EINVAL 22
#define RT_ERANGE 34
#define RT_EOVERFLOW 75
#define RT_EILSEQ 84

#define RT_EOF (-1)

/* ---- implemented by the host (abiscope), never defined in C ---- */
extern int *__errno_location(void);
extern void *malloc(size_t n);
extern void free(void *p);
extern long __abiscope_write(int fd, const void *buf, unsigned long len);
extern void __abiscope_fail(const char *message) __attribute__((noreturn));

#define rt_errno (*__errno_location())

/* ---- FILE: the start of glibc's struct _IO_FILE ----
 * glibc's inline putc_unlocked/getc_unlocked macros compare _IO_write_ptr
 * with _IO_write_end (and _IO_read_ptr with _IO_read_end); all of them stay
 * NULL here, so those macros always take the slow path into __overflow and
 * __uflow, which this runtime defines. feof_unlocked/ferror_unlocked read
 * _flags. Only a pointer to it ever crosses into user code, so the object
 * does not need glibc's full size. */
struct rt_file {
  int flags; /* _IO_MAGIC in the high half, _IO_EOF_SEEN / _IO_ERR_SEEN below */
  char *read_ptr, *read_end, *read_base;
  char *write_base, *write_ptr, *write_end;
  char *buf_base, *buf_end;
  char *save_base, *backup_base, *save_end;
  void *markers;
  struct rt_file *chain;
  int fileno;
};
typedef struct rt_file FILE;

#define RT_IO_MAGIC 0xFBAD0000
#define RT_IO_UNBUFFERED 0x0002
#define RT_IO_NO_READS 0x0004
#define RT_IO_NO_WRITES 0x0008
#define RT_IO_EOF_SEEN 0x0010
#define RT_IO_ERR_SEEN 0x0020

/* ---- shared internals (names start with __abiscope_ so they cannot clash
 * with user symbols) ---- */

/* Where formatted bytes go: a caller's string (snprintf) or a file descriptor
 * through a small stack buffer (printf). */
struct rt_out {
  char *buf;        /* string mode: the caller's buffer; fd mode: the stack buffer */
  size_t cap;       /* bytes that may be stored in buf */
  size_t len;       /* bytes stored in buf so far */
  size_t total;     /* bytes produced so far (counted also when dropped) */
  int fd;           /* >= 0: flush buf to this descriptor when full; -1: string mode */
  int failed;       /* a write to fd failed */
};

void __abiscope_out_flush(struct rt_out *o);
void __abiscope_out_put(struct rt_out *o, const char *s, size_t n);
void __abiscope_out_pad(struct rt_out *o, char c, size_t n);

/* The one format engine: returns the number of bytes produced, or -1 with
 * errno set (EOVERFLOW beyond INT_MAX, EILSEQ for a wide character that the C
 * locale cannot convert, EINVAL for a format that ends inside a conversion). */
int __abiscope_vformat(struct rt_out *o, const char *fmt, va_list ap);

/* Formats into fd through a stack buffer; the bytes reach the host as they are
 * produced (flushing when the buffer fills) and at the end. */
int __abiscope_vdprintf(int fd, const char *fmt, va_list ap);

/* Writes all of buf to fd; returns 0, or -1 when the host reports an error. */
int __abiscope_write_all(int fd, const char *buf, size_t len);

size_t strlen(const char *s);

#endif
