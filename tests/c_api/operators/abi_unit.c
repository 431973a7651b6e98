/* Unit test of the operator helper library, compiled together with its sources under
 * AddressSanitizer and UndefinedBehaviorSanitizer (test_operator_abi_sanitized.py). It
 * plays both sides: the runtime (fills an Input, calls dora_operator__call_on_event with a
 * stand-in send callback) and an operator (reads, keeps, moves and sends arrays), and
 * checks that every producer array is released exactly once, after its last user. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operator_api.h"
#include "operator_internal.h"

static int failures;
#define CHECK(cond)                                                                       \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);             \
      failures++;                                                                         \
    }                                                                                     \
  } while (0)

/* ---- a producer: int64 arrays, a struct of two of them, counted releases ------------ */

static int producer_released;

struct ints {
  const void *buffers[2];
  struct ArrowArray *child_ptrs[2];
  struct ArrowArray children[2];
  int64_t values[4];
};

static void ints_release(struct ArrowArray *array) {
  struct ints *ints = array->private_data;
  for (int64_t i = 0; i < array->n_children; i++) {
    if (ints->children[i].release != NULL) {
      ints->children[i].release(&ints->children[i]);
    }
  }
  free(ints);
  array->release = NULL;
  producer_released++;
}

static void child_release(struct ArrowArray *array) { array->release = NULL; }

static void make_ints(struct ArrowArray *out, int with_children) {
  struct ints *ints = calloc(1, sizeof *ints);
  for (int i = 0; i < 4; i++) {
    ints->values[i] = i + 1;
  }
  ints->buffers[0] = NULL;
  ints->buffers[1] = ints->values;
  memset(out, 0, sizeof *out);
  out->length = 4;
  out->n_buffers = 2;
  out->buffers = ints->buffers;
  out->release = ints_release;
  out->private_data = ints;
  if (with_children) {
    out->n_buffers = 1; /* a struct: validity only */
    out->n_children = 2;
    out->children = ints->child_ptrs;
    for (int i = 0; i < 2; i++) {
      struct ArrowArray *child = &ints->children[i];
      child->length = 4;
      child->n_buffers = 2;
      child->buffers = ints->buffers;
      child->release = child_release;
      ints->child_ptrs[i] = child;
    }
  }
}

static void schema_release(struct ArrowSchema *schema) { schema->release = NULL; }

/* "l" with metadata {"k": "v"}, as Arrow encodes it */
static const char metadata[] = {1, 0, 0, 0, 1, 0, 0, 0, 'k', 1, 0, 0, 0, 'v'};

static void make_schema(struct ArrowSchema *out, const char *format) {
  memset(out, 0, sizeof *out);
  out->format = format;
  out->name = "numbers";
  out->metadata = metadata;
  out->release = schema_release;
}

/* ---- the runtime's side of sending ---------------------------------------------------- */

static struct ArrowArray imported; /* what the stand-in runtime took */
static int sends;

static const char *on_send(void *context, struct Output *output) {
  (void)context;
  sends++;
  if (strcmp(output->id, "refused") == 0) {
    return "refused by the runtime"; /* not imported: the trampoline releases it */
  }
  if (strcmp(output->id, "arrow") == 0) {
    CHECK(imported.release == NULL);
    imported = output->array; /* import = move */
    output->array.release = NULL;
    output->schema.release(&output->schema);
    return NULL;
  }
  CHECK(strcmp(output->id, "bytes") == 0);
  CHECK(strcmp(output->schema.format, "C") == 0);
  CHECK(output->array.length == 3);
  CHECK(memcmp(output->array.buffers[1], "abc", 3) == 0);
  return NULL; /* leave it: the trampoline releases what was not taken */
}

/* ---- the operator's side --------------------------------------------------------------- */

static struct ArrowArray kept;
static struct ArrowSchema kept_schema;

