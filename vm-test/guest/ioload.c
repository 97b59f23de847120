/*
 * The kernel benchmark's load: THREADS threads, each with one O_DIRECT
 * request in flight at a time (so THREADS is the queue depth), for
 * SECONDS, over the first SPAN_BYTES of DEVICE. Prints one line:
 * "ops N seconds S iops I mbps M".
 *
 * Usage: ioload DEVICE MODE BS_BYTES THREADS SECONDS SPAN_BYTES
 *            [RATE [CHUNK_BYTES]]
 * MODE: seqwrite, randwrite, seqread, randread, mix70 (70% random
 * reads, 30% random writes), fsync (sequential writes, each followed by
 * fdatasync, one thread: a journal's records), streamwrite (one
 * sequential stream the threads share), hotwrite (90% of the writes to 1%
 * of the CHUNK_BYTES chunks, spread over the span; the rest anywhere).
 * RATE: requests per second over all threads at most (0: no limit).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS	64

struct load {
	const char	*dev;
	const char	*mode;
	uint64_t	 bs;
	uint64_t	 span;
	double		 seconds;
	int		 threads;
	double		 rate;
	uint64_t	 chunk;
	uint64_t	 stream;	/* streamwrite's next block (atomic) */
};

struct worker {
	const struct load *l;
	int		 index;
	uint64_t	 ops;
	int		 failed;
};

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec + t.tv_nsec / 1e9);
}

static uint64_t
next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (*s);
}

/* hotwrite: 90% to every hundredth chunk, at a random block in it. */
static uint64_t
hot_offset(const struct load *l, uint64_t *rng)
{
	uint64_t chunks = l->span / l->chunk, hot = chunks / 100;
	uint64_t per_chunk = l->chunk / l->bs;

	if (hot == 0)
		hot = 1;
	if (next_random(rng) % 10 < 9)
		return ((next_random(rng) % hot * (chunks / hot) * per_chunk +
		    next_random(rng) % per_chunk) * l->bs);
	return (next_random(rng) % (l->span / l->bs) * l->bs);
}

/* Waits for this thread's next slot under the rate limit. */
static void
pace(const struct load *l, double *next)
{
	struct timespec t;

	if (l->rate <= 0)
		return;
	*next += l->threads / l->rate;
	t.tv_sec = (time_t)*next;
	t.tv_nsec = (long)((*next - (double)t.tv_sec) * 1e9);
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
}

/* One request: its offset and whether it writes. */
static void
plan(struct worker *w, uint64_t *rng, uint64_t *cursor, uint64_t *off,
    int *write)
{
	const struct load *l = w->l;
	uint64_t blocks = l->span / l->bs;
	uint64_t share = blocks / (uint64_t)l->threads;

	if (strcmp(l->mode, "streamwrite") == 0) {
		*off = __atomic_fetch_add((uint64_t *)&l->stream, 1,
		    __ATOMIC_RELAXED) % blocks * l->bs;
	} else if (strcmp(l->mode, "hotwrite") == 0) {
		*off = hot_offset(l, rng);
	} else if (strncmp(l->mode, "seq", 3) == 0 ||
	    strcmp(l->mode, "fsync") == 0) {
		/* Each thread streams through its own part of the span. */
		*off = ((uint64_t)w->index * share + *cursor % share) * l->bs;
		(*cursor)++;
	} else
		*off = next_random(rng) % blocks * l->bs;
	if (strcmp(l->mode, "mix70") == 0)
		*write = next_random(rng) % 10 < 3;
	else
		*write = strstr(l->mode, "write") != NULL ||
		    strcmp(l->mode, "fsync") == 0;
}

/*
 * Each write's sectors say where, by whom and when they were written, so
 * that a leg that missed a write differs from the other.
 */
static void
stamp(uint8_t *buf, uint64_t bs, uint64_t off, int thread, uint64_t n)
{
	uint64_t s;

	for (s = 0; s < bs; s += 512) {
		memcpy(buf + s, &off, sizeof(off));
		memcpy(buf + s + 8, &thread, sizeof(thread));
		memcpy(buf + s + 16, &n, sizeof(n));
	}
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	const struct load *l = w->l;
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->index + 1);
	uint64_t cursor = 0, off;
	double next = now(), end = next + l->seconds;
	void *buf;
	int fd, write;

	fd = open(l->dev, O_RDWR | O_DIRECT);
	if (fd < 0 || posix_memalign(&buf, 4096, l->bs) != 0) {
		w->failed = 1;
		return (NULL);
	}
	memset(buf, 0x5a, l->bs);
	while (now() < end) {
		pace(l, &next);
		plan(w, &rng, &cursor, &off, &write);
		if (write)
			stamp(buf, l->bs, off, w->index, w->ops);
		if ((write ? pwrite(fd, buf, l->bs, (off_t)off) :
		    pread(fd, buf, l->bs, (off_t)off)) != (ssize_t)l->bs ||
		    (strcmp(l->mode, "fsync") == 0 && fdatasync(fd) != 0)) {
			w->failed = 1;
			break;
		}
		w->ops++;
	}
	close(fd);
	free(buf);
	return (NULL);
}

int
main(int argc, char **argv)
{
	static struct worker workers[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	struct load l;
	uint64_t ops = 0;
	double start, took;
	int i, failed = 0;

	if (argc < 7 || argc > 9) {
		fprintf(stderr, "usage: ioload DEVICE MODE BS_BYTES THREADS "
		    "SECONDS SPAN_BYTES [RATE [CHUNK_BYTES]]\n");
		return (2);
	}
	l.dev = argv[1];
	l.mode = argv[2];
	l.bs = strtoull(argv[3], NULL, 0);
	l.threads = atoi(argv[4]);
	l.seconds = atof(argv[5]);
	l.span = strtoull(argv[6], NULL, 0);
	l.rate = argc > 7 ? atof(argv[7]) : 0;
	l.chunk = argc > 8 ? strtoull(argv[8], NULL, 0) : 1048576;
	l.stream = 0;
	if (l.bs == 0 || l.bs % 512 != 0 || l.threads < 1 ||
	    l.threads > MAX_THREADS || l.span / l.bs < (uint64_t)l.threads ||
	    l.chunk < l.bs || l.chunk % l.bs != 0 || l.span < l.chunk) {
		fprintf(stderr, "ioload: bad arguments\n");
		return (2);
	}
	start = now();
	for (i = 0; i < l.threads; i++) {
		workers[i].l = &l;
		workers[i].index = i;
		pthread_create(&tid[i], NULL, run, &workers[i]);
	}
	for (i = 0; i < l.threads; i++) {
		pthread_join(tid[i], NULL);
		ops += workers[i].ops;
		failed |= workers[i].failed;
	}
	took = now() - start;
	if (failed) {
		fprintf(stderr, "ioload: an I/O failed\n");
		return (1);
	}
	printf("ops %llu seconds %.2f iops %.1f mbps %.2f\n",
	    (unsigned long long)ops, took, ops / took,
	    ops * (double)l.bs / took / 1e6);
	return (0);
}
