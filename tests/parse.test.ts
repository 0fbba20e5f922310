import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Sandbox, type Library } from '../sandbox/sandbox.ts';
import { fixtureObjects } from '../sandbox/fixtures.ts';
import type { JsValue } from '../layout/values.ts';
import type { CType, Field, FunctionType, RecordType, ScalarName, Signature } from '../ctypes/ctypes.ts';
import {
  SignatureError, emptyScope, formatType, parseDeclarations, parsePrototype, parseSignature, parseType,
} from '../ctypes/parse.ts';

const int: CType = { kind: 'scalar', name: 'int' };
const double: CType = { kind: 'scalar', name: 'double' };
const char: CType = { kind: 'scalar', name: 'char' };

/** The SignatureError thrown by f, or a failed expectation. */
function errorOf(f: () => unknown): SignatureError {
  try {
    f();
  } catch (e) {
    if (e instanceof SignatureError) return e;
    throw e;
  }
  throw new Error('expected a SignatureError');
}

/** Expect `text` to fail with `reason` at the first occurrence of `at` (or at the end with at = ''). */
function expectError(text: string, reason: string | RegExp, at: string): SignatureError {
  const e = errorOf(() => parseSignature(text));
  if (typeof reason === 'string') expect(e.reason).toBe(reason);
  else expect(e.reason).toMatch(reason);
  expect({ reason: e.reason, column: e.column }).toEqual({ reason: e.reason, column: (at === '' ? text.length : text.indexOf(at)) + 1 });
  return e;
}

function record(t: CType): RecordType {
  if (t.kind !== 'struct' && t.kind !== 'union') throw new Error(`not a record: ${t.kind}`);
  return t;
}

// Random C types print to text that parses back to the same type.
const scalarArb = fc.constantFrom<ScalarName>('_Bool', 'char', 'signed char', 'unsigned char', 'short', 'unsigned short',
  'int', 'unsigned int', 'long', 'unsigned long', 'long long', 'unsigned long long', 'float', 'double', 'long double', 'wchar_t');
const { object: objectArb } = fc.letrec<{ object: CType; fn: FunctionType; record: RecordType }>((tie) => ({
  object: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    scalarArb.map((name): CType => ({ kind: 'scalar', name })),
    fc.record({ to: fc.oneof(tie('object'), tie('fn'), fc.constant<CType>({ kind: 'void' })), isConst: fc.boolean() })
      .map(({ to, isConst }): CType => (isConst && to.kind !== 'function' ? { kind: 'pointer', to, isConst } : { kind: 'pointer', to })),
    fc.record({ element: tie('object'), length: fc.integer({ min: 0, max: 9 }) })
      .map(({ element, length }): CType => ({ kind: 'array', element, length })),
    tie('record')),
  fn: fc.record({
    result: fc.oneof(tie('object'), fc.constant<CType>({ kind: 'void' })).filter((t) => t.kind !== 'array'),
    params: fc.array(tie('object').filter((t) => t.kind !== 'array'), { maxLength: 3 }),
    variadic: fc.boolean(),
  }).map(({ result, params, variadic }): FunctionType => ({ kind: 'function', result, params: params.map((type) => ({ type })), variadic })),
  record: fc.record({
    kind: fc.constantFrom('struct' as const, 'union' as const),
    types: fc.array(tie('object'), { maxLength: 4 }),
    packed: fc.boolean(),
    align: fc.constantFrom(undefined, 1, 8, 64),
  }).map(({ kind, types, packed, align }): RecordType => {
    const r: RecordType = { kind, fields: types.map((type, i) => ({ name: `m${i}`, type })) };
    if (packed) r.packed = true;
    if (align !== undefined) r.alignAttr = align;
    return r;
  }),
}));

