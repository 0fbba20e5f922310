# relocs-x86_64.s: one site per supported x86-64 relocation type.
# ext_fn and ext_obj are provided by the linker (--defsym / LinkOptions.resolve).
	.text
	.globl	_start
	.type	_start, @function
_start:
	call	ext_fn				# R_X86_64_PLT32
	jmp	ext_fn@PLT			# R_X86_64_PLT32
	movl	$local_obj, %eax		# R_X86_64_32
	movq	$local_obj-16, %rax		# R_X86_64_32S, negative addend
	leaq	ext_obj+4(%rip), %rax		# R_X86_64_PC32
	movabsq	$ext_obj+0x20, %rax		# R_X86_64_64
	ret
	.size	_start, .-_start

	.data
	.p2align 3
local_obj:
	.quad	0
	.quad	ext_fn+8			# R_X86_64_64
	.long	ext_obj-.			# R_X86_64_PC32
	.long	local_obj+4			# R_X86_64_32
	.quad	ext_obj-.			# R_X86_64_PC64
