// A small recursive-descent parser for the C declarations users write when
// describing a foreign function: a prototype, possibly preceded by the
// struct/union/enum/typedef definitions it uses.
//
// It follows the declaration grammar of C11 (6.7 Declarations) closely enough
// that the section numbers in the comments can be read next to the standard,
// plus the GCC extensions that matter for layout (__attribute__((packed)),
// __attribute__((aligned(N)))). Everything it cannot model faithfully is an
// error with a column rather than a silent guess: a wrong guess would put
// arguments in the wrong registers.

import { AbiscopeError, UsageError } from '../errors.ts';
import type {
  ArrayType, CType, EnumType, Field, FunctionType, Param, PointerType, RecordType,
  ScalarName, ScalarType, Signature,
} from './ctypes.ts';

// ---------------------------------------------------------------------------
// Errors

/** A syntax or semantic error in a declaration, pointing at a column of the source. */
export class SignatureError extends AbiscopeError {
  override readonly name = 'SignatureError';
  /** 1-based column within `line`. */
  readonly column: number;
  /** 1-based line (1 unless the source spans several lines). */
  readonly line: number;
  /** 0-based character offset into `source`. */
  readonly offset: number;
  /** The whole text that was being parsed. */
  readonly source: string;
  /** The message without the position and the source excerpt, e.g. "expected ')'". */
  readonly reason: string;

  constructor(reason: string, source: string, offset: number) {
    const before = source.slice(0, offset);
    const line = before.split('\n').length;
    const lineStart = before.lastIndexOf('\n') + 1;
    const column = offset - lineStart + 1;
    const lineEnd = source.indexOf('\n', lineStart);
    const full = source.slice(lineStart, lineEnd < 0 ? source.length : lineEnd).replace(/\t/g, ' ');
    // A long line (a generated header, a fuzzer's text) shows only the part around the column:
    // the message stays readable and its size bounded, whatever the text.
    const from = full.length > EXCERPT ? Math.max(0, column - 1 - EXCERPT / 2) : 0;
    const to = Math.min(full.length, from + EXCERPT);
    const text = `${from > 0 ? '...' : ''}${full.slice(from, to)}${to < full.length ? '...' : ''}`;
    const caret = column - 1 - from + (from > 0 ? 3 : 0);
    const where = source.includes('\n') ? `line ${line}, column ${column}` : `column ${column}`;
    super(`${shorten(reason)} at ${where}\n  ${text}\n  ${' '.repeat(caret)}^`);
    this.column = column;
    this.line = line;
    this.offset = offset;
    this.source = source;
    this.reason = reason;
  }
}

/** Characters of the source line a SignatureError shows around the column. */
const EXCERPT = 160;

/** A reason quoting a huge token (a megabyte identifier) keeps its two ends. */
function shorten(reason: string): string {
  return reason.length <= 1000 ? reason : `${reason.slice(0, 500)}...${reason.slice(-500)}`;
}

// ---------------------------------------------------------------------------
// Limits
//
// Every one is checked before the work it bounds, and its error says the limit. They keep
// parsing linear and bounded in time, memory and JS stack for any text: a prototype or a
// set of declarations a person writes is far below each of them.

export const PARSE_LIMITS = Object.freeze({
  /**
   * Characters in one text. The lexer makes a token object per character at worst: 1 MiB of
   * text is at most about 100 MB of tokens (and a whole preprocessed glibc header is ~50 KB).
   */
  textLength: 1 << 20,
  /**
   * Levels of nesting: each parenthesis in a declarator or a constant expression, parameter
   * list, struct/union body and unary operator is a level of recursion in this parser, and each
   * pointer, array and function in a type a level of recursion in everything that walks
   * types later (layout, printing, comparison, encoding). GCC code rarely goes past 10; 200
   * levels cost a few hundred kB of JS stack at most, so nothing overflows the default stack.
   */
  depth: 200,
  /** Declarations (each declarator counts) in one text. */
  declarations: 65_536,
  /** Enumerators of one enum, members of one struct or union, parameters of one function. */
  members: 65_536,
});

// ---------------------------------------------------------------------------
// Scope

/**
 * What earlier declarations made known: struct/union/enum tags, typedef names,
 * enumeration constants and function prototypes. Parsing never modifies the
 * scope it is given; parseDeclarations returns a new one. (The one exception
 * is C's own: a struct declared but left incomplete in an earlier scope becomes
 * complete when a later text defines it, so that `struct S *` types built
 * before see the definition.)
 */
export interface TypeScope {
  readonly tags: ReadonlyMap<string, RecordType | EnumType>;
  readonly typedefs: ReadonlyMap<string, CType>;
  /** Typedef names of const-qualified types: a `T *` is then a pointer to const. */
  readonly constTypedefs: ReadonlySet<string>;
  /** Enumeration constants, usable in array sizes and later enumerator values. */
  readonly constants: ReadonlyMap<string, number>;
  /** Every function prototype declared, by name. */
  readonly functions: ReadonlyMap<string, Signature>;
  /**
   * The target's own meaning of built-in typedef names, over BUILTIN_TYPEDEFS (Windows x64,
   * LLP64: size_t is `unsigned long long`, since long stays 4 bytes there).
   */
  readonly builtins?: Readonly<Record<string, ScalarName>>;
}

export function emptyScope(builtins?: Readonly<Record<string, ScalarName>>): TypeScope {
  return { tags: new Map(), typedefs: new Map(), constTypedefs: new Set(), constants: new Map(), functions: new Map(), ...(builtins ? { builtins } : {}) };
}

interface WorkScope {
  tags: Map<string, RecordType | EnumType>;
  typedefs: Map<string, CType>;
  constTypedefs: Set<string>;
  constants: Map<string, number>;
  functions: Map<string, Signature>;
  builtins?: Readonly<Record<string, ScalarName>>;
}

function workScope(s: TypeScope | undefined): WorkScope {
  return {
    tags: new Map(s?.tags), typedefs: new Map(s?.typedefs), constTypedefs: new Set(s?.constTypedefs),
    constants: new Map(s?.constants), functions: new Map(s?.functions), ...(s?.builtins ? { builtins: s.builtins } : {}),
  };
}

/**
 * Typedef names every C program gets from <stddef.h>, <stdint.h>, <stdbool.h>
 * and <sys/types.h>, as they are on the five Linux targets. The pointer-sized
 * ones are `long`, which is pointer-sized on all of them (glibc spells size_t
 * `unsigned int` on 32-bit targets: same size and class). A user typedef of the
 * same name takes precedence.
 */
const BUILTIN_TYPEDEFS: Readonly<Record<string, ScalarName>> = Object.freeze({
  size_t: 'unsigned long', ssize_t: 'long', ptrdiff_t: 'long', intptr_t: 'long', uintptr_t: 'unsigned long',
  int8_t: 'signed char', uint8_t: 'unsigned char', int16_t: 'short', uint16_t: 'unsigned short',
  int32_t: 'int', uint32_t: 'unsigned int', int64_t: 'long long', uint64_t: 'unsigned long long',
  intmax_t: 'long long', uintmax_t: 'unsigned long long',
  __int128_t: '__int128', __uint128_t: 'unsigned __int128',
  bool: '_Bool', wchar_t: 'wchar_t',
});

// ---------------------------------------------------------------------------
// Public entry points

/** A prototype as parsePrototype found it, with the scope its declarations made. */
export interface ParsedPrototype {
  signature: Signature;
  /** The scope given, plus the declarations before (and inside) the prototype. */
  scope: TypeScope;
  /** 0-based offset of the prototype in the text (after the declarations). */
  offset: number;
}

/**
 * The one entry point for a prototype: declarations (struct/union/enum/typedef, separated
 * by ';') followed by exactly one function prototype, named ('int cmp(const void *, const
 * void *)') or not ('int (const void *, const void *)'), or a typedef name of a function
 * type. With `functionPointer`, a pointer to a function ('int (*)(int)', 'int (*cb)(int)'
 * or a typedef of one) is accepted as the function it points to. Anything else, such as a
 * second prototype, a declaration after the prototype or none at all, is a SignatureError
 * saying what was expected where.
 */
export function parsePrototype(text: string, scope?: TypeScope, opts: { functionPointer?: boolean } = {}): ParsedPrototype {
  const p = new Parser(text, scope);
  const { signature, offset } = p.prototypeUnit(opts.functionPointer ?? false);
  return { signature, scope: p.scope, offset };
}

/** Parse a function prototype, optionally preceded by the declarations it uses (parsePrototype's signature). */
export function parseSignature(text: string, scope?: TypeScope): Signature {
  return parsePrototype(text, scope).signature;
}

