/*
 * The rig's disks: see faultdisk.h. Linked with -Wl,--wrap for
 * rumpuser_bio, rumpuser_syncfd and rumpuser_putchar, so that the rump
 * kernel's own block driver (rumpblk) reaches the host through here.
 *
 * The write cache model: a write lands in the file at once (reads see it,
 * as a disk's cache serves them) and is remembered until a flush covers
 * it; a flush covers the writes whose completion was delivered before it,
 * as a disk's flush covers commands it completed. What a covered write
 * replaced stops mattering; the durable contents of every sector still
 * under an uncovered write are kept aside. A power loss writes those back
 * and keeps each uncovered write by a coin (the cache wrote some back).
 * rumpblk marks every buf nobody set B_ASYNC on as RUMPUSER_BIO_SYNC; a
 * real driver makes no FUA of that, so the model ignores it.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* This file is part of the hypervisor side, as librumpuser is. */
#define LIBRUMPUSER
#include <rump/rumpuser.h>

#include "faultdisk.h"
#include "../../guest/records.h"	/* splitmix */

/* rig/softint.c: the kernel delivers it in a soft interrupt. */
void	rumpns_dmmrig_complete(rump_biodone_fn, void *, size_t, int);

#define SECTOR		512
#define BUCKETS		4096
#define CONSOLE_LINES	8192
#define CONSOLE_WIDTH	240

extern struct rumpuser_hyperup rumpuser__hyp;
void	__real_rumpuser_bio(int, int, void *, size_t, int64_t,
	    rump_biodone_fn, void *);
int	__real_rumpuser_syncfd(int, int, uint64_t, uint64_t);
void	__real_rumpuser_putchar(int);
void	__wrap_rumpuser_bio(int, int, void *, size_t, int64_t,
	    rump_biodone_fn, void *);
int	__wrap_rumpuser_syncfd(int, int, uint64_t, uint64_t);
void	__wrap_rumpuser_putchar(int);

/* A write the cache holds: not yet covered by a flush. */
struct cached {
	struct cached	*next;
	int64_t		 off;
	size_t		 len;
	int		 completed;	/* its completion was delivered */
	uint8_t		*data;
};

/* A sector's durable contents while some cached write covers it. */
struct durable {
	struct durable	*next;
	int64_t		 sector;
	uint8_t		 data[SECTOR];
};

struct leg {
	int		 used;
	char		 path[512];
	dev_t		 dev;
	ino_t		 ino;
	int		 fd;		/* the rump kernel's, once seen */
	int		 fail, short_io, sync_errno;
	struct cached	*head, *tail;
	struct durable	*buckets[BUCKETS];
	struct disk_stats	 st;
};

/* A completion waiting for its time. */
struct completion {
	struct completion *next;
	uint64_t	 due_ns;
	rump_biodone_fn	 done;
	void		*arg;
	size_t		 count;
	int		 error;
	struct cached	*write;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queued = PTHREAD_COND_INITIALIZER;
static struct leg legs[DISK_MAX_LEGS];
static struct completion *queue;
static pthread_t completer;
static int completer_started, cache_on, powered_off;
static unsigned delay_max_us;
static uint64_t delay_rng = 1;
/*
 * NBTEST_BREAK, to prove a scenario can fail: "flush-lies" (a flush
 * covers nothing, as a disk that lies about its cache), "drop-writes"
 * (leg 1 acknowledges writes it never makes).
 */
static int flush_lies = -1, drop_writes;

static pthread_mutex_t console_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t console_line = PTHREAD_COND_INITIALIZER;
static char console[CONSOLE_LINES][CONSOLE_WIDTH];
static unsigned console_n, console_col;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}


void
disk_add_leg(int leg, const char *path)
{
	struct stat st;

	if (leg < 0 || leg >= DISK_MAX_LEGS || stat(path, &st) != 0) {
		fprintf(stderr, "faultdisk: leg %d: cannot stat %s\n", leg, path);
		exit(2);
	}
	pthread_mutex_lock(&lock);
	legs[leg].used = 1;
	snprintf(legs[leg].path, sizeof(legs[leg].path), "%s", path);
	legs[leg].dev = st.st_dev;
	legs[leg].ino = st.st_ino;
	legs[leg].fd = -1;
	pthread_mutex_unlock(&lock);
}

