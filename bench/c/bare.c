/* The bare C exchange: the floor for the C rows. Two plain processes (fork) and one Unix
 * stream socket, nothing of dora, the same plan and pacing as the dora C sender
 * (BENCH_SIZES, BENCH_COUNTS, BENCH_WARMUPS, BENCH_INTERVALS_MS) and the same JSON result
 * (BENCH_RESULT, written by the receiving process).
 *
 * A message is a 40-byte header (kind, warm, seq, t_send, size, offset). How a payload
 * travels is what a sensible hand-written program would do:
 *  - below BARE_THRESHOLD (default 4096, dora's zero-copy threshold): right behind the
 *    header, in the same writev;
 *  - at or above it, with BARE_LARGE=shm (the default): in a memfd that the sender creates
 *    once (two slots, 64-byte aligned), passes once with SCM_RIGHTS, and writes each payload
 *    into; only the header crosses the socket, the receiver reads the payload in place from
 *    its read-only mapping and hands the slot back with an 8-byte release. That is one copy
 *    per message (caller's buffer -> shared memory), like dora's send of a ready buffer, so
 *    the ratio shows dora's own overhead rather than a copy the floor would make needlessly;
 *  - with BARE_LARGE=socket: plain socket writes of the whole payload (two copies through
 *    the kernel), for reference.
 * The receiver takes CLOCK_REALTIME after the read that completed a message, then verifies
 * every byte, as the dora C receiver does after dora_next_event returns. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"

enum { KIND_SETUP = 1, KIND_INLINE = 2, KIND_SHM = 3 };
enum { SLOTS = 2 };

typedef struct Header {
  uint32_t kind, warm;
  int64_t seq, t_send, size, offset;
} Header;

static int write_all(int fd, struct iovec *iov, int n) {
  while (n > 0) {
    ssize_t sent = writev(fd, iov, n);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    while (n > 0 && (size_t)sent >= iov->iov_len) {
      sent -= (ssize_t)iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (char *)iov->iov_base + sent;
      iov->iov_len -= (size_t)sent;
    }
  }
  return 0;
}

/* ---- sender (parent) ------------------------------------------------------------------ */

typedef struct Sender {
  int sock;
  int64_t threshold;
  bool shm;
  uint8_t *map;
  int64_t slot_size;
  bool busy[SLOTS];
  int next; /* the slot to wait for when both are busy (the older one) */
} Sender;

static int send_setup(Sender *s, int64_t largest) {
  s->slot_size = (largest + 63) / 64 * 64;
  int64_t total = s->slot_size * SLOTS;
  int fd = memfd_create("bench-bare", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, total) != 0) return -1;
  s->map = mmap(NULL, (size_t)total, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  if (s->map == MAP_FAILED) return -1;
  Header h = {.kind = KIND_SETUP, .size = total};
  struct iovec iov = {.iov_base = &h, .iov_len = sizeof h};
  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof control);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = sizeof control};
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
  ssize_t sent = sendmsg(s->sock, &msg, 0);
  close(fd); /* the receiver has its own descriptor, the mapping keeps ours alive */
  return sent == (ssize_t)sizeof h ? 0 : -1;
}

/* Take the releases the receiver sent; block until slot `want` is free (want < 0: never
 * block). A release is 8 bytes written at once, which a Unix stream socket never splits. */
static int take_releases(Sender *s, int want) {
  for (;;) {
    bool must_wait = want >= 0 && s->busy[want];
    int64_t slot;
    ssize_t got = recv(s->sock, &slot, sizeof slot, must_wait ? MSG_WAITALL : MSG_DONTWAIT);
    if (got == (ssize_t)sizeof slot) {
      if (slot >= 0 && slot < SLOTS) s->busy[slot] = false;
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !must_wait) return 0;
    if (got == 0 && !must_wait) return 0; /* the receiver finished: nothing more to take */
    return -1;
  }
}

