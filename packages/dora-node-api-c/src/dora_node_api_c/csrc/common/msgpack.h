/* A small msgpack encoder and a cursor-style decoder: just what dora's frames use
 * (nil, bool, integers, float64, str, bin, array, map; ext is read so that a datetime
 * parameter from a Python node can be skipped or shown). Decoded strings and binaries
 * point into the input buffer: nothing is allocated while reading a frame. */
#ifndef DN_MSGPACK_H
#define DN_MSGPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dn_buf.h"

DN_HIDDEN void mp_w_nil(dn_buf *b);
DN_HIDDEN void mp_w_bool(dn_buf *b, bool v);
DN_HIDDEN void mp_w_int(dn_buf *b, int64_t v);
DN_HIDDEN void mp_w_f64(dn_buf *b, double v);
DN_HIDDEN void mp_w_str(dn_buf *b, const char *s, size_t len);
DN_HIDDEN void mp_w_cstr(dn_buf *b, const char *s);
DN_HIDDEN void mp_w_bin(dn_buf *b, const void *p, size_t len);
/* Only the header: the caller then writes `len` bytes itself (zero-copy payloads). */
DN_HIDDEN void mp_w_bin_header(dn_buf *b, size_t len);
DN_HIDDEN void mp_w_array(dn_buf *b, uint32_t n);
DN_HIDDEN void mp_w_map(dn_buf *b, uint32_t n);

/* Raw stores for an encoder that reserved its room up front (an int takes at most 9
 * bytes, a str/bin/array/map header 5): no bounds check or call per field. Each returns
 * the end of what it wrote. */
static inline uint8_t *mp_put_be(uint8_t *w, uint8_t tag, uint64_t v, int bytes) {
  *w++ = tag;
  for (int i = bytes - 1; i >= 0; i--) *w++ = (uint8_t)(v >> (8 * i));
  return w;
}
static inline uint8_t *mp_put_int(uint8_t *w, int64_t v) {
  if (v >= 0) {
    uint64_t u = (uint64_t)v;
    if (u < 128) *w++ = (uint8_t)u;
    else if (u <= 0xff) w = mp_put_be(w, 0xcc, u, 1);
    else if (u <= 0xffff) w = mp_put_be(w, 0xcd, u, 2);
    else if (u <= 0xffffffffu) w = mp_put_be(w, 0xce, u, 4);
    else w = mp_put_be(w, 0xcf, u, 8);
  } else if (v >= -32) {
    *w++ = (uint8_t)(int8_t)v;
  } else if (v >= INT8_MIN) {
    w = mp_put_be(w, 0xd0, (uint64_t)v & 0xff, 1);
  } else if (v >= INT16_MIN) {
    w = mp_put_be(w, 0xd1, (uint64_t)v & 0xffff, 2);
  } else if (v >= INT32_MIN) {
    w = mp_put_be(w, 0xd2, (uint64_t)v & 0xffffffffu, 4);
  } else {
    w = mp_put_be(w, 0xd3, (uint64_t)v, 8);
  }
  return w;
}
static inline uint8_t *mp_put_str_head(uint8_t *w, size_t len) {
  if (len < 32) *w++ = (uint8_t)(0xa0 | len);
  else if (len <= 0xff) w = mp_put_be(w, 0xd9, len, 1);
  else if (len <= 0xffff) w = mp_put_be(w, 0xda, len, 2);
  else w = mp_put_be(w, 0xdb, len, 4);
  return w;
}
static inline uint8_t *mp_put_bin_head(uint8_t *w, size_t len) {
  if (len <= 0xff) return mp_put_be(w, 0xc4, len, 1);
  if (len <= 0xffff) return mp_put_be(w, 0xc5, len, 2);
  return mp_put_be(w, 0xc6, len, 4);
}
static inline uint8_t *mp_put_array_head(uint8_t *w, uint32_t n) {
  if (n < 16) *w++ = (uint8_t)(0x90 | n);
  else if (n <= 0xffff) w = mp_put_be(w, 0xdc, n, 2);
  else w = mp_put_be(w, 0xdd, n, 4);
  return w;
}
static inline uint8_t *mp_put_map_head(uint8_t *w, uint32_t n) {
  if (n < 16) *w++ = (uint8_t)(0x80 | n);
  else if (n <= 0xffff) w = mp_put_be(w, 0xde, n, 2);
  else w = mp_put_be(w, 0xdf, n, 4);
  return w;
}

typedef enum {
  MP_NIL,
  MP_BOOL,
  MP_INT,  /* value in .i; integers above INT64_MAX set .big and .u */
  MP_FLOAT,
  MP_STR,
  MP_BIN,
  MP_ARRAY, /* .n items follow */
  MP_MAP,   /* .n key/value pairs follow */
  MP_EXT,
} mp_type;

typedef struct mp_val {
  mp_type type;
  bool b;
  bool big;
  int64_t i;
  uint64_t u;
  double f;
  const uint8_t *ptr; /* str, bin, ext */
  uint32_t len;
  uint32_t n;
  int8_t ext_type;
} mp_val;

typedef struct mp_rd {
  const uint8_t *p;
  const uint8_t *end;
} mp_rd;

/* Reads one value header (containers: only the header). 0, or -1 on malformed or
 * truncated input. */
DN_HIDDEN int mp_read(mp_rd *r, mp_val *v);
/* Skips one whole value, containers included (nesting limited to keep the stack bounded). */
DN_HIDDEN int mp_skip(mp_rd *r);
/* Typed reads: 0 when the next value has that type, -1 otherwise (cursor undefined). */
DN_HIDDEN int mp_read_str(mp_rd *r, const uint8_t **ptr, uint32_t *len);
/* A str or nil (then *ptr = NULL). */
DN_HIDDEN int mp_read_str_or_nil(mp_rd *r, const uint8_t **ptr, uint32_t *len);
DN_HIDDEN int mp_read_bin_or_nil(mp_rd *r, const uint8_t **ptr, uint32_t *len);
DN_HIDDEN int mp_read_int(mp_rd *r, int64_t *out);
DN_HIDDEN int mp_read_bool(mp_rd *r, bool *out);
DN_HIDDEN int mp_read_array(mp_rd *r, uint32_t *n);
/* An array header or nil (then *n = 0 and *is_nil = true). */
DN_HIDDEN int mp_read_array_or_nil(mp_rd *r, uint32_t *n, bool *is_nil);
DN_HIDDEN int mp_read_map(mp_rd *r, uint32_t *n);

#endif
