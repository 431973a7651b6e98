/* Checks the stress_tx messages: sequence, size and content; acks every block. Every
 * seventh message is read through an Arrow array that outlives its event. */
#include <stdio.h>
#include <string.h>

#include "dora_node_api.h"
#include "node_context.h"
#include "stress_messages.h"

int main(void) {
  void *ctx = node_context_or_exit("stress_rx");
  unsigned expected = 0, bad = 0;
  for (;;) {
    void *event = dora_next_event(ctx);
    if (!event) break;
    if (read_dora_event_type(event) != DoraEventType_Input) {
      free_dora_event(event);
      continue;
    }
    int ok;
    if (expected % 7 == 0) {
      struct ArrowArray array;
      struct ArrowSchema schema;
      ok = dora_event_arrow(event, &array, &schema) == DORA_OK;
      free_dora_event(event);
      if (ok) {
        ok = !strcmp(schema.format, "C") &&
             check((const uint8_t *)array.buffers[1], (size_t)array.length, expected);
        array.release(&array);
        schema.release(&schema);
      }
    } else {
      char *data;
      size_t len;
      read_dora_input_data(event, &data, &len);
      ok = check((const uint8_t *)data, len, expected);
      free_dora_event(event);
    }
    if (!ok && bad++ < 5) fprintf(stderr, "stress_rx: message %u is wrong\n", expected);
    expected++;
    if (expected % BLOCK == 0 && dora_send_output(ctx, "ack", 3, "k", 1) != 0)
      fprintf(stderr, "stress_rx: ack failed: %s\n", dora_last_error());
  }
  printf("stress_rx: %u messages, %u wrong\n", expected, bad);
  free_dora_context(ctx);
  return bad != 0;
}