describe('parseSignature: what users write', () => {
  it('a struct defined inline in a parameter and reused', () => {
    const sig = parseSignature('double dot(struct V { float x, y; } a, struct V b)');
    expect(sig.name).toBe('dot');
    expect(sig.result).toEqual(double);
    expect(sig.params.map((p) => p.name)).toEqual(['a', 'b']);
    const v = record(sig.params[0].type);
    expect(v).toEqual({ kind: 'struct', tag: 'V', fields: [
      { name: 'x', type: { kind: 'scalar', name: 'float' } }, { name: 'y', type: { kind: 'scalar', name: 'float' } }] });
    expect(sig.params[1].type).toBe(v); // the same type object, not a copy
    expect(sig.text).toBe('double dot(struct V { float x, y; } a, struct V b)');
  });

  it('names that Object.prototype also has are ordinary identifiers', () => {
    const sig = parseSignature('int f(struct O { int constructor; char toString; double __proto__; } o, int hasOwnProperty)');
    expect(record(sig.params[0].type).fields.map((f) => f.name)).toEqual(['constructor', 'toString', '__proto__']);
    expect(sig.params[1]).toEqual({ name: 'hasOwnProperty', type: int });
    expect(() => parseSignature('constructor f(void)')).toThrow(/^unknown type name 'constructor' at column 1/);
  });

  it('variadic with a const char pointer', () => {
    expect(parseSignature('int printf(const char *, ...)')).toEqual({
      kind: 'function', name: 'printf', result: int, variadic: true, text: 'int printf(const char *, ...)',
      params: [{ type: { kind: 'pointer', to: char, isConst: true } }],
    });
  });

  it('(void) and () both mean no parameters', () => {
    expect(parseSignature('void f(void)')).toMatchObject({ params: [], variadic: false, result: { kind: 'void' } });
    expect(parseSignature('int f()')).toMatchObject({ params: [], variadic: false });
    expect(parseSignature('int f(...)')).toMatchObject({ params: [], variadic: true });
  });

  it('definitions before the prototype, separated by ;', () => {
    const sig = parseSignature('struct S { int a[2]; double d; }; struct S f(struct S s, int n)');
    const s = record(sig.result);
    expect(s.fields).toEqual([{ name: 'a', type: { kind: 'array', element: int, length: 2 } }, { name: 'd', type: double }]);
    expect(sig.params).toEqual([{ name: 's', type: s }, { name: 'n', type: int }]);
    expect(sig.text).toBe('struct S f(struct S s, int n)');
    const g = parseSignature('typedef struct { char c; } T; T g(T)');
    expect(g.result).toEqual({ kind: 'struct', fields: [{ name: 'c', type: char }] });
    expect(g.params[0].type).toBe(g.result);
    expect(parseSignature('struct P { int x; };;; int f(struct P *p);').name).toBe('f'); // stray and trailing ';'
  });

  it('nested, anonymous and union members', () => {
    const sig = parseSignature(`
      struct inner { short s; };
      struct outer {
        struct inner named;
        struct { char c; } anon_type;
        union { int i; float f; };          /* anonymous member */
        struct { double d; struct inner deep; };
      };
      void f(struct outer o)`);
    const o = record(sig.params[0].type);
    expect(o.fields.map((f) => f.name)).toEqual(['named', 'anon_type', '', '']);
    expect(o.fields[0].type).toMatchObject({ kind: 'struct', tag: 'inner' });
    expect(o.fields[2].type).toEqual({ kind: 'union', fields: [{ name: 'i', type: int }, { name: 'f', type: { kind: 'scalar', name: 'float' } }] });
    expect(record(o.fields[3].type).fields[1].type).toBe(o.fields[0].type);
  });

  it('multi-dimensional arrays keep C order: a[2][3] is 2 arrays of 3', () => {
    const t = parseType('struct { short m[2][3]; char c[2 * 3 + 1][0x4 / 2]; }');
    expect(record(t).fields[0].type).toEqual({ kind: 'array', length: 2, element: { kind: 'array', length: 3, element: { kind: 'scalar', name: 'short' } } });
    expect(record(t).fields[1].type).toMatchObject({ length: 7, element: { length: 2 } });
  });

  it('pointers to functions, arrays of them, functions returning them', () => {
    const fp: CType = { kind: 'pointer', to: { kind: 'function', result: int, params: [{ type: int }, { type: double }], variadic: false } };
    const sig = parseSignature('int reg(int (*cb)(int, double), void (*)(void), struct { int (*h[3])(int, double); } t)');
    expect(sig.params[0]).toEqual({ name: 'cb', type: fp });
    expect(sig.params[1].type).toEqual({ kind: 'pointer', to: { kind: 'function', result: { kind: 'void' }, params: [], variadic: false } });
    expect(record(sig.params[2].type).fields[0].type).toEqual({ kind: 'array', length: 3, element: fp });
    const get = parseSignature('int (*getcb(const char *name))(int, double)');
    expect(get).toMatchObject({ name: 'getcb', result: fp, params: [{ name: 'name' }] });
    expect(parseType('int (*)(int, double)')).toEqual(fp);
    expect(parseType('void (*(*)(int))(void)')).toMatchObject({ kind: 'pointer', to: { kind: 'function', result: { kind: 'pointer', to: { kind: 'function' } } } });
    expect(parseType('int (*)[4]')).toEqual({ kind: 'pointer', to: { kind: 'array', length: 4, element: int } });
    expect(parseType('int *[4]')).toEqual({ kind: 'array', length: 4, element: { kind: 'pointer', to: int } });
  });

  it('pointer to pointer and const: isConst marks a pointer to const', () => {
    expect(parseType('const char *')).toEqual({ kind: 'pointer', to: char, isConst: true });
    expect(parseType('char const *')).toEqual({ kind: 'pointer', to: char, isConst: true });
    expect(parseType('char *const')).toEqual({ kind: 'pointer', to: char }); // the pointer itself is const
    expect(parseType('const char **')).toEqual({ kind: 'pointer', to: { kind: 'pointer', to: char, isConst: true } });
    expect(parseType('char *const *')).toEqual({ kind: 'pointer', to: { kind: 'pointer', to: char }, isConst: true });
    expect(parseType('volatile int * restrict')).toEqual({ kind: 'pointer', to: int });
    expect(parseType('const volatile unsigned char * __restrict__')).toMatchObject({ isConst: true });
    expect(parseSignature('typedef const char *cstr; typedef const int cint; void f(cstr, cint *)').params.map((p) => p.type))
      .toEqual([{ kind: 'pointer', to: char, isConst: true }, { kind: 'pointer', to: { kind: 'scalar', name: 'int', spelling: 'cint' }, isConst: true }]);
  });

  it('array and function parameters decay to pointers', () => {
    const sig = parseSignature('void f(int v[], int w[4], const double x[static 2], int m[][3], int g(int), void h(void))');
    expect(sig.params.map((p) => p.type)).toEqual([
      { kind: 'pointer', to: int },
      { kind: 'pointer', to: int },
      { kind: 'pointer', to: double, isConst: true },
      { kind: 'pointer', to: { kind: 'array', length: 3, element: int } },
      { kind: 'pointer', to: { kind: 'function', result: int, params: [{ type: int }], variadic: false } },
      { kind: 'pointer', to: { kind: 'function', result: { kind: 'void' }, params: [], variadic: false } },
    ]);
  });

  it('self-referential structs and forward declarations completed later', () => {
    const sig = parseSignature('struct node { int v; struct node *next; }; int len(const struct node *list)');
    const node = record((sig.params[0].type as { to: CType }).to);
    expect(node.fields[1].type).toEqual({ kind: 'pointer', to: node });
    expect(node.fields[1].type.kind === 'pointer' && node.fields[1].type.to).toBe(node);
    const fwd = parseSignature('struct S; typedef struct S T; struct S { int a; }; T f(T *)');
    expect(fwd.result).toEqual({ kind: 'struct', tag: 'S', fields: [{ name: 'a', type: int }] });
    expect(fwd.params[0].type).toEqual({ kind: 'pointer', to: fwd.result });
    expect(parseSignature('void f(struct opaque *h)').params[0].type).toEqual({ kind: 'pointer', to: { kind: 'struct', tag: 'opaque', fields: [], incomplete: true } });
  });

  it('comments and GCC attributes that do not affect layout', () => {
    const sig = parseSignature(`/* block */ __attribute__((noinline)) int // line
      f(int a __attribute__((unused)), double) __attribute__((nonnull(1), warn_unused_result)) __asm__("f_v2")`);
    expect(sig).toMatchObject({ name: 'f', result: int, params: [{ name: 'a', type: int }, { type: double }] });
    expect(parseSignature('extern inline static _Noreturn void die(register int code)').params).toEqual([{ name: 'code', type: int }]);
  });

  it('a name may be parenthesized, and a parameter may be named like a typedef', () => {
    expect(parseSignature('int (f)(int (x))').params).toEqual([{ name: 'x', type: int }]);
    expect(parseSignature('void f(unsigned size_t)').params).toEqual([{ name: 'size_t', type: { kind: 'scalar', name: 'unsigned int', spelling: 'unsigned' } }]);
  });
});

