/* Data connections from sending nodes (dora_message.data_protocol): accept, check the
 * Hello, turn Data frames into input events (inline bytes are copied, shared-memory
 * payloads are mapped and referenced, never copied), apply Closed, and send Release
 * frames back when the last reference to a shared-memory message is gone.
 *
 * Closing rules (as dora/_receiver.py): a Closed frame closes its inputs right there,
 * behind the data before it; the daemon's InputClosed waits while a connection from that
 * producer is open, so its last data is never overtaken; EOF alone closes nothing. A bad
 * frame drops its connection and queues an ERROR event: the node goes on. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "node.h"

#define RELEASE_BATCH 64

long dn_input_index(const dn_ctx *c, const char *id, size_t len) {
  for (size_t i = 0; i < c->cfg.n_inputs; i++)
    if (strlen(c->cfg.inputs[i].id) == len && !memcmp(c->cfg.inputs[i].id, id, len))
      return (long)i;
  return -1;
}

DN_RECV static bool str_eq(const char *s, const uint8_t *p, size_t len) {
  return s && dn_str_eq(s, p, len);
}

/* ---- release path (any thread) ------------------------------------------------------ */

DN_RECV static void flush_locked(dn_inconn *conn) {
  if (!conn->n_pending) return;
  if (conn->release_fd >= 0) {
    dn_buf f;
    dn_buf_init(&f, 0);
    dn_frame_begin(&f);
    mp_w_array(&f, 2);
    mp_w_cstr(&f, "release");
    mp_w_array(&f, (uint32_t)conn->n_pending);
    for (size_t i = 0; i < conn->n_pending; i++) mp_w_int(&f, (int64_t)conn->pending[i]);
    if (dn_frame_end(&f) == 0) dn_write_all_nowait(conn->release_fd, f.data, f.len);
    dn_buf_free(&f);
  }
  conn->n_pending = 0;
}

void dn_inconn_release(dn_inconn *conn, uint64_t token) {
  pthread_mutex_lock(&conn->lock);
  if (conn->release_fd >= 0) {
    if (conn->n_pending == conn->cap_pending) {
      size_t cap = conn->cap_pending ? conn->cap_pending * 2 : 16;
      uint64_t *p = realloc(conn->pending, cap * sizeof *p);
      if (p) {
        conn->pending = p;
        conn->cap_pending = cap;
      }
    }
    if (conn->n_pending < conn->cap_pending) conn->pending[conn->n_pending++] = token;
    if (conn->n_pending >= RELEASE_BATCH) {
      flush_locked(conn);
    } else if (conn->ctx && atomic_load(&conn->ctx->blocked)) {
      /* the owner sleeps in poll(): wake it so that it sends the release soon */
      uint64_t one = 1;
      ssize_t rc = write(conn->ctx->wake_fd, &one, sizeof one);
      (void)rc;
    }
  }
  pthread_mutex_unlock(&conn->lock);
}

void dn_inconn_unref(dn_inconn *conn) {
  if (!conn || atomic_fetch_sub(&conn->refs, 1) != 1) return;
  pthread_mutex_destroy(&conn->lock);
  free(conn->pending);
  free(conn);
}

DN_RECV void dn_receiver_flush_all(dn_ctx *c) {
  for (size_t i = 0; i < c->n_in; i++) {
    dn_inconn *conn = c->in[i];
    pthread_mutex_lock(&conn->lock);
    flush_locked(conn);
    pthread_mutex_unlock(&conn->lock);
  }
}

/* ---- connections ------------------------------------------------------------------------- */

static void conn_teardown(dn_inconn *conn) {
  pthread_mutex_lock(&conn->lock);
  conn->release_fd = -1;
  conn->n_pending = 0;
  conn->ctx = NULL;
  pthread_mutex_unlock(&conn->lock);
  if (conn->fd >= 0) close(conn->fd);
  conn->fd = -1;
  conn->alive = false;
  dn_reader_free(&conn->rd);
  for (size_t i = 0; i < conn->n_maps; i++) dn_mapping_unref(conn->maps[i].map);
  free(conn->maps);
  conn->maps = NULL;
  conn->n_maps = 0;
  for (size_t i = 0; i < conn->n_schemas; i++) free(conn->schemas[i].output);
  free(conn->schemas);
  conn->schemas = NULL;
  conn->n_schemas = 0;
  free(conn->sender);
  conn->sender = NULL;
  free(conn->inputs);
  conn->inputs = NULL;
  conn->n_inputs = 0;
}

