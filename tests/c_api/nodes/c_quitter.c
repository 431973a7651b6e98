/* Sends 7 numbers per incarnation (one byte each), then exits 1 (the first two
 * incarnations) or ends cleanly (the third, after the last of 20 numbers). */
#include <stdio.h>

#include "dora_node_api.h"

enum { PER_RUN = 7, TOTAL = 20 };

int main(void) {
  void *ctx = init_dora_context_from_env();
  if (!ctx) return 2;
  unsigned run = dora_restart_count(ctx);
  unsigned next = run * PER_RUN;
  unsigned end = next + PER_RUN < TOTAL ? next + PER_RUN : TOTAL;
  printf("quitter: start restart=%u\n", run);
  void *event;
  while (next < end && (event = dora_next_event(ctx)) != NULL) {
    int input = read_dora_event_type(event) == DoraEventType_Input;
    free_dora_event(event);
    if (!input) continue;
    char byte = (char)next++;
    if (dora_send_output(ctx, "n", 1, &byte, 1) != 0) {
      printf("quitter: send failed: %s\n", dora_last_error());
      return 2;
    }
  }
  free_dora_context(ctx);
  if (run < 2) {
    printf("quitter: exit(1) restart=%u\n", run);
    return 1;
  }
  printf("quitter: clean end restart=%u\n", run);
  return 0;
}
