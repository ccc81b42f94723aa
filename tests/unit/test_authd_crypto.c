/* Unit tests for authd's crypto modules: password (argon2id, bcrypt, the
 * pool), secrets (key file, sealing, recovery codes), totp (RFC 6238
 * vectors), throttle (failure counting and locks, explicit clocks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "password.h"
#include "secrets.h"
#include "throttle.h"
#include "timeutil.h"
#include "totp.h"
#include "xmalloc.h"

/* ---- helpers ------------------------------------------------------------- */

/* A bcrypt hash of `pw` with a fresh salt, through libxcrypt itself. */
static void
make_bcrypt(const char *prefix, unsigned long cost, const char *pw, char out[CRYPT_OUTPUT_SIZE])
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *h;

	assert_non_null(crypt_gensalt_rn(prefix, cost, NULL, 0, salt, sizeof(salt)));
	h = crypt_rn(pw, salt, cd, (int)sizeof(*cd));
	assert_non_null(h);
	assert_int_equal(strncmp(h, prefix, 4), 0);
	snprintf(out, CRYPT_OUTPUT_SIZE, "%s", h);
	free(cd);
}

static char *
make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *dir = xasprintf("%s/kubarr-crypto-XXXXXX", base != NULL && base[0] ? base : "/tmp");

	assert_non_null(mkdtemp(dir));
	return dir;
}

