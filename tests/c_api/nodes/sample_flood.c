/* A send-only loop: 500 samples of 256 KiB written in place (dora_alloc_sample) and sent
 * back to back, never calling dora_next_event. Releases are collected by the send calls
 * themselves, so the pool reuses segments; prints how many it mapped. */
#include <stdio.h>
#include <string.h>

#include "dora_node_api.h"
#include "node_context.h"

int main(void) {
  void *ctx = node_context_or_exit("flood");
  int failures = 0;
  for (unsigned i = 0; i < 500; i++) {
    uint8_t *room;
    void *sample = dora_alloc_sample(ctx, 256 * 1024, &room);
    if (!sample) {
      failures++;
      continue;
    }
    memset(room, (int)(i & 0xff), 256 * 1024);
    memcpy(room, &i, sizeof i);
    failures += dora_send_sample(ctx, "data", 4, sample, NULL, 0) != 0;
  }
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[512];
  int segments = 0;
  while (maps && fgets(line, sizeof line, maps)) segments += strstr(line, "/memfd:dora-") != NULL;
  if (maps) fclose(maps);
  printf("flood: sent 500 samples, %d failures, %d shared-memory segments\n", failures, segments);
  free_dora_context(ctx);
  return failures != 0;
}