static bool has_conn(dn_ctx *c, const char *producer, size_t len) {
  for (size_t i = 0; i < c->n_in; i++)
    if (c->in[i]->alive && str_eq(c->in[i]->sender, (const uint8_t *)producer, len)) return true;
  return false;
}

DN_COLD static void drop_conn(dn_ctx *c, dn_inconn *conn) {
  char *sender = conn->sender; /* no longer counts as a connection of its producer */
  conn->sender = NULL;
  conn->alive = false;
  for (size_t i = 0; i < c->n_in; i++) {
    if (c->in[i] == conn) {
      c->in[i] = c->in[--c->n_in];
      break;
    }
  }
  conn_teardown(conn);
  dn_inconn_unref(conn);
  if (sender && !has_conn(c, sender, strlen(sender))) {
    /* the producer's last connection is gone: close what the daemon said was closed */
    for (size_t i = 0; i < c->n_deferred;) {
      if (!strcmp(c->deferred[i].producer, sender)) {
        dn_sched_close_input(&c->sched, c->deferred[i].input);
        free(c->deferred[i].producer);
        c->deferred[i] = c->deferred[--c->n_deferred];
      } else {
        i++;
      }
    }
  }
  free(sender);
}

/* Refused or broken connections are logged, but a flood of them must not flood the log:
 * the first ten, then every power of two. */
DN_COLD static void log_drop(const char *text) {
  static unsigned long count;
  count++;
  if (count <= 10 || (count & (count - 1)) == 0)
    dn_log_stderr("%s (%lu dropped so far)", text, count);
}

void dn_receiver_accept(dn_ctx *c) {
  for (;;) {
    /* blocking, so that a wait can sleep in recvmsg (dn_receiver_wait); every other read
     * and write on it passes MSG_DONTWAIT */
    int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        dn_log_stderr("accepting a data connection failed: %s", strerror(errno));
      return;
    }
    /* abstract sockets have no permissions: only our own user (and root when allowed)
     * may talk to us; anyone else is closed before a byte of theirs is read */
    struct ucred cred = {0, 0, 0};
    socklen_t cred_len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0 ||
        !(cred.uid == geteuid() || (c->cfg.allow_root_peers && cred.uid == 0))) {
      char text[160];
      snprintf(text, sizeof text, "refused a data connection: pid %ld runs as uid %ld, not %ld",
               (long)cred.pid, (long)cred.uid, (long)geteuid());
      close(fd);
      log_drop(text);
      continue;
    }
    dn_inconn *conn = calloc(1, sizeof *conn);
    dn_inconn **grown = NULL;
    if (conn && c->n_in == c->cap_in) {
      size_t cap = c->cap_in ? c->cap_in * 2 : 8;
      grown = realloc(c->in, cap * sizeof *grown);
      if (grown) {
        c->in = grown;
        c->cap_in = cap;
      }
    }
    if (!conn || c->n_in == c->cap_in) {
      free(conn);
      close(fd);
      dn_log_stderr("out of memory accepting a data connection");
      return;
    }
    atomic_init(&conn->refs, 1);
    conn->fd = conn->release_fd = fd;
    conn->alive = true;
    conn->ctx = c;
    pthread_mutex_init(&conn->lock, NULL);
    dn_reader_init(&conn->rd, true);
    c->in[c->n_in++] = conn;
    dn_watch(c, fd, DN_WATCH_IN);
    dn_receiver_readable(c, conn);
  }
}

/* ---- frames -------------------------------------------------------------------------- */

/* Constant time: how much of a token matched must not show in the time taken. */
static bool token_eq(const char *expected, const uint8_t *given, size_t len) {
  size_t n = expected ? strlen(expected) : 0;
  if (n == 0 || n != len) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < n; i++) diff |= (unsigned char)expected[i] ^ given[i];
  return diff == 0;
}

static const char *sender_token(const dn_ctx *c, const uint8_t *sender, size_t len) {
  for (size_t i = 0; i < c->cfg.n_senders; i++)
    if (str_eq(c->cfg.senders[i].node_id, sender, len)) return c->cfg.senders[i].token;
  return NULL;
}

