/* Growable, bounded byte buffer (see dn_buf.h). */
#include "dn_buf.h"

#include <stdlib.h>
#include <string.h>

void dn_buf_init(dn_buf *buf, size_t limit) {
  buf->data = NULL;
  buf->len = buf->cap = 0;
  buf->limit = limit ? limit : SIZE_MAX;
  buf->failed = 0;
}

void dn_buf_free(dn_buf *buf) {
  free(buf->data);
  buf->data = NULL;
  buf->len = buf->cap = 0;
}

DN_HOT int dn_buf_reserve(dn_buf *buf, size_t extra) {
  if (buf->failed) return -1;
  if (extra > buf->limit - buf->len) {
    buf->failed = 1;
    return -1;
  }
  size_t need = buf->len + extra;
  if (need <= buf->cap) return 0;
  size_t cap = buf->cap ? buf->cap : 256;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  uint8_t *data = realloc(buf->data, cap);
  if (!data) {
    buf->failed = 1;
    return -1;
  }
  buf->data = data;
  buf->cap = cap;
  return 0;
}

void dn_buf_put_grow(dn_buf *buf, const void *data, size_t len) {
  if (len == 0 || dn_buf_reserve(buf, len) != 0) return;
  memcpy(buf->data + buf->len, data, len);
  buf->len += len;
}


DN_HOT void dn_buf_consume(dn_buf *buf, size_t n) {
  if (n >= buf->len) {
    buf->len = 0;
    return;
  }
  memmove(buf->data, buf->data + n, buf->len - n);
  buf->len -= n;
}

/* Out of line: inlined into dn_copy, a memcpy of a small array's bytes "beyond 64" is
 * reported as out of bounds at -O1 though that branch never runs for it. */
void dn_copy_large(void *dst, const void *src, size_t len) { memcpy(dst, src, len); }
