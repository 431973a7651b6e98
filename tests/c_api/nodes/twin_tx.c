/* Sends TWIN_COUNT messages on `data`, inline (a few bytes) and through shared memory
 * (64 KiB and more) in turn, each with the parameters seq (int) and note (string), for a
 * receiver that reads `data` on two inputs (twin_rx.c). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dora_node_api.h"
#include "node_context.h"
#include "twin_messages.h"

int main(void) {
  void *ctx = node_context_or_exit("twin_tx");
  uint8_t *buf = malloc(TWIN_MAX);
  unsigned failures = 0;
  for (unsigned seq = 0; buf && seq < TWIN_COUNT; seq++) {
    size_t len = twin_size(seq);
    twin_fill(buf, len, seq);
    char note[32];
    int note_len = snprintf(note, sizeof note, "note %u", seq);
    DoraParam params[2] = {
        {.key = "seq", .type = DoraParamType_Int, .value.i = seq},
        {.key = "note", .type = DoraParamType_String, .value.s = {note, (size_t)note_len}},
    };
    failures += dora_send_output_with_params(ctx, "data", 4, (const char *)buf, len, params, 2) != 0;
  }
  printf("twin_tx: sent %u messages, %u failures\n", TWIN_COUNT, failures);
  free(buf);
  free_dora_context(ctx);
  return failures != 0;
}
