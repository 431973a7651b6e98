/* msgpack encoding and decoding (see msgpack.h). Big-endian numbers, as the format says.
 * The writers are outside the send path's section: a message's Data frame is stored by
 * sender.c's encode_data_plain; these encode set-up frames and first-of-a-type ones. */
#include "msgpack.h"

#include <string.h>

/* Each writer stores through msgpack.h's raw stores into `tmp` (at most 9 bytes) and
 * appends up to `end`: one copy of the width choices. */
static void put(dn_buf *b, const uint8_t *tmp, const uint8_t *end) {
  dn_buf_put(b, tmp, (size_t)(end - tmp));
}

void mp_w_nil(dn_buf *b) { dn_buf_byte(b, 0xc0); }
void mp_w_bool(dn_buf *b, bool v) { dn_buf_byte(b, v ? 0xc3 : 0xc2); }

void mp_w_int(dn_buf *b, int64_t v) {
  uint8_t t[9];
  put(b, t, mp_put_int(t, v));
}

void mp_w_f64(dn_buf *b, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  uint8_t t[9];
  put(b, t, mp_put_be(t, 0xcb, u, 8));
}

void mp_w_str(dn_buf *b, const char *s, size_t len) {
  uint8_t t[9];
  put(b, t, mp_put_str_head(t, len));
  dn_buf_put(b, s, len);
}

void mp_w_cstr(dn_buf *b, const char *s) { mp_w_str(b, s, dn_strlen(s)); }

void mp_w_bin_header(dn_buf *b, size_t len) {
  uint8_t t[9];
  put(b, t, mp_put_bin_head(t, len));
}

void mp_w_bin(dn_buf *b, const void *p, size_t len) {
  mp_w_bin_header(b, len);
  dn_buf_put(b, p, len);
}

void mp_w_array(dn_buf *b, uint32_t n) {
  uint8_t t[9];
  put(b, t, mp_put_array_head(t, n));
}

void mp_w_map(dn_buf *b, uint32_t n) {
  uint8_t t[9];
  put(b, t, mp_put_map_head(t, n));
}

/* ---- reading ---------------------------------------------------------------------- */

DN_RECV static int get_be(mp_rd *r, int bytes, uint64_t *out) {
  if (r->end - r->p < bytes) return -1;
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v = (v << 8) | r->p[i];
  r->p += bytes;
  *out = v;
  return 0;
}

DN_RECV static int take(mp_rd *r, mp_val *v, uint64_t len) {
  if ((uint64_t)(r->end - r->p) < len) return -1;
  v->ptr = r->p;
  v->len = (uint32_t)len;
  r->p += len;
  return 0;
}

DN_RECV int mp_read(mp_rd *r, mp_val *v) {
  if (r->p >= r->end) return -1;
  uint8_t c = *r->p++;
  uint64_t u = 0;
  /* no memset of the whole value: this runs ~30 times per received message; callers
   * only read the fields of the type they got */
  v->big = false;
  if (c <= 0x7f) {
    v->type = MP_INT;
    v->i = c;
    return 0;
  }
  if (c >= 0xe0) {
    v->type = MP_INT;
    v->i = (int8_t)c;
    return 0;
  }
  if ((c & 0xe0) == 0xa0) {
    v->type = MP_STR;
    return take(r, v, c & 0x1f);
  }
  if ((c & 0xf0) == 0x90) {
    v->type = MP_ARRAY;
    v->n = c & 0x0f;
    return 0;
  }
  if ((c & 0xf0) == 0x80) {
    v->type = MP_MAP;
    v->n = c & 0x0f;
    return 0;
  }
  switch (c) {
    case 0xc0: v->type = MP_NIL; return 0;
    case 0xc2: v->type = MP_BOOL; v->b = false; return 0;
    case 0xc3: v->type = MP_BOOL; v->b = true; return 0;
    case 0xc4: case 0xc5: case 0xc6:
      if (get_be(r, 1 << (c - 0xc4), &u)) return -1;
      v->type = MP_BIN;
      return take(r, v, u);
    case 0xd9: case 0xda: case 0xdb:
      if (get_be(r, 1 << (c - 0xd9), &u)) return -1;
      v->type = MP_STR;
      return take(r, v, u);
    case 0xca: {
      if (get_be(r, 4, &u)) return -1;
      uint32_t bits = (uint32_t)u;
      float f;
      memcpy(&f, &bits, 4);
      v->type = MP_FLOAT;
      v->f = f;
      return 0;
    }
    case 0xcb:
      if (get_be(r, 8, &u)) return -1;
      v->type = MP_FLOAT;
      memcpy(&v->f, &u, 8);
      return 0;
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
      if (get_be(r, 1 << (c - 0xcc), &u)) return -1;
      v->type = MP_INT;
      v->u = u;
      if (u > (uint64_t)INT64_MAX) v->big = true;
      else v->i = (int64_t)u;
      return 0;
    case 0xd0: if (get_be(r, 1, &u)) return -1; v->type = MP_INT; v->i = (int8_t)u; return 0;
    case 0xd1: if (get_be(r, 2, &u)) return -1; v->type = MP_INT; v->i = (int16_t)u; return 0;
    case 0xd2: if (get_be(r, 4, &u)) return -1; v->type = MP_INT; v->i = (int32_t)u; return 0;
    case 0xd3: if (get_be(r, 8, &u)) return -1; v->type = MP_INT; v->i = (int64_t)u; return 0;
    case 0xdc: case 0xdd:
      if (get_be(r, c == 0xdc ? 2 : 4, &u)) return -1;
      v->type = MP_ARRAY;
      v->n = (uint32_t)u;
      return 0;
    case 0xde: case 0xdf:
      if (get_be(r, c == 0xde ? 2 : 4, &u)) return -1;
      v->type = MP_MAP;
      v->n = (uint32_t)u;
      return 0;
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
    case 0xc7: case 0xc8: case 0xc9: {
      uint64_t len;
      if (c >= 0xd4) {
        len = 1u << (c - 0xd4);
      } else if (get_be(r, 1 << (c - 0xc7), &len)) {
        return -1;
      }
      if (r->p >= r->end) return -1;
      v->ext_type = (int8_t)*r->p++;
      v->type = MP_EXT;
      return take(r, v, len);
    }
    default:
      return -1; /* 0xc1 is never used */
  }
}

