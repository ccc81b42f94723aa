/* test_storage_path: the gateway's storage path safety (gateway/storage_path.c):
 * the lexical normaliser, and resolution beneath a root with openat2 and with
 * the O_NOFOLLOW walk used where openat2 is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage_path.h"

static void
sp_norm(const char *in, size_t len, enum storage_path_err want, const char *want_out)
{
	char out[PATH_MAX];
	enum storage_path_err e = storage_path_normalise(in, len, out, sizeof(out));

	if (e != want)
		fail_msg("normalise(\"%.*s\"): %d, expected %d", (int)len, in, e, want);
	if (want == STORAGE_PATH_OK)
		assert_string_equal(out, want_out);
}
#define SP_OK(in, out) sp_norm((in), strlen(in), STORAGE_PATH_OK, (out))
#define SP_ERR(in, e) sp_norm((in), strlen(in), (e), NULL)

static void
test_normalise(void **state)
{
	char big[PATH_MAX + 10], seg[NAME_MAX + 2];

	(void)state;
	SP_OK("", "");
	SP_OK("/", "");
	SP_OK("//", "");
	SP_OK(".", "");
	SP_OK("./", "");
	SP_OK("a", "a");
	SP_OK("/a", "a");
	SP_OK("a/", "a");
	SP_OK("/downloads/movie.mkv", "downloads/movie.mkv");
	SP_OK("a//b///c", "a/b/c");
	SP_OK("./a/./b/.", "a/b");
	SP_OK("...", "...");
	SP_OK("..a/b..", "..a/b..");
	SP_OK(".hidden", ".hidden");
	SP_OK("%2e%2e", "%2e%2e");          /* decoded once by MHD: a literal name */
	SP_OK("a\\..\\b", "a\\..\\b");       /* a backslash is a filename byte */
	SP_OK("na\xc3\xafve", "na\xc3\xafve");
	SP_ERR("..", STORAGE_PATH_TRAVERSAL);
	SP_ERR("../", STORAGE_PATH_TRAVERSAL);
	SP_ERR("/..", STORAGE_PATH_TRAVERSAL);
	SP_ERR("a/..", STORAGE_PATH_TRAVERSAL);
	SP_ERR("a/../b", STORAGE_PATH_TRAVERSAL);
	SP_ERR("a/b/../../..", STORAGE_PATH_TRAVERSAL);
	SP_ERR("./..", STORAGE_PATH_TRAVERSAL);
	SP_ERR("a//..//b", STORAGE_PATH_TRAVERSAL);
	SP_ERR("a\n", STORAGE_PATH_CONTROL);
	SP_ERR("\x1b[31m", STORAGE_PATH_CONTROL);
	SP_ERR("a\x7f", STORAGE_PATH_CONTROL);
	sp_norm("a\0b", 3, STORAGE_PATH_NUL, NULL);
	sp_norm("..\0", 3, STORAGE_PATH_NUL, NULL);
	sp_norm("\0", 1, STORAGE_PATH_NUL, NULL);
	memset(big, 'a', sizeof(big));
	for (size_t i = 100; i < sizeof(big); i += 100)
		big[i] = '/';
	sp_norm(big, sizeof(big), STORAGE_PATH_TOO_LONG, NULL);
	memset(seg, 'b', sizeof(seg));
	sp_norm(seg, NAME_MAX + 1, STORAGE_PATH_TOO_LONG, NULL);
	memset(seg, 'b', NAME_MAX);
	seg[NAME_MAX] = '\0';
	SP_OK(seg, seg);
	/* a small output buffer is refused, never overrun */
	{
		char out[4];

		assert_int_equal(storage_path_normalise("abcdef", 6, out, sizeof(out)),
		    STORAGE_PATH_TOO_LONG);
		assert_int_equal(storage_path_normalise("abc", 3, out, sizeof(out)), STORAGE_PATH_OK);
		assert_int_equal(storage_path_normalise("abc", 3, out, 0), STORAGE_PATH_TOO_LONG);
	}
	assert_int_equal(storage_path_status(STORAGE_PATH_TRAVERSAL), 403);
	assert_int_equal(storage_path_status(STORAGE_PATH_NUL), 400);
	assert_int_equal(storage_path_status(STORAGE_PATH_CONTROL), 400);
	assert_int_equal(storage_path_status(STORAGE_PATH_TOO_LONG), 400);
}