static int send_one(Sender *s, const uint8_t *payload, int64_t size, int64_t seq, bool warm) {
  Header h = {.kind = KIND_INLINE, .warm = warm, .seq = seq, .size = size};
  if (s->shm && size >= s->threshold) {
    /* the lowest free slot, as dora's pool takes the lowest free room: a paced stream
     * keeps reusing the same warm pages; wait for the oldest one only if both are busy */
    if (take_releases(s, -1) != 0) return -1;
    int slot = 0;
    while (slot < SLOTS && s->busy[slot]) slot++;
    if (slot == SLOTS) {
      slot = s->next;
      if (take_releases(s, slot) != 0) return -1;
    }
    s->next = (slot + 1) % SLOTS;
    h.kind = KIND_SHM;
    h.offset = slot * s->slot_size;
    h.t_send = bench_now_ns();
    memcpy(s->map + h.offset, payload, (size_t)size); /* the one copy, inside the timing */
    s->busy[slot] = true;
    struct iovec iov = {.iov_base = &h, .iov_len = sizeof h};
    return write_all(s->sock, &iov, 1);
  }
  h.t_send = bench_now_ns();
  struct iovec iov[2] = {{.iov_base = &h, .iov_len = sizeof h},
                         {.iov_base = (void *)payload, .iov_len = (size_t)size}};
  return write_all(s->sock, iov, size ? 2 : 1);
}

static int run_sender(Sender *s, const BenchPlan *plan) {
  int64_t largest = 1;
  for (size_t i = 0; i < plan->n; i++) {
    if (plan->sizes[i] > largest) largest = plan->sizes[i];
  }
  if (s->shm && largest >= s->threshold && send_setup(s, largest) != 0) {
    perror("bare: shared memory set-up");
    return -1;
  }
  uint8_t *payload = malloc((size_t)largest);
  if (payload == NULL) return -1;
  int64_t seq = 0;
  for (size_t i = 0; i < plan->n; i++) {
    int64_t size = plan->sizes[i], warmup = plan->warmups[i];
    int64_t total = plan->counts[i] + warmup;
    bool is_burst = plan->intervals_ms[i] <= 0;
    int64_t interval = is_burst ? BENCH_BURST_WARMUP_GAP_NS : (int64_t)(plan->intervals_ms[i] * 1e6);
    int64_t paced_n = is_burst ? warmup : total;
    int64_t due = bench_mono_ns();
    for (int64_t k = 0; k < paced_n; k++) {
      memset(payload, bench_expected_byte(seq + k), (size_t)size); /* before the clock */
      due += interval;
      bench_sleep_until(due);
      if (send_one(s, payload, size, seq + k, k < warmup) != 0) goto fail;
      if (take_releases(s, -1) != 0) goto fail;
    }
    if (is_burst) {
      if (warmup) bench_sleep_until(bench_mono_ns() + BENCH_BURST_WARMUP_GAP_NS);
      uint8_t *fills = malloc(251 * (size_t)(size ? size : 1));
      if (fills == NULL) goto fail;
      for (int b = 0; b < 251; b++) memset(fills + (size_t)b * (size_t)size, b + 1, (size_t)size);
      for (int64_t k = warmup; k < total; k++) {
        const uint8_t *ready = fills + (size_t)(bench_expected_byte(seq + k) - 1) * (size_t)size;
        if (send_one(s, ready, size, seq + k, false) != 0) {
          free(fills);
          goto fail;
        }
      }
      free(fills);
    }
    seq += total;
  }
  free(payload);
  return 0;
fail:
  perror("bare: send");
  free(payload);
  return -1;
}

/* ---- receiver (child) ----------------------------------------------------------------- */