DN_RECV static int skip_depth(mp_rd *r, int depth) {
  mp_val v;
  if (depth > 32 || mp_read(r, &v)) return -1;
  if (v.type == MP_ARRAY || v.type == MP_MAP) {
    uint64_t items = v.type == MP_MAP ? 2ull * v.n : v.n;
    /* each item takes at least one byte: a bogus count fails fast */
    if (items > (uint64_t)(r->end - r->p)) return -1;
    for (uint64_t i = 0; i < items; i++)
      if (skip_depth(r, depth + 1)) return -1;
  }
  return 0;
}

DN_RECV int mp_skip(mp_rd *r) { return skip_depth(r, 0); }

DN_RECV int mp_read_str(mp_rd *r, const uint8_t **ptr, uint32_t *len) {
  mp_val v;
  if (mp_read(r, &v) || v.type != MP_STR) return -1;
  *ptr = v.ptr;
  *len = v.len;
  return 0;
}

int mp_read_str_or_nil(mp_rd *r, const uint8_t **ptr, uint32_t *len) {
  mp_val v;
  if (mp_read(r, &v)) return -1;
  if (v.type == MP_NIL) {
    *ptr = NULL;
    *len = 0;
    return 0;
  }
  if (v.type != MP_STR) return -1;
  *ptr = v.ptr;
  *len = v.len;
  return 0;
}

DN_RECV int mp_read_bin_or_nil(mp_rd *r, const uint8_t **ptr, uint32_t *len) {
  mp_val v;
  if (mp_read(r, &v)) return -1;
  if (v.type == MP_NIL) {
    *ptr = NULL;
    *len = 0;
    return 0;
  }
  if (v.type != MP_BIN && v.type != MP_STR) return -1;
  *ptr = v.ptr;
  *len = v.len;
  return 0;
}

DN_RECV int mp_read_int(mp_rd *r, int64_t *out) {
  mp_val v;
  if (mp_read(r, &v) || v.type != MP_INT || v.big) return -1;
  *out = v.i;
  return 0;
}

int mp_read_bool(mp_rd *r, bool *out) {
  mp_val v;
  if (mp_read(r, &v) || v.type != MP_BOOL) return -1;
  *out = v.b;
  return 0;
}

DN_RECV int mp_read_array(mp_rd *r, uint32_t *n) {
  mp_val v;
  if (mp_read(r, &v) || v.type != MP_ARRAY) return -1;
  *n = v.n;
  return 0;
}

DN_RECV int mp_read_array_or_nil(mp_rd *r, uint32_t *n, bool *is_nil) {
  mp_val v;
  if (mp_read(r, &v)) return -1;
  *is_nil = v.type == MP_NIL;
  if (*is_nil) {
    *n = 0;
    return 0;
  }
  if (v.type != MP_ARRAY) return -1;
  *n = v.n;
  return 0;
}

DN_RECV int mp_read_map(mp_rd *r, uint32_t *n) {
  mp_val v;
  if (mp_read(r, &v) || v.type != MP_MAP) return -1;
  *n = v.n;
  return 0;
}
