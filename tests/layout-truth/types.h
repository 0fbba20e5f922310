/*
 * Layout ground truth: every struct, union and enum below is laid out by the
 * real cross compilers (gen.mjs -> <target>.json) and by marshal/layout.ts
 * (tests/layout.test.ts), which must agree on every size, alignment and
 * member offset.
 *
 * This file is also parsed by marshal/parse.ts, so it uses only what that
 * parser supports: no preprocessor, no bit-fields. The generated C file gets
 * <stddef.h>, <stdint.h>, <stdbool.h> and an ssize_t typedef before it.
 *
 * Conventions read by gen.mjs: each checked type is a top-level
 * `struct T {...};`, `union T {...};`, `enum T {...};` or
 * `typedef struct/union {...} T;`, one declaration per ';'.
 */

enum color { RED, GREEN, BLUE };
enum signed_enum { NEG = -5, ZERO_ISH = 0x0, HIGH = 1 << 20 };
enum unsigned_enum { U_BIG = 0x80000000 };     /* unsigned int */
enum wide_enum { W_HUGE = 0x100000000 };       /* GNU: 8 bytes */
enum wide_neg_enum { WN_LOW = -0x100000000, WN_ONE = 1 };

typedef unsigned int u32_t;
typedef double real;

/* Every scalar alone, and after a char (which exposes its alignment inside structs). */
struct alone_bool_ { _Bool x; };
struct after_char_bool_ { char c; _Bool x; };
struct alone_stdbool { bool x; };
struct after_char_stdbool { char c; bool x; };
struct alone_char { char x; };
struct after_char_char { char c; char x; };
struct alone_schar { signed char x; };
struct after_char_schar { char c; signed char x; };
struct alone_uchar { unsigned char x; };
struct after_char_uchar { char c; unsigned char x; };
struct alone_short { short x; };
struct after_char_short { char c; short x; };
struct alone_short_int { short int x; };
struct after_char_short_int { char c; short int x; };
struct alone_ushort { unsigned short x; };
struct after_char_ushort { char c; unsigned short x; };
struct alone_int { int x; };
struct after_char_int { char c; int x; };
struct alone_uint { unsigned x; };
struct after_char_uint { char c; unsigned x; };
struct alone_long { long x; };
struct after_char_long { char c; long x; };
struct alone_long_int { long int x; };
struct after_char_long_int { char c; long int x; };
struct alone_ulong { unsigned long x; };
struct after_char_ulong { char c; unsigned long x; };
struct alone_llong { long long x; };
struct after_char_llong { char c; long long x; };
struct alone_ullong { unsigned long long int x; };
struct after_char_ullong { char c; unsigned long long int x; };
struct alone_float { float x; };
struct after_char_float { char c; float x; };
struct alone_double { double x; };
struct after_char_double { char c; double x; };
struct alone_ldouble { long double x; };
struct after_char_ldouble { char c; long double x; };
struct alone_wchar { wchar_t x; };
struct after_char_wchar { char c; wchar_t x; };
struct alone_size { size_t x; };
struct after_char_size { char c; size_t x; };
struct alone_ssize { ssize_t x; };
struct after_char_ssize { char c; ssize_t x; };
struct alone_ptrdiff { ptrdiff_t x; };
struct after_char_ptrdiff { char c; ptrdiff_t x; };
struct alone_intptr { intptr_t x; };
struct after_char_intptr { char c; intptr_t x; };
struct alone_uintptr { uintptr_t x; };
struct after_char_uintptr { char c; uintptr_t x; };
struct alone_i8 { int8_t x; };
struct after_char_i8 { char c; int8_t x; };
struct alone_u8 { uint8_t x; };
struct after_char_u8 { char c; uint8_t x; };
struct alone_i16 { int16_t x; };
struct after_char_i16 { char c; int16_t x; };
struct alone_u16 { uint16_t x; };
struct after_char_u16 { char c; uint16_t x; };
struct alone_i32 { int32_t x; };
struct after_char_i32 { char c; int32_t x; };
struct alone_u32 { uint32_t x; };
struct after_char_u32 { char c; uint32_t x; };
struct alone_i64 { int64_t x; };
struct after_char_i64 { char c; int64_t x; };
struct alone_u64 { uint64_t x; };
struct after_char_u64 { char c; uint64_t x; };
struct alone_ptr { void *x; };
struct after_char_ptr { char c; void *x; };
struct alone_fnptr { void (*x)(void); };
struct after_char_fnptr { char c; void (*x)(void); };
struct alone_enum { enum color x; };
struct after_char_enum { char c; enum color x; };
struct after_char_wide_enum { char c; enum wide_enum e; };
struct after_char_wide_neg_enum { char c; enum wide_neg_enum e; int after; };
struct after_char_typedefs { char c; u32_t u; char d; real r; };

