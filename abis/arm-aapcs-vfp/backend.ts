// ARM AAPCS VFP variant back end: the base standard's stubs (abis/arm-aapcs/backend.ts),
// which also load and store d0-d7 when the register image has them.
export { ARM_AAPCS_VFP_BACKEND } from '../arm-aapcs/backend.ts';
