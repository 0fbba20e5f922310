// C spelling of a type, for messages, tables and plans.
import type { CType } from './ctypes.ts';

/** C spelling of a type, for tables. */
export function typeText(t: CType): string {
  switch (t.kind) {
    case 'void': return 'void';
    case 'scalar': return t.spelling ?? t.name;
    case 'enum': return `enum ${t.tag ?? '(anonymous)'}`;
    case 'pointer': return t.to.kind === 'function' ? `${typeText(t.to.result)} (*)(${t.to.params.map((p) => typeText(p.type)).join(', ')}${t.to.variadic ? ', ...' : ''})` : `${t.isConst ? 'const ' : ''}${typeText(t.to)} *`;
    case 'array': return `${typeText(t.element)}[${t.length}]`;
    case 'struct': case 'union': return `${t.kind} ${t.tag ?? '{...}'}`;
    case 'function': return `${typeText(t.result)} (${t.params.map((p) => typeText(p.type)).join(', ')}${t.variadic ? ', ...' : ''})`;
  }
}
