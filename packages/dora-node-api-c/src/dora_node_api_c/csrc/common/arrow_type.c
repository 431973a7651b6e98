/* Arrow type descriptions: format strings, buffer layouts, the IPC schema flatbuffer
 * reader and the template-based schema writer (see arrow_type.h). */
#include "arrow_type.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_templates.h"

static const char *const UNIT_NAME[] = {"s", "ms", "us", "ns"};
static const char UNIT_LETTER[] = {'s', 'm', 'u', 'n'};

void dn_type_finish(dn_type *t) {
  char *f = t->format, *n = t->name;
  size_t fs = sizeof t->format, ns = sizeof t->name;
  switch (t->id) {
    case DN_T_NULL: snprintf(f, fs, "n"); snprintf(n, ns, "null"); break;
    case DN_T_BOOL: snprintf(f, fs, "b"); snprintf(n, ns, "bool"); break;
    case DN_T_INT: {
      static const char sig[] = {'c', 's', 'i', 'l'}, uns[] = {'C', 'S', 'I', 'L'};
      int k = t->bits == 8 ? 0 : t->bits == 16 ? 1 : t->bits == 32 ? 2 : 3;
      snprintf(f, fs, "%c", t->is_signed ? sig[k] : uns[k]);
      snprintf(n, ns, "%sint%d", t->is_signed ? "" : "u", t->bits);
      break;
    }
    case DN_T_FLOAT:
      snprintf(f, fs, "%s", t->bits == 16 ? "e" : t->bits == 32 ? "f" : "g");
      snprintf(n, ns, "%s", t->bits == 16 ? "halffloat" : t->bits == 32 ? "float" : "double");
      break;
    case DN_T_BINARY: snprintf(f, fs, "z"); snprintf(n, ns, "binary"); break;
    case DN_T_LARGE_BINARY: snprintf(f, fs, "Z"); snprintf(n, ns, "large_binary"); break;
    case DN_T_UTF8: snprintf(f, fs, "u"); snprintf(n, ns, "string"); break;
    case DN_T_LARGE_UTF8: snprintf(f, fs, "U"); snprintf(n, ns, "large_string"); break;
    case DN_T_FSB:
      snprintf(f, fs, "w:%d", (int)t->width);
      snprintf(n, ns, "fixed_size_binary[%d]", (int)t->width);
      break;
    case DN_T_DATE:
      snprintf(f, fs, "%s", t->bits == 32 ? "tdD" : "tdm");
      snprintf(n, ns, "date%d", t->bits);
      break;
    case DN_T_TIME:
      snprintf(f, fs, "tt%c", UNIT_LETTER[t->unit & 3]);
      snprintf(n, ns, "time%d[%s]", t->bits, UNIT_NAME[t->unit & 3]);
      break;
    case DN_T_TIMESTAMP:
      snprintf(f, fs, "ts%c:%s", UNIT_LETTER[t->unit & 3], t->tz);
      if (t->tz[0]) snprintf(n, ns, "timestamp[%s, tz=%.40s]", UNIT_NAME[t->unit & 3], t->tz);
      else snprintf(n, ns, "timestamp[%s]", UNIT_NAME[t->unit & 3]);
      break;
    case DN_T_DURATION:
      snprintf(f, fs, "tD%c", UNIT_LETTER[t->unit & 3]);
      snprintf(n, ns, "duration[%s]", UNIT_NAME[t->unit & 3]);
      break;
    case DN_T_OTHER:
      f[0] = 0;
      if (!n[0]) snprintf(n, ns, "unknown");
      break;
  }
}

static int unit_of(char c) {
  switch (c) {
    case 's': return DN_SECOND;
    case 'm': return DN_MILLI;
    case 'u': return DN_MICRO;
    case 'n': return DN_NANO;
    default: return -1;
  }
}

