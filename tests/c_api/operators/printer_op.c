/* An operator that prints with plain printf on each input (no fflush). */
#include <stdio.h>

#include "operator_api.h"

DoraInitResult_t dora_init_operator(void) {
  DoraInitResult_t result = {0};
  return result;
}

DoraResult_t dora_drop_operator(void *operator_context) {
  (void)operator_context;
  DoraResult_t result = {0};
  return result;
}

OnEventResult_t dora_on_event(RawEvent_t *event, const SendOutput_t *send_output,
                              void *operator_context) {
  (void)send_output;
  (void)operator_context;
  if (event->input != NULL) printf("printer_op: got an input\n");
  OnEventResult_t result = {0};
  return result;
}
