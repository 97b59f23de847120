/* The rig's soft-interrupt completions (rig/softint.c, in the kernel). */
void	dmmrig_complete(void (*)(void *, size_t, int), void *, size_t, int);
