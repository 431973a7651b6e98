/* A C operator that shares its runtime node with a Python operator. On `tick` (a timer)
 * it sends "tick N" on `ticks`; on `text` (the Python operator's output) it sends
 * "c saw <text>" on `echo`. With RELAY_STOP_ALL_AFTER=N in the environment it returns
 * DORA_STATUS_STOP_ALL on its N-th tick, after sending it; with RELAY_STOP_AFTER=N,
 * DORA_STATUS_STOP (this operator only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operator_api.h"

struct relay {
  unsigned ticks;
  unsigned stop_all_after; /* 0: never */
  unsigned stop_after;     /* 0: never */
};

static OnEventResult_t continue_with(DoraResult_t result, DoraStatus_t status) {
  OnEventResult_t out = {.result = result, .status = status};
  return out;
}

DoraInitResult_t dora_init_operator(void) {
  DoraInitResult_t result = {.result = {.error = NULL}, .operator_context = NULL};
  struct relay *relay = calloc(1, sizeof *relay);
  if (relay == NULL) {
    result.result = dora_result_error("relay: out of memory");
    return result;
  }
  const char *limit = getenv("RELAY_STOP_ALL_AFTER");
  relay->stop_all_after = limit ? (unsigned)strtoul(limit, NULL, 10) : 0;
  limit = getenv("RELAY_STOP_AFTER");
  relay->stop_after = limit ? (unsigned)strtoul(limit, NULL, 10) : 0;
  result.operator_context = relay;
  return result;
}

DoraResult_t dora_drop_operator(void *operator_context) {
  free(operator_context);
  printf("relay dropped\n");
  DoraResult_t result = {.error = NULL};
  return result;
}

OnEventResult_t dora_on_event(RawEvent_t *event, const SendOutput_t *send_output,
                              void *operator_context) {
  struct relay *relay = operator_context;
  DoraResult_t ok = {.error = NULL};
  if (event->stop) {
    printf("relay got STOP\n");
    return continue_with(ok, DORA_STATUS_CONTINUE);
  }
  if (event->input == NULL) {
    return continue_with(ok, DORA_STATUS_CONTINUE);
  }
  char *id = dora_read_input_id(event->input);
  char message[160];
  DoraResult_t sent = ok;
  DoraStatus_t status = DORA_STATUS_CONTINUE;
  if (strcmp(id, "tick") == 0) {
    relay->ticks++;
    int len = snprintf(message, sizeof message, "tick %u", relay->ticks);
    sent = dora_send_operator_output(send_output, "ticks", (const uint8_t *)message, (size_t)len);
    if (relay->stop_all_after != 0 && relay->ticks >= relay->stop_all_after) {
      printf("relay returns STOP_ALL\n");
      status = DORA_STATUS_STOP_ALL;
    } else if (relay->stop_after != 0 && relay->ticks >= relay->stop_after) {
      printf("relay returns STOP\n");
      status = DORA_STATUS_STOP;
    }
  } else if (strcmp(id, "text") == 0) {
    Vec_uint8_t data = dora_read_data(event->input);
    int len = snprintf(message, sizeof message, "c saw %.*s", (int)data.len,
                       data.ptr ? (const char *)data.ptr : "");
    sent = dora_send_operator_output(send_output, "echo", (const uint8_t *)message, (size_t)len);
    dora_free_data(data);
  }
  dora_free_input_id(id);
  return continue_with(sent, status);
}