describe('parsePrototype: declarations, then one prototype, named or not', () => {
  const point: RecordType = { kind: 'struct', tag: 'Q', fields: [{ name: 'x', type: int }] };

  /** Expect parsePrototype(text, undefined, opts) to fail with `reason` at the first occurrence of `at` ('' = the end). */
  function expectProtoError(text: string, reason: string, at: string, opts: { functionPointer?: boolean } = {}): void {
    const e = errorOf(() => parsePrototype(text, undefined, opts));
    expect({ reason: e.reason, column: e.column }).toEqual({ reason, column: (at === '' ? text.length : text.indexOf(at)) + 1 });
  }

  it('an unnamed prototype after a struct definition (the case users hit)', () => {
    const text = 'struct Q { int x; }; int (int a)';
    const { signature, scope, offset } = parsePrototype(text);
    expect(signature).toEqual({ kind: 'function', result: int, params: [{ name: 'a', type: int }], variadic: false, text: 'int (int a)' });
    expect(signature.name).toBeUndefined();
    expect(offset).toBe(text.indexOf('int ('));
    expect(scope.tags.get('Q')).toEqual(point);
    expect(parseSignature(text)).toEqual(signature);
    // the same declarations before a named one
    expect(parsePrototype('struct Q { int x; }; int f(int a)').signature).toMatchObject({ name: 'f', text: 'int f(int a)' });
  });

  it('after union, enum and typedef declarations, alone and several together', () => {
    const u = parsePrototype('union U { int i; double d; }; double (union U u)').signature;
    expect(u.params[0].type).toEqual({ kind: 'union', tag: 'U', fields: [{ name: 'i', type: int }, { name: 'd', type: double }] });
    expect(u.result).toEqual(double);
    const e = parsePrototype('enum Color { RED, GREEN = 5 }; enum Color (int which, enum Color c)').signature;
    expect(e.result).toEqual({ kind: 'enum', tag: 'Color', members: [{ name: 'RED', value: 0 }, { name: 'GREEN', value: 5 }] });
    expect(e.params[1].type).toBe(e.result);
    const t = parsePrototype('typedef unsigned long word; word (word, const word *)').signature;
    expect(t.params.map((p) => p.type)).toEqual([
      { kind: 'scalar', name: 'unsigned long', spelling: 'word' },
      { kind: 'pointer', to: { kind: 'scalar', name: 'unsigned long', spelling: 'word' }, isConst: true }]);
    const text = 'struct Q { int x; }; union U { char c; }; enum E { A = 2, B }; typedef struct Q Q_t;\n'
      + 'extern int errno; /* an object: harmless */ Q_t (union U u, enum E e[B], Q_t *q)';
    const all = parsePrototype(text);
    expect(all.signature.name).toBeUndefined();
    expect(all.signature.text).toBe('Q_t (union U u, enum E e[B], Q_t *q)');
    expect(all.signature.result).toEqual(point);
    expect(all.signature.params.map((p) => p.name)).toEqual(['u', 'e', 'q']);
    expect(all.signature.params[1].type).toMatchObject({ kind: 'pointer', to: { kind: 'enum', tag: 'E' } }); // array parameter decays
    expect(all.signature.params[2].type).toEqual({ kind: 'pointer', to: all.signature.result });
    expect([...all.scope.tags.keys()]).toEqual(['Q', 'U', 'E']);
    expect(all.scope.constants.get('B')).toBe(3);
    expect(all.offset).toBe(text.indexOf('Q_t ('));
    // stray and trailing ';', comments and attributes around an unnamed prototype
    const decorated = parsePrototype(';; struct Q { int x; };; /* c */ __attribute__((unused)) int (struct Q q) __attribute__((nonnull));').signature;
    expect(decorated).toMatchObject({ params: [{ name: 'q', type: point }] });
    expect(decorated.name).toBeUndefined();
  });

  it('function-pointer parameters and results, unnamed', () => {
    const fp = (result: CType, ...params: CType[]): CType => ({ kind: 'pointer', to: { kind: 'function', result, params: params.map((type) => ({ type })), variadic: false } });
    const s = parsePrototype('struct Q { int x; }; int (int (*cb)(struct Q, int), void (*)(void), int n)').signature;
    expect(s.params).toEqual([{ name: 'cb', type: fp(int, point, int) }, { type: fp({ kind: 'void' }) }, { name: 'n', type: int }]);
    expect(s.name).toBeUndefined();
    // a function returning a pointer to a function, with no name: int (*(struct Q, double))(char)
    const r = parsePrototype('struct Q { int x; }; int (*(struct Q q, double d))(char)').signature;
    expect(r).toMatchObject({ result: fp(int, char), params: [{ name: 'q', type: point }, { name: 'd', type: double }] });
    expect(r.text).toBe('int (*(struct Q q, double d))(char)');
    expect(r.name).toBeUndefined();
    // variadic, with a variadic function pointer among its parameters
    const v = parsePrototype('typedef int (*handler)(int, ...); int (handler h, ...)').signature;
    expect(v.variadic).toBe(true);
    expect(v.params[0].type).toMatchObject({ kind: 'pointer', to: { kind: 'function', variadic: true } });
  });

  it('a typedef name of a function type is an unnamed prototype', () => {
    const s = parsePrototype('typedef int cmp_fn(const void *, const void *); cmp_fn').signature;
    expect(s).toMatchObject({ result: int, params: [{ type: { kind: 'pointer', to: { kind: 'void' }, isConst: true } }, {}], text: 'cmp_fn' });
    expect(s.name).toBeUndefined();
    expect(parsePrototype('cmp_fn', parseDeclarations('typedef int cmp_fn(int);').scope).signature.params).toEqual([{ type: int }]);
  });

  it('pointer-to-function forms with { functionPointer: true } (call-backs), refused otherwise', () => {
    const fn = { kind: 'function', result: int, params: [{ type: int }], variadic: false };
    for (const [text, proto] of [
      ['int (*)(int)', 'int (*)(int)'],
      ['int (*cb)(int)', 'int (*cb)(int)'],
      ['struct Q { int x; }; int (*)(int)', 'int (*)(int)'],
      ['typedef int (*op)(int); op', 'op'],
      ['typedef int op(int); op *', 'op *'],
    ] as const) {
      const got = parsePrototype(text, undefined, { functionPointer: true });
      expect(got.signature).toEqual({ ...fn, text: proto });
      expect(got.offset).toBe(text.lastIndexOf(proto));
    }
    expect(parsePrototype('struct Q { int x; }; int (*)(struct Q *, ...)', undefined, { functionPointer: true }).signature)
      .toMatchObject({ params: [{ type: { kind: 'pointer', to: point } }], variadic: true });
    // a function prototype is still a prototype there
    expect(parsePrototype('int f(int)', undefined, { functionPointer: true }).signature).toMatchObject({ name: 'f' });
    // not a pointer to a function: a pointer to a pointer, or to data
    expectProtoError('int (**)(int)', "expected a function prototype or a pointer to a function, not the type 'int (**)(int)'", '(**)', { functionPointer: true });
    expectProtoError('struct Q { int x; }; struct Q *', "expected a function prototype, not the type 'struct Q *'", '*');
    expectProtoError('int *p', "expected a function prototype, not a declaration of the object 'p'", 'p', { functionPointer: true });
    // without the option, a pointer to a function is named for what it is, with the prototype to write
    expectProtoError('int (*)(int)', "expected a function prototype, not a pointer to a function: write 'int (int)'", '(*)');
    expectProtoError('struct Q { int x; }; double (*cb)(struct Q q, ...)', "expected a function prototype, not a pointer to a function: write 'double (struct Q q, ...)'", '(*cb)');
    expectProtoError('int (*)(int); int f(void)', "expected a function prototype, not a pointer to a function: write 'int (int)'", '(*)');
    expect(parsePrototype('int (*cb)(int); int f(void)').signature.name).toBe('f'); // a named pointer is an object declaration
    expect(errorOf(() => parsePrototype('typedef int (*op)(int); op')))
      .toMatchObject({ reason: "expected a function prototype, not a pointer to a function: write 'int (int)'", column: 25 });
  });

  it('named prototypes land in the scope; unnamed ones do not; the given scope is left alone', () => {
    const base = parseDeclarations('struct Q { int x; };').scope;
    const named = parsePrototype('typedef struct Q Q_t; int f(Q_t)', base);
    expect(named.scope.functions.get('f')?.params[0].type).toBe(base.tags.get('Q'));
    expect(named.scope.typedefs.has('Q_t')).toBe(true);
    expect(base.typedefs.has('Q_t')).toBe(false);
    const unnamed = parsePrototype('int (struct Q)', base);
    expect(unnamed.scope.functions.size).toBe(0);
    expect(unnamed.signature.params[0].type).toBe(base.tags.get('Q'));
  });

  it('errors say what was expected where', () => {
    const second = (first: string) => `expected one function prototype, found a second one after '${first}' (give the prototype last, after the declarations it uses)`;
    expectProtoError('int f(int); int g(int)', second('int f(int)'), 'int g');
    expectProtoError('struct Q { int x; }; int (int); int (double)', second('int (int)'), 'int (double)');
    expectProtoError('int f(int), g(int)', second('int f(int)'), 'g(int)');
    expect(errorOf(() => parsePrototype('int f(int); int f(int)'))).toMatchObject({ reason: second('int f(int)'), column: 13 }); // even the same one again
    expectProtoError('int (int a); struct Q { int x; }; int (struct Q)', "expected the end of the text after the function prototype 'int (int a)' (declarations go before it)", 'struct Q');
    expectProtoError('int (*)(int); int (*)(double)', second('int (*)(int)'), 'int (*)(double)', { functionPointer: true });
    // declarations without a prototype
    expectProtoError('struct Q { int x; }', 'expected a function prototype after the declarations at end of input', '');
    expectProtoError('struct Q { int x; };', 'expected a function prototype after the declarations at end of input', '');
    expectProtoError('union U { int i; }; enum E { A }; typedef int T;', 'expected a function prototype after the declarations at end of input', '');
    expectProtoError('', 'expected a function prototype at end of input', '');
    expectProtoError(' ;; ', 'expected a function prototype at end of input', '');
    expectProtoError('struct Q { int x; }; struct Q q', "expected a function prototype, not a declaration of the object 'q'", 'q');
    // garbage
    expectProtoError('struct Q { int x; }; int (int a) b', "expected ';' before 'b'", 'b');
    expectProtoError('struct Q { int x; }; hello world(int)', "unknown type name 'hello'", 'hello');
    expectProtoError('struct Q { int x; }; hello (int)', "missing return type for 'hello' (implicit int is not supported)", 'hello');
    expectProtoError('struct Q { int x; } int (int a)', "expected ';' after 'struct Q' definition", 'int (');
    expectProtoError('struct Q { int x; }; (int a)', "expected a type before '('", '(');
    expectProtoError('struct Q { int x; }; int (int a', "expected ',' or ')' in the parameter list at end of input", '');
    expectProtoError('int (int a) { return a; }', 'function bodies are not supported; give the prototype only', '{');
    expectProtoError('struct Q { int x; }; int (struct R r)', "parameter 'r' has incomplete type 'struct R'", 'r)');
    const e = errorOf(() => parsePrototype('struct Q { int x; };\nint f(int); int g(int)'));
    expect(e).toBeInstanceOf(SignatureError);
    expect(e.message).toBe(`${second('int f(int)')} at line 2, column 13\n  int f(int); int g(int)\n              ^`);
  });

  it('random unnamed prototypes after random declarations parse back to their type', () => {
    fc.assert(fc.property(fc.array(objectArb, { minLength: 1, maxLength: 3 }), objectArb, fc.boolean(), (decls, param, variadic) => {
      // typedef T0 ... Tn-1; then an unnamed prototype that uses them, with a pointer-to-function parameter
      const typedefs = decls.map((t, i) => `typedef ${formatType(t, `T${i}`)};`).join(' ');
      const params = decls.map((t, i) => (t.kind === 'array' ? `T${i} *` : `T${i}`));
      const p = param.kind === 'array' ? { kind: 'pointer', to: param.element } as CType : param;
      const proto = `int (${[...params, formatType({ kind: 'pointer', to: { kind: 'function', result: int, params: [{ type: p }], variadic: false } }, 'cb'), ...(variadic ? ['...'] : [])].join(', ')})`;
      const { signature } = parsePrototype(`${typedefs} ${proto}`);
      expect(signature.name).toBeUndefined();
      expect(signature.text).toBe(proto);
      expect(signature.variadic).toBe(variadic);
      expect(signature.params).toHaveLength(decls.length + 1);
      expect(signature.params[decls.length]).toEqual({ name: 'cb', type: { kind: 'pointer', to: { kind: 'function', result: int, params: [{ type: p }], variadic: false } } });
    }), { numRuns: 200 });
  });
});

