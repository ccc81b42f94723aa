/* The core family: audit and settings. */
#include "ops.h"

static const struct op_def ops_core_table[] = {
	OPS_DEF(AUDIT_APPEND, audit_append, true, ops_audit_append),
	OPS_DEF(AUDIT_LIST, audit_list, false, ops_audit_list),
	OPS_DEF(AUDIT_STATS, audit_stats, false, ops_audit_stats),
	OPS_DEF(AUDIT_CLEAR, audit_clear, true, ops_audit_clear),
	OPS_DEF(SETTING_GET, setting_get, false, ops_setting_get),
	OPS_DEF(SETTING_SET, setting_set, true, ops_setting_set),
	OPS_DEF_AUTHD(SETTING_GET_SECRET, setting_get_secret, false, ops_setting_get_secret),
};

const struct op_family ops_family_core = {ops_core_table,
    sizeof(ops_core_table) / sizeof(ops_core_table[0])};
