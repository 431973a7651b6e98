/* Counts its inputs (and their bytes) until the stream ends. */
#include <stdio.h>

#include "node_api.h"

int main(void) {
  void *ctx = init_dora_context_from_env();
  if (!ctx) return 1;
  unsigned long long count = 0, bytes = 0;
  void *event;
  while ((event = dora_next_event(ctx)) != NULL) {
    if (read_dora_event_type(event) == DoraEventType_Input) {
      char *data;
      size_t len;
      read_dora_input_data(event, &data, &len);
      count++;
      bytes += len;
    }
    free_dora_event(event);
  }
  printf("count: %llu inputs, %llu bytes\n", count, bytes);
  free_dora_context(ctx);
  return 0;
}
