#!/usr/bin/env bash
# Builds a DragonFly sysroot from the tree make dragonfly-test boots: the
# headers, the C runtime objects, and libc, libm, libpthread (thread_xu),
# libutil built with clang and the tree's own bsd.lib.mk; what Rust's std
# links and the tree does not hold (librt, libexecinfo, libkvm) as empty
# archives, libgcc and its unwinder from the host's gcc (the same x86_64
# ELF code). Cached outside the clone, keyed by its inputs; prints the
# sysroot's path. Used by scripts/mirrorctl-dragonfly.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=vm-test/dragonfly
cache=${DMM_CACHE:-/var/cache/dm-mirror}
say() { echo "dragonfly-userland: $*" >&2; }
dfly=$("$here/build.sh" tree)
tarball=${DFLY_TARBALL:-../shared/third_party/dragonfly/dragonfly-src-f875a8e.tar.gz}
key=$(cat "$tarball" "$here/tree-fix.sh" "$0" | sha256sum | cut -c1-16)
out=$cache/dragonfly-userland-$key
sysroot=$out/sysroot
if [ -f "$out/.done" ]; then
	echo "$sysroot"
	exit 0
fi
rm -rf "$out" && mkdir -p "$sysroot/usr/include" "$sysroot/usr/lib" "$out/bin" "$out/obj"
inc=$sysroot/usr/include
sys=$dfly/sys