static void
rm_tmpdir(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		p = xasprintf("%s/%s", dir, de->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
	free(dir);
}

static int
count_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void
write_file(const char *path, const char *content, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* ---- password ------------------------------------------------------------ */

static void
test_password_argon2id(void **state)
{
	char h1[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];

	(void)state;
	assert_int_equal(password_hash_now("correct horse battery", h1), PASSWORD_OK);
	assert_int_equal(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
	assert_int_equal(password_verify_now("correct horse battery", h1), PASSWORD_OK);
	assert_int_equal(password_verify_now("correct horse batterY", h1), PASSWORD_MISMATCH);
	assert_int_equal(password_verify_now("", h1), PASSWORD_MISMATCH);
	assert_false(password_needs_rehash(h1));
	/* a fresh salt each time */
	assert_int_equal(password_hash_now("correct horse battery", h2), PASSWORD_OK);
	assert_string_not_equal(h1, h2);
	assert_int_equal(password_verify_now("correct horse battery", h2), PASSWORD_OK);
}

static void
test_password_argon2id_other_params(void **state)
{
	char h[crypto_pwhash_STRBYTES];

	(void)state;
	assert_int_equal(sodium_init() < 0, 0);
	assert_int_equal(crypto_pwhash_str_alg(h, "old password", 12, 1, 8u << 20,
			     crypto_pwhash_ALG_ARGON2ID13), 0);
	assert_int_equal(password_verify_now("old password", h), PASSWORD_OK);
	assert_int_equal(password_verify_now("old passworD", h), PASSWORD_MISMATCH);
	assert_true(password_needs_rehash(h));
	/* argon2i is not something we accept */
	assert_int_equal(crypto_pwhash_str_alg(h, "old password", 12, 3, 8u << 20,
			     crypto_pwhash_ALG_ARGON2I13), 0);
	assert_int_equal(password_verify_now("old password", h), PASSWORD_BAD_HASH);
	assert_true(password_needs_rehash(h));
}

static void
test_password_bcrypt(void **state)
{
	char h[CRYPT_OUTPUT_SIZE];
	static const char *prefixes[] = {"$2b$", "$2y$", "$2a$"};

	(void)state;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		make_bcrypt(prefixes[i], 8, "hunter22", h);
		assert_int_equal(strlen(h), 60);
		assert_int_equal(password_verify_now("hunter22", h), PASSWORD_OK);
		assert_int_equal(password_verify_now("hunter23", h), PASSWORD_MISMATCH);
		assert_int_equal(password_verify_now("", h), PASSWORD_MISMATCH);
		assert_true(password_needs_rehash(h));
	}
	/* crypt_blowfish's published test vector */
	assert_int_equal(password_verify_now("U*U",
			     "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
	    PASSWORD_OK);
	assert_int_equal(password_verify_now("U*V",
			     "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
	    PASSWORD_MISMATCH);
}

static void
test_password_bad_hashes(void **state)
{
	(void)state;
	assert_int_equal(password_verify_now("password", "password"), PASSWORD_BAD_HASH);
	assert_int_equal(password_verify_now("password", ""), PASSWORD_BAD_HASH);
	assert_int_equal(password_verify_now("password", "$argon2id$v=19$m=19456,t=2,p=1$xx"),
	    PASSWORD_BAD_HASH);
	assert_int_equal(password_verify_now("password", "$2b$08$tooshort"), PASSWORD_BAD_HASH);
	assert_int_equal(password_verify_now("password", "$1$abcdefgh$abcdefghijklmnopqrstuv"),
	    PASSWORD_BAD_HASH);
	assert_true(password_needs_rehash("garbage"));
	assert_true(password_needs_rehash("$argon2id$garbage"));
}

static void
test_password_length_limit(void **state)
{
	char *pw = xmalloc(PASSWORD_MAX_LEN + 2);
	char h[PASSWORD_HASH_MAX], hb[CRYPT_OUTPUT_SIZE];

	(void)state;
	memset(pw, 'p', PASSWORD_MAX_LEN);
	pw[PASSWORD_MAX_LEN] = '\0';
	assert_int_equal(password_hash_now(pw, h), PASSWORD_OK);
	assert_int_equal(password_verify_now(pw, h), PASSWORD_OK);
	/* one more byte: refused (not truncated to the accepted prefix) */
	pw[PASSWORD_MAX_LEN] = 'p';
	pw[PASSWORD_MAX_LEN + 1] = '\0';
	assert_int_equal(password_hash_now(pw, h), PASSWORD_ERROR);
	assert_int_equal(password_verify_now(pw, h), PASSWORD_MISMATCH);
	/* bcrypt only reads 72 bytes: a long password verifies against the
	 * hash of its first 72 (as the reference's bcrypt did; libxcrypt alone
	 * would refuse more than 512), up to our limit */
	pw[72] = '\0';
	make_bcrypt("$2b$", 4, pw, hb);
	pw[72] = 'p';
	pw[600] = '\0';
	assert_int_equal(password_verify_now(pw, hb), PASSWORD_OK);
	pw[600] = 'p';
	assert_int_equal(password_verify_now(pw, hb), PASSWORD_MISMATCH);
	pw[71] = 'q';
	pw[100] = '\0';
	assert_int_equal(password_verify_now(pw, hb), PASSWORD_MISMATCH);
	free(pw);
}

struct cb_log {
	pthread_mutex_t mu;
	unsigned calls[64];
	enum password_result res[64];
	char hash[64][PASSWORD_HASH_MAX];
	unsigned total;
};

struct cb_ref {
	struct cb_log *log;
	unsigned idx;
};

static void
cb_record(void *arg, enum password_result res, const char *hash)
{
	struct cb_ref *ref = arg;
	struct cb_log *log = ref->log;

	pthread_mutex_lock(&log->mu);
	log->calls[ref->idx]++;
	log->res[ref->idx] = res;
	if (hash != NULL)
		snprintf(log->hash[ref->idx], PASSWORD_HASH_MAX, "%s", hash);
	log->total++;
	pthread_mutex_unlock(&log->mu);
}

static unsigned
cb_total(struct cb_log *log)
{
	unsigned n;

	pthread_mutex_lock(&log->mu);
	n = log->total;
	pthread_mutex_unlock(&log->mu);
	return n;
}

static void
cb_wait_total(struct cb_log *log, unsigned want)
{
	int64_t give_up = time_mono_us() + 60 * 1000000LL;

	while (cb_total(log) < want && time_mono_us() < give_up)
		usleep(2000);
	assert_int_equal(cb_total(log), want);
}

static void
test_password_pool_open_refuses_zero(void **state)
{
	struct password_pool *pool = (void *)1;
	char *err = NULL;

	(void)state;
	assert_int_equal(password_pool_open(&pool, 0, &err), -1);
	assert_null(pool);
	assert_non_null(err);
	free(err);
	password_pool_close(&pool); /* NULL: no-op */
}

static void
test_password_pool_deadline(void **state)
{
	struct password_pool *pool;
	struct cb_log log = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct cb_ref refs[3] = {{&log, 0}, {&log, 1}, {&log, 2}};
	struct password_stats st;
	char *err = NULL;
	int64_t now;

	(void)state;
	assert_int_equal(password_pool_open(&pool, 1, &err), 0);
	now = time_mono_us();
	/* job 0 keeps the only thread busy for an argon2id hash (tens of ms);
	 * job 1 has 1 ms to start, so it is dequeued late; job 2's deadline
	 * has already passed. */
	password_hash_async(pool, "first password", now + 60 * 1000000LL, cb_record, &refs[0]);
	password_hash_async(pool, "second password", now + 1000, cb_record, &refs[1]);
	password_verify_async(pool, "x", "$2b$04$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	    now - 1, cb_record, &refs[2]);
	cb_wait_total(&log, 3);
	assert_int_equal(log.res[0], PASSWORD_OK);
	assert_int_equal(password_verify_now("first password", log.hash[0]), PASSWORD_OK);
	assert_int_equal(log.res[1], PASSWORD_BUSY);
	assert_int_equal(log.res[2], PASSWORD_BUSY);
	password_pool_stats(pool, &st);
	assert_int_equal(st.hashed, 1);
	assert_int_equal(st.verified, 0);
	assert_int_equal(st.busy, 2);
	assert_int_equal(st.queued_now, 0);
	assert_int_equal(st.running_now, 0);
	assert_true(st.max_queue_wait_us >= 1000);
	/* blocking form with a past deadline */
	assert_int_equal(password_verify(pool, "first password", log.hash[0], now - 1), PASSWORD_BUSY);
	password_pool_close(&pool);
	assert_null(pool);
}

struct blocking_arg {
	struct password_pool *pool;
	const char *hash;      /* argon2id of "shared secret" */
	const char *bhash;     /* bcrypt of "shared secret" */
	int results[4];
	char made[PASSWORD_HASH_MAX];
};

static void *
blocking_thread(void *p)
{
	struct blocking_arg *a = p;
	int64_t deadline = time_mono_us() + 60 * 1000000LL;

	a->results[0] = password_verify(a->pool, "shared secret", a->hash, deadline);
	a->results[1] = password_verify(a->pool, "shared secreT", a->hash, deadline);
	a->results[2] = password_verify(a->pool, "shared secret", a->bhash, deadline);
	a->results[3] = password_hash(a->pool, "made in a thread", deadline, a->made);
	return NULL;
}

static void
test_password_pool_many(void **state)
{
	enum { THREADS = 3, ASYNC = 12 };
	struct password_pool *pool;
	struct cb_log log = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct cb_ref refs[ASYNC];
	struct blocking_arg args[THREADS];
	pthread_t th[THREADS];
	char hash[PASSWORD_HASH_MAX], bhash[CRYPT_OUTPUT_SIZE];
	struct password_stats st;
	char *err = NULL;
	int64_t deadline = time_mono_us() + 60 * 1000000LL;

	(void)state;
	assert_int_equal(password_hash_now("shared secret", hash), PASSWORD_OK);
	make_bcrypt("$2b$", 4, "shared secret", bhash);
	assert_int_equal(password_pool_open(&pool, 1, &err), 0);
	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct blocking_arg){.pool = pool, .hash = hash, .bhash = bhash};
		assert_int_equal(pthread_create(&th[i], NULL, blocking_thread, &args[i]), 0);
	}
	for (unsigned i = 0; i < ASYNC; i++) {
		refs[i] = (struct cb_ref){&log, i};
		switch (i % 3) {
		case 0:
			password_verify_async(pool, "shared secret", hash, deadline, cb_record, &refs[i]);
			break;
		case 1:
			password_verify_async(pool, "not it", i % 2 ? hash : bhash, deadline,
			    cb_record, &refs[i]);
			break;
		default:
			password_verify_async(pool, "shared secret", bhash, deadline, cb_record,
			    &refs[i]);
			break;
		}
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	cb_wait_total(&log, ASYNC);
	for (unsigned i = 0; i < ASYNC; i++) {
		assert_int_equal(log.calls[i], 1);
		assert_int_equal(log.res[i], i % 3 == 1 ? PASSWORD_MISMATCH : PASSWORD_OK);
	}
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(args[i].results[0], PASSWORD_OK);
		assert_int_equal(args[i].results[1], PASSWORD_MISMATCH);
		assert_int_equal(args[i].results[2], PASSWORD_OK);
		assert_int_equal(args[i].results[3], PASSWORD_OK);
		assert_int_equal(password_verify_now("made in a thread", args[i].made), PASSWORD_OK);
	}
	password_pool_stats(pool, &st);
	assert_int_equal(st.verified, ASYNC + THREADS * 3);
	assert_int_equal(st.hashed, THREADS);
	assert_int_equal(st.busy, 0);
	password_pool_close(&pool);
	/* no callback ran twice after close */
	assert_int_equal(cb_total(&log), ASYNC);
}

static void
test_password_pool_close_with_queue(void **state)
{
	enum { JOBS = 6 };
	struct password_pool *pool;
	struct cb_log log = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct cb_ref refs[JOBS];
	struct password_stats st;
	char *err = NULL;
	int64_t deadline = time_mono_us() + 60 * 1000000LL;
	unsigned ok = 0, busy = 0;

	(void)state;
	assert_int_equal(password_pool_open(&pool, 1, &err), 0);
	for (unsigned i = 0; i < JOBS; i++) {
		refs[i] = (struct cb_ref){&log, i};
		password_hash_async(pool, "queued password", deadline, cb_record, &refs[i]);
	}
	password_pool_stats(pool, &st);
	assert_true(st.queued_now + st.running_now >= JOBS - 1);
	password_pool_close(&pool);
	/* close returns after every job was answered */
	assert_int_equal(cb_total(&log), JOBS);
	for (unsigned i = 0; i < JOBS; i++) {
		assert_int_equal(log.calls[i], 1);
		ok += log.res[i] == PASSWORD_OK;
		busy += log.res[i] == PASSWORD_BUSY;
	}
	/* at most the job running when close came finished */
	assert_true(ok <= 1);
	assert_int_equal(ok + busy, JOBS);
	/* FIFO: if one ran, it was the first */
	if (ok == 1)
		assert_int_equal(log.res[0], PASSWORD_OK);
}

/* ---- secrets ------------------------------------------------------------- */

static void
test_secrets_key_file(void **state)
{
	char *dir = make_tmpdir();
	char *path = xasprintf("%s/secret.key", dir);
	struct secrets s1, s2;
	struct stat st;
	bool created = false;
	char *err = NULL;
	char buf[128];
	int fd;
	ssize_t n;

	(void)state;
	assert_int_equal(secrets_load(&s1, path, &created, &err), 0);
	assert_true(created);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_dir_entries(dir), 1); /* no temporary file left */
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_int_equal(n, 65);
	buf[n] = '\0';
	assert_int_equal(buf[64], '\n');
	assert_int_equal(strspn(buf, "0123456789abcdef"), 64);

	assert_int_equal(secrets_load(&s2, path, &created, &err), 0);
	assert_false(created);
	assert_memory_equal(s1.key, s2.key, SECRETS_KEY_BYTES);
	secrets_wipe(&s2);
	assert_true(sodium_is_zero(s2.key, SECRETS_KEY_BYTES));

	/* an existing key made elsewhere (upper case, no newline) */
	write_file(path, "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff", 0400);
	assert_int_equal(secrets_load(&s2, path, NULL, &err), 0);
	assert_int_equal(s2.key[0], 0x00);
	assert_int_equal(s2.key[10], 0xaa);
	assert_int_equal(s2.key[31], 0xff);

	free(path);
	rm_tmpdir(dir);
}

static void
expect_refused(const char *path, const char *needle)
{
	struct secrets s;
	char *err = NULL;
	bool created = true;

	assert_int_equal(secrets_load(&s, path, &created, &err), -1);
	assert_false(created);
	assert_non_null(err);
	assert_non_null(strstr(err, path));
	if (strstr(err, needle) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
	free(err);
}

static void
test_secrets_key_file_refused(void **state)
{
	char *dir = make_tmpdir();
	char *path = xasprintf("%s/secret.key", dir);
	char *missing = xasprintf("%s/no/such/dir/secret.key", dir);
	static const char good[] =
	    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

	(void)state;
	write_file(path, good, 0640);
	expect_refused(path, "mode 0640");
	write_file(path, good, 0604);
	expect_refused(path, "mode 0604");
	write_file(path, good, 0620);
	expect_refused(path, "mode 0620");
	write_file(path, "not a key at all\n", 0600);
	expect_refused(path, "malformed");
	write_file(path, "", 0600);
	expect_refused(path, "malformed");
	/* 31 bytes, 33 bytes, odd digit count, trailing garbage, two keys */
	write_file(path, "00112233445566778899aabbccddeeff00112233445566778899aabbccddee\n", 0600);
	expect_refused(path, "malformed");
	write_file(path, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00\n",
	    0600);
	expect_refused(path, "malformed");
	write_file(path, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeef\n", 0600);
	expect_refused(path, "malformed");
	write_file(path, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff x\n",
	    0600);
	expect_refused(path, "malformed");
	write_file(path, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
			 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
	    0600);
	expect_refused(path, "malformed");
	/* directory missing: cannot create */
	expect_refused(missing, "cannot create");
	/* a dangling symbolic link is not created through */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink("nowhere", path), 0);
	expect_refused(path, "dangling");
	assert_int_equal(unlink(path), 0);
	/* a directory is not a key file */
	assert_int_equal(mkdir(path, 0700), 0);
	expect_refused(path, "not a regular file");
	assert_int_equal(rmdir(path), 0);

	free(missing);
	free(path);
	rm_tmpdir(dir);
}

static void
test_secrets_seal_open(void **state)
{
	struct secrets s, other;
	char sealed[SECRETS_SEALED_MAX], sealed2[SECRETS_SEALED_MAX], out[160];
	char plain[130];
	size_t len;

	(void)state;
	randombytes_buf(s.key, sizeof(s.key));
	randombytes_buf(other.key, sizeof(other.key));
	assert_int_equal(secrets_seal(&s, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", sealed, sizeof(sealed)), 0);
	assert_int_equal(strncmp(sealed, "v1:", 3), 0);
	assert_int_equal(secrets_open(&s, sealed, out, sizeof(out)), 0);
	assert_string_equal(out, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
	/* random nonce: the same secret seals differently */
	assert_int_equal(secrets_seal(&s, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", sealed2, sizeof(sealed2)),
	    0);
	assert_string_not_equal(sealed, sealed2);
	/* wrong key */
	assert_int_equal(secrets_open(&other, sealed, out, sizeof(out)), -1);
	/* every single-character change of the base64 is caught */
	len = strlen(sealed);
	for (size_t i = 3; i < len; i++) {
		char saved = sealed[i];

		sealed[i] = saved == 'A' ? 'B' : 'A';
		assert_int_equal(secrets_open(&s, sealed, out, sizeof(out)), -1);
		sealed[i] = saved;
	}
	assert_int_equal(secrets_open(&s, sealed, out, sizeof(out)), 0);
	/* truncated, wrong version, not base64, plaintext, output too small */
	sealed[len - 4] = '\0';
	assert_int_equal(secrets_open(&s, sealed, out, sizeof(out)), -1);
	assert_int_equal(secrets_open(&s, "v2:AAAA", out, sizeof(out)), -1);
	assert_int_equal(secrets_open(&s, "v1:!!!!", out, sizeof(out)), -1);
	assert_int_equal(secrets_open(&s, "v1:", out, sizeof(out)), -1);
	assert_int_equal(secrets_open(&s, "JBSWY3DPEHPK3PXP", out, sizeof(out)), -1);
	assert_int_equal(secrets_open(&s, sealed2, out, 32), -1);
	assert_int_equal(secrets_open(&s, sealed2, out, 33), 0);
	/* empty text works; 128 bytes fit the buffer; 129 are refused */
	assert_int_equal(secrets_seal(&s, "", sealed, sizeof(sealed)), 0);
	assert_int_equal(secrets_open(&s, sealed, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	memset(plain, 'Q', 128);
	plain[128] = '\0';
	assert_int_equal(secrets_seal(&s, plain, sealed, sizeof(sealed)), 0);
	assert_true(strlen(sealed) < SECRETS_SEALED_MAX);
	assert_int_equal(secrets_open(&s, sealed, out, sizeof(out)), 0);
	assert_string_equal(out, plain);
	plain[128] = 'Q';
	plain[129] = '\0';
	assert_int_equal(secrets_seal(&s, plain, sealed, sizeof(sealed)), -1);
	/* output buffer too small to seal into */
	assert_int_equal(secrets_seal(&s, "JBSWY3DPEHPK3PXP", sealed, 40), -1);
}

static void
test_secrets_recovery_codes(void **state)
{
	enum { N = 1000 };
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char (*codes)[11] = xcalloc(N, sizeof(*codes));
	unsigned seen[36] = {0};

	(void)state;
	memset(codes, 'x', N * sizeof(*codes));
	secrets_recovery_codes(codes, N);
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(strlen(codes[i]), 10);
		for (size_t j = 0; j < 10; j++) {
			const char *p = strchr(alphabet, codes[i][j]);

			assert_non_null(p);
			seen[p - alphabet]++;
		}
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(codes[i], codes[k]);
	}
	/* 10000 symbols, 278 expected per symbol: each one shows up, and none
	 * is wildly over- or under-represented */
	for (size_t i = 0; i < 36; i++) {
		assert_true(seen[i] > 150);
		assert_true(seen[i] < 420);
	}
	free(codes);
}

static void
test_secrets_code_hash(void **state)
{
	struct secrets s, other;
	char h1[SECRETS_CODE_HASH_MAX], h2[SECRETS_CODE_HASH_MAX], h3[SECRETS_CODE_HASH_MAX];
	char codes[1][11];

	(void)state;
	randombytes_buf(s.key, sizeof(s.key));
	randombytes_buf(other.key, sizeof(other.key));
	secrets_code_hash(&s, "ABCDE12345", h1);
	assert_int_equal(strlen(h1), 67);
	assert_int_equal(strncmp(h1, "k1:", 3), 0);
	assert_int_equal(strspn(h1 + 3, "0123456789abcdef"), 64);
	secrets_code_hash(&s, "abcde12345", h2);
	assert_string_equal(h1, h2);
	secrets_code_hash(&s, "ABCDE12346", h3);
	assert_string_not_equal(h1, h3);
	secrets_code_hash(&other, "ABCDE12345", h3);
	assert_string_not_equal(h1, h3);

	assert_true(secrets_code_matches(&s, "ABCDE12345", h1));
	assert_true(secrets_code_matches(&s, "abcDE12345", h1));
	assert_false(secrets_code_matches(&s, "ABCDE12346", h1));
	assert_false(secrets_code_matches(&s, "ABCDE1234", h1));
	assert_false(secrets_code_matches(&s, "", h1));
	assert_false(secrets_code_matches(&other, "ABCDE12345", h1));
	h1[66] = h1[66] == '0' ? '1' : '0';
	assert_false(secrets_code_matches(&s, "ABCDE12345", h1));
	h1[66] = '\0';
	assert_false(secrets_code_matches(&s, "ABCDE12345", h1));
	assert_false(secrets_code_matches(&s, "ABCDE12345", "ABCDE12345"));
	assert_false(secrets_code_matches(&s, "ABCDE12345", ""));

	secrets_recovery_codes(codes, 1);
	secrets_code_hash(&s, codes[0], h1);
	assert_true(secrets_code_matches(&s, codes[0], h1));
}

static void
test_secrets_code_bcrypt(void **state)
{
	struct secrets s;
	char h[CRYPT_OUTPUT_SIZE];

	(void)state;
	randombytes_buf(s.key, sizeof(s.key));
	/* the reference hashed its [A-Z0-9] codes with bcrypt cost 8 */
	make_bcrypt("$2b$", 8, "Q7ZK2M9X4P", h);
	assert_true(secrets_code_matches(&s, "Q7ZK2M9X4P", h));
	assert_true(secrets_code_matches(&s, "q7zk2m9x4p", h));
	assert_false(secrets_code_matches(&s, "Q7ZK2M9X4Q", h));
	make_bcrypt("$2y$", 4, "AAAAAAAAAA", h);
	assert_true(secrets_code_matches(&s, "aaaaaaaaaa", h));
	assert_false(secrets_code_matches(&s, "AAAAAAAAAB", h));
	assert_false(secrets_code_matches(&s, "AAAAAAAAAA", "$2b$08$broken"));
}

/* ---- totp ---------------------------------------------------------------- */

/* base32 of the RFC 6238 SHA1 secret "12345678901234567890" */
#define RFC_SECRET "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

static const struct {
	time_t t;
	const char *code;
} rfc6238[] = {
	{59, "287082"},
	{1111111109, "081804"},
	{1111111111, "050471"},
	{1234567890, "005924"},
	{2000000000, "279037"},
	{(time_t)20000000000LL, "353130"},
};

static void
test_totp_rfc6238(void **state)
{
	char code[7];

	(void)state;
	for (size_t i = 0; i < sizeof(rfc6238) / sizeof(rfc6238[0]); i++) {
		assert_int_equal(totp_generate(RFC_SECRET, rfc6238[i].t, code), 0);
		assert_string_equal(code, rfc6238[i].code);
		assert_true(totp_verify(RFC_SECRET, rfc6238[i].code, rfc6238[i].t));
	}
	/* lower case and spaces in the secret are accepted */
	assert_int_equal(totp_generate("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", 59, code), 0);
	assert_string_equal(code, "287082");
}

static void
test_totp_window(void **state)
{
	/* 1111111109 is the last second of its 30 s step */
	const time_t t = 1111111109;

	(void)state;
	assert_true(totp_verify(RFC_SECRET, "081804", t - 29));     /* same step */
	assert_true(totp_verify(RFC_SECRET, "081804", t + 1));      /* next step */
	assert_true(totp_verify(RFC_SECRET, "081804", t + 30));
	assert_true(totp_verify(RFC_SECRET, "081804", t - 30));     /* previous step */
	assert_true(totp_verify(RFC_SECRET, "081804", t - 59));
	assert_false(totp_verify(RFC_SECRET, "081804", t + 31));    /* two steps later */
	assert_false(totp_verify(RFC_SECRET, "081804", t + 60));
	assert_false(totp_verify(RFC_SECRET, "081804", t - 60));    /* two steps earlier */
	assert_false(totp_verify(RFC_SECRET, "081804", t - 90));
	assert_false(totp_verify(RFC_SECRET, "081805", t));
}

static void
test_totp_malformed(void **state)
{
	char code[7];

	(void)state;
	assert_true(totp_verify(RFC_SECRET, " 287082 ", 59));
	assert_true(totp_verify(RFC_SECRET, "\t287082\n", 59));
	assert_false(totp_verify(RFC_SECRET, "28708", 59));
	assert_false(totp_verify(RFC_SECRET, "2870822", 59));
	assert_false(totp_verify(RFC_SECRET, "94287082", 59));  /* the 8-digit form */
	assert_false(totp_verify(RFC_SECRET, "28708a", 59));
	assert_false(totp_verify(RFC_SECRET, "287 082", 59));
	assert_false(totp_verify(RFC_SECRET, "+28708", 59));
	assert_false(totp_verify(RFC_SECRET, "", 59));
	assert_false(totp_verify(RFC_SECRET, NULL, 59));
	assert_false(totp_verify("", "287082", 59));
	assert_false(totp_verify("!!!!!!!!", "287082", 59));
	assert_false(totp_verify("GEZDGNBVGY3TQOJQ1", "287082", 59));  /* '1' is not base32 */
	assert_false(totp_verify(NULL, "287082", 59));
	assert_int_equal(totp_generate("!!!!", 59, code), -1);
	assert_int_equal(totp_generate("", 59, code), -1);
}

static void
test_totp_secret_new(void **state)
{
	char a[TOTP_SECRET_B32_MAX], b[TOTP_SECRET_B32_MAX], code[7];
	time_t now = 1700000000;

	(void)state;
	totp_secret_new(a);
	totp_secret_new(b);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), 32);
	assert_string_not_equal(a, b);
	assert_int_equal(totp_generate(a, now, code), 0);
	assert_int_equal(strlen(code), 6);
	assert_true(totp_verify(a, code, now));
	assert_true(totp_verify(a, code, now + 30));
}

static void
test_totp_uri(void **state)
{
	char uri[TOTP_URI_MAX];
	static const char want[] = "otpauth://totp/Kubarr:alice%2Bhome%40example.com"
				   "?secret=JBSWY3DPEHPK3PXP&issuer=Kubarr&algorithm=SHA1&digits=6&period=30";

	(void)state;
	assert_int_equal(totp_provisioning_uri("JBSWY3DPEHPK3PXP", "alice+home@example.com", uri,
			     sizeof(uri)), 0);
	assert_string_equal(uri, want);
	assert_int_equal(totp_provisioning_uri("S", "a b/c:d?e&f=g%", uri, sizeof(uri)), 0);
	assert_string_equal(uri, "otpauth://totp/Kubarr:a%20b%2Fc%3Ad%3Fe%26f%3Dg%25?secret=S"
				 "&issuer=Kubarr&algorithm=SHA1&digits=6&period=30");
	/* exactly fits, one byte short */
	assert_int_equal(totp_provisioning_uri("JBSWY3DPEHPK3PXP", "alice+home@example.com", uri,
			     sizeof(want)), 0);
	assert_int_equal(totp_provisioning_uri("JBSWY3DPEHPK3PXP", "alice+home@example.com", uri,
			     sizeof(want) - 1), -1);
}

/* ---- throttle ------------------------------------------------------------ */

static const struct throttle_config small_cfg = {
	.free_failures = 3,
	.addr_factor = 2,
	.base_ms = 1000,
	.max_ms = 8000,
	.forget_ms = 60000,
	.max_keys = 100,
};

static void
test_throttle_growing_lock(void **state)
{
	struct throttle *t = throttle_new(&small_cfg);
	int64_t now = 1000000;
	static const int64_t locks[] = {0, 0, 0, 1000, 2000, 4000, 8000, 8000, 8000};

	(void)state;
	for (size_t i = 0; i < sizeof(locks) / sizeof(locks[0]); i++) {
		assert_int_equal(throttle_check(t, THROTTLE_USER, "alice", now), 0);
		assert_int_equal(throttle_fail(t, THROTTLE_USER, "alice", now), locks[i]);
		assert_int_equal(throttle_check(t, THROTTLE_USER, "alice", now), locks[i]);
		if (locks[i] > 0)
			assert_int_equal(throttle_check(t, THROTTLE_USER, "alice", now + 400),
			    locks[i] - 400);
		now += locks[i];
	}
	/* user keys are case-insensitive; another user and the same string as
	 * an address are separate keys */
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "ALICE", now), 8000);
	assert_int_equal(throttle_check(t, THROTTLE_USER, "Alice", now + 1), 7999);
	assert_int_equal(throttle_check(t, THROTTLE_USER, "bob", now), 0);
	assert_int_equal(throttle_check(t, THROTTLE_ADDR, "alice", now), 0);
	throttle_free(&t);
	assert_null(t);
	throttle_free(&t);
}

static void
test_throttle_forget_and_success(void **state)
{
	struct throttle *t = throttle_new(&small_cfg);
	struct throttle_stats st;
	int64_t now = 5000;

	(void)state;
	for (int i = 0; i < 5; i++)
		throttle_fail(t, THROTTLE_USER, "carol", now);
	assert_int_equal(throttle_check(t, THROTTLE_USER, "carol", now), 2000);
	/* just before forget_ms the count is kept: the next failure locks longer */
	now += 59999;
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "carol", now), 4000);
	/* forget_ms after the last failure, the key is gone */
	now += 60000;
	assert_int_equal(throttle_check(t, THROTTLE_USER, "carol", now), 0);
	throttle_stats(t, now, &st);
	assert_int_equal(st.keys, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(throttle_fail(t, THROTTLE_USER, "carol", now), 0);
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "carol", now), 1000);

	/* success clears the user key at once, lock included */
	throttle_fail(t, THROTTLE_ADDR, "192.0.2.7", now);
	throttle_success(t, THROTTLE_USER, "Carol");
	assert_int_equal(throttle_check(t, THROTTLE_USER, "carol", now), 0);
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "carol", now), 0);
	/* ...but not an address key (7 failures, 6 free) */
	for (int i = 0; i < 6; i++)
		throttle_fail(t, THROTTLE_ADDR, "192.0.2.7", now);
	assert_int_equal(throttle_check(t, THROTTLE_ADDR, "192.0.2.7", now), 1000);
	throttle_success(t, THROTTLE_ADDR, "192.0.2.7");
	assert_int_equal(throttle_check(t, THROTTLE_ADDR, "192.0.2.7", now), 1000);
	throttle_free(&t);
}

