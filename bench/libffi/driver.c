/*
 * libffi's side of bench/instructions.ts: ffi_bench_init() prepares one cif per row (not
 * counted), then each ffi_bench_<row>() is one ffi_call of the callee in
 * bench/native/src/callees.c with the arguments the other columns pass. The bench calls
 * each as a void (void) function and subtracts abiscope's stub for a void (void) call, so a
 * count is this wrapper (a few instructions: ffi_call's four arguments, a call or tail call)
 * plus ffi_call plus the callee.
 */
#include <ffi.h>
#include "bench.h"

/* every call's rvalue: the bench reads the result at its start (ffi_arg is 32 bits on the 32-bit targets, and the
   x86-64 one is little-endian: an int result is at offset 0 everywhere) */
union { ffi_arg i; double d; float f; struct S24 s; } ffi_bench_rv;

static ffi_type *v2_elements[] = { &ffi_type_float, &ffi_type_float, NULL };
static ffi_type v2_type = { .size = 0, .alignment = 0, .type = FFI_TYPE_STRUCT, .elements = v2_elements };
static ffi_type *s24_elements[] = { &ffi_type_sint, &ffi_type_sint, &ffi_type_sint, &ffi_type_sint, &ffi_type_sint, &ffi_type_sint, NULL };
static ffi_type s24_type = { .size = 0, .alignment = 0, .type = FFI_TYPE_STRUCT, .elements = s24_elements };

static ffi_cif cif_add, cif_mix, cif_dot, cif_s24_sum, cif_s24_make, cif_sum10, cif_vsum;

static ffi_type *types_add[] = { &ffi_type_sint, &ffi_type_sint };
static ffi_type *types_mix[] = { &ffi_type_sint, &ffi_type_double, &ffi_type_float };
static ffi_type *types_dot[] = { &v2_type, &v2_type };
static ffi_type *types_s24_sum[] = { &s24_type };
static ffi_type *types_s24_make[] = { &ffi_type_sint };
static ffi_type *types_sum10[] = {
  &ffi_type_double, &ffi_type_double, &ffi_type_double, &ffi_type_double, &ffi_type_double,
  &ffi_type_double, &ffi_type_double, &ffi_type_double, &ffi_type_double, &ffi_type_double,
};
static ffi_type *types_vsum[] = { &ffi_type_sint, &ffi_type_sint, &ffi_type_sint, &ffi_type_sint, &ffi_type_double };

static int add_a = 2, add_b = 3;
static void *args_add[] = { &add_a, &add_b };
static int mix_i = 2;
static double mix_d = 1.5;
static float mix_f = 0.25f;
static void *args_mix[] = { &mix_i, &mix_d, &mix_f };
static struct V2 dot_a = { 1, 2 }, dot_b = { 3, 4 };
static void *args_dot[] = { &dot_a, &dot_b };
static struct S24 s24 = { 1, 2, 3, 4, 5, 6 };
static void *args_s24_sum[] = { &s24 };
static int make_k = 7;
static void *args_s24_make[] = { &make_k };
static double sum10_v[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
static void *args_sum10[] = {
  &sum10_v[0], &sum10_v[1], &sum10_v[2], &sum10_v[3], &sum10_v[4],
  &sum10_v[5], &sum10_v[6], &sum10_v[7], &sum10_v[8], &sum10_v[9],
};
static int vsum_n = 3, vsum_1 = 1, vsum_2 = 2, vsum_3 = 3;
static double vsum_d = 4.5;
static void *args_vsum[] = { &vsum_n, &vsum_1, &vsum_2, &vsum_3, &vsum_d };

/* 0 when every cif is prepared, else the number of the first that failed (1 = add...) */
int ffi_bench_init(void) {
  if (ffi_prep_cif(&cif_add, FFI_DEFAULT_ABI, 2, &ffi_type_sint, types_add) != FFI_OK) return 1;
  if (ffi_prep_cif(&cif_mix, FFI_DEFAULT_ABI, 3, &ffi_type_double, types_mix) != FFI_OK) return 2;
  if (ffi_prep_cif(&cif_dot, FFI_DEFAULT_ABI, 2, &ffi_type_float, types_dot) != FFI_OK) return 3;
  if (ffi_prep_cif(&cif_s24_sum, FFI_DEFAULT_ABI, 1, &ffi_type_sint, types_s24_sum) != FFI_OK) return 4;
  if (ffi_prep_cif(&cif_s24_make, FFI_DEFAULT_ABI, 1, &s24_type, types_s24_make) != FFI_OK) return 5;
  if (ffi_prep_cif(&cif_sum10, FFI_DEFAULT_ABI, 10, &ffi_type_double, types_sum10) != FFI_OK) return 6;
  if (ffi_prep_cif_var(&cif_vsum, FFI_DEFAULT_ABI, 1, 5, &ffi_type_sint, types_vsum) != FFI_OK) return 7;
  return 0;
}

void ffi_bench_add(void) { ffi_call(&cif_add, FFI_FN(add), &ffi_bench_rv, args_add); }
void ffi_bench_mix(void) { ffi_call(&cif_mix, FFI_FN(mix), &ffi_bench_rv, args_mix); }
void ffi_bench_dot(void) { ffi_call(&cif_dot, FFI_FN(dot), &ffi_bench_rv, args_dot); }
void ffi_bench_s24_sum(void) { ffi_call(&cif_s24_sum, FFI_FN(s24_sum), &ffi_bench_rv, args_s24_sum); }
void ffi_bench_s24_make(void) { ffi_call(&cif_s24_make, FFI_FN(s24_make), &ffi_bench_rv, args_s24_make); }
void ffi_bench_sum10(void) { ffi_call(&cif_sum10, FFI_FN(sum10), &ffi_bench_rv, args_sum10); }
void ffi_bench_vsum(void) { ffi_call(&cif_vsum, FFI_FN(vsum), &ffi_bench_rv, args_vsum); }
