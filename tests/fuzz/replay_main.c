/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * replay_main.c - the driver that makes each libFuzzer target a regression test under gcc:
 * every file of the corpus directory (argv[1]) runs through LLVMFuzzerTestOneInput(), then
 * MUTATIONS (or argv[2]) deterministic mutations of them (bit flips, byte changes, cuts, inserts,
 * splices), so the sanitizers see more than the stored inputs on every `make check`.
 * `make fuzz` links the same targets with libFuzzer instead (scripts/fuzz).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FILES 256
#define INPUT_MAX (1u << 16)
#define MUTATIONS 4000

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	/* xorshift64*: the same sequence on every run, so a failure reproduces */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static size_t mutate(uint8_t *buf, size_t len, const uint8_t *other, size_t olen)
{
	unsigned rounds = 1 + (unsigned)(next() % 4);

	for (unsigned r = 0; r < rounds; r++) {
		size_t pos = len ? (size_t)(next() % len) : 0;

		switch (next() % 6) {
		case 0: /* flip a bit */
			if (len)
				buf[pos] ^= (uint8_t)(1u << (next() % 8));
			break;
		case 1: { /* an interesting byte */
			static const uint8_t v[] = { 0, 1, 0x7f, 0x80, 0xff, ',', '@', '-', ':', '9' };

			if (len)
				buf[pos] = v[next() % sizeof(v)];
			break;
		}
		case 2: /* cut the tail */
			len = pos;
			break;
		case 3: /* insert a random byte */
			if (len < INPUT_MAX) {
				memmove(buf + pos + 1, buf + pos, len - pos);
				buf[pos] = (uint8_t)next();
				len++;
			}
			break;
		case 4: /* delete a byte */
			if (len) {
				memmove(buf + pos, buf + pos + 1, len - pos - 1);
				len--;
			}
			break;
		case 5: /* splice: our head, the other input's tail */
			if (olen) {
				size_t from = (size_t)(next() % olen), n = olen - from;

				if (pos + n > INPUT_MAX)
					n = INPUT_MAX - pos;
				memcpy(buf + pos, other + from, n);
				len = pos + n;
			}
			break;
		}
	}
	return len;
}

/* MQCAP_FUZZ_SAVE=FILE: each mutated input is written there before it runs, so after a
 * crash FILE holds the reproducer (for libFuzzer's own runs, see scripts/fuzz). */
static void save_input(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f) {
		fwrite(buf, 1, len, f);
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	static uint8_t *files[MAX_FILES];
	static size_t lens[MAX_FILES];
	static uint8_t buf[INPUT_MAX];
	unsigned n = 0, mutations = MUTATIONS;
	const char *save = getenv("MQCAP_FUZZ_SAVE");
	struct dirent *de;
	DIR *d;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s CORPUS_DIR [MUTATIONS]\n", argv[0]);
		return 2;
	}
	if (argc == 3)
		mutations = (unsigned)strtoul(argv[2], NULL, 10);
	d = opendir(argv[1]);
	if (!d) {
		printf("SKIP: corpus %s not found\n", argv[1]);
		return 77;
	}
	while ((de = readdir(d)) && n < MAX_FILES) {
		char path[4096];
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		files[n] = malloc(INPUT_MAX);
		lens[n] = fread(files[n], 1, INPUT_MAX, f);
		fclose(f);
		/* each stored input once, as it is */
		memcpy(buf, files[n], lens[n]);
		LLVMFuzzerTestOneInput(buf, lens[n]);
		n++;
	}
	closedir(d);
	if (!n) {
		printf("SKIP: corpus %s is empty\n", argv[1]);
		return 77;
	}
	for (unsigned i = 0; i < mutations; i++) {
		unsigned a = (unsigned)(next() % n), b = (unsigned)(next() % n);
		size_t len;

		memcpy(buf, files[a], lens[a]);
		len = mutate(buf, lens[a], files[b], lens[b]);
		if (save)
			save_input(save, buf, len);
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("%u corpus files and %u mutations ran clean\n", n, mutations);
	for (unsigned i = 0; i < n; i++)
		free(files[i]);
	return 0;
}