static OnEventResult_t on_event(RawEvent_t *event, const SendOutput_t *send, void *context) {
  (void)context;
  OnEventResult_t result = {.result = {.error = NULL}, .status = DORA_STATUS_CONTINUE};
  char *id = dora_read_input_id(event->input);
  CHECK(strcmp(id, "numbers") == 0);
  dora_free_input_id(id);
  CHECK(dora_read_input_timestamp_ns(event->input) == 1234);

  Vec_uint8_t bytes = dora_read_data(event->input);
  CHECK(bytes.ptr == NULL); /* int64, not bytes */
  dora_free_data(bytes);

  struct ArrowArray first, second;
  struct ArrowSchema first_schema, second_schema;
  CHECK(dora_read_input_arrow(event->input, &first, &first_schema) == 0);
  CHECK(dora_read_input_arrow(event->input, &second, &second_schema) == 0);
  CHECK(strcmp(first_schema.format, "l") == 0);
  CHECK(strcmp(first_schema.name, "numbers") == 0);
  CHECK(memcmp(first_schema.metadata, metadata, sizeof metadata) == 0);
  CHECK(first_schema.metadata != metadata); /* a copy */
  CHECK(first.buffers[1] == second.buffers[1]); /* zero-copy: the producer's buffer */
  CHECK(((const int64_t *)first.buffers[1])[3] == 4);

  kept = second; /* outlives the event */
  kept_schema = second_schema;

  DoraResult_t sent = dora_send_operator_output_arrow(send, "arrow", &first, &first_schema);
  CHECK(sent.error == NULL);
  CHECK(first.release == NULL && first_schema.release == NULL); /* moved */

  sent = dora_send_operator_output(send, "bytes", (const uint8_t *)"abc", 3);
  CHECK(sent.error == NULL);

  sent = dora_send_operator_output(send, "refused", (const uint8_t *)"x", 1);
  CHECK(sent.error != NULL);
  CHECK(sent.error->len == strlen("refused by the runtime"));
  dora_free_result_error(sent);
  return result;
}

static OnEventResult_t on_struct_event(RawEvent_t *event, const SendOutput_t *send,
                                       void *context) {
  (void)send;
  (void)context;
  OnEventResult_t result = {.result = {.error = NULL}, .status = DORA_STATUS_CONTINUE};
  struct ArrowArray view;
  struct ArrowSchema schema;
  CHECK(dora_read_input_arrow(event->input, &view, &schema) == 0);
  CHECK(view.n_children == 2);
  /* move child 0 out (allowed by the C Data Interface), release the parent first */
  kept = *view.children[0];
  view.children[0]->release = NULL;
  view.release(&view);
  schema.release(&schema);
  CHECK(((const int64_t *)kept.buffers[1])[0] == 1);
  return result;
}

int main(void) {
  struct dora_operator__send_env env = {on_send, NULL};
  SendOutput_t send = {{&env, dora_operator__send_trampoline, dora_operator__noop,
                        dora_operator__noop}};

  /* 1. read twice, keep one, send one, send bytes, a refused send */
  struct Input input;
  memset(&input, 0, sizeof input);
  input.id = "numbers";
  input.timestamp_ns = 1234;
  make_ints(&input.array, 0);
  make_schema(&input.schema, "l");
  RawEvent_t event = {.input = &input};
  OnEventResult_t out;
  dora_operator__call_on_event(on_event, "unit", &event, &send, NULL, &out);
  CHECK(out.result.error == NULL);
  CHECK(sends == 3);
  CHECK(input.shared == NULL); /* the runtime's reference is gone */
  CHECK(producer_released == 0); /* two users left: `kept` and `imported` */
  imported.release(&imported);
  CHECK(producer_released == 0);
  kept.release(&kept);
  kept_schema.release(&kept_schema);
  CHECK(producer_released == 1);

  /* 2. a struct array: a moved child outlives its parent view */
  memset(&input, 0, sizeof input);
  input.id = "numbers";
  make_ints(&input.array, 1);
  make_schema(&input.schema, "+s");
  event.input = &input;
  dora_operator__call_on_event(on_struct_event, "unit", &event, &send, NULL, &out);
  CHECK(producer_released == 1);
  kept.release(&kept);
  CHECK(producer_released == 2);

  /* 3. an input the operator never reads is released with the call */
  memset(&input, 0, sizeof input);
  input.id = "numbers";
  make_ints(&input.array, 0);
  make_schema(&input.schema, "l");
  dora_operator__input_release(&input);
  CHECK(producer_released == 3);

  /* 4. results */
  DoraResult_t error = dora_result_error("boom");
  CHECK(error.error != NULL && error.error->len == 4 && memcmp(error.error->ptr, "boom", 4) == 0);
  dora_free_result_error(error);
  DoraResult_t ok = {.error = NULL};
  dora_free_result_error(ok);
  CHECK(dora_read_input_id(NULL) == NULL);

  if (failures == 0) {
    printf("abi_unit: all checks passed\n");
  }
  return failures == 0 ? 0 : 1;
}
