/* Prints every event (kind, input id, text, bytes) until the stream ends. */
#include <stdio.h>

#include "dora_node_api.h"

int main(void) {
  void *ctx = init_dora_context_from_env();
  if (!ctx) {
    printf("watch: init failed: %s\n", dora_last_error());
    return 1;
  }
  printf("watch: ready\n");
  fflush(stdout);
  for (;;) {
    void *event = dora_next_event(ctx);
    if (!event) break;
    char *id, *data;
    size_t id_len, len;
    const char *text;
    size_t text_len;
    read_dora_input_id(event, &id, &id_len);
    read_dora_input_data(event, &data, &len);
    dora_event_text(event, &text, &text_len);
    printf("watch: %s %.*s %zu %.*s%.*s\n", dora_event_type_name(event), (int)id_len,
           id ? id : "", len, (int)len, data ? data : "", (int)text_len, text ? text : "");
    fflush(stdout);
    free_dora_event(event);
  }
  printf("watch: end\n");
  fflush(stdout);
  free_dora_context(ctx);
  return 0;
}
