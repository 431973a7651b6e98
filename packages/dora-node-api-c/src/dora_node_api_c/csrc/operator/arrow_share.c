/* Zero-copy Arrow inputs that may outlive their event.
 *
 * The runtime exports each input once (pyarrow -> ArrowArray). An operator may read it
 * several times, and keep what it read after dora_on_event returned, so the exported
 * array moves into a holder counted by reference: the runtime holds one reference for
 * the duration of the event, and every array handed out holds one more. Each handed-out
 * array is a "view": its own ArrowArray structs (children and dictionary too, so that a
 * consumer may move a child out, as the C Data Interface allows) over the holder's
 * buffers. The holder's array is released when the last reference goes. Schemas are
 * small and copied instead. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "operator_internal.h"

struct dora_shared_input {
  atomic_long refs;
  struct ArrowArray array;
  struct ArrowSchema schema;
};

static void shared_unref(struct dora_shared_input *shared) {
  if (atomic_fetch_sub_explicit(&shared->refs, 1, memory_order_acq_rel) != 1) {
    return;
  }
  if (shared->array.release != NULL) {
    shared->array.release(&shared->array);
  }
  if (shared->schema.release != NULL) {
    shared->schema.release(&shared->schema);
  }
  free(shared);
}

int dora_shared_input_attach(struct Input *input) {
  struct dora_shared_input *shared = malloc(sizeof *shared);
  if (shared == NULL) {
    return -1;
  }
  atomic_init(&shared->refs, 1); /* the runtime's, dropped by dora_operator__input_release */
  shared->array = input->array;
  shared->schema = input->schema;
  input->array.release = NULL; /* moved */
  input->schema.release = NULL;
  input->shared = shared;
  return 0;
}

void dora_operator__input_release(struct Input *input) {
  if (input == NULL) {
    return;
  }
  if (input->shared != NULL) {
    shared_unref(input->shared);
    input->shared = NULL;
  }
  if (input->array.release != NULL) {
    input->array.release(&input->array);
  }
  if (input->schema.release != NULL) {
    input->schema.release(&input->schema);
  }
}

const struct ArrowArray *dora_input_array(const struct Input *input) {
  if (input->shared != NULL) {
    return input->shared->array.release ? &input->shared->array : NULL;
  }
  return input->array.release ? &input->array : NULL;
}

const struct ArrowSchema *dora_input_schema(const struct Input *input) {
  if (input->shared != NULL) {
    return input->shared->schema.release ? &input->shared->schema : NULL;
  }
  return input->schema.release ? &input->schema : NULL;
}

/* ---- array views ------------------------------------------------------------------- */

struct view {
  struct dora_shared_input *shared; /* one reference per view, children included */
  struct ArrowArray **child_ptrs;
  struct ArrowArray *children;
  struct ArrowArray *dictionary;
};

static void view_release(struct ArrowArray *array) {
  struct view *view = array->private_data;
  for (int64_t i = 0; i < array->n_children; i++) {
    /* a child the consumer moved out has release == NULL here: it is theirs now */
    if (view->child_ptrs[i]->release != NULL) {
      view->child_ptrs[i]->release(view->child_ptrs[i]);
    }
  }
  if (view->dictionary != NULL && view->dictionary->release != NULL) {
    view->dictionary->release(view->dictionary);
  }
  shared_unref(view->shared);
  free(view->child_ptrs);
  free(view->children);
  free(view->dictionary);
  free(view);
  array->release = NULL;
}

static int make_view(const struct ArrowArray *source, struct dora_shared_input *shared,
                     struct ArrowArray *out) {
  struct view *view = calloc(1, sizeof *view);
  if (view == NULL) {
    return -1;
  }
  int64_t n = source->n_children;
  if (n > 0) {
    view->child_ptrs = calloc((size_t)n, sizeof *view->child_ptrs);
    view->children = calloc((size_t)n, sizeof *view->children);
  }
  if (source->dictionary != NULL) {
    view->dictionary = calloc(1, sizeof *view->dictionary);
  }
  if ((n > 0 && (view->child_ptrs == NULL || view->children == NULL)) ||
      (source->dictionary != NULL && view->dictionary == NULL)) {
    free(view->child_ptrs);
    free(view->children);
    free(view->dictionary);
    free(view);
    return -1;
  }
  int64_t made = 0;
  int failed = 0;
  for (; made < n; made++) {
    view->child_ptrs[made] = &view->children[made];
    if (make_view(source->children[made], shared, &view->children[made]) != 0) {
      failed = 1;
      break;
    }
  }
  if (!failed && source->dictionary != NULL &&
      make_view(source->dictionary, shared, view->dictionary) != 0) {
    failed = 1;
  }
  if (failed) {
    for (int64_t i = 0; i < made; i++) {
      view->children[i].release(&view->children[i]);
    }
    free(view->child_ptrs);
    free(view->children);
    free(view->dictionary);
    free(view);
    return -1;
  }
  atomic_fetch_add_explicit(&shared->refs, 1, memory_order_relaxed);
  view->shared = shared;
  *out = *source; /* length, null_count, offset, buffers: the holder's, read-only */
  out->children = view->child_ptrs;
  out->dictionary = view->dictionary;
  out->release = view_release;
  out->private_data = view;
  return 0;
}

