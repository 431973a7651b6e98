/* A C operator that segfaults on its 3rd tick, in its first incarnation only: it appends a
 * line to $CRASH_LOG in dora_init_operator (so the file counts incarnations) and sends
 * "incarnation I tick N" on `out` for every tick. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operator_api.h"

struct crasher {
  unsigned incarnation;
  unsigned ticks;
};

static unsigned count_lines(const char *path) {
  FILE *file = fopen(path, "r");
  unsigned lines = 0;
  if (file == NULL) {
    return 0;
  }
  for (int c; (c = fgetc(file)) != EOF;) {
    lines += c == '\n';
  }
  fclose(file);
  return lines;
}

DoraInitResult_t dora_init_operator(void) {
  DoraInitResult_t result = {.result = {.error = NULL}, .operator_context = NULL};
  const char *log = getenv("CRASH_LOG");
  if (log == NULL) {
    result.result = dora_result_error("CRASH_LOG is not set");
    return result;
  }
  FILE *file = fopen(log, "a");
  if (file == NULL) {
    result.result = dora_result_error("cannot open CRASH_LOG");
    return result;
  }
  fputs("init\n", file);
  fclose(file);
  struct crasher *crasher = calloc(1, sizeof *crasher);
  crasher->incarnation = count_lines(log);
  result.operator_context = crasher;
  return result;
}

DoraResult_t dora_drop_operator(void *operator_context) {
  free(operator_context);
  DoraResult_t result = {.error = NULL};
  return result;
}

OnEventResult_t dora_on_event(RawEvent_t *event, const SendOutput_t *send_output,
                              void *operator_context) {
  struct crasher *crasher = operator_context;
  OnEventResult_t result = {.result = {.error = NULL}, .status = DORA_STATUS_CONTINUE};
  if (event->input == NULL) {
    return result;
  }
  crasher->ticks++;
  if (crasher->incarnation == 1 && crasher->ticks == 3) {
    fprintf(stderr, "crasher: about to dereference NULL\n");
    volatile int *nowhere = NULL;
    *nowhere = 42;
  }
  char message[64];
  int len = snprintf(message, sizeof message, "incarnation %u tick %u", crasher->incarnation,
                     crasher->ticks);
  result.result =
      dora_send_operator_output(send_output, "out", (const uint8_t *)message, (size_t)len);
  return result;
}
