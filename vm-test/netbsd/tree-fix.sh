#!/usr/bin/env bash
# The one change the rig makes to the NetBSD tree before building the rump
# kernel: rumpblk answers DIOCCACHESYNC itself ("synced enough along the
# write path") and never tells the host. A real disk driver sends the
# flush to the disk; so does rumpblk after this, through the hypercall
# rumpuser_syncfd, which the rig's fault hook answers (a volatile write
# cache made durable, or "unsupported"). Usage: tree-fix.sh <src-netbsd>
set -euo pipefail
f=$1/sys/rump/librump/rumpvfs/rumpblk.c
python3 - "$f" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
old = "\t/* it's synced enough along the write path */\n\tcase DIOCCACHESYNC:\n\t\tbreak;\n"
new = ("\t/* dm-mirror rig: the flush reaches the host, as a disk's the disk */\n"
       "\tcase DIOCCACHESYNC:\n"
       "\t\terror = rumpuser_syncfd(rblk->rblk_fd, RUMPUSER_SYNCFD_WRITE,\n"
       "\t\t    0, 0);\n"
       "\t\tbreak;\n")
if s.count(old) != 1:
    sys.exit("tree-fix: rumpblk.c's DIOCCACHESYNC case not found")
open(p, "w").write(s.replace(old, new))
PY
