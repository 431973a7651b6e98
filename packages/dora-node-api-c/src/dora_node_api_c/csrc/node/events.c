/* Events, the payloads they share with Arrow arrays, and the input queues.
 *
 * Queue rules (the Python scheduler's, dora/_scheduler.py): each input keeps at most its
 * cap of messages and drops the oldest beyond, messages with a request_id, goal_id or
 * goal_status last; flush=true drops the input's older unprotected messages; non-input
 * events (STOP, ERROR, ...) come before queued inputs; INPUT_CLOSED is queued behind the
 * input's data; once every input was closed a STOP (ALL_INPUTS_CLOSED) follows; inputs
 * are served round-robin, least recently served first; after a STOP was returned only
 * already-queued inputs come out, then the stream ends. An input with input_timeout that
 * stays silent that long gets INPUT_CLOSED but stays open; its next message is followed
 * by INPUT_RECOVERED. */
#include <stdlib.h>
#include <string.h>

#include "node.h"

#include <stddef.h>

dn_event *dn_event_new(dn_ev_kind kind) {
  dn_event *e = calloc(1, sizeof *e);
  if (e) e->kind = kind;
  return e;
}

DN_RECV dn_event *dn_event_new_input(const char *id, size_t id_len) {
  dn_event *e = calloc(1, sizeof *e + id_len + 1);
  if (!e) return NULL;
  e->kind = EV_INPUT;
  e->id = (char *)(e + 1);
  memcpy(e->id, id, id_len);
  e->id_len = id_len;
  e->id_inline = true;
  return e;
}

static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

/* One spare message allocation, kept by the free of the last one for the next: a paced
 * node then never calls into malloc and free per message (after an idle wait their code
 * and the allocator's state are cold: ≈ a µs). One slot for the process, any thread
 * (an event may be freed anywhere), so it holds at most SPARE_MAX bytes; blocks are
 * sized in SPARE_STEP steps so that messages of about the same size fit a spare. While
 * spare, the block holds its size at its start and, under AddressSanitizer, the rest
 * is poisoned: a use after free of an event is still reported. */
#define SPARE_MAX 4096
#define SPARE_STEP 256
static _Atomic(uint8_t *) spare;

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define SPARE_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define SPARE_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define SPARE_POISON(p, n) ((void)(p), (void)(n))
#define SPARE_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* A block of at least `need` bytes (its size in *size): the spare when it fits. */
DN_RECV static uint8_t *block_alloc(size_t need, size_t *size) {
  uint8_t *b = atomic_exchange_explicit(&spare, NULL, memory_order_acquire);
  if (b) {
    size_t have;
    memcpy(&have, b, sizeof have);
    SPARE_UNPOISON(b, have);
    if (have >= need) {
      *size = have;
      return b;
    }
    free(b);
  }
  *size = need <= SPARE_MAX ? (need + SPARE_STEP - 1) / SPARE_STEP * SPARE_STEP : need;
  return malloc(*size);
}

DN_RECV static void block_free(uint8_t *b, size_t size) {
  if (size <= SPARE_MAX && size >= sizeof size) {
    memcpy(b, &size, sizeof size);
    SPARE_POISON(b + sizeof size, size - sizeof size);
    uint8_t *none = NULL;
    if (atomic_compare_exchange_strong_explicit(&spare, &none, b, memory_order_release,
                                                memory_order_relaxed))
      return;
    SPARE_UNPOISON(b, size);
  }
  free(b);
}

