/* config: every knob is a KUBARR_* environment variable with a default that
 * works on a laptop.  A daemon declares a table of config_var; config_load
 * reads and validates them all (a bad value is a configuration error, exit 2),
 * config_log prints the effective configuration with secrets redacted. */
#ifndef KUBARR_CONFIG_H
#define KUBARR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum config_kind {
	CONFIG_STR,   /* any non-empty string */
	CONFIG_PATH,  /* a filesystem path */
	CONFIG_INT,   /* integer in [min, max] */
	CONFIG_BOOL,  /* 1/0, true/false, yes/no, on/off */
	CONFIG_ENUM,  /* one of choices, "a|b|c" */
	CONFIG_ADDR,  /* host:port (IPv4 dotted, [IPv6] or a name) */
};

#define CONFIG_SECRET 0x1u   /* never logged */
#define CONFIG_EMPTY_OK 0x2u /* the empty string is a valid value */

struct config_var {
	const char *name;    /* "KUBARR_DATA_DIR" */
	enum config_kind kind;
	const char *def;     /* default; may reference ${KUBARR_OTHER} declared earlier */
	const char *help;
	long long min, max;  /* CONFIG_INT bounds */
	const char *choices; /* CONFIG_ENUM */
	unsigned flags;

	/* filled by config_load */
	char *value;         /* effective text value (owned) */
	long long num;       /* CONFIG_INT, CONFIG_BOOL (0/1) */
	bool from_env;
};

struct config {
	struct config_var *vars;
	size_t n;
};

/* Reads every variable from the environment (or its default).  On error returns -1
 * and a message naming the variable in err_r (caller frees). */
int config_load(struct config *cfg, char **err_r);
void config_free(struct config *cfg);
/* Lookups abort on an unknown name: names are compile-time constants. */
const char *config_str(const struct config *cfg, const char *name);
long long config_int(const struct config *cfg, const char *name);
bool config_bool(const struct config *cfg, const char *name);
void config_log(const struct config *cfg);
void config_usage(const struct config *cfg, FILE *out);
/* "127.0.0.1:8080" -> host "127.0.0.1", port 8080 (host owned by caller). */
int config_parse_addr(const char *text, char **host_r, unsigned *port_r);

#endif