static void
test_throttle_addr_factor(void **state)
{
	struct throttle *t = throttle_new(&small_cfg);
	int64_t now = 0;

	(void)state;
	/* 3 free failures x addr_factor 2 */
	for (int i = 0; i < 6; i++)
		assert_int_equal(throttle_fail(t, THROTTLE_ADDR, "2001:db8::1", now), 0);
	assert_int_equal(throttle_fail(t, THROTTLE_ADDR, "2001:db8::1", now), 1000);
	assert_int_equal(throttle_fail(t, THROTTLE_ADDR, "2001:db8::1", now + 1000), 2000);
	throttle_free(&t);
}

static void
test_throttle_defaults(void **state)
{
	struct throttle_config zero = {0};
	struct throttle *t = throttle_new(&zero);
	int64_t lock = 0, now = 0;
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_int_equal(throttle_fail(t, THROTTLE_USER, "dave", now), 0);
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "dave", now), 1000);
	/* 2000, 4000, ... 512000, then the 15 min cap */
	for (i = 0; i < 9; i++)
		lock = throttle_fail(t, THROTTLE_USER, "dave", now);
	assert_int_equal(lock, 512000);
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "dave", now), 900000);
	for (i = 0; i < 100; i++)
		lock = throttle_fail(t, THROTTLE_USER, "dave", now);
	assert_int_equal(lock, 900000);
	/* addresses: 20 free */
	for (i = 0; i < 20; i++)
		assert_int_equal(throttle_fail(t, THROTTLE_ADDR, "198.51.100.1", now), 0);
	assert_int_equal(throttle_fail(t, THROTTLE_ADDR, "198.51.100.1", now), 1000);
	/* remembered for an hour */
	now += 3599999;
	assert_int_equal(throttle_fail(t, THROTTLE_ADDR, "198.51.100.1", now), 2000);
	throttle_free(&t);
	t = throttle_new(NULL);
	for (i = 0; i < 5; i++)
		assert_int_equal(throttle_fail(t, THROTTLE_USER, "erin", 0), 0);
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "erin", 0), 1000);
	throttle_free(&t);
}

