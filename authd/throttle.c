/* placeholder: see throttle.h (being written) */
#include "throttle.h"
