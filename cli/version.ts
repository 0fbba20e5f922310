// The version `abiscope --version` prints: package.json's, read when asked from the package the
// running module belongs to (cli/ in a clone, dist/cli/ when built or installed), so that it is
// never a copy that a release forgets to update.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** package.json of abiscope: the nearest one above `from` (this module's directory) named 'abiscope'. */
export function packageJsonPath(from: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let d = from, i = 0; i < 6; i++, d = dirname(d)) {
    const p = join(d, 'package.json');
    if (!existsSync(p)) continue;
    try {
      if ((JSON.parse(readFileSync(p, 'utf8')) as { name?: unknown }).name === 'abiscope') return p;
    } catch {
      // a broken package.json of some other package on the way up: keep looking
    }
  }
  return undefined;
}

export function packageVersion(): string {
  const p = packageJsonPath();
  const version = p ? (JSON.parse(readFileSync(p, 'utf8')) as { version?: unknown }).version : undefined;
  return typeof version === 'string' ? version : 'unknown (no package.json of abiscope found)';
}
