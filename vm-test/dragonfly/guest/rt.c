/*
 * The guest driver's runtime (rt.h): raw DragonFly system calls, string
 * helpers the compiler may call, and a small formatter for the console.
 */
#include <stdarg.h>
#include "rt.h"

#define SYS_exit	1
#define SYS_fork	2
#define SYS_write	4
#define SYS_open	5
#define SYS_close	6
#define SYS_wait4	7
#define SYS_getpid	20
#define SYS_execve	59
#define SYS_dup2	90
#define SYS_ioctl	54
#define SYS_reboot	55
#define SYS_munmap	73
#define SYS_fsync	95
#define SYS_extpread	173
#define SYS_extpwrite	174
#define SYS_sysctl	202
#define SYS_nanosleep	240
#define SYS_clock_gettime 232
#define SYS_kldload	304
#define SYS_kldunload	305
#define CLOCK_MONOTONIC	4

struct timespec_ { long sec; long nsec; };

static int console = -1;

int sys_open(const char *p, int f) { return (int)sys6(SYS_open, (long)p, f, 0, 0, 0); }
int sys_close(int fd) { return (int)sys6(SYS_close, fd, 0, 0, 0, 0); }
int sys_fsync(int fd) { return (int)sys6(SYS_fsync, fd, 0, 0, 0, 0); }
int sys_fork(void) { return (int)sys6(SYS_fork, 0, 0, 0, 0, 0); }
int sys_getpid(void) { return (int)sys6(SYS_getpid, 0, 0, 0, 0, 0); }
int sys_kldload(const char *p) { return (int)sys6(SYS_kldload, (long)p, 0, 0, 0, 0); }
int sys_kldunload(int id) { return (int)sys6(SYS_kldunload, id, 0, 0, 0, 0); }

ssize_t
sys_pread(int fd, void *buf, size_t n, uint64_t off)
{
	return (sys6(SYS_extpread, fd, (long)buf, (long)n, 0, (long)off));
}

ssize_t
sys_pwrite(int fd, const void *buf, size_t n, uint64_t off)
{
	return (sys6(SYS_extpwrite, fd, (long)buf, (long)n, 0, (long)off));
}

int
sys_ioctl(int fd, unsigned long req, void *arg)
{
	return ((int)sys6(SYS_ioctl, fd, (long)req, (long)arg, 0, 0));
}

int
sys_wait(int *status)
{
	return ((int)sys6(SYS_wait4, -1, (long)status, 0, 0, 0));
}

/*
 * Runs a program with the console as its stdin, stdout and stderr; its
 * exit status, or -1 if it could not run or was killed.
 */
int
run_program(const char *const argv[])
{
	static const char *const envp[] = { "PATH=/sbin", NULL };
	int pid, status, fd;

	pid = sys_fork();
	if (pid == 0) {
		fd = sys_open("/dev/console", O_RDWR);
		for (int i = 0; i < 3; i++)
			sys6(SYS_dup2, fd, i, 0, 0, 0);
		sys6(SYS_execve, (long)argv[0], (long)argv, (long)envp, 0, 0);
		sys_exit(127);
	}
	if (pid < 0 || sys6(SYS_wait4, pid, (long)&status, 0, 0, 0) != pid)
		return (-1);
	if ((status & 0x7f) != 0)
		return (-1);
	return ((status >> 8) & 0xff);
}

int
sys_munmap(void *addr, size_t len)
{
	return ((int)sys6(SYS_munmap, (long)addr, (long)len, 0, 0, 0));
}

void
sys_exit(int code)
{
	sys6(SYS_exit, code, 0, 0, 0, 0);
	for (;;)
		;
}

void
sys_sleep_ms(long ms)
{
	struct timespec_ t = { ms / 1000, (ms % 1000) * 1000000 };

	sys6(SYS_nanosleep, (long)&t, 0, 0, 0, 0);
}

uint64_t
sys_uptime_ms(void)
{
	struct timespec_ t = { 0, 0 };

	sys6(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&t, 0, 0, 0);
	return ((uint64_t)t.sec * 1000 + (uint64_t)t.nsec / 1000000);
}

