/* Shared memory: the sender's pool of memfd segments, and the receiver's read-only
 * mappings of segments passed to it.
 *
 * Pool (same policy as the Python pool, dora/_shm.py): messages up to 1 MiB are packed
 * first-fit at 64-byte aligned offsets into a 4 MiB arena segment, larger ones get a
 * segment of their own (a power of two >= 64 KiB); a segment returns to the free list
 * when every receiver released every message in it, and free segments beyond 256 MiB
 * are unmapped (the receivers are told with DropSegment). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node.h"

#define MIN_SEGMENT (64u * 1024u)
#define ARENA_SIZE (4u * 1024u * 1024u)
#define ARENA_MAX_MESSAGE (1024u * 1024u)
#define MAX_FREE_BYTES (256u * 1024u * 1024u)
#define ALIGN 64u

dn_mapping *dn_mapping_open(int fd, size_t size) {
  struct stat st;
  /* a segment smaller than announced, or one its sender could still shrink, would
   * fault (SIGBUS) on access: only memfds sealed against shrinking are mapped */
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
    close(fd);
    dn_fail("shared-memory segment not sealed against shrinking (F_SEAL_SHRINK)");
    return NULL;
  }
  if (size == 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size < size) {
    close(fd);
    dn_fail("shared-memory segment smaller than announced");
    return NULL;
  }
  void *addr = mmap(NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  close(fd); /* the mapping keeps the memory */
  if (addr == MAP_FAILED) {
    dn_fail("cannot map a shared-memory segment of %zu bytes", size);
    return NULL;
  }
  dn_mapping *m = malloc(sizeof *m);
  if (!m) {
    munmap(addr, size);
    return NULL;
  }
  atomic_init(&m->refs, 1);
  m->addr = addr;
  m->size = size;
  return m;
}

void dn_mapping_ref(dn_mapping *m) { atomic_fetch_add(&m->refs, 1); }

DN_RECV void dn_mapping_unref(dn_mapping *m) {
  if (m && atomic_fetch_sub(&m->refs, 1) == 1) {
    munmap(m->addr, m->size);
    free(m);
  }
}

/* ---- sender pool ------------------------------------------------------------------------ */

void dn_pool_init(dn_pool *p, const char *name) {
  memset(p, 0, sizeof *p);
  strncpy(p->name, name, sizeof p->name - 1);
  p->next_id = 1;
  p->next_token = 1;
}

void dn_segment_destroy(dn_segment *s) {
  if (!s) return;
  munmap(s->mem, s->size);
  close(s->fd);
  free(s->rooms);
  free(s);
}

void dn_pool_close(dn_pool *p) {
  for (size_t i = 0; i < p->n_segs; i++) dn_segment_destroy(p->segs[i]);
  for (size_t i = 0; i < p->n_dropped; i++) dn_segment_destroy(p->dropped[i]);
  free(p->segs);
  free(p->busy);
  free(p->dropped);
  memset(p, 0, sizeof *p);
}

static int grow(void **items, size_t elem, size_t n, size_t *cap) {
  if (n < *cap) return 0;
  size_t ncap = *cap ? *cap * 2 : 8;
  void *q = realloc(*items, ncap * elem);
  if (!q) return -1;
  *items = q;
  *cap = ncap;
  return 0;
}