DN_COLD static int on_hello(dn_ctx *c, dn_inconn *conn, mp_rd *r, char *err, size_t err_len) {
  const uint8_t *df, *sender, *version, *token = NULL;
  uint32_t df_len, sender_len, version_len, token_len = 0;
  if (conn->sender) return snprintf(err, err_len, "a second hello"), -1;
  if (mp_read_str(r, &df, &df_len) || mp_read_str(r, &sender, &sender_len) ||
      mp_read_str(r, &version, &version_len))
    return snprintf(err, err_len, "malformed hello"), -1;
  int quoted = sender_len > 80 ? 80 : (int)sender_len; /* what an error quotes of it */
  if (r->p < r->end && mp_read_str(r, &token, &token_len))
    return snprintf(err, err_len, "malformed hello"), -1;
  if (!str_eq(c->cfg.dataflow_id, df, df_len) ||
      !str_eq(DN_PROTOCOL_VERSION, version, version_len))
    return snprintf(err, err_len, "unexpected hello from `%.*s` (dataflow %.*s, protocol %.*s)",
                    quoted, (const char *)sender, (int)df_len, (const char *)df,
                    (int)version_len, (const char *)version),
           -1;
  r->p = r->end;
  /* the token is never quoted */
  if (!token || !token_eq(sender_token(c, sender, sender_len), token, token_len))
    return snprintf(err, err_len, "refused hello from `%.*s`: not a sender of this node, or a "
                    "wrong link token", quoted, (const char *)sender),
           -1;
  free(conn->sender);
  conn->sender = malloc(sender_len + 1);
  if (!conn->sender) return snprintf(err, err_len, "out of memory"), -1;
  memcpy(conn->sender, sender, sender_len);
  conn->sender[sender_len] = 0;
  free(conn->inputs);
  conn->inputs = calloc(c->cfg.n_inputs ? c->cfg.n_inputs : 1, sizeof *conn->inputs);
  if (!conn->inputs) return snprintf(err, err_len, "out of memory"), -1;
  conn->n_inputs = 0;
  for (size_t i = 0; i < c->cfg.n_inputs; i++) {
    if (strcmp(c->cfg.inputs[i].source_node, conn->sender)) continue;
    conn->inputs[conn->n_inputs++] = i; /* a Data frame looks only at these */
    /* a new connection from a producer whose inputs were closed: it was restarted */
    dn_sched_reopen_input(&c->sched, i);
  }
  return 0;
}

DN_COLD static int on_segment(dn_inconn *conn, mp_rd *r, char *err, size_t err_len) {
  int64_t id, size;
  if (mp_read_int(r, &id) || mp_read_int(r, &size) || size <= 0)
    return snprintf(err, err_len, "malformed segment frame"), -1;
  int fd = dn_reader_take_fd(&conn->rd);
  if (fd < 0) return snprintf(err, err_len, "segment %lld arrived without its fd", (long long)id), -1;
  if (conn->n_maps >= DN_MAX_SEGMENTS_PER_CONN) {
    close(fd);
    return snprintf(err, err_len, "more than %d shared-memory segments", DN_MAX_SEGMENTS_PER_CONN), -1;
  }
  dn_mapping *m = dn_mapping_open(fd, (size_t)size);
  if (!m) return snprintf(err, err_len, "%s", dora_last_error()), -1;
  for (size_t i = 0; i < conn->n_maps; i++) {
    if (conn->maps[i].id == id) { /* re-announced: the new one wins */
      dn_mapping_unref(conn->maps[i].map);
      conn->maps[i].map = m;
      return 0;
    }
  }
  if (conn->n_maps == conn->cap_maps) {
    size_t cap = conn->cap_maps ? conn->cap_maps * 2 : 8;
    void *p = realloc(conn->maps, cap * sizeof *conn->maps);
    if (!p) {
      dn_mapping_unref(m);
      return snprintf(err, err_len, "out of memory"), -1;
    }
    conn->maps = p;
    conn->cap_maps = cap;
  }
  conn->maps[conn->n_maps].id = id;
  conn->maps[conn->n_maps].map = m;
  conn->n_maps++;
  return 0;
}

