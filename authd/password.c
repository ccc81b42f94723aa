/* password: argon2id hashing, argon2id and bcrypt verification, and the
 * bounded pool that runs them (see password.h).
 *
 * The pool is `concurrency` threads around one FIFO queue (mutex + condvar).
 * A worker takes the oldest job; when the job's deadline has already passed
 * it answers PASSWORD_BUSY without hashing.  Passwords are copied into the job
 * and wiped (sodium_memzero) before the job is freed.  Closing takes every
 * queued job out of the queue and answers it PASSWORD_BUSY on the closing
 * thread, lets running jobs finish, then joins the workers.
 *
 * The blocking forms queue an ordinary job whose callback signals a condvar
 * on the caller's stack; never call them from a pool callback (with every
 * worker busy waiting on itself, nothing would run the job). */
#include "password.h"

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "timeutil.h"
#include "xmalloc.h"

_Static_assert(PASSWORD_HASH_MAX >= crypto_pwhash_STRBYTES, "argon2id string must fit");

struct password_job {
	struct password_job *next;
	bool verify;
	bool too_long;          /* refused without hashing */
	char *password;         /* copy, wiped before free */
	size_t password_len;
	char *hash;             /* verify: copy of the stored hash */
	int64_t deadline_us;
	int64_t queued_us;
	password_cb cb;
	void *arg;
};

struct password_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct password_job *head, *tail;
	bool stopping;
	pthread_t *threads;
	unsigned n_threads;
	struct password_stats st;
};

/* ---- libsodium init ------------------------------------------------------ */

static pthread_once_t password_sodium_once = PTHREAD_ONCE_INIT;
static int password_sodium_status;

static void
password_sodium_init_once(void)
{
	password_sodium_status = sodium_init() < 0 ? -1 : 0;
	if (password_sodium_status < 0)
		log_error("password: sodium_init failed");
}

static int
password_sodium_init(void)
{
	pthread_once(&password_sodium_once, password_sodium_init_once);
	return password_sodium_status;
}

/* ---- hashing on the calling thread --------------------------------------- */

static bool
password_is_bcrypt(const char *hash)
{
	return strncmp(hash, "$2a$", 4) == 0 || strncmp(hash, "$2b$", 4) == 0 ||
	    strncmp(hash, "$2y$", 4) == 0;
}

static bool
password_is_argon2id(const char *hash)
{
	return strncmp(hash, "$argon2id$", 10) == 0;
}

static enum password_result
password_hash_len(const char *password, size_t len, char *hash_r)
{
	if (len > PASSWORD_MAX_LEN)
		return PASSWORD_ERROR;
	if (password_sodium_init() < 0)
		return PASSWORD_ERROR;
	if (crypto_pwhash_str_alg(hash_r, password, len, PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT,
		crypto_pwhash_ALG_ARGON2ID13) != 0) {
		log_warnx("password: argon2id hashing failed (out of memory?)");
		return PASSWORD_ERROR;
	}
	return PASSWORD_OK;
}

/* bcrypt only ever reads the first 72 bytes of a password.  libxcrypt refuses
 * passwords over 512 bytes where the reference's bcrypt truncated them, so
 * hand it the 72 bytes that count: the result is the same for any length. */
#define PASSWORD_BCRYPT_MAX 72

static enum password_result
password_verify_bcrypt(const char *password, size_t len, const char *hash)
{
	char pw[PASSWORD_BCRYPT_MAX + 1];
	struct crypt_data *cd;
	const char *out;
	enum password_result res;
	size_t hash_len = strlen(hash);

	if (len > PASSWORD_BCRYPT_MAX)
		len = PASSWORD_BCRYPT_MAX;
	memcpy(pw, password, len);
	pw[len] = '\0';
	cd = xcalloc(1, sizeof(*cd));
	out = crypt_rn(pw, hash, cd, (int)sizeof(*cd));
	if (out == NULL || out[0] == '*')
		res = PASSWORD_BAD_HASH;
	else if (strlen(out) != hash_len)
		res = PASSWORD_MISMATCH;
	else
		res = sodium_memcmp(out, hash, hash_len) == 0 ? PASSWORD_OK : PASSWORD_MISMATCH;
	sodium_memzero(cd, sizeof(*cd));
	sodium_memzero(pw, sizeof(pw));
	free(cd);
	return res;
}