describe('scalar types', () => {
  const cases: [string, ScalarName, string?][] = [
    ['_Bool', '_Bool'], ['bool', '_Bool', 'bool'],
    ['char', 'char'], ['signed char', 'signed char'], ['char signed', 'signed char', 'char signed'], ['unsigned char', 'unsigned char'],
    ['short', 'short'], ['short int', 'short', 'short int'], ['signed short', 'short', 'signed short'],
    ['unsigned short int', 'unsigned short', 'unsigned short int'],
    ['int', 'int'], ['signed', 'int', 'signed'], ['signed int', 'int', 'signed int'], ['unsigned', 'unsigned int', 'unsigned'],
    ['unsigned int', 'unsigned int'], ['long', 'long'], ['long int', 'long', 'long int'], ['unsigned long', 'unsigned long'],
    ['long unsigned int', 'unsigned long', 'long unsigned int'], ['long long', 'long long'], ['signed long long int', 'long long', 'signed long long int'],
    ['unsigned long long', 'unsigned long long'], ['unsigned long long int', 'unsigned long long', 'unsigned long long int'],
    ['long long unsigned', 'unsigned long long', 'long long unsigned'],
    ['float', 'float'], ['double', 'double'], ['long double', 'long double'], ['double long', 'long double', 'double long'],
    ['wchar_t', 'wchar_t'], ['size_t', 'unsigned long', 'size_t'], ['ssize_t', 'long', 'ssize_t'], ['ptrdiff_t', 'long', 'ptrdiff_t'],
    ['intptr_t', 'long', 'intptr_t'], ['uintptr_t', 'unsigned long', 'uintptr_t'],
    ['int8_t', 'signed char', 'int8_t'], ['uint8_t', 'unsigned char', 'uint8_t'], ['int16_t', 'short', 'int16_t'],
    ['uint16_t', 'unsigned short', 'uint16_t'], ['int32_t', 'int', 'int32_t'], ['uint32_t', 'unsigned int', 'uint32_t'],
    ['int64_t', 'long long', 'int64_t'], ['uint64_t', 'unsigned long long', 'uint64_t'],
    ['const unsigned', 'unsigned int', 'unsigned'],
    ['__int128', '__int128'], ['signed __int128', '__int128', 'signed __int128'], ['unsigned __int128', 'unsigned __int128'],
    ['__int128_t', '__int128', '__int128_t'], ['__uint128_t', 'unsigned __int128', '__uint128_t'],
  ];
  for (const [text, name, spelling] of cases) {
    it(`${text} -> ${name}`, () => {
      expect(parseType(text)).toEqual(spelling === undefined ? { kind: 'scalar', name } : { kind: 'scalar', name, spelling });
    });
  }

  it('void, and typedefs keep their own spelling', () => {
    expect(parseType('void')).toEqual({ kind: 'void' });
    const sig = parseSignature('typedef unsigned int u32; typedef u32 word; u32 f(word, size_t)');
    expect(sig.result).toEqual({ kind: 'scalar', name: 'unsigned int', spelling: 'u32' });
    expect(sig.params[0].type).toEqual({ kind: 'scalar', name: 'unsigned int', spelling: 'word' });
    // A user typedef of a builtin name wins.
    expect(parseSignature('typedef unsigned int size_t; size_t f(void)').result).toEqual({ kind: 'scalar', name: 'unsigned int', spelling: 'size_t' });
  });

  it('invalid combinations', () => {
    for (const [text, reason] of [
      ['long long long', "duplicate 'long'"], ['unsigned float', "invalid combination of type specifiers 'unsigned float'"],
      ['short double', "invalid combination of type specifiers 'short double'"], ['signed unsigned', "both 'signed' and 'unsigned' in 'signed unsigned'"],
      ['long char', "invalid combination of type specifiers 'long char'"], ['int int', "duplicate 'int'"],
      ['unsigned void', "invalid combination of type specifiers 'unsigned void'"], ['long long double', "invalid combination of type specifiers 'long long double'"],
      ['int x y', "unexpected 'y' after the type"], ['struct S { int a; } int', "expected ';' after 'struct S' definition"],
      ['int struct S', 'two or more data types in declaration'], ['T', "unknown type name 'T'"],
      ['_Complex double', 'complex types are not supported'], ['__float128', "type '__float128' is not supported"],
      ['long __int128', "invalid combination of type specifiers 'long __int128'"], ['__int128 int', "invalid combination of type specifiers '__int128 int'"],
    ] as const) {
      expect(errorOf(() => parseType(text)).reason).toBe(reason);
    }
  });
});