int
sys_sysctl_string(int top, int second, char *buf, size_t len)
{
	int name[2] = { top, second };
	size_t got = len - 1;
	long r = sys6(SYS_sysctl, (long)name, 2, (long)buf, (long)&got, 0);

	buf[r < 0 ? 0 : (got < len ? got : len - 1)] = '\0';
	return ((int)r);
}

void
sys_reboot(void)
{
	sys6(SYS_reboot, RB_AUTOBOOT, 0, 0, 0, 0);
	for (;;)
		;
}

void *
memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return (dst);
}

void *
memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return (dst);
}

int
memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n > 0; n--, x++, y++)
		if (*x != *y)
			return (*x - *y);
	return (0);
}

size_t
strlen(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0')
		n++;
	return (n);
}

int
strncmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++)
		if (*a != *b || *a == '\0')
			return ((unsigned char)*a - (unsigned char)*b);
	return (0);
}

int
strcmp(const char *a, const char *b)
{
	return (strncmp(a, b, (size_t)-1));
}

char *
strchr(const char *s, int c)
{
	for (; *s != '\0'; s++)
		if (*s == (char)c)
			return ((char *)(unsigned long)s);
	return (NULL);
}

char *
strstr(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay != '\0'; hay++)
		if (strncmp(hay, needle, n) == 0)
			return ((char *)(unsigned long)hay);
	return (n == 0 ? (char *)(unsigned long)hay : NULL);
}

/* Reads a decimal number at *s and moves *s past it and the blanks after. */
uint64_t
parse_u64(const char **s)
{
	uint64_t v = 0;

	while (**s == ' ')
		(*s)++;
	while (**s >= '0' && **s <= '9')
		v = v * 10 + (uint64_t)(*(*s)++ - '0');
	while (**s == ' ')
		(*s)++;
	return (v);
}

struct sink {
	char	*buf;
	size_t	 len;
	size_t	 at;
};

static void
put(struct sink *k, char c)
{
	if (k->at + 1 < k->len)
		k->buf[k->at++] = c;
}

static void
put_number(struct sink *k, uint64_t v, int negative, unsigned base)
{
	char digits[24];
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v != 0);
	if (negative)
		put(k, '-');
	while (n > 0)
		put(k, digits[--n]);
}

static void
vformat(struct sink *k, const char *fmt, va_list ap)
{
	const char *s;
	int longarg;
	int64_t sv;

	for (; *fmt != '\0'; fmt++) {
		if (*fmt != '%') {
			put(k, *fmt);
			continue;
		}
		longarg = fmt[1] == 'l';
		fmt += longarg ? 2 : 1;
		switch (*fmt) {
		case 's':
			for (s = va_arg(ap, const char *); s && *s; s++)
				put(k, *s);
			break;
		case 'c':
			put(k, (char)va_arg(ap, int));
			break;
		case 'd':
			sv = longarg ? va_arg(ap, long) : va_arg(ap, int);
			put_number(k, sv < 0 ? (uint64_t)-sv : (uint64_t)sv, sv < 0, 10);
			break;
		case 'u':
		case 'x':
			put_number(k, longarg ? va_arg(ap, unsigned long) :
			    va_arg(ap, unsigned), 0, *fmt == 'x' ? 16 : 10);
			break;
		default:
			put(k, '%');
			put(k, *fmt);
		}
	}
	k->buf[k->at] = '\0';
}

int
format(char *buf, size_t len, const char *fmt, ...)
{
	struct sink k = { buf, len, 0 };
	va_list ap;

	va_start(ap, fmt);
	vformat(&k, fmt, ap);
	va_end(ap);
	return ((int)k.at);
}

void
out(const char *fmt, ...)
{
	static char line[4096];
	struct sink k = { line, sizeof(line), 0 };
	va_list ap;

	if (console < 0)
		console = sys_open("/dev/console", O_RDWR);
	va_start(ap, fmt);
	vformat(&k, fmt, ap);
	va_end(ap);
	sys6(SYS_write, console, (long)line, (long)k.at, 0, 0);
}
