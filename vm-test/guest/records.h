/*
 * The crash workload's records, shared by the Linux guest's recwrite and the
 * DragonFly guest's driver: numbered 4 KiB records at the places of
 * `mirrorctl debug workload` (mirrorctl/src/records.rs), so that the host
 * checks them with `mirrorctl debug verify`. The includer provides
 * uint64_t, uint8_t, size_t and memcpy.
 */
#ifndef DMM_RECORDS_H
#define DMM_RECORDS_H

#define RECORD_BYTES	4096
#define RECORD_SECTORS	8

static inline uint64_t
splitmix(uint64_t *x)
{
	uint64_t z;

	*x += 0x9e3779b97f4a7c15ULL;
	z = *x;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

static inline uint64_t
gcd(uint64_t a, uint64_t b)
{
	return (b == 0 ? a : gcd(b, a % b));
}

static inline void
record(uint64_t seed, uint64_t n, uint8_t *b)
{
	uint64_t x = seed ^ ((n << 32) | (n >> 32)), v;
	size_t i;

	memcpy(b, "DMMREC01", 8);
	memcpy(b + 8, &n, 8);
	memcpy(b + 16, &seed, 8);
	for (i = 24; i < RECORD_BYTES; i += 8) {
		v = splitmix(&x);
		memcpy(b + i, &v, RECORD_BYTES - i < 8 ? RECORD_BYTES - i : 8);
	}
}

/* Bytes that depend on their offset and the seed only (len: whole words). */
static inline void
pattern(uint8_t *buf, size_t len, uint64_t seed, uint64_t offset)
{
	uint64_t x, v;
	size_t i;

	for (i = 0; i < len; i += 8) {
		x = seed ^ ((offset + i) * 0x9e3779b97f4a7c15ULL);
		v = splitmix(&x);
		memcpy(buf + i, &v, 8);
	}
}

static inline uint64_t
record_sector(uint64_t sectors, uint64_t n)
{
	uint64_t slots = sectors / RECORD_SECTORS;
	uint64_t stride = 1000003 % (slots ? slots : 1);

	while (stride > 1 && gcd(stride, slots) != 1)
		stride--;
	if (stride == 0)
		stride = 1;
	return ((n * stride) % slots * RECORD_SECTORS);
}

#endif
