/* Metadata parameters: DoraParam lists to the msgpack map of a Data frame, and a
 * received map to an index of typed parameters (strings point into the event's copy of
 * the map), plus JSON rendering for dora_event_param_to_json. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "node.h"

DN_SEND int dn_params_check(const DoraParam *params, size_t n) {
  if (n && !params) return dn_fail("params is NULL but n_params is %zu", n);
  for (size_t i = 0; i < n; i++) {
    if (!params[i].key) return dn_fail("parameter %zu has no key", i);
    switch (params[i].type) {
      case DoraParamType_Bool: case DoraParamType_Int: case DoraParamType_Float: break;
      case DoraParamType_String: case DoraParamType_Bytes:
        if (!params[i].value.s.ptr && params[i].value.s.len)
          return dn_fail("parameter `%s` has a NULL value", params[i].key);
        break;
      default:
        return dn_fail("parameter `%s` has an unsupported type %d", params[i].key,
                       (int)params[i].type);
    }
  }
  return 0;
}

void dn_params_write(dn_buf *b, const DoraParam *params, size_t n) {
  mp_w_map(b, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    const DoraParam *p = &params[i];
    mp_w_cstr(b, p->key);
    switch (p->type) {
      case DoraParamType_Bool: mp_w_bool(b, p->value.b); break;
      case DoraParamType_Int: mp_w_int(b, p->value.i); break;
      case DoraParamType_Float: mp_w_f64(b, p->value.f); break;
      case DoraParamType_String: mp_w_str(b, p->value.s.ptr ? p->value.s.ptr : "", p->value.s.len); break;
      default: mp_w_bin(b, p->value.s.ptr, p->value.s.len); break;
    }
  }
}

DN_RECV int dn_params_room(const uint8_t *map, size_t len, size_t *room) {
  mp_rd r = {map, map + len};
  uint32_t n;
  *room = 0;
  if (mp_read_map(&r, &n) || n > len) return -1;
  /* the index, the map (values point into it), the NUL-terminated keys (at most the
   * map's size) */
  if (n) *room = (size_t)n * sizeof(dn_param) + 2 * len;
  return 0;
}

DN_RECV int dn_event_set_params(dn_event *e, const uint8_t *map, size_t len) {
  size_t room;
  if (dn_params_room(map, len, &room)) return -1;
  if (!room) return 0;
  uint8_t *block = malloc(room);
  if (!block) return -1;
  e->params_raw = block;
  return dn_event_index_params(e, map, len, block);
}

DN_RECV int dn_event_index_params(dn_event *e, const uint8_t *map, size_t len, uint8_t *block) {
  mp_rd r = {map, map + len};
  uint32_t n;
  if (mp_read_map(&r, &n)) return -1;
  if (n == 0) return 0;
  size_t index = (size_t)n * sizeof(dn_param);
  e->params = (dn_param *)block;
  uint8_t *raw = block + index;
  char *keys = (char *)raw + len;
  dn_copy(raw, map, len);
  e->params_len = len;
  r.p = raw;
  r.end = raw + len;
  mp_read_map(&r, &n);
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *key;
    uint32_t key_len;
    if (mp_read_str(&r, &key, &key_len)) return -1;
    dn_param *p = &e->params[e->n_params];
    memset(p, 0, sizeof *p);
    p->key = keys;
    dn_copy(keys, key, key_len);
    keys[key_len] = 0;
    keys += key_len + 1;
    e->n_params++;
    p->raw = r.p;
    mp_rd peek = r;
    mp_val v;
    if (mp_read(&peek, &v)) return -1;
    /* a scalar, string or bytes value was read whole: no second pass to skip it */
    bool container = v.type == MP_ARRAY || v.type == MP_MAP;
    switch (v.type) {
      case MP_BOOL: p->type = DoraParamType_Bool; p->b = v.b; break;
      case MP_INT:
        p->type = v.big ? DoraParamType_Other : DoraParamType_Int;
        p->i = v.i;
        break;
      case MP_FLOAT: p->type = DoraParamType_Float; p->f = v.f; break;
      case MP_STR: p->type = DoraParamType_String; p->ptr = v.ptr; p->len = v.len; break;
      case MP_BIN: p->type = DoraParamType_Bytes; p->ptr = v.ptr; p->len = v.len; break;
      default: p->type = DoraParamType_Other; break;
    }
    if (!container) r = peek;
    else if (mp_skip(&r)) return -1;
    p->raw_len = (size_t)(r.p - p->raw);
  }
  return 0;
}

