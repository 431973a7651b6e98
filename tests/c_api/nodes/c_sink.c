/* A C sink: prints every event it gets until the stream ends. */
#include <stdio.h>

#include "node_api.h"

int main(void) {
  void *ctx = init_dora_context_from_env();
  if (!ctx) {
    fprintf(stderr, "c_sink: init failed\n");
    return 1;
  }
  int inputs = 0;
  for (;;) {
    void *event = dora_next_event(ctx);
    if (!event) break;
    enum DoraEventType ty = read_dora_event_type(event);
    char *id = NULL;
    size_t id_len = 0;
    read_dora_input_id(event, &id, &id_len);
    if (ty == DoraEventType_Input) {
      char *data;
      size_t len;
      read_dora_input_data(event, &data, &len);
      printf("c_sink: input %.*s: %.*s\n", (int)id_len, id, (int)len, data);
      inputs++;
    } else if (ty == DoraEventType_InputClosed) {
      printf("c_sink: closed %.*s\n", (int)id_len, id);
    } else if (ty == DoraEventType_Stop) {
      printf("c_sink: stop\n");
    } else {
      printf("c_sink: other event %d\n", (int)ty);
    }
    fflush(stdout);
    free_dora_event(event);
  }
  printf("c_sink: done after %d inputs\n", inputs);
  free_dora_context(ctx);
  return 0;
}
