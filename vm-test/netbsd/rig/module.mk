# The NetBSD module as a rump kernel component: the same sources as
# kmod/netbsd/Makefile (adapter, glue, the Rust core for the kernel),
# built by the rump tree's own make (brrumpmake) with Makefile.rump, which
# gives every kernel symbol its rumpns_ name. vm-test/netbsd/build.sh
# copies this file to build/netbsd/component/Makefile and runs it there.
# NetBSD's module framework registers it at rump_init (its MODULE()).
LIB=		rumpdev_dmmirror
SRCS=		dm_target_mirror.c dmm_glue.c dmm_admin.c dmm_bsd.c dmm_claim.c
.PATH:		${DMM_ROOT}/kmod/netbsd ${DMM_ROOT}/kmod/common
RUMPTOP=	${TOPRUMP}
CPPFLAGS+=	-I${RUMPTOP}/../dev/dm -I${DMM_ROOT}/kmod/common \
		-I${DMM_ROOT}/sys/include
# The core, prebuilt for the kernel, is one more object of the archive
# (renamed with the rest: its memcpy is the kernel's).
OBJS+=		dmmirror_core.o
CLEANFILES+=	dmmirror_core.o

dmmirror_core.o: ${DMM_CORE}
	cp ${DMM_CORE} ${.TARGET}

.include "${RUMPTOP}/Makefile.rump"
.include <bsd.lib.mk>
.include <bsd.klinks.mk>