static void
test_throttle_max_keys(void **state)
{
	struct throttle_config cfg = {.free_failures = 1, .max_keys = 4};
	struct throttle *t = throttle_new(&cfg);
	struct throttle_stats st;

	(void)state;
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "a", 0), 0);
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "b", 1), 0);
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "c", 2), 0);
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "d", 3), 0);
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "a", 4), 1000);  /* a is newest */
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "e", 5), 0);     /* drops b */
	throttle_stats(t, 5, &st);
	assert_int_equal(st.keys, 4);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "d", 6), 1000);  /* kept */
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "b", 7), 0);     /* forgotten; drops c */
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "a", 8), 2000);  /* kept */
	throttle_stats(t, 8, &st);
	assert_int_equal(st.keys, 4);
	assert_int_equal(st.evictions, 2);
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "c", 9), 0);     /* was dropped */
	throttle_free(&t);

	/* many keys: the table grows and stays bounded */
	cfg.max_keys = 1000;
	t = throttle_new(&cfg);
	for (int i = 0; i < 5000; i++) {
		char key[32];

		snprintf(key, sizeof(key), "user%d", i);
		throttle_fail(t, THROTTLE_USER, key, i);
		throttle_fail(t, THROTTLE_USER, key, i);
	}
	throttle_stats(t, 5000, &st);
	assert_int_equal(st.keys, 1000);
	assert_int_equal(st.evictions, 4000);
	assert_int_equal(st.failures, 10000);
	assert_int_equal(throttle_check(t, THROTTLE_USER, "user4999", 5000), 999);
	assert_int_equal(throttle_check(t, THROTTLE_USER, "user4000", 5000), 0);
	assert_int_equal(throttle_check(t, THROTTLE_USER, "user3999", 3999), 0); /* dropped */
	throttle_free(&t);
}