describe('enums', () => {
  it('values, implicit increments, negative values and expressions', () => {
    const sig = parseSignature('enum E { A, B = 5, C, D = -3, F, G = (C + 1) * 2, H = 1 << 4 | 1, I = \'a\', J = ~0, K = 010 }; enum E f(enum E)');
    const e = sig.result;
    expect(e.kind === 'enum' && e.members).toEqual([
      { name: 'A', value: 0 }, { name: 'B', value: 5 }, { name: 'C', value: 6 }, { name: 'D', value: -3 }, { name: 'F', value: -2 },
      { name: 'G', value: 14 }, { name: 'H', value: 17 }, { name: 'I', value: 97 }, { name: 'J', value: -1 }, { name: 'K', value: 8 }]);
    expect(sig.params[0].type).toBe(e);
  });

  it('enumeration constants size arrays, and land in the scope', () => {
    const { scope, signature } = parseDeclarations('enum { N = 3, M = N * 2 }; struct A { int m[M][N]; }; void f(struct A a)');
    expect(scope.constants.get('M')).toBe(6);
    expect(record(signature!.params[0].type).fields[0].type).toMatchObject({ length: 6, element: { length: 3 } });
    expect(parseType('enum { X = 7, } ')).toEqual({ kind: 'enum', members: [{ name: 'X', value: 7 }] }); // trailing comma
  });

  it('errors', () => {
    expectError('enum E { A, A }; void f(void)', "duplicate enumerator 'A'", 'A }');
    expectError('enum E { A = 1 }; enum F { A = 2 }; void f(void)', "redeclaration of enumerator 'A' with a different value", 'A = 2');
    expectError('enum E {}; void f(void)', 'empty enum', '{');
    expectError('void f(enum Nope e)', "'enum Nope' is not defined (forward enum declarations are not supported)", 'Nope');
    expectError('enum E { A = B }; void f(void)', "'B' is not an integer constant", 'B }');
    expectError('enum E { A = sizeof(int) }; void f(void)', 'sizeof is not supported in constant expressions', 'sizeof');
    expectError('enum E { A = 1 / 0 }; void f(void)', 'division by zero in a constant expression', '/');
    expectError('enum E { A = 1.5 }; void f(void)', "floating-point constant '1.5' is not allowed here", '1.5');
    expectError('enum __attribute__((packed)) E { A }; void f(void)', 'attributes packed/aligned on enums are not supported', 'packed');
  });
});

