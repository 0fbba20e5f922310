# relocs-ppc.s: one site per supported PowerPC (32-bit) relocation type.
	.text
	.globl	_start
	.type	_start, @function
back:
	nop
_start:
	bl	ext_fn				# R_PPC_REL24
	b	ext_fn				# R_PPC_REL24
	beq	0, ext_fn			# R_PPC_REL14
	.reloc	., R_PPC_REL14_BRTAKEN, ext_fn
	beq	0, .				# R_PPC_REL14_BRTAKEN
	.reloc	., R_PPC_REL14_BRNTAKEN, ext_fn
	bne	0, .				# R_PPC_REL14_BRNTAKEN
	.reloc	., R_PPC_REL14_BRTAKEN, back
	bdnz	.				# R_PPC_REL14_BRTAKEN, backwards, CTR form
	lis	3, ext_obj+0x9000@ha		# R_PPC_ADDR16_HA
	addi	3, 3, ext_obj+0x9000@l		# R_PPC_ADDR16_LO
	lis	4, ext_obj@h			# R_PPC_ADDR16_HI
	ori	4, 4, ext_obj@l			# R_PPC_ADDR16_LO
	li	5, small_abs			# R_PPC_ADDR16
	# As in -fPIC code (libgcc): PC-relative halves and a call through the (absent) PLT.
	bl	ext_fn+32768@plt		# R_PPC_PLTREL24, addend = .got2 offset, not part of the target
	addis	30, 30, ext_obj+0x9000-.@ha	# R_PPC_REL16_HA
	addi	30, 30, ext_obj+0x9000-.@l	# R_PPC_REL16_LO
	lis	6, ext_obj-.@h			# R_PPC_REL16_HI
	blr
	.size	_start, .-_start

	.data
	.p2align 2
	.long	ext_obj+4			# R_PPC_ADDR32
	.long	ext_obj-.			# R_PPC_REL32
	.short	small_abs			# R_PPC_ADDR16
