/* The C twin of tests/fault/nodes/pacer.py: sends one 8-byte number per tick on `data`
 * and counts what it sent, until `done` arrives; then closes `data`, prints
 * `pacer: sent=N` and idles until the dataflow stops. Prints the restarts and closings
 * of its inputs (`pacer: NODE_RESTARTED forgetful`). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dora_node_api.h"

int main(void) {
  void *ctx = init_dora_context_from_env();
  if (!ctx) return 2;
  uint64_t sent = 0;
  int sending = 1;
  void *event;
  while ((event = dora_next_event(ctx)) != NULL) {
    if (read_dora_event_type(event) == DoraEventType_Stop) {
      free_dora_event(event);
      break;
    }
    const char *kind = dora_event_type_name(event);
    if (!strcmp(kind, "NODE_RESTARTED") || !strcmp(kind, "INPUT_CLOSED")) {
      const char *text = "";
      size_t text_len = 0;
      char *id = "";
      size_t id_len = 0;
      if (!strcmp(kind, "NODE_RESTARTED")) dora_event_text(event, &text, &text_len);
      else read_dora_input_id(event, &id, &id_len);
      printf("pacer: %s %.*s%.*s\n", kind, (int)text_len, text, (int)id_len, id);
    }
    if (read_dora_event_type(event) == DoraEventType_Input && sending) {
      char *id;
      size_t len;
      read_dora_input_id(event, &id, &len);
      if (len == 4 && memcmp(id, "tick", 4) == 0) {
        if (dora_send_output(ctx, "data", 4, (const char *)&sent, sizeof sent) != 0) {
          printf("pacer: send failed: %s\n", dora_last_error());
          free_dora_event(event);
          return 2;
        }
        sent++;
      } else if (len == 4 && memcmp(id, "done", 4) == 0) {
        const char *outputs[] = {"data"};
        sending = 0;
        dora_close_outputs(ctx, outputs, 1);
        printf("pacer: sent=%llu\n", (unsigned long long)sent);
      }
    }
    free_dora_event(event);
  }
  free_dora_context(ctx);
  return 0;
}
