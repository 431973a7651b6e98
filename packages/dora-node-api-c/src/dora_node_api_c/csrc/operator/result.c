/* DoraResult_t errors: a heap Vec_uint8_t holding the message (NUL-terminated too, so the
 * runtime may read it either way). */
#include <stdlib.h>
#include <string.h>

#include "operator_internal.h"

/* Returned when even the error cannot be allocated: still an error, never freed. */
static uint8_t out_of_memory_text[] = "out of memory";
static Vec_uint8_t out_of_memory = {out_of_memory_text, sizeof out_of_memory_text - 1, 0};

DoraResult_t dora_result_error(char const *message) {
  DoraResult_t result = {&out_of_memory};
  if (message == NULL) {
    message = "operator error (no message)";
  }
  size_t len = strlen(message);
  Vec_uint8_t *vec = malloc(sizeof *vec);
  uint8_t *text = malloc(len + 1);
  if (vec == NULL || text == NULL) {
    free(vec);
    free(text);
    return result;
  }
  memcpy(text, message, len + 1);
  vec->ptr = text;
  vec->len = len;
  vec->cap = len + 1;
  result.error = vec;
  return result;
}

void dora_free_result_error(DoraResult_t result) {
  if (result.error == NULL || result.error == &out_of_memory) {
    return;
  }
  free(result.error->ptr);
  free(result.error);
}
