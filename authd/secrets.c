/* secrets: the key file, sealing TOTP secrets, recovery codes and their
 * keyed hashes (see secrets.h).
 *
 * Key file: 64 hex digits (32 bytes), optionally followed by whitespace (a
 * newline).  It is refused unless it is a regular file with no permission
 * bits for group or others.  A missing file is created: 32 random bytes go to
 * a temporary file in the same directory (mkostemp: O_CREAT|O_EXCL, 0600),
 * which is fsync'd, then linked to the final name (link fails when another
 * process created the key meanwhile, and we then use theirs; file systems
 * without hard links get rename), then the directory is fsync'd.
 *
 * Sealed format: "v1:" + base64 (RFC 4648, with padding) of
 * nonce (24) || MAC (16) || ciphertext, made with libsodium's
 * crypto_secretbox_xchacha20poly1305_easy and a random nonce. */
#include "secrets.h"

#include <ctype.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

#define SECRETS_PLAIN_MAX 128
#define SECRETS_NONCE_BYTES crypto_secretbox_xchacha20poly1305_NONCEBYTES
#define SECRETS_MAC_BYTES crypto_secretbox_xchacha20poly1305_MACBYTES
#define SECRETS_BOX_MAX (SECRETS_NONCE_BYTES + SECRETS_MAC_BYTES + SECRETS_PLAIN_MAX)
#define SECRETS_B64 sodium_base64_VARIANT_ORIGINAL
#define SECRETS_KEY_HEX (SECRETS_KEY_BYTES * 2)
#define SECRETS_CODE_LEN 10
/* A recovery code longer than this cannot be ours; hashing stops there. */
#define SECRETS_CODE_INPUT_MAX 64

_Static_assert(crypto_secretbox_xchacha20poly1305_KEYBYTES == SECRETS_KEY_BYTES, "key size");
_Static_assert(crypto_generichash_KEYBYTES_MAX >= SECRETS_KEY_BYTES, "generichash key size");
_Static_assert(3 + 4 * ((SECRETS_BOX_MAX + 2) / 3) + 1 <= SECRETS_SEALED_MAX, "sealed size");

static const char secrets_code_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

static pthread_once_t secrets_sodium_once = PTHREAD_ONCE_INIT;
static int secrets_sodium_status;

static void
secrets_sodium_init_once(void)
{
	secrets_sodium_status = sodium_init() < 0 ? -1 : 0;
}

static int
secrets_sodium_init(void)
{
	pthread_once(&secrets_sodium_once, secrets_sodium_init_once);
	return secrets_sodium_status;
}

/* ---- key file ------------------------------------------------------------ */

