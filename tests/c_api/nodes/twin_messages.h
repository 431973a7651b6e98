/* Test helper: the messages of twin_tx.c, checked by twin_rx.c. Message `seq` is a few
 * bytes when seq is even (inline) and 64 KiB and more when odd (shared memory). */
#ifndef TEST_TWIN_MESSAGES_H
#define TEST_TWIN_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

#define TWIN_COUNT 400
#define TWIN_MAX (65536 + TWIN_COUNT) /* the largest message */

static inline size_t twin_size(unsigned seq) {
  return seq % 2 ? 65536 + seq : 1 + seq % 13;
}

static inline void twin_fill(uint8_t *p, size_t len, unsigned seq) {
  for (size_t i = 0; i < len; i++) p[i] = (uint8_t)(seq * 7 + i);
}

static inline int twin_check(const uint8_t *p, size_t len, unsigned seq) {
  if (!p || len != twin_size(seq)) return 0;
  for (size_t i = 0; i < len; i++)
    if (p[i] != (uint8_t)(seq * 7 + i)) return 0;
  return 1;
}

#endif
