/* What NetBSD's libprop expects of <sys/cdefs.h>, for a Linux build. */
#include <sys/cdefs.h>
#include <stddef.h>
#include <stdint.h>
#include <endian.h>
#define __unused		__attribute__((__unused__))
#define __predict_false(x)	__builtin_expect((x) != 0, 0)
#define __predict_true(x)	__builtin_expect((x) != 0, 1)
#define __UNCONST(a)		((void *)(uintptr_t)(const void *)(a))
#define __RCSID(x)
#define __KERNEL_RCSID(n, x)
#define __arraycount(a)		(sizeof(a) / sizeof((a)[0]))
#define __dead			__attribute__((__noreturn__))
#define __printflike(a, b)	__attribute__((__format__(__printf__, a, b)))
