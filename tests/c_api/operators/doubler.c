/* The Arrow helpers: reads its int64 input `numbers` with dora_read_input_arrow (zero-copy),
 * sends the doubled values as a new int64 array with dora_send_operator_output_arrow. It
 * also keeps each input array until the next event, to check that a read array outlives
 * its event: the kept array's values must be unchanged when it is released. For each
 * input it prints which mapping of /proc/self/maps holds the values: a large one must be
 * the sender's shared-memory segment (a memfd), not a copy. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operator_api.h"

struct kept {
  struct ArrowArray array;
  struct ArrowSchema schema;
  int64_t sum; /* of the values when they were read */
  int held;
};

/* The path of the mapping that holds `address` ("" for anonymous memory). */
static void mapping_of(const void *address, char *path, size_t size) {
  path[0] = '\0';
  FILE *maps = fopen("/proc/self/maps", "r");
  if (maps == NULL) {
    return;
  }
  char line[512];
  uintptr_t at = (uintptr_t)address;
  while (fgets(line, sizeof line, maps) != NULL) {
    unsigned long start, end;
    int consumed = 0;
    if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &start, &end, &consumed) < 2) {
      continue;
    }
    if (at >= start && at < end) {
      snprintf(path, size, "%s", consumed > 0 ? line + consumed : "");
      path[strcspn(path, "\n")] = '\0';
      break;
    }
  }
  fclose(maps);
}

static int64_t sum_of(const struct ArrowArray *array) {
  const int64_t *values = (const int64_t *)array->buffers[1] + array->offset;
  int64_t sum = 0;
  for (int64_t i = 0; i < array->length; i++) {
    sum += values[i];
  }
  return sum;
}

static void release_kept(struct kept *kept) {
  if (kept->held) {
    kept->array.release(&kept->array);
    kept->schema.release(&kept->schema);
    kept->held = 0;
  }
}

/* A fresh int64 array: the buffers and the buffer table in one allocation. */
struct owned {
  const void *buffers[2];
  int64_t values[];
};

static void owned_release(struct ArrowArray *array) {
  free(array->private_data);
  array->release = NULL;
}

static void schema_release(struct ArrowSchema *schema) { schema->release = NULL; }

DoraInitResult_t dora_init_operator(void) {
  DoraInitResult_t result = {.result = {.error = NULL}, .operator_context = NULL};
  result.operator_context = calloc(1, sizeof(struct kept));
  return result;
}

DoraResult_t dora_drop_operator(void *operator_context) {
  struct kept *kept = operator_context;
  release_kept(kept);
  free(kept);
  DoraResult_t result = {.error = NULL};
  return result;
}

OnEventResult_t dora_on_event(RawEvent_t *event, const SendOutput_t *send_output,
                              void *operator_context) {
  struct kept *kept = operator_context;
  OnEventResult_t result = {.result = {.error = NULL}, .status = DORA_STATUS_CONTINUE};
  if (event->input == NULL) {
    return result;
  }
  if (kept->held && sum_of(&kept->array) != kept->sum) {
    result.result = dora_result_error("a kept input array changed after its event");
    return result;
  }
  release_kept(kept);

  struct ArrowArray in;
  struct ArrowSchema in_schema;
  if (dora_read_input_arrow(event->input, &in, &in_schema) != 0) {
    result.result = dora_result_error("dora_read_input_arrow failed");
    return result;
  }
  if (strcmp(in_schema.format, "l") != 0 || in.null_count != 0) {
    char message[96];
    snprintf(message, sizeof message, "expected int64 without nulls, got format `%s`",
             in_schema.format);
    in.release(&in);
    in_schema.release(&in_schema);
    result.result = dora_result_error(message);
    return result;
  }
  const int64_t *values = (const int64_t *)in.buffers[1] + in.offset;
  struct owned *owned = malloc(sizeof *owned + (size_t)in.length * sizeof(int64_t));
  for (int64_t i = 0; i < in.length; i++) {
    owned->values[i] = values[i] * 2;
  }
  owned->buffers[0] = NULL;
  owned->buffers[1] = owned->values;
  struct ArrowArray out = {
      .length = in.length,
      .null_count = 0,
      .offset = 0,
      .n_buffers = 2,
      .n_children = 0,
      .buffers = owned->buffers,
      .children = NULL,
      .dictionary = NULL,
      .release = owned_release,
      .private_data = owned,
  };
  struct ArrowSchema out_schema = {
      .format = "l",
      .name = "",
      .metadata = NULL,
      .flags = ARROW_FLAG_NULLABLE,
      .n_children = 0,
      .children = NULL,
      .dictionary = NULL,
      .release = schema_release,
      .private_data = NULL,
  };
  char mapping[256];
  mapping_of(values, mapping, sizeof mapping);
  printf("doubler: %lld values in [%s], timestamp %llu\n", (long long)in.length, mapping,
         (unsigned long long)dora_read_input_timestamp_ns(event->input));
  result.result = dora_send_operator_output_arrow(send_output, "doubled", &out, &out_schema);

  kept->array = in; /* released on the next event, or at drop */
  kept->schema = in_schema;
  kept->sum = sum_of(&in);
  kept->held = 1;
  return result;
}
