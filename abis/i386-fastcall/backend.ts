// i386-fastcall back end: the i386 stubs and thunks (abis/i386-sysv/backend.ts), which load and store
// the argument registers the register image has and pop what the plan says.
export { I386_BACKEND } from '../i386-sysv/backend.ts';