void
disk_set(int leg, enum disk_knob knob, int value)
{
	pthread_mutex_lock(&lock);
	if (knob == DISK_FAIL)
		legs[leg].fail = value;
	else if (knob == DISK_SHORT)
		legs[leg].short_io = value;
	else
		legs[leg].sync_errno = value;
	pthread_mutex_unlock(&lock);
}

void
disk_delay(unsigned max_us, uint64_t seed)
{
	pthread_mutex_lock(&lock);
	delay_max_us = max_us;
	delay_rng = seed;
	pthread_mutex_unlock(&lock);
}

void
disk_cache(int on)
{
	pthread_mutex_lock(&lock);
	cache_on = on;
	pthread_mutex_unlock(&lock);
}

void
disk_stats(int leg, struct disk_stats *s)
{
	pthread_mutex_lock(&lock);
	*s = legs[leg].st;
	pthread_mutex_unlock(&lock);
}

/* The leg behind a file descriptor of the rump kernel, or NULL. */
static struct leg *
leg_of(int fd)
{
	struct stat st;
	int i;

	for (i = 0; i < DISK_MAX_LEGS; i++)
		if (legs[i].used && legs[i].fd == fd)
			return (&legs[i]);
	if (fstat(fd, &st) != 0)
		return (NULL);
	for (i = 0; i < DISK_MAX_LEGS; i++) {
		if (legs[i].used && legs[i].dev == st.st_dev &&
		    legs[i].ino == st.st_ino) {
			legs[i].fd = fd;
			return (&legs[i]);
		}
	}
	return (NULL);
}

static struct durable **
bucket(struct leg *l, int64_t sector)
{
	return (&l->buckets[(uint64_t)sector % BUCKETS]);
}

static struct durable *
durable_find(struct leg *l, int64_t sector)
{
	struct durable *d;

	for (d = *bucket(l, sector); d != NULL; d = d->next)
		if (d->sector == sector)
			return (d);
	return (NULL);
}

/* Before a cached write: the durable contents of the sectors it covers. */
static void
keep_durable(struct leg *l, int64_t off, size_t len)
{
	struct durable *d;
	int64_t s;

	for (s = off / SECTOR; s < (off + (int64_t)len + SECTOR - 1) / SECTOR; s++) {
		if (durable_find(l, s) != NULL)
			continue;
		d = calloc(1, sizeof(*d));
		d->sector = s;
		if (pread(l->fd, d->data, SECTOR, s * SECTOR) < 0)
			abort();
		d->next = *bucket(l, s);
		*bucket(l, s) = d;
	}
}

static void
durable_clear(struct leg *l)
{
	struct durable *d, *next;
	int i;

	for (i = 0; i < BUCKETS; i++) {
		for (d = l->buckets[i]; d != NULL; d = next) {
			next = d->next;
			free(d);
		}
		l->buckets[i] = NULL;
	}
}

/* A flush: every completed cached write becomes durable. */
static void
cover_completed(struct leg *l)
{
	struct cached **pp = &l->head, *c;
	struct durable *d;
	int64_t s;
	size_t at;

	l->tail = NULL;
	while ((c = *pp) != NULL) {
		if (!c->completed) {
			l->tail = c;
			pp = &c->next;
			continue;
		}
		for (at = 0; at < c->len; at += SECTOR) {
			s = (c->off + (int64_t)at) / SECTOR;
			if ((d = durable_find(l, s)) != NULL)
				memcpy(d->data, c->data + at, SECTOR);
		}
		*pp = c->next;
		free(c->data);
		free(c);
		l->st.cached--;
	}
	if (l->head == NULL)
		durable_clear(l);
}

