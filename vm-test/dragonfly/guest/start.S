/*
 * Entry point and system call stub of the freestanding guest driver.
 * DragonFly x86_64: arguments in rdi rsi rdx r10 r8 r9, number in rax;
 * carry set means rax holds an errno, returned here negated.
 */
	.text
	.globl	_start
_start:
	xorl	%ebp, %ebp
	andq	$-16, %rsp
	call	main
	movl	%eax, %edi
	movl	$1, %eax		/* SYS_exit */
	syscall
	hlt

	/* long sys6(long nr, long a1, long a2, long a3, long a4, long a5) */
	.globl	sys6
sys6:
	movq	%rdi, %rax
	movq	%rsi, %rdi
	movq	%rdx, %rsi
	movq	%rcx, %rdx
	movq	%r8, %r10
	movq	%r9, %r8
	syscall
	jnc	1f
	negq	%rax
1:	ret

	/* The kernel runs only binaries that carry DragonFly's ABI note. */
	.section .note.tag, "a", @note
	.p2align 2
	.long	10			/* name size: "DragonFly\0" */
	.long	4			/* descriptor size */
	.long	1			/* NT_DRAGONFLY_ABI_TAG */
	.asciz	"DragonFly"
	.p2align 2
	.long	500901			/* __DragonFly_version of the tree */
	.section .note.GNU-stack, "", @progbits