/** Parse a type name: 'struct V { float x, y; }', 'int (*)(int, double)', 'const char *'. A declarator name, if given ('int (*cb)(int)'), is ignored. */
export function parseType(text: string, scope?: TypeScope): CType {
  return new Parser(text, scope).typeName();
}

/**
 * Parse a sequence of declarations, function prototypes among them (they land in
 * `scope.functions`); `signature` is the last one if it is a function prototype.
 */
export function parseDeclarations(text: string, scope?: TypeScope): { scope: TypeScope; signature?: Signature } {
  const p = new Parser(text, scope);
  const signature = p.translationUnit();
  return signature ? { scope: p.scope, signature } : { scope: p.scope };
}

// ---------------------------------------------------------------------------
// Printing (the inverse of parseType, for messages and round trips)

/** C spelling of a type, with an optional declarator name: formatType(fnptr, 'cb') = 'int (*cb)(int, double)'. */
export function formatType(type: CType, name = ''): string {
  return declare(type, name, false, 0);
}

function declare(t: CType, inner: string, isConst: boolean, depth: number): string {
  // Types from the parser are at most PARSE_LIMITS.depth deep; a hand-built CType may be
  // deeper or cyclic, and this is also used in error messages: print '...' instead of overflowing.
  if (depth > PARSE_LIMITS.depth * 2) return inner ? `... ${inner}` : '...';
  const declare_ = (t2: CType, inner2: string, c: boolean) => declare(t2, inner2, c, depth + 1);
  const withInner = (base: string) => (inner ? `${base} ${inner}` : base);
  const cq = isConst ? 'const ' : '';
  switch (t.kind) {
    case 'void': return withInner(cq + 'void');
    case 'scalar': return withInner(cq + (t.spelling ?? t.name));
    case 'enum': return withInner(cq + (t.tag !== undefined ? `enum ${t.tag}`
      : `enum { ${t.members.map((m) => `${m.name} = ${m.value}`).join(', ')} }`));
    case 'struct': case 'union': {
      const attrs = [t.packed ? 'packed' : '', t.alignAttr ? `aligned(${t.alignAttr})` : ''].filter(Boolean);
      const attr = attrs.length ? ` __attribute__((${attrs.join(', ')}))` : '';
      if (t.tag !== undefined) return withInner(`${cq}${t.kind} ${t.tag}`);
      const body = t.fields.map((f) => {
        const fa = [f.packed ? 'packed' : '', f.alignAttr ? `aligned(${f.alignAttr})` : ''].filter(Boolean);
        return `${declare_(f.type, f.name, false)}${fa.length ? ` __attribute__((${fa.join(', ')}))` : ''}; `;
      }).join('');
      return withInner(`${cq}${t.kind}${attr} { ${body}}`);
    }
    case 'pointer': {
      const star = isConst ? `*const${inner ? ' ' + inner : ''}` : `*${inner}`;
      const needParens = t.to.kind === 'array' || t.to.kind === 'function';
      return declare_(t.to, needParens ? `(${star})` : star, t.isConst ?? false);
    }
    // A negative length is the parser's UNSIZED: `int (*p)[]`, a pointer to an array of unknown size.
    case 'array': return declare_(t.element, `${inner}[${t.length < 0 ? '' : t.length}]`, isConst);
    case 'function': {
      const params = t.params.map((p) => declare_(p.type, p.name ?? '', false));
      if (t.variadic) params.push('...');
      return declare_(t.result, `${inner}(${params.length ? params.join(', ') : 'void'})`, false);
    }
  }
}

// ---------------------------------------------------------------------------
// Lexer

type TokKind = 'ident' | 'number' | 'string' | 'punct' | 'eof';
interface Token { kind: TokKind; text: string; offset: number; end: number; value?: bigint }

const PUNCT3 = ['...'];
const PUNCT2 = ['<<', '>>'];
const PUNCT1 = '()[]{},;*=+-/%:&|^~!<>.?';

function tokenize(src: string): Token[] {
  const fail = (reason: string, at: number): never => { throw new SignatureError(reason, src, at); };
  if (src.length > PARSE_LIMITS.textLength) {
    fail(`the text has ${src.length} characters; abiscope parses texts of at most ${PARSE_LIMITS.textLength}`, PARSE_LIMITS.textLength);
  }
  const toks: Token[] = [];
  let i = 0;
  let lineStart = true; // only whitespace so far on this line
  while (i < src.length) {
    const c = src[i];
    if (c === '\n') { i++; lineStart = true; continue; }
    if (/\s/.test(c)) { i++; continue; }
    if (src.startsWith('//', i)) { while (i < src.length && src[i] !== '\n') i++; continue; }
    if (src.startsWith('/*', i)) {
      const close = src.indexOf('*/', i + 2);
      if (close < 0) fail('unterminated comment', i);
      i = close + 2;
      continue;
    }
    if (c === '#' && lineStart) {
      fail('preprocessor directives are not supported (run the text through cpp first)', i);
    }
    lineStart = false;
    const start = i;
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i])) i++;
      toks.push({ kind: 'ident', text: src.slice(start, i), offset: start, end: i });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      while (i < src.length && /[A-Za-z0-9_.]/.test(src[i])) i++;
      const text = src.slice(start, i);
      const m = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uU]?(?:l|L|ll|LL)?|(?:l|L|ll|LL)[uU])$/.exec(text);
      if (!m) {
        const isFloat = /\.|^[0-9]+[eE]|^0[xX][0-9a-fA-F]*[pP]/.test(text);
        fail(isFloat ? `floating-point constant '${clip(text)}' is not allowed here` : `invalid integer constant '${clip(text)}'`, start);
      } else {
        toks.push({ kind: 'number', text, offset: start, end: i, value: integerLiteral(m[1], fail, start) });
      }
      continue;
    }
    if (c === '\'') {
      const { value, end } = charLiteral(src, i, fail);
      i = end;
      toks.push({ kind: 'number', text: src.slice(start, i), offset: start, end: i, value });
      continue;
    }
    if (c === '"') {
      i++;
      while (i < src.length && src[i] !== '"' && src[i] !== '\n') i += src[i] === '\\' ? 2 : 1;
      if (src[i] !== '"') fail('unterminated string literal', start);
      i++;
      toks.push({ kind: 'string', text: src.slice(start, i), offset: start, end: i });
      continue;
    }
    const p = PUNCT3.find((x) => src.startsWith(x, i)) ?? PUNCT2.find((x) => src.startsWith(x, i))
      ?? (PUNCT1.includes(c) ? c : undefined);
    if (p === undefined) fail(`unexpected character '${c}'`, i);
    else {
      i += p.length;
      toks.push({ kind: 'punct', text: p, offset: start, end: i });
    }
  }
  toks.push({ kind: 'eof', text: '', offset: src.length, end: src.length });
  return toks;
}

/** The largest integer constant C has (unsigned long long on every target). */
const MAX_LITERAL = (1n << 64n) - 1n;

/**
 * The value of an integer constant's digits ('0x1F', '017', '0b101', '42'). One above
 * 2^64 - 1 is an error, as in GCC ("integer constant is too large for its type"); its
 * length is checked before BigInt converts it, which takes seconds for a million digits.
 */
function integerLiteral(digits: string, fail: (r: string, at: number) => never, at: number): bigint {
  const radix = /^0[xX]/.test(digits) ? 16 : /^0[bB]/.test(digits) ? 2 : /^0[0-7]/.test(digits) ? 8 : 10;
  const body = (radix === 8 ? digits.slice(1) : radix === 10 ? digits : digits.slice(2)).replace(/^0+/, '');
  // 2^64 - 1 has 16 hex, 64 binary, 22 octal and 20 decimal digits.
  const most = { 16: 16, 2: 64, 8: 22, 10: 20 }[radix];
  const tooLarge = () => fail(`integer constant '${clip(digits)}' is too large (the largest is ${MAX_LITERAL})`, at);
  if (body.length > most) return tooLarge();
  const value = body === '' ? 0n : BigInt(radix === 10 ? body : `0${{ 16: 'x', 2: 'b', 8: 'o' }[radix]}${body}`);
  if (value > MAX_LITERAL) return tooLarge();
  return value;
}

/** A token's text as a message quotes it: a huge one keeps its ends. */
function clip(text: string): string {
  return text.length <= 60 ? text : `${text.slice(0, 28)}...${text.slice(-28)}`;
}