/* 0, 1 when the file does not exist, or -1 with *err_r. */
static int
secrets_read_key(struct secrets *s, const char *path, char **err_r)
{
	char buf[SECRETS_KEY_HEX + 64];
	struct stat st;
	ssize_t n;
	size_t len = 0, bin_len = 0;
	const char *end = NULL;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		*err_r = xasprintf("secret key file %s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		*err_r = xasprintf("secret key file %s: fstat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		*err_r = xasprintf("secret key file %s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		*err_r = xasprintf("secret key file %s: mode %04o gives group or others access; "
		    "it must be 0600 or 0400 (chmod 600 %s)", path,
		    (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	for (;;) {
		if (len == sizeof(buf) - 1) {
			*err_r = xasprintf("secret key file %s: malformed: too long; it must hold "
			    "%d hex digits (%d random bytes) on one line", path, SECRETS_KEY_HEX,
			    SECRETS_KEY_BYTES);
			goto out;
		}
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err_r = xasprintf("secret key file %s: read: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (sodium_hex2bin(s->key, sizeof(s->key), buf, len, NULL, &bin_len, &end) != 0 ||
	    bin_len != SECRETS_KEY_BYTES || end != buf + SECRETS_KEY_HEX) {
		*err_r = xasprintf("secret key file %s: malformed: it must hold %d hex digits "
		    "(%d random bytes) on one line", path, SECRETS_KEY_HEX, SECRETS_KEY_BYTES);
		goto out;
	}
	for (const char *p = end; p < buf + len; p++) {
		if (!isspace((unsigned char)*p)) {
			*err_r = xasprintf("secret key file %s: malformed: it must hold %d hex "
			    "digits (%d random bytes) on one line", path, SECRETS_KEY_HEX,
			    SECRETS_KEY_BYTES);
			goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		sodium_memzero(s->key, sizeof(s->key));
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

static int
secrets_fsync_dir(const char *path, char **err_r)
{
	char *copy = xstrdup(path);
	const char *dir = dirname(copy);
	int fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		*err_r = xasprintf("secret key file %s: fsync of directory %s: %s", path, dir,
		    strerror(errno));
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

/* 0 created, 1 someone else created it first, -1 with *err_r. */
static int
secrets_create_key(struct secrets *s, const char *path, char **err_r)
{
	char hex[SECRETS_KEY_HEX + 2];
	char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	size_t off = 0, len;
	ssize_t n;
	int fd, rc = -1;
	bool linked = false;

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		*err_r = xasprintf("secret key file %s: cannot create %s: %s", path, tmp,
		    strerror(errno));
		free(tmp);
		return -1;
	}
	randombytes_buf(s->key, sizeof(s->key));
	sodium_bin2hex(hex, sizeof(hex), s->key, sizeof(s->key));
	len = strlen(hex);
	hex[len++] = '\n';
	if (fchmod(fd, 0600) != 0) {
		*err_r = xasprintf("secret key file %s: chmod %s: %s", path, tmp, strerror(errno));
		goto out;
	}
	while (off < len) {
		n = write(fd, hex + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err_r = xasprintf("secret key file %s: write %s: %s", path, tmp,
			    strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		*err_r = xasprintf("secret key file %s: fsync %s: %s", path, tmp, strerror(errno));
		goto out;
	}
	if (link(tmp, path) == 0) {
		linked = true;
	} else if (errno == EEXIST) {
		rc = 1;
		goto out;
	} else if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP) {
		/* no hard links here (vfat, some FUSE and network file systems) */
		if (rename(tmp, path) != 0) {
			*err_r = xasprintf("secret key file %s: rename from %s: %s", path, tmp,
			    strerror(errno));
			goto out;
		}
	} else {
		*err_r = xasprintf("secret key file %s: link from %s: %s", path, tmp,
		    strerror(errno));
		goto out;
	}
	if (secrets_fsync_dir(path, err_r) != 0)
		goto out;
	rc = 0;
out:
	sodium_memzero(hex, sizeof(hex));
	close(fd);
	if (rc != 0 || linked)
		unlink(tmp);
	if (rc != 0)
		sodium_memzero(s->key, sizeof(s->key));
	free(tmp);
	return rc;
}

int
secrets_load(struct secrets *s, const char *path, bool *created_r, char **err_r)
{
	int rc;

	if (created_r != NULL)
		*created_r = false;
	if (secrets_sodium_init() < 0) {
		*err_r = xstrdup("secrets: sodium_init failed");
		return -1;
	}
	if (path == NULL || path[0] == '\0') {
		*err_r = xstrdup("secret key file: no path given");
		return -1;
	}
	rc = secrets_read_key(s, path, err_r);
	if (rc <= 0)
		return rc;
	rc = secrets_create_key(s, path, err_r);
	if (rc < 0)
		return -1;
	if (rc == 1) { /* lost a race with another process: use its key */
		rc = secrets_read_key(s, path, err_r);
		if (rc == 1) /* a dangling symbolic link, most likely */
			*err_r = xasprintf("secret key file %s: exists but cannot be opened "
			    "(dangling symbolic link?)", path);
		return rc == 0 ? 0 : -1;
	}
	log_info("created secret key file %s", path);
	if (created_r != NULL)
		*created_r = true;
	return 0;
}

void
secrets_wipe(struct secrets *s)
{
	sodium_memzero(s->key, sizeof(s->key));
}

/* ---- sealing ------------------------------------------------------------- */

int
secrets_seal(const struct secrets *s, const char *plain, char *out, size_t out_len)
{
	unsigned char box[SECRETS_BOX_MAX];
	size_t plain_len = strnlen(plain, SECRETS_PLAIN_MAX + 1);
	size_t box_len = SECRETS_NONCE_BYTES + SECRETS_MAC_BYTES + plain_len;

	if (plain_len > SECRETS_PLAIN_MAX || secrets_sodium_init() < 0)
		return -1;
	if (out_len < 3 + sodium_base64_ENCODED_LEN(box_len, SECRETS_B64))
		return -1;
	randombytes_buf(box, SECRETS_NONCE_BYTES);
	if (crypto_secretbox_xchacha20poly1305_easy(box + SECRETS_NONCE_BYTES,
		(const unsigned char *)plain, plain_len, box, s->key) != 0)
		return -1;
	memcpy(out, "v1:", 3);
	sodium_bin2base64(out + 3, out_len - 3, box, box_len, SECRETS_B64);
	return 0;
}

int
secrets_open(const struct secrets *s, const char *sealed, char *out, size_t out_len)
{
	unsigned char box[SECRETS_BOX_MAX];
	unsigned char plain[SECRETS_PLAIN_MAX];
	const char *b64, *end = NULL;
	size_t b64_len, box_len = 0, plain_len;
	int rc = -1;

	if (strncmp(sealed, "v1:", 3) != 0)
		return -1;
	b64 = sealed + 3;
	b64_len = strlen(b64);
	if (sodium_base642bin(box, sizeof(box), b64, b64_len, NULL, &box_len, &end,
		SECRETS_B64) != 0 || end != b64 + b64_len)
		return -1;
	if (box_len < SECRETS_NONCE_BYTES + SECRETS_MAC_BYTES)
		return -1;
	plain_len = box_len - SECRETS_NONCE_BYTES - SECRETS_MAC_BYTES;
	if (plain_len + 1 > out_len)
		return -1;
	if (crypto_secretbox_xchacha20poly1305_open_easy(plain, box + SECRETS_NONCE_BYTES,
		box_len - SECRETS_NONCE_BYTES, box, s->key) != 0)
		goto out;
	if (memchr(plain, '\0', plain_len) != NULL)
		goto out;
	memcpy(out, plain, plain_len);
	out[plain_len] = '\0';
	rc = 0;
out:
	sodium_memzero(plain, sizeof(plain));
	return rc;
}

/* ---- recovery codes ------------------------------------------------------ */

void
secrets_recovery_codes(char (*codes)[11], size_t n)
{
	(void)secrets_sodium_init();
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < SECRETS_CODE_LEN; j++)
			codes[i][j] = secrets_code_alphabet[randombytes_uniform(
			    sizeof(secrets_code_alphabet) - 1)];
		codes[i][SECRETS_CODE_LEN] = '\0';
	}
}

/* The code upper-cased, at most SECRETS_CODE_INPUT_MAX characters. */
static size_t
secrets_code_upper(const char *code, char buf[SECRETS_CODE_INPUT_MAX + 1])
{
	size_t n = 0;

	for (; code[n] != '\0' && n < SECRETS_CODE_INPUT_MAX; n++)
		buf[n] = (char)toupper((unsigned char)code[n]);
	buf[n] = '\0';
	return n;
}

void
secrets_code_hash(const struct secrets *s, const char *code, char out[SECRETS_CODE_HASH_MAX])
{
	char upper[SECRETS_CODE_INPUT_MAX + 1];
	unsigned char digest[32];
	size_t n = secrets_code_upper(code, upper);

	(void)secrets_sodium_init();
	crypto_generichash(digest, sizeof(digest), (const unsigned char *)upper, n, s->key,
	    sizeof(s->key));
	memcpy(out, "k1:", 3);
	sodium_bin2hex(out + 3, SECRETS_CODE_HASH_MAX - 3, digest, sizeof(digest));
	sodium_memzero(upper, sizeof(upper));
}

bool
secrets_code_matches(const struct secrets *s, const char *code, const char *stored)
{
	char upper[SECRETS_CODE_INPUT_MAX + 1];
	char mine[SECRETS_CODE_HASH_MAX];
	bool ok = false;

	if (code == NULL || stored == NULL)
		return false;
	if (strncmp(stored, "k1:", 3) == 0) {
		size_t len;

		secrets_code_hash(s, code, mine);
		len = strlen(mine);
		ok = strlen(stored) == len && sodium_memcmp(mine, stored, len) == 0;
	} else if (strncmp(stored, "$2", 2) == 0) {
		/* bcrypt hashes imported from the reference, whose codes were
		 * made of [A-Z0-9]: hash the upper-cased code. */
		struct crypt_data *cd = xcalloc(1, sizeof(*cd));
		size_t len = strlen(stored);
		const char *res;

		secrets_code_upper(code, upper);
		res = crypt_rn(upper, stored, cd, (int)sizeof(*cd));
		ok = res != NULL && res[0] != '*' && strlen(res) == len &&
		    sodium_memcmp(res, stored, len) == 0;
		sodium_memzero(cd, sizeof(*cd));
		free(cd);
		sodium_memzero(upper, sizeof(upper));
	}
	return ok;
}