int dn_type_from_format(const char *format, dn_type *t, char *err, size_t err_len) {
  memset(t, 0, sizeof *t);
  if (!format) {
    snprintf(err, err_len, "the schema has no format string");
    return -1;
  }
  size_t n = strlen(format);
  if (n == 1) {
    switch (format[0]) {
      case 'n': t->id = DN_T_NULL; break;
      case 'b': t->id = DN_T_BOOL; break;
      case 'c': case 'C': case 's': case 'S': case 'i': case 'I': case 'l': case 'L': {
        const char *all = "cCsSiIlL";
        int k = (int)(strchr(all, format[0]) - all);
        t->id = DN_T_INT;
        t->bits = 8 << (k / 2);
        t->is_signed = (k % 2) == 0;
        break;
      }
      case 'e': t->id = DN_T_FLOAT; t->bits = 16; break;
      case 'f': t->id = DN_T_FLOAT; t->bits = 32; break;
      case 'g': t->id = DN_T_FLOAT; t->bits = 64; break;
      case 'z': t->id = DN_T_BINARY; break;
      case 'Z': t->id = DN_T_LARGE_BINARY; break;
      case 'u': t->id = DN_T_UTF8; break;
      case 'U': t->id = DN_T_LARGE_UTF8; break;
      default: goto unsupported;
    }
  } else if (format[0] == 'w' && format[1] == ':') {
    char *end;
    long w = strtol(format + 2, &end, 10);
    if (*end || w <= 0 || w > INT32_MAX) goto unsupported;
    t->id = DN_T_FSB;
    t->width = (int32_t)w;
  } else if (!strcmp(format, "tdD") || !strcmp(format, "tdm")) {
    t->id = DN_T_DATE;
    t->bits = format[2] == 'D' ? 32 : 64;
  } else if (n == 3 && format[0] == 't' && (format[1] == 't' || format[1] == 'D') &&
             unit_of(format[2]) >= 0) {
    t->id = format[1] == 't' ? DN_T_TIME : DN_T_DURATION;
    t->unit = unit_of(format[2]);
    t->bits = t->unit <= DN_MILLI ? 32 : 64;
  } else if (n >= 4 && format[0] == 't' && format[1] == 's' && unit_of(format[2]) >= 0 &&
             format[3] == ':') {
    if (n - 4 >= sizeof t->tz) goto unsupported;
    t->id = DN_T_TIMESTAMP;
    t->unit = unit_of(format[2]);
    memcpy(t->tz, format + 4, n - 4 + 1);
  } else {
    goto unsupported;
  }
  dn_type_finish(t);
  return 0;
unsupported:
  snprintf(err, err_len,
           "Arrow type with format `%.40s` is not supported by the dora C API (flat types "
           "only: null, bool, integers, floats, (large) utf8/binary, fixed size binary, "
           "dates, times, timestamps, durations)",
           format);
  return -1;
}

int dn_type_c_buffers(const dn_type *t) {
  switch (t->id) {
    case DN_T_NULL: return 0;
    case DN_T_BINARY: case DN_T_LARGE_BINARY: case DN_T_UTF8: case DN_T_LARGE_UTF8: return 3;
    default: return 2;
  }
}

int dn_type_ipc_buffers(const dn_type *t) { return t->id == DN_T_NULL ? 1 : dn_type_c_buffers(t); }

int dn_type_value_bits(const dn_type *t) {
  switch (t->id) {
    case DN_T_BOOL: return 1;
    case DN_T_INT: case DN_T_FLOAT: case DN_T_DATE: case DN_T_TIME: return t->bits;
    case DN_T_TIMESTAMP: case DN_T_DURATION: return 64;
    case DN_T_FSB: return t->width * 8;
    default: return 0;
  }
}

int dn_type_offset_bytes(const dn_type *t) {
  switch (t->id) {
    case DN_T_BINARY: case DN_T_UTF8: return 4;
    case DN_T_LARGE_BINARY: case DN_T_LARGE_UTF8: return 8;
    default: return 0;
  }
}

/* ---- flatbuffer reading ------------------------------------------------------------
 * Every access is bounds-checked against the message: the bytes come from another
 * process. A table starts with an int32 offset back to its vtable; the vtable lists the
 * offset of each field inside the table (0: absent, the default applies). */

typedef struct {
  const uint8_t *b;
  size_t n;
} fb;

static int fb_u32(const fb *f, size_t pos, uint32_t *out) {
  if (pos > f->n || f->n - pos < 4) return -1;
  *out = (uint32_t)f->b[pos] | (uint32_t)f->b[pos + 1] << 8 | (uint32_t)f->b[pos + 2] << 16 |
         (uint32_t)f->b[pos + 3] << 24;
  return 0;
}

static int fb_u16(const fb *f, size_t pos, uint16_t *out) {
  if (pos > f->n || f->n - pos < 2) return -1;
  *out = (uint16_t)(f->b[pos] | f->b[pos + 1] << 8);
  return 0;
}