/** 'a', '\n', '\0', '\x41', '\101': the value of an int character constant (ASCII only). */
function charLiteral(src: string, at: number, fail: (r: string, at: number) => never): { value: bigint; end: number } {
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, '\'': 39, '"': 34, '?': 63 };
  let i = at + 1;
  let value: number;
  if (src[i] === '\\') {
    const e = src[i + 1] ?? '';
    let m: RegExpExecArray | null;
    if ((m = /^x([0-9a-fA-F]{1,2})/.exec(src.slice(i + 1)))) { value = parseInt(m[1], 16); i += 1 + m[0].length; }
    else if ((m = /^[0-7]{1,3}/.exec(src.slice(i + 1)))) { value = parseInt(m[0], 8); i += 1 + m[0].length; }
    else if (Object.hasOwn(simple, e)) { value = simple[e]; i += 2; }
    else return fail(`unknown escape sequence '\\${e}'`, i);
  } else if (src[i] !== undefined && src[i] !== '\'' && src[i] !== '\n' && src.charCodeAt(i) < 128) {
    value = src.charCodeAt(i);
    i++;
  } else return fail('invalid character constant', at);
  if (src[i] !== '\'') return fail('invalid character constant', at);
  // Beyond ASCII the value would depend on the target's char signedness ('\xff' is -1 on x86, 255 on ARM).
  if (value > 127) return fail('character constants outside ASCII are not supported', at);
  return { value: BigInt(value), end: i + 1 };
}

// ---------------------------------------------------------------------------
// Parser

/** A type plus its top-level const qualifier, which only matters when a pointer is made to it. */
interface QualType { type: CType; isConst: boolean }

/** GCC attributes that change layout, as collected from one or more __attribute__((...)). */
interface Attrs { packed?: boolean; aligned?: number; at?: number }

const QUALIFIERS: ReadonlySet<string> = new Set(['const', '__const', '__const__', 'volatile', '__volatile', '__volatile__',
  'restrict', '__restrict', '__restrict__']);
/** Storage classes and function specifiers: irrelevant to a prototype's types. */
const IGNORED_SPECIFIERS: ReadonlySet<string> = new Set(['extern', 'static', 'auto', 'register', 'inline', '__inline', '__inline__',
  '_Noreturn', '__extension__', '_Thread_local', '__thread']);
const BASIC: ReadonlySet<string> = new Set(['void', 'char', 'short', 'int', 'long', 'float', 'double', 'signed', '__signed', '__signed__',
  'unsigned', '_Bool', '__int128']);
const UNSUPPORTED_TYPES: Readonly<Record<string, string>> = {
  _Complex: 'complex types are not supported', __complex__: 'complex types are not supported',
  _Imaginary: 'imaginary types are not supported', _Atomic: '_Atomic is not supported',
  _Alignas: '_Alignas is not supported; use __attribute__((aligned(N)))',
  alignas: 'alignas is not supported; use __attribute__((aligned(N)))',
  typeof: 'typeof is not supported', __typeof__: 'typeof is not supported', __typeof: 'typeof is not supported',
  _Float128: "type '_Float128' is not supported",
  __float128: "type '__float128' is not supported", _Float16: "type '_Float16' is not supported",
  _Decimal32: 'decimal floating types are not supported', _Decimal64: 'decimal floating types are not supported',
  _Decimal128: 'decimal floating types are not supported',
};
const KEYWORDS: ReadonlySet<string> = new Set([...QUALIFIERS, ...IGNORED_SPECIFIERS, ...BASIC, ...Object.keys(UNSUPPORTED_TYPES),
  'struct', 'union', 'enum', 'typedef', 'sizeof', '__attribute__', '__attribute', 'asm', '__asm__', '__asm',
  'if', 'else', 'for', 'while', 'do', 'return', 'switch', 'case', 'default', 'break', 'continue', 'goto']);
/** Attributes that would change layout or the calling convention: refusing beats ignoring them. */
const REFUSED_ATTRIBUTES: ReadonlySet<string> = new Set(['mode', 'vector_size', 'ms_struct', 'gcc_struct', 'scalar_storage_order',
  'transparent_union', 'regparm', 'stdcall', 'fastcall', 'thiscall', 'cdecl', 'ms_abi', 'sysv_abi', 'pcs',
  'sseregparm', 'vectorcall']);

/** The result of parsing decl-specifiers (6.7.1-6.7.4). */
interface Specifiers {
  base?: QualType;
  isTypedef: boolean;
  attrs: Attrs;
  start: Token;
  /** true when a struct/union/enum with a body was defined here (so `struct {..};` is an anonymous member). */
  definesTag: boolean;
}

/** A parsed declarator (6.7.6): a name and how to derive the declared type from the specifiers' type. */
interface Declarator {
  name?: string;
  nameTok?: Token;
  apply(base: QualType): QualType;
  /** attributes written inside the declarator, e.g. after `*` */
  attrs: Attrs;
  end: Token;
}

type Context = 'top' | 'member' | 'param' | 'typename';

/**
 * What one declarator of a top-level declaration declared. `at` is where the declarator
 * starts; `bare` marks a declaration without a declarator (`cmp_t;` for a typedef name).
 */
type Declared =
  | { kind: 'function'; signature: Signature; at: Token; bare: boolean }
  | { kind: 'function-pointer'; signature: Signature; name?: string; at: Token; bare: boolean }
  | { kind: 'object'; name: string; at: Token }
  /** an abstract declarator that is not a function: `int *` (only an error, but which one depends on the caller) */
  | { kind: 'type'; type: CType; at: Token; end: Token }
  | { kind: 'typedef'; name: string; at: Token };

/** A function type without its result, as parsed from a parameter list. */
type FnParts = Pick<FunctionType, 'params' | 'variadic'>;

const UNSIZED = -1; // length of `T a[]` until parameter decay (or an error) replaces it

class Parser {
  private readonly toks: Token[];
  private pos = 0;
  private readonly work: WorkScope;
  /** Current nesting (see PARSE_LIMITS.depth). */
  private depth = 0;
  /** Declarators declared so far in this text (see PARSE_LIMITS.declarations). */
  private declared = 0;
  constructor(private readonly src: string, scope: TypeScope | undefined) {
    if (typeof src !== 'string') throw new UsageError(`a C declaration must be given as a string, not ${src === null ? 'null' : typeof src}`);
    this.toks = tokenize(src);
    this.work = workScope(scope);
  }

  /** One more level of nesting at `t`, refused past the limit before the parser recurses. */
  private enter(t: Token = this.tok): void {
    if (++this.depth > PARSE_LIMITS.depth) {
      this.fail(`nesting deeper than ${PARSE_LIMITS.depth} levels (parentheses, parameter lists, struct/union bodies and unary operators each add one)`, t);
    }
  }

  private leave(): void {
    this.depth--;
  }

  /** A type deeper than PARSE_LIMITS.depth (through typedefs too): refused where it is made. */
  private checkDepth(type: CType, at: Token, what: string): void {
    const d = typeDepth(type);
    if (d > PARSE_LIMITS.depth) {
      this.fail(`${what} is nested ${d} levels deep; abiscope allows ${PARSE_LIMITS.depth} (each pointer, array, function and struct/union level adds one)`, at);
    }
  }

  /** Counts an item against a per-text or per-list limit, before parsing it. */
  private count(n: number, limit: number, what: string, t: Token = this.tok): number {
    if (n >= limit) this.fail(`more than ${limit} ${what}`, t);
    return n + 1;
  }

  get scope(): TypeScope { return this.work; }

  // -- token helpers --------------------------------------------------------

  private get tok(): Token { return this.toks[this.pos]; }
  private peek(n = 1): Token { return this.toks[Math.min(this.pos + n, this.toks.length - 1)]; }
  private next(): Token { const t = this.tok; if (t.kind !== 'eof') this.pos++; return t; }
  private is(text: string, t: Token = this.tok): boolean { return t.kind !== 'string' && t.kind !== 'eof' && t.text === text; }
  private atEnd(): boolean { return this.tok.kind === 'eof'; }
  private accept(text: string): boolean { if (this.is(text)) { this.pos++; return true; } return false; }
  private expect(text: string, what = `'${text}'`): Token {
    if (!this.is(text)) this.fail(`expected ${what}${this.before()}`);
    return this.next();
  }
  private before(t: Token = this.tok): string {
    return t.kind === 'eof' ? ' at end of input' : ` before '${t.text}'`;
  }

  failAt(offset: number, reason: string): never { throw new SignatureError(reason, this.src, offset); }
  private fail(reason: string, t: Token = this.tok): never { return this.failAt(t.offset, reason); }

