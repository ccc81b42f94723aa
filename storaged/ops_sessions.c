/* The sessions family (ops 200-299): sessions, principals, invites, recovery
 * codes, OAuth, bootstrap status, server config. */
#include "ops.h"

const struct op_family ops_family_sessions = {NULL, 0};
