/* Helpers shared by the C benchmark programs (the dora C sender and receiver and the bare
 * socket pair): clocks, the payload pattern, the BENCH_* environment, and the receiver's
 * bookkeeping, written as the same JSON the Python receiver writes (bench/nodes), so the
 * harness reads every system's results one way. C11 and libc only. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_MAX_SIZES 8
#define BENCH_BURST_WARMUP_GAP_NS 50000000LL /* as bench/nodes/sender.py */

/* CLOCK_REALTIME in ns: both ends of a latency use it, as time.time_ns() does in Python. */
int64_t bench_now_ns(void);
/* CLOCK_MONOTONIC in ns, for pacing. */
int64_t bench_mono_ns(void);
/* Sleep until CLOCK_MONOTONIC reaches `deadline_ns` (absolute schedule: no drift). */
void bench_sleep_until(int64_t deadline_ns);

/* The byte every payload of message `seq` is filled with (never 0, changes every message). */
static inline uint8_t bench_expected_byte(int64_t seq) { return (uint8_t)(seq % 251 + 1); }

/* NULL when `len` bytes at `data` are all bench_expected_byte(seq), else a static text. */
const char *bench_verify(const uint8_t *data, size_t len, size_t size, int64_t seq);

/* The sending plan from BENCH_SIZES, BENCH_COUNTS, BENCH_WARMUPS, BENCH_INTERVALS_MS. */
typedef struct BenchPlan {
  size_t n;
  int64_t sizes[BENCH_MAX_SIZES];
  int64_t counts[BENCH_MAX_SIZES];
  int64_t warmups[BENCH_MAX_SIZES];
  double intervals_ms[BENCH_MAX_SIZES];
} BenchPlan;

/* 0, or -1 with a message on stderr. */
int bench_plan_from_env(BenchPlan *plan);
int64_t bench_plan_total(const BenchPlan *plan);

/* Receiver-side counts and latencies, per payload size. */
typedef struct BenchSize {
  int64_t size;
  int64_t received, warm;
  int64_t *lat_ns;
  size_t n_lat, cap_lat;
  int64_t first_send_ns, first_recv_ns, last_recv_ns; /* 0: none yet */
} BenchSize;

typedef struct BenchStats {
  int64_t expect;
  int64_t received, unique, duplicates, reordered, corrupt, max_seq;
  int64_t first_recv_ns;
  uint8_t *seen; /* one byte per sequence number below `expect` */
  BenchSize sizes[BENCH_MAX_SIZES];
  size_t n_sizes;
  char errors[4][160];
  size_t n_errors;
  const char *end;
} BenchStats;

void bench_stats_init(BenchStats *stats, int64_t expect);
/* Record one message received at `t_recv`; `error` is bench_verify's verdict. True when
 * this message completed the expected count (time to acknowledge). */
bool bench_stats_add(BenchStats *stats, int64_t t_recv, int64_t seq, int64_t size, bool warm,
                     int64_t t_send, const char *error);
void bench_stats_error(BenchStats *stats, const char *text);
/* Write the JSON result to `path` atomically (tmp file + rename); 0 or -1. */
int bench_stats_write(const BenchStats *stats, const char *path);
void bench_stats_free(BenchStats *stats);

#endif
