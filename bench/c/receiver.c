/* Benchmark receiver as a dora C node: the C twin of bench/nodes/receiver.py.
 *
 * Takes the receive time (CLOCK_REALTIME) first, before anything else touches the event,
 * then reads the parameters seq, t_send, size and warm, verifies every payload byte, and
 * counts. Once BENCH_EXPECT distinct messages arrived it sends an ack on output `done`.
 * It stops on STOP or when input `data` closes and writes the same JSON as the Python
 * receiver to BENCH_RESULT. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "dora_node_api.h"

static bool is_input(void *event, const char *want) {
  char *id;
  size_t len;
  read_dora_input_id(event, &id, &len);
  return id != NULL && len == strlen(want) && memcmp(id, want, len) == 0;
}

static void on_input(void *ctx, void *event, int64_t t_recv, BenchStats *stats) {
  int64_t seq, size, t_send;
  bool warm;
  if (dora_event_param_int(event, "seq", &seq) != DORA_OK ||
      dora_event_param_int(event, "size", &size) != DORA_OK ||
      dora_event_param_int(event, "t_send", &t_send) != DORA_OK ||
      dora_event_param_bool(event, "warm", &warm) != DORA_OK) {
    stats->received++;
    stats->corrupt++;
    bench_stats_error(stats, "missing parameter");
    return;
  }
  char *data;
  size_t len;
  read_dora_input_data(event, &data, &len);
  const char *error = bench_verify((const uint8_t *)data, len, (size_t)size, seq);
  if (bench_stats_add(stats, t_recv, seq, size, warm, t_send, error)) {
    int64_t expect = stats->expect;
    if (dora_send_output(ctx, "done", 4, (const char *)&expect, sizeof expect) != 0) {
      fprintf(stderr, "receiver: ack failed: %s\n", dora_last_error());
    }
  }
}

int main(void) {
  const char *path = getenv("BENCH_RESULT");
  const char *expect = getenv("BENCH_EXPECT");
  if (path == NULL) {
    fprintf(stderr, "receiver: BENCH_RESULT is not set\n");
    return 2;
  }
  BenchStats stats;
  bench_stats_init(&stats, expect ? atoll(expect) : 0);
  void *ctx = init_dora_context_from_env();
  if (ctx == NULL) {
    fprintf(stderr, "receiver: cannot start: %s\n", dora_last_error());
    return 1;
  }
  void *event;
  while ((event = dora_next_event(ctx)) != NULL) {
    int64_t t_recv = bench_now_ns();
    enum DoraEventType type = read_dora_event_type(event);
    bool stop = false;
    if (type == DoraEventType_Input && is_input(event, "data")) {
      on_input(ctx, event, t_recv, &stats);
    } else if (type == DoraEventType_Stop) {
      stats.end = "STOP";
      stop = true;
    } else if (type == DoraEventType_InputClosed) {
      stats.end = "INPUT_CLOSED";
      stop = true;
    } else if (type == DoraEventType_Error) {
      bench_stats_error(&stats, "error event");
    }
    free_dora_event(event);
    if (stop) break;
  }
  int rc = bench_stats_write(&stats, path);
  printf("receiver: %lld messages, %lld corrupt, end: %s\n", (long long)stats.received,
         (long long)stats.corrupt, stats.end);
  fflush(stdout);
  bench_stats_free(&stats);
  free_dora_context(ctx);
  return rc == 0 ? 0 : 1;
}
