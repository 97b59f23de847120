#!/usr/bin/env python3
"""Fixes GRUB 2.06's relocator64 (Debian 12): its `jmp *0(%rip)` reads the
target 4 bytes before grub_relocator64_rip, so every 64-bit kfreebsd boot
triple-faults. The displacement becomes 4. The pattern must occur once."""
import sys

path = sys.argv[1]
data = bytearray(open(path, "rb").read())
pattern = bytes.fromhex("48ba0000000000000000fcff2500000000")
if data.count(pattern) != 1:
    sys.exit("grub-fix: relocator64 pattern found %d times (another GRUB build?)" % data.count(pattern))
at = data.find(pattern) + 13
data[at:at + 4] = (4).to_bytes(4, "little")
open(path, "wb").write(data)
