/* Unit tests for common/: config, xmalloc, log levels, time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

static struct config_var test_vars_template[] = {
	{.name = "KT_DIR", .kind = CONFIG_PATH, .def = "/base", .help = "dir"},
	{.name = "KT_SUB", .kind = CONFIG_PATH, .def = "${KT_DIR}/run", .help = "sub"},
	{.name = "KT_N", .kind = CONFIG_INT, .def = "5", .min = 1, .max = 10, .help = "n"},
	{.name = "KT_B", .kind = CONFIG_BOOL, .def = "yes", .help = "b"},
	{.name = "KT_E", .kind = CONFIG_ENUM, .def = "info", .choices = "debug|info|warn", .help = "e"},
	{.name = "KT_A", .kind = CONFIG_ADDR, .def = "127.0.0.1:8080", .help = "a"},
	{.name = "KT_S", .kind = CONFIG_STR, .def = "", .flags = CONFIG_SECRET | CONFIG_EMPTY_OK,
	    .help = "secret"},
};

static struct config_var test_vars[sizeof(test_vars_template) / sizeof(test_vars_template[0])];

static int
load(char **err_r)
{
	struct config cfg = {test_vars, sizeof(test_vars) / sizeof(test_vars[0])};

	memcpy(test_vars, test_vars_template, sizeof(test_vars));
	return config_load(&cfg, err_r);
}

static void
unset_all(void)
{
	for (size_t i = 0; i < sizeof(test_vars_template) / sizeof(test_vars_template[0]); i++)
		unsetenv(test_vars_template[i].name);
}

static void
config_free_vars(void)
{
	struct config cfg = {test_vars, sizeof(test_vars) / sizeof(test_vars[0])};

	config_free(&cfg);
}

static void
test_config_defaults(void **state)
{
	struct config cfg = {test_vars, sizeof(test_vars) / sizeof(test_vars[0])};
	char *err = NULL;

	(void)state;
	unset_all();
	assert_int_equal(load(&err), 0);
	assert_string_equal(config_str(&cfg, "KT_DIR"), "/base");
	assert_string_equal(config_str(&cfg, "KT_SUB"), "/base/run");
	assert_int_equal(config_int(&cfg, "KT_N"), 5);
	assert_true(config_bool(&cfg, "KT_B"));
	assert_false(test_vars[0].from_env);
	config_free_vars();
}

static void
test_config_env_overrides_and_expands(void **state)
{
	struct config cfg = {test_vars, sizeof(test_vars) / sizeof(test_vars[0])};
	char *err = NULL;

	(void)state;
	unset_all();
	setenv("KT_DIR", "/srv/k", 1);
	setenv("KT_N", "10", 1);
	setenv("KT_B", "off", 1);
	setenv("KT_A", "[::1]:9", 1);
	assert_int_equal(load(&err), 0);
	assert_string_equal(config_str(&cfg, "KT_SUB"), "/srv/k/run");
	assert_int_equal(config_int(&cfg, "KT_N"), 10);
	assert_false(config_bool(&cfg, "KT_B"));
	assert_true(test_vars[0].from_env);
	config_free_vars();
	unset_all();
}

static void
expect_error(const char *name, const char *value, const char *needle)
{
	char *err = NULL;

	unset_all();
	setenv(name, value, 1);
	assert_int_equal(load(&err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err, name));
	assert_non_null(strstr(err, needle));
	free(err);
	config_free_vars();
	unset_all();
}

static void
test_config_rejects_bad_values(void **state)
{
	(void)state;
	expect_error("KT_N", "abc", "not an integer");
	expect_error("KT_N", "11", "outside 1..10");
	expect_error("KT_N", "0", "outside");
	expect_error("KT_N", "5x", "not an integer");
	expect_error("KT_B", "maybe", "not a boolean");
	expect_error("KT_E", "verbose", "not one of");
	expect_error("KT_A", "nonsense", "not host:port");
	expect_error("KT_A", "host:99999", "not host:port");
	expect_error("KT_A", ":80", "not host:port");
	expect_error("KT_DIR", "", "must not be empty");
}

static void
test_config_parse_addr(void **state)
{
	char *host = NULL;
	unsigned port = 0;

	(void)state;
	assert_int_equal(config_parse_addr("0.0.0.0:80", &host, &port), 0);
	assert_string_equal(host, "0.0.0.0");
	assert_int_equal(port, 80);
	free(host);
	assert_int_equal(config_parse_addr("[fe80::1]:443", &host, &port), 0);
	assert_string_equal(host, "fe80::1");
	assert_int_equal(port, 443);
	free(host);
	assert_int_equal(config_parse_addr("::1:80", &host, &port), -1);
	assert_int_equal(config_parse_addr("a:-1", &host, &port), -1);
	assert_int_equal(config_parse_addr("a:", &host, &port), -1);
	assert_int_equal(config_parse_addr("[::1]80", &host, &port), -1);
}

static void
test_xmalloc_helpers(void **state)
{
	char *s;

	(void)state;
	s = xasprintf("%s-%d", "a", 42);
	assert_string_equal(s, "a-42");
	free(s);
	s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
}

static void
test_xmalloc_fail_hook_aborts(void **state)
{
	pid_t pid;
	int status = 0;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		void *a;

		xmalloc_fail_at(2);
		a = xmalloc(8); /* first: succeeds */
		(void)a;
		(void)xmalloc(8); /* second: fails, aborts */
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void
test_log_levels(void **state)
{
	enum log_level l;

	(void)state;
	assert_int_equal(log_level_parse("warn", &l), 0);
	assert_int_equal(l, LOG_LEVEL_WARN);
	assert_int_equal(log_level_parse("loud", &l), -1);
	log_set_level(LOG_LEVEL_WARN);
	assert_false(log_enabled(LOG_LEVEL_INFO));
	assert_true(log_enabled(LOG_LEVEL_ERROR));
	log_set_level(LOG_LEVEL_INFO);
}

static void
test_time_monotonic(void **state)
{
	int64_t a = time_mono_us(), b;

	(void)state;
	usleep(2000);
	b = time_mono_us();
	assert_true(b - a >= 2000);
	assert_true(time_wall_ms() > 1700000000000LL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_env_overrides_and_expands),
		cmocka_unit_test(test_config_rejects_bad_values),
		cmocka_unit_test(test_config_parse_addr),
		cmocka_unit_test(test_xmalloc_helpers),
		cmocka_unit_test(test_xmalloc_fail_hook_aborts),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_time_monotonic),
	};

	log_init("test");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
