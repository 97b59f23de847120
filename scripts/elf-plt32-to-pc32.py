#!/usr/bin/env python3
"""Rewrites R_X86_64_PLT32 relocations to R_X86_64_PC32 in an ELF64
relocatable object, in place, and prints how many.

In a kernel module there is no PLT: a PLT32 relocation resolves to the
symbol itself (L = S), which is what PC32 says. Linux and DragonFly apply
both; NetBSD's amd64 kobj loader (sys/arch/amd64/amd64/kobj_machdep.c)
applies PC32 but refuses PLT32, which rustc emits for calls.

Usage: elf-plt32-to-pc32.py OBJECT
"""
import struct
import sys

SHT_RELA = 4
R_X86_64_PC32 = 2
R_X86_64_PLT32 = 4


def main(path):
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            sys.exit(f"{path}: not a little-endian ELF64 object")
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
        changed = 0
        for i in range(shnum):
            sh = shoff + i * shentsize
            sh_type, = struct.unpack_from("<I", data, sh + 4)
            if sh_type != SHT_RELA:
                continue
            offset, size = struct.unpack_from("<QQ", data, sh + 0x18)
            entsize, = struct.unpack_from("<Q", data, sh + 0x38)
            if entsize != 24:
                sys.exit(f"{path}: RELA section {i} has entries of {entsize} bytes")
            for r in range(offset, offset + size, entsize):
                info, = struct.unpack_from("<Q", data, r + 8)
                if info & 0xFFFFFFFF == R_X86_64_PLT32:
                    struct.pack_into("<Q", data, r + 8, (info & ~0xFFFFFFFF) | R_X86_64_PC32)
                    changed += 1
        f.seek(0)
        f.write(data)
    print(f"{path}: {changed} PLT32 relocations now PC32")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
