/* The notify family (ops 400-499). */
#include "ops.h"

const struct op_family ops_family_notify = {NULL, 0};