DN_RECV dn_event *dn_event_new_message(const char *id, size_t id_len, const void *data,
                                      size_t data_len, size_t params_room, uint8_t **room) {
  /* event | payload | bytes (+ NUL, 16-byte aligned like malloc's) | params | id */
  size_t at_payload = round16(sizeof(dn_event));
  size_t at_bytes = at_payload + round16(sizeof(dn_payload));
  size_t at_params = at_bytes + (data ? round16(data_len + 1) : 0);
  size_t at_id = at_params + params_room;
  size_t block_size;
  uint8_t *block = block_alloc(at_id + id_len + 1, &block_size);
  if (!block) return NULL;
  dn_event *e = (dn_event *)block;
  memset(e, 0, offsetof(dn_event, type)); /* malloc, not calloc: the type stays unset */
  e->kind = EV_INPUT;
  e->id = (char *)block + at_id;
  dn_copy(e->id, id, id_len);
  e->id[id_len] = 0;
  e->id_len = id_len;
  e->id_inline = true;
  dn_payload *p = (dn_payload *)(block + at_payload);
  memset(p, 0, sizeof *p);
  atomic_init(&p->refs, 1);
  p->block = block;
  p->block_size = block_size;
  if (data) {
    p->owned = block + at_bytes;
    dn_copy(p->owned, data, data_len);
    p->owned[data_len] = 0;
  }
  e->payload = p;
  e->embeds_payload = true;
  *room = block + at_params;
  return e;
}

static int set_str(char **dst, size_t *dst_len, const void *src, size_t len) {
  char *s = malloc(len + 1);
  if (!s) return -1;
  if (len) memcpy(s, src, len);
  s[len] = 0;
  free(*dst);
  *dst = s;
  *dst_len = len;
  return 0;
}

int dn_event_set_id(dn_event *e, const void *id, size_t len) {
  if (e->id_inline) {
    e->id = NULL;
    e->id_inline = false;
  }
  return set_str(&e->id, &e->id_len, id, len);
}

int dn_event_set_text(dn_event *e, const void *text, size_t len) {
  return set_str(&e->text, &e->text_len, text, len);
}

DN_RECV void dn_event_free(dn_event *e) {
  if (!e) return;
  if (!e->id_inline) free(e->id);
  free(e->text);
  free(e->json);
  free(e->layout);
  free(e->params_raw);
  if (e->embeds_payload) {
    dn_payload_unref(e->payload); /* frees e with the last reference */
    return;
  }
  dn_payload_unref(e->payload);
  free(e);
}

DN_RECV void dn_payload_ref(dn_payload *p) { atomic_fetch_add(&p->refs, 1); }

/* The last reference gone: the sender may reuse the shared memory. */
DN_RECV void dn_payload_unref(dn_payload *p) {
  if (!p || atomic_fetch_sub(&p->refs, 1) != 1) return;
  dn_mapping_unref(p->map);
  if (p->conn) {
    if (p->has_token) {
      dn_inconn_release(p->conn, p->token);
      atomic_fetch_sub(&p->conn->held, 1); /* after: the release is queued for the flush */
    }
    dn_inconn_unref(p->conn);
  }
  if (p->block) block_free(p->block, p->block_size);
  else free(p);
}

/* ---- scheduler --------------------------------------------------------------------------- */

enum { OPEN = 0, CLOSING = 1, CLOSED = 2 };

int dn_sched_init(dn_sched *s, const dn_config *cfg) {
  memset(s, 0, sizeof *s);
  s->n = cfg->n_inputs;
  if (s->n) {
    s->inputs = calloc(s->n, sizeof *s->inputs);
    s->order = calloc(s->n, sizeof *s->order);
    if (!s->inputs || !s->order) return -1;
  }
  for (size_t i = 0; i < s->n; i++) {
    s->inputs[i].cap = cfg->inputs[i].cap;
    s->inputs[i].timeout_ms = cfg->inputs[i].timeout_ms;
    s->has_timeouts |= cfg->inputs[i].timeout_ms > 0;
    s->order[i] = i;
  }
  s->open_inputs = s->n;
  return 0;
}

static void free_list(dn_event *e) {
  while (e) {
    dn_event *next = e->next;
    dn_event_free(e);
    e = next;
  }
}

void dn_sched_free(dn_sched *s) {
  for (size_t i = 0; i < s->n; i++) free_list(s->inputs[i].head);
  free_list(s->ctl_head);
  free(s->inputs);
  free(s->order);
  memset(s, 0, sizeof *s);
}

DN_RECV static void append(dn_inq *q, dn_event *e) {
  e->next = NULL;
  if (q->tail) q->tail->next = e;
  else q->head = e;
  q->tail = e;
}