static int recv_setup(int sock, uint8_t **map, int64_t *map_size) {
  Header h;
  struct iovec iov = {.iov_base = &h, .iov_len = sizeof h};
  char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                       .msg_controllen = sizeof control};
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL) != (ssize_t)sizeof h) return -1;
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  if (h.kind != KIND_SETUP || cmsg == NULL || cmsg->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
  *map = mmap(NULL, (size_t)h.size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  close(fd);
  *map_size = h.size;
  return *map == MAP_FAILED ? -1 : 0;
}

static int run_receiver(int sock, const BenchPlan *plan, int64_t threshold, bool shm,
                        BenchStats *stats) {
  uint8_t *map = NULL;
  int64_t map_size = 0;
  int64_t largest = 1;
  for (size_t i = 0; i < plan->n; i++) {
    if (plan->sizes[i] > largest) largest = plan->sizes[i];
  }
  if (shm && largest >= threshold && recv_setup(sock, &map, &map_size) != 0) {
    bench_stats_error(stats, "shared memory set-up failed");
    return -1;
  }
  size_t cap = 64 * 1024, start = 0, end = 0;
  uint8_t *buf = malloc(cap);
  while (buf != NULL && stats->unique < stats->expect) {
    if (end == cap) { /* make room: move the partial message down, or grow */
      if (start > 0) {
        memmove(buf, buf + start, end - start);
        end -= start;
        start = 0;
      } else {
        uint8_t *grown = realloc(buf, cap * 2);
        if (grown == NULL) break;
        buf = grown;
        cap *= 2;
      }
    }
    ssize_t got = read(sock, buf + end, cap - end);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    int64_t t_recv = bench_now_ns(); /* first, before anything looks at the message */
    end += (size_t)got;
    for (;;) {
      Header h;
      if (end - start < sizeof h) break;
      memcpy(&h, buf + start, sizeof h);
      size_t body = h.kind == KIND_INLINE ? (size_t)h.size : 0;
      if (end - start < sizeof h + body) {
        while (cap < sizeof h + body) cap *= 2; /* a large inline payload: room for it whole */
        uint8_t *grown = realloc(buf, cap);
        if (grown == NULL) return -1;
        buf = grown;
        break;
      }
      const uint8_t *data = buf + start + sizeof h;
      if (h.kind == KIND_SHM) {
        data = (map && h.offset >= 0 && h.offset + h.size <= map_size) ? map + h.offset : NULL;
      }
      const char *error = bench_verify(data, data ? (size_t)h.size : 0, (size_t)h.size, h.seq);
      bench_stats_add(stats, t_recv, h.seq, h.size, h.warm, h.t_send, error);
      if (h.kind == KIND_SHM) {
        int64_t slot = map_size ? h.offset / (map_size / SLOTS) : 0;
        struct iovec iov = {.iov_base = &slot, .iov_len = sizeof slot};
        if (write_all(sock, &iov, 1) != 0) return -1;
      }
      start += sizeof h + body;
    }
    if (start == end) start = end = 0;
  }
  free(buf);
  stats->end = stats->unique == stats->expect ? "all received" : "stream ended";
  return 0;
}

int main(void) {
  BenchPlan plan;
  if (bench_plan_from_env(&plan) != 0) return 2;
  const char *path = getenv("BENCH_RESULT");
  const char *large = getenv("BARE_LARGE");
  const char *threshold_text = getenv("BARE_THRESHOLD");
  if (path == NULL) {
    fprintf(stderr, "bare: BENCH_RESULT is not set\n");
    return 2;
  }
  bool shm = large == NULL || strcmp(large, "shm") == 0;
  if (!shm && strcmp(large, "socket") != 0) {
    fprintf(stderr, "bare: BARE_LARGE must be shm or socket, not %s\n", large);
    return 2;
  }
  int64_t threshold = threshold_text ? atoll(threshold_text) : 4096;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    perror("bare: socketpair");
    return 1;
  }
  int sndbuf = 1024 * 1024; /* as dora's data connections: a fast sender is not stalled */
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  pid_t child = fork();
  if (child < 0) {
    perror("bare: fork");
    return 1;
  }
  if (child == 0) {
    close(sv[0]);
    BenchStats stats;
    bench_stats_init(&stats, bench_plan_total(&plan));
    run_receiver(sv[1], &plan, threshold, shm, &stats);
    int rc = bench_stats_write(&stats, path);
    bench_stats_free(&stats);
    _exit(rc == 0 ? 0 : 1);
  }
  close(sv[1]);
  Sender sender = {.sock = sv[0], .threshold = threshold, .shm = shm};
  int rc = run_sender(&sender, &plan);
  if (rc != 0) kill(child, SIGTERM);
  shutdown(sv[0], SHUT_WR); /* the receiver sees EOF if it still waits for something */
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  close(sv[0]);
  return rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