describe('integer constant expressions', () => {
  const len = (expr: string) => {
    const t = parseType(`char[${expr}]`);
    return t.kind === 'array' ? t.length : NaN;
  };

  it('literals in every base, with suffixes, and character constants', () => {
    expect([len('10'), len('0x1F'), len('017'), len('0b101'), len('10UL'), len('0x10u'), len('3ll'), len('0')])
      .toEqual([10, 31, 15, 5, 10, 16, 3, 0]);
    expect([len("'A'"), len("'\\n'"), len("'\\0' + 1"), len("'\\x41'"), len("'\\101'")]).toEqual([65, 10, 1, 65, 65]);
  });

  it('operators with C precedence, truncating division', () => {
    expect([len('2 + 3 * 4'), len('(2 + 3) * 4'), len('7 / 2'), len('-7 / 2 + 10'), len('7 % 4'), len('1 << 4 | 3 & 1'),
      len('0xff ^ 0x0f'), len('~-5'), len('!0'), len('16 >> 2 - 1')]).toEqual([14, 20, 3, 7, 3, 17, 240, 4, 1, 8]);
  });

  it('rejects what is not an integer constant', () => {
    for (const [expr, reason] of [
      ['1e5', "floating-point constant '1e5' is not allowed here"], ['.5', "floating-point constant '.5' is not allowed here"],
      ['08', "invalid integer constant '08'"], ['12abc', "invalid integer constant '12abc'"],
      ["'\\xff'", 'character constants outside ASCII are not supported'], ['1 << 64', 'shift count 64 is out of range'],
      ['1 +', "expected an integer constant before ']'"], ['(1', "expected ')' before ']'"],
      ['0x7fffffffffffffff', 'array size 9223372036854775807 is out of range'],
    ] as const) {
      expect(errorOf(() => parseType(`char[${expr}]`)).reason).toBe(reason);
    }
  });
});

describe('GCC attributes', () => {
  it('packed and aligned(N) after the keyword or after the closing brace', () => {
    expect(parseType('struct __attribute__((packed)) { char c; int i; }')).toMatchObject({ packed: true });
    expect(parseType('struct { char c; } __attribute__((packed))')).toMatchObject({ packed: true });
    expect(parseType('struct { char c; } __attribute__((__packed__, __aligned__(8)))')).toMatchObject({ packed: true, alignAttr: 8 });
    expect(parseType('union __attribute__((aligned(0x10))) { char c; }')).toMatchObject({ kind: 'union', alignAttr: 16 });
    expect(parseType('struct { char c; } __attribute__((aligned(4))) __attribute__((aligned(2 * 8)))')).toMatchObject({ alignAttr: 16 });
    const sig = parseSignature('typedef struct __attribute__((packed)) { char c; double d; } P; void f(P)');
    expect(sig.params[0].type).toMatchObject({ packed: true });
  });

  it('aligned and packed on fields, before or after the declarator', () => {
    const t = record(parseType(`struct {
      int a __attribute__((aligned(8)));
      __attribute__((aligned(16))) short b, c;
      char d __attribute__((packed));
      double e;
    }`));
    expect(t.fields.map((f: Field) => [f.name, f.alignAttr, f.packed])).toEqual([
      ['a', 8, undefined], ['b', 16, undefined], ['c', 16, undefined], ['d', undefined, true], ['e', undefined, undefined]]);
  });

  it('refuses what would silently change layout or calling convention', () => {
    expectError('struct S { int x; } __attribute__((aligned)); void f(void)', "'aligned' needs an explicit alignment: aligned(N)", 'aligned');
    expectError('struct S { int x; } __attribute__((aligned(3))); void f(void)', 'requested alignment 3 is not a positive power of 2', 'aligned');
    expectError('__attribute__((regparm(3))) int f(int)', "attribute 'regparm' is not supported", 'regparm');
    expectError('typedef int v4 __attribute__((vector_size(16))); void f(void)', "attribute 'vector_size' is not supported", 'vector_size');
    expectError('typedef struct { int x; } T __attribute__((aligned(8))); void f(T)',
      "attributes packed/aligned on typedef 'T' are not supported; put them on the struct", 'aligned');
  });
});

describe('scopes', () => {
  it('parseDeclarations returns a scope to parse more with; the given scope is left alone', () => {
    const first = parseDeclarations('struct V { float x, y; }; typedef struct V vec; enum { DIM = 2 }; int count(void)');
    expect(first.signature?.name).toBe('count');
    expect([...first.scope.tags.keys()]).toEqual(['V']);
    expect([...first.scope.typedefs.keys()]).toEqual(['vec']);
    expect(first.scope.functions.get('count')?.result).toEqual(int);
    const sig = parseSignature('double dot(vec a, struct V b)', first.scope);
    expect(sig.params[0].type).toBe(first.scope.tags.get('V'));
    const second = parseDeclarations('struct W { vec v[DIM]; };', first.scope);
    expect(second.signature).toBeUndefined();
    expect(second.scope.tags.has('W')).toBe(true);
    expect(first.scope.tags.has('W')).toBe(false);
    expect(emptyScope().tags.size).toBe(0);
  });

  it('identical redefinitions are accepted and give the same type', () => {
    // parseDeclarations takes several prototypes (declare); parseSignature only one.
    const sig = parseDeclarations('struct S { int a; char *p; }; struct S { int a; char *p; }; typedef int I; typedef int I; int f(struct S, I); int f(struct S, int)').signature!;
    expect(sig.params[1].type).toEqual({ kind: 'scalar', name: 'int' });
    expect(parseSignature('struct S { int a; char *p; }; struct S { int a; char *p; }; typedef int I; typedef int I; int f(struct S, I)').params[1].type)
      .toEqual({ kind: 'scalar', name: 'int', spelling: 'I' });
    const { scope } = parseDeclarations('struct S { int a; };');
    expect(parseSignature('struct S { int a; } f(void)', scope).result).toBe(scope.tags.get('S'));
  });

  it('conflicting redefinitions are errors', () => {
    expectError('struct S { int a; }; struct S { long a; }; void f(void)', "redefinition of 'struct S' with different members", 'S { long');
    expectError('struct S { int a; }; union S { int a; }; void f(void)', "'S' was declared as 'struct S', not 'union S'", 'S { int a; }; void');
    expectError('typedef int T; typedef long T; void f(void)', "conflicting types for typedef 'T'", 'T; void');
    expectError('int f(int); int f(double)', "conflicting types for 'f'", 'f(double)');
    expectError('enum E { A }; enum E { A, B }; void f(void)', "redefinition of 'enum E' with different enumerators", 'E { A, B');
  });
});

