/* password: hashing and verifying passwords, off the IPC threads.
 *
 * New hashes are argon2id (libsodium crypto_pwhash_str_alg, ARGON2ID13) with
 * PASSWORD_OPSLIMIT / PASSWORD_MEMLIMIT, chosen for a small ARM board (see the
 * README).  Verification accepts argon2id ("$argon2id$...") and the bcrypt
 * hashes imported from the reference backend ("$2a$", "$2b$", "$2y$", through
 * libcrypt's crypt_r); password_needs_rehash() says when a verified hash should
 * be replaced by a fresh argon2id one.
 *
 * At most `concurrency` hashes run at once (a pool of that many threads); the
 * rest wait in a FIFO queue.  A job that is still queued at its deadline is not
 * run: its callback gets PASSWORD_BUSY.  Callbacks run on a pool thread and may
 * block briefly (they usually send an IPC reply or start the next call). */
#ifndef KUBARR_AUTHD_PASSWORD_H
#define KUBARR_AUTHD_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PASSWORD_MIN_LEN 8
#define PASSWORD_MAX_LEN 1024          /* longer input is refused, not truncated */
#define PASSWORD_HASH_MAX 128          /* buffer size for any hash string + NUL */
#define PASSWORD_OPSLIMIT 2ULL         /* argon2id t */
#define PASSWORD_MEMLIMIT (19u << 20)  /* argon2id m = 19 MiB */
#define PASSWORD_NICE 10               /* the hashing threads' nice value */

enum password_result {
	PASSWORD_OK = 0,       /* hash made / password matches */
	PASSWORD_MISMATCH,     /* verify: wrong password */
	PASSWORD_BAD_HASH,     /* verify: stored hash not in a known format */
	PASSWORD_BUSY,         /* deadline passed while queued, or the pool is stopping */
	PASSWORD_ERROR,        /* libsodium / libcrypt failure (out of memory...) */
};

struct password_pool;

/* concurrency >= 1 threads.  0, or -1 with *err_r (malloc'd). */
int password_pool_open(struct password_pool **pool_r, unsigned concurrency, char **err_r);
/* Jobs still queued get PASSWORD_BUSY; running ones finish; then threads join. */
void password_pool_close(struct password_pool **pool);

/* hash: cb(arg, result, hash) with hash a NUL-terminated argon2id string
 * (valid only during the callback).  verify: cb(arg, result, NULL).
 * deadline_us is on time_mono_us()'s clock.  password is copied (and wiped
 * after use); it may contain any bytes but NUL. */
typedef void (*password_cb)(void *arg, enum password_result res, const char *hash);
void password_hash_async(struct password_pool *pool, const char *password, int64_t deadline_us,
    password_cb cb, void *arg);
void password_verify_async(struct password_pool *pool, const char *password, const char *hash,
    int64_t deadline_us, password_cb cb, void *arg);

/* Blocking forms (same queue, same limit); hash_r has PASSWORD_HASH_MAX bytes. */
enum password_result password_hash(struct password_pool *pool, const char *password,
    int64_t deadline_us, char *hash_r);
enum password_result password_verify(struct password_pool *pool, const char *password,
    const char *hash, int64_t deadline_us);

/* Without a pool (CLI tools, tests): run on the calling thread. */
enum password_result password_hash_now(const char *password, char *hash_r);
enum password_result password_verify_now(const char *password, const char *hash);

/* True for bcrypt hashes and argon2id hashes made with other parameters. */
bool password_needs_rehash(const char *hash);

/* Counters for STATS. */
struct password_stats {
	uint64_t hashed, verified, busy, queued_now, running_now, max_queue_wait_us;
};
void password_pool_stats(struct password_pool *pool, struct password_stats *st_r);

#endif
