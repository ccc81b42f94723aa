/* Replay driver: fuzz_x [DIR|FILE]...  Runs every corpus file, then
 * FUZZ_ITERATIONS (default 20000) mutations of them (bit flips, byte sets,
 * inserts, deletes, truncations, splices) from a fixed seed (FUZZ_SEED), so a
 * failure is reproducible.  Exit 0 when every input was handled. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

struct input {
	uint8_t *data;
	size_t len;
};

static struct input *fuzz_inputs;
static size_t fuzz_n, fuzz_cap;

static void
fuzz_add_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct input in = {0};
	uint8_t buf[65536];
	size_t n;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		in.data = realloc(in.data, in.len + n);
		memcpy(in.data + in.len, buf, n);
		in.len += n;
	}
	fclose(f);
	if (fuzz_n == fuzz_cap) {
		fuzz_cap = fuzz_cap ? fuzz_cap * 2 : 64;
		fuzz_inputs = realloc(fuzz_inputs, fuzz_cap * sizeof(*fuzz_inputs));
	}
	fuzz_inputs[fuzz_n++] = in;
}

static void
fuzz_add(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (stat(path, &st) != 0) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		fuzz_add_file(path);
		return;
	}
	if ((d = opendir(path)) == NULL) {
		perror(path);
		exit(2);
	}
	while ((e = readdir(d)) != NULL) {
		char full[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(full, sizeof(full), "%s/%s", path, e->d_name);
		fuzz_add(full);
	}
	closedir(d);
}

static uint64_t fuzz_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
fuzz_rand(void)
{
	/* xorshift64*: deterministic, good enough to pick mutations */
	fuzz_state ^= fuzz_state >> 12;
	fuzz_state ^= fuzz_state << 25;
	fuzz_state ^= fuzz_state >> 27;
	return fuzz_state * 2685821657736338717ULL;
}

static size_t
fuzz_mutate(uint8_t *buf, size_t len, size_t cap)
{
	static const uint8_t interesting[] = {0x00, 0x01, 0x7f, 0x80, 0xc0, 0xc1, 0xc2, 0xcc,
	    0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xff, '/', '.', '%', '{', '}', '\n'};
	unsigned rounds = 1 + (unsigned)(fuzz_rand() % 4);

	for (unsigned r = 0; r < rounds; r++) {
		size_t pos = len ? (size_t)(fuzz_rand() % len) : 0;

		switch (fuzz_rand() % 6) {
		case 0:
			if (len)
				buf[pos] ^= (uint8_t)(1u << (fuzz_rand() % 8));
			break;
		case 1:
			if (len)
				buf[pos] = interesting[fuzz_rand() % sizeof(interesting)];
			break;
		case 2:
			if (len < cap) {
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = (uint8_t)fuzz_rand();
				len++;
			}
			break;
		case 3:
			if (len) {
				memmove(buf + pos, buf + pos + 1, len - pos - 1);
				len--;
			}
			break;
		case 4:
			len = len ? (size_t)(fuzz_rand() % len) : 0;
			break;
		default: {
			const struct input *o = &fuzz_inputs[fuzz_rand() % fuzz_n];
			size_t take = o->len ? (size_t)(fuzz_rand() % o->len) : 0;
			if (take > cap - pos)
				take = cap - pos;
			memcpy(buf + pos, o->data, take);
			if (pos + take > len)
				len = pos + take;
			break;
		}
		}
	}
	return len;
}

int
main(int argc, char **argv)
{
	const char *it = getenv("FUZZ_ITERATIONS"), *seed = getenv("FUZZ_SEED");
	unsigned long iterations = it ? strtoul(it, NULL, 10) : 20000;
	uint8_t *buf;
	size_t cap = 1;

	if (seed)
		fuzz_state = strtoull(seed, NULL, 10) | 1;
	for (int i = 1; i < argc; i++)
		fuzz_add(argv[i]);
	if (fuzz_n == 0) {
		fprintf(stderr, "%s: no corpus\n", argv[0]);
		return 2;
	}
	for (size_t i = 0; i < fuzz_n; i++) {
		LLVMFuzzerTestOneInput(fuzz_inputs[i].data, fuzz_inputs[i].len);
		if (fuzz_inputs[i].len * 2 + 64 > cap)
			cap = fuzz_inputs[i].len * 2 + 64;
	}
	buf = malloc(cap);
	for (unsigned long i = 0; i < iterations; i++) {
		const struct input *in = &fuzz_inputs[fuzz_rand() % fuzz_n];
		size_t len;
		uint8_t *exact;

		memcpy(buf, in->data, in->len);
		len = fuzz_mutate(buf, in->len, cap);
		/* an exact-size copy so ASan sees reads past the end */
		exact = malloc(len ? len : 1);
		memcpy(exact, buf, len);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	printf("%s: %zu corpus inputs, %lu mutations: ok\n", argv[0], fuzz_n, iterations);
	for (size_t i = 0; i < fuzz_n; i++)
		free(fuzz_inputs[i].data);
	free(fuzz_inputs);
	free(buf);
	return 0;
}