static void *
complete_loop(void *arg)
{
	struct completion *c;
	struct timespec ts;
	uint64_t now;
	int nlocks;

	(void)arg;
	/* A rump kernel thread, as librumpuser's own I/O thread is. */
	rumpuser__hyp.hyp_schedule();
	rumpuser__hyp.hyp_lwproc_newlwp(0);
	rumpuser__hyp.hyp_unschedule();
	pthread_mutex_lock(&lock);
	for (;;) {
		now = now_ns();
		if (queue == NULL || powered_off || queue->due_ns > now) {
			if (queue == NULL || powered_off) {
				pthread_cond_wait(&queued, &lock);
			} else {
				ts.tv_sec = (time_t)(queue->due_ns / 1000000000ULL);
				ts.tv_nsec = (long)(queue->due_ns % 1000000000ULL);
				pthread_cond_timedwait(&queued, &lock, &ts);
			}
			continue;
		}
		c = queue;
		queue = c->next;
		if (c->write != NULL)
			c->write->completed = 1;
		pthread_mutex_unlock(&lock);
		rumpuser__hyp.hyp_backend_schedule(0, NULL);
		rumpns_dmmrig_complete(c->done, c->arg, c->count, c->error);
		rumpuser__hyp.hyp_backend_unschedule(0, &nlocks, NULL);
		free(c);
		pthread_mutex_lock(&lock);
	}
	return (NULL);
}

/* Queued in due order; without a delay, in submission order. */
static void
enqueue(rump_biodone_fn done, void *arg, size_t count, int error,
    struct cached *w)
{
	struct completion *c, **pp;
	pthread_condattr_t attr;

	c = calloc(1, sizeof(*c));
	c->done = done;
	c->arg = arg;
	c->count = count;
	c->error = error;
	c->write = w;
	c->due_ns = now_ns();
	if (delay_max_us > 0)
		c->due_ns += splitmix(&delay_rng) % delay_max_us * 1000ULL;
	for (pp = &queue; *pp != NULL && (*pp)->due_ns <= c->due_ns;
	    pp = &(*pp)->next)
		;
	c->next = *pp;
	*pp = c;
	if (!completer_started) {
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&queued, &attr);
		pthread_create(&completer, NULL, complete_loop, NULL);
		completer_started = 1;
	}
	pthread_cond_signal(&queued);
}

static void
read_break(void)
{
	const char *b = getenv("NBTEST_BREAK");

	if (flush_lies >= 0)
		return;
	if (b != NULL && *b == '\0')
		b = NULL;
	flush_lies = b != NULL && strcmp(b, "flush-lies") == 0;
	drop_writes = b != NULL && strcmp(b, "drop-writes") == 0;
	if (b != NULL)
		fprintf(stderr, "faultdisk: broken on purpose: %s\n", b);
}

static void
leg_io(struct leg *l, int op, void *data, size_t dlen, int64_t off,
    rump_biodone_fn done, void *arg)
{
	struct cached *w = NULL;
	size_t len = dlen;
	ssize_t n;

	if (drop_writes && l == &legs[1] && (op & RUMPUSER_BIO_WRITE) &&
	    off >= 1024 * 1024) {	/* data, not metadata: a silent loss */
		l->st.writes++;
		enqueue(done, arg, dlen, 0, NULL);
		return;
	}

	if (l->fail) {
		l->st.failed++;
		enqueue(done, arg, 0, NB_EIO, NULL);
		return;
	}
	if (l->short_io) {
		len = dlen / 2 / SECTOR * SECTOR;
		l->st.short_done++;
	}
	if (op & RUMPUSER_BIO_READ) {
		l->st.reads++;
		n = pread(l->fd, data, len, off);
	} else {
		l->st.writes++;
		if (cache_on && l->sync_errno == 0 && len > 0) {
			keep_durable(l, off, len);
			w = calloc(1, sizeof(*w));
			w->off = off;
			w->len = len;
			w->data = malloc(len);
			memcpy(w->data, data, len);
			if (l->tail != NULL)
				l->tail->next = w;
			else
				l->head = w;
			l->tail = w;
			l->st.cached++;
		}
		n = pwrite(l->fd, data, len, off);
	}
	enqueue(done, arg, n < 0 ? 0 : (size_t)n, n < 0 ? NB_EIO : 0, w);
}

