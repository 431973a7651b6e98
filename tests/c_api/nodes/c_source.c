/* Sends three messages with parameters of every scalar type, then exits. */
#include <stdio.h>
#include <string.h>

#include "dora_node_api.h"
#include "node_context.h"

int main(void) {
  void *ctx = node_context_or_exit("c_source");
  for (int i = 0; i < 3; i++) {
    char text[16];
    int n = snprintf(text, sizeof text, "hi %d", i);
    DoraParam params[5];
    memset(params, 0, sizeof params);
    params[0].key = "i";
    params[0].type = DoraParamType_Int;
    params[0].value.i = i;
    params[1].key = "half";
    params[1].type = DoraParamType_Float;
    params[1].value.f = i / 2.0;
    params[2].key = "even";
    params[2].type = DoraParamType_Bool;
    params[2].value.b = i % 2 == 0;
    params[3].key = "who";
    params[3].type = DoraParamType_String;
    params[3].value.s.ptr = "c_source";
    params[3].value.s.len = 8;
    params[4].key = "raw";
    params[4].type = DoraParamType_Bytes;
    params[4].value.s.ptr = "\x01\x02";
    params[4].value.s.len = 2;
    if (dora_send_output_with_params(ctx, "text", 4, text, (size_t)n, params, 5) != 0)
      fprintf(stderr, "c_source: %s\n", dora_last_error());
  }
  printf("c_source: sent\n");
  free_dora_context(ctx);
  return 0;
}
