@ far-arm.s: long branches between ARM and Thumb code; the far_* symbols are given by the tests
@ (LinkOptions.resolve: bit 0 set = Thumb) far enough that the J1/J2 and I1/I2 bits differ.
	.syntax	unified
	.arch	armv7-a
	.text
	.thumb
	.globl	far_thumb_code
	.type	far_thumb_code, %function
	.thumb_func
far_thumb_code:
	bne.w	far_thumb			@ R_ARM_THM_JUMP19, offset bit 18 != bit 19
	bl	far_call			@ R_ARM_THM_CALL, I1 != I2
	bl	far_arm				@ R_ARM_THM_CALL to ARM code: BLX
	b.w	far_call			@ R_ARM_THM_JUMP24
	.size	far_thumb_code, .-far_thumb_code

	.arm
	.globl	far_arm_code
	.type	far_arm_code, %function
far_arm_code:
	bl	far_call			@ R_ARM_CALL to Thumb code: BLX
	bl	far_arm				@ R_ARM_CALL
	b	far_arm				@ R_ARM_JUMP24
	.size	far_arm_code, .-far_arm_code