/* One struct of every size from 1 to 20 bytes, and some bigger ones. */
struct size1 { char a; };
struct size2 { short a; };
struct size3 { char a[3]; };
struct size4 { int a; };
struct size5 { char a[5]; };
struct size6 { short a[3]; };
struct size7 { char a[4]; short b; char c; };
struct size8 { int a; float b; };
struct size9 { char a[9]; };
struct size10 { short a[5]; };
struct size11 { char a[5]; char b[6]; };
struct size12 { float x, y, z; };
struct size13 { int a[3]; char b; };          /* 16 with padding: the size counts, the name is the data size */
struct size14 { short a[7]; };
struct size15 { char a[15]; };
struct size16 { double a, b; };
struct size17 { char a[17]; };
struct size18 { short a[9]; };
struct size19 { char a[16]; short b; char c; };
struct size20 { float a[5]; };
struct size24 { double a; int b; double c; };
struct size32 { double a[4]; };
struct size64 { char a[64]; };
struct size_ll12 { int a; long long b; };      /* 12 on i386, 16 elsewhere */
struct size_ld { char c; long double d; char e; };

/* Mixed integer and floating members, the stuff of psABI classification. */
struct mix_if { int i; float f; };
struct mix_fi { float f; int i; };
struct mix_fd { float f; double d; };
struct mix_cfd { char c; float f; double d; };
struct mix_dci { double d; char c; int i; };
struct mix_ffff { float a, b, c, d; };
struct mix_ffi { float a; float b; int c; };
struct mix_sd { short s; double d; };
struct mix_lld { long long l; double d; };
struct mix_ldc { long double d; char c; };
struct mix_ptr_int { void *p; int i; char *s; };

/* Nesting. */
struct point { int x, y; };
struct rect { struct point tl, br; };
struct nested_char { char c; struct point p; char d; };
struct nested_double { char c; struct mix_fd m; char d; };
struct nested_anon_named { char c; struct { short s; double d; } inner; int after; };
struct nested_inline_tag { char c; struct inline_tagged { char a; long long b; } t; struct inline_tagged u; };
struct anon_members {
  char tag;
  union { int i; float f; double d; };
  struct { char a; short b; };
  int last;
};
typedef struct { char c; struct { int i; struct { char d; long long e; }; }; } td_deep_anon;

/* Unions. */
union u_ci { char c; int i; };
union u_c5i { char a[5]; int i; };
union u_dc { double d; char c; };
union u_ld { long double d; char c[3]; };
union u_struct { struct point p; long long l; char c; };
union u_ptrs { void *p; int (*fp)(int); long l; };
typedef union { float f; unsigned int bits; unsigned char bytes[4]; } td_float_bits;
struct holds_union { char c; union u_dc u; char d; };