static dn_segment *segment_new(dn_pool *p, size_t len) {
  size_t size = MIN_SEGMENT;
  while (size < len) {
    if (size > SIZE_MAX / 2) return NULL;
    size *= 2;
  }
  dn_segment *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->fd = memfd_create(p->name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (s->fd < 0) {
    free(s);
    dn_fail("memfd_create failed");
    return NULL;
  }
  /* sealed once sized: receivers refuse segments that could shrink under them */
  if (ftruncate(s->fd, (off_t)size) < 0 ||
      fcntl(s->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
    close(s->fd);
    free(s);
    dn_fail("cannot size and seal a shared-memory segment of %zu bytes", size);
    return NULL;
  }
  void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
  if (mem == MAP_FAILED) {
    close(s->fd);
    free(s);
    dn_fail("cannot map a shared-memory segment of %zu bytes", size);
    return NULL;
  }
  s->mem = mem;
  s->size = size;
  s->id = p->next_id++;
  if (grow((void **)&p->segs, sizeof *p->segs, p->n_segs, &p->cap_segs)) {
    dn_segment_destroy(s);
    return NULL;
  }
  p->segs[p->n_segs++] = s;
  return s;
}

/* The smallest free segment that fits, or a new one. */
DN_HOT static dn_segment *take(dn_pool *p, size_t len) {
  dn_segment *best = NULL;
  for (size_t i = 0; i < p->n_segs; i++) {
    dn_segment *s = p->segs[i];
    if (s->free_listed && s->size >= len && (!best || s->size < best->size)) best = s;
  }
  if (best) {
    best->free_listed = false;
    p->free_bytes -= best->size;
    return best;
  }
  return segment_new(p, len);
}

static int add_room(dn_segment *s, size_t offset, size_t len) {
  if (grow((void **)&s->rooms, sizeof *s->rooms, s->n_rooms, &s->cap_rooms)) return -1;
  size_t at = 0;
  while (at < s->n_rooms && s->rooms[at].offset < offset) at++;
  memmove(s->rooms + at + 1, s->rooms + at, (s->n_rooms - at) * sizeof *s->rooms);
  s->rooms[at].offset = offset;
  s->rooms[at].len = len;
  s->n_rooms++;
  return 0;
}

/* Lowest aligned offset with `len` free bytes: a steady stream stays on warm pages. */
static long fit(const dn_segment *s, size_t len) {
  size_t pos = 0;
  for (size_t i = 0; i < s->n_rooms; i++) {
    if (s->rooms[i].offset >= pos && s->rooms[i].offset - pos >= len) return (long)pos;
    size_t end = s->rooms[i].offset + s->rooms[i].len;
    pos = (end + ALIGN - 1) / ALIGN * ALIGN;
  }
  return pos + len <= s->size ? (long)pos : -1;
}

int dn_pool_acquire(dn_pool *p, size_t len, bool dedicated, dn_segment **seg, size_t *offset) {
  if (len == 0) len = 1;
  dn_segment *s;
  if (len <= ARENA_MAX_MESSAGE && !dedicated) {
    if (p->arena) {
      long off = fit(p->arena, len);
      if (off >= 0) {
        if (add_room(p->arena, (size_t)off, len)) return dn_fail("out of memory");
        *seg = p->arena;
        *offset = (size_t)off;
        return 0;
      }
      /* full: it goes back to the free list once its messages are released */
      dn_segment *old = p->arena;
      p->arena = NULL;
      if (old->n_rooms == 0) {
        old->free_listed = true;
        p->free_bytes += old->size;
      }
    }
    s = take(p, ARENA_SIZE);
    if (!s) return -1;
    p->arena = s;
  } else {
    s = take(p, len);
    if (!s) return -1;
  }
  if (add_room(s, 0, len)) return dn_fail("out of memory");
  *seg = s;
  *offset = 0;
  return 0;
}

static void unlist(dn_pool *p, dn_segment *s) {
  for (size_t i = 0; i < p->n_segs; i++) {
    if (p->segs[i] == s) {
      p->segs[i] = p->segs[--p->n_segs];
      return;
    }
  }
}

/* A message room is free again; the segment may go to the free list (and the largest
 * free segments beyond the budget to the drop list, which the sender announces). */
static void message_done(dn_pool *p, dn_segment *s, size_t offset) {
  for (size_t i = 0; i < s->n_rooms; i++) {
    if (s->rooms[i].offset == offset) {
      memmove(s->rooms + i, s->rooms + i + 1, (s->n_rooms - i - 1) * sizeof *s->rooms);
      s->n_rooms--;
      break;
    }
  }
  if (s->n_rooms || s == p->arena || s->free_listed) return;
  s->free_listed = true;
  p->free_bytes += s->size;
  while (p->free_bytes > MAX_FREE_BYTES) {
    dn_segment *victim = NULL;
    for (size_t i = 0; i < p->n_segs; i++)
      if (p->segs[i]->free_listed && (!victim || p->segs[i]->size > victim->size))
        victim = p->segs[i];
    if (!victim) break;
    p->free_bytes -= victim->size;
    unlist(p, victim);
    if (grow((void **)&p->dropped, sizeof *p->dropped, p->n_dropped, &p->cap_dropped)) {
      dn_segment_destroy(victim); /* receivers keep their own mappings */
      continue;
    }
    p->dropped[p->n_dropped++] = victim;
  }
}

uint64_t dn_pool_publish(dn_pool *p, dn_segment *seg, size_t offset, uint64_t holders) {
  uint64_t token = p->next_token++;
  if (!holders ||
      grow((void **)&p->busy, sizeof *p->busy, p->n_busy, &p->cap_busy)) {
    message_done(p, seg, offset);
    return token;
  }
  p->busy[p->n_busy].token = token;
  p->busy[p->n_busy].seg = seg;
  p->busy[p->n_busy].offset = offset;
  p->busy[p->n_busy].holders = holders;
  p->n_busy++;
  return token;
}

void dn_pool_discard(dn_pool *p, dn_segment *seg, size_t offset) { message_done(p, seg, offset); }

/* Tokens are appended in increasing order, so a binary search finds one. */
static long find_busy(const dn_pool *p, uint64_t token) {
  size_t lo = 0, hi = p->n_busy;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (p->busy[mid].token < token) lo = mid + 1;
    else hi = mid;
  }
  return lo < p->n_busy && p->busy[lo].token == token ? (long)lo : -1;
}

static void drop_busy(dn_pool *p, size_t at) {
  dn_busy b = p->busy[at];
  memmove(p->busy + at, p->busy + at + 1, (p->n_busy - at - 1) * sizeof *p->busy);
  p->n_busy--;
  message_done(p, b.seg, b.offset);
}

void dn_pool_release(dn_pool *p, int peer, uint64_t token) {
  long at = find_busy(p, token);
  if (at < 0) return;
  p->busy[at].holders &= ~(1ull << peer);
  if (!p->busy[at].holders) drop_busy(p, (size_t)at);
}

void dn_pool_peer_gone(dn_pool *p, int peer) {
  for (size_t i = p->n_busy; i-- > 0;) {
    p->busy[i].holders &= ~(1ull << peer);
    if (!p->busy[i].holders) drop_busy(p, i);
  }
}
