// relocs-aarch64.s: one site per supported AArch64 relocation type.
	.text
	.globl	_start
	.type	_start, %function
_start:
	bl	ext_fn				// R_AARCH64_CALL26
	b	ext_fn				// R_AARCH64_JUMP26
	b.eq	ext_fn				// R_AARCH64_CONDBR19
	cbz	x1, ext_fn			// R_AARCH64_CONDBR19
	tbz	x0, #3, ext_fn			// R_AARCH64_TSTBR14
	adr	x2, ext_obj+3			// R_AARCH64_ADR_PREL_LO21
	adrp	x3, ext_obj			// R_AARCH64_ADR_PREL_PG_HI21
	add	x3, x3, :lo12:ext_obj		// R_AARCH64_ADD_ABS_LO12_NC
	ldrb	w4, [x3, :lo12:ext_obj+1]	// R_AARCH64_LDST8_ABS_LO12_NC
	ldrh	w4, [x3, :lo12:ext_obj+2]	// R_AARCH64_LDST16_ABS_LO12_NC
	ldr	w4, [x3, :lo12:ext_obj+4]	// R_AARCH64_LDST32_ABS_LO12_NC
	ldr	x4, [x3, :lo12:ext_obj+8]	// R_AARCH64_LDST64_ABS_LO12_NC
	ldr	q4, [x3, :lo12:ext_obj+16]	// R_AARCH64_LDST128_ABS_LO12_NC
	movz	x5, #:abs_g3:ext_obj		// R_AARCH64_MOVW_UABS_G3
	movk	x5, #:abs_g2_nc:ext_obj		// R_AARCH64_MOVW_UABS_G2_NC
	movk	x5, #:abs_g1_nc:ext_obj		// R_AARCH64_MOVW_UABS_G1_NC
	movk	x5, #:abs_g0_nc:ext_obj		// R_AARCH64_MOVW_UABS_G0_NC
	ret
	.size	_start, .-_start

	.data
	.p2align 3
	.xword	ext_obj+8			// R_AARCH64_ABS64
	.word	ext_obj				// R_AARCH64_ABS32
	.word	ext_obj-.			// R_AARCH64_PREL32
	.xword	ext_obj-.			// R_AARCH64_PREL64
