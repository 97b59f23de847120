#!/usr/bin/env python3
"""Boots the DragonFly test guest once and writes its serial console to LOG.

    boot.py LOG TIMEOUT_S [--kill-after PATTERN COUNT] DISK...

DISK 0 is the control disk, the rest are legs (virtio: /dev/vbd0, vbd1...).
Exit status: 0 when the guest rebooted by itself (QEMU exits), 137 when it
was killed on purpose (--kill-after: once COUNT console lines start with
PATTERN), 124 on timeout, 3 when the kernel panicked or stopped in DDB: the
rig asks DDB for a backtrace first, so the log shows where. Never waits
longer than TIMEOUT_S.
"""
import os
import select
import subprocess
import sys
import time

PANIC_MARKS = (b"panic:", b"Fatal trap", b"DOUBLE FAULT", b"db> ")


def qemu_command(disks):
    cmd = ["qemu-system-x86_64", "-machine", "pc,accel=tcg", "-m", "1024",
           "-smp", "2", "-nographic", "-serial", "mon:stdio", "-no-reboot",
           "-cdrom", "build/dragonfly/dfly.iso", "-boot", "d"]
    for disk in disks:
        cmd += ["-drive", "file=%s,if=virtio,format=raw,cache=none,aio=threads" % disk]
    return cmd


def ask_ddb(proc, log, out):
    """Backtrace and registers from DDB, then the guest is stopped."""
    for command in (b"trace\r", b"show registers\r"):
        proc.stdin.write(command)
        proc.stdin.flush()
        end = time.time() + 10
        while time.time() < end:
            ready, _, _ = select.select([out], [], [], 0.5)
            if ready:
                data = os.read(out, 65536)
                if not data:
                    return
                log.write(data)


def main():
    args = sys.argv[1:]
    log_path, timeout = args[0], float(args[1])
    args = args[2:]
    kill_pattern, kill_count = None, 0
    if args and args[0] == "--kill-after":
        kill_pattern, kill_count = args[1].encode(), int(args[2])
        args = args[3:]
    proc = subprocess.Popen(qemu_command(args), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.fileno()
    seen, pending, deadline, status = 0, b"", time.time() + timeout, None
    tail = b""
    with open(log_path, "wb") as log:
        while status is None:
            if time.time() > deadline:
                log.write(b"\nboot.py: TIMEOUT after %d s\n" % timeout)
                status = 124
                break
            ready, _, _ = select.select([out], [], [], 0.2)
            if not ready:
                continue
            data = os.read(out, 65536)
            if not data:
                break
            log.write(data)
            log.flush()
            tail = (tail + data)[-4096:]
            if any(mark in tail for mark in PANIC_MARKS):
                if b"db> " not in tail:
                    time.sleep(3)  # let the panic message and DDB come up
                ask_ddb(proc, log, out)
                log.write(b"\nboot.py: PANIC (kernel panic or DDB prompt)\n")
                status = 3
                break
            if kill_pattern is not None:
                pending += data
                lines = pending.split(b"\n")
                pending = lines.pop()
                seen += sum(1 for l in lines if l.lstrip(b"\r").startswith(kill_pattern))
                if seen >= kill_count:
                    log.write(b"\nboot.py: KILLED after %d '%s' lines\n"
                              % (seen, kill_pattern))
                    status = 137
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    sys.exit(status if status is not None else 0)


if __name__ == "__main__":
    main()
