/* The users family (ops 100-199): users, roles, permissions, preferences. */
#include "ops.h"

const struct op_family ops_family_users = {NULL, 0};
