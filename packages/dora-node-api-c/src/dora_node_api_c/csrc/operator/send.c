/* Sending: the helpers build an Output (id + Arrow array) and pass it by value to
 * SendOutput_t.call, which is dora_operator__send_trampoline: it hands a pointer to the
 * runtime's ctypes callback (ctypes callbacks cannot return a struct such as
 * DoraResult_t, hence this hop) and turns the callback's answer into a DoraResult_t. */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "operator_internal.h"

static DoraResult_t ok(void) {
  DoraResult_t result = {NULL};
  return result;
}

static void release_pair(struct ArrowArray *array, struct ArrowSchema *schema) {
  if (array != NULL && array->release != NULL) {
    array->release(array);
  }
  if (schema != NULL && schema->release != NULL) {
    schema->release(schema);
  }
}

/* ---- a UInt8 array over a private copy of the bytes -------------------------------- */

struct bytes {
  const void *buffers[2];
  alignas(64) uint8_t data[]; /* Arrow recommends 64-byte aligned buffers */
};

static void bytes_release(struct ArrowArray *array) {
  free(array->private_data);
  array->release = NULL;
}

static void static_schema_release(struct ArrowSchema *schema) { schema->release = NULL; }

static int bytes_array(uint8_t const *data, size_t len, struct ArrowArray *array,
                       struct ArrowSchema *schema) {
  size_t size = sizeof(struct bytes) + len;
  size += (alignof(struct bytes) - size % alignof(struct bytes)) % alignof(struct bytes);
  struct bytes *bytes = aligned_alloc(alignof(struct bytes), size);
  if (bytes == NULL) {
    return -1;
  }
  if (len) {
    memcpy(bytes->data, data, len);
  }
  bytes->buffers[0] = NULL; /* no validity bitmap: no nulls */
  bytes->buffers[1] = bytes->data;
  memset(array, 0, sizeof *array);
  array->length = (int64_t)len;
  array->n_buffers = 2;
  array->buffers = bytes->buffers;
  array->release = bytes_release;
  array->private_data = bytes;
  memset(schema, 0, sizeof *schema);
  schema->format = "C"; /* uint8 */
  schema->name = "";
  schema->flags = ARROW_FLAG_NULLABLE;
  schema->release = static_schema_release;
  return 0;
}

/* ---- sending ----------------------------------------------------------------------- */

/* Moves `array` and `schema` into an Output and calls the runtime. */
static DoraResult_t send(SendOutput_t const *send_output, char const *id,
                         struct ArrowArray *array, struct ArrowSchema *schema) {
  if (send_output == NULL || send_output->send_output.call == NULL || id == NULL) {
    release_pair(array, schema);
    return dora_result_error("dora_send_operator_output: NULL send_output or output id");
  }
  Output_t output;
  size_t id_len = strlen(id);
  output.id = malloc(id_len + 1);
  if (output.id == NULL) {
    release_pair(array, schema);
    return dora_result_error("dora_send_operator_output: out of memory");
  }
  memcpy(output.id, id, id_len + 1);
  output.array = *array;
  output.schema = *schema;
  array->release = NULL; /* moved into the output */
  schema->release = NULL;
  return send_output->send_output.call(send_output->send_output.env_ptr, output);
}

DoraResult_t dora_send_operator_output(SendOutput_t const *send_output, char const *id,
                                       uint8_t const *data_ptr, size_t data_len) {
  if (data_ptr == NULL && data_len > 0) {
    return dora_result_error("dora_send_operator_output: NULL data with a non-zero length");
  }
  struct ArrowArray array;
  struct ArrowSchema schema;
  if (bytes_array(data_ptr, data_len, &array, &schema) != 0) {
    return dora_result_error("dora_send_operator_output: out of memory");
  }
  return send(send_output, id, &array, &schema);
}

DoraResult_t dora_send_operator_output_arrow(SendOutput_t const *send_output, char const *id,
                                             struct ArrowArray *array,
                                             struct ArrowSchema *schema) {
  if (array == NULL || schema == NULL || array->release == NULL || schema->release == NULL) {
    release_pair(array, schema);
    return dora_result_error(
        "dora_send_operator_output_arrow: the array or schema is NULL or already released");
  }
  return send(send_output, id, array, schema);
}

DoraResult_t dora_operator__send_trampoline(void *env, Output_t output) {
  struct dora_operator__send_env *target = env;
  const char *error = "this SendOutput_t has no runtime behind it";
  if (target != NULL && target->send != NULL) {
    error = target->send(target->context, &output);
  }
  /* The runtime moved what it imported; whatever is left (an error) is released here,
   * as the send helpers promise. */
  release_pair(&output.array, &output.schema);
  free(output.id);
  return error == NULL ? ok() : dora_result_error(error);
}

void dora_operator__noop(void *env) { (void)env; }

size_t dora_operator__sizeof_input(void) { return sizeof(struct Input); }
size_t dora_operator__sizeof_output(void) { return sizeof(struct Output); }
size_t dora_operator__sizeof_raw_event(void) { return sizeof(RawEvent_t); }
size_t dora_operator__sizeof_send_output(void) { return sizeof(SendOutput_t); }