static enum password_result
password_verify_len(const char *password, size_t len, const char *hash)
{
	if (hash == NULL)
		return PASSWORD_BAD_HASH;
	if (password_sodium_init() < 0)
		return PASSWORD_ERROR;
	if (password_is_argon2id(hash)) {
		/* needs_rehash decodes the string: -1 means it is not a valid
		 * argon2id hash, which str_verify would report as a mismatch. */
		if (strlen(hash) >= crypto_pwhash_STRBYTES ||
		    crypto_pwhash_argon2id_str_needs_rehash(hash, PASSWORD_OPSLIMIT,
			PASSWORD_MEMLIMIT) < 0)
			return PASSWORD_BAD_HASH;
		if (len > PASSWORD_MAX_LEN)
			return PASSWORD_MISMATCH;
		errno = 0;
		if (crypto_pwhash_str_verify(hash, password, len) == 0)
			return PASSWORD_OK;
		/* libsodium sets EINVAL on a mismatch; anything else is a
		 * failure to compute (memory). */
		if (errno == ENOMEM) {
			log_warnx("password: argon2id verification ran out of memory");
			return PASSWORD_ERROR;
		}
		return PASSWORD_MISMATCH;
	}
	if (password_is_bcrypt(hash)) {
		if (len > PASSWORD_MAX_LEN)
			return PASSWORD_MISMATCH;
		return password_verify_bcrypt(password, len, hash);
	}
	return PASSWORD_BAD_HASH;
}

enum password_result
password_hash_now(const char *password, char *hash_r)
{
	return password_hash_len(password, strnlen(password, PASSWORD_MAX_LEN + 1), hash_r);
}

enum password_result
password_verify_now(const char *password, const char *hash)
{
	return password_verify_len(password, strnlen(password, PASSWORD_MAX_LEN + 1), hash);
}

bool
password_needs_rehash(const char *hash)
{
	if (hash == NULL || !password_is_argon2id(hash))
		return true;
	if (password_sodium_init() < 0)
		return true;
	return crypto_pwhash_argon2id_str_needs_rehash(hash, PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT) != 0;
}

/* ---- the pool ------------------------------------------------------------ */

static void
password_job_free(struct password_job *job)
{
	if (job->password != NULL) {
		sodium_memzero(job->password, job->password_len);
		free(job->password);
	}
	free(job->hash);
	free(job);
}

static void
password_job_run(struct password_job *job)
{
	char hash[PASSWORD_HASH_MAX];
	enum password_result res;

	if (job->verify) {
		res = job->too_long ? PASSWORD_MISMATCH :
		    password_verify_len(job->password, job->password_len, job->hash);
		job->cb(job->arg, res, NULL);
	} else {
		res = job->too_long ? PASSWORD_ERROR :
		    password_hash_len(job->password, job->password_len, hash);
		job->cb(job->arg, res, res == PASSWORD_OK ? hash : NULL);
		sodium_memzero(hash, sizeof(hash));
	}
}

static void *
password_worker(void *arg)
{
	struct password_pool *pool = arg;
	struct password_job *job;
	int64_t now;
	bool expired;

	/* Hashing is the one CPU-heavy job of authd: at nice 10 a login flood
	 * yields to the session checks of everybody else.  Not SCHED_IDLE: that
	 * starves logins outright whenever anything else keeps the CPU busy (a
	 * transcode on the same box), which the tests showed. */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), PASSWORD_NICE) != 0)
		log_debug("password: cannot lower the hashing threads' priority");
	for (;;) {
		pthread_mutex_lock(&pool->mu);
		while (pool->head == NULL && !pool->stopping)
			pthread_cond_wait(&pool->cv, &pool->mu);
		if (pool->head == NULL) {
			/* stopping: close answered whatever was queued */
			pthread_mutex_unlock(&pool->mu);
			return NULL;
		}
		job = pool->head;
		pool->head = job->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		pool->st.queued_now--;
		now = time_mono_us();
		if (now - job->queued_us > (int64_t)pool->st.max_queue_wait_us)
			pool->st.max_queue_wait_us = (uint64_t)(now - job->queued_us);
		expired = now > job->deadline_us;
		if (expired) {
			pool->st.busy++;
		} else {
			/* counted when they start: a caller woken by the callback sees them */
			pool->st.running_now++;
			if (job->verify)
				pool->st.verified++;
			else
				pool->st.hashed++;
		}
		pthread_mutex_unlock(&pool->mu);

		if (expired) {
			job->cb(job->arg, PASSWORD_BUSY, NULL);
		} else {
			password_job_run(job);
			pthread_mutex_lock(&pool->mu);
			pool->st.running_now--;
			pthread_mutex_unlock(&pool->mu);
		}
		password_job_free(job);
	}
}

int
password_pool_open(struct password_pool **pool_r, unsigned concurrency, char **err_r)
{
	struct password_pool *pool;
	int rc;

	*pool_r = NULL;
	if (concurrency < 1) {
		*err_r = xstrdup("password pool: concurrency must be at least 1");
		return -1;
	}
	if (password_sodium_init() < 0) {
		*err_r = xstrdup("password pool: sodium_init failed");
		return -1;
	}
	pool = xcalloc(1, sizeof(*pool));
	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->cv, NULL);
	pool->threads = xcalloc(concurrency, sizeof(*pool->threads));
	for (unsigned i = 0; i < concurrency; i++) {
		rc = pthread_create(&pool->threads[i], NULL, password_worker, pool);
		if (rc != 0) {
			*err_r = xasprintf("password pool: starting thread %u of %u: %s", i + 1,
			    concurrency, strerror(rc));
			password_pool_close(&pool);
			return -1;
		}
		pool->n_threads++;
	}
	*pool_r = pool;
	return 0;
}

