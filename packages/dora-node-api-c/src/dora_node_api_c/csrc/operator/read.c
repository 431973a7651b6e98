/* Reading an input: its id, its bytes (dora-rs's helpers, copies) and its Arrow array
 * (zero-copy, see arrow_share.c). */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "operator_internal.h"

char *dora_read_input_id(Input_t const *input) {
  if (input == NULL || input->id == NULL) {
    return NULL;
  }
  return strdup(input->id);
}

void dora_free_input_id(char *input_id) { free(input_id); }

/* A UInt8 array without nulls, as dora-rs's dora_read_data accepts; anything else reads as
 * empty (ptr NULL), so an operator can tell "no bytes" from "zero bytes". */
Vec_uint8_t dora_read_data(Input_t *input) {
  Vec_uint8_t empty = {NULL, 0, 0};
  const struct ArrowArray *array = input ? dora_input_array(input) : NULL;
  const struct ArrowSchema *schema = input ? dora_input_schema(input) : NULL;
  if (array == NULL || schema == NULL || schema->format == NULL ||
      strcmp(schema->format, "C") != 0 || array->n_buffers != 2) {
    return empty;
  }
  if (array->null_count != 0 && array->buffers[0] != NULL) {
    return empty;
  }
  size_t len = (size_t)array->length;
  const uint8_t *bytes = array->buffers[1];
  /* malloc(0) may be NULL: keep a real pointer for an empty byte array */
  uint8_t *copy = malloc(len ? len : 1);
  if (copy == NULL) {
    return empty;
  }
  if (len) {
    memcpy(copy, bytes + array->offset, len);
  }
  Vec_uint8_t data = {copy, len, len ? len : 1};
  return data;
}

void dora_free_data(Vec_uint8_t data) { free(data.ptr); }

int dora_read_input_arrow(Input_t const *input, struct ArrowArray *array_out,
                          struct ArrowSchema *schema_out) {
  if (input == NULL || array_out == NULL || schema_out == NULL) {
    return -1;
  }
  const struct ArrowSchema *schema = dora_input_schema(input);
  if (schema == NULL || input->shared == NULL) {
    return -1;
  }
  if (dora_schema_copy(schema, schema_out) != 0) {
    return -1;
  }
  if (dora_shared_input_export(input->shared, array_out) != 0) {
    schema_out->release(schema_out);
    return -1;
  }
  return 0;
}

uint64_t dora_read_input_timestamp_ns(Input_t const *input) {
  return input ? input->timestamp_ns : 0;
}
