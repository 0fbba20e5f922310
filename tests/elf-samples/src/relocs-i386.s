# relocs-i386.s: one site per supported i386 relocation type (REL: addends live in the code).
	.text
	.globl	_start
	.type	_start, @function
_start:
	call	ext_fn				# R_386_PC32
	call	ext_fn@PLT			# R_386_PLT32
	movl	$local_obj+4, %eax		# R_386_32, implicit addend 4
	movl	ext_obj+8, %eax			# R_386_32, implicit addend 8
	ret
	.size	_start, .-_start

	.data
	.p2align 2
local_obj:
	.long	0
	.long	ext_fn+12			# R_386_32
	.long	ext_obj-.			# R_386_PC32
	.long	ext_obj-.+100			# R_386_PC32, implicit addend 100
