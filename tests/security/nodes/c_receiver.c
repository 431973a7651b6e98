/* The C receiver of tests/security: prints every number it receives (8-byte UInt64
 * payloads); anything else (a forged message) and every non-input event is printed. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "node_api.h"

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  void *ctx = init_dora_context_from_env();
  if (!ctx) {
    fprintf(stderr, "receiver: init failed\n");
    return 1;
  }
  printf("receiver: start pid=%ld\n", (long)getpid());
  for (;;) {
    void *event = dora_next_event(ctx);
    if (!event) break;
    enum DoraEventType ty = read_dora_event_type(event);
    if (ty == DoraEventType_Input) {
      char *data;
      size_t len;
      read_dora_input_data(event, &data, &len);
      if (len == 8) {
        uint64_t n;
        memcpy(&n, data, 8);
        printf("receiver: got n=%llu\n", (unsigned long long)n);
      } else {
        printf("receiver: FORGED len=%zu\n", len);
      }
    } else if (ty == DoraEventType_Error) {
      /* a connection of one of our own senders broke: the C API says so, and goes on */
      printf("receiver: ERROR event\n");
    } else {
      printf("receiver: EVENT %d\n", (int)ty);
    }
    free_dora_event(event);
  }
  printf("receiver: end\n");
  free_dora_context(ctx);
  return 0;
}
