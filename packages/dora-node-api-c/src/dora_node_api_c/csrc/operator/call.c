/* The runtime's calls into an operator, each one with the operator named for the crash
 * handler (crash.c). One ctypes call per event does the naming, the call and the release
 * of the runtime's hold on the input. */
#include <stddef.h>
#include <stdio.h>

#include "operator_internal.h"

/* The runtime's stdout is a pipe to the daemon, so C stdio buffers an operator's printf
 * until the buffer fills or the process exits: flush after each call so lines show up
 * when they are printed (Python's own output is unbuffered already). */
static void flush_output(void) { fflush(stdout); }

void dora_operator__call_init(DoraInitResult_t (*init)(void), const char *label,
                              DoraInitResult_t *out) {
  const char *before = dora_operator_current_swap(label);
  *out = init();
  dora_operator_current_swap(before);
  flush_output();
}

void dora_operator__call_on_event(OnEventResult_t (*on_event)(RawEvent_t *, SendOutput_t const *,
                                                               void *),
                                  const char *label, RawEvent_t *event,
                                  SendOutput_t const *send_output, void *context,
                                  OnEventResult_t *out) {
  struct Input *input = event->input;
  if (input != NULL && input->shared == NULL && dora_shared_input_attach(input) != 0) {
    dora_operator__input_release(input);
    out->result = dora_result_error("out of memory while handing over an input");
    out->status = DORA_STATUS_STOP;
    return;
  }
  const char *before = dora_operator_current_swap(label);
  *out = on_event(event, send_output, context);
  dora_operator_current_swap(before);
  flush_output();
  if (input != NULL) {
    dora_operator__input_release(input);
  }
}

void dora_operator__call_drop(DoraResult_t (*drop)(void *), const char *label, void *context,
                              DoraResult_t *out) {
  const char *before = dora_operator_current_swap(label);
  *out = drop(context);
  dora_operator_current_swap(before);
  flush_output();
}