say "staging the headers"
cp "$dfly"/include/*.h "$inc/"
for d in arpa protocols rpc rpcsvc xlocale; do
	mkdir -p "$inc/$d" && cp "$dfly/include/$d"/*.h "$inc/$d/" 2>/dev/null || true
done
for d in net netinet netinet6 sys vm libprop dev/disk/dm vfs/ufs bus/cam bus/cam/scsi net/if_clone net/altq; do
	[ -d "$sys/$d" ] || continue
	mkdir -p "$inc/$d" && cp "$sys/$d"/*.h "$inc/$d/" 2>/dev/null || true
done
mkdir -p "$inc/machine" "$inc/cpu" "$inc/prop"
cp "$sys"/cpu/x86_64/include/*.h "$inc/cpu/"
cp "$sys"/platform/pc64/include/*.h "$inc/machine/"
for h in "$sys"/cpu/x86_64/include/*.h; do
	b=$(basename "$h")
	[ -e "$inc/machine/$b" ] || printf '#include <cpu/%s>\n' "$b" > "$inc/machine/$b"
done
for h in aio.h errno.h fcntl.h linker_set.h poll.h sched.h syslog.h ucontext.h; do
	ln -sf "sys/$h" "$inc/$h"
done
cp "$sys"/libprop/*.h "$inc/prop/"
ln -sf ieeefp.h "$inc/floatingpoint.h"
printf '#undef __DragonFly_version\n#define __DragonFly_version 500901\n' > "$inc/osreldate.h"
libm=$dfly/contrib/openbsd_libm/include
cp "$libm"/global/{complex,fenv,math,tgmath}.h "$inc/"
cp "$libm"/amd64/{fenv,ieee}.h "$inc/machine/"
cp "$dfly"/lib/libutil/{libutil,login_cap}.h "$inc/" && ln -sf libutil.h "$inc/util.h"
(cd "$inc/rpc" && cp "$dfly/include/rpc/rpcb_prot.x" . && rpcgen -C -h -o rpcb_prot.h rpcb_prot.x)
(cd "$inc/rpcsvc" && cp "$dfly"/include/rpcsvc/*.x . &&
	for x in *.x; do rpcgen -C -h -o "${x%.x}.h" "$x" 2> /dev/null || true; done)
cp "$inc/rpcsvc/key_prot.h" "$inc/rpc/key_prot.h"

# Tools bsd.lib.mk expects of a BSD host: lorder (any order will do: GNU
# ar indexes the archive) and a tsort that takes -q.
printf '#!/bin/sh\nfor f; do echo "$f $f"; done\n' > "$out/bin/lorder"
printf '#!/bin/sh\n[ "$1" = -q ] && shift\nexec /usr/bin/tsort "$@"\n' > "$out/bin/tsort"
ln -sf /usr/bin/bmake "$out/bin/make"
chmod +x "$out/bin"/*
export PATH=$out/bin:$PATH
cc="clang --target=x86_64-unknown-dragonfly --sysroot=$sysroot"
mk=(bmake -m "$dfly/share/mk" MACHINE_PLATFORM=pc64 MACHINE=x86_64 MACHINE_ARCH=x86_64
	CCVER=clang NO_WERROR=1 WARNS=0 NOPIC=1 NOPROFILE=1 NOMAN=1 NOSHARED=1 DESTDIR="$sysroot"
	"CC=$cc" "CPP=$cc -E" MAKEOBJDIRPREFIX="$out/obj")

say "building the C runtime objects"
csu=$dfly/lib/csu
$cc -O2 -c -I"$csu/common" -I"$dfly/lib/libc/include" -fno-omit-frame-pointer \
	-fno-asynchronous-unwind-tables -o "$sysroot/usr/lib/crt1.o" "$csu/x86_64/crt1.c"
$cc -c -o "$sysroot/usr/lib/crti.o" "$csu/x86_64/crti.S"
$cc -c -o "$sysroot/usr/lib/crtn.o" "$csu/x86_64/crtn.S"
# No constructors need gcc's crtbegin/crtend here: empty ones.
: | $cc -x c -c -o "$sysroot/usr/lib/crtbegin.o" -
: | $cc -x c -c -o "$sysroot/usr/lib/crtend.o" -
cp "$sysroot/usr/lib/crtbegin.o" "$sysroot/usr/lib/crtbeginT.o"

# The tarball holds libc without two of its contributed parts: gdtoa
# (floating-point conversions) and tre (regular expressions). libc builds
# from a shadow tree without them: a header declaring the conversions
# stdio calls, and stubs that abort, so a program that formats or parses
# a floating-point number through libc fails loudly (Rust formats its
# own; mirrorctl calls neither).
src=$out/src
mkdir -p "$src/lib"
for e in "$dfly"/*; do [ "$(basename "$e")" = lib ] || ln -s "$e" "$src/"; done
for e in "$dfly"/lib/*; do
	case $(basename "$e") in libc | libthread_xu) cp -r "$e" "$src/lib/" ;; *) ln -s "$e" "$src/lib/" ;; esac
done
sed -i '/libc\/gdtoa\/Makefile.inc/d; /libc\/tre-regex\/Makefile.inc/d' "$src/lib/libc/Makefile.inc"
sed -i '/strtorx.c/d; /machdep_ldisx.c/d' "$src/lib/libc/x86_64/Makefile.inc"
sed -i 's/ rpmatch\.c / /' "$src/lib/libc/locale/Makefile.inc" # the one user of regex
printf 'SRCS+=\tno_gdtoa.c\n' >> "$src/lib/libc/Makefile.inc"
cat > "$src/lib/libc/stdio/gdtoa.h" <<'H'
/* dm-mirror's sysroot: gdtoa is not in the tree (userland.sh). */
char	*__dtoa(double, int, int, int *, int *, char **);
char	*__hdtoa(double, const char *, int, int *, int *, char **);
char	*__hldtoa(long double, const char *, int, int *, int *, char **);
char	*__ldtoa(long double *, int, int, int *, int *, char **);
void	 __freedtoa(char *);
H
cat > "$src/lib/libc/no_gdtoa.c" <<'C'
/* dm-mirror's sysroot: gdtoa and tre are not in the tree (userland.sh). */
void abort(void) __attribute__((__noreturn__));
#define NONE(name) void name(void); void name(void) { abort(); }
NONE(__dtoa) NONE(__hdtoa) NONE(__hldtoa) NONE(__ldtoa) NONE(__freedtoa)
NONE(strtod) NONE(strtof) NONE(strtod_l) NONE(strtof_l) NONE(strtold_l)
C

