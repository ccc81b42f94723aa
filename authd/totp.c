/* placeholder: see totp.h (being written) */
#include "totp.h"