/* Arrays. */
struct arr2d { short m[3][5]; char c; };
struct arr3d { char m[2][3][4]; int i; };
struct arr_of_structs { char c; struct point pts[3]; };
struct arr_ptrs { char *names[4]; char c; };
struct arr_fnptrs { int (*handlers[3])(int, double); char c; void (*done)(void); };
struct arr_doubles { char c; double d[2]; };
struct arr_enum { enum color colors[3]; char c; };
struct arr_wchar { wchar_t w[3]; _Bool b[3]; };
struct arr_expr { int a[2 * 3 + 1]; char b[0x10 / 4]; char c[BLUE]; };
struct zero_len { int n; char data[0]; };
struct empty { };
struct after_empty { char c; struct empty e; char d; };

/* Pointers. */
struct node { int value; struct node *next; struct node **prev_next; };
struct fnptr_struct { char c; double (*dot)(struct point *, const struct point *); char d; };
struct const_ptrs { const char *s; char *const *argv; const volatile int *p; };

/* packed */
struct __attribute__((packed)) packed_before { char c; int i; double d; };
struct packed_after { char c; int i; short s; long long l; } __attribute__((packed));
struct packed_underscores { char c; long double d; } __attribute__((__packed__));
struct packed_nested { char c; struct point p; struct mix_fd m; } __attribute__((packed));
struct contains_packed { char c; struct packed_before p; char d; };
struct packed_arr { char c; int a[3]; } __attribute__((packed));
struct packed_field { char c; int i __attribute__((packed)); double d; };
struct packed_aligned_field { char c; int i __attribute__((aligned(2))); char d; double e __attribute__((aligned(8))); } __attribute__((packed));
struct packed_aligned { char c; int i; } __attribute__((packed, aligned(4)));
struct packed_aligned2 { char c; double d; char e; } __attribute__((packed)) __attribute__((aligned(2)));
typedef struct __attribute__((packed)) { short s; char c; } td_packed;
union packed_union { char c[3]; int i; } __attribute__((packed));

/* aligned(N) */
struct aligned16 { char c; } __attribute__((aligned(16)));
struct __attribute__((aligned(8))) aligned8_before { short s; };
struct aligned_small { double d; } __attribute__((aligned(2)));   /* cannot lower: stays 8 (4 on i386) */
struct aligned_expr { char c; } __attribute__((aligned(2 * 16)));
struct aligned_hex { int i; } __attribute__((__aligned__(0x10)));
struct aligned_field { char c; int i __attribute__((aligned(8))); char d; };
struct aligned_field_lead { char c; __attribute__((aligned(16))) short s; char d; };
struct aligned_field_multi { char c; int __attribute__((aligned(8))) a, b; };
struct aligned_field_small { char c; double d __attribute__((aligned(2))); };
struct contains_aligned { char c; struct aligned16 a; char d; };
struct packed_contains_aligned { char c; struct aligned16 a; char d; } __attribute__((packed));
union aligned_union { char c; short s; } __attribute__((aligned(8)));
struct arr_aligned { struct aligned8_before a[3]; char c; };
typedef struct { char c; double d __attribute__((aligned(16))); } __attribute__((aligned(32))) td_aligned;

/* Typedef'd structs and mixed odds and ends. */
typedef struct { char c; } td_char;
typedef struct td_tagged { td_char a; td_char b[3]; short s; } td_tagged_t;
struct with_typedefs { td_char c; td_tagged_t t; td_float_bits u; size_t n; };
struct bools { _Bool a; bool b; char c; _Bool d[5]; };
struct wide { wchar_t w; char c; wchar_t *ws; };
struct ints { int8_t a; int16_t b; int32_t c; int64_t d; uint8_t e; uint64_t f; intptr_t g; };
struct enums { char c; enum color col; enum signed_enum s; enum unsigned_enum u; char d; };

/* More attribute placements. */
struct aligned_array_field { char c; char buf[3] __attribute__((aligned(4))); char d; };
struct packed_struct_field { char c; struct point p __attribute__((packed)); char d; };
union aligned_member_union { char c; short s __attribute__((aligned(16))); };
struct packed_arr_of_structs { char c; struct mix_fd m[2]; } __attribute__((packed));
union ll_union { long long l; char c[9]; };
struct ld_after_ld { long double a; char c; long double b; };