static void
test_throttle_sweep_and_stats(void **state)
{
	struct throttle *t = throttle_new(&small_cfg);
	struct throttle_stats st;

	(void)state;
	for (int i = 0; i < 4; i++)
		throttle_fail(t, THROTTLE_USER, "k1", 0);          /* locked until 1000 */
	throttle_fail(t, THROTTLE_USER, "k2", 30000);
	throttle_fail(t, THROTTLE_ADDR, "k3", 45000);
	throttle_stats(t, 500, &st);
	assert_int_equal(st.keys, 3);
	assert_int_equal(st.locked_now, 1);
	assert_int_equal(st.failures, 6);
	assert_int_equal(throttle_check(t, THROTTLE_USER, "k1", 500), 500);
	assert_int_equal(throttle_check(t, THROTTLE_USER, "k1", 600), 400);
	assert_int_equal(throttle_check(t, THROTTLE_USER, "k1", 1000), 0);
	throttle_stats(t, 1000, &st);
	assert_int_equal(st.locked_now, 0);
	assert_int_equal(st.refusals, 2);

	assert_int_equal(throttle_sweep(t, 59999), 0);
	assert_int_equal(throttle_sweep(t, 60000), 1);
	assert_int_equal(throttle_sweep(t, 60000), 0);
	assert_int_equal(throttle_sweep(t, 104999), 1);
	throttle_stats(t, 104999, &st);
	assert_int_equal(st.keys, 1);
	assert_int_equal(throttle_sweep(t, 105000), 1);
	throttle_stats(t, 105000, &st);
	assert_int_equal(st.keys, 0);
	/* k1 starts over */
	assert_int_equal(throttle_fail(t, THROTTLE_USER, "k1", 105000), 0);
	throttle_free(&t);
}