  // -- 6.9 translation unit -------------------------------------------------

  /** declarations separated by ';' (the last ';' optional). Returns the last declaration if it is a prototype. */
  translationUnit(): Signature | undefined {
    let last: Signature | undefined;
    while (!this.atEnd()) {
      if (this.accept(';')) continue;
      last = undefined;
      for (const d of this.declaration()) {
        if (d.kind === 'type' || (d.kind === 'function-pointer' && d.name === undefined && !d.bare)) {
          this.fail('expected a declarator name or a function prototype', d.kind === 'type' ? d.end : this.toks[this.pos - 1]);
        }
        last = d.kind === 'function' ? d.signature : undefined;
      }
      if (!this.atEnd()) this.expect(';', "';'");
    }
    return last;
  }

  /**
   * Declarations, then one prototype (see parsePrototype). Earlier declarations may
   * declare objects (`extern int errno;`), never a function: that would be a second
   * prototype, and which one is meant would be a guess.
   */
  prototypeUnit(functionPointer: boolean): { signature: Signature; offset: number } {
    let found: { signature: Signature; at: Token } | undefined;
    let declarations = 0;
    /** The last declaration, when it declared an object: the likely mistake if no prototype follows. */
    let lastObject: Extract<Declared, { kind: 'function-pointer' | 'object' }> | undefined;
    while (!this.atEnd()) {
      if (this.accept(';')) continue;
      const start = this.tok;
      const items = this.declaration();
      const type = items.find((d) => d.kind === 'type');
      if (type) {
        this.fail(`expected a function prototype${functionPointer ? ' or a pointer to a function' : ''}, not the type '${formatType(type.type)}'`, type.at);
      }
      const prototypes = items.filter((d): d is Extract<Declared, { signature: Signature }> =>
        d.kind === 'function' || (functionPointer && d.kind === 'function-pointer'));
      // `int (*)(int)` declares nothing: without functionPointer, say what to write instead.
      const pointer = items.find((d): d is Extract<Declared, { kind: 'function-pointer' }> => d.kind === 'function-pointer' && d.name === undefined);
      if (pointer && !functionPointer) this.pointerInsteadOfFunction(pointer);
      if (found) {
        if (prototypes.length) {
          this.fail(`expected one function prototype, found a second one after '${found.signature.text}' (give the prototype last, after the declarations it uses)`, start);
        }
        this.fail(`expected the end of the text after the function prototype '${found.signature.text}' (declarations go before it)`, start);
      }
      if (prototypes.length > 1) {
        this.fail(`expected one function prototype, found a second one after '${prototypes[0].signature.text}' (give the prototype last, after the declarations it uses)`, prototypes[1].at);
      }
      if (prototypes.length === 1) {
        found = { signature: prototypes[0].signature, at: start };
      } else {
        declarations++;
        lastObject = undefined;
        for (const d of items) {
          if (d.kind === 'object' || d.kind === 'function-pointer') lastObject = d;
          else lastObject = undefined;
        }
      }
      if (!this.atEnd()) this.expect(';', "';'");
    }
    if (found) return { signature: found.signature, offset: found.at.offset };
    if (lastObject?.kind === 'function-pointer') this.pointerInsteadOfFunction(lastObject);
    if (lastObject) this.fail(`expected a function prototype, not a declaration of the object '${lastObject.name}'`, lastObject.at);
    this.fail(`expected a function prototype${declarations ? ' after the declarations' : ''}${this.before()}`);
  }

  private pointerInsteadOfFunction(d: Extract<Declared, { kind: 'function-pointer' }>): never {
    const fn = formatType({ kind: 'function', result: d.signature.result, params: d.signature.params, variadic: d.signature.variadic });
    this.fail(`expected a function prototype, not a pointer to a function: write '${fn}'`, d.at);
  }

  /** One declaration (6.7) without its ';': what each of its declarators declared. */
  private declaration(): Declared[] {
    this.declared = this.count(this.declared, PARSE_LIMITS.declarations, 'declarations in one text');
    const spec = this.specifiers('top');
    if (!spec.base) this.missingType('top');
    const base = spec.base!;
    if (this.is(';') || this.tok.kind === 'eof') {
      // `struct S {...};`, `struct S;`; or a typedef name alone: `cmp_t` where cmp_t is a function type.
      if (spec.isTypedef) return [];
      const text = this.src.slice(spec.start.offset, this.toks[this.pos - 1].end).trim();
      if (base.type.kind === 'function') {
        return [{ kind: 'function', signature: { ...base.type, text }, at: spec.start, bare: true }];
      }
      if (base.type.kind === 'pointer' && base.type.to.kind === 'function') {
        return [{ kind: 'function-pointer', signature: { ...base.type.to, text }, at: spec.start, bare: true }];
      }
      return [];
    }
    const items: Declared[] = [];
    for (let first = true; ; first = false) {
      const at = this.tok;
      // `int a, b, c;` declares three: the limit counts declarators.
      if (!first) this.declared = this.count(this.declared, PARSE_LIMITS.declarations, 'declarations in one text');
      const d = this.declarator(true);
      const attrs = this.trailingAttributes(d.attrs);
      if (this.is('{')) this.fail('function bodies are not supported; give the prototype only');
      if (this.is('=')) this.fail('initializers are not supported');
      if (this.is(':')) this.fail(`bit-fields are not supported: field '${d.name ?? ''}'`);
      const qt = d.apply(base);
      const text = this.src.slice(spec.start.offset, this.toks[this.pos - 1].end).trim();
      if (spec.isTypedef) {
        if (d.name === undefined || !d.nameTok) this.fail('typedef requires a name', d.end);
        const a = mergeAttrs(spec.attrs, attrs);
        if (a.packed || a.aligned !== undefined) {
          this.failAt(a.at ?? d.nameTok.offset,
            `attributes packed/aligned on typedef '${d.name}' are not supported; put them on the struct`);
        }
        this.defineTypedef(d.name, qt, d.nameTok);
        items.push({ kind: 'typedef', name: d.name, at });
      } else if (qt.type.kind === 'function') {
        const fn = qt.type;
        const signature: Signature = d.name === undefined
          ? { kind: 'function', result: fn.result, params: fn.params, variadic: fn.variadic, text }
          : { kind: 'function', result: fn.result, params: fn.params, variadic: fn.variadic, name: d.name, text };
        if (d.name !== undefined && d.nameTok) this.defineFunction(signature, d.nameTok);
        items.push({ kind: 'function', signature, at, bare: false });
      } else if (qt.type.kind === 'pointer' && qt.type.to.kind === 'function') {
        const fn = qt.type.to;
        const signature: Signature = { kind: 'function', result: fn.result, params: fn.params, variadic: fn.variadic, text };
        items.push(d.name === undefined ? { kind: 'function-pointer', signature, at, bare: false }
          : { kind: 'function-pointer', signature, name: d.name, at, bare: false });
      } else if (d.name === undefined) {
        items.push({ kind: 'type', type: qt.type, at, end: d.end });
      } else {
        // Other declarations (`extern int errno;`) declare objects: nothing to record.
        items.push({ kind: 'object', name: d.name, at: d.nameTok ?? at });
      }
      if (!this.accept(',')) break;
    }
    return items;
  }

  /** A type name (6.7.7), optionally followed by ';', and nothing else. */
  typeName(): CType {
    const spec = this.specifiers('typename');
    if (!spec.base) this.missingType('typename');
    if (spec.isTypedef) this.fail('expected a type name, not a typedef declaration', spec.start);
    const d = this.declarator(true);
    this.trailingAttributes(d.attrs);
    this.accept(';');
    if (this.tok.kind !== 'eof') this.fail(`unexpected '${this.tok.text}' after the type`);
    return d.apply(spec.base!).type;
  }

  /** Explain why no type was found at the start of a declaration. */
  private missingType(ctx: Context): never {
    const t = this.tok;
    if (t.kind === 'ident' && !KEYWORDS.has(t.text)) {
      const n = this.peek();
      if (ctx === 'param' && (this.is(',', n) || this.is(')', n))) {
        this.fail(`K&R-style parameter list is not supported: give '${t.text}' a type`, t);
      }
      if (ctx === 'top' && this.is('(', n)) {
        this.fail(`missing return type for '${t.text}' (implicit int is not supported)`, t);
      }
      this.fail(`unknown type name '${t.text}'`, t);
    }
    if (t.kind === 'eof') this.fail('expected a type at end of input', t);
    this.fail(`expected a type${this.before(t)}`, t);
  }