void
__wrap_rumpuser_bio(int fd, int op, void *data, size_t dlen, int64_t off,
    rump_biodone_fn done, void *arg)
{
	struct leg *l;

	pthread_mutex_lock(&lock);
	read_break();
	if (powered_off) {		/* never completes: the power is off */
		pthread_mutex_unlock(&lock);
		return;
	}
	if ((l = leg_of(fd)) == NULL) {
		pthread_mutex_unlock(&lock);
		__real_rumpuser_bio(fd, op, data, dlen, off, done, arg);
		return;
	}
	leg_io(l, op, data, dlen, off, done, arg);
	pthread_mutex_unlock(&lock);
}

int
__wrap_rumpuser_syncfd(int fd, int flags, uint64_t start, uint64_t len)
{
	struct leg *l;
	int error = 0;

	pthread_mutex_lock(&lock);
	read_break();
	if ((l = leg_of(fd)) == NULL) {
		pthread_mutex_unlock(&lock);
		return (__real_rumpuser_syncfd(fd, flags, start, len));
	}
	if (powered_off)
		error = NB_EIO;
	else if (l->fail)
		error = NB_EIO;
	else if (l->sync_errno != 0)
		error = l->sync_errno;
	else {
		l->st.flushes++;
		if (!flush_lies)
			cover_completed(l);
	}
	pthread_mutex_unlock(&lock);
	return (error);
}

void
disk_power_loss(uint64_t seed)
{
	struct cached *c;
	struct durable *d;
	struct leg *l;
	int i, b;

	pthread_mutex_lock(&lock);
	powered_off = 1;
	for (i = 0; i < DISK_MAX_LEGS; i++) {
		l = &legs[i];
		if (!l->used || l->fd < 0)
			continue;
		for (b = 0; b < BUCKETS; b++)
			for (d = l->buckets[b]; d != NULL; d = d->next)
				if (pwrite(l->fd, d->data, SECTOR,
				    d->sector * SECTOR) != SECTOR)
					abort();
		for (c = l->head; c != NULL; c = c->next) {
			if (splitmix(&seed) & 1) {
				if (pwrite(l->fd, c->data, c->len, c->off) !=
				    (ssize_t)c->len)
					abort();
			} else
				l->st.dropped++;
		}
		fsync(l->fd);
	}
	pthread_mutex_unlock(&lock);
}

/* ---- the console ---- */

void
__wrap_rumpuser_putchar(int ch)
{
	pthread_mutex_lock(&console_lock);
	if (ch == '\n') {
		console[console_n % CONSOLE_LINES][console_col] = '\0';
		fprintf(stdout, "%s\n", console[console_n % CONSOLE_LINES]);
		fflush(stdout);
		console_n++;
		console_col = 0;
		pthread_cond_broadcast(&console_line);
	} else if (console_col + 1 < CONSOLE_WIDTH) {
		console[console_n % CONSOLE_LINES][console_col++] = (char)ch;
	}
	pthread_mutex_unlock(&console_lock);
}

static int
console_has_locked(const char *text)
{
	unsigned i, first;

	first = console_n > CONSOLE_LINES ? console_n - CONSOLE_LINES : 0;
	for (i = first; i < console_n; i++)
		if (strstr(console[i % CONSOLE_LINES], text) != NULL)
			return (1);
	return (0);
}

int
console_has(const char *text)
{
	int r;

	pthread_mutex_lock(&console_lock);
	r = console_has_locked(text);
	pthread_mutex_unlock(&console_lock);
	return (r);
}

int
console_wait(const char *text, unsigned ms)
{
	struct timespec ts;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&console_lock);
	while (!(r = console_has_locked(text)))
		if (pthread_cond_timedwait(&console_line, &console_lock,
		    &ts) != 0)
			break;
	r = console_has_locked(text);
	pthread_mutex_unlock(&console_lock);
	return (r);
}