DN_COLD static int on_drop_segment(dn_inconn *conn, mp_rd *r) {
  int64_t id;
  if (mp_read_int(r, &id)) return -1;
  for (size_t i = 0; i < conn->n_maps; i++) {
    if (conn->maps[i].id == id) {
      dn_mapping_unref(conn->maps[i].map); /* events over it keep their own reference */
      conn->maps[i] = conn->maps[--conn->n_maps];
      break;
    }
  }
  return 0;
}

static void close_routed(dn_ctx *c, dn_inconn *conn, const uint8_t *output, uint32_t len) {
  for (size_t i = 0; i < c->cfg.n_inputs; i++) {
    const dn_input_cfg *in = &c->cfg.inputs[i];
    if (strcmp(in->source_node, conn->sender) || !str_eq(in->source_output, output, len)) continue;
    dn_sched_close_input(&c->sched, i);
    for (size_t k = 0; k < c->n_deferred; k++) {
      if (c->deferred[k].input == i) {
        free(c->deferred[k].producer);
        c->deferred[k] = c->deferred[--c->n_deferred];
        break;
      }
    }
  }
}

DN_COLD static int on_closed(dn_ctx *c, dn_inconn *conn, mp_rd *r) {
  uint32_t n;
  if (!conn->sender || mp_read_array(r, &n)) return -1;
  mp_rd list = *r;
  for (uint32_t i = 0; i < n; i++)
    if (mp_skip(r)) return -1;
  bool stopping = false;
  if (r->p < r->end && mp_read_bool(r, &stopping)) return -1;
  if (stopping) {
    /* the dataflow is stopping: take the STOP now, whichever message comes first */
    dn_event *e = dn_event_new(EV_STOP);
    if (e && dn_event_set_text(e, "MANUAL", 6) == 0) dn_sched_push_event(&c->sched, e);
    else dn_event_free(e);
  }
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *out;
    uint32_t len;
    if (mp_read_str(&list, &out, &len)) return -1;
    close_routed(c, conn, out, len);
  }
  return 0;
}

static const dn_type *cached_schema(dn_inconn *conn, const uint8_t *out, uint32_t len) {
  for (size_t i = 0; i < conn->n_schemas; i++)
    if (str_eq(conn->schemas[i].output, out, len)) return &conn->schemas[i].type;
  return NULL;
}

DN_COLD static int cache_schema(dn_inconn *conn, const uint8_t *out, uint32_t len, const dn_type *t) {
  for (size_t i = 0; i < conn->n_schemas; i++) {
    if (str_eq(conn->schemas[i].output, out, len)) {
      conn->schemas[i].type = *t;
      return 0;
    }
  }
  if (conn->n_schemas >= 1024) return -1; /* a peer cannot grow this without bound */
  if (conn->n_schemas == conn->cap_schemas) {
    size_t cap = conn->cap_schemas ? conn->cap_schemas * 2 : 4;
    void *p = realloc(conn->schemas, cap * sizeof *conn->schemas);
    if (!p) return -1;
    conn->schemas = p;
    conn->cap_schemas = cap;
  }
  char *name = malloc(len + 1);
  if (!name) return -1;
  memcpy(name, out, len);
  name[len] = 0;
  conn->schemas[conn->n_schemas].output = name;
  conn->schemas[conn->n_schemas].type = *t;
  conn->n_schemas++;
  return 0;
}

/* Checks that a `buffers` layout fits the message and the type, so that the arrays built
 * over it can be read without going out of bounds. */