/* Position of field `idx` of the table at `table`, 0 when absent, -1 when malformed. */
static long fb_field(const fb *f, size_t table, int idx) {
  uint32_t soff;
  uint16_t vt_size, fo;
  if (fb_u32(f, table, &soff)) return -1;
  long vt = (long)table - (long)(int32_t)soff;
  if (vt < 0 || (size_t)vt >= f->n || fb_u16(f, (size_t)vt, &vt_size)) return -1;
  size_t entry = 4 + 2 * (size_t)idx;
  if (entry + 2 > vt_size) return 0;
  if (fb_u16(f, (size_t)vt + entry, &fo)) return -1;
  return fo ? (long)(table + fo) : 0;
}

/* Follows the uoffset stored at `pos`. */
static long fb_deref(const fb *f, long pos) {
  uint32_t off;
  if (pos <= 0 || fb_u32(f, (size_t)pos, &off)) return -1;
  size_t target = (size_t)pos + off;
  return target < f->n ? (long)target : -1;
}

static int fb_scalar(const fb *f, size_t table, int idx, int size, int64_t dflt, int64_t *out) {
  long pos = fb_field(f, table, idx);
  if (pos < 0) return -1;
  if (pos == 0) {
    *out = dflt;
    return 0;
  }
  if ((size_t)pos > f->n || f->n - (size_t)pos < (size_t)size) return -1;
  const uint8_t *p = f->b + pos;
  switch (size) {
    case 1: *out = (int8_t)p[0]; break;
    case 2: *out = (int16_t)(p[0] | p[1] << 8); break;
    default: {
      uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                   (uint32_t)p[3] << 24;
      *out = (int32_t)v;
    }
  }
  return 0;
}

static const char *const FB_TYPE_NAMES[] = {
    "none", "null", "int", "floating point", "binary", "utf8", "bool", "decimal", "date",
    "time", "timestamp", "interval", "list", "struct", "union", "fixed size binary",
    "fixed size list", "map", "duration", "large binary", "large utf8", "large list",
    "run-end encoded", "binary view", "utf8 view", "list view", "large list view"};

