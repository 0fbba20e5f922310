/* The demo's C code (`npm run demo`), built for every convention with the compiler's default
 * flags only, as a user builds a library: tests/fixtures/build.sh compiles it into
 * demo/obj/<dir>/demo.o. Each function shows one thing about its convention. The i386
 * attribute variants build it with DEMO_CC defined as their attribute (stdcall, fastcall, ...):
 * every function, and the call-back's pointer type, then follows that convention. */
#ifndef DEMO_NO_LIBC /* Windows x64 (mingw): abiscope has no C library for it yet */
#include <stdio.h>
#include <string.h>
#endif

#ifndef DEMO_CC
#define DEMO_CC
#endif

struct point { float x, y; };
struct triple { double a, b, c; };
struct mixed { int i; float f; double d; };

/* armhf: the double takes d0 and the float back-fills s2; armel: the double goes in r2:r3 */
double DEMO_CC int_double_float(int i, double d, float f) { return i + d + f; }

/* more long longs than registers: even register pairs, then 8-byte aligned stack slots */
long long DEMO_CC sum12(long long a, long long b, long long c, long long d, long long e, long long f,
		long long g, long long h, long long i, long long j, long long k, long long l)
{
	return a + b + c + d + e + f + g + h + i + j + k + l;
}

/* x86-64: each struct {float, float} travels packed in one xmm register */
float DEMO_CC dot(struct point p, struct point q) { return p.x * q.x + p.y * q.y; }

/* a 24-byte result: returned through a hidden pointer on every convention */
struct triple DEMO_CC make_triple(double a, double b, double c)
{
	struct triple t = { a, b, c };
	return t;
}

/* a string argument: the host copies it into region 1 of the frame */
int DEMO_CC count_char(const char *s, char c)
{
	int n = 0;
	for (; *s; s++)
		n += *s == c;
	return n;
}

/* a C caller calling back into JS: where did its arguments arrive? */
double DEMO_CC call_back(double (DEMO_CC *f)(int, double, float, long long, struct mixed), int i, double d, float fl, long long ll, struct mixed m)
{
	return f(i, d, fl, ll, m);
}

#ifndef DEMO_NO_LIBC
/* the C library: strlen and printf come from abiscope's runtime, the output is captured */
int DEMO_CC report(const char *name, double value)
{
	return printf("%s has %zu letters and the value %.3g\n", name, strlen(name), value);
}
#endif
