// C types as written in a prototype, independent of any target.
// Sizes and alignments come from a DataModel (abis/datamodel.ts) via layout.ts.

/** Scalar type names after typedef resolution (`size_t`, `int32_t`... map to these). */
export type ScalarName =
  | '_Bool'
  | 'char' | 'signed char' | 'unsigned char'
  | 'short' | 'unsigned short'
  | 'int' | 'unsigned int'
  | 'long' | 'unsigned long'
  | 'long long' | 'unsigned long long'
  /** GCC's 128-bit integers (64-bit targets only: DataModel.int128). */
  | '__int128' | 'unsigned __int128'
  | 'float' | 'double' | 'long double'
  | 'wchar_t';

/** GCC's __int128 and unsigned __int128 (available where DataModel.int128 says so). */
export const isInt128 = (t: CType): boolean => t.kind === 'scalar' && (t.name === '__int128' || t.name === 'unsigned __int128');

export interface VoidType { kind: 'void' }
export interface ScalarType { kind: 'scalar'; name: ScalarName; /** spelling the user wrote, e.g. 'uint32_t' */ spelling?: string }
export interface PointerType { kind: 'pointer'; to: CType; isConst?: boolean }
export interface ArrayType { kind: 'array'; element: CType; length: number }
export interface EnumType { kind: 'enum'; tag?: string; members: { name: string; value: number }[] }
export interface Field {
  /** '' for an anonymous struct/union member, whose fields are reached as if they were the parent's. */
  name: string;
  type: CType;
  /** from __attribute__((aligned(N))) on the field: raises its alignment (sets it, in a packed record) */
  alignAttr?: number;
  /** from __attribute__((packed)) on the field alone: alignment 1 */
  packed?: boolean;
}
export interface RecordType {
  kind: 'struct' | 'union';
  tag?: string;
  fields: Field[];
  packed?: boolean;
  /** from __attribute__((aligned(N))) on the record */
  alignAttr?: number;
  /** declared (`struct S;`, or used as `struct S *`) but not yet defined: only pointers to it are usable */
  incomplete?: boolean;
}
export interface Param { name?: string; type: CType }
export interface FunctionType { kind: 'function'; result: CType; params: Param[]; variadic: boolean }

export type CType = VoidType | ScalarType | PointerType | ArrayType | EnumType | RecordType | FunctionType;

/** A parsed prototype: `double dot(struct V a, struct V b)`. */
export interface Signature extends FunctionType {
  name?: string;
  /** The source text, for error messages and printing. */
  text: string;
}