DN_COLD static int check_layout(const dn_type *t, const int64_t *layout, size_t n, size_t data_len,
                        char *err, size_t err_len) {
  int want = dn_type_ipc_buffers(t);
  if (n != (size_t)(3 + want)) return snprintf(err, err_len, "layout has %zu entries for %s", n, t->name), -1;
  int64_t length = layout[0], offset = layout[2];
  if (length < 0 || offset < 0 || length > INT64_MAX / 2 - offset)
    return snprintf(err, err_len, "bad length/offset in layout"), -1;
  uint64_t pos = 0;
  for (size_t i = 3; i < n; i++) {
    if (layout[i] < -1) return snprintf(err, err_len, "bad buffer size in layout"), -1;
    if (layout[i] < 0) continue;
    pos += (uint64_t)layout[i];
    if (pos > data_len) return snprintf(err, err_len, "buffers do not fit the payload"), -1;
    pos += (8 - pos % 8) % 8;
  }
  uint64_t end = (uint64_t)(length + offset);
  if (t->id == DN_T_NULL) return 0;
  if (layout[3] >= 0 && (uint64_t)layout[3] * 8 < end)
    return snprintf(err, err_len, "validity buffer too small"), -1;
  int bits = dn_type_value_bits(t);
  if (bits) {
    if (layout[4] < 0 || (uint64_t)layout[4] * 8 < end * (uint64_t)bits)
      return snprintf(err, err_len, "values buffer too small for %lld %s", (long long)length, t->name), -1;
    return 0;
  }
  int ob = dn_type_offset_bytes(t);
  if (ob) {
    if (layout[4] < 0 || (uint64_t)layout[4] < (end + 1) * (uint64_t)ob || layout[5] < 0)
      return snprintf(err, err_len, "offsets buffer too small"), -1;
  }
  return 0;
}

/* Offsets must be monotonic and stay inside the data buffer. */
DN_COLD static int check_offsets(const dn_event *e) {
  int ob = dn_type_offset_bytes(&e->type);
  if (!ob) return 0;
  const uint8_t *p = e->data;
  size_t at = 0;
  if (e->layout[3] >= 0) at += ((size_t)e->layout[3] + 7) / 8 * 8;
  const uint8_t *offs = p + at;
  size_t data_size = (size_t)e->layout[5];
  int64_t first = e->layout[2], count = e->layout[0] + 1;
  int64_t prev = INT64_MIN;
  for (int64_t i = 0; i < count; i++) {
    int64_t v;
    if (ob == 4) {
      int32_t x;
      memcpy(&x, offs + (size_t)(first + i) * 4, 4);
      v = x;
    } else {
      memcpy(&v, offs + (size_t)(first + i) * 8, 8);
    }
    if (v < 0 || (uint64_t)v > data_size || v < prev) return -1;
    prev = v;
  }
  return 0;
}

/* The parameters the queues act on, in one pass: correlated messages (request_id, goal_id,
 * goal_status) are evicted last; flush=true drops the input's older messages (the last
 * `flush` wins, as dn_event_param reads it). */
DN_RECV static void queue_rules(dn_event *e) {
  const dn_param *flush = NULL;
  for (size_t i = 0; i < e->n_params; i++) {
    const char *key = e->params[i].key;
    if (dn_cstr_eq(key, "request_id") || dn_cstr_eq(key, "goal_id") ||
        dn_cstr_eq(key, "goal_status"))
      e->protected_ = true;
    else if (dn_cstr_eq(key, "flush"))
      flush = &e->params[i];
  }
  e->flush = flush && flush->type == DoraParamType_Bool && flush->b;
}

DN_COLD static void push_error(dn_ctx *c, const char *text) {
  dn_event *e = dn_event_new(EV_ERROR);
  if (e && dn_event_set_text(e, text, strlen(text)) == 0) dn_sched_push_event(&c->sched, e);
  else dn_event_free(e);
}