  // -- 6.7.1-6.7.4 declaration specifiers -----------------------------------

  private specifiers(ctx: Context): Specifiers {
    const start = this.tok;
    const words: string[] = [];   // basic type keywords, as written
    const wordToks: Token[] = [];
    let other: QualType | undefined; // from a typedef name or a struct/union/enum specifier
    let isConst = false;
    let isTypedef = false;
    let definesTag = false;
    let attrs: Attrs = {};
    for (;;) {
      const t = this.tok;
      if (t.kind !== 'ident') break;
      const w = t.text;
      if (QUALIFIERS.has(w)) { if (w.startsWith('const') || w.startsWith('__const')) isConst = true; this.next(); continue; }
      if (IGNORED_SPECIFIERS.has(w)) { this.next(); continue; }
      if (w === 'typedef') {
        if (ctx !== 'top' && ctx !== 'typename') this.fail('typedef is only allowed at the top level');
        isTypedef = true; this.next(); continue;
      }
      if (w === '__attribute__' || w === '__attribute') { attrs = mergeAttrs(attrs, this.attributes()); continue; }
      if (Object.hasOwn(UNSUPPORTED_TYPES, w)) this.fail(UNSUPPORTED_TYPES[w]);
      if (w === 'struct' || w === 'union' || w === 'enum') {
        if (other || words.length) this.twoTypes(other?.type, definesTag);
        const r = w === 'enum' ? this.enumSpecifier() : this.recordSpecifier(w);
        other = { type: r.type, isConst: false };
        definesTag = r.defined;
        continue;
      }
      if (BASIC.has(w)) {
        if (other) this.twoTypes(other.type, definesTag);
        words.push(w.replace(/^__signed(__)?$/, 'signed'));
        wordToks.push(t);
        this.next();
        continue;
      }
      // An identifier is a typedef name only where a type is still expected (6.7.2p2);
      // otherwise it is the declarator's name: `unsigned size_t` declares a variable.
      if (other || words.length) break;
      const td = this.lookupTypedef(w);
      if (!td) break;
      other = td;
      this.next();
    }
    let base: QualType | undefined;
    if (other) base = { type: other.type, isConst: isConst || other.isConst };
    else if (words.length) base = { type: this.basicType(words, wordToks), isConst };
    return base ? { base, isTypedef, attrs, start, definesTag } : { isTypedef, attrs, start, definesTag };
  }

  /** A second type specifier; right after a struct definition, most likely a forgotten ';'. */
  private twoTypes(previous: CType | undefined, wasDefinition: boolean): never {
    if (previous && wasDefinition) this.fail(`expected ';' after ${describeTag(previous)} definition`);
    this.fail('two or more data types in declaration');
  }

  private lookupTypedef(name: string): QualType | undefined {
    const t = this.work.typedefs.get(name);
    if (t) {
      const isConst = this.work.constTypedefs.has(name);
      // A scalar typedef keeps its own spelling: `uint32_t x` is 'unsigned int' spelled 'uint32_t'.
      if (t.kind === 'scalar') return { type: { kind: 'scalar', name: t.name, spelling: name }, isConst };
      return { type: t, isConst };
    }
    const own = this.work.builtins;
    // Object.hasOwn: not Object.prototype's names
    const b = own && Object.hasOwn(own, name) ? own[name] : Object.hasOwn(BUILTIN_TYPEDEFS, name) ? BUILTIN_TYPEDEFS[name] : undefined;
    if (b === undefined) return undefined;
    return { type: b === name ? { kind: 'scalar', name: b } : { kind: 'scalar', name: b, spelling: name }, isConst: false };
  }

  /** 6.7.2p2: the valid multisets of basic type specifiers, in any order. */
  private basicType(words: string[], toks: Token[]): ScalarType | { kind: 'void' } {
    const count = (w: string) => words.filter((x) => x === w).length;
    const has = (w: string) => count(w) > 0;
    const spelling = words.join(' ');
    const bad = (why = `invalid combination of type specifiers '${spelling}'`): never => this.fail(why, toks[0]);
    for (const w of new Set(words)) if (count(w) > (w === 'long' ? 2 : 1)) bad(`duplicate '${w}'`);
    if (has('signed') && has('unsigned')) bad(`both 'signed' and 'unsigned' in '${spelling}'`);
    const sign = has('unsigned') ? 'unsigned' : has('signed') ? 'signed' : '';
    const longs = count('long');
    const rest = words.filter((w) => w !== 'signed' && w !== 'unsigned' && w !== 'long' && w !== 'int');
    let name: ScalarName | 'void';
    if (rest.length > 1) return bad();
    const core = rest[0];
    if (core === undefined) {
      // int, with optional signedness and long/long long
      name = longs === 2 ? 'long long' : longs === 1 ? 'long' : 'int';
      if (sign === 'unsigned') name = `unsigned ${name}`;
    } else {
      if (core !== 'short' && has('int')) bad();
      if (core === 'short') {
        if (longs) bad();
        name = sign === 'unsigned' ? 'unsigned short' : 'short';
      } else if (core === 'double') {
        if (sign || longs > 1) bad();
        name = longs ? 'long double' : 'double';
      } else {
        if (longs) bad();
        if (core === 'char') name = sign === 'unsigned' ? 'unsigned char' : sign === 'signed' ? 'signed char' : 'char';
        else if (core === '__int128') name = sign === 'unsigned' ? 'unsigned __int128' : '__int128';
        else if (sign) return bad();
        else if (core === 'void' || core === 'float' || core === '_Bool') name = core;
        else return bad();
      }
    }
    if (name === 'void') return { kind: 'void' };
    return spelling === name ? { kind: 'scalar', name } : { kind: 'scalar', name, spelling };
  }

  // -- GCC attributes -------------------------------------------------------

  /** __attribute__((a, b(args), ...)): returns the layout attributes, skips the harmless rest. */
  private attributes(): Attrs {
    this.next();
    this.expect('(', "'(' after __attribute__");
    this.expect('(', "'((' after __attribute__");
    let attrs: Attrs = {};
    while (!this.is(')')) {
      if (this.accept(',')) continue;
      const t = this.tok;
      if (t.kind !== 'ident') this.fail(`expected an attribute name${this.before()}`);
      this.next();
      const name = t.text.replace(/^__(.*)__$/, '$1');
      if (REFUSED_ATTRIBUTES.has(name)) this.fail(`attribute '${name}' is not supported`, t);
      if (name === 'packed') attrs = mergeAttrs(attrs, { packed: true, at: t.offset });
      else if (name === 'aligned') {
        if (!this.is('(')) this.fail("'aligned' needs an explicit alignment: aligned(N)", t);
        this.next();
        const n = this.constantExpression('alignment');
        if (!isPowerOfTwo(n)) this.fail(`requested alignment ${n} is not a positive power of 2`, t);
        if (n > MAX_ALIGNMENT) this.fail(`requested alignment ${n} exceeds the maximum ${MAX_ALIGNMENT} (as in GCC for ELF targets)`, t);
        this.expect(')');
        attrs = mergeAttrs(attrs, { aligned: n, at: t.offset });
      } else if (this.is('(')) this.skipBalanced();
    }
    this.expect(')');
    this.expect(')', "'))' to close __attribute__");
    return attrs;
  }

  private skipBalanced(): void {
    const open = this.tok;
    let depth = 0;
    do {
      if (this.tok.kind === 'eof') this.fail("unbalanced '('", open);
      if (this.is('(')) depth++;
      else if (this.is(')')) depth--;
      this.next();
    } while (depth > 0);
  }

  /** Attributes and `asm("label")` after a declarator. */
  private trailingAttributes(attrs: Attrs): Attrs {
    for (;;) {
      if (this.is('__attribute__') || this.is('__attribute')) attrs = mergeAttrs(attrs, this.attributes());
      else if (this.is('asm') || this.is('__asm__') || this.is('__asm')) { this.next(); this.skipBalanced(); }
      else return attrs;
    }
  }

  // -- 6.7.2.1 structure and union specifiers -------------------------------