struct hammer_arg {
	struct throttle *t;
	int id;
};

static void *
throttle_hammer(void *p)
{
	struct hammer_arg *a = p;
	char key[32];

	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "u%d", (i * 7 + a->id) % 300);
		throttle_check(a->t, THROTTLE_USER, key, i);
		throttle_fail(a->t, THROTTLE_USER, key, i);
		if (i % 5 == 0)
			throttle_success(a->t, THROTTLE_USER, key);
		if (i % 1000 == 0)
			throttle_sweep(a->t, i);
	}
	return NULL;
}

static void
test_throttle_threads(void **state)
{
	struct throttle_config cfg = {.max_keys = 128};
	struct throttle *t = throttle_new(&cfg);
	struct hammer_arg args[4];
	pthread_t th[4];
	struct throttle_stats st;

	(void)state;
	for (int i = 0; i < 4; i++) {
		args[i] = (struct hammer_arg){t, i};
		assert_int_equal(pthread_create(&th[i], NULL, throttle_hammer, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	throttle_stats(t, 20000, &st);
	assert_int_equal(st.failures, 80000);
	assert_true(st.keys <= 128);
	assert_true(st.evictions > 0);
	throttle_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_argon2id),
		cmocka_unit_test(test_password_argon2id_other_params),
		cmocka_unit_test(test_password_bcrypt),
		cmocka_unit_test(test_password_bad_hashes),
		cmocka_unit_test(test_password_length_limit),
		cmocka_unit_test(test_password_pool_open_refuses_zero),
		cmocka_unit_test(test_password_pool_deadline),
		cmocka_unit_test(test_password_pool_many),
		cmocka_unit_test(test_password_pool_close_with_queue),
		cmocka_unit_test(test_secrets_key_file),
		cmocka_unit_test(test_secrets_key_file_refused),
		cmocka_unit_test(test_secrets_seal_open),
		cmocka_unit_test(test_secrets_recovery_codes),
		cmocka_unit_test(test_secrets_code_hash),
		cmocka_unit_test(test_secrets_code_bcrypt),
		cmocka_unit_test(test_totp_rfc6238),
		cmocka_unit_test(test_totp_window),
		cmocka_unit_test(test_totp_malformed),
		cmocka_unit_test(test_totp_secret_new),
		cmocka_unit_test(test_totp_uri),
		cmocka_unit_test(test_throttle_growing_lock),
		cmocka_unit_test(test_throttle_forget_and_success),
		cmocka_unit_test(test_throttle_addr_factor),
		cmocka_unit_test(test_throttle_defaults),
		cmocka_unit_test(test_throttle_max_keys),
		cmocka_unit_test(test_throttle_sweep_and_stats),
		cmocka_unit_test(test_throttle_threads),
	};
	int rc;

	if (totp_global_init() != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	totp_global_done();
	return rc;
}