DN_RECV static int on_data(dn_ctx *c, dn_inconn *conn, mp_rd *r, char *err, size_t err_len) {
  const uint8_t *output, *kind, *schema = NULL, *inl = NULL, *params;
  uint32_t output_len, kind_len, schema_len = 0, inline_len = 0;
  int64_t ts, segment_id = -1, offset = 0, length = 0, token = 0;
  int64_t *layout = NULL;
  uint32_t n_layout = 0;
  bool nil;
  dn_payload *payload = NULL;
  dn_event *first = NULL; /* the first input's event, holding the payload (one malloc) */
  bool first_taken = false;
  if (mp_read_str(r, &output, &output_len) || mp_read_int(r, &ts)) goto malformed;
  params = r->p;
  if (mp_skip(r)) goto malformed;
  size_t params_len = (size_t)(r->p - params);
  if (mp_read_str(r, &kind, &kind_len)) goto malformed;
  if (r->p < r->end && mp_read_bin_or_nil(r, &schema, &schema_len)) goto malformed;
  if (r->p < r->end && mp_read_bin_or_nil(r, &inl, &inline_len)) goto malformed;
  if (r->p < r->end && mp_read_int(r, &segment_id)) goto malformed;
  if (r->p < r->end && mp_read_int(r, &offset)) goto malformed;
  if (r->p < r->end && mp_read_int(r, &length)) goto malformed;
  if (r->p < r->end && mp_read_int(r, &token)) goto malformed;
  if (r->p < r->end) {
    if (mp_read_array_or_nil(r, &n_layout, &nil) || n_layout > 64) goto malformed;
    if (n_layout) {
      layout = calloc(n_layout, sizeof *layout);
      if (!layout) goto malformed;
      for (uint32_t i = 0; i < n_layout; i++)
        if (mp_read_int(r, &layout[i])) goto malformed;
    }
  }
  if (!conn->sender) {
    snprintf(err, err_len, "data before hello");
    goto fail;
  }
  if ((uint64_t)ts > c->clock_last) c->clock_last = (uint64_t)ts;
  const uint8_t *bytes = inl;
  size_t bytes_len = inline_len;
  char problem[200];
  problem[0] = 0;
  size_t params_room = 0;
  if (params_len > 1 && dn_params_room(params, params_len, &params_room)) goto malformed;
  const char *first_id = "";
  for (size_t k = 0; k < conn->n_inputs; k++) {
    const dn_input_cfg *in = &c->cfg.inputs[conn->inputs[k]];
    if (str_eq(in->source_output, output, output_len)) {
      first_id = in->id;
      break;
    }
  }
  uint8_t *room;
  first = dn_event_new_message(first_id, dn_strlen(first_id), segment_id >= 0 ? NULL : inl,
                               inline_len, params_room, &room);
  if (!first) goto oom;
  payload = first->payload;
  if (segment_id >= 0) {
    dn_mapping *m = NULL;
    for (size_t i = 0; i < conn->n_maps; i++)
      if (conn->maps[i].id == segment_id) m = conn->maps[i].map;
    /* from here the message is released when its last reference goes */
    payload->conn = conn;
    atomic_fetch_add(&conn->refs, 1);
    payload->token = (uint64_t)token;
    payload->has_token = true;
    atomic_fetch_add(&conn->held, 1);
    if (!m) {
      snprintf(err, err_len, "unknown shared-memory segment %lld", (long long)segment_id);
      goto fail;
    }
    if (offset < 0 || length < 0 || (uint64_t)offset + (uint64_t)length > m->size) {
      /* that message is lost (an ERROR event), the connection stays */
      snprintf(problem, sizeof problem, "the message lies outside its shared-memory segment");
      bytes = NULL;
      bytes_len = 0;
    } else {
      dn_mapping_ref(m);
      payload->map = m;
      bytes = m->addr + offset;
      bytes_len = (size_t)length;
    }
  } else if (inl) {
    bytes = payload->owned;
  }
  dn_pl_kind pl;
  if (str_eq("raw", kind, kind_len)) pl = PL_RAW;
  else if (str_eq("buffers", kind, kind_len)) pl = PL_BUFFERS;
  else if (str_eq("ipc", kind, kind_len)) pl = PL_IPC;
  else pl = PL_EMPTY;

  dn_type type;
  bool has_type = false;
  if (schema) {
    char perr[160];
    if (dn_schema_parse(schema, schema_len, &type, perr, sizeof perr)) {
      snprintf(err, err_len, "%s", perr);
      goto fail;
    }
    if (cache_schema(conn, output, output_len, &type)) goto oom;
  }
  if (pl == PL_BUFFERS || (pl == PL_IPC && segment_id < 0)) {
    const dn_type *cached = cached_schema(conn, output, output_len);
    if (cached) {
      type = *cached;
      has_type = true;
    }
  }
  if (problem[0]) {
    /* already decided */
  } else if (pl == PL_BUFFERS) {
    if (!has_type) snprintf(problem, sizeof problem, "message has no type");
    else if (!layout) snprintf(problem, sizeof problem, "message has no layout");
    else check_layout(&type, layout, n_layout, bytes_len, problem, sizeof problem);
  }
  for (size_t k = 0; k < conn->n_inputs; k++) {
    size_t i = conn->inputs[k];
    const dn_input_cfg *in = &c->cfg.inputs[i];
    if (!str_eq(in->source_output, output, output_len)) continue;
    if (problem[0]) {
      char text[320];
      snprintf(text, sizeof text, "failed to read input `%s`: %s", in->id, problem);
      push_error(c, text);
      continue;
    }
    dn_event *e;
    if (!first_taken) {
      e = first; /* from here the event's fate decides the allocation's */
      first_taken = true;
    } else {
      e = dn_event_new_input(in->id, dn_strlen(in->id));
      if (!e) goto oom;
      dn_payload_ref(payload);
      e->payload = payload;
    }
    e->ts_ns = (uint64_t)ts;
    e->pl = pl;
    e->data = bytes;
    e->data_len = bytes ? bytes_len : 0;
    if (has_type) e->type = type;
    e->has_type = has_type;
    if (params_room && (e == first ? dn_event_index_params(e, params, params_len, room)
                                   : dn_event_set_params(e, params, params_len))) {
      dn_event_free(e);
      goto oom;
    }
    if (e->n_params) queue_rules(e);
    if (layout) {
      e->layout = malloc(n_layout * sizeof *layout);
      if (!e->layout) {
        dn_event_free(e);
        goto oom;
      }
      memcpy(e->layout, layout, n_layout * sizeof *layout);
      e->n_layout = n_layout;
      if (check_offsets(e)) {
        dn_event_free(e);
        char text[320];
        snprintf(text, sizeof text, "failed to read input `%s`: bad offsets", in->id);
        push_error(c, text);
        continue;
      }
    }
    dn_sched_push_input(&c->sched, i, e);
  }
  if (!first_taken) dn_event_free(first); /* no input took it: released right away */
  free(layout);
  return 0;
oom:
  snprintf(err, err_len, "out of memory");
  goto fail;
malformed:
  snprintf(err, err_len, "malformed data frame");
fail:
  if (!first_taken) dn_event_free(first);
  free(layout);
  return -1;
}

