@ relocs-arm.s: one site per supported ARM relocation type, ARM and Thumb state.
@ ext_fn (ARM state) and ext_obj are provided by the linker; thumb_target and
@ arm_target live in another section so that the assembler must emit relocations.
	.syntax	unified
	.arch	armv7-a
	.text
	.arm
	.globl	_start
	.type	_start, %function
_start:
	bl	ext_fn				@ R_ARM_CALL
	bl	thumb_target			@ R_ARM_CALL, becomes BLX
	bl	thumb_target2			@ R_ARM_CALL, becomes BLX with H = 1 (target = 2 mod 4)
	blx	arm_target			@ R_ARM_CALL, BLX to ARM becomes BL
	b	ext_fn				@ R_ARM_JUMP24
	bne	arm_target			@ R_ARM_JUMP24, conditional
	movw	r0, #:lower16:ext_obj+4		@ R_ARM_MOVW_ABS_NC
	movt	r0, #:upper16:ext_obj+4		@ R_ARM_MOVT_ABS
	.reloc	., R_ARM_NONE, ext_fn		@ R_ARM_NONE
	.reloc	., R_ARM_V4BX			@ R_ARM_V4BX (ignored)
	bx	lr
	.size	_start, .-_start

	.thumb
	.globl	rel_thumb
	.type	rel_thumb, %function
	.thumb_func
rel_thumb:
	bl	thumb_target			@ R_ARM_THM_CALL
	bl	arm_target			@ R_ARM_THM_CALL, becomes BLX
	nop
	bl	arm_target			@ R_ARM_THM_CALL at P % 4 == 2
	b.w	thumb_target			@ R_ARM_THM_JUMP24
	beq.w	thumb_target			@ R_ARM_THM_JUMP19
	movw	r0, #:lower16:ext_obj+8		@ R_ARM_THM_MOVW_ABS_NC
	movt	r0, #:upper16:ext_obj+8		@ R_ARM_THM_MOVT_ABS
	bx	lr
	.size	rel_thumb, .-rel_thumb

	.section .text.targets, "ax", %progbits
	.thumb
	.globl	thumb_target
	.type	thumb_target, %function
	.thumb_func
thumb_target:
	bx	lr
	.size	thumb_target, .-thumb_target
	.globl	thumb_target2
	.type	thumb_target2, %function
	.thumb_func
thumb_target2:
	bx	lr
	.size	thumb_target2, .-thumb_target2
	.arm
	.p2align 2
	.globl	arm_target
	.type	arm_target, %function
arm_target:
	bx	lr
	.size	arm_target, .-arm_target

	.data
	.p2align 2
	.word	ext_obj+4			@ R_ARM_ABS32
	.word	ext_obj-.			@ R_ARM_REL32
	.word	thumb_target			@ R_ARM_ABS32, Thumb bit set
	.reloc	., R_ARM_PREL31, arm_target	@ R_ARM_PREL31 (as in .ARM.exidx)
	.word	0
