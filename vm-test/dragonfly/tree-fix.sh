#!/usr/bin/env bash
# The one fix the 2020 DragonFly tree needs to boot: alst_radix_init()
# writes terminator records up to index 4368 of vm_contig_ameta[], which
# has 2193 (ALIST_RECORDS_65536), smashing vm_page_queues[] placed after
# it ("panic: zone: invalid zone" at boot). Applied to the cache's copy.
set -euo pipefail
f=$1/sys/vm/vm_page.c
sed -i 's/^static struct almeta vm_contig_ameta\[ALIST_RECORDS_65536\];/static struct almeta vm_contig_ameta[4369];/' "$f"
grep -q 'vm_contig_ameta\[4369\]' "$f"