describe('errors point at the column', () => {
  it('SignatureError carries the source, the column and a caret', () => {
    const text = 'int f(int a, double b';
    const e = errorOf(() => parseSignature(text));
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('SignatureError');
    expect(e.source).toBe(text);
    expect(e.column).toBe(22);
    expect(e.line).toBe(1);
    expect(e.message).toBe(`expected ',' or ')' in the parameter list at end of input at column 22\n  ${text}\n  ${' '.repeat(21)}^`);
  });

  it('multi-line sources report the line', () => {
    const e = errorOf(() => parseSignature('struct S {\n  int a;\n  foo b;\n};\nvoid f(void)'));
    expect({ line: e.line, column: e.column, reason: e.reason }).toEqual({ line: 3, column: 3, reason: "unknown type name 'foo'" });
    expect(e.message).toContain("at line 3, column 3\n    foo b;\n    ^");
  });

  it('the errors users will meet', () => {
    expectError('int f(foo x)', "unknown type name 'foo'", 'foo');
    expectError('int f(int a, foo *b)', "unknown type name 'foo'", 'foo');
    expectError('foo f(int)', "unknown type name 'foo'", 'foo');
    expectError('f(int)', "missing return type for 'f' (implicit int is not supported)", 'f');
    expectError('int f(a, b)', "K&R-style parameter list is not supported: give 'a' a type", 'a,');
    expectError('int f(a) int a;', "K&R-style parameter list is not supported: give 'a' a type", 'a)');
    expectError('struct S; void f(struct S s)', "parameter 's' has incomplete type 'struct S'", 's)');
    expectError('struct S; struct S f(void)', "return type of 'f' has incomplete type 'struct S'", '(void)');
    expectError('void f(struct Undeclared u)', "parameter 'u' has incomplete type 'struct Undeclared'", 'u)');
    expectError('struct S { struct S inner; }; void f(void)', "field 'inner' has incomplete type 'struct S'", 'inner');
    expectError('struct S { int a; } struct T { int b; }; void f(void)', "expected ';' after 'struct S' definition", 'struct T');
    expectError('struct S { int a } ; void f(void)', "expected ';' after the member declaration before '}'", '}');
    expectError('int f(int a, int b', "expected ',' or ')' in the parameter list at end of input", '');
    expectError('int f(int a int b)', "expected ',' or ')' in the parameter list before 'int'", 'int b');
    expectError('int (*f(int)(int)', "expected ')' to close the declarator at end of input", '');
    expectError('int f(int) int g(int)', "expected ';' before 'int'", 'int g');
    expectError('struct S { int x : 3; }; void f(void)', "bit-fields are not supported: field 'x'", ':');
    expectError('struct S { int : 3; }; void f(void)', /^expected a member name before ':'$/, ':');
    expectError('struct S { int n; char data[]; }; void f(void)', "flexible array members are not supported: field 'data'", 'data');
    expectError('struct S { int a; char a; }; void f(void)', "duplicate member 'a'", 'a; }');
    expectError('struct S { int a; union { int a; }; }; void f(void)', "duplicate member 'a'", 'union');
    expectError('struct S { void v; }; void f(void)', "field 'v' has incomplete type 'void'", 'v;');
    expectError('struct S { int f(int); }; void f(void)', "field 'f' declared as a function", 'f(int)');
    expectError('void f(void x)', "'void' must be the only parameter and unnamed", 'void x');
    expectError('void f(int, void)', "'void' must be the only parameter", 'void)');
    expectError('int f(int a[-1])', 'array size -1 is negative', '[');
    expectError('typedef int A[2]; A f(void)', "'f' declared as a function returning an array", '(void)');
    expectError('int (*f(void))[3](int)', /declared as an array of functions|function returning an array/, '[3]');
    expectError('int f(int) { return 0; }', 'function bodies are not supported; give the prototype only', '{');
    expectError('int x = 3', 'initializers are not supported', '=');
    expectError('int x', "expected a function prototype, not a declaration of the object 'x'", 'x');
    expectError('int f(int); struct S { int a; }', "expected the end of the text after the function prototype 'int f(int)' (declarations go before it)", 'struct S');
    expectError('#include <stdio.h>\nint f(void)', 'preprocessor directives are not supported (run the text through cpp first)', '#');
    expectError('/* int f(void)', 'unterminated comment', '/*');
    expectError('int f(int @)', "unexpected character '@'", '@');
    expectError('int f(int a[sizeof(int)])', 'sizeof is not supported in constant expressions', 'sizeof');
    expectError('int f(int a[n])', "'n' is not an integer constant", 'n]');
    expectError('void f(typedef int x)', 'typedef is only allowed at the top level', 'typedef');
    expectError('', 'expected a function prototype at end of input', '');
  });

  it('parseType errors', () => {
    expect(errorOf(() => parseType('int x y')).reason).toBe("unexpected 'y' after the type");
    expect(errorOf(() => parseType('')).reason).toBe('expected a type at end of input');
    expect(errorOf(() => parseType('struct')).reason).toBe("expected '{' or a tag name after 'struct'");
    expect(errorOf(() => parseType('typedef int T')).reason).toBe('expected a type name, not a typedef declaration');
  });
});

describe('formatType', () => {
  it('prints C declarations', () => {
    const fmt = (t: string, name?: string) => formatType(parseType(t), name);
    expect(fmt('int (*)(int, double)', 'cb')).toBe('int (*cb)(int, double)');
    expect(fmt('const char *')).toBe('const char *');
    expect(fmt('char *const *')).toBe('char *const *');
    expect(fmt('int (*[4])(void)', 'handlers')).toBe('int (*handlers[4])(void)');
    expect(fmt('int (*)[3]', 'p')).toBe('int (*p)[3]');
    expect(fmt('unsigned long long int', 'n')).toBe('unsigned long long int n');
    expect(fmt('struct { char c; int i __attribute__((aligned(8))); } __attribute__((packed))'))
      .toBe('struct __attribute__((packed)) { char c; int i __attribute__((aligned(8))); }');
    const sig: Signature = parseSignature('struct V { float x, y; }; double dot(struct V a, const struct V *b, ...)');
    expect(formatType(sig, sig.name)).toBe('double dot(struct V a, const struct V *b, ...)');
    expect(formatType(parseSignature('void f()'))).toBe('void (void)');
  });

  it('round-trips through parseType', () => {
    fc.assert(fc.property(fc.oneof(objectArb, objectArb.map((to): CType => ({ kind: 'pointer', to }))), (t) => {
      expect(parseType(formatType(t))).toEqual(t);
    }), { numRuns: 400 });
  });

  it('round-trips named declarations through parseSignature', () => {
    fc.assert(fc.property(objectArb, objectArb, fc.boolean(), (a, b, variadic) => {
      const fn: FunctionType = { kind: 'function', result: a.kind === 'array' ? { kind: 'void' } : a, variadic,
        params: [{ name: 'first', type: b.kind === 'array' ? { kind: 'pointer', to: b.element } : b }] };
      const text = formatType(fn, 'f');
      const { text: _text, name, ...parsed } = parseSignature(text);
      expect(name).toBe('f');
      expect(parsed).toEqual(fn);
    }), { numRuns: 200 });
  });
});

