// i386-sysv-regstruct back end: the i386 stubs and thunks (abis/i386-sysv/backend.ts).
export { I386_BACKEND } from '../i386-sysv/backend.ts';
