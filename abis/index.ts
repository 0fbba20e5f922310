// Every calling convention abiscope implements, by its name.
import { UsageError } from '../errors.ts';
import type { AbiName, CallingConvention } from './abi.ts';
import { i386Sysv } from './i386-sysv.ts';
import { x86_64Sysv } from './x86_64-sysv.ts';
import { armAapcs } from './arm-aapcs.ts';
import { armAapcsVfp } from './arm-aapcs-vfp.ts';
import { ppc32Sysv } from './ppc32-sysv.ts';

export const CONVENTIONS: Readonly<Record<AbiName, CallingConvention>> = {
  'i386-sysv': i386Sysv,
  'x86_64-sysv': x86_64Sysv,
  'arm-aapcs': armAapcs,
  'arm-aapcs-vfp': armAapcsVfp,
  'ppc32-sysv': ppc32Sysv,
};

export const ABI_NAMES = Object.keys(CONVENTIONS) as AbiName[];

export function convention(name: string): CallingConvention {
  const cc = (CONVENTIONS as Record<string, CallingConvention>)[name];
  if (!cc) throw new UsageError(`unknown calling convention '${name}': expected one of ${ABI_NAMES.join(', ')}`);
  return cc;
}