/* Unlinks `cur` (whose predecessor is `prev`) from q. */
DN_RECV static void unlink_entry(dn_inq *q, dn_event *prev, dn_event *cur) {
  if (prev) prev->next = cur->next;
  else q->head = cur->next;
  if (q->tail == cur) q->tail = prev;
  cur->next = NULL;
}

static void push_marker(dn_sched *s, dn_inq *q, uint8_t kind) {
  dn_event *m = dn_event_new(kind == DN_MARK_RECOVERED ? EV_INPUT_RECOVERED : EV_INPUT_CLOSED);
  if (!m) return;
  m->marker = kind;
  append(q, m);
  s->queued++;
}

/* Makes room for one message: false means the incoming one is dropped instead. */
static bool evict(dn_sched *s, dn_inq *q, bool incoming_protected) {
  dn_event *prev = NULL, *cur = q->head;
  while (cur && (cur->marker || cur->protected_)) {
    prev = cur;
    cur = cur->next;
  }
  if (!cur) {
    q->dropped++;
    if (!incoming_protected) return false;
    /* everything queued is protected: the oldest message goes */
    prev = NULL;
    cur = q->head;
    while (cur && cur->marker) {
      prev = cur;
      cur = cur->next;
    }
    if (!cur) return true;
  } else {
    q->dropped++;
  }
  unlink_entry(q, prev, cur);
  dn_event_free(cur);
  q->count--;
  s->queued--;
  return true;
}

/* flush=true: drop the older unprotected messages, keep markers and protected ones. */
static void flush_input(dn_sched *s, dn_inq *q) {
  dn_event *prev = NULL, *cur = q->head;
  while (cur) {
    dn_event *next = cur->next;
    if (!cur->marker && !cur->protected_) {
      unlink_entry(q, prev, cur);
      dn_event_free(cur);
      q->count--;
      s->queued--;
    } else {
      prev = cur;
    }
    cur = next;
  }
}

DN_RECV void dn_sched_push_input(dn_sched *s, size_t input, dn_event *e) {
  dn_inq *q = input < s->n ? &s->inputs[input] : NULL;
  if (!q || q->state != OPEN || s->stop_returned || s->ended) {
    if (q && (s->stop_returned || s->ended)) q->discarded++; /* unread, if we restart */
    dn_event_free(e);
    return;
  }
  bool recovered = false;
  if (q->timeout_ms) {
    q->deadline_ms = dn_now_ms() + q->timeout_ms;
    if (q->broken) {
      recovered = true;
      q->broken = q->reported = false;
    }
  }
  if (e->flush && q->count) flush_input(s, q);
  if (q->count < q->cap || evict(s, q, e->protected_)) {
    append(q, e);
    q->count++;
    s->queued++;
  } else {
    dn_event_free(e);
  }
  if (recovered) push_marker(s, q, DN_MARK_RECOVERED); /* behind the data that recovered it */
}

void dn_sched_push_event(dn_sched *s, dn_event *e) {
  if (s->stop_returned || s->ended) {
    dn_event_free(e);
    return;
  }
  if (e->kind == EV_STOP) {
    if (s->stop_seen) {
      dn_event_free(e);
      return;
    }
    s->stop_seen = true;
  }
  if (s->ctl_count >= DN_CONTROL_QUEUE) {
    /* never evict the STOP: it is the one event a node must not miss */
    dn_event *prev = NULL, *cur = s->ctl_head;
    while (cur && cur->kind == EV_STOP) {
      prev = cur;
      cur = cur->next;
    }
    if (cur) {
      if (prev) prev->next = cur->next;
      else s->ctl_head = cur->next;
      if (s->ctl_tail == cur) s->ctl_tail = prev;
      dn_event_free(cur);
      s->ctl_count--;
    }
  }
  e->next = NULL;
  if (s->ctl_tail) s->ctl_tail->next = e;
  else s->ctl_head = e;
  s->ctl_tail = e;
  s->ctl_count++;
}

void dn_sched_close_input(dn_sched *s, size_t input) {
  if (input >= s->n) return;
  dn_inq *q = &s->inputs[input];
  if (q->state != OPEN) return;
  q->state = CLOSING;
  q->deadline_ms = 0;
  if (s->stop_returned || s->ended) return;
  push_marker(s, q, DN_MARK_CLOSED);
}