void
password_pool_close(struct password_pool **poolp)
{
	struct password_pool *pool = *poolp;
	struct password_job *queued, *job;

	if (pool == NULL)
		return;
	*poolp = NULL;
	pthread_mutex_lock(&pool->mu);
	pool->stopping = true;
	queued = pool->head;
	pool->head = pool->tail = NULL;
	for (job = queued; job != NULL; job = job->next)
		pool->st.busy++;
	pool->st.queued_now = 0;
	pthread_cond_broadcast(&pool->cv);
	pthread_mutex_unlock(&pool->mu);

	while (queued != NULL) {
		job = queued;
		queued = job->next;
		job->cb(job->arg, PASSWORD_BUSY, NULL);
		password_job_free(job);
	}
	for (unsigned i = 0; i < pool->n_threads; i++)
		pthread_join(pool->threads[i], NULL);
	free(pool->threads);
	pthread_cond_destroy(&pool->cv);
	pthread_mutex_destroy(&pool->mu);
	free(pool);
}

static void
password_submit(struct password_pool *pool, bool verify, const char *password, const char *hash,
    int64_t deadline_us, password_cb cb, void *arg)
{
	struct password_job *job = xcalloc(1, sizeof(*job));
	size_t len = strnlen(password, PASSWORD_MAX_LEN + 1);

	job->verify = verify;
	job->deadline_us = deadline_us;
	job->cb = cb;
	job->arg = arg;
	if (len > PASSWORD_MAX_LEN) {
		job->too_long = true;
	} else {
		job->password = xmalloc(len + 1);
		memcpy(job->password, password, len + 1);
		job->password_len = len;
	}
	if (verify && hash != NULL)
		job->hash = xstrdup(hash);

	pthread_mutex_lock(&pool->mu);
	if (pool->stopping) {
		pool->st.busy++;
		pthread_mutex_unlock(&pool->mu);
		cb(arg, PASSWORD_BUSY, NULL);
		password_job_free(job);
		return;
	}
	job->queued_us = time_mono_us();
	if (pool->tail != NULL)
		pool->tail->next = job;
	else
		pool->head = job;
	pool->tail = job;
	pool->st.queued_now++;
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
}

void
password_hash_async(struct password_pool *pool, const char *password, int64_t deadline_us,
    password_cb cb, void *arg)
{
	password_submit(pool, false, password, NULL, deadline_us, cb, arg);
}

void
password_verify_async(struct password_pool *pool, const char *password, const char *hash,
    int64_t deadline_us, password_cb cb, void *arg)
{
	password_submit(pool, true, password, hash, deadline_us, cb, arg);
}

/* ---- blocking forms ------------------------------------------------------ */

struct password_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	enum password_result res;
	char *hash_r;
};

static void
password_wait_cb(void *arg, enum password_result res, const char *hash)
{
	struct password_wait *w = arg;

	pthread_mutex_lock(&w->mu);
	w->res = res;
	if (w->hash_r != NULL && hash != NULL) {
		size_t n = strlen(hash);

		if (n >= PASSWORD_HASH_MAX)
			w->res = PASSWORD_ERROR;
		else
			memcpy(w->hash_r, hash, n + 1);
	}
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static enum password_result
password_wait_for(struct password_pool *pool, bool verify, const char *password,
    const char *hash, int64_t deadline_us, char *hash_r)
{
	struct password_wait w = {.hash_r = hash_r, .res = PASSWORD_ERROR};
	enum password_result res;

	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	password_submit(pool, verify, password, hash, deadline_us, password_wait_cb, &w);
	pthread_mutex_lock(&w.mu);
	while (!w.done)
		pthread_cond_wait(&w.cv, &w.mu);
	res = w.res;
	pthread_mutex_unlock(&w.mu);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return res;
}

enum password_result
password_hash(struct password_pool *pool, const char *password, int64_t deadline_us, char *hash_r)
{
	return password_wait_for(pool, false, password, NULL, deadline_us, hash_r);
}

enum password_result
password_verify(struct password_pool *pool, const char *password, const char *hash,
    int64_t deadline_us)
{
	return password_wait_for(pool, true, password, hash, deadline_us, NULL);
}

void
password_pool_stats(struct password_pool *pool, struct password_stats *st_r)
{
	pthread_mutex_lock(&pool->mu);
	*st_r = pool->st;
	pthread_mutex_unlock(&pool->mu);
}
