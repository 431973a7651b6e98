/* Test helper: the messages of the stress test, written by stress_tx.c and checked by
 * stress_rx.c and threaded_rx.c. Message `seq` is size_of(seq) bytes (8 B .. 64 KiB, every
 * thousandth 2 MiB): its sequence number, then a pattern. The receivers ack every BLOCK
 * messages. */
#ifndef TEST_STRESS_MESSAGES_H
#define TEST_STRESS_MESSAGES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BLOCK 100

static inline size_t size_of(unsigned seq) {
  if (seq % 1000 == 999) return 2u * 1024 * 1024 + 3;
  return ((size_t)8 << (seq % 14)) + seq % 3;
}

static inline void fill(uint8_t *p, size_t len, unsigned seq) {
  memcpy(p, &seq, sizeof seq);
  for (size_t i = sizeof seq; i < len; i++) p[i] = (uint8_t)(seq + i);
}

/* Whether `p` holds message `expected`, whole. */
static inline int check(const uint8_t *p, size_t len, unsigned expected) {
  unsigned seq;
  if (len != size_of(expected)) return 0;
  memcpy(&seq, p, sizeof seq);
  if (seq != expected) return 0;
  for (size_t i = sizeof seq; i < len; i++)
    if (p[i] != (uint8_t)(seq + i)) return 0;
  return 1;
}

#endif
