/* Receives large byte messages on `big`: checks that the bytes were not copied (they lie
 * in a memfd mapping) and that the pattern is intact; answers each with a message of the
 * same size written straight into shared memory (dora_alloc_sample) on `back`, and a
 * second one sent from a private buffer (dora_send_output) on `copy`. */
#include <stdio.h>
#include <stdlib.h>

#include "dora_node_api.h"
#include "node_context.h"
#include "memfd.h"

int main(void) {
  void *ctx = node_context_or_exit("c_big");
  for (;;) {
    void *event = dora_next_event(ctx);
    if (!event) break;
    if (read_dora_event_type(event) == DoraEventType_Input) {
      char *data;
      size_t len;
      read_dora_input_data(event, &data, &len);
      unsigned seq = len ? (unsigned char)data[0] : 0;
      size_t bad = 0;
      for (size_t i = 0; i < len; i++)
        if ((unsigned char)data[i] != (unsigned char)((i * 7 + seq) & 0xff)) bad++;
      printf("c_big: got %zu bytes seq %u, %zu wrong, zero-copy %s\n", len, seq, bad,
             in_memfd_mapping(data) ? "yes" : "no");
      fflush(stdout);
      uint8_t *room;
      void *sample = dora_alloc_sample(ctx, len, &room);
      if (!sample) {
        printf("c_big: alloc failed: %s\n", dora_last_error());
      } else {
        for (size_t i = 0; i < len; i++) room[i] = (uint8_t)((i * 3 + seq) & 0xff);
        if (dora_send_sample(ctx, "back", 4, sample, NULL, 0) != 0)
          printf("c_big: send_sample failed: %s\n", dora_last_error());
      }
      char *copy = (char *)malloc(len);
      for (size_t i = 0; i < len; i++) copy[i] = (char)((i * 5 + seq) & 0xff);
      if (dora_send_output(ctx, "copy", 4, copy, len) != 0)
        printf("c_big: send_output failed: %s\n", dora_last_error());
      free(copy);
    }
    free_dora_event(event);
  }
  printf("c_big: done\n");
  free_dora_context(ctx);
  return 0;
}
