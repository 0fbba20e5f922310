// Imports flow one way (docs/architecture.md): C types, then data models and layouts, then
// conventions and their plans, then back ends, then the runtime, then the CLI. The emulated
// machine (emu/) and errors.ts are below all of them. A convention's own back end
// (abis/<name>/backend.ts) belongs to the back-end layer, beside backends/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const LAYERS = ['base', 'ctypes', 'layout', 'abis', 'backends', 'sandbox', 'cli', 'index'] as const;
type Layer = (typeof LAYERS)[number];

function layerOf(file: string): Layer | undefined {
  const rel = relative(ROOT, file).split('\\').join('/');
  if (rel === 'errors.ts' || rel.startsWith('emu/')) return 'base';
  if (rel === 'index.ts') return 'index';
  if (/^abis\/[^/]+\/backend\.ts$/.test(rel)) return 'backends';
  const top = rel.split('/')[0];
  return (LAYERS as readonly string[]).includes(top) ? (top as Layer) : undefined;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

const FILES = [join(ROOT, 'index.ts'), join(ROOT, 'errors.ts'), ...['emu', 'ctypes', 'layout', 'abis', 'backends', 'sandbox', 'cli'].flatMap((d) => sources(join(ROOT, d)))];

/** Relative imports (static, type-only and re-exports alike) of a file. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm)) out.push(resolve(dirname(file), m[1]));
  for (const m of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)) out.push(resolve(dirname(file), m[1]));
  return out;
}

describe('layers', () => {
  it('every source file is in a layer', () => {
    expect(FILES.length).toBeGreaterThan(60);
    expect(FILES.filter((f) => layerOf(f) === undefined).map((f) => relative(ROOT, f))).toEqual([]);
  });

  it('no file imports from a layer above its own', () => {
    const wrong: string[] = [];
    let edges = 0;
    for (const file of FILES) {
      const from = LAYERS.indexOf(layerOf(file)!);
      for (const target of importsOf(file)) {
        const layer = layerOf(target);
        if (layer === undefined) continue; // runtime data beside the sources (none today)
        edges++;
        if (LAYERS.indexOf(layer) > from) wrong.push(`${relative(ROOT, file)} (${LAYERS[from]}) imports ${relative(ROOT, target)} (${layer})`);
      }
    }
    expect(edges).toBeGreaterThan(100);
    expect(wrong).toEqual([]);
  });

  it('a convention folder imports no other convention', () => {
    const wrong: string[] = [];
    for (const file of FILES) {
      const own = /^abis\/([^/]+)\//.exec(relative(ROOT, file))?.[1];
      if (!own) continue;
      for (const target of importsOf(file)) {
        const other = /^abis\/([^/]+)\//.exec(relative(ROOT, target))?.[1];
        // arm-aapcs-vfp is the VFP variant of arm-aapcs, the i386-* variants (stdcall, fastcall, ...)
        // of i386-sysv: they extend that convention, by design. x86_64-win64's back end reuses the
        // x86-64 compiled stub and thunk (same instructions), never the SysV rules: only its
        // backend.ts may import the SysV backend.ts.
        const variant = (own === 'arm-aapcs-vfp' && other === 'arm-aapcs') || (own.startsWith('i386-') && other === 'i386-sysv');
        const sharesBackend = own === 'x86_64-win64' && relative(ROOT, file) === 'abis/x86_64-win64/backend.ts' && relative(ROOT, target) === 'abis/x86_64-sysv/backend.ts';
        if (other && other !== own && !variant && !sharesBackend) wrong.push(`${relative(ROOT, file)} imports ${relative(ROOT, target)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
