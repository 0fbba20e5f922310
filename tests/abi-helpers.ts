// Shared by the convention tests (abi-*.test.ts): arranging a prototype, printing
// where its arguments went, and rendering random signature shapes as C.
import fc from 'fast-check';
import type { ArgAssignment, ArgPiece, CallArrangement, CallingConvention } from '../abis/abi.ts';
import { parseDeclarations, parseType } from '../ctypes/parse.ts';

/** The arrangement of the prototype in `text` (declarations may precede it); `variadic` types for `...`. */
export function arrange(cc: CallingConvention, text: string, variadic: string[] = []): CallArrangement {
  const { scope, signature } = parseDeclarations(text);
  if (!signature) throw new Error(`no prototype in ${text}`);
  return cc.arrange(signature, variadic.map((t) => parseType(t, scope)));
}

/** Compact locations of one argument: 'rdi', 'r0', 's2', 'xmm0', 'sp+8'. */
export function where(a: ArgAssignment | { pieces: ArgPiece[] }): string[] {
  return a.pieces.map((p) => (p.kind === 'reg' ? p.reg : `sp+${p.offset}`));
}
export const places = (a: CallArrangement) => a.args.map(where);

/** A random C type: a scalar's spelling, or a struct/union of fields (arrays of 1-3, aligned members). */
export interface RecShape { kind: 'struct' | 'union'; fields: { t: Shape; n: number | null; aligned: boolean }[]; attr: '' | 'packed' | 'aligned' }
export type Shape = string | RecShape;

/** C text for a shape; each record is appended to `defs` as a tagged definition. */
export function render(s: Shape, defs: string[]): string {
  if (typeof s === 'string') return s;
  const tag = `T${defs.length}`;
  const slot = defs.push('') - 1;
  const fields = s.fields.map((f, i) => `${render(f.t, defs)} m${i}${f.n ? `[${f.n}]` : ''}${f.aligned ? ' __attribute__((aligned(8)))' : ''};`).join(' ');
  const attr = s.attr === 'packed' ? ' __attribute__((packed))' : s.attr === 'aligned' ? ' __attribute__((aligned(8)))' : '';
  defs[slot] = `${s.kind} ${tag} { ${fields} }${attr};`;
  return `${s.kind} ${tag}`;
}

/** A random call: result, parameters and, when variadic, the types passed through `...`. */
export function callShape(shape: fc.Arbitrary<Shape>, maxParams: number) {
  return fc.record({
    result: fc.oneof(fc.constant<Shape>('void'), shape),
    params: fc.array(shape, { maxLength: maxParams }),
    variadic: fc.boolean(),
    extra: fc.array(shape, { maxLength: 6 }),
  });
}
export type CallShape = ReturnType<typeof callShape> extends fc.Arbitrary<infer T> ? T : never;

/** The prototype text of a random call (with `enum E` and the records it uses), and its variadic types. */
export function build(c: CallShape): { text: string; variadic: string[] } {
  const defs: string[] = [];
  const result = render(c.result, defs);
  const params = c.params.map((p) => render(p, defs));
  const extra = c.variadic ? c.extra.map((p) => render(p, defs)) : [];
  if (c.variadic && params.length === 0) params.push('int');
  const text = `enum E { EA = 1 }; ${[...defs].reverse().join(' ')} ${result} f(${params.join(', ') || 'void'}${c.variadic ? ', ...' : ''});`;
  return { text, variadic: extra };
}
