/* Compile-check fixture: v_rdev as sys/miscfs/specfs/specdev.h defines it. */
#include "../../netbsd-api.h"
#define v_rdev		v_specnode->sn_rdev