  private recordSpecifier(kind: 'struct' | 'union'): { type: RecordType; defined: boolean } {
    const kw = this.next();
    let attrs: Attrs = {};
    while (this.is('__attribute__') || this.is('__attribute')) attrs = mergeAttrs(attrs, this.attributes());
    let tagTok: Token | undefined;
    if (this.tok.kind === 'ident' && !KEYWORDS.has(this.tok.text)) tagTok = this.next();
    const tag = tagTok?.text;
    const existing = tag !== undefined ? this.work.tags.get(tag) : undefined;
    if (existing && existing.kind !== kind) {
      this.fail(`'${tag}' was declared as '${existing.kind} ${tag}', not '${kind} ${tag}'`, tagTok);
    }
    const prior = existing as RecordType | undefined;
    if (!this.is('{')) {
      if (tag === undefined) this.fail(`expected '{' or a tag name after '${kind}'`);
      if (attrs.at !== undefined) this.failAt(attrs.at, `attributes on '${kind} ${tag}' need its definition`);
      if (prior) return { type: prior, defined: false };
      // First mention (`struct S;` or `struct S *`): an incomplete type, completed by a later definition.
      const fresh: RecordType = { kind, tag, fields: [], incomplete: true };
      this.work.tags.set(tag, fresh);
      return { type: fresh, defined: false };
    }
    // Register the tag before the body so the members can point to it (`struct node *next`).
    let target: RecordType;
    if (prior?.incomplete) target = prior;
    else if (prior) target = { kind, tag, fields: [], incomplete: true }; // a redefinition: compared below
    else {
      target = tag === undefined ? { kind, fields: [], incomplete: true } : { kind, tag, fields: [], incomplete: true };
      if (tag !== undefined) this.work.tags.set(tag, target);
    }
    this.enter();
    const fields = this.memberList(kind);
    this.leave();
    attrs = this.trailingAttributes(attrs);
    target.fields = fields;
    delete target.incomplete;
    if (attrs.packed) target.packed = true;
    if (attrs.aligned !== undefined) target.alignAttr = attrs.aligned;
    this.checkDepth(target, tagTok ?? kw, `'${kind} ${tag ?? '<anonymous>'}'`);
    if (prior && !prior.incomplete && target !== prior) {
      if (!sameType(prior, { ...target, tag })) this.fail(`redefinition of '${kind} ${tag}' with different members`, tagTok);
      return { type: prior, defined: true };
    }
    return { type: target, defined: true };
  }

  /** '{' struct-declaration-list '}' */
  private memberList(kind: 'struct' | 'union'): Field[] {
    this.expect('{');
    const fields: Field[] = [];
    const names = new Set<string>();
    const addName = (name: string, t: Token) => {
      if (names.has(name)) this.fail(`duplicate member '${name}'`, t);
      names.add(name);
    };
    while (!this.accept('}')) {
      if (this.tok.kind === 'eof') this.fail(`expected '}' to end the ${kind}`);
      if (this.accept(';')) continue;
      const spec = this.specifiers('member');
      if (!spec.base) this.missingType('member');
      const base = spec.base!;
      if (this.is(';')) {
        // C11 6.7.2.1p13: an anonymous struct or union member. Anything else declares no member.
        const t = base.type;
        if ((t.kind === 'struct' || t.kind === 'union') && t.tag === undefined && spec.definesTag) {
          const field: Field = { name: '', type: t };
          applyFieldAttrs(field, spec.attrs);
          for (const n of memberNames(t)) addName(n, spec.start);
          fields.push(field);
        }
        this.next();
        continue;
      }
      for (;;) {
        if (fields.length >= PARSE_LIMITS.members) this.fail(`more than ${PARSE_LIMITS.members} members in one ${kind}`);
        const d = this.declarator(false);
        const name = d.name ?? '';
        if (this.is(':')) this.fail(`bit-fields are not supported: field '${name}'`);
        const attrs = mergeAttrs(spec.attrs, this.trailingAttributes(d.attrs));
        const { type } = d.apply(base);
        if (type.kind === 'array' && type.length === UNSIZED) {
          this.fail(`flexible array members are not supported: field '${name}'`, d.nameTok);
        }
        if (type.kind === 'function') this.fail(`field '${name}' declared as a function`, d.nameTok);
        this.requireComplete(type, `field '${name}'`, d.nameTok ?? d.end);
        addName(name, d.nameTok ?? d.end);
        const field: Field = { name, type };
        applyFieldAttrs(field, attrs);
        fields.push(field);
        if (!this.accept(',')) break;
      }
      this.expect(';', "';' after the member declaration");
    }
    return fields;
  }

  // -- 6.7.2.2 enumeration specifiers ---------------------------------------

  private enumSpecifier(): { type: EnumType; defined: boolean } {
    this.next();
    const attrsBefore = this.trailingAttributes({});
    let tagTok: Token | undefined;
    if (this.tok.kind === 'ident' && !KEYWORDS.has(this.tok.text)) tagTok = this.next();
    const tag = tagTok?.text;
    const existing = tag !== undefined ? this.work.tags.get(tag) : undefined;
    if (existing && existing.kind !== 'enum') {
      this.fail(`'${tag}' was declared as '${existing.kind} ${tag}', not 'enum ${tag}'`, tagTok);
    }
    const prior = existing as EnumType | undefined;
    if (!this.is('{')) {
      if (tag === undefined) this.fail("expected '{' or a tag name after 'enum'");
      if (!prior) this.fail(`'enum ${tag}' is not defined (forward enum declarations are not supported)`, tagTok);
      return { type: prior, defined: false };
    }
    const open = this.next();
    const members: { name: string; value: number }[] = [];
    // A set, not a scan of `members`: a scan made 100,000 enumerators take a minute.
    const names = new Set<string>();
    let next = 0n;
    while (!this.is('}')) {
      const t = this.tok;
      if (t.kind !== 'ident' || KEYWORDS.has(t.text)) this.fail(`expected an enumerator name${this.before()}`);
      if (members.length >= PARSE_LIMITS.members) this.fail(`more than ${PARSE_LIMITS.members} enumerators in one enum`, t);
      this.next();
      this.trailingAttributes({}); // e.g. __attribute__((deprecated))
      let value: number;
      if (this.accept('=')) value = this.constantExpression('enumerator value');
      else {
        // The implicit value, one above the last, is exact (a BigInt) and must stay exact as a number.
        if (next > BigInt(Number.MAX_SAFE_INTEGER)) {
          this.fail(`enumerator '${t.text}' would have the value ${next}, beyond ${Number.MAX_SAFE_INTEGER} (2^53 - 1), the largest abiscope represents exactly`, t);
        }
        value = Number(next);
      }
      if (names.has(t.text)) this.fail(`duplicate enumerator '${t.text}'`, t);
      names.add(t.text);
      const old = this.work.constants.get(t.text);
      if (old !== undefined && old !== value) this.fail(`redeclaration of enumerator '${t.text}' with a different value`, t);
      members.push({ name: t.text, value });
      // Enumerators are in scope right after their definition (6.2.1p7): `B = A + 1` works.
      if (old === undefined) this.work.constants.set(t.text, value);
      next = BigInt(value) + 1n;
      if (!this.accept(',')) break;
    }
    this.expect('}', "',' or '}' in the enum");
    if (members.length === 0) this.fail('empty enum', open);
    const attrs = this.trailingAttributes(attrsBefore);
    if (attrs.at !== undefined) this.failAt(attrs.at, 'attributes packed/aligned on enums are not supported');
    const type: EnumType = tag === undefined ? { kind: 'enum', members } : { kind: 'enum', tag, members };
    if (prior) {
      if (!sameType(prior, type)) this.fail(`redefinition of 'enum ${tag}' with different enumerators`, tagTok);
      return { type: prior, defined: true };
    }
    if (tag !== undefined) this.work.tags.set(tag, type);
    return { type, defined: true };
  }

  // -- 6.7.6 declarators ----------------------------------------------------