static void
test_split(void **state)
{
	char parent[64];

	(void)state;
	assert_null(storage_path_split("", parent));
	assert_string_equal(parent, "");
	assert_string_equal(storage_path_split("a", parent), "a");
	assert_string_equal(parent, "");
	assert_string_equal(storage_path_split("a/b/c", parent), "c");
	assert_string_equal(parent, "a/b");
}

/* ---- resolution --------------------------------------------------------- */

static char sp_base[512];

static void
sp_file(const char *rel, const char *text)
{
	char p[1024];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", sp_base, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
sp_dir(const char *rel)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", sp_base, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void
sp_link(const char *target, const char *rel)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/%s", sp_base, rel);
	assert_int_equal(symlink(target, p), 0);
}

/* errno of opening rel beneath root (0 on success) */
static int
sp_open(int root, const char *rel, int flags, bool walk)
{
	int fd = storage_path_open(root, rel, flags, 0, walk);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static void
test_open(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char root_path[1024], abs_target[1200];
	int root;

	(void)state;
	snprintf(sp_base, sizeof(sp_base), "%s/sp.XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(sp_base));
	sp_dir("root");
	sp_dir("root/sub");
	sp_dir("root/sub/deep");
	sp_dir("outside");
	sp_file("outside/secret", "SECRET");
	sp_file("root/sub/f", "inside");
	sp_link("sub/f", "root/in_link");
	sp_link("../f", "root/sub/deep/up");
	sp_link("../outside/secret", "root/out");
	sp_link("../outside", "root/outdir");
	snprintf(abs_target, sizeof(abs_target), "%s/root/sub/f", sp_base);
	sp_link(abs_target, "root/abs_in");
	sp_link("/etc", "root/abs_etc");
	sp_link("loop", "root/loop");
	sp_link("/proc/self/root", "root/magic");
	snprintf(root_path, sizeof(root_path), "%s/root", sp_base);
	root = open(root_path, O_PATH | O_DIRECTORY);
	assert_true(root >= 0);

	for (int w = 0; w < 2; w++) {
		bool walk = w == 1;

		/* plain paths: the same either way */
		assert_int_equal(sp_open(root, "", O_RDONLY | O_DIRECTORY, walk), 0);
		assert_int_equal(sp_open(root, "sub", O_RDONLY | O_DIRECTORY, walk), 0);
		assert_int_equal(sp_open(root, "sub/f", O_RDONLY, walk), 0);
		assert_int_equal(sp_open(root, "sub/f", O_PATH, walk), 0);
		assert_int_equal(sp_open(root, "nope", O_RDONLY, walk), ENOENT);
		assert_int_equal(sp_open(root, "sub/nope/x", O_RDONLY, walk), ENOENT);
		assert_int_equal(sp_open(root, "sub/f/x", O_RDONLY, walk), ENOTDIR);
		/* out of the root: EXDEV, or ELOOP for a loop under openat2 */
		assert_int_equal(sp_open(root, "out", O_RDONLY, walk), EXDEV);
		assert_int_equal(sp_open(root, "outdir", O_PATH, walk), EXDEV);
		assert_int_equal(sp_open(root, "outdir/secret", O_RDONLY, walk), EXDEV);
		assert_int_equal(sp_open(root, "abs_etc/passwd", O_RDONLY, walk), EXDEV);
		assert_int_equal(sp_open(root, "abs_in", O_RDONLY, walk), EXDEV);
		assert_int_equal(sp_open(root, "magic", O_PATH, walk), EXDEV);
		{
			int e = sp_open(root, "loop", O_RDONLY, walk);

			assert_true(e == ELOOP || e == EXDEV);
		}
		/* ".." beneath the root is the kernel's business too (the normaliser
		 * refuses it before; this is the second wall) */
		assert_int_equal(sp_open(root, "..", O_PATH, walk), EXDEV);
		assert_int_equal(sp_open(root, "sub/../..", O_PATH, walk), EXDEV);
	}
	/* symlinks that stay inside: followed by openat2, refused by the walk */
	assert_int_equal(sp_open(root, "in_link", O_RDONLY, false), 0);
	assert_int_equal(sp_open(root, "sub/deep/up", O_RDONLY, false), 0);
	assert_int_equal(sp_open(root, "in_link", O_RDONLY, true), EXDEV);
	close(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_open),
	};

	return cmocka_run_group_tests_name("storage_path", tests, NULL, NULL);
}
