# The rig's own kernel part (rig/softint.c) as a rump component, built as
# rig/module.mk is; vm-test/netbsd/build.sh runs it in build/netbsd/rig.
LIB=		rumpdev_dmmrig
SRCS=		softint.c
.PATH:		${DMM_ROOT}/vm-test/netbsd/rig
RUMPTOP=	${TOPRUMP}
CPPFLAGS+=	-I${DMM_ROOT}/vm-test/netbsd/rig

.include "${RUMPTOP}/Makefile.rump"
.include <bsd.lib.mk>
.include <bsd.klinks.mk>
