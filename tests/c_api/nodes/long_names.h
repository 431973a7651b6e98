/* Test helper: the outputs and messages of c_long_tx.c, checked by c_long_rx.c and
 * py_long_rx.py (which rebuilds this table: keep the two in step).
 *
 * An output's Data frame starts with a head (array header, "data", the name) that the
 * sender caches when it fits 48 bytes, i.e. names of at most 40 bytes; longer names take
 * the uncached path. The lengths sit on both sides of that and of the name's msgpack
 * header widths (fixstr up to 31, str8 up to 255, str16 beyond). The test's dataflow
 * names output `<name of length L>` and its receivers' input `n<L>`.
 *
 * Round r of output L: kind r % 4 (a copied inline payload, an inline sample, a
 * shared-memory sample, an Arrow Int64 array, whose first send carries its schema);
 * parameters when (r / 4) is odd. */
#ifndef TEST_LONG_NAMES_H
#define TEST_LONG_NAMES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const size_t LONG_LENS[] = {1, 31, 32, 39, 40, 41, 42, 255, 256, 1000};
#define LONG_N_OUTPUTS (sizeof LONG_LENS / sizeof LONG_LENS[0])
#define LONG_MAX_LEN 1000
#define LONG_ROUNDS 16
#define LONG_SHM_SIZE 5000 /* over the 4096-byte shared-memory threshold */
#define LONG_ARROW_LEN 3

enum { LONG_COPY = 0, LONG_INLINE_SAMPLE = 1, LONG_SHM_SAMPLE = 2, LONG_ARROW = 3 };

static const char LONG_CHARS[] = "abcdefghijklmnopqrstuvwxyz0123456789-_.";

/* The output name of length `len` into `out` (len + 1 bytes): a valid dora data id, a
 * `/` every 16 bytes but never first or last. */
static inline void long_name(size_t len, char *out) {
  for (size_t i = 0; i < len; i++)
    out[i] = (i % 16 == 8 && i + 1 < len) ? '/' : LONG_CHARS[(i + len) % (sizeof LONG_CHARS - 1)];
  out[len] = 0;
}

static inline int long_kind(unsigned round) { return (int)(round % 4); }
static inline int long_has_params(unsigned round) { return (round / 4) % 2 == 1; }

static inline size_t long_payload_size(size_t len, unsigned round) {
  return long_kind(round) == LONG_SHM_SAMPLE ? LONG_SHM_SIZE + round : 1 + (len + round) % 300;
}

static inline uint8_t long_byte(size_t len, unsigned round, size_t i) {
  return (uint8_t)(len * 31 + round * 7 + i);
}

/* The Int64 values of an Arrow round. */
static inline int64_t long_arrow_value(size_t len, unsigned round, size_t i) {
  int64_t v[LONG_ARROW_LEN] = {(int64_t)len, -(int64_t)round * 1000, INT64_MAX - (int64_t)round};
  return v[i];
}

#endif
