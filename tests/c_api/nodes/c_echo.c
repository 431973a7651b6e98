/* Echoes every input on output `out`, bytes and metadata parameters, adding
 * `echoed_by = "c"`; prints what it received. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dora_node_api.h"
#include "node_context.h"

int main(void) {
  void *ctx = node_context_or_exit("c_echo");
  for (;;) {
    void *event = dora_next_event(ctx);
    if (!event) break;
    if (read_dora_event_type(event) == DoraEventType_Input) {
      char *data;
      size_t len;
      read_dora_input_data(event, &data, &len);
      size_t n = dora_event_param_count(event);
      DoraParam *params = (DoraParam *)calloc(n + 1, sizeof(DoraParam));
      size_t k = 0;
      for (size_t i = 0; i < n; i++) {
        const char *key = dora_event_param_key(event, i);
        char *json = dora_event_param_to_json(event, key);
        printf("c_echo: param %s=%s\n", key, json);
        dora_free_string(json);
        DoraParam *p = &params[k];
        p->key = key;
        p->type = dora_event_param_type(event, key);
        switch (p->type) {
          case DoraParamType_Bool: dora_event_param_bool(event, key, &p->value.b); k++; break;
          case DoraParamType_Int: dora_event_param_int(event, key, &p->value.i); k++; break;
          case DoraParamType_Float: dora_event_param_float(event, key, &p->value.f); k++; break;
          case DoraParamType_String:
            dora_event_param_string(event, key, &p->value.s.ptr, &p->value.s.len);
            k++;
            break;
          case DoraParamType_Bytes:
            dora_event_param_bytes(event, key, (const uint8_t **)&p->value.s.ptr, &p->value.s.len);
            k++;
            break;
          default: break; /* lists: printed above, not echoed */
        }
      }
      params[k].key = "echoed_by";
      params[k].type = DoraParamType_String;
      params[k].value.s.ptr = "c";
      params[k].value.s.len = 1;
      k++;
      printf("c_echo: got %zu bytes: %.*s\n", len, (int)len, data);
      fflush(stdout);
      if (dora_send_output_with_params(ctx, "out", 3, data, len, params, k) != 0)
        printf("c_echo: send failed: %s\n", dora_last_error());
      free(params);
    } else if (read_dora_event_type(event) == DoraEventType_Stop) {
      const char *cause;
      size_t cause_len;
      dora_event_text(event, &cause, &cause_len);
      printf("c_echo: stop %.*s\n", (int)cause_len, cause);
    }
    fflush(stdout);
    free_dora_event(event);
  }
  printf("c_echo: done\n");
  free_dora_context(ctx);
  return 0;
}
