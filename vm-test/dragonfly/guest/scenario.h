/* The scenarios of the DragonFly guest driver (scenarios.c). */
#ifndef DFT_SCENARIO_H
#define DFT_SCENARIO_H

#include "rt.h"

struct run {
	const char	*name;
	uint64_t	 sectors;	/* the mirror's data size */
	const char	*args;		/* the rest of the control line */
};

struct scenario {
	const char	*name;
	int		(*run)(struct run *);
};

extern const struct scenario scenarios[];

/* Prints the reason and evaluates to 1 (a failed scenario's return). */
#define fail(fmt, ...) (out("RESULT FAIL " fmt "\n", ##__VA_ARGS__), 1)

#endif
