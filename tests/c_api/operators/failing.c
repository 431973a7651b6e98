/* A C operator whose second input is one too many: it returns an error result, which must
 * fail its runtime node with a message naming the operator. */
#include "operator_api.h"

static unsigned seen;

DoraInitResult_t dora_init_operator(void) {
  DoraInitResult_t result = {.result = {.error = NULL}, .operator_context = &seen};
  return result;
}

DoraResult_t dora_drop_operator(void *operator_context) {
  (void)operator_context;
  DoraResult_t result = {.error = NULL};
  return result;
}

OnEventResult_t dora_on_event(RawEvent_t *event, const SendOutput_t *send_output,
                              void *operator_context) {
  (void)send_output;
  unsigned *count = operator_context;
  OnEventResult_t result = {.result = {.error = NULL}, .status = DORA_STATUS_CONTINUE};
  if (event->input != NULL && ++*count == 2) {
    result.result = dora_result_error("the second input is one too many");
  }
  return result;
}
