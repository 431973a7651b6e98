/* The public functions of node_api.h and dora_node_api.h, and the event loop: one
 * epoll set over the daemon connection, the listening socket, the data connections in and
 * out, and an eventfd that the release path uses to wake a sleeping wait (or, when only
 * one data connection matters, a sliced sleep in recvmsg on it: pump()). Nothing runs
 * in the background: I/O happens inside dora_next_event and the send functions. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "node.h"

typedef struct dn_sample {
  size_t len;
  dn_segment *seg; /* shared memory (len >= threshold), offset 0 */
  uint8_t *heap;
} dn_sample;

/* ---- set-up and teardown ----------------------------------------------------------------- */

static void ctx_destroy(dn_ctx *c) {
  if (c->daemon_fd >= 0) close(c->daemon_fd);
  dn_reader_free(&c->daemon_rd);
  if (c->listen_fd >= 0) close(c->listen_fd);
  dn_receiver_close(c);
  dn_sender_close(c);
  dn_drops_free(c);
  dn_sched_free(&c->sched);
  if (c->wake_fd >= 0) close(c->wake_fd);
  if (c->epoll_fd >= 0) close(c->epoll_fd);
  free(c->output_open);
  dn_buf_free(&c->frame);
  dn_buf_free(&c->frame_schema);
  dn_buf_free(&c->broken_reported);
  dn_config_free(&c->cfg);
  free(c);
}

void *init_dora_context_from_env(void) {
  const char *raw = getenv("DORA_NODE_CONFIG");
  if (!raw) {
    dn_fail("DORA_NODE_CONFIG env variable is not set (start the node with `dora run`)");
    return NULL;
  }
  dn_ctx *c = calloc(1, sizeof *c);
  if (!c) {
    dn_fail("out of memory");
    return NULL;
  }
  c->daemon_fd = c->listen_fd = c->wake_fd = c->epoll_fd = -1;
  dn_reader_init(&c->daemon_rd, false);
  dn_buf_init(&c->frame, DN_MAX_FRAME + 4);
  dn_buf_init(&c->frame_schema, DN_MAX_FRAME + 4);
  dn_buf_init(&c->broken_reported, 0);
  atomic_init(&c->blocked, false);
  if (dn_config_load(raw, strlen(raw), &c->cfg)) {
    free(c);
    return NULL;
  }
  char pool_name[96];
  snprintf(pool_name, sizeof pool_name, "dora-%.40s-%.40s", c->cfg.dataflow_id, c->cfg.node_id);
  dn_pool_init(&c->pool, pool_name);
  c->output_open = calloc(c->cfg.n_outputs ? c->cfg.n_outputs : 1, sizeof(bool));
  if (!c->output_open || dn_sched_init(&c->sched, &c->cfg)) {
    dn_fail("out of memory");
    goto fail;
  }
  for (size_t i = 0; i < c->cfg.n_outputs; i++) c->output_open[i] = true;
  for (size_t i = 0; i < c->cfg.n_inputs; i++)
    c->daemon_inputs |= !strcmp(c->cfg.inputs[i].source_node, "dora");
  c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  c->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (c->wake_fd < 0 || c->epoll_fd < 0) {
    dn_fail("eventfd/epoll failed: %s", strerror(errno));
    goto fail;
  }
  dn_watch(c, c->wake_fd, DN_WATCH_WAKE);
  /* listen before registering: senders connect as soon as the start barrier releases */
  c->listen_fd = dn_listen(c->cfg.listen_address, c->cfg.listen_address_len);
  if (c->listen_fd < 0) {
    dn_fail("cannot listen for data connections: %s", strerror(errno));
    goto fail;
  }
  dn_watch(c, c->listen_fd, DN_WATCH_LISTEN);
  c->daemon_fd = dn_connect(c->cfg.daemon_address, c->cfg.daemon_address_len);
  if (c->daemon_fd < 0) {
    dn_fail("cannot connect to the dora daemon: %s", strerror(errno));
    goto fail;
  }
  dn_watch(c, c->daemon_fd, DN_WATCH_DAEMON);
  dn_sender_init(c);
  if (!c->peers) {
    dn_fail("out of memory");
    goto fail;
  }
  if (dn_daemon_handshake(c)) goto fail;
  dn_sender_connect_all(c);
  if (c->cfg.health_check_timeout > 0) {
    double period = c->cfg.health_check_timeout * 1000.0 / 4.0;
    c->beat_period_ms = period < 10 ? 10 : (uint64_t)period;
  }
  return c;
fail:
  ctx_destroy(c);
  return NULL;
}

