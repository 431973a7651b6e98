/* Arrow C Data Interface: inputs exported as ArrowArray/ArrowSchema over the received
 * memory (no copy; the payload stays referenced until the array is released), and flat
 * arrays imported for sending as dora's `buffers` encoding: the Arrow buffers back to
 * back, each padded to 8 bytes, with a layout [length, null_count, offset, size...]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"

typedef struct {
  dn_payload *payload;
  const void *buffers[3];
  int32_t text_offsets[2];
} array_priv;

typedef struct {
  char format[80];
} schema_priv;

static void release_array(struct ArrowArray *a) {
  if (!a || !a->release) return;
  array_priv *p = a->private_data;
  if (p) {
    dn_payload_unref(p->payload);
    free(p);
  }
  a->release = NULL;
}

static void release_schema(struct ArrowSchema *s) {
  if (!s || !s->release) return;
  free(s->private_data);
  s->release = NULL;
}

static int64_t count_nulls(const uint8_t *validity, int64_t offset, int64_t length) {
  int64_t valid = 0;
  for (int64_t i = offset; i < offset + length; i++) valid += (validity[i >> 3] >> (i & 7)) & 1;
  return length - valid;
}

static int ipc_error(const dn_event *e) {
  dn_type t;
  char err[160];
  const char *name = "unknown";
  if (e->has_type) name = e->type.name;
  else if (e->data && dn_schema_parse(e->data, e->data_len, &t, err, sizeof err) == 0) name = t.name;
  return dn_fail("input `%s` carries an Arrow %s array, which the dora C API cannot read "
                 "(nested and dictionary types arrive as Arrow IPC; only flat types are "
                 "supported)",
                 e->id ? e->id : "?", name);
}

int dora_event_arrow(const void *event, struct ArrowArray *array_out,
                     struct ArrowSchema *schema_out) {
  const dn_event *e = event;
  if (!e || !array_out || !schema_out) return dn_fail("event, array_out or schema_out is NULL");
  if (e->kind != EV_INPUT) return dn_fail("the event is not an input");
  if (e->pl == PL_IPC) return ipc_error(e);
  array_priv *ap = calloc(1, sizeof *ap);
  schema_priv *sp = calloc(1, sizeof *sp);
  if (!ap || !sp) {
    free(ap);
    free(sp);
    return dn_fail("out of memory");
  }
  memset(array_out, 0, sizeof *array_out);
  memset(schema_out, 0, sizeof *schema_out);
  switch (e->pl) {
    case PL_RAW:
      snprintf(sp->format, sizeof sp->format, "C");
      array_out->length = (int64_t)e->data_len;
      array_out->n_buffers = 2;
      ap->buffers[1] = e->data;
      break;
    case PL_TEXT:
      snprintf(sp->format, sizeof sp->format, "u");
      if (e->data_len > INT32_MAX) goto too_big;
      array_out->length = 1;
      array_out->n_buffers = 3;
      ap->text_offsets[1] = (int32_t)e->data_len;
      ap->buffers[1] = ap->text_offsets;
      ap->buffers[2] = e->data;
      break;
    case PL_BUFFERS: {
      const dn_type *t = &e->type;
      snprintf(sp->format, sizeof sp->format, "%s", t->format);
      array_out->length = e->layout[0];
      array_out->offset = e->layout[2];
      array_out->n_buffers = dn_type_c_buffers(t);
      size_t pos = 0;
      const void *ipc[3] = {NULL, NULL, NULL};
      for (size_t i = 3; i < e->n_layout && i < 6; i++) {
        if (e->layout[i] < 0) continue;
        ipc[i - 3] = e->data + pos;
        pos += (size_t)e->layout[i];
        pos += (8 - pos % 8) % 8;
      }
      if (t->id == DN_T_NULL) {
        array_out->null_count = array_out->length;
        break;
      }
      for (int i = 0; i < 3; i++) ap->buffers[i] = ipc[i];
      array_out->null_count =
          ipc[0] ? count_nulls(ipc[0], array_out->offset, array_out->length) : 0;
      break;
    }
    default: /* timer ticks and empty messages: a NullArray of length 0 */
      snprintf(sp->format, sizeof sp->format, "n");
      break;
  }
  if (e->payload) dn_payload_ref(e->payload);
  ap->payload = e->payload;
  array_out->buffers = ap->buffers;
  array_out->release = release_array;
  array_out->private_data = ap;
  schema_out->format = sp->format;
  schema_out->name = "data";
  schema_out->flags = ARROW_FLAG_NULLABLE;
  schema_out->release = release_schema;
  schema_out->private_data = sp;
  return DORA_OK;
