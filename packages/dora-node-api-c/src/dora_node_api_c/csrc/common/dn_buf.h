/* A growable byte buffer with a hard size limit: every encoder of the C API writes into
 * one, and a failed allocation or a write past the limit only sets `failed` (checked
 * once at the end), so encoders need no error path per field. */
#ifndef DN_BUF_H
#define DN_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DN_HIDDEN __attribute__((visibility("hidden")))
/* The per-message paths: GCC puts these functions together, so a message after an idle
 * wait touches a few code pages, not dozens (each new page is a TLB miss then). DN_RECV
 * (receive a message, read an event) and DN_SEND (send one) each get a section of their
 * own, which the build sorts by name (-Wl,--sort-section=name): each path is contiguous
 * instead of interleaved file by file; DN_HOT is what both use. */
#define DN_HOT __attribute__((hot))
#define DN_RECV __attribute__((hot, section(".text.hot.dn_recv")))
#define DN_SEND __attribute__((hot, section(".text.hot.dn_send")))
/* Rare paths (errors, set-up frames) kept out of the hot functions they are called from. */
#define DN_COLD __attribute__((cold, noinline))

/* Short-string helpers for the per-message paths, inlined: a call into libc's strlen,
 * strcmp or memcmp touches one more code page, which after an idle wait costs a TLB
 * miss (names here are a few bytes long). */
static inline size_t dn_strlen(const char *s) {
  size_t n = 0;
  while (s[n]) {
    n++;
    __asm__("" : "+r"(n)); /* or GCC turns the loop back into a strlen call */
  }
  return n;
}
/* Whether the NUL-terminated `s` is exactly the `len` bytes at `p`. */
static inline bool dn_str_eq(const char *s, const void *p, size_t len) {
  const char *q = p;
  for (size_t i = 0; i < len; i++)
    if (s[i] != q[i] || !s[i]) return false; /* s shorter than len: stops at its NUL */
  return s[len] == 0;
}
DN_HIDDEN void dn_copy_large(void *dst, const void *src, size_t len); /* memcpy */
/* memcpy for the few bytes of a field or a small payload, inlined for the same reason;
 * libc's beyond 64 bytes. */
static inline void dn_copy(void *dst, const void *src, size_t len) {
  if (len > 64) {
    dn_copy_large(dst, src, len);
    return;
  }
  uint8_t *d = dst;
  const uint8_t *s = src;
  for (size_t i = 0; i < len; i++) {
    d[i] = s[i];
    __asm__("" : "+r"(i)); /* or GCC turns the loop back into a memcpy call */
  }
}
static inline bool dn_cstr_eq(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

typedef struct dn_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
  size_t limit; /* 0: no limit but SIZE_MAX */
  int failed;
} dn_buf;

DN_HIDDEN void dn_buf_init(dn_buf *buf, size_t limit);
DN_HIDDEN void dn_buf_free(dn_buf *buf);
DN_HIDDEN int dn_buf_reserve(dn_buf *buf, size_t extra);
/* Appends with room to spare inline (an encoder calls this per field), else grows. */
DN_HIDDEN void dn_buf_put_grow(dn_buf *buf, const void *data, size_t len);
static inline void dn_buf_put(dn_buf *buf, const void *data, size_t len) {
  if (len == 0) return;
  if (!buf->failed && len <= buf->cap - buf->len && len <= buf->limit - buf->len) {
    dn_copy(buf->data + buf->len, data, len);
    buf->len += len;
    return;
  }
  dn_buf_put_grow(buf, data, len);
}
static inline void dn_buf_byte(dn_buf *buf, uint8_t byte) {
  if (!buf->failed && buf->len < buf->cap && buf->len < buf->limit) {
    buf->data[buf->len++] = byte;
    return;
  }
  dn_buf_put_grow(buf, &byte, 1);
}
/* Drops the first `n` bytes (consumed frames), keeping the rest at the start. */
DN_HIDDEN void dn_buf_consume(dn_buf *buf, size_t n);

#endif
