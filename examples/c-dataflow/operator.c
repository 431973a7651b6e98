/* The operator, loaded by the operator runtime of node `runtime-node` from
 * build/liboperator.so. It counts the ticks it receives and sends "The current counter
 * value is N" on output `counter`. Uses only dora-rs's C operator ABI (operator_api.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "operator_api.h"

/* The operator's state. Static storage is enough for this dataflow, which loads the library
 * once (operators sharing one library in one process would share it); per-instance state
 * is malloc'ed in dora_init_operator instead. */
static unsigned counter_storage;

DoraInitResult_t dora_init_operator(void) {
  counter_storage = 0;
  DoraInitResult_t result = {.result = {.error = NULL}, .operator_context = &counter_storage};
  return result;
}

DoraResult_t dora_drop_operator(void *operator_context) {
  (void)operator_context;
  DoraResult_t result = {.error = NULL};
  return result;
}

OnEventResult_t dora_on_event(RawEvent_t *event, const SendOutput_t *send_output,
                              void *operator_context) {
  OnEventResult_t result = {.result = {.error = NULL}, .status = DORA_STATUS_CONTINUE};
  unsigned *counter = operator_context;

  if (event->input != NULL) {
    char *id = dora_read_input_id(event->input);
    if (strcmp(id, "tick") == 0) {
      Vec_uint8_t data = dora_read_data(event->input);
      *counter += 1;
      printf("[c operator] received tick %u, counter: %u\n", data.len == 1 ? data.ptr[0] : 0,
             *counter);
      fflush(stdout);

      char out_data[64];
      int len = snprintf(out_data, sizeof out_data, "The current counter value is %u", *counter);
      result.result =
          dora_send_operator_output(send_output, "counter", (uint8_t *)out_data, (size_t)len);
      dora_free_data(data);
    } else {
      printf("[c operator] unexpected input `%s`\n", id);
    }
    dora_free_input_id(id);
  }
  if (event->stop) {
    printf("[c operator] received stop event\n");
    fflush(stdout);
  }
  return result;
}
