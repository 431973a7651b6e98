/* Unix sockets (abstract addresses start with NUL), length-prefixed frames (4-byte
 * little-endian length + msgpack body, at most DN_MAX_FRAME) and fd passing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "node.h"

/* Room per read: under glibc's mmap threshold (128 KiB), so a connection's buffer lives
 * in the ordinary heap near the other per-message data rather than in a mapping of its
 * own (one more page to look up after an idle wait); a larger frame takes several reads. */
#define READ_CHUNK (64 * 1024)

DN_RECV uint64_t dn_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

DN_RECV uint64_t dn_coarse_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void dn_reader_init(dn_reader *r, bool with_fds) {
  memset(r, 0, sizeof *r);
  dn_buf_init(&r->buf, DN_MAX_FRAME + 4 + READ_CHUNK);
  r->with_fds = with_fds;
}

void dn_reader_free(dn_reader *r) {
  for (int i = 0; i < r->n_fds; i++) close(r->fds[i]);
  r->n_fds = 0;
  dn_buf_free(&r->buf);
}

/* Passed descriptors, within bounds: the kernel hands over the descriptors of at most
 * one sendmsg per read, so one read's descriptors are one frame's. A frame may carry one
 * (a `segment`), and at most DN_MAX_HELD_FDS may wait for their frame; a peer that breaks
 * that loses the connection and the descriptors of the read are closed at once. */
DN_RECV static int keep_fds(dn_reader *r, struct msghdr *msg) {
  int got[DN_MAX_FDS];
  int n_got = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int *fds = (int *)CMSG_DATA(c);
    for (size_t i = 0; i < n; i++) {
      int fd;
      memcpy(&fd, &fds[i], sizeof fd);
      if (n_got < DN_MAX_FDS) got[n_got++] = fd;
      else close(fd);
    }
  }
  const char *error = NULL;
  if (msg->msg_flags & MSG_CTRUNC) error = "more descriptors in one frame than fit (truncated)";
  else if (n_got > DN_MAX_FDS_PER_FRAME) error = "several descriptors in one frame";
  else if (r->n_fds + n_got > DN_MAX_HELD_FDS)
    error = "descriptors not claimed by a segment frame";
  if (error) {
    for (int i = 0; i < n_got; i++) close(got[i]);
    r->error = error;
    return -1;
  }
  for (int i = 0; i < n_got; i++) r->fds[r->n_fds++] = got[i];
  return 0;
}

DN_RECV static int fill(dn_reader *r, int fd, int flags) {
  if (r->pos) {
    dn_buf_consume(&r->buf, r->pos);
    r->pos = 0;
  }
  if (r->buf.len == 0 && r->buf.cap > 16 * READ_CHUNK) {
    /* a large frame went through: give its room back rather than keep it forever */
    size_t limit = r->buf.limit;
    dn_buf_free(&r->buf);
    dn_buf_init(&r->buf, limit);
  }
  if (dn_buf_reserve(&r->buf, READ_CHUNK)) return -1;
  uint8_t *at = r->buf.data + r->buf.len;
  ssize_t n;
  for (;;) {
    if (r->with_fds) {
      union {
        char buf[CMSG_SPACE(DN_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
      } control;
      struct iovec iov = {at, READ_CHUNK};
      struct msghdr msg = {0};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      n = recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC);
      if (n >= 0 && keep_fds(r, &msg)) return -1;
    } else {
      n = recv(fd, at, READ_CHUNK, flags);
    }
    if (n >= 0 || errno != EINTR) break;
    if (!(flags & MSG_DONTWAIT)) return 0; /* a signal ends a wait: the caller looks again */
  }
  if (n > 0) {
    r->buf.len += (size_t)n;
    return 1;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  return -1;
}

DN_RECV int dn_reader_fill(dn_reader *r, int fd) { return fill(r, fd, MSG_DONTWAIT); }

DN_RECV int dn_reader_wait(dn_reader *r, int fd) { return fill(r, fd, 0); }

DN_RECV int dn_reader_next(dn_reader *r, const uint8_t **body, uint32_t *len) {
  size_t avail = r->buf.len - r->pos;
  if (avail < 4) return 0;
  const uint8_t *p = r->buf.data + r->pos;
  uint32_t size = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                  (uint32_t)p[3] << 24;
  if (size > DN_MAX_FRAME) return -1;
  if (avail - 4 < size) return 0;
  *body = p + 4;
  *len = size;
  r->pos += 4 + (size_t)size;
  return 1;
}

int dn_reader_take_fd(dn_reader *r) {
  if (r->n_fds == 0) return -1;
  int fd = r->fds[0];
  memmove(r->fds, r->fds + 1, (size_t)(r->n_fds - 1) * sizeof(int));
  r->n_fds--;
  return fd;
}

static int make_addr(const char *address, size_t len, struct sockaddr_un *sa, socklen_t *sl) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (len == 0 || len >= sizeof sa->sun_path) return -1;
  memcpy(sa->sun_path, address, len);
  /* abstract names are exactly `len` bytes; paths are NUL-terminated */
  *sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (address[0] ? 1 : 0));
  return 0;
}

int dn_connect(const char *address, size_t len) {
  struct sockaddr_un sa;
  socklen_t sl;
  if (make_addr(address, len, &sa, &sl)) {
    errno = EINVAL;
    return -1;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int rc;
  do rc = connect(fd, (struct sockaddr *)&sa, sl);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  int sndbuf = 1024 * 1024; /* a busy receiver must not stall a fast sender */
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  return fd;
}

int dn_listen(const char *address, size_t len) {
  struct sockaddr_un sa;
  socklen_t sl;
  if (make_addr(address, len, &sa, &sl)) {
    errno = EINVAL;
    return -1;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (bind(fd, (struct sockaddr *)&sa, sl) < 0 || listen(fd, 4096) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

DN_SEND static int write_all(int fd, const void *data, size_t len, int pass_fd, int flags) {
  const uint8_t *p = data;
  while (len) {
    ssize_t n;
    if (pass_fd >= 0) {
      union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
      } control;
      memset(&control, 0, sizeof control);
      struct iovec iov = {(void *)p, len};
      struct msghdr msg = {0};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
      n = sendmsg(fd, &msg, flags | MSG_NOSIGNAL);
    } else {
      n = send(fd, p, len, flags | MSG_NOSIGNAL);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        /* a full socket written with MSG_DONTWAIT (accepted data connections): wait */
        struct pollfd pfd = {fd, POLLOUT, 0};
        if (poll(&pfd, 1, 10000) <= 0) return -1;
        continue;
      }
      return -1;
    }
    if (n > 0) pass_fd = -1; /* the fd went with the first byte */
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

DN_SEND int dn_write_all(int fd, const void *data, size_t len, int pass_fd) {
  return write_all(fd, data, len, pass_fd, 0);
}

int dn_write_all_nowait(int fd, const void *data, size_t len) {
  return write_all(fd, data, len, -1, MSG_DONTWAIT);
}

void dn_frame_begin(dn_buf *b) {
  b->len = 0;
  b->failed = 0;
  dn_buf_put(b, "\0\0\0\0", 4);
}

int dn_frame_end(dn_buf *b) {
  if (b->failed || b->len - 4 > DN_MAX_FRAME) return dn_fail("frame too large or out of memory");
  uint32_t n = (uint32_t)(b->len - 4);
  for (int i = 0; i < 4; i++) b->data[i] = (uint8_t)(n >> (8 * i));
  return 0;
}
