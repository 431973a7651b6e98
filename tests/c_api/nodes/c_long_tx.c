/* Sends long_names.h's rounds on every output of LONG_LENS (inline payloads, shared-memory
 * samples, Arrow Int64 arrays; with and without parameters), then closes them all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dora_node_api.h"
#include "long_names.h"
#include "node_context.h"

static void release_array(struct ArrowArray *a) { a->release = NULL; }
static void release_schema(struct ArrowSchema *s) { s->release = NULL; }

static int send_arrow(void *ctx, const char *name, size_t len, unsigned round,
                      const DoraParam *params, size_t n_params) {
  int64_t values[LONG_ARROW_LEN];
  for (size_t i = 0; i < LONG_ARROW_LEN; i++) values[i] = long_arrow_value(len, round, i);
  const void *buffers[2] = {NULL, values};
  struct ArrowArray array = {.length = LONG_ARROW_LEN, .n_buffers = 2, .buffers = buffers,
                             .release = release_array};
  struct ArrowSchema schema = {.format = "l", .name = "", .release = release_schema};
  return dora_send_output_arrow(ctx, name, len, &array, &schema, params, n_params);
}

static int send_round(void *ctx, const char *name, size_t len, unsigned round) {
  uint8_t blob[LONG_ROUNDS];
  for (unsigned i = 0; i <= round; i++) blob[i] = long_byte(len, round, i);
  DoraParam params[5] = {
      {.key = "round", .type = DoraParamType_Int, .value.i = round},
      {.key = "name", .type = DoraParamType_String, .value.s = {name, len}},
      {.key = "half", .type = DoraParamType_Float, .value.f = round * 0.5},
      {.key = "odd", .type = DoraParamType_Bool, .value.b = round % 2},
      {.key = "blob", .type = DoraParamType_Bytes, .value.s = {(const char *)blob, round + 1}},
  };
  size_t n_params = long_has_params(round) ? 5 : 0;
  int kind = long_kind(round);
  if (kind == LONG_ARROW) return send_arrow(ctx, name, len, round, params, n_params);
  size_t size = long_payload_size(len, round);
  uint8_t *room;
  void *sample = dora_alloc_sample(ctx, size, &room);
  if (!sample) return -1;
  for (size_t i = 0; i < size; i++) room[i] = long_byte(len, round, i);
  if (kind != LONG_COPY) return dora_send_sample(ctx, name, len, sample, params, n_params);
  int rc = dora_send_output_with_params(ctx, name, len, (const char *)room, size, params, n_params);
  dora_free_sample(ctx, sample);
  return rc;
}

int main(void) {
  void *ctx = node_context_or_exit("c_long_tx");
  static char names[LONG_N_OUTPUTS][LONG_MAX_LEN + 1];
  const char *ids[LONG_N_OUTPUTS];
  for (size_t o = 0; o < LONG_N_OUTPUTS; o++) {
    long_name(LONG_LENS[o], names[o]);
    ids[o] = names[o];
  }
  unsigned sent = 0, failures = 0;
  for (unsigned round = 0; round < LONG_ROUNDS; round++) {
    for (size_t o = 0; o < LONG_N_OUTPUTS; o++) {
      if (send_round(ctx, names[o], LONG_LENS[o], round)) {
        if (failures++ < 5) fprintf(stderr, "c_long_tx: %s\n", dora_last_error());
      }
      sent++;
    }
  }
  if (dora_close_outputs(ctx, ids, LONG_N_OUTPUTS)) {
    fprintf(stderr, "c_long_tx: close: %s\n", dora_last_error());
    failures++;
  }
  printf("c_long_tx: sent %u messages, %u failures\n", sent, failures);
  free_dora_context(ctx);
  return failures != 0;
}
