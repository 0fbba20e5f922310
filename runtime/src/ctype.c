/* <ctype.h> for the C locale.
 *
 * glibc's ctype macros do not call functions: they index the tables that
 * __ctype_b_loc(), __ctype_toupper_loc() and __ctype_tolower_loc() return,
 * with any value from -128 (a negative plain char) to 255, and EOF (-1). The
 * tables below have 384 entries and the returned pointers point at entry 128.
 *
 * The class bits are glibc's: bit i of the class word is _ISbit(i), which on
 * little-endian targets swaps the two bytes (glibc keeps the table in
 * big-endian bit order so that byte 0 of the word holds bits 0-7 everywhere).
 * In the C locale, bytes 128-255 and the negative indexes have no class, and
 * toupper/tolower map them to themselves as unsigned values, except -1 (EOF),
 * which maps to -1.
 */
#include "rt.h"

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ISBIT(bit) (1 << (bit))
#else
#define ISBIT(bit) ((bit) < 8 ? ((1 << (bit)) << 8) : ((1 << (bit)) >> 8))
#endif
enum {
  UPPER = ISBIT(0), LOWER = ISBIT(1), ALPHA = ISBIT(2), DIGIT = ISBIT(3),
  XDIGIT = ISBIT(4), SPACE = ISBIT(5), PRINT = ISBIT(6), GRAPH = ISBIT(7),
  BLANK = ISBIT(8), CNTRL = ISBIT(9), PUNCT = ISBIT(10), ALNUM = ISBIT(11),
};

/* The class of byte c (0-255) in the C locale, as a constant expression. */
#define IS_UP(c) ((c) >= 'A' && (c) <= 'Z')
#define IS_LO(c) ((c) >= 'a' && (c) <= 'z')
#define IS_DI(c) ((c) >= '0' && (c) <= '9')
#define IS_XD(c) (IS_DI(c) || ((c) >= 'A' && (c) <= 'F') || ((c) >= 'a' && (c) <= 'f'))
#define IS_SP(c) ((c) == ' ' || ((c) >= '\t' && (c) <= '\r'))
#define IS_PR(c) ((c) >= 0x20 && (c) < 0x7f)
#define IS_CT(c) ((c) < 0x20 || (c) == 0x7f)
#define CLASS(c)                                                                  \
  (unsigned short)((IS_UP(c) ? UPPER | ALPHA | ALNUM : 0) |                       \
                   (IS_LO(c) ? LOWER | ALPHA | ALNUM : 0) |                       \
                   (IS_DI(c) ? DIGIT | ALNUM : 0) | (IS_XD(c) ? XDIGIT : 0) |     \
                   (IS_SP(c) ? SPACE : 0) | (IS_PR(c) ? PRINT : 0) |              \
                   (IS_PR(c) && (c) != ' ' ? GRAPH : 0) |                         \
                   ((c) == ' ' || (c) == '\t' ? BLANK : 0) | (IS_CT(c) ? CNTRL : 0) | \
                   (IS_PR(c) && (c) != ' ' && !IS_UP(c) && !IS_LO(c) && !IS_DI(c) ? PUNCT : 0))

/* 16 consecutive values from a macro F applied to b, b+1, ... b+15 */
#define R4(F, b) F(b), F(b + 1), F(b + 2), F(b + 3)
#define R16(F, b) R4(F, b), R4(F, b + 4), R4(F, b + 8), R4(F, b + 12)
#define R128(F, b) R16(F, b), R16(F, b + 16), R16(F, b + 32), R16(F, b + 48), \
                   R16(F, b + 64), R16(F, b + 80), R16(F, b + 96), R16(F, b + 112)

#define NONE(c) 0
static const unsigned short class_table[384] = {
  R128(NONE, 0),     /* -128 .. -1 */
  R128(CLASS, 0),    /* 0 .. 127 */
  R128(NONE, 128),   /* 128 .. 255 */
};

/* index i of -128..255 as stored in the int32 tables: negative plain chars
 * map to their unsigned value, EOF to itself */
#define NEG(c) ((c) == 127 ? -1 : (c) + 128)
#define UPC(c) (IS_LO(c) ? (c) - 'a' + 'A' : (c))
#define LOC(c) (IS_UP(c) ? (c) - 'A' + 'a' : (c))
#define SAME(c) (c)
static const int32_t upper_table[384] = { R128(NEG, 0), R128(UPC, 0), R128(SAME, 128) };
static const int32_t lower_table[384] = { R128(NEG, 0), R128(LOC, 0), R128(SAME, 128) };

static const unsigned short *class_ptr = class_table + 128;
static const int32_t *upper_ptr = upper_table + 128;
static const int32_t *lower_ptr = lower_table + 128;

const unsigned short **__ctype_b_loc(void) { return &class_ptr; }
const int32_t **__ctype_toupper_loc(void) { return &upper_ptr; }
const int32_t **__ctype_tolower_loc(void) { return &lower_ptr; }

/* The function forms; values outside -128..255 have no class. */
static int is(int c, int mask) { return c >= -128 && c < 256 ? class_table[c + 128] & mask : 0; }

int isalnum(int c) { return is(c, ALNUM); }
int isalpha(int c) { return is(c, ALPHA); }
int isblank(int c) { return is(c, BLANK); }
int iscntrl(int c) { return is(c, CNTRL); }
int isdigit(int c) { return is(c, DIGIT); }
int isgraph(int c) { return is(c, GRAPH); }
int islower(int c) { return is(c, LOWER); }
int isprint(int c) { return is(c, PRINT); }
int ispunct(int c) { return is(c, PUNCT); }
int isspace(int c) { return is(c, SPACE); }
int isupper(int c) { return is(c, UPPER); }
int isxdigit(int c) { return is(c, XDIGIT); }
int isascii(int c) { return (c & ~0x7f) == 0; }
int toascii(int c) { return c & 0x7f; }
int toupper(int c) { return c >= -128 && c < 256 ? upper_table[c + 128] : c; }
int tolower(int c) { return c >= -128 && c < 256 ? lower_table[c + 128] : c; }
