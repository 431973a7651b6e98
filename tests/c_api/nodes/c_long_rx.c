/* Reads c_long_tx.c's outputs on inputs `n<L>` and checks every message against
 * long_names.h: bytes or Arrow values, parameters (or their absence) and, per input, the
 * order of the rounds; then that every input was closed after its last round. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dora_node_api.h"
#include "long_names.h"
#include "node_context.h"

/* The index in LONG_LENS of input `n<L>`, or -1. */
static long output_of(const char *id, size_t id_len) {
  if (id_len < 2 || id_len > 8 || id[0] != 'n') return -1;
  char digits[8];
  memcpy(digits, id + 1, id_len - 1);
  digits[id_len - 1] = 0;
  size_t len = strtoul(digits, NULL, 10);
  for (size_t o = 0; o < LONG_N_OUTPUTS; o++)
    if (LONG_LENS[o] == len) return (long)o;
  return -1;
}

static int params_ok(void *event, size_t len, unsigned round, const char *name) {
  if (!long_has_params(round)) return dora_event_param_count(event) == 0;
  int64_t r;
  double half;
  bool odd;
  const char *text;
  const uint8_t *blob;
  size_t text_len, blob_len;
  if (dora_event_param_count(event) != 5 || dora_event_param_int(event, "round", &r) ||
      dora_event_param_string(event, "name", &text, &text_len) ||
      dora_event_param_float(event, "half", &half) || dora_event_param_bool(event, "odd", &odd) ||
      dora_event_param_bytes(event, "blob", &blob, &blob_len))
    return 0;
  if (r != round || half != round * 0.5 || odd != (round % 2 == 1)) return 0;
  if (text_len != len || memcmp(text, name, len)) return 0;
  if (blob_len != round + 1) return 0;
  for (size_t i = 0; i < blob_len; i++)
    if (blob[i] != long_byte(len, round, i)) return 0;
  return 1;
}

static int value_ok(void *event, size_t len, unsigned round) {
  if (long_kind(round) == LONG_ARROW) {
    struct ArrowArray array;
    struct ArrowSchema schema;
    if (dora_event_arrow(event, &array, &schema)) return 0;
    int ok = !strcmp(schema.format, "l") && array.length == LONG_ARROW_LEN;
    const int64_t *values = array.buffers[1];
    for (size_t i = 0; ok && i < LONG_ARROW_LEN; i++)
      ok = values[array.offset + i] == long_arrow_value(len, round, i);
    array.release(&array);
    schema.release(&schema);
    return ok;
  }
  char *data;
  size_t size;
  read_dora_input_data(event, &data, &size);
  if (size != long_payload_size(len, round)) return 0;
  for (size_t i = 0; i < size; i++)
    if ((uint8_t)data[i] != long_byte(len, round, i)) return 0;
  return 1;
}

int main(void) {
  void *ctx = node_context_or_exit("c_long_rx");
  static char names[LONG_N_OUTPUTS][LONG_MAX_LEN + 1];
  unsigned next[LONG_N_OUTPUTS] = {0};
  int closed[LONG_N_OUTPUTS] = {0};
  unsigned received = 0, wrong = 0;
  for (size_t o = 0; o < LONG_N_OUTPUTS; o++) long_name(LONG_LENS[o], names[o]);
  for (;;) {
    void *event = dora_next_event(ctx);
    if (!event) break;
    enum DoraEventType type = read_dora_event_type(event);
    if (type == DoraEventType_Stop) {
      free_dora_event(event);
      break;
    }
    char *id;
    size_t id_len;
    read_dora_input_id(event, &id, &id_len);
    long o = output_of(id, id_len);
    if (o < 0) {
      fprintf(stderr, "c_long_rx: unexpected %s event `%.*s`\n", dora_event_type_name(event),
              (int)id_len, id);
      wrong++;
    } else if (type == DoraEventType_InputClosed) {
      closed[o] = next[o] == LONG_ROUNDS ? 1 : -1;
    } else if (type == DoraEventType_Input) {
      size_t len = LONG_LENS[o];
      unsigned round = next[o]++;
      received++;
      if (round >= LONG_ROUNDS || !value_ok(event, len, round) ||
          !params_ok(event, len, round, names[o])) {
        if (wrong++ < 5) fprintf(stderr, "c_long_rx: n%zu round %u is wrong\n", len, round);
      }
    }
    free_dora_event(event);
  }
  for (size_t o = 0; o < LONG_N_OUTPUTS; o++) {
    if (closed[o] != 1) {
      fprintf(stderr, "c_long_rx: n%zu closed %d after %u rounds\n", LONG_LENS[o], closed[o], next[o]);
      wrong++;
    }
  }
  printf("c_long_rx: %u messages, %u wrong\n", received, wrong);
  free_dora_context(ctx);
  return wrong != 0;
}