DN_RECV static int handle_frame(dn_ctx *c, dn_inconn *conn, const uint8_t *body, uint32_t len, char *err,
                        size_t err_len) {
  mp_rd r = {body, body + len};
  uint32_t n;
  const uint8_t *tag;
  uint32_t tag_len;
  if (mp_read_array(&r, &n) || n < 1 || mp_read_str(&r, &tag, &tag_len))
    return snprintf(err, err_len, "malformed frame"), -1;
  /* data first: the one frame of every message (on_data refuses it before a hello) */
  if (str_eq("data", tag, tag_len)) return on_data(c, conn, &r, err, err_len);
  if (str_eq("hello", tag, tag_len)) return on_hello(c, conn, &r, err, err_len);
  /* nothing counts before an accepted hello: no data, no descriptors, no stop */
  if (!conn->sender)
    return snprintf(err, err_len, "%.*s before hello", (int)(tag_len > 40 ? 40 : tag_len),
                    (const char *)tag),
           -1;
  if (str_eq("segment", tag, tag_len)) return on_segment(conn, &r, err, err_len);
  if (str_eq("drop_segment", tag, tag_len))
    return on_drop_segment(conn, &r) ? (snprintf(err, err_len, "malformed drop_segment"), -1) : 0;
  if (str_eq("closed", tag, tag_len))
    return on_closed(c, conn, &r) ? (snprintf(err, err_len, "malformed closed frame"), -1) : 0;
  return snprintf(err, err_len, "unknown frame `%.*s`", (int)(tag_len > 40 ? 40 : tag_len),
                  (const char *)tag),
         -1;
}

/* Handles the frames a fill (`alive`: its result) completed. */
DN_RECV static void handle_read(dn_ctx *c, dn_inconn *conn, int alive) {
  const uint8_t *body;
  uint32_t len;
  int got;
  char err[256];
  err[0] = 0;
  if (alive < 0 && conn->rd.error) snprintf(err, sizeof err, "%s", conn->rd.error);
  while (!err[0] && (got = dn_reader_next(&conn->rd, &body, &len)) == 1) {
    if (handle_frame(c, conn, body, len, err, sizeof err)) alive = -1;
  }
  if (!err[0] && got < 0)
    snprintf(err, sizeof err, "frame over the %u-byte limit", DN_MAX_FRAME);
  /* every frame of the read was handled: a descriptor that no segment frame claimed */
  if (!err[0] && conn->rd.n_fds && conn->rd.pos == conn->rd.buf.len)
    snprintf(err, sizeof err, "a descriptor came with a frame that is not `segment`");
  if (err[0]) {
    char text[400];
    snprintf(text, sizeof text, "dropping the data connection from `%s`: %s",
             conn->sender ? conn->sender : "?", err);
    log_drop(text);
    push_error(c, text); /* the queue of such events is bounded (DN_CONTROL_QUEUE) */
    alive = -1;
  }
  if (alive < 0) drop_conn(c, conn);
}