int dora_shared_input_export(struct dora_shared_input *shared, struct ArrowArray *out) {
  if (shared == NULL || shared->array.release == NULL) {
    return -1;
  }
  return make_view(&shared->array, shared, out);
}

/* ---- schema copies ----------------------------------------------------------------- */

struct schema_copy {
  char *format;
  char *name;
  char *metadata;
  struct ArrowSchema **child_ptrs;
  struct ArrowSchema *children;
  struct ArrowSchema *dictionary;
};

/* The byte size of Arrow's metadata encoding: int32 count, then per pair an int32
 * length and bytes for the key, the same for the value. */
static size_t metadata_size(const char *metadata) {
  if (metadata == NULL) {
    return 0;
  }
  int32_t count;
  memcpy(&count, metadata, sizeof count);
  size_t pos = sizeof count;
  for (int32_t i = 0; i < count * 2; i++) {
    int32_t len;
    memcpy(&len, metadata + pos, sizeof len);
    pos += sizeof len + (size_t)len;
  }
  return pos;
}

static char *copy_bytes(const char *source, size_t len) {
  char *copy = malloc(len + 1);
  if (copy != NULL) {
    memcpy(copy, source, len);
    copy[len] = '\0';
  }
  return copy;
}

static void schema_copy_release(struct ArrowSchema *schema) {
  struct schema_copy *copy = schema->private_data;
  for (int64_t i = 0; i < schema->n_children; i++) {
    if (copy->child_ptrs[i]->release != NULL) {
      copy->child_ptrs[i]->release(copy->child_ptrs[i]);
    }
  }
  if (copy->dictionary != NULL && copy->dictionary->release != NULL) {
    copy->dictionary->release(copy->dictionary);
  }
  free(copy->format);
  free(copy->name);
  free(copy->metadata);
  free(copy->child_ptrs);
  free(copy->children);
  free(copy->dictionary);
  free(copy);
  schema->release = NULL;
}

int dora_schema_copy(const struct ArrowSchema *source, struct ArrowSchema *out) {
  struct schema_copy *copy = calloc(1, sizeof *copy);
  if (copy == NULL) {
    return -1;
  }
  *out = *source;
  out->n_children = 0; /* so that a partial copy releases only what it holds */
  out->dictionary = NULL;
  out->release = schema_copy_release;
  out->private_data = copy;
  const char *format = source->format ? source->format : "";
  copy->format = copy_bytes(format, strlen(format));
  if (source->name != NULL) {
    copy->name = copy_bytes(source->name, strlen(source->name));
  }
  if (source->metadata != NULL) {
    copy->metadata = copy_bytes(source->metadata, metadata_size(source->metadata));
  }
  int64_t n = source->n_children;
  if (n > 0) {
    copy->child_ptrs = calloc((size_t)n, sizeof *copy->child_ptrs);
    copy->children = calloc((size_t)n, sizeof *copy->children);
  }
  out->format = copy->format;
  out->name = copy->name;
  out->metadata = copy->metadata;
  out->children = copy->child_ptrs;
  if (copy->format == NULL || (source->name != NULL && copy->name == NULL) ||
      (source->metadata != NULL && copy->metadata == NULL) ||
      (n > 0 && (copy->child_ptrs == NULL || copy->children == NULL))) {
    schema_copy_release(out);
    return -1;
  }
  for (int64_t i = 0; i < n; i++) {
    copy->child_ptrs[i] = &copy->children[i];
    if (dora_schema_copy(source->children[i], &copy->children[i]) != 0) {
      schema_copy_release(out);
      return -1;
    }
    out->n_children = i + 1;
  }
  if (source->dictionary != NULL) {
    copy->dictionary = calloc(1, sizeof *copy->dictionary);
    out->dictionary = copy->dictionary;
    if (copy->dictionary == NULL || dora_schema_copy(source->dictionary, copy->dictionary) != 0) {
      if (copy->dictionary != NULL) {
        copy->dictionary->release = NULL;
      }
      schema_copy_release(out);
      return -1;
    }
  }
  return 0;
}
