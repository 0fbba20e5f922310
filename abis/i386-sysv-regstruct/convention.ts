// i386 System V with GCC's -freg-struct-return (GCC manual, Code Gen Options; the BSD and
// Windows rule for small structs): the rules of i386-sysv, except that a struct or union whose
// GCC machine mode is an integer of 1, 2, 4 or 8 bytes is returned in eax or edx:eax, and one
// that is just a float, double or long double in st0. Any other struct (3 bytes, 12 bytes, ...)
// is returned through the hidden pointer as on i386-sysv. The rules live with i386-sysv.
export { i386SysvRegStructs as i386SysvRegstruct } from '../i386-sysv/convention.ts';