DN_RECV void dn_receiver_readable(dn_ctx *c, dn_inconn *conn) {
  if (!conn->alive) return;
  handle_read(c, conn, dn_reader_fill(&conn->rd, conn->fd));
}

/* Sleeping in recvmsg on the data connection wakes faster than epoll_wait and then
 * recvmsg (measured ≈ 3-7 µs less per message at 100 Hz on a 2-core VM): the data is
 * copied on the way out of the wake-up. It is done only when nothing else needs the
 * wait: one data connection, no daemon-made inputs (timers, logs), no shared-memory
 * message of ours or of it that waits for a release (nothing for the wake-up eventfd),
 * and the wait is sliced (SO_RCVTIMEO) so that the daemon's messages and new
 * connections are looked at between slices. */
DN_RECV dn_inconn *dn_receiver_lone(const dn_ctx *c) {
  if (c->n_in != 1 || c->daemon_inputs || c->pool.n_busy) return NULL;
  dn_inconn *conn = c->in[0];
  if (!conn->alive || conn->fd < 0 || conn->rd.n_fds || atomic_load(&conn->held)) return NULL;
  return conn;
}

DN_RECV void dn_receiver_wait(dn_ctx *c, dn_inconn *conn, int slice_ms) {
  if (conn->rcvtimeo_ms != slice_ms) {
    struct timeval tv = {slice_ms / 1000, (slice_ms % 1000) * 1000};
    if (setsockopt(conn->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) return;
    conn->rcvtimeo_ms = slice_ms;
  }
  handle_read(c, conn, dn_reader_wait(&conn->rd, conn->fd));
}

void dn_receiver_input_closed(dn_ctx *c, const size_t *inputs, size_t n, const char *producer,
                              size_t producer_len) {
  /* a producer that connected, sent and exited may still wait in the backlog */
  dn_receiver_accept(c);
  bool open = has_conn(c, producer, producer_len);
  for (size_t i = 0; i < n; i++) {
    if (!open) {
      dn_sched_close_input(&c->sched, inputs[i]);
      continue;
    }
    bool known = false; /* the daemon may repeat itself: one entry per input */
    for (size_t k = 0; k < c->n_deferred; k++) known |= c->deferred[k].input == inputs[i];
    if (known) continue;
    if (c->n_deferred == c->cap_deferred) {
      size_t cap = c->cap_deferred ? c->cap_deferred * 2 : 8;
      void *p = realloc(c->deferred, cap * sizeof *c->deferred);
      if (!p) {
        dn_sched_close_input(&c->sched, inputs[i]);
        continue;
      }
      c->deferred = p;
      c->cap_deferred = cap;
    }
    char *name = malloc(producer_len + 1);
    if (!name) {
      dn_sched_close_input(&c->sched, inputs[i]);
      continue;
    }
    memcpy(name, producer, producer_len);
    name[producer_len] = 0;
    c->deferred[c->n_deferred].producer = name;
    c->deferred[c->n_deferred].input = inputs[i];
    c->n_deferred++;
  }
}

void dn_receiver_close_all(dn_ctx *c) {
  for (size_t i = 0; i < c->cfg.n_inputs; i++) {
    if (c->sched.inputs[i].state != 0) continue;
    const char *src = c->cfg.inputs[i].source_node;
    dn_receiver_input_closed(c, &i, 1, src, strlen(src));
  }
}

void dn_receiver_close(dn_ctx *c) {
  for (size_t i = 0; i < c->n_in; i++) {
    conn_teardown(c->in[i]);
    dn_inconn_unref(c->in[i]);
  }
  free(c->in);
  c->in = NULL;
  c->n_in = c->cap_in = 0;
  for (size_t i = 0; i < c->n_deferred; i++) free(c->deferred[i].producer);
  free(c->deferred);
  c->deferred = NULL;
  c->n_deferred = 0;
}