void free_dora_context(void *dora_context) {
  dn_ctx *c = dora_context;
  if (!c) return;
  size_t *open = calloc(c->cfg.n_outputs ? c->cfg.n_outputs : 1, sizeof(size_t));
  size_t n = 0;
  for (size_t i = 0; open && i < c->cfg.n_outputs; i++)
    if (c->output_open[i]) open[n++] = i;
  /* a node that will be restarted leaves closing its outputs to the daemon: its
   * receivers must not see INPUT_CLOSED while it restarts */
  bool restarting = c->restart_scope || (!c->stop_received && c->cfg.may_restart);
  /* first: from here on our senders count what we miss; we count what we never read */
  if (restarting) dn_leave_report_unread(c);
  if (n && !restarting) dn_sender_close_outputs(c, open, n);
  free(open);
  dn_drops_report(c, true); /* what receivers missed since the last report */
  if (!c->daemon_gone && c->daemon_fd >= 0) {
    dn_frame_begin(&c->frame);
    mp_w_array(&c->frame, 1);
    mp_w_cstr(&c->frame, "outputs_done");
    if (dn_frame_end(&c->frame) == 0) dn_daemon_send(c, &c->frame);
  }
  ctx_destroy(c);
}

/* ---- the event loop ----------------------------------------------------------------------- */