DN_RECV const dn_param *dn_event_param(const dn_event *e, const char *key) {
  if (!e || !key) return NULL;
  /* the last one wins, like a Python dict built from the map */
  for (size_t i = e->n_params; i-- > 0;)
    if (dn_cstr_eq(e->params[i].key, key)) return &e->params[i];
  return NULL;
}

/* msgpack timestamps (ext -1, how msgspec sends Python datetimes) as RFC 3339 text */
static void timestamp_json(const mp_val *v, dn_buf *out) {
  int64_t sec = 0;
  uint32_t nsec = 0;
  const uint8_t *p = v->ptr;
  if (v->len == 4) {
    sec = (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
  } else if (v->len == 8) {
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x = x << 8 | p[i];
    nsec = (uint32_t)(x >> 34);
    sec = (int64_t)(x & 0x3ffffffffull);
  } else if (v->len == 12) {
    for (int i = 0; i < 4; i++) nsec = nsec << 8 | p[i];
    uint64_t x = 0;
    for (int i = 4; i < 12; i++) x = x << 8 | p[i];
    sec = (int64_t)x;
  }
  time_t t = (time_t)sec;
  struct tm tm;
  char text[64];
  if (!gmtime_r(&t, &tm)) {
    dn_buf_put(out, "null", 4);
    return;
  }
  size_t n = strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(text + n, sizeof text - n, ".%06uZ", (unsigned)(nsec / 1000));
  json_w_str(out, text, strlen(text));
}

void dn_msgpack_to_json(mp_rd *r, dn_buf *out, int depth) {
  mp_val v;
  char num[64];
  if (depth > 32 || mp_read(r, &v)) {
    dn_buf_put(out, "null", 4);
    return;
  }
  switch (v.type) {
    case MP_NIL: dn_buf_put(out, "null", 4); break;
    case MP_BOOL: dn_buf_put(out, v.b ? "true" : "false", v.b ? 4 : 5); break;
    case MP_INT:
      if (v.big) snprintf(num, sizeof num, "%" PRIu64, v.u);
      else snprintf(num, sizeof num, "%" PRId64, v.i);
      dn_buf_put(out, num, strlen(num));
      break;
    case MP_FLOAT:
      if (isfinite(v.f)) snprintf(num, sizeof num, "%.17g", v.f);
      else snprintf(num, sizeof num, "null");
      dn_buf_put(out, num, strlen(num));
      break;
    case MP_STR: json_w_str(out, (const char *)v.ptr, v.len); break;
    case MP_BIN:
      dn_buf_byte(out, '[');
      for (uint32_t i = 0; i < v.len; i++) {
        snprintf(num, sizeof num, i ? ",%u" : "%u", v.ptr[i]);
        dn_buf_put(out, num, strlen(num));
      }
      dn_buf_byte(out, ']');
      break;
    case MP_ARRAY:
      dn_buf_byte(out, '[');
      for (uint32_t i = 0; i < v.n && r->p < r->end; i++) {
        if (i) dn_buf_byte(out, ',');
        dn_msgpack_to_json(r, out, depth + 1);
      }
      dn_buf_byte(out, ']');
      break;
    case MP_MAP:
      dn_buf_byte(out, '{');
      for (uint32_t i = 0; i < v.n && r->p < r->end; i++) {
        if (i) dn_buf_byte(out, ',');
        mp_val k;
        mp_rd save = *r;
        if (mp_read(r, &k) == 0 && k.type == MP_STR) {
          json_w_str(out, (const char *)k.ptr, k.len);
        } else {
          /* a non-string key: render it as text */
          *r = save;
          dn_buf tmp;
          dn_buf_init(&tmp, 0);
          dn_msgpack_to_json(r, &tmp, depth + 1);
          json_w_str(out, (const char *)tmp.data, tmp.len);
          dn_buf_free(&tmp);
        }
        dn_buf_byte(out, ':');
        dn_msgpack_to_json(r, out, depth + 1);
      }
      dn_buf_byte(out, '}');
      break;
    case MP_EXT:
      if (v.ext_type == -1) timestamp_json(&v, out);
      else dn_buf_put(out, "null", 4);
      break;
  }
}

/* ---- public accessors ------------------------------------------------------------------- */

size_t dora_event_param_count(const void *event) {
  return event ? ((const dn_event *)event)->n_params : 0;
}

const char *dora_event_param_key(const void *event, size_t index) {
  const dn_event *e = event;
  if (!e || index >= e->n_params) return NULL;
  return e->params[index].key;
}

DoraParamType dora_event_param_type(const void *event, const char *key) {
  const dn_param *p = dn_event_param(event, key);
  return p ? p->type : DoraParamType_Missing;
}

DN_RECV static const dn_param *typed(const void *event, const char *key, DoraParamType type,
                             const void *out) {
  if (!out) {
    dn_fail("out pointer is NULL");
    return NULL;
  }
  if (!event || !key) {
    dn_fail("event or key is NULL");
    return NULL;
  }
  const dn_param *p = dn_event_param(event, key);
  if (!p) {
    dn_fail("the event has no parameter `%s`", key);
    return NULL;
  }
  if (p->type != type && !(type == DoraParamType_Float && p->type == DoraParamType_Int)) {
    dn_fail("parameter `%s` has another type (%d)", key, (int)p->type);
    return NULL;
  }
  return p;
}

DN_RECV int dora_event_param_bool(const void *event, const char *key, bool *out) {
  const dn_param *p = typed(event, key, DoraParamType_Bool, out);
  if (!p) return DORA_ERROR;
  *out = p->b;
  return DORA_OK;
}

DN_RECV int dora_event_param_int(const void *event, const char *key, int64_t *out) {
  const dn_param *p = typed(event, key, DoraParamType_Int, out);
  if (!p) return DORA_ERROR;
  *out = p->i;
  return DORA_OK;
}

int dora_event_param_float(const void *event, const char *key, double *out) {
  const dn_param *p = typed(event, key, DoraParamType_Float, out);
  if (!p) return DORA_ERROR;
  *out = p->type == DoraParamType_Int ? (double)p->i : p->f;
  return DORA_OK;
}

int dora_event_param_string(const void *event, const char *key, const char **out_ptr,
                            size_t *out_len) {
  const dn_param *p = typed(event, key, DoraParamType_String, out_ptr);
  if (!p || !out_len) return out_len ? DORA_ERROR : dn_fail("out_len is NULL");
  *out_ptr = (const char *)p->ptr;
  *out_len = p->len;
  return DORA_OK;
}

int dora_event_param_bytes(const void *event, const char *key, const uint8_t **out_ptr,
                           size_t *out_len) {
  const dn_param *p = typed(event, key, DoraParamType_Bytes, out_ptr);
  if (!p || !out_len) return out_len ? DORA_ERROR : dn_fail("out_len is NULL");
  *out_ptr = p->ptr;
  *out_len = p->len;
  return DORA_OK;
}

char *dora_event_param_to_json(const void *event, const char *key) {
  const dn_param *p = dn_event_param(event, key);
  if (!p) {
    dn_fail("the event has no parameter `%s`", key ? key : "(null)");
    return NULL;
  }
  dn_buf out;
  dn_buf_init(&out, 0);
  mp_rd r = {p->raw, p->raw + p->raw_len};
  dn_msgpack_to_json(&r, &out, 0);
  dn_buf_byte(&out, 0);
  if (out.failed) {
    dn_buf_free(&out);
    dn_fail("out of memory");
    return NULL;
  }
  return (char *)out.data;
}

void dora_free_string(char *text) { free(text); }
