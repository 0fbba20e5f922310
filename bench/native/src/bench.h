/* The functions bench/instructions.ts counts call-outs of (callees.c), and their types. */
#ifndef ABISCOPE_BENCH_H
#define ABISCOPE_BENCH_H

struct V2 { float x, y; };
struct S24 { int a, b, c, d, e, f; };

int add(int a, int b);
double mix(int i, double d, float f);
float dot(struct V2 a, struct V2 b);
int s24_sum(struct S24 s);
struct S24 s24_make(int k);
double sum10(double a, double b, double c, double d, double e, double f, double g, double h, double i, double j);
/* the n ints after n, plus one double after them (truncated toward zero) */
int vsum(int n, ...);
void nop(void);

#endif
