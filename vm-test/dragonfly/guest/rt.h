/*
 * The guest driver's runtime: DragonFly system calls and the little of
 * libc a test needs, with no libc (the rig builds no DragonFly userland).
 */
#ifndef DFT_RT_H
#define DFT_RT_H

typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned long uint64_t;
typedef long int64_t;
typedef unsigned int uint32_t;
typedef unsigned char uint8_t;
#define NULL ((void *)0)

#define O_RDONLY	0x0000
#define O_RDWR		0x0002
#define O_DIRECT	0x00010000
#define RB_AUTOBOOT	0

long	sys6(long nr, long a1, long a2, long a3, long a4, long a5);

int	 sys_open(const char *path, int flags);
int	 sys_close(int fd);
ssize_t	 sys_pread(int fd, void *buf, size_t n, uint64_t off);
ssize_t	 sys_pwrite(int fd, const void *buf, size_t n, uint64_t off);
int	 sys_fsync(int fd);
int	 sys_ioctl(int fd, unsigned long req, void *arg);
int	 sys_fork(void);
int	 sys_wait(int *status);
int	 run_program(const char *const argv[]);
int	 sys_getpid(void);
void	 sys_exit(int code) __attribute__((noreturn));
int	 sys_kldload(const char *path);
int	 sys_kldunload(int id);
int	 sys_munmap(void *addr, size_t len);
void	 sys_sleep_ms(long ms);
uint64_t sys_uptime_ms(void);
int	 sys_sysctl_string(int top, int second, char *buf, size_t len);
void	 sys_reboot(void) __attribute__((noreturn));

void	*memcpy(void *dst, const void *src, size_t n);
void	*memset(void *dst, int c, size_t n);
int	 memcmp(const void *a, const void *b, size_t n);
size_t	 strlen(const char *s);
int	 strcmp(const char *a, const char *b);
int	 strncmp(const char *a, const char *b, size_t n);
char	*strstr(const char *hay, const char *needle);
char	*strchr(const char *s, int c);
uint64_t parse_u64(const char **s);

/* Output on the console: %s %d %u %lu %ld %x %lx %c; a line at a time. */
void	 out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int	 format(char *buf, size_t len, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
