/* Prints with plain printf (no fflush) and waits for events until the stream ends: its
 * line must reach dora's output while it still runs. */
#include <stdio.h>

#include "node_api.h"

int main(void) {
  void *ctx = init_dora_context_from_env();
  if (!ctx) return 1;
  printf("printer: waiting for events\n");
  void *event;
  while ((event = dora_next_event(ctx)) != NULL) {
    int stop = read_dora_event_type(event) == DoraEventType_Stop;
    free_dora_event(event);
    if (stop) break;
  }
  printf("printer: done\n");
  free_dora_context(ctx);
  return 0;
}
