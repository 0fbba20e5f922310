/*
 * GCC's direct calls, one caller per row: each is called from the bench as a void (void)
 * function, so its count is the caller (argument set-up, the call, storing the result) plus
 * the callee plus abiscope's stub for a void (void) call, which the bench subtracts (measured
 * with nop). The arguments are the ones the bench passes through abiscope.
 */
#include "bench.h"

#define NOINLINE __attribute__((noinline))

int sink_i;
double sink_d;
float sink_f;
struct S24 sink_s;

NOINLINE void direct_add(void) { sink_i = add(2, 3); }

NOINLINE void direct_mix(void) { sink_d = mix(2, 1.5, 0.25f); }

NOINLINE void direct_dot(void) {
  struct V2 a = { 1, 2 }, b = { 3, 4 };
  sink_f = dot(a, b);
}

NOINLINE void direct_s24_sum(void) {
  struct S24 s = { 1, 2, 3, 4, 5, 6 };
  sink_i = s24_sum(s);
}

NOINLINE void direct_s24_make(void) { sink_s = s24_make(7); }

NOINLINE void direct_sum10(void) { sink_d = sum10(1, 2, 3, 4, 5, 6, 7, 8, 9, 10); }

NOINLINE void direct_vsum(void) { sink_i = vsum(3, 1, 2, 3, 4.5); }
