/* placeholder: see password.h (being written) */
#include "password.h"
