/* The sink node: prints every message on input `counter` until the stream ends (the
 * operator's output closes after the node's last tick). Uses only node_api.h. */
#include <stdio.h>
#include <string.h>

#include "node_api.h"

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* dora shows a node's output line by line */

  void *dora_context = init_dora_context_from_env();
  if (dora_context == NULL) {
    fprintf(stderr, "[c sink] failed to init dora context\n");
    return 1;
  }

  unsigned received = 0;
  for (;;) {
    void *event = dora_next_event(dora_context);
    if (event == NULL) {
      break; /* every input closed, or stopped */
    }
    enum DoraEventType type = read_dora_event_type(event);
    if (type == DoraEventType_Input) {
      char *id;
      size_t id_len;
      char *data;
      size_t data_len;
      read_dora_input_id(event, &id, &id_len);
      read_dora_input_data(event, &data, &data_len);
      received += 1;
      printf("[c sink] received `%.*s`: %.*s\n", (int)id_len, id, (int)data_len, data);
    } else if (type == DoraEventType_InputClosed) {
      printf("[c sink] an input closed\n");
    } else if (type == DoraEventType_Stop) {
      printf("[c sink] received stop event\n");
    }
    free_dora_event(event);
  }

  free_dora_context(dora_context);
  printf("[c sink] received %u messages, finished\n", received);
  return 0;
}