  /**
   * declarator: pointer* direct-declarator, where direct-declarator is a name,
   * a parenthesized declarator or nothing (abstract), followed by [N] and
   * (params) suffixes. Pointers bind looser than suffixes, so `int *a[3]` is
   * an array of pointers and `int (*a)[3]` a pointer to an array.
   */
  private declarator(abstractOk: boolean): Declarator {
    const pointers: boolean[] = []; // for each '*': is the pointer itself const-qualified
    let attrs: Attrs = {};
    while (this.is('*')) {
      // `*` and `[N]` loop here rather than recurse, but each makes a level of the type that
      // everything after the parser recurses into: refused as it is written, before apply().
      if (pointers.length >= PARSE_LIMITS.depth) this.fail(`more than ${PARSE_LIMITS.depth} levels of pointers in one declarator`);
      this.next();
      let c = false;
      for (;;) {
        if (this.tok.kind === 'ident' && QUALIFIERS.has(this.tok.text)) {
          if (/^(__)?const/.test(this.tok.text)) c = true;
          this.next();
        } else if (this.is('__attribute__') || this.is('__attribute')) attrs = mergeAttrs(attrs, this.attributes());
        else break;
      }
      pointers.push(c);
    }
    let name: string | undefined;
    let nameTok: Token | undefined;
    let inner: Declarator | undefined;
    if (this.tok.kind === 'ident' && !KEYWORDS.has(this.tok.text)) {
      nameTok = this.next();
      name = nameTok.text;
    } else if (this.is('(') && this.startsNestedDeclarator()) {
      this.enter();
      this.next();
      inner = this.declarator(abstractOk);
      this.expect(')', "')' to close the declarator");
      this.leave();
      name = inner.name;
      nameTok = inner.nameTok;
      attrs = mergeAttrs(attrs, inner.attrs);
    } else if (!abstractOk) {
      this.fail(`expected a member name${this.before()}`);
    }
    type Suffix = { kind: 'array'; length: number; tok: Token } | { kind: 'function'; fn: FnParts; tok: Token };
    const suffixes: Suffix[] = [];
    for (;;) {
      const tok = this.tok;
      if ((this.is('[') || this.is('(')) && suffixes.length >= PARSE_LIMITS.depth) {
        this.fail(`more than ${PARSE_LIMITS.depth} array and function suffixes in one declarator`);
      }
      if (this.accept('[')) {
        // C99 array parameter qualifiers: `int a[static 4]`, `int a[const]`
        while (this.tok.kind === 'ident' && (QUALIFIERS.has(this.tok.text) || this.tok.text === 'static')) this.next();
        let length = UNSIZED;
        if (!this.is(']')) {
          length = this.constantExpression('array size');
          if (length < 0) this.fail(`array size ${length} is negative`, tok);
        }
        this.expect(']', "']'");
        suffixes.push({ kind: 'array', length, tok });
      } else if (this.is('(')) {
        this.enter();
        this.next();
        suffixes.push({ kind: 'function', fn: this.parameterList(), tok });
        this.leave();
      } else break;
    }
    const end = this.toks[Math.max(this.pos - 1, 0)];
    const apply = (base: QualType): QualType => {
      let t = base;
      for (const selfConst of pointers) {
        const p: PointerType = t.isConst ? { kind: 'pointer', to: t.type, isConst: true } : { kind: 'pointer', to: t.type };
        t = { type: p, isConst: selfConst };
      }
      for (let i = suffixes.length - 1; i >= 0; i--) {
        const s = suffixes[i];
        const what = name !== undefined ? `'${name}'` : 'type';
        if (s.kind === 'array') {
          if (t.type.kind === 'function') this.fail(`${what} declared as an array of functions`, s.tok);
          if (t.type.kind === 'array' && t.type.length === UNSIZED) this.fail(`${what}: array has an unsized element type`, s.tok);
          this.requireComplete(t.type, `element of ${what}`, s.tok);
          // Each dimension is at most 2^53 - 1, and so must their product be: every element has
          // at least one byte on every target (layout.ts then checks bytes against the target).
          const count = s.length === UNSIZED ? 0n : BigInt(s.length) * elementCount(t.type);
          if (count > BigInt(Number.MAX_SAFE_INTEGER)) {
            this.fail(`${what}: ${count} array elements in all, more than ${Number.MAX_SAFE_INTEGER} (2^53 - 1), the largest size abiscope computes exactly`, s.tok);
          }
          const a: ArrayType = { kind: 'array', element: t.type, length: s.length };
          t = { type: a, isConst: t.isConst }; // a const array is an array of const (6.7.3p9)
        } else {
          if (t.type.kind === 'function') this.fail(`${what} declared as a function returning a function`, s.tok);
          if (t.type.kind === 'array') this.fail(`${what} declared as a function returning an array`, s.tok);
          if (t.type.kind !== 'void') this.requireComplete(t.type, `return type of ${what}`, s.tok);
          t = { type: { kind: 'function', result: t.type, ...s.fn }, isConst: false };
        }
      }
      // Typedefs stack: `typedef T1 *T2;` is shallow to write, but T2's type is one deeper than T1's.
      this.checkDepth(t.type, nameTok ?? end, name !== undefined ? `the type of '${name}'` : 'the type');
      return inner ? inner.apply(t) : t;
    };
    return name === undefined ? { apply, attrs, end } : { name, nameTok, apply, attrs, end };
  }

  /** After '(' in a declarator: a nested declarator `(*p)` rather than a parameter list `(int)`? */
  private startsNestedDeclarator(): boolean {
    let i = this.pos + 1;
    // skip attributes: `(__attribute__((x)) *p)`
    while (this.toks[i].kind === 'ident' && /^__attribute(__)?$/.test(this.toks[i].text)) {
      let depth = 0;
      i++;
      do {
        const t = this.toks[i];
        if (t.kind === 'eof') return false;
        if (this.is('(', t)) depth++;
        else if (this.is(')', t)) depth--;
        i++;
      } while (depth > 0);
    }
    const t = this.toks[i];
    if (this.is('*', t) || this.is('(', t) || this.is('[', t)) return true;
    // A name that is not a type: `int (x)`. (An identifier list `f(a, b)` follows a name, so it
    // reaches parameterList instead, which reports it as K&R style.)
    return t.kind === 'ident' && !KEYWORDS.has(t.text) && !this.lookupTypedef(t.text);
  }

  // -- 6.7.6.3 function declarators: parameter lists ------------------------

  /** After '(': parameter-type-list ')'. `()` is taken as `(void)`. */
  private parameterList(): FnParts {
    const params: Param[] = [];
    let variadic = false;
    if (this.accept(')')) return { params, variadic };
    const voidToks: Token[] = [];
    const names = new Set<string>();
    for (;;) {
      if (this.is('...')) {
        this.next();
        variadic = true;
        if (!this.is(')')) this.fail("expected ')' after '...'");
        break;
      }
      const first = this.tok;
      if (params.length >= PARSE_LIMITS.members) this.fail(`more than ${PARSE_LIMITS.members} parameters in one parameter list`);
      const spec = this.specifiers('param');
      if (!spec.base) this.missingType('param');
      const d = this.declarator(true);
      this.trailingAttributes(d.attrs);
      let { type, isConst } = d.apply(spec.base!);
      // 6.7.6.3p7-8: array and function parameters are adjusted to pointers.
      if (type.kind === 'array') type = isConst ? { kind: 'pointer', to: type.element, isConst: true } : { kind: 'pointer', to: type.element };
      else if (type.kind === 'function') type = { kind: 'pointer', to: type };
      if (type.kind === 'void') voidToks.push(first);
      else this.requireComplete(type, d.name !== undefined ? `parameter '${d.name}'` : `parameter ${params.length + 1}`, d.nameTok ?? first);
      if (d.name !== undefined) {
        if (names.has(d.name)) this.fail(`redefinition of parameter '${d.name}'`, d.nameTok ?? first);
        names.add(d.name);
      }
      params.push(d.name === undefined ? { type } : { name: d.name, type });
      if (this.accept(',')) continue;
      if (!this.is(')')) this.fail(`expected ',' or ')' in the parameter list${this.before()}`);
      break;
    }
    this.expect(')');
    // `(void)` means no parameters; void anywhere else is an error (6.7.6.3p10).
    if (voidToks.length) {
      if (params.length === 1 && params[0].name === undefined && !variadic) return { params: [], variadic };
      this.fail(`'void' must be the only parameter${params.length === 1 ? ' and unnamed' : ''}`, voidToks[0]);
    }
    return { params, variadic };
  }

  // -- 6.6 integer constant expressions -------------------------------------

  /** + - * / % << >> & ^ | ~ ! unary -, parentheses, literals and enumeration constants, on exact integers. */
  private constantExpression(what: string): number {
    const start = this.tok;
    const v = this.binary(0);
    if (v < BigInt(Number.MIN_SAFE_INTEGER) || v > BigInt(Number.MAX_SAFE_INTEGER)) {
      this.fail(`${what} ${v} is out of range`, start);
    }
    return Number(v);
  }

