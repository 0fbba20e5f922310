/* The host side of the runtime for a plain Linux static program, so that
 * qemu-check.sh can run the runtime under qemu-user without abiscope:
 * __abiscope_write is the write system call, malloc a bump allocator, and
 * _start calls main. Test code only; abiscope implements these itself. */
#include <stddef.h>

#if defined(__x86_64__)
static long sys3(long nr, long a, long b, long c) {
  long r;
  __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
}
#define SYS_WRITE 1
#define SYS_EXIT 231
__asm__(".text\n.globl _start\n_start:\n xor %ebp, %ebp\n and $-16, %rsp\n call cstart\n hlt\n");
#elif defined(__i386__)
static long sys3(long nr, long a, long b, long c) {
  long r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
  return r;
}
#define SYS_WRITE 4
#define SYS_EXIT 252
__asm__(".text\n.globl _start\n_start:\n xor %ebp, %ebp\n and $-16, %esp\n call cstart\n hlt\n");
#elif defined(__arm__)
static long sys3(long nr, long a, long b, long c) {
  register long r0 __asm__("r0") = a, r1 __asm__("r1") = b, r2 __asm__("r2") = c, r7 __asm__("r7") = nr;
  __asm__ volatile("svc 0" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r7) : "memory");
  return r0;
}
#define SYS_WRITE 4
#define SYS_EXIT 248
__asm__(".text\n.arm\n.globl _start\n_start:\n mov fp, #0\n bl cstart\n");
#elif defined(__powerpc__)
static long sys3(long nr, long a, long b, long c) {
  register long r0 __asm__("r0") = nr, r3 __asm__("r3") = a, r4 __asm__("r4") = b, r5 __asm__("r5") = c;
  __asm__ volatile("sc\n bns+ 1f\n neg 3, 3\n1:"
                   : "+r"(r0), "+r"(r3), "+r"(r4), "+r"(r5)
                   :
                   : "r6", "r7", "r8", "r9", "r10", "r11", "r12", "cr0", "ctr", "memory");
  return r3;
}
#define SYS_WRITE 4
#define SYS_EXIT 234
__asm__(".text\n.globl _start\n_start:\n li 0, 0\n stwu 1, -16(1)\n stw 0, 0(1)\n bl cstart\n");
#elif defined(__aarch64__)
static long sys3(long nr, long a, long b, long c) {
  register long x0 __asm__("x0") = a, x1 __asm__("x1") = b, x2 __asm__("x2") = c, x8 __asm__("x8") = nr;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x8) : "memory");
  return x0;
}
#define SYS_WRITE 64
#define SYS_EXIT 94
__asm__(".text\n.globl _start\n_start:\n mov x29, #0\n bl cstart\n");
#endif

int main(void);

void cstart(void) {
  sys3(SYS_EXIT, main(), 0, 0);
  for (;;) {}
}

long __abiscope_write(int fd, const void *buf, unsigned long len) {
  long r = sys3(SYS_WRITE, fd, (long)buf, (long)len);
  return r < 0 ? -1 : r;
}

void __abiscope_fail(const char *message) {
  const char *p = message;
  while (*p) p++;
  __abiscope_write(2, message, (unsigned long)(p - message));
  __abiscope_write(2, "\n", 1);
  sys3(SYS_EXIT, 127, 0, 0);
  for (;;) {}
}

int *__errno_location(void) {
  static int e;
  return &e;
}

static _Alignas(16) char arena[1 << 20];
static size_t used;
void *malloc(size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (n > sizeof arena - used) return NULL;
  void *p = arena + used;
  used += n;
  return p;
}
void free(void *p) { (void)p; }
void abort(void) { sys3(SYS_EXIT, 134, 0, 0); for (;;) {} }
int raise(int sig) { sys3(SYS_EXIT, 128 + sig, 0, 0); return 0; }
