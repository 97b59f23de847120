/*
 * The crash workload: writes numbered 4 KiB records to a block device
 * with O_DIRECT, each followed by fdatasync, and prints "ack N" on stdout
 * once record N is durable. Records and their places are those of
 * `mirrorctl debug workload` (mirrorctl/src/records.rs), so that the host
 * checks them with `mirrorctl debug verify`.
 *
 * Usage: recwrite DEVICE SEED SPAN_BYTES COUNT [BASE_BYTES]
 * (BASE_BYTES: where the mirrored data starts, for tests on a bare leg).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "records.h"

int
main(int argc, char **argv)
{
	uint64_t seed, span, count, n, base;
	uint8_t *buf;
	int fd;

	if (argc != 5 && argc != 6) {
		fprintf(stderr,
		    "usage: recwrite DEVICE SEED SPAN_BYTES COUNT [BASE_BYTES]\n");
		return (2);
	}
	seed = strtoull(argv[2], NULL, 0);
	span = strtoull(argv[3], NULL, 0) / 512;
	count = strtoull(argv[4], NULL, 0);
	base = argc == 6 ? strtoull(argv[5], NULL, 0) : 0;
	if (span < RECORD_SECTORS) {
		fprintf(stderr, "recwrite: span too small\n");
		return (2);
	}
	fd = open(argv[1], O_WRONLY | O_DIRECT);
	if (fd < 0 || posix_memalign((void **)&buf, 4096, RECORD_BYTES) != 0) {
		perror(argv[1]);
		return (1);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (n = 0; n < count; n++) {
		record(seed, n, buf);
		if (pwrite(fd, buf, RECORD_BYTES,
		    (off_t)(base + record_sector(span, n) * 512)) != RECORD_BYTES ||
		    fdatasync(fd) != 0) {
			perror("write");
			return (1);
		}
		printf("ack %llu\n", (unsigned long long)n);
	}
	return (0);
}