  private static readonly LEVELS: readonly (readonly string[])[] = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];

  private binary(level: number): bigint {
    if (level === Parser.LEVELS.length) return this.unary();
    let v = this.binary(level + 1);
    for (;;) {
      const op = this.tok;
      if (op.kind !== 'punct' || !Parser.LEVELS[level].includes(op.text)) return v;
      this.next();
      const r = this.binary(level + 1);
      switch (op.text) {
        case '|': v |= r; break;
        case '^': v ^= r; break;
        case '&': v &= r; break;
        case '<<': case '>>':
          if (r < 0n || r > 63n) this.fail(`shift count ${r} is out of range`, op);
          v = op.text === '<<' ? v << r : v >> r; break;
        case '+': v += r; break;
        case '-': v -= r; break;
        case '*': v *= r; break;
        case '/': case '%':
          if (r === 0n) this.fail('division by zero in a constant expression', op);
          v = op.text === '/' ? v / r : v % r; break; // BigInt division truncates toward zero, as in C
      }
      // C evaluates in at most 64 bits; bounding every step also keeps `x * x * x ...` from
      // growing BigInts of millions of digits before the final range check.
      if (v < -(1n << 64n) || v > MAX_LITERAL) this.fail(`the constant expression overflows 64 bits at '${op.text}'`, op);
    }
  }

  private unary(): bigint {
    const t = this.tok;
    if (this.is('-') || this.is('+') || this.is('~') || this.is('!') || this.is('(')) {
      this.enter();
      this.next();
      let v: bigint;
      if (t.text === '(') {
        v = this.binary(0);
        this.expect(')');
      } else {
        const x = this.unary();
        v = t.text === '-' ? -x : t.text === '~' ? ~x : t.text === '!' ? (x === 0n ? 1n : 0n) : x;
      }
      this.leave();
      return v;
    }
    if (t.kind === 'number') { this.next(); return t.value!; }
    if (t.kind === 'ident') {
      if (t.text === 'sizeof' || t.text === '_Alignof' || t.text === '__alignof__') {
        this.fail(`${t.text} is not supported in constant expressions`);
      }
      const c = this.work.constants.get(t.text);
      if (c === undefined) this.fail(`'${t.text}' is not an integer constant`);
      this.next();
      return BigInt(c);
    }
    this.fail(`expected an integer constant${this.before()}`);
  }

  // -- semantic checks ------------------------------------------------------

  /** Objects passed or stored by value need a complete type (6.7.2.1p3, 6.7.6.3p4). */
  private requireComplete(type: CType, what: string, at: Token): void {
    if (type.kind === 'void') this.fail(`${what} has incomplete type 'void'`, at);
    if ((type.kind === 'struct' || type.kind === 'union') && type.incomplete) {
      this.fail(`${what} has incomplete type '${type.kind} ${type.tag ?? '<anonymous>'}'`, at);
    }
    if (type.kind === 'array') this.requireComplete(type.element, what, at);
  }

  private defineTypedef(name: string, qt: QualType, at: Token): void {
    const old = this.work.typedefs.get(name);
    // C11 6.7p3 allows repeating a typedef with the same type.
    if (old && !(sameType(old, qt.type) && this.work.constTypedefs.has(name) === qt.isConst)) {
      this.fail(`conflicting types for typedef '${name}'`, at);
    }
    if (old) return;
    // Keep the scalar's canonical form; each use gets the typedef name as spelling.
    const type = qt.type.kind === 'scalar' ? { kind: 'scalar' as const, name: qt.type.name } : qt.type;
    this.work.typedefs.set(name, type);
    if (qt.isConst) this.work.constTypedefs.add(name);
  }

  private defineFunction(sig: Signature, at: Token): void {
    const name = sig.name!;
    const old = this.work.functions.get(name);
    if (old && !sameType(old, sig)) this.fail(`conflicting types for '${name}'`, at);
    this.work.functions.set(name, sig);
  }
}

// ---------------------------------------------------------------------------
// Helpers

/** GCC's largest aligned(N) on ELF targets (2^28: "requested alignment exceeds maximum"). */
export const MAX_ALIGNMENT = 1 << 28;

/** Exact for any number: `n & (n - 1)` would look at only the low 32 bits of 3 * 2^31. */
export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/** Elements of an array type counting all its dimensions (1 for a non-array). */
function elementCount(t: CType): bigint {
  let n = 1n;
  for (let x = t; x.kind === 'array'; x = x.element) n *= BigInt(Math.max(x.length, 0));
  return n;
}

const depths = new WeakMap<CType, number>();

/**
 * How deep the code that walks a type (layout, printing, comparison, encoding) recurses:
 * 1 for a leaf, one more for each pointer, array, function and record level. A pointer to a
 * tagged struct or union counts as a leaf: walkers stop there (it may point to itself).
 * Memoized per type object; an incomplete record, which may still be completed, is not.
 */
function typeDepth(t: CType): number {
  const known = depths.get(t);
  if (known !== undefined) return known;
  let d: number;
  switch (t.kind) {
    case 'void': case 'scalar': case 'enum': return 1;
    case 'pointer': {
      const to = t.to;
      d = 1 + ((to.kind === 'struct' || to.kind === 'union') && to.tag !== undefined ? 1 : typeDepth(to));
      break;
    }
    case 'array': d = 1 + typeDepth(t.element); break;
    case 'function': {
      let m = typeDepth(t.result);
      for (const p of t.params) m = Math.max(m, typeDepth(p.type));
      d = 1 + m;
      break;
    }
    case 'struct': case 'union': {
      if (t.incomplete) return 1;
      let m = 0;
      for (const f of t.fields) m = Math.max(m, typeDepth(f.type));
      d = 1 + m;
      break;
    }
  }
  depths.set(t, d);
  return d;
}

function mergeAttrs(a: Attrs, b: Attrs): Attrs {
  const out: Attrs = { ...a };
  if (b.packed) out.packed = true;
  // Several aligned attributes: the largest wins, as in GCC.
  if (b.aligned !== undefined) out.aligned = Math.max(a.aligned ?? 0, b.aligned);
  if (out.at === undefined && b.at !== undefined) out.at = b.at;
  return out;
}

function applyFieldAttrs(field: Field, attrs: Attrs): void {
  if (attrs.packed) field.packed = true;
  if (attrs.aligned !== undefined) field.alignAttr = attrs.aligned;
}

function describeTag(t: CType): string {
  return t.kind === 'struct' || t.kind === 'union' || t.kind === 'enum'
    ? (t.tag !== undefined ? `'${t.kind} ${t.tag}'` : t.kind) : 'type';
}

/** Member names reachable from a record, looking through anonymous members (C11 6.7.2.1p13). */
function memberNames(r: RecordType): string[] {
  return r.fields.flatMap((f) => (f.name === '' && (f.type.kind === 'struct' || f.type.kind === 'union')
    ? memberNames(f.type) : [f.name]));
}

/**
 * Compatible types in the sense needed to accept a repeated definition:
 * scalars by name (not spelling), records and enums member by member. A pair
 * already being compared is assumed equal, which ends the recursion through
 * self-referential structs (`struct S { struct S *next; }`).
 */
function sameType(a: CType, b: CType, assumed: [CType, CType][] = []): boolean {
  if (a === b) return true;
  if (assumed.some(([x, y]) => x === a && y === b)) return true;
  const same = (x: CType, y: CType) => sameType(x, y, assumed);
  switch (a.kind) {
    case 'void': return b.kind === 'void';
    case 'scalar': return b.kind === 'scalar' && a.name === b.name;
    case 'pointer': {
      if (b.kind !== 'pointer' || !!a.isConst !== !!b.isConst) return false;
      // Pointers to tagged records: the tag names the type (one scope). Comparing members
      // instead would walk a chain of structs pointing to structs as deep as it goes.
      const x = a.to, y = b.to;
      if ((x.kind === 'struct' || x.kind === 'union') && x.tag !== undefined && (y.kind === 'struct' || y.kind === 'union') && y.tag !== undefined) {
        return x.kind === y.kind && x.tag === y.tag;
      }
      return same(x, y);
    }
    case 'array': return b.kind === 'array' && a.length === b.length && same(a.element, b.element);
    case 'enum':
      return b.kind === 'enum' && a.tag === b.tag && a.members.length === b.members.length
        && a.members.every((m, i) => m.name === b.members[i].name && m.value === b.members[i].value);
    case 'struct': case 'union':
      if (b.kind !== a.kind || a.tag !== b.tag || !!a.incomplete !== !!b.incomplete) return false;
      assumed.push([a, b]);
      return !!a.packed === !!b.packed && a.alignAttr === b.alignAttr && a.fields.length === b.fields.length
        && a.fields.every((f, i) => {
          const g = b.fields[i];
          return f.name === g.name && !!f.packed === !!g.packed && f.alignAttr === g.alignAttr && same(f.type, g.type);
        });
    case 'function':
      return b.kind === 'function' && a.variadic === b.variadic && same(a.result, b.result)
        && a.params.length === b.params.length && a.params.every((p, i) => same(p.type, b.params[i].type));
  }
}