int dn_schema_parse(const uint8_t *buf, size_t len, dn_type *t, char *err, size_t err_len) {
  memset(t, 0, sizeof *t);
  if (!buf || len < 8) goto bad;
  size_t start = 4;
  uint32_t first = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
                   (uint32_t)buf[3] << 24;
  if (first == 0xffffffffu) start = 8; /* continuation marker, then the length */
  uint32_t meta_len = (uint32_t)buf[start - 4] | (uint32_t)buf[start - 3] << 8 |
                      (uint32_t)buf[start - 2] << 16 | (uint32_t)buf[start - 1] << 24;
  if (meta_len > len - start) goto bad;
  fb f = {buf + start, meta_len};
  /* the root offset sits at position 0 (fb_deref treats pos 0 as an absent field) */
  uint32_t root;
  if (fb_u32(&f, 0, &root) || root >= f.n) goto bad;
  long msg = (long)root;
  int64_t header_type;
  if (fb_scalar(&f, (size_t)msg, 1, 1, 0, &header_type)) goto bad;
  if (header_type != 1) {
    snprintf(err, err_len, "the IPC message is not a schema (header type %d)", (int)header_type);
    return -1;
  }
  long schema = fb_deref(&f, fb_field(&f, (size_t)msg, 2));
  if (schema < 0) goto bad;
  long fields = fb_deref(&f, fb_field(&f, (size_t)schema, 1));
  uint32_t n_fields;
  if (fields < 0 || fb_u32(&f, (size_t)fields, &n_fields) || n_fields < 1) goto bad;
  long field = fb_deref(&f, fields + 4);
  if (field < 0) goto bad;
  int64_t type_type;
  if (fb_scalar(&f, (size_t)field, 2, 1, 0, &type_type)) goto bad;
  long dict = fb_field(&f, (size_t)field, 4);
  if (dict < 0) goto bad;
  long type = fb_deref(&f, fb_field(&f, (size_t)field, 3));
  if (type < 0 && type_type != 0) goto bad;
  int64_t a, b;
  switch (type_type) {
    case 1: t->id = DN_T_NULL; break;
    case 2:
      if (fb_scalar(&f, (size_t)type, 0, 4, 0, &a) || fb_scalar(&f, (size_t)type, 1, 1, 0, &b))
        goto bad;
      if (a != 8 && a != 16 && a != 32 && a != 64) goto bad;
      t->id = DN_T_INT;
      t->bits = (int)a;
      t->is_signed = b != 0;
      break;
    case 3:
      if (fb_scalar(&f, (size_t)type, 0, 2, 0, &a) || a < 0 || a > 2) goto bad;
      t->id = DN_T_FLOAT;
      t->bits = 16 << a;
      break;
    case 4: t->id = DN_T_BINARY; break;
    case 5: t->id = DN_T_UTF8; break;
    case 6: t->id = DN_T_BOOL; break;
    case 8:
      if (fb_scalar(&f, (size_t)type, 0, 2, 1, &a) || a < 0 || a > 1) goto bad;
      t->id = DN_T_DATE;
      t->bits = a == 0 ? 32 : 64;
      break;
    case 9:
      if (fb_scalar(&f, (size_t)type, 0, 2, 1, &a) || fb_scalar(&f, (size_t)type, 1, 4, 32, &b) ||
          a < 0 || a > 3 || (b != 32 && b != 64))
        goto bad;
      t->id = DN_T_TIME;
      t->unit = (int)a;
      t->bits = (int)b;
      break;
    case 10: {
      if (fb_scalar(&f, (size_t)type, 0, 2, 0, &a) || a < 0 || a > 3) goto bad;
      t->id = DN_T_TIMESTAMP;
      t->unit = (int)a;
      long tzf = fb_field(&f, (size_t)type, 1);
      if (tzf < 0) goto bad;
      if (tzf > 0) {
        long s = fb_deref(&f, tzf);
        uint32_t slen;
        if (s < 0 || fb_u32(&f, (size_t)s, &slen) || slen > f.n - (size_t)s - 4) goto bad;
        if (slen >= sizeof t->tz) {
          snprintf(err, err_len, "timestamp time zone longer than %d bytes", (int)sizeof t->tz - 1);
          return -1;
        }
        memcpy(t->tz, f.b + s + 4, slen);
        t->tz[slen] = 0;
      }
      break;
    }
    case 15:
      if (fb_scalar(&f, (size_t)type, 0, 4, 0, &a) || a <= 0) goto bad;
      t->id = DN_T_FSB;
      t->width = (int32_t)a;
      break;
    case 18:
      if (fb_scalar(&f, (size_t)type, 0, 2, 1, &a) || a < 0 || a > 3) goto bad;
      t->id = DN_T_DURATION;
      t->unit = (int)a;
      break;
    case 19: t->id = DN_T_LARGE_BINARY; break;
    case 20: t->id = DN_T_LARGE_UTF8; break;
    default:
      t->id = DN_T_OTHER;
      if (type_type >= 0 && type_type < (int64_t)(sizeof FB_TYPE_NAMES / sizeof *FB_TYPE_NAMES))
        snprintf(t->name, sizeof t->name, "%s", FB_TYPE_NAMES[type_type]);
      else
        snprintf(t->name, sizeof t->name, "type #%d", (int)type_type);
  }
  if (dict > 0) {
    char inner[64];
    dn_type_finish(t);
    memcpy(inner, t->name, sizeof inner);
    inner[sizeof inner - 1] = 0;
    memset(t, 0, sizeof *t);
    t->id = DN_T_OTHER;
    snprintf(t->name, sizeof t->name, "dictionary<values=%.40s>", inner);
  }
  dn_type_finish(t);
  return 0;
bad:
  snprintf(err, err_len, "malformed Arrow IPC schema message (%zu bytes)", len);
  return -1;
}

int dn_schema_write(const dn_type *t, dn_buf *out, char *err, size_t err_len) {
  const char *key = t->id == DN_T_FSB ? "w:" : t->format;
  size_t count = sizeof dn_schema_templates / sizeof *dn_schema_templates;
  for (size_t i = 0; i < count; i++) {
    if (strcmp(dn_schema_templates[i].format, key) != 0) continue;
    size_t at = out->len;
    dn_buf_put(out, dn_schema_templates[i].bytes, dn_schema_templates[i].len);
    if (out->failed) {
      snprintf(err, err_len, "out of memory");
      return -1;
    }
    long patch = dn_schema_templates[i].patch;
    if (patch >= 0) {
      uint32_t w = (uint32_t)t->width;
      for (int k = 0; k < 4; k++) out->data[at + (size_t)patch + k] = (uint8_t)(w >> (8 * k));
    }
    return 0;
  }
  snprintf(err, err_len,
           "cannot send Arrow type %s from C: timestamps are supported without a time zone "
           "or with tz=UTC only",
           t->name);
  return -1;
}
