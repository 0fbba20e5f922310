// Target data models: how big and how aligned each C scalar is on the five
// Linux targets abiscope emulates. These are the numbers GCC uses for struct
// layout (see layout/layout.ts); they are checked against the real cross
// compilers by tests/layout-truth/gen.mjs and tests/layout.test.ts.
//
// Sources: i386 SysV psABI (Intel386 supplement), x86-64 psABI, ARM AAPCS
// (EABI, same layout for armhf and armel), PowerPC 32-bit SysV ABI as shipped
// by Debian (-mlong-double-128), AArch64 AAPCS64. Verified with Debian GCC 12.

import type { ScalarName } from '../ctypes/ctypes.ts';

export type DataModelName = 'i386' | 'x86_64' | 'arm' | 'ppc32' | 'aarch64' | 'llp64';

export interface ScalarLayout {
  size: number;
  /** Alignment inside structs (what offsetof/_Alignof see), which on i386 is
   *  smaller than the alignment GCC prefers for standalone variables. */
  align: number;
}

export interface DataModel {
  /** 'arm' covers armhf and armel: the float ABI changes argument passing, not layout. */
  name: DataModelName;
  endian: 'little' | 'big';
  /** Size and alignment of every data and function pointer. */
  pointerSize: 4 | 8;
  scalars: Readonly<Record<ScalarName, ScalarLayout>>;
  /** Plain `char` is unsigned on ARM, PowerPC and AArch64 Linux, signed on x86. */
  charSigned: boolean;
  /** wchar_t is a signed type (int or long) on x86 and PowerPC, unsigned int on ARM and AArch64, unsigned short on Windows. */
  wcharSigned: boolean;
  longDoubleFormat: 'x87-80' | 'binary64' | 'ibm-double-double' | 'binary128';
  /** abiscope models __int128 here (GCC defines __SIZEOF_INT128__ on 64-bit targets only). */
  int128: boolean;
  /** Built-in typedef names that mean another type here than on the Linux targets (TypeScope.builtins). */
  typedefs?: Readonly<Record<string, ScalarName>>;
}

type ScalarTable = Readonly<Record<ScalarName, ScalarLayout>>;

/** The sizes common to every target: only long, long double and the
 *  alignment of 8-byte types differ. */
function scalarTable(long: 4 | 8, align8: 4 | 8, longDouble: ScalarLayout, wchar: 2 | 4 = 4): ScalarTable {
  const s = (size: number, align = size): ScalarLayout => Object.freeze({ size, align });
  return Object.freeze({
    '_Bool': s(1),
    'char': s(1), 'signed char': s(1), 'unsigned char': s(1),
    'short': s(2), 'unsigned short': s(2),
    'int': s(4), 'unsigned int': s(4),
    'long': s(long), 'unsigned long': s(long),
    'long long': s(8, align8), 'unsigned long long': s(8, align8),
    'float': s(4),
    'double': s(8, align8),
    'long double': Object.freeze({ ...longDouble }),
    'wchar_t': s(wchar),
    // GCC: 16 bytes, 16-aligned, where it exists (DataModel.int128)
    '__int128': s(16), 'unsigned __int128': s(16),
  });
}

const i386: DataModel = Object.freeze({
  name: 'i386',
  endian: 'little',
  pointerSize: 4,
  // The i386 psABI aligns 8-byte scalars and the 12-byte x87 long double to 4
  // inside structs (GCC's -malign-double is off by default).
  scalars: scalarTable(4, 4, { size: 12, align: 4 }),
  charSigned: true,
  wcharSigned: true, // long int
  longDoubleFormat: 'x87-80',
  int128: false,
});

const x86_64: DataModel = Object.freeze({
  name: 'x86_64',
  endian: 'little',
  pointerSize: 8,
  // x87 80-bit long double padded to 16 bytes.
  scalars: scalarTable(8, 8, { size: 16, align: 16 }),
  charSigned: true,
  wcharSigned: true, // int
  longDoubleFormat: 'x87-80',
  int128: true,
});

const arm: DataModel = Object.freeze({
  name: 'arm',
  endian: 'little',
  pointerSize: 4,
  // AAPCS: 8-byte types are 8-aligned everywhere; long double is double.
  scalars: scalarTable(4, 8, { size: 8, align: 8 }),
  charSigned: false,
  wcharSigned: false, // unsigned int
  longDoubleFormat: 'binary64',
  int128: false,
});

const ppc32: DataModel = Object.freeze({
  name: 'ppc32',
  endian: 'big',
  pointerSize: 4,
  // Debian powerpc uses the 128-bit IBM double-double long double.
  scalars: scalarTable(4, 8, { size: 16, align: 16 }),
  charSigned: false,
  wcharSigned: true, // long int
  longDoubleFormat: 'ibm-double-double',
  int128: false,
});

const aarch64: DataModel = Object.freeze({
  name: 'aarch64',
  endian: 'little',
  pointerSize: 8,
  // AAPCS64: long double is IEEE binary128.
  scalars: scalarTable(8, 8, { size: 16, align: 16 }),
  charSigned: false,
  wcharSigned: false, // unsigned int
  longDoubleFormat: 'binary128',
  int128: true,
});

// Windows x64 (LLP64, as x86_64-w64-mingw32-gcc lays data out): long stays 4 bytes while
// pointers are 8; wchar_t is a 2-byte unsigned short holding UTF-16 code units; mingw's
// long double is the x87 80-bit format padded to 16 bytes, as on x86-64 Linux.
const llp64: DataModel = Object.freeze({
  name: 'llp64',
  endian: 'little',
  pointerSize: 8,
  scalars: scalarTable(4, 8, { size: 16, align: 16 }, 2),
  charSigned: true,
  wcharSigned: false, // unsigned short
  longDoubleFormat: 'x87-80',
  // mingw has __int128, but how the Windows x64 convention passes it is not implemented yet
  int128: false,
  // The pointer-sized integer types cannot be long here (mingw's headers: __int64).
  typedefs: Object.freeze({
    size_t: 'unsigned long long', ssize_t: 'long long', ptrdiff_t: 'long long', intptr_t: 'long long', uintptr_t: 'unsigned long long',
  }),
});

export const DATA_MODELS: Readonly<Record<DataModelName, DataModel>> = Object.freeze({
  i386, x86_64, arm, ppc32, aarch64, llp64,
});
