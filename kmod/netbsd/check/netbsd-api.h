/*
 * A compile-check fixture, not a NetBSD header: the kernel interfaces the
 * NetBSD adapter uses, declared here as this project reads them in
 * current NetBSD (sys/sys/buf.h 1.134, sys/dev/dm/dm.h 1.56, and the
 * kmem(9), mutex(9), condvar(9), kthread(9), cprng(9), kpause(9),
 * VOP_STRATEGY(9), VOP_IOCTL(9) and module(9) manual pages). It lets
 * scripts/kmod-check-netbsd.sh compile and link the adapter here; it
 * cannot prove that NetBSD's own headers agree.
 */
#ifndef DMM_NETBSD_API_H
#define DMM_NETBSD_API_H

typedef unsigned char		uint8_t;
typedef unsigned short		uint16_t;
typedef unsigned int		uint32_t;
typedef unsigned long		uint64_t;
typedef int			int32_t;
typedef long			int64_t;
typedef unsigned long		size_t;
typedef unsigned long		uintptr_t;
typedef long			off_t;
typedef long			time_t;
typedef int64_t			daddr_t;
typedef uint64_t		dev_t;
typedef unsigned int		u_int;
typedef int			pri_t;
typedef _Bool			bool;
#define true	1
#define false	0
#define NULL	((void *)0)
#define offsetof(type, member)	__builtin_offsetof(type, member)

/* sys/sys/param.h: a NetBSD 10 kernel (the adapter's DM API 10). */
#define __NetBSD_Version__	1000000000

/* sys/sys/types.h */
typedef int32_t		devmajor_t;
typedef int32_t		devminor_t;
#define major(x)	((devmajor_t)(((uint32_t)(x) & 0x000fff00) >> 8))
#define minor(x)	((devminor_t)((((uint32_t)(x) & 0xfff00000) >> 12) | \
			    (((uint32_t)(x) & 0x000000ff) >> 0)))

#define EINVAL	22
/* sys/sys/errno.h */
#define ENODEV	19
#define ENOTTY	25
#define EOPNOTSUPP	45
#define ENOENT	2
#define ENOMEM	12
#define ENXIO	6
#define EEXIST	17
#define ENOTTY	25
#define EBUSY	16
#define FREAD	0x0001
#define FWRITE	0x0002
#define DEV_BSIZE	512
#define MAXPHYS		(64 * 1024)
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define MAX(a, b)	((a) > (b) ? (a) : (b))
#define howmany(x, y)	(((x) + ((y) - 1)) / (y))
#define roundup(x, y)	((((x) + ((y) - 1)) / (y)) * (y))
#define PRIu64		"lu"

struct kmutex;
struct vnode;
struct timespec { time_t tv_sec; long tv_nsec; };
void	nanouptime(struct timespec *);
extern int hz;
int	mstohz(int);
int	printf(const char *, ...);
int	snprintf(char *, size_t, const char *, ...);
void	panic(const char *, ...) __attribute__((__noreturn__));
int	strcmp(const char *, const char *);
size_t	strlcpy(char *, const char *, size_t);
int	kpause(const char *, bool, int, struct kmutex *);
void	cprng_fast(void *, size_t);

/* kmem(9) */
#define KM_SLEEP	0x00000001
#define KM_NOSLEEP	0x00000002
void	*kmem_alloc(size_t, int);
void	*kmem_zalloc(size_t, int);
void	 kmem_free(void *, size_t);
/* sys/sys/cpu.h */
bool	cpu_intr_p(void);
bool	cpu_softintr_p(void);
/* sys/uvm/uvm_param.h (through sys/param.h on amd64) */
#define PAGE_SIZE	4096

/* sys/uvm/uvm_extern.h: free pages (uvm_page.c; NetBSD 9.99 and later). */
int	uvm_availmem(bool);

/* sys/sys/kmem.h: the interrupt-safe variants (NetBSD 6 and later). */
void	*kmem_intr_zalloc(size_t, int);
void	 kmem_intr_free(void *, size_t);

/* atomic_ops(3) */
void	 atomic_inc_uint(volatile unsigned int *);
void	 atomic_dec_uint(volatile unsigned int *);
unsigned int atomic_dec_uint_nv(volatile unsigned int *);

/* mutex(9), condvar(9) */
typedef struct kmutex { uintptr_t opaque[2]; } kmutex_t;
typedef struct kcondvar { void *opaque[2]; } kcondvar_t;
typedef enum { MUTEX_DEFAULT = 0 } kmutex_type_t;
#define IPL_NONE	0
#define IPL_BIO	6
void	mutex_init(kmutex_t *, kmutex_type_t, int);
void	mutex_destroy(kmutex_t *);
void	mutex_enter(kmutex_t *);
void	mutex_exit(kmutex_t *);
void	mutex_spin_enter(kmutex_t *);
void	mutex_spin_exit(kmutex_t *);
void	cv_init(kcondvar_t *, const char *);
void	cv_destroy(kcondvar_t *);
void	cv_wait(kcondvar_t *, kmutex_t *);
int	cv_timedwait(kcondvar_t *, kmutex_t *, int);
void	cv_broadcast(kcondvar_t *);

/* kthread(9) */
struct lwp;
struct cpu_info;
#define PRI_BIO			220
#define KTHREAD_MPSAFE		0x02
#define KTHREAD_MUSTJOIN	0x20
int	kthread_create(pri_t, int, struct cpu_info *, void (*)(void *),
	    void *, struct lwp **, const char *, ...);
void	kthread_exit(int) __attribute__((__noreturn__));
int	kthread_join(struct lwp *);

/* buf(9): the fields the adapter touches */
struct proc;
struct buf {
	void		(*b_iodone)(struct buf *);
	int		b_error;
	int		b_resid;
	u_int		b_flags;
	int		b_bcount;
	dev_t		b_dev;
	void		*b_data;
	daddr_t		b_blkno;
	daddr_t		b_rawblkno;
	struct proc	*b_proc;
	void		*b_private;
	u_int		b_oflags;
	u_int		b_cflags;
	int		b_bufsize;
};
#define BC_BUSY		0x00000010
#define B_WRITE		0x00000000
#define B_READ		0x00100000
#define B_MEDIA_FUA	0x08000000
#define BUF_ISREAD(bp)	(((bp)->b_flags & B_READ) == B_READ)
#define BUF_ISWRITE(bp)	(((bp)->b_flags & B_READ) == B_WRITE)
void	biodone(struct buf *);
int	biowait(struct buf *);
struct buf *getiobuf(struct vnode *, bool);
void	putiobuf(struct buf *);

/* vnodeops(9), disk cache sync; v_rdev in miscfs/specfs/specdev.h */
struct specnode {
	dev_t		 sn_rdev;
};
struct vnode {
	struct specnode	*v_specnode;
};
struct kauth_cred;
typedef struct kauth_cred *kauth_cred_t;
kauth_cred_t kauth_cred_get(void);
#define DIOCCACHESYNC	0x80046476
int	VOP_STRATEGY(struct vnode *, struct buf *);
int	VOP_IOCTL(struct vnode *, unsigned long, void *, int, kauth_cred_t);

/* module(9) */
typedef enum { MODULE_CMD_INIT, MODULE_CMD_FINI, MODULE_CMD_STAT } modcmd_t;
#define MODULE_CLASS_MISC	1
#define MODULE(class, name, required)					\
	static int name##_modcmd(modcmd_t, void *);			\
	const void *name##_modinfo_required = (required);		\
	int (*name##_modinfo_cmd)(modcmd_t, void *) = name##_modcmd

#endif /* DMM_NETBSD_API_H */
