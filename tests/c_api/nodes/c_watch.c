/* Prints every event (kind, input id, text, bytes) until the stream ends. With
 * WATCH_WAIT_STDIN set it reads one line from stdin before asking for the first event:
 * messages sent meanwhile wait in the socket and meet the queue policy all at once. With
 * WATCH_POLL set it polls with a zero timeout (and naps) instead of blocking. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dora_node_api.h"

int main(void) {
  void *ctx = init_dora_context_from_env();
  if (!ctx) {
    printf("watch: init failed: %s\n", dora_last_error());
    return 1;
  }
  printf("watch: ready\n");
  fflush(stdout);
  if (getenv("WATCH_WAIT_STDIN")) {
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 1;
  }
  int poll_mode = getenv("WATCH_POLL") != NULL;
  for (;;) {
    void *event = NULL;
    if (poll_mode) {
      int rc = dora_next_event_timeout(ctx, 0, &event);
      if (rc == DORA_TIMEOUT) {
        struct timespec nap = {0, 1000000};
        nanosleep(&nap, NULL);
        continue;
      }
    } else {
      event = dora_next_event(ctx);
    }
    if (!event) break;
    char *id, *data;
    size_t id_len, len;
    const char *text;
    size_t text_len;
    read_dora_input_id(event, &id, &id_len);
    read_dora_input_data(event, &data, &len);
    dora_event_text(event, &text, &text_len);
    const char *json;
    size_t json_len;
    dora_event_param_json(event, &json, &json_len);
    printf("watch: %s %.*s %zu %.*s%.*s%s%.*s\n", dora_event_type_name(event), (int)id_len,
           id ? id : "", len, (int)len, data ? data : "", (int)text_len, text ? text : "",
           json ? " json=" : "", (int)json_len, json ? json : "");
    struct ArrowArray array;
    struct ArrowSchema schema;
    if (read_dora_event_type(event) == DoraEventType_Input &&
        dora_event_arrow(event, &array, &schema) == DORA_OK) {
      if (schema.format[0] == 'u' && array.length == 1) {
        const int32_t *offsets = (const int32_t *)array.buffers[1];
        printf("watch: text %.*s\n", (int)(offsets[1] - offsets[0]),
               (const char *)array.buffers[2] + offsets[0]);
      }
      array.release(&array);
      schema.release(&schema);
    }
    fflush(stdout);
    free_dora_event(event);
  }
  printf("watch: end\n");
  fflush(stdout);
  free_dora_context(ctx);
  return 0;
}
