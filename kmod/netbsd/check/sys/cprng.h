#include "../netbsd-api.h"