# libthread_xu: its hooks for the dynamic linker's locks need rtld's
# headers, not in the tree; a static program has no dynamic linker.
sed -i 's/^\tthr_rtld\.c \\$/\tthr_no_rtld.c \\/' "$src/lib/libthread_xu/thread/Makefile.inc"
grep -q thr_no_rtld "$src/lib/libthread_xu/thread/Makefile.inc" || { say "thr_rtld.c not found"; exit 1; }
printf 'void _thr_rtld_init(void);\nvoid _thr_rtld_init(void) {}\n' > "$src/lib/libthread_xu/thread/thr_no_rtld.c"
# (thr_malloc.c includes rtld_lock.h and uses nothing of it.)
: > "$src/lib/libthread_xu/thread/rtld_lock.h"
# It also includes the debugger interface's types from libthread_db,
# which the tree does not hold: the few it uses (its events stay off).
cat > "$inc/thread_db.h" <<'H'
/* dm-mirror's sysroot: libthread_db is not in the tree (userland.sh). */
typedef int td_thr_events_t;
typedef enum { TD_CREATE = 0x1, TD_DEATH = 0x2 } td_event_e;
typedef struct td_thrhandle td_thrhandle_t;
typedef struct {
	td_event_e	 event;
	td_thrhandle_t	*th_p;
	unsigned long	 data;
} td_event_msg_t;
#define td_eventismember(set, n) ((*(set) & (n)) != 0)
H

for lib in libc libm libthread_xu libutil; do
	say "building $lib (clang, the tree's bsd.lib.mk)"
	(cd "$src/lib/$lib" && "${mk[@]}" obj > "$out/$lib.log" 2>&1 &&
		"${mk[@]}" -j"$(($(nproc) + 1))" "$lib.a" >> "$out/$lib.log" 2>&1) ||
		{ tail -n 40 "$out/$lib.log"; say "$lib failed ($out/$lib.log)"; exit 1; }
	find "$out/obj" -name "$lib.a" -o -name "${lib#lib}.a" | head -n 1 | grep -q . ||
		{ say "no $lib.a"; exit 1; }
done
obj() { find "$out/obj" -name "$1" | head -n 1; }
cp "$(obj libc.a)" "$(obj libm.a)" "$(obj libutil.a)" "$sysroot/usr/lib/"
cp "$(obj libthread_xu.a)" "$sysroot/usr/lib/libpthread.a"
ln -sf "$(gcc -print-libgcc-file-name)" "$sysroot/usr/lib/libgcc.a"
cp "$(gcc -print-file-name=libgcc_eh.a)" "$sysroot/usr/lib/libgcc_pic.a"
cp "$sysroot/usr/lib/libgcc_pic.a" "$sysroot/usr/lib/libgcc_eh.a"
for empty in rt execinfo kvm; do ar rc "$sysroot/usr/lib/lib$empty.a"; done
# What today's Rust std and gcc's unwinder call that this 2020 libc lacks
# (scripts/mirrorctl-dragonfly.sh links it with every program).
cat > "$out/compat.c" <<'C'
/* dm-mirror's sysroot: calls newer than the tree's libc (userland.sh). */
#include <errno.h>
#include <pthread.h>
#include <pthread_np.h>
#include <time.h>

int	pthread_setname_np(pthread_t, const char *);
int	clock_nanosleep(clockid_t, int, const struct timespec *, struct timespec *);
int	_dl_find_object(void *, void *);

int
pthread_setname_np(pthread_t thread, const char *name)
{
	pthread_set_name_np(thread, name);
	return (0);
}

/* Relative sleeps on any clock, absolute ones on the clock asked. */
int
clock_nanosleep(clockid_t clock, int flags, const struct timespec *t,
    struct timespec *left)
{
	struct timespec now, rel = *t;

	if (flags & TIMER_ABSTIME) {
		if (clock_gettime(clock, &now) != 0)
			return (errno);
		rel.tv_sec -= now.tv_sec;
		rel.tv_nsec -= now.tv_nsec;
		if (rel.tv_nsec < 0) {
			rel.tv_nsec += 1000000000L;
			rel.tv_sec--;
		}
		if (rel.tv_sec < 0)
			return (0);
		left = NULL;
	}
	return (nanosleep(&rel, left) == 0 ? 0 : errno);
}

/* glibc's; gcc's unwinder falls back to dl_iterate_phdr without it. */
int
_dl_find_object(void *pc, void *result)
{
	(void)pc;
	(void)result;
	return (-1);
}
C
$cc -O2 -c -o "$out/compat.o" "$out/compat.c"
ar rc "$sysroot/usr/lib/libdmm_compat.a" "$out/compat.o"
touch "$out/.done"
say "sysroot ready: $sysroot"
echo "$sysroot"