void dn_sched_reopen_input(dn_sched *s, size_t input) {
  if (input >= s->n || s->stop_seen) return;
  dn_inq *q = &s->inputs[input];
  if (q->state == OPEN) return;
  if (q->state == CLOSED) {
    s->open_inputs++;
  } else if (q->tail && q->tail->marker == DN_MARK_CLOSED) {
    /* drop the pending marker: the producer came back before it was returned */
    dn_event *prev = NULL, *cur = q->head;
    while (cur != q->tail) {
      prev = cur;
      cur = cur->next;
    }
    unlink_entry(q, prev, cur);
    dn_event_free(cur);
    s->queued--;
  }
  q->state = OPEN;
}

uint64_t dn_sched_expire(dn_sched *s, uint64_t now_ms) {
  uint64_t next = 0;
  if (!s->has_timeouts || s->stop_returned || s->ended) return 0;
  for (size_t i = 0; i < s->n; i++) {
    dn_inq *q = &s->inputs[i];
    if (!q->deadline_ms || q->state != OPEN) continue;
    if (now_ms >= q->deadline_ms) {
      q->deadline_ms = 0;
      q->broken = true;
      push_marker(s, q, DN_MARK_BROKEN);
    } else if (!next || q->deadline_ms < next) {
      next = q->deadline_ms;
    }
  }
  return next;
}

DN_RECV static void maybe_end(dn_sched *s) {
  if (s->stop_returned && !s->queued && !s->ctl_count) s->ended = true;
}

static dn_event *pop_control(dn_sched *s) {
  dn_event *e = s->ctl_head;
  s->ctl_head = e->next;
  if (!s->ctl_head) s->ctl_tail = NULL;
  s->ctl_count--;
  e->next = NULL;
  if (e->kind == EV_STOP) {
    s->stop_returned = true;
    maybe_end(s);
  }
  return e;
}

/* A closed marker was reached: the input is closed for good. */
static void closed_returned(dn_sched *s, dn_inq *q) {
  q->state = CLOSED;
  s->open_inputs--;
  if (s->open_inputs == 0 && !s->stop_seen) {
    dn_event *stop = dn_event_new(EV_STOP);
    if (stop && dn_event_set_text(stop, "ALL_INPUTS_CLOSED", 17) == 0) {
      dn_sched_push_event(s, stop);
    } else {
      dn_event_free(stop);
    }
  }
}

DN_RECV dn_event *dn_sched_pop(dn_sched *s, const dn_config *cfg) {
  for (;;) {
    if (s->ctl_head) return pop_control(s);
    if (!s->queued) return NULL;
    size_t k = 0;
    while (k < s->n && !s->inputs[s->order[k]].head) k++;
    if (k == s->n) return NULL; /* cannot happen: queued > 0 */
    size_t idx = s->order[k];
    if (k + 1 < s->n) /* one input: no call into libc's memmove for nothing */
      memmove(s->order + k, s->order + k + 1, (s->n - k - 1) * sizeof *s->order);
    s->order[s->n - 1] = idx;
    dn_inq *q = &s->inputs[idx];
    dn_event *e = q->head;
    unlink_entry(q, NULL, e);
    s->queued--;
    if (!e->marker) {
      q->count--;
      if (s->stop_returned) maybe_end(s);
      return e;
    }
    uint8_t marker = e->marker;
    e->marker = DN_MARK_NONE;
    bool silent = false;
    if (marker == DN_MARK_BROKEN) {
      q->reported = true;
    } else if (marker == DN_MARK_CLOSED) {
      /* a timed-out input whose producer then closed it: INPUT_CLOSED was returned */
      silent = q->broken && q->reported;
      q->broken = false;
      closed_returned(s, q);
    }
    if (s->stop_returned) maybe_end(s);
    const char *id = cfg->inputs[idx].id;
    if (silent || dn_event_set_id(e, id, strlen(id))) {
      dn_event_free(e);
      continue;
    }
    return e;
  }
}

DN_RECV bool dn_sched_ready(const dn_sched *s) { return s->ended || s->queued || s->ctl_count; }
