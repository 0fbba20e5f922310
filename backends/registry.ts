// Every calling convention abiscope implements: its rules (abis/<name>/convention.ts) and its
// back end (abis/<name>/backend.ts). Adding a convention is one folder and one line here.
import { UsageError } from '../errors.ts';
import type { CallingConvention } from '../abis/abi.ts';
import type { ConventionBackend } from './backend.ts';
import { i386Sysv } from '../abis/i386-sysv/convention.ts';
import { I386_BACKEND } from '../abis/i386-sysv/backend.ts';
import { i386Stdcall } from '../abis/i386-stdcall/convention.ts';
import { I386_BACKEND as I386_STDCALL_BACKEND } from '../abis/i386-stdcall/backend.ts';
import { i386Fastcall } from '../abis/i386-fastcall/convention.ts';
import { I386_BACKEND as I386_FASTCALL_BACKEND } from '../abis/i386-fastcall/backend.ts';
import { i386Thiscall } from '../abis/i386-thiscall/convention.ts';
import { I386_BACKEND as I386_THISCALL_BACKEND } from '../abis/i386-thiscall/backend.ts';
import { i386Regparm3 } from '../abis/i386-regparm3/convention.ts';
import { I386_BACKEND as I386_REGPARM3_BACKEND } from '../abis/i386-regparm3/backend.ts';
import { i386SysvRegstruct } from '../abis/i386-sysv-regstruct/convention.ts';
import { I386_BACKEND as I386_REGSTRUCT_BACKEND } from '../abis/i386-sysv-regstruct/backend.ts';
import { x86_64Sysv } from '../abis/x86_64-sysv/convention.ts';
import { X86_64_BACKEND } from '../abis/x86_64-sysv/backend.ts';
import { armAapcs } from '../abis/arm-aapcs/convention.ts';
import { ARM_AAPCS_BACKEND } from '../abis/arm-aapcs/backend.ts';
import { armAapcsVfp } from '../abis/arm-aapcs-vfp/convention.ts';
import { ARM_AAPCS_VFP_BACKEND } from '../abis/arm-aapcs-vfp/backend.ts';
import { ppc32Sysv } from '../abis/ppc32-sysv/convention.ts';
import { PPC32_BACKEND } from '../abis/ppc32-sysv/backend.ts';
import { aarch64Aapcs64 } from '../abis/aarch64-aapcs64/convention.ts';
import { AARCH64_BACKEND } from '../abis/aarch64-aapcs64/backend.ts';
import { x86_64Win64 } from '../abis/x86_64-win64/convention.ts';
import { X86_64_WIN64_BACKEND } from '../abis/x86_64-win64/backend.ts';

export interface RegisteredConvention {
  convention: CallingConvention;
  backend: ConventionBackend;
}

export const REGISTRY = {
  'i386-sysv': { convention: i386Sysv, backend: I386_BACKEND },
  'x86_64-sysv': { convention: x86_64Sysv, backend: X86_64_BACKEND },
  'arm-aapcs': { convention: armAapcs, backend: ARM_AAPCS_BACKEND },
  'arm-aapcs-vfp': { convention: armAapcsVfp, backend: ARM_AAPCS_VFP_BACKEND },
  'ppc32-sysv': { convention: ppc32Sysv, backend: PPC32_BACKEND },
  'aarch64-aapcs64': { convention: aarch64Aapcs64, backend: AARCH64_BACKEND },
  'i386-stdcall': { convention: i386Stdcall, backend: I386_STDCALL_BACKEND },
  'i386-fastcall': { convention: i386Fastcall, backend: I386_FASTCALL_BACKEND },
  'i386-thiscall': { convention: i386Thiscall, backend: I386_THISCALL_BACKEND },
  'i386-regparm3': { convention: i386Regparm3, backend: I386_REGPARM3_BACKEND },
  'i386-sysv-regstruct': { convention: i386SysvRegstruct, backend: I386_REGSTRUCT_BACKEND },
  'x86_64-win64': { convention: x86_64Win64, backend: X86_64_WIN64_BACKEND },
} as const satisfies Record<string, RegisteredConvention>;

/** The name of a convention abiscope implements. */
export type AbiName = keyof typeof REGISTRY;

export const ABI_NAMES = Object.keys(REGISTRY) as AbiName[];

/** The conventions by name (their rules only). */
export const CONVENTIONS: Readonly<Record<AbiName, CallingConvention>> = Object.fromEntries(
  ABI_NAMES.map((name) => [name, REGISTRY[name].convention]),
) as Record<AbiName, CallingConvention>;

function registered(name: string): RegisteredConvention {
  const r = (REGISTRY as Record<string, RegisteredConvention>)[name];
  if (!r) throw new UsageError(`unknown calling convention '${name}': expected one of ${ABI_NAMES.join(', ')}`);
  return r;
}

export function convention(name: string): CallingConvention {
  return registered(name).convention;
}

export function conventionBackend(name: string): ConventionBackend {
  return registered(name).backend;
}
