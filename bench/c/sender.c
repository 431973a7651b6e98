/* Benchmark sender as a dora C node: the C twin of bench/nodes/sender.py.
 *
 * Same environment (BENCH_SIZES, BENCH_COUNTS, BENCH_WARMUPS, BENCH_INTERVALS_MS, BENCH_ACKS,
 * BENCH_ACK_TIMEOUT_S, BENCH_RESULT) and the same messages: output `data`, a UInt8 payload
 * filled with bench_expected_byte(seq), parameters seq, t_send (CLOCK_REALTIME ns taken just
 * before the send call), size and warm. Paced sizes follow an absolute schedule; interval 0
 * sends BENCH_BURST_WARMUP paced warm-ups, then the rest back to back. Afterwards it waits
 * for an ack from every receiver (they arrive once all messages did), so the run measures
 * transport, not shutdown. The payload is built before the clock starts and copied by
 * dora_send_output_with_params, as send_output copies a ready array in Python. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "dora_node_api.h"

static const char OUTPUT[] = "data";

static int send_one(void *ctx, const uint8_t *payload, int64_t size, int64_t seq, bool warm) {
  DoraParam params[4] = {
      {.key = "seq", .type = DoraParamType_Int, .value.i = seq},
      {.key = "t_send", .type = DoraParamType_Int, .value.i = 0},
      {.key = "size", .type = DoraParamType_Int, .value.i = size},
      {.key = "warm", .type = DoraParamType_Bool, .value.b = warm},
  };
  params[1].value.i = bench_now_ns();
  if (dora_send_output_with_params(ctx, OUTPUT, sizeof OUTPUT - 1, (const char *)payload,
                                   (size_t)size, params, 4) != 0) {
    fprintf(stderr, "sender: send of seq %lld failed: %s\n", (long long)seq, dora_last_error());
    return -1;
  }
  return 0;
}

/* `total` messages `interval_ns` apart on an absolute schedule. */
static int paced(void *ctx, uint8_t *payload, int64_t size, int64_t first_seq, int64_t total,
                 int64_t warmup, int64_t interval_ns) {
  int64_t due = bench_mono_ns();
  for (int64_t i = 0; i < total; i++) {
    int64_t seq = first_seq + i;
    memset(payload, bench_expected_byte(seq), (size_t)size); /* before the clock starts */
    due += interval_ns;
    bench_sleep_until(due);
    if (send_one(ctx, payload, size, seq, i < warmup) != 0) return -1;
  }
  return 0;
}

static int burst(void *ctx, uint8_t *payload, int64_t size, int64_t first_seq, int64_t total,
                 int64_t warmup) {
  if (paced(ctx, payload, size, first_seq, warmup, warmup, BENCH_BURST_WARMUP_GAP_NS) != 0) {
    return -1;
  }
  if (warmup) bench_sleep_until(bench_mono_ns() + BENCH_BURST_WARMUP_GAP_NS);
  /* one ready payload per fill byte, built before the first timed send */
  uint8_t *fills = malloc(251 * (size_t)(size ? size : 1));
  if (fills == NULL) return -1;
  for (int b = 0; b < 251; b++) memset(fills + (size_t)b * (size_t)size, b + 1, (size_t)size);
  int rc = 0;
  for (int64_t seq = first_seq + warmup; seq < first_seq + total && rc == 0; seq++) {
    const uint8_t *ready = fills + (size_t)(bench_expected_byte(seq) - 1) * (size_t)size;
    rc = send_one(ctx, ready, size, seq, false);
  }
  free(fills);
  return rc;
}

/* Stay until every ack input delivered something or closed; true when all came. */
static bool wait_for_acks(void *ctx, double timeout_s) {
  char *acks = getenv("BENCH_ACKS") ? strdup(getenv("BENCH_ACKS")) : NULL;
  char *names[16];
  bool done[16] = {false};
  size_t n = 0;
  for (char *tok = acks ? strtok(acks, ",") : NULL; tok && n < 16; tok = strtok(NULL, ",")) {
    names[n++] = tok;
  }
  size_t waiting = n;
  int64_t deadline = bench_mono_ns() + (int64_t)(timeout_s * 1e9);
  while (waiting > 0) {
    int64_t left_ms = (deadline - bench_mono_ns()) / 1000000;
    if (left_ms <= 0) break;
    void *event = NULL;
    int rc = dora_next_event_timeout(ctx, left_ms, &event);
    if (rc != DORA_OK) break; /* timeout, end of stream or error */
    enum DoraEventType type = read_dora_event_type(event);
    if (type == DoraEventType_Input || type == DoraEventType_InputClosed) {
      char *id;
      size_t len;
      read_dora_input_id(event, &id, &len);
      for (size_t i = 0; i < n; i++) {
        if (!done[i] && strlen(names[i]) == len && memcmp(names[i], id, len) == 0) {
          done[i] = true;
          waiting--;
        }
      }
    }
    free_dora_event(event);
    if (type == DoraEventType_Stop) break;
  }
  free(acks);
  return n > 0 && waiting == 0;
}

int main(void) {
  BenchPlan plan;
  if (bench_plan_from_env(&plan) != 0) return 2;
  int64_t largest = 1;
  for (size_t i = 0; i < plan.n; i++) {
    if (plan.sizes[i] > largest) largest = plan.sizes[i];
  }
  uint8_t *payload = malloc((size_t)largest);
  void *ctx = init_dora_context_from_env();
  if (ctx == NULL || payload == NULL) {
    fprintf(stderr, "sender: cannot start: %s\n", dora_last_error());
    return 1;
  }
  int64_t seq = 0;
  int rc = 0;
  for (size_t i = 0; i < plan.n && rc == 0; i++) {
    int64_t total = plan.counts[i] + plan.warmups[i];
    if (plan.intervals_ms[i] > 0) {
      int64_t interval_ns = (int64_t)(plan.intervals_ms[i] * 1e6);
      rc = paced(ctx, payload, plan.sizes[i], seq, total, plan.warmups[i], interval_ns);
    } else {
      rc = burst(ctx, payload, plan.sizes[i], seq, total, plan.warmups[i]);
    }
    seq += total;
  }
  printf("sender: sent %lld messages\n", (long long)seq);
  fflush(stdout);
  const char *timeout = getenv("BENCH_ACK_TIMEOUT_S");
  bool acked = rc == 0 && wait_for_acks(ctx, timeout ? atof(timeout) : 5.0);
  const char *path = getenv("BENCH_RESULT");
  if (path != NULL) {
    FILE *out = fopen(path, "w");
    if (out != NULL) {
      fprintf(out, "{\"acked\": %s, \"sent\": %lld}\n", acked ? "true" : "false", (long long)seq);
      fclose(out);
    }
  }
  free_dora_context(ctx);
  free(payload);
  return rc == 0 ? 0 : 1;
}