describe('robustness', () => {
  it('any token soup either parses or throws a SignatureError', () => {
    const tok = fc.constantFrom('int', 'char', 'struct', 'union', 'enum', 'S', 'T', 'x', 'typedef', '(', ')', '[', ']',
      '{', '}', ',', ';', '*', '...', 'const', 'void', '__attribute__', '((', '))', 'packed', 'aligned', '3', '=', '-',
      ':', 'long', 'unsigned', 'double', 'f', 'A', '<<', "'a'", '"s"', '__asm__', 'static', '/* c */', '\n');
    fc.assert(fc.property(fc.array(tok, { maxLength: 30 }), (ts) => {
      for (const parse of [parseDeclarations, parsePrototype, (t: string) => parsePrototype(t, undefined, { functionPointer: true })]) {
        try {
          const r = parse(ts.join(' '));
          // parsePrototype returns a prototype or throws
          if ('offset' in r) expect(r.signature?.kind).toBe('function');
        } catch (e) {
          if (!(e instanceof SignatureError)) throw e;
          expect(e.offset).toBeGreaterThanOrEqual(0);
          expect(e.offset).toBeLessThanOrEqual(e.source.length);
        }
      }
    }), { numRuns: 3000 });
  });
});

describe('prototypes in every Sandbox API: declarations, then one prototype, named or not', () => {
  let sb: Sandbox;
  let lib: Library;
  beforeAll(async () => {
    sb = await Sandbox.open('x86_64-sysv');
    lib = sb.load(...fixtureObjects('x86_64')); // no sb.declare: the declarations are in each prototype
  });
  afterAll(() => sb?.close());

  const applyN = () => sb.func('int apply_n(int (*f)(int), int n, int x)');
  const visit = () => sb.func('struct Point { int x; int y; }; int visit_points(const struct Point *pts, int n, int (*visit)(struct Point p, int index))');

  it('sb.callback: unnamed after a struct, union, enum, typedef, several; named; pointer forms', () => {
    const cases: [string, string][] = [
      ['struct Q { int x; }; int (int a)', 'int (int a)'],
      ['union U { int i; float f; }; int (int)', 'int (int)'],
      ['enum E { K = 3 }; int (int a)', 'int (int a)'],
      ['typedef int count_t; count_t (count_t a)', 'count_t (count_t a)'],
      ['struct Q { int x; }; union U { int i; }; enum E { K }; typedef struct Q Q_t; int (int a)', 'int (int a)'],
      ['struct Q { int x; }; int twice(int a)', 'int twice(int a)'],
      ['struct Q { int x; }; int (*)(int)', 'int (*)(int)'],
      ['int (*cb)(int a)', 'int (*cb)(int a)'],
      ['typedef int unop(int); unop', 'unop'],
      ['typedef int (*unop_ptr)(int); unop_ptr', 'unop_ptr'],
    ];
    for (const [text, proto] of cases) {
      const cb = sb.callback(text, (a) => (a as number) * 2);
      try {
        expect(cb.signature).toMatchObject({ text: proto, params: [{ type: { kind: 'scalar', name: 'int' } }], variadic: false });
        expect(applyN()(cb, 3, 1)).toBe(8);
      } finally {
        cb.release();
      }
    }
  });

  it('sb.callback: struct parameters from the declarations, function-pointer parameters and results', () => {
    // its own declaration of visit_points' struct Point (another tag would be another type: refused)
    const cb = sb.callback('struct Point { int x; int y; }; typedef struct Point P2_t; int (P2_t p, int index)',
      (p, k) => (p as { x: number; y: number }).x * 10 + (p as { y: number }).y + (k as number));
    expect(visit()([{ x: 1, y: 2 }, { x: 3, y: 4 }], 2, cb)).toBe(12 * 31 + 35);
    cb.release();
    // a call-back taking and returning function pointers: called from JS through compose's f/g
    const pick = sb.callback('typedef int (*unop)(int); int (*(unop f, int which))(int)', () => 0);
    expect(pick.signature.result).toMatchObject({ kind: 'pointer', to: { kind: 'function', params: [{ type: { kind: 'scalar', name: 'int' } }] } });
    expect(pick.signature.params[0].type).toMatchObject({ kind: 'pointer', to: { kind: 'function' } });
    pick.release();
  });

  it('sb.func and lib.func with { symbol }: unnamed after declarations, with function-pointer parameters', () => {
    for (const text of ['struct Q { int x; }; int (int a, int b)', 'union U { int i; }; enum E { K }; typedef int T; T (T, T)', 'int (int, int)']) {
      expect(sb.func(text, { symbol: 'weigh_int2' })(5, 7)).toBe(31);
      expect(lib.func(text, { symbol: 'weigh_int2' })(5, 7)).toBe(31);
    }
    expect(sb.func('struct Q { int x; }; int weigh_int2(int a, int b)')(5, 7)).toBe(31); // named
    const compose = sb.func('typedef int (*unop)(int); struct Q { int x; }; int (unop f, unop g, int x)', { symbol: 'compose' });
    expect(compose((x: JsValue) => (x as number) + 1, (x: JsValue) => (x as number) * 3, 2)).toBe((2 + 1) * 3); // g(f(x))
    // a named prototype called through another symbol
    expect(sb.func('struct Q { int x; }; int add(int, int)', { symbol: 'weigh_int2' })(1, 1)).toBe(5);
  });

  it('errors in each API are SignatureErrors saying what was expected where', () => {
    const second = "expected one function prototype, found a second one after 'int (int)' (give the prototype last, after the declarations it uses)";
    const noProto = 'expected a function prototype after the declarations at end of input';
    const fn = () => 0;
    for (const [call, text, reason] of [
      [(t: string) => sb.callback(t, fn), 'struct Q { int x; }; int (int); int (double)', second],
      [(t: string) => sb.func(t, { symbol: 'weigh_int2' }), 'struct Q { int x; }; int (int); int (double)', second],
      [(t: string) => sb.callback(t, fn), 'struct Q { int x; };', noProto],
      [(t: string) => sb.func(t, { symbol: 'weigh_int2' }), 'struct Q { int x; }; typedef int T', noProto],
      [(t: string) => sb.callback(t, fn), 'struct Q { int x; }; int (int a) garbage', "expected ';' before 'garbage'"],
      [(t: string) => sb.func(t), 'struct Q { int x; }; int (*)(int)', "expected a function prototype, not a pointer to a function: write 'int (int)'"],
      [(t: string) => sb.func(t), 'struct Q { int x; }; int (int a, int b)', 'the prototype has no function name: name the function, or pass { symbol }'],
      [(t: string) => sb.callback(t, fn), 'struct Q { int x; }; struct Q q', "expected a function prototype, not a declaration of the object 'q'"],
    ] as const) {
      const e = errorOf(() => call(text));
      expect(e.reason).toBe(reason);
      expect(e.source).toBe(text);
    }
    // the column: the second prototype, the start of the unnamed one
    expect(errorOf(() => sb.callback('struct Q { int x; }; int (int); int (double)', fn)).column).toBe(33);
    expect(errorOf(() => sb.func('struct Q { int x; }; int (int a, int b)')).column).toBe(22);
    // the sandbox still works
    expect(sb.func('int (int, int)', { symbol: 'weigh_int2' })(1, 0)).toBe(2);
  });
});
