/* A C node in dora-rs's example style (examples/c-dataflow/node.c): for each timer tick
 * it sends "message <n>" on output `message`, and stops after MAX_TICKS ticks. Compiles
 * as C and as C++. */
#include <stdio.h>
#include <string.h>

#include "node_api.h"

#define MAX_TICKS 10

int main(void) {
  void *dora_context = init_dora_context_from_env();
  if (dora_context == NULL) {
    fprintf(stderr, "c_node: failed to init dora context\n");
    return 1;
  }
  printf("c_node: started\n");
  fflush(stdout);
  int ticks = 0;
  while (ticks < MAX_TICKS) {
    void *event = dora_next_event(dora_context);
    if (event == NULL) {
      printf("c_node: end of stream\n");
      break;
    }
    enum DoraEventType ty = read_dora_event_type(event);
    if (ty == DoraEventType_Input) {
      char *id;
      size_t id_len;
      read_dora_input_id(event, &id, &id_len);
      char *data;
      size_t data_len;
      read_dora_input_data(event, &data, &data_len);
      unsigned long long ts = read_dora_input_timestamp(event);
      if (id_len == 4 && memcmp(id, "tick", 4) == 0 && ts != 0) {
        char out[32];
        int n = snprintf(out, sizeof out, "message %d", ticks);
        if (dora_send_output(dora_context, "message", 7, out, (size_t)n) != 0)
          fprintf(stderr, "c_node: send failed\n");
        ticks++;
      }
    } else if (ty == DoraEventType_Stop) {
      printf("c_node: stop\n");
      free_dora_event(event);
      break;
    }
    free_dora_event(event);
  }
  dora_log(dora_context, "info", 4, "c_node done", 11);
  printf("c_node: sent %d messages\n", ticks);
  free_dora_context(dora_context);
  return 0;
}