void dn_watch(dn_ctx *c, int fd, int kind) {
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.u64 = (uint64_t)kind << 32 | (uint32_t)fd;
  if (epoll_ctl(c->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
    dn_log_stderr("cannot watch a socket: %s", strerror(errno));
}

void dn_unwatch(dn_ctx *c, int fd) { epoll_ctl(c->epoll_fd, EPOLL_CTL_DEL, fd, NULL); }

/* How long a wait sleeps reading the lone data connection before it looks at the other
 * sockets (the daemon's messages, new connections) again: longer than the period of any
 * usual rate above 20 Hz, so that a paced stream's next message comes before the slice
 * ends (no wake-up in between); the daemon's messages (a STOP, param updates) and a
 * second producer's connection wait at most that long. */
#define SLICE_MS 50

/* Waits up to `wait_ms` (0: just look, -1: forever) and handles what is ready. With
 * `loose`, the wait may end a few ms late (it bounds housekeeping only): it may then
 * sleep in slices on the lone data connection (dn_receiver_lone). */
DN_RECV static void pump(dn_ctx *c, int wait_ms, bool loose) {
  struct epoll_event events[32];
  dn_inconn *lone = NULL;
  if (loose && (wait_ms < 0 || wait_ms >= SLICE_MS)) lone = dn_receiver_lone(c);
  int n;
  if (lone) {
    /* nothing can queue a release meanwhile (no message of it is held): no wake-up */
    dn_receiver_flush_all(c);
    n = epoll_wait(c->epoll_fd, events, 32, 0);
    if (n == 0) {
      dn_receiver_wait(c, lone, SLICE_MS);
      c->last_poll_ms = dn_coarse_ms();
      return;
    }
  } else {
    /* set before flushing: a release queued after the flush sees it and wakes us */
    if (wait_ms != 0) atomic_store(&c->blocked, true);
    dn_receiver_flush_all(c);
    n = epoll_wait(c->epoll_fd, events, 32, wait_ms);
    atomic_store(&c->blocked, false);
  }
  c->last_poll_ms = dn_coarse_ms();
  for (int i = 0; i < n; i++) {
    int kind = (int)(events[i].data.u64 >> 32);
    int fd = (int)(uint32_t)events[i].data.u64;
    if (kind == DN_WATCH_WAKE) {
      uint64_t v;
      ssize_t r = read(c->wake_fd, &v, sizeof v);
      (void)r;
    } else if (kind == DN_WATCH_LISTEN) {
      dn_receiver_accept(c);
    } else if (kind == DN_WATCH_DAEMON) {
      if (!c->daemon_gone) dn_daemon_readable(c);
    } else if (kind == DN_WATCH_IN) {
      /* the connection may have been dropped meanwhile: find it again by fd */
      for (size_t k = 0; k < c->n_in; k++) {
        if (c->in[k]->fd == fd) {
          dn_receiver_readable(c, c->in[k]);
          break;
        }
      }
    } else if (kind == DN_WATCH_PEER) {
      for (size_t k = 0; k < c->cfg.n_peers; k++)
        if (c->peers[k].fd == fd) dn_sender_readable(c, &c->peers[k]);
    }
  }
}

/* Tells the daemon which inputs' circuit breakers are open now, when that changed (node
 * status "Degraded" in dora list / dora node info). */
static void report_broken(dn_ctx *c) {
  dn_buf now;
  dn_buf_init(&now, 0);
  uint32_t n = 0;
  for (size_t i = 0; i < c->sched.n; i++) {
    if (!c->sched.inputs[i].broken) continue;
    mp_w_cstr(&now, c->cfg.inputs[i].id);
    n++;
  }
  bool same = now.len == c->broken_reported.len &&
              (now.len == 0 || memcmp(now.data, c->broken_reported.data, now.len) == 0);
  if (!same && !now.failed && !c->daemon_gone) {
    dn_frame_begin(&c->frame);
    mp_w_array(&c->frame, 2);
    mp_w_cstr(&c->frame, "broken_inputs");
    mp_w_array(&c->frame, n);
    dn_buf_put(&c->frame, now.data, now.len);
    if (dn_frame_end(&c->frame) == 0 && dn_daemon_send(c, &c->frame) == 0) {
      c->broken_reported.len = 0;
      dn_buf_put(&c->broken_reported, now.data, now.len);
    }
  }
  dn_buf_free(&now);
}

/* About once a second, how many messages wait in the input queues, when that changed
 * (the QUEUE column of dora top and dora node info). */
DN_RECV static size_t pending_count(const dn_ctx *c) {
  size_t count = 0;
  for (size_t i = 0; i < c->sched.n; i++) count += c->sched.inputs[i].count;
  return count;
}

DN_RECV static void report_pending(dn_ctx *c) {
  uint64_t now = dn_coarse_ms();
  if (now - c->last_pending_ms < 1000 || c->daemon_gone) return;
  size_t count = pending_count(c);
  if (count == c->pending_reported) return;
  c->last_pending_ms = now;
  dn_frame_begin(&c->frame);
  mp_w_array(&c->frame, 2);
  mp_w_cstr(&c->frame, "pending_inputs");
  mp_w_int(&c->frame, (int64_t)count);
  if (dn_frame_end(&c->frame) == 0 && dn_daemon_send(c, &c->frame) == 0)
    c->pending_reported = count;
}

DN_RECV int dora_next_event_timeout(void *dora_context, int64_t timeout_ms, void **event_out) {
  dn_ctx *c = dora_context;
  if (event_out) *event_out = NULL;
  if (!c || !event_out) return dn_fail("dora_context or event_out is NULL");
  /* stdout is a pipe to the daemon, so stdio buffers what the node printed until the
   * buffer fills or the node exits: hand it over whenever the node asks for more work */
  fflush(stdout);
  uint64_t deadline = timeout_ms >= 0 ? dn_now_ms() + (uint64_t)timeout_ms : 0;
  /* With something queued, read what already waits in the sockets first (so queue
   * policies see it) unless that was done within the last millisecond: a burst is then
   * served from the queue without one poll() per message. With nothing queued, the
   * wait below polls anyway. */
  if (dn_sched_ready(&c->sched) && dn_coarse_ms() - c->last_poll_ms >= 1) pump(c, 0, false);
  bool last_look = false; /* the deadline passed: one non-blocking read, then TIMEOUT */
  for (;;) {
    dn_daemon_beat(c);
    uint64_t next_deadline = 0;
    if (c->sched.has_timeouts) {
      next_deadline = dn_sched_expire(&c->sched, dn_now_ms());
      report_broken(c);
    }
    dn_event *e = dn_sched_pop(&c->sched, &c->cfg);
    report_pending(c);
    dn_drops_report(c, false);
    if (e) {
      *event_out = e;
      return DORA_OK;
    }
    if (c->sched.ended) return DORA_END_OF_STREAM;
    if (last_look) return DORA_TIMEOUT;
    int wait = -1;
    if (timeout_ms >= 0) {
      uint64_t now = dn_now_ms();
      if (now >= deadline) {
        wait = 0; /* a zero timeout still reads what already arrived */
        last_look = true;
      } else {
        wait = (int)(deadline - now);
      }
    }
    if (c->beat_period_ms && (wait < 0 || (uint64_t)wait > c->beat_period_ms))
      wait = (int)c->beat_period_ms;
    if (!c->daemon_gone && pending_count(c) != c->pending_reported) {
      /* a stale queue length: wake up in time to correct it */
      uint64_t since = dn_coarse_ms() - c->last_pending_ms;
      int until = since >= 1000 ? 0 : (int)(1000 - since);
      if (wait < 0 || until < wait) wait = until;
    }
    int drops_due = dn_drops_wait_ms(c); /* wake up in time to report missed messages */
    if (drops_due >= 0 && (wait < 0 || drops_due < wait)) wait = drops_due;
    if (next_deadline) {
      uint64_t now = dn_now_ms();
      int until = next_deadline > now ? (int)(next_deadline - now) : 0;
      if (wait < 0 || until < wait) wait = until;
    }
    /* the caller's timeout and input timeouts are kept to the ms; the rest is housekeeping */
    pump(c, wait, timeout_ms < 0 && !next_deadline);
  }
}

DN_RECV void *dora_next_event(void *dora_context) {
  void *event = NULL;
  dora_next_event_timeout(dora_context, -1, &event);
  return event;
}

DN_RECV void free_dora_event(void *dora_event) { dn_event_free(dora_event); }

/* ---- reading events ------------------------------------------------------------------- */

DN_RECV enum DoraEventType read_dora_event_type(void *dora_event) {
  const dn_event *e = dora_event;
  if (!e) {
    dn_fail("dora_event is NULL");
    return DoraEventType_Unknown;
  }
  switch (e->kind) {
    case EV_INPUT: return DoraEventType_Input;
    case EV_INPUT_CLOSED: return DoraEventType_InputClosed;
    case EV_STOP: return DoraEventType_Stop;
    case EV_ERROR: return DoraEventType_Error;
    default: return DoraEventType_Unknown;
  }
}

const char *dora_event_type_name(const void *dora_event) {
  const dn_event *e = dora_event;
  if (!e) return "";
  switch (e->kind) {
    case EV_INPUT: return "INPUT";
    case EV_INPUT_CLOSED: return "INPUT_CLOSED";
    case EV_STOP: return "STOP";
    case EV_ERROR: return "ERROR";
    case EV_NODE_RESTARTED: return "NODE_RESTARTED";
    case EV_NODE_FAILED: return "NODE_FAILED";
    case EV_INPUT_RECOVERED: return "INPUT_RECOVERED";
    case EV_PARAM_UPDATE: return "PARAM_UPDATE";
    case EV_PARAM_DELETED: return "PARAM_DELETED";
    case EV_RELOAD: return "RELOAD";
  }
  return "";
}

DN_RECV void read_dora_input_id(void *dora_event, char **out_ptr, size_t *out_len) {
  const dn_event *e = dora_event;
  if (!out_ptr || !out_len) {
    dn_fail("out_ptr or out_len is NULL");
    return;
  }
  *out_ptr = NULL;
  *out_len = 0;
  if (!e) return;
  if (e->kind == EV_INPUT || e->kind == EV_INPUT_CLOSED || e->kind == EV_INPUT_RECOVERED) {
    *out_ptr = e->id;
    *out_len = e->id_len;
  }
}

DN_RECV void read_dora_input_data(void *dora_event, char **out_ptr, size_t *out_len) {
  const dn_event *e = dora_event;
  if (!out_ptr || !out_len) {
    dn_fail("out_ptr or out_len is NULL");
    return;
  }
  *out_ptr = NULL;
  *out_len = 0;
  if (!e || e->kind != EV_INPUT) return;
  if (e->pl == PL_RAW) {
    *out_ptr = (char *)e->data;
    *out_len = e->data_len;
  } else if (e->pl == PL_BUFFERS && e->type.id == DN_T_INT && e->type.bits == 8 &&
             !e->type.is_signed && e->n_layout == 5) {
    /* a UInt8 array sent as buffers: its values, if it has no nulls */
    size_t at = 0;
    if (e->layout[3] >= 0) {
      int64_t nulls = 0;
      for (int64_t i = e->layout[2]; i < e->layout[2] + e->layout[0]; i++)
        nulls += !((e->data[i >> 3] >> (i & 7)) & 1);
      if (nulls) return;
      at = ((size_t)e->layout[3] + 7) / 8 * 8;
    }
    *out_ptr = (char *)e->data + at + (size_t)e->layout[2];
    *out_len = (size_t)e->layout[0];
  } else if (e->pl == PL_IPC) {
    dn_fail("input `%s` carries a nested or dictionary Arrow type", e->id ? e->id : "?");
  }
}

uint64_t dora_event_timestamp_ns(const void *dora_event) {
  const dn_event *e = dora_event;
  return e && e->kind == EV_INPUT ? e->ts_ns : 0;
}

unsigned long long read_dora_input_timestamp(void *dora_event) {
  uint64_t ns = dora_event_timestamp_ns(dora_event);
  if (!ns) return 0;
  uint64_t secs = ns / 1000000000u, rest = ns % 1000000000u;
  uint64_t frac = (rest << 32) / 1000000000u;
  return (unsigned long long)(secs << 32 | frac);
}

void dora_event_text(const void *dora_event, const char **out_ptr, size_t *out_len) {
  const dn_event *e = dora_event;
  if (!out_ptr || !out_len) {
    dn_fail("out_ptr or out_len is NULL");
    return;
  }
  *out_ptr = e ? e->text : NULL;
  *out_len = e && e->text ? e->text_len : 0;
}

void dora_event_param_json(const void *dora_event, const char **out_ptr, size_t *out_len) {
  const dn_event *e = dora_event;
  if (!out_ptr || !out_len) {
    dn_fail("out_ptr or out_len is NULL");
    return;
  }
  *out_ptr = e ? e->json : NULL;
  *out_len = e && e->json ? e->json_len : 0;
}

/* ---- the node ------------------------------------------------------------------------- */

const char *dora_dataflow_id(const void *dora_context) {
  return dora_context ? ((const dn_ctx *)dora_context)->cfg.dataflow_id : NULL;
}

const char *dora_node_id(const void *dora_context) {
  return dora_context ? ((const dn_ctx *)dora_context)->cfg.node_id : NULL;
}

unsigned int dora_restart_count(const void *dora_context) {
  return dora_context ? ((const dn_ctx *)dora_context)->cfg.restart_count : 0;
}

/* ---- sending ------------------------------------------------------------------------- */

DN_SEND static long open_output(dn_ctx *c, const char *id, size_t len) {
  if (!c) return dn_fail("dora_context is NULL");
  if (!id) return dn_fail("the output id is NULL");
  long o = dn_output_index(c, id, len);
  if (o < 0)
    return dn_fail("output `%.*s` is not declared in the dataflow", (int)(len > 200 ? 200 : len), id);
  if (!c->output_open[o])
    return dn_fail("output `%.*s` was closed", (int)(len > 200 ? 200 : len), id);
  return o;
}

/* Starts a code cache line, whatever the size of the send-path functions placed before it
 * (open_output's lookup moving it off a line boundary cost the send path 2 more lines per
 * message, bench/c_footprint.py). */
DN_SEND __attribute__((aligned(64))) int dora_send_output_with_params(
    void *dora_context, const char *id_ptr, size_t id_len, const char *data_ptr, size_t data_len,
    const DoraParam *params, size_t n_params) {
  dn_ctx *c = dora_context;
  long o = open_output(c, id_ptr, id_len);
  if (o < 0) return DORA_ERROR;
  if (!data_ptr && data_len) return dn_fail("data is NULL but data_len is %zu", data_len);
  if (data_len > (size_t)INT64_MAX) return dn_fail("data_len is too large");
  if (dn_params_check(params, n_params)) return DORA_ERROR;
  dn_daemon_beat(c);
  dn_part part = {data_ptr ? data_ptr : "", data_len};
  return dn_sender_send(c, (size_t)o, "raw", NULL, NULL, 0, &part, 1, params, n_params);
}

DN_SEND int dora_send_output(void *dora_context, const char *id_ptr, size_t id_len, const char *data_ptr,
                     size_t data_len) {
  return dora_send_output_with_params(dora_context, id_ptr, id_len, data_ptr, data_len, NULL, 0);
}

int dora_send_output_arrow(void *dora_context, const char *id_ptr, size_t id_len,
                           const struct ArrowArray *array, const struct ArrowSchema *schema,
                           const DoraParam *params, size_t n_params) {
  dn_ctx *c = dora_context;
  long o = open_output(c, id_ptr, id_len);
  if (o < 0) return DORA_ERROR;
  if (dn_params_check(params, n_params)) return DORA_ERROR;
  dn_type t;
  int64_t layout[6];
  size_t n_layout, n_parts;
  dn_part parts[6];
  if (dn_arrow_parts(array, schema, &t, layout, &n_layout, parts, &n_parts)) return DORA_ERROR;
  if (t.id == DN_T_TIMESTAMP && t.tz[0] && strcmp(t.tz, "UTC") != 0)
    return dn_fail("cannot send Arrow type %s from C: timestamps are supported without a time "
                   "zone or with tz=UTC only",
                   t.name);
  dn_daemon_beat(c);
  return dn_sender_send(c, (size_t)o, "buffers", &t, layout, n_layout, parts, n_parts, params,
                        n_params);
}

void *dora_alloc_sample(void *dora_context, size_t len, uint8_t **data_out) {
  dn_ctx *c = dora_context;
  if (data_out) *data_out = NULL;
  if (!c || !data_out) {
    dn_fail("dora_context or data_out is NULL");
    return NULL;
  }
  if (len > DN_MAX_MESSAGE) {
    dn_fail("a sample of %zu bytes is over the %u-byte limit", len, DN_MAX_MESSAGE);
    return NULL;
  }
  dn_sample *s = calloc(1, sizeof *s);
  if (!s) {
    dn_fail("out of memory");
    return NULL;
  }
  s->len = len;
  if (len >= c->cfg.threshold) {
    size_t offset;
    dn_sender_drain(c); /* released rooms first: a send-only loop reuses them */
    if (dn_pool_acquire(&c->pool, len, true, &s->seg, &offset)) {
      free(s);
      return NULL;
    }
    *data_out = s->seg->mem;
  } else {
    s->heap = malloc(len ? len : 1);
    if (!s->heap) {
      free(s);
      dn_fail("out of memory");
      return NULL;
    }
    *data_out = s->heap;
  }
  return s;
}

void dora_free_sample(void *dora_context, void *sample) {
  dn_ctx *c = dora_context;
  dn_sample *s = sample;
  if (!s) return;
  if (s->seg && c) dn_sender_discard(c, s->seg, 0);
  free(s->heap);
  free(s);
}

int dora_send_sample(void *dora_context, const char *id_ptr, size_t id_len, void *sample,
                     const DoraParam *params, size_t n_params) {
  dn_ctx *c = dora_context;
  dn_sample *s = sample;
  if (!s) return dn_fail("sample is NULL");
  if (!c) return dn_fail("dora_context is NULL"); /* cannot free a segment without it */
  long o = open_output(c, id_ptr, id_len);
  int rc;
  if (o < 0 || dn_params_check(params, n_params)) {
    dora_free_sample(c, s);
    return DORA_ERROR;
  }
  if (s->seg) {
    rc = dn_sender_send_segment(c, (size_t)o, "raw", NULL, NULL, 0, s->seg, 0, s->len, params,
                                n_params);
  } else {
    dn_part part = {s->heap, s->len};
    rc = dn_sender_send(c, (size_t)o, "raw", NULL, NULL, 0, &part, 1, params, n_params);
    free(s->heap);
  }
  free(s);
  return rc;
}

int dora_close_outputs(void *dora_context, const char *const *ids, size_t n_ids) {
  dn_ctx *c = dora_context;
  if (!c) return dn_fail("dora_context is NULL");
  if (n_ids && !ids) return dn_fail("ids is NULL");
  size_t *closing = calloc(n_ids ? n_ids : 1, sizeof(size_t));
  if (!closing) return dn_fail("out of memory");
  size_t n = 0;
  int rc = DORA_OK;
  for (size_t i = 0; i < n_ids; i++) {
    long o = ids[i] ? dn_output_index(c, ids[i], strlen(ids[i])) : -1;
    if (o < 0 || !c->output_open[o]) {
      rc = dn_fail("`%s` is not an open output", ids[i] ? ids[i] : "(null)");
      continue;
    }
    c->output_open[o] = false;
    closing[n++] = (size_t)o;
  }
  if (n) {
    dn_sender_close_outputs(c, closing, n);
    dn_frame_begin(&c->frame);
    mp_w_array(&c->frame, 2);
    mp_w_cstr(&c->frame, "close_outputs");
    mp_w_array(&c->frame, (uint32_t)n);
    for (size_t i = 0; i < n; i++) mp_w_cstr(&c->frame, c->cfg.outputs[closing[i]]);
    if (dn_frame_end(&c->frame) == 0 && !c->daemon_gone) dn_daemon_send(c, &c->frame);
  }
  free(closing);
  return rc;
}

int dora_log(void *dora_context, const char *level_ptr, size_t level_len, const char *msg_ptr,
             size_t msg_len) {
  dn_ctx *c = dora_context;
  if (!c) return dn_fail("dora_context is NULL");
  if ((!level_ptr && level_len) || (!msg_ptr && msg_len)) return dn_fail("level or message is NULL");
  char level[16] = "";
  size_t n = level_len < sizeof level - 1 ? level_len : sizeof level - 1;
  for (size_t i = 0; i < n; i++) level[i] = (char)tolower((unsigned char)level_ptr[i]);
  level[n] = 0;
  const char *norm = "info";
  if (!strcmp(level, "error") || !strcmp(level, "critical") || !strcmp(level, "fatal")) norm = "error";
  else if (!strcmp(level, "warn") || !strcmp(level, "warning")) norm = "warn";
  else if (!strcmp(level, "debug")) norm = "debug";
  else if (!strcmp(level, "trace")) norm = "trace";
  dn_frame_begin(&c->frame);
  mp_w_array(&c->frame, 5);
  mp_w_cstr(&c->frame, "log");
  mp_w_cstr(&c->frame, norm);
  mp_w_str(&c->frame, msg_ptr ? msg_ptr : "", msg_len);
  mp_w_nil(&c->frame);
  mp_w_nil(&c->frame);
  if (dn_frame_end(&c->frame)) return DORA_ERROR;
  return dn_daemon_send(c, &c->frame);
}
