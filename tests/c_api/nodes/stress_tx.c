/* Sends 10,000 messages of 8 B .. 64 KiB (some 2 MiB), across the shared-memory
 * threshold, by dora_send_output and by dora_alloc_sample, in blocks of 100: after
 * each block it waits for the receiver's ack (so queues stay bounded and nothing is
 * dropped). Each message starts with its sequence number; the rest is a pattern. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dora_node_api.h"
#include "node_context.h"
#include "stress_messages.h"

#define TOTAL 10000

int main(void) {
  void *ctx = node_context_or_exit("stress_tx");
  /* STRESS_ACKS receivers each ack every block */
  int acks = getenv("STRESS_ACKS") ? atoi(getenv("STRESS_ACKS")) : 1;
  uint8_t *buf = malloc(3u * 1024 * 1024);
  unsigned seq = 0;
  int failures = 0;
  while (seq < TOTAL) {
    for (int k = 0; k < BLOCK; k++, seq++) {
      size_t len = size_of(seq);
      if (seq % 3 == 0) {
        uint8_t *room;
        void *sample = dora_alloc_sample(ctx, len, &room);
        if (!sample) {
          failures++;
          continue;
        }
        fill(room, len, seq);
        failures += dora_send_sample(ctx, "data", 4, sample, NULL, 0) != 0;
      } else {
        fill(buf, len, seq);
        failures += dora_send_output(ctx, "data", 4, (const char *)buf, len) != 0;
      }
    }
    /* wait for the acks of this block */
    for (int got = 0; got < acks;) {
      void *event = dora_next_event(ctx);
      if (!event) {
        fprintf(stderr, "stress_tx: stream ended early at %u\n", seq);
        free(buf);
        free_dora_context(ctx);
        return 1;
      }
      got += read_dora_event_type(event) == DoraEventType_Input;
      free_dora_event(event);
    }
  }
  printf("stress_tx: sent %u messages, %d failures\n", seq, failures);
  /* released messages are reused: the pool stays a few segments, not one per message */
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[512];
  int segments = 0;
  while (maps && fgets(line, sizeof line, maps)) segments += strstr(line, "/memfd:dora-") != NULL;
  if (maps) fclose(maps);
  printf("stress_tx: %d shared-memory segments\n", segments);
  free(buf);
  free_dora_context(ctx);
  return failures != 0;
}
