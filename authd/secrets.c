/* placeholder: see secrets.h (being written) */
#include "secrets.h"
