/* The source node: on each of its first TICKS timer events it sends the tick's number as one
 * byte on output `tick`, then returns. Uses only dora-rs's C node API (node_api.h), so the
 * same file builds against the Rust dora. */
#include <stdio.h>
#include <string.h>

#include "node_api.h"

#define TICKS 20

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* dora shows a node's output line by line */
  printf("[c node] hello\n");

  void *dora_context = init_dora_context_from_env();
  if (dora_context == NULL) {
    fprintf(stderr, "[c node] failed to init dora context\n");
    return 1;
  }

  unsigned char sent = 0;
  while (sent < TICKS) {
    void *event = dora_next_event(dora_context);
    if (event == NULL) {
      printf("[c node] the event stream ended early\n");
      break;
    }
    enum DoraEventType type = read_dora_event_type(event);
    if (type == DoraEventType_Input) {
      char *id;
      size_t id_len;
      read_dora_input_id(event, &id, &id_len);
      printf("[c node] received input `%.*s`\n", (int)id_len, id);
      sent += 1;
      const char out_id[] = "tick";
      if (dora_send_output(dora_context, out_id, strlen(out_id), (char *)&sent, 1) != 0) {
        fprintf(stderr, "[c node] failed to send output\n");
      }
    } else if (type == DoraEventType_Stop) {
      printf("[c node] received stop event\n");
    }
    free_dora_event(event);
    if (type == DoraEventType_Stop) {
      break;
    }
  }

  free_dora_context(dora_context);
  printf("[c node] sent %u ticks, finished\n", sent);
  return 0;
}