too_big:
  free(ap);
  free(sp);
  return dn_fail("text input too large");
}

/* ---- sending ------------------------------------------------------------------------- */

static const uint8_t ZEROS[8] = {0};

/* Sizes of the buffers of a C array: the interface does not carry them, the type and
 * length define them. */
int dn_arrow_parts(const struct ArrowArray *a, const struct ArrowSchema *s, dn_type *t,
                   int64_t *layout, size_t *n_layout, dn_part *parts, size_t *n_parts) {
  char err[300];
  if (!a || !s) return dn_fail("array or schema is NULL");
  if (!a->release || !s->release) return dn_fail("the array or schema was already released");
  if (dn_type_from_format(s->format, t, err, sizeof err)) return dn_fail("%s", err);
  if (s->n_children || a->n_children || s->dictionary || a->dictionary)
    return dn_fail("Arrow type %s with children or a dictionary is not supported", t->name);
  int want = dn_type_c_buffers(t);
  if (a->n_buffers != want)
    return dn_fail("an Arrow %s array has %d buffers, not %lld", t->name, want,
                   (long long)a->n_buffers);
  if (a->length < 0 || a->offset < 0 || a->length > INT64_MAX / 2 - a->offset)
    return dn_fail("bad array length or offset");
  if (want && !a->buffers) return dn_fail("the array has no buffers");
  int64_t end = a->length + a->offset;
  size_t np = 0;
  layout[0] = a->length;
  layout[1] = a->null_count;
  layout[2] = a->offset;
  if (t->id == DN_T_NULL) {
    layout[3] = -1;
    *n_layout = 4;
    *n_parts = 0;
    return 0;
  }
  int64_t sizes[3] = {-1, -1, -1};
  const void *ptrs[3] = {NULL, NULL, NULL};
  if (a->buffers[0] && a->null_count != 0) {
    sizes[0] = (end + 7) / 8;
    ptrs[0] = a->buffers[0];
  } else {
    layout[1] = 0;
  }
  int bits = dn_type_value_bits(t);
  static const int64_t zero_offsets[1] = {0};
  if (bits) {
    sizes[1] = (end * bits + 7) / 8;
    ptrs[1] = a->buffers[1];
    if (!ptrs[1] && sizes[1]) return dn_fail("the values buffer is NULL");
    if (!ptrs[1]) ptrs[1] = ZEROS;
  } else {
    int ob = dn_type_offset_bytes(t);
    ptrs[1] = a->buffers[1];
    ptrs[2] = a->buffers[2];
    if (!ptrs[1]) {
      if (a->length) return dn_fail("the offsets buffer is NULL");
      ptrs[1] = zero_offsets;
      sizes[1] = ob;
      sizes[2] = 0;
      ptrs[2] = ZEROS;
    } else {
      sizes[1] = (end + 1) * ob;
      int64_t last;
      if (ob == 4) {
        int32_t x;
        memcpy(&x, (const uint8_t *)ptrs[1] + end * 4, 4);
        last = x;
      } else {
        memcpy(&last, (const uint8_t *)ptrs[1] + end * 8, 8);
      }
      if (last < 0) return dn_fail("negative offset in a %s array", t->name);
      sizes[2] = last;
      if (!ptrs[2]) {
        if (last) return dn_fail("the data buffer is NULL");
        ptrs[2] = ZEROS;
      }
    }
  }
  int n_ipc = dn_type_ipc_buffers(t);
  for (int i = 0; i < n_ipc; i++) {
    layout[3 + i] = sizes[i];
    if (sizes[i] < 0) continue;
    parts[np].ptr = ptrs[i];
    parts[np].len = (size_t)sizes[i];
    np++;
    size_t pad = (8 - (size_t)sizes[i] % 8) % 8;
    if (pad) {
      parts[np].ptr = ZEROS;
      parts[np].len = pad;
      np++;
    }
  }
  *n_layout = (size_t)(3 + n_ipc);
  *n_parts = np;
  return 0;
}
