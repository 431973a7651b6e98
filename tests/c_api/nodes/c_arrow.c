/* Reads every input on `arrays`/`nested` as an Arrow C Data Interface array and sends
 * it back unchanged on `back` (with its format as a parameter); on `fill`, sends a
 * 1 MB sample written in place (dora_alloc_sample) on `filled`. */
#include <stdio.h>
#include <string.h>

#include "dora_node_api.h"
#include "node_context.h"

int main(void) {
  void *ctx = node_context_or_exit("c_arrow");
  for (;;) {
    void *event = dora_next_event(ctx);
    if (!event) break;
    if (read_dora_event_type(event) != DoraEventType_Input) {
      free_dora_event(event);
      continue;
    }
    char *id;
    size_t id_len;
    read_dora_input_id(event, &id, &id_len);
    if (id_len == 4 && !memcmp(id, "fill", 4)) {
      uint8_t *room;
      size_t len = 1024 * 1024;
      void *sample = dora_alloc_sample(ctx, len, &room);
      for (size_t i = 0; sample && i < len; i++) room[i] = (uint8_t)(i % 251);
      if (!sample || dora_send_sample(ctx, "filled", 6, sample, NULL, 0) != 0)
        printf("c_arrow: fill failed: %s\n", dora_last_error());
      free_dora_event(event);
      continue;
    }
    struct ArrowArray array;
    struct ArrowSchema schema;
    if (dora_event_arrow(event, &array, &schema) != DORA_OK) {
      printf("c_arrow: error: %s\n", dora_last_error());
      fflush(stdout);
      free_dora_event(event);
      continue;
    }
    int64_t n = -1;
    dora_event_param_int(event, "n", &n);
    /* the array outlives the event: free the event first */
    free_dora_event(event);
    printf("c_arrow: %s length %lld nulls %lld offset %lld\n", schema.format,
           (long long)array.length, (long long)array.null_count, (long long)array.offset);
    fflush(stdout);
    DoraParam params[2];
    memset(params, 0, sizeof params);
    params[0].key = "format";
    params[0].type = DoraParamType_String;
    params[0].value.s.ptr = schema.format;
    params[0].value.s.len = strlen(schema.format);
    params[1].key = "n";
    params[1].type = DoraParamType_Int;
    params[1].value.i = n;
    if (dora_send_output_arrow(ctx, "back", 4, &array, &schema, params, 2) != DORA_OK)
      printf("c_arrow: send failed: %s\n", dora_last_error());
    array.release(&array);
    schema.release(&schema);
  }
  printf("c_arrow: done\n");
  free_dora_context(ctx);
  return 0;
}
