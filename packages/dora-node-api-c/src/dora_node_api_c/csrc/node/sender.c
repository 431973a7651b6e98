/* The sending side of the data plane: one connection per receiver node (shared by every
 * output routed to it, opened at start and reopened, rate-limited, when a receiver was
 * restarted), small payloads inline in the Data frame, large ones written once into a
 * pool segment whose fd goes to each receiver once (NewSegment + SCM_RIGHTS), and the
 * schema sent along only when an output's type changed on that connection. Release
 * frames from receivers free pool rooms; everything here runs on the context's thread. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "node.h"

#define RETRY_MS 100

DN_SEND uint64_t dn_clock_now(dn_ctx *c) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  /* strictly increasing, and after anything received: causality survives clock ties */
  if (now <= c->clock_last) now = c->clock_last + 1;
  c->clock_last = now;
  return now;
}

/* The start of every Data frame of `o`: the array header, the tag, the output name. */
static void write_head(dn_buf *b, const dn_out *o) {
  mp_w_array(b, 12);
  mp_w_str(b, "data", 4);
  mp_w_str(b, o->name, o->len);
}

/* Keeps that start in `o->head`, when its name fits, for encode_data(_plain) to copy. */
static void make_head(dn_out *o) {
  dn_buf b;
  dn_buf_init(&b, sizeof o->head);
  write_head(&b, o);
  if (!b.failed && b.len <= sizeof o->head) {
    memcpy(o->head, b.data, b.len);
    o->head_len = b.len;
  }
  dn_buf_free(&b);
}

void dn_sender_init(dn_ctx *c) {
  c->outs = calloc(c->cfg.n_outputs ? c->cfg.n_outputs : 1, sizeof *c->outs);
  c->peers = calloc(c->cfg.n_peers ? c->cfg.n_peers : 1, sizeof *c->peers);
  if (!c->peers || !c->outs) {
    free(c->peers);
    c->peers = NULL;
    return;
  }
  for (size_t i = 0; i < c->cfg.n_outputs; i++) {
    dn_out *o = &c->outs[i];
    o->name = c->cfg.outputs[i];
    o->len = strlen(o->name);
    o->route = dn_config_route(&c->cfg, o->name, o->len);
    make_head(o);
  }
  for (size_t i = 0; i < c->cfg.n_peers; i++) {
    dn_peer *p = &c->peers[i];
    p->cfg = &c->cfg.peers[i];
    p->index = (int)i;
    p->fd = -1;
    dn_reader_init(&p->rd, false);
  }
}

static int connect_peer(dn_ctx *c, dn_peer *p) {
  int fd = dn_connect(p->cfg->address, p->cfg->address_len);
  if (fd < 0) {
    p->next_retry_ms = dn_now_ms() + RETRY_MS;
    return -1;
  }
  dn_buf f;
  dn_buf_init(&f, 0);
  dn_frame_begin(&f);
  mp_w_array(&f, 5);
  mp_w_cstr(&f, "hello");
  mp_w_cstr(&f, c->cfg.dataflow_id);
  mp_w_cstr(&f, c->cfg.node_id);
  mp_w_cstr(&f, DN_PROTOCOL_VERSION);
  mp_w_cstr(&f, p->cfg->token ? p->cfg->token : ""); /* the link token for this receiver */
  int rc = dn_frame_end(&f) ? -1 : dn_write_all(fd, f.data, f.len, -1);
  dn_buf_free(&f);
  if (rc) {
    close(fd);
    p->next_retry_ms = dn_now_ms() + RETRY_MS;
    return -1;
  }
  p->fd = fd;
  dn_watch(c, fd, DN_WATCH_PEER); /* for its Release frames */
  dn_drops_resumed(c, p);         /* the end of an outage, if it missed anything */
  return 0;
}

void dn_sender_connect_all(dn_ctx *c) {
  for (size_t i = 0; i < c->cfg.n_peers; i++) connect_peer(c, &c->peers[i]);
}

/* Segments the pool gave up: tell the receivers that mapped them, then unmap. */
static void drop_segments(dn_ctx *c) {
  dn_pool *pool = &c->pool;
  while (pool->n_dropped) {
    dn_segment *s = pool->dropped[--pool->n_dropped];
    dn_buf f;
    dn_buf_init(&f, 0);
    dn_frame_begin(&f);
    mp_w_array(&f, 2);
    mp_w_cstr(&f, "drop_segment");
    mp_w_int(&f, s->id);
    dn_frame_end(&f);
    for (size_t i = 0; i < c->cfg.n_peers; i++) {
      dn_peer *p = &c->peers[i];
      for (size_t k = 0; k < p->n_segs; k++) {
        if (p->segs[k] != s->id) continue;
        p->segs[k] = p->segs[--p->n_segs];
        if (p->fd >= 0 && !f.failed) dn_write_all(p->fd, f.data, f.len, -1);
        break;
      }
    }
    dn_buf_free(&f);
    dn_segment_destroy(s);
  }
}

static void peer_lost(dn_ctx *c, dn_peer *p) {
  if (p->fd >= 0) close(p->fd);
  p->fd = -1;
  p->next_retry_ms = dn_now_ms() + RETRY_MS;
  p->rd.buf.len = 0;
  p->rd.pos = 0;
  p->n_segs = 0; /* a new connection announces every segment again */
  for (size_t i = 0; i < p->n_types; i++) free(p->types[i].output);
  p->n_types = 0;
  dn_pool_peer_gone(&c->pool, p->index); /* it holds nothing any more */
  drop_segments(c);
}

void dn_sender_readable(dn_ctx *c, dn_peer *p) {
  if (p->fd < 0) return;
  int alive = dn_reader_fill(&p->rd, p->fd);
  const uint8_t *body;
  uint32_t len;
  int got;
  while ((got = dn_reader_next(&p->rd, &body, &len)) == 1) {
    mp_rd r = {body, body + len};
    uint32_t n, count;
    const uint8_t *tag;
    uint32_t tag_len;
    if (mp_read_array(&r, &n) || n < 2 || mp_read_str(&r, &tag, &tag_len) || tag_len != 7 ||
        memcmp(tag, "release", 7) || mp_read_array(&r, &count)) {
      dn_log_stderr("bad frame from receiver `%s`: dropping its connection", p->cfg->node_id);
      alive = -1;
      break;
    }
    for (uint32_t i = 0; i < count; i++) {
      int64_t token;
      if (mp_read_int(&r, &token)) break;
      dn_pool_release(&c->pool, p->index, (uint64_t)token);
    }
  }
  if (got < 0) alive = -1;
  if (alive < 0) peer_lost(c, p);
  drop_segments(c);
}

static bool has_seg(const dn_peer *p, int64_t id) {
  for (size_t i = 0; i < p->n_segs; i++)
    if (p->segs[i] == id) return true;
  return false;
}

static int add_seg(dn_peer *p, int64_t id) {
  if (p->n_segs == p->cap_segs) {
    size_t cap = p->cap_segs ? p->cap_segs * 2 : 8;
    void *q = realloc(p->segs, cap * sizeof *p->segs);
    if (!q) return -1;
    p->segs = q;
    p->cap_segs = cap;
  }
  p->segs[p->n_segs++] = id;
  return 0;
}

/* Whether this connection last got the schema of `output` with this type. */
static bool type_known(const dn_peer *p, const char *output, const dn_type *t) {
  for (size_t i = 0; i < p->n_types; i++)
    if (!strcmp(p->types[i].output, output)) return !strcmp(p->types[i].format, t->format);
  return false;
}

static void remember_type(dn_peer *p, const char *output, const dn_type *t) {
  for (size_t i = 0; i < p->n_types; i++) {
    if (!strcmp(p->types[i].output, output)) {
      strcpy(p->types[i].format, t->format);
      return;
    }
  }
  if (p->n_types == p->cap_types) {
    size_t cap = p->cap_types ? p->cap_types * 2 : 4;
    void *q = realloc(p->types, cap * sizeof *p->types);
    if (!q) return;
    p->types = q;
    p->cap_types = cap;
  }
  p->types[p->n_types].output = strdup(output);
  if (!p->types[p->n_types].output) return;
  strcpy(p->types[p->n_types].format, t->format);
  p->n_types++;
}

/* The receivers of `output` that are connected now (reconnecting, rate-limited). */
DN_SEND static size_t live_peers(dn_ctx *c, size_t output, dn_peer **out) {
  const dn_route *route = c->outs[output].route;
  size_t n = 0;
  if (!route) return 0;
  uint64_t now = 0;
  for (size_t i = 0; i < route->n_peers; i++) {
    dn_peer *p = &c->peers[route->peers[i]];
    if (p->fd < 0 && !now) now = dn_now_ms();
    if (p->fd < 0 && now >= p->next_retry_ms) connect_peer(c, p);
    if (p->fd >= 0) out[n++] = p;
    else dn_drops_missed(c, p, output); /* counted, reported to the daemon (drops.c) */
  }
  return n;
}

/* One Data frame: [tag, output, ts, params, kind, schema, inline, segment, offset, length,
 * token, layout], as dora_message.data_protocol.Data encodes it. Out of the send path's
 * section: it runs for an output's first message of a type (with its schema), otherwise
 * only when encode_data_plain does not apply. */
__attribute__((noinline)) static void encode_data(dn_buf *f, const dn_out *o, uint64_t ts,
                                                  const DoraParam *params, size_t n_params,
                                                  const char *kind, const dn_type *schema_type,
                                                  const dn_part *parts, size_t n_parts,
                                                  size_t total, int64_t seg_id, size_t offset,
                                                  size_t length, uint64_t token,
                                                  const int64_t *layout, size_t n_layout) {
  dn_frame_begin(f);
  if (o->head_len)
    dn_buf_put(f, o->head, o->head_len);
  else
    write_head(f, o);
  mp_w_int(f, (int64_t)ts);
  dn_params_write(f, params, n_params);
  mp_w_cstr(f, kind);
  if (schema_type) {
    dn_buf schema;
    char err[200];
    dn_buf_init(&schema, 0);
    if (dn_schema_write(schema_type, &schema, err, sizeof err) == 0) mp_w_bin(f, schema.data, schema.len);
    else f->failed = 1;
    dn_buf_free(&schema);
  } else {
    mp_w_nil(f);
  }
  if (parts) {
    mp_w_bin_header(f, total);
    for (size_t i = 0; i < n_parts; i++) dn_buf_put(f, parts[i].ptr, parts[i].len);
  } else {
    mp_w_nil(f);
  }
  mp_w_int(f, seg_id);
  mp_w_int(f, (int64_t)offset);
  mp_w_int(f, (int64_t)length);
  mp_w_int(f, (int64_t)token);
  if (layout) {
    mp_w_array(f, (uint32_t)n_layout);
    for (size_t i = 0; i < n_layout; i++) mp_w_int(f, layout[i]);
  } else {
    mp_w_nil(f);
  }
  dn_frame_end(f);
}

/* One copy of the integer store, in the send path's section (an inline header function
 * left out of line would land in .text, a page of its own). */
DN_SEND __attribute__((noinline)) static uint8_t *put_int(uint8_t *w, int64_t v) {
  return mp_put_int(w, v);
}

/* Parameters encode_data_plain takes (more go through encode_data). */
#define PLAIN_MAX_PARAMS 8

/* encode_data for a frame without a schema (every message but an output's first of a
 * type): the whole frame's room is reserved once, the constant start is copied from
 * `o->head` and each field is stored straight, instead of one checked append call per
 * field. Returns -1, having written nothing that counts, when it does not apply or does
 * not fit; encode_data then encodes it (or says why it cannot). */
DN_SEND __attribute__((noinline)) static int encode_data_plain(
    dn_buf *f, const dn_out *o, uint64_t ts, const DoraParam *params, size_t n_params,
    const char *kind, const dn_part *parts, size_t n_parts, size_t total, int64_t seg_id,
    size_t offset, size_t length, uint64_t token, const int64_t *layout, size_t n_layout) {
  if (!o->head_len || n_params > PLAIN_MAX_PARAMS || n_layout > 64 || total > DN_MAX_FRAME)
    return -1;
  size_t key_len[PLAIN_MAX_PARAMS];
  size_t kind_len = dn_strlen(kind);
  /* frame length, head, ts, map header, kind, schema nil, payload, 4 ints, layout */
  size_t need = 4 + o->head_len + 9 + 5 + 5 + kind_len + 1 + 5 + total + 4 * 9 + 5 + 9 * n_layout;
  for (size_t i = 0; i < n_params; i++) {
    const DoraParam *p = &params[i];
    key_len[i] = dn_strlen(p->key);
    need += 5 + key_len[i] + 9;
    if (p->type == DoraParamType_String || p->type == DoraParamType_Bytes) {
      if (p->value.s.len > DN_MAX_FRAME) return -1;
      need += 5 + p->value.s.len;
    }
  }
  f->len = 0;
  f->failed = 0;
  if (need > f->limit || (need > f->cap && dn_buf_reserve(f, need))) return -1;
  uint8_t *w = f->data + 4;
  dn_copy(w, o->head, o->head_len);
  w += o->head_len;
  w = put_int(w, (int64_t)ts);
  w = mp_put_map_head(w, (uint32_t)n_params);
  for (size_t i = 0; i < n_params; i++) {
    const DoraParam *p = &params[i];
    w = mp_put_str_head(w, key_len[i]);
    dn_copy(w, p->key, key_len[i]);
    w += key_len[i];
    switch (p->type) {
      case DoraParamType_Bool: *w++ = p->value.b ? 0xc3 : 0xc2; break;
      case DoraParamType_Int: w = put_int(w, p->value.i); break;
      case DoraParamType_Float: {
        uint64_t u;
        memcpy(&u, &p->value.f, 8);
        w = mp_put_be(w, 0xcb, u, 8);
        break;
      }
      default: /* a string or bytes (dn_params_check refused anything else) */
        w = p->type == DoraParamType_String ? mp_put_str_head(w, p->value.s.len)
                                            : mp_put_bin_head(w, p->value.s.len);
        dn_copy(w, p->value.s.ptr, p->value.s.len);
        w += p->value.s.len;
    }
  }
  w = mp_put_str_head(w, kind_len);
  dn_copy(w, kind, kind_len);
  w += kind_len;
  *w++ = 0xc0; /* no schema */
  if (parts) {
    w = mp_put_bin_head(w, total);
    for (size_t i = 0; i < n_parts; i++) {
      dn_copy(w, parts[i].ptr, parts[i].len);
      w += parts[i].len;
    }
  } else {
    *w++ = 0xc0;
  }
  w = put_int(w, seg_id);
  w = put_int(w, (int64_t)offset);
  w = put_int(w, (int64_t)length);
  w = put_int(w, (int64_t)token);
  if (layout) {
    w = mp_put_array_head(w, (uint32_t)n_layout);
    for (size_t i = 0; i < n_layout; i++) w = put_int(w, layout[i]);
  } else {
    *w++ = 0xc0;
  }
  f->len = (size_t)(w - f->data);
  uint32_t body = (uint32_t)(f->len - 4);
  for (int i = 0; i < 4; i++) f->data[i] = (uint8_t)(body >> (8 * i));
  return 0;
}

/* Drains Release frames without blocking: a send-only loop must not grow its pool. */
DN_SEND void dn_sender_drain(dn_ctx *c) {
  if (!c->pool.n_busy) return;
  for (size_t i = 0; i < c->cfg.n_peers; i++)
    if (c->peers[i].fd >= 0) dn_sender_readable(c, &c->peers[i]);
}

/* Tells `p` about `seg`, its fd along, before its first message in that segment. Out of
 * the send path's section: once per segment and receiver. */
__attribute__((noinline)) static int announce_segment(dn_peer *p, const dn_segment *seg) {
  dn_buf a;
  dn_buf_init(&a, 0);
  dn_frame_begin(&a);
  mp_w_array(&a, 3);
  mp_w_cstr(&a, "segment");
  mp_w_int(&a, seg->id);
  mp_w_int(&a, (int64_t)seg->size);
  int rc = dn_frame_end(&a) || dn_write_all(p->fd, a.data, a.len, seg->fd) || add_seg(p, seg->id);
  dn_buf_free(&a);
  return rc;
}

/* A receiver's connection broke while sending `output` to it: the message counts as
 * missed (reported to the daemon) and the connection is reopened later. */
DN_COLD static void lost_while_sending(dn_ctx *c, dn_peer *p, size_t output, bool say) {
  if (say) dn_log_stderr("receiver `%s` went away", p->cfg->node_id);
  peer_lost(c, p);
  dn_drops_missed(c, p, output);
}

DN_SEND static int fan_out(dn_ctx *c, size_t output, dn_peer **peers, size_t n, const char *kind,
                   const dn_type *type, const int64_t *layout, size_t n_layout,
                   const dn_part *parts, size_t n_parts, size_t total, dn_segment *seg,
                   size_t offset, size_t length, uint64_t token, const DoraParam *params,
                   size_t n_params, uint64_t ts) {
  const char *name = c->cfg.outputs[output];
  bool plain_ready = false, described_ready = false;
  for (size_t i = 0; i < n; i++) {
    dn_peer *p = peers[i];
    bool describe = type && !type_known(p, name, type);
    dn_buf *f = describe ? &c->frame_schema : &c->frame;
    bool *ready = describe ? &described_ready : &plain_ready;
    if (!*ready) {
      int64_t seg_id = seg ? seg->id : -1;
      if (describe || encode_data_plain(f, &c->outs[output], ts, params, n_params, kind, parts,
                                        n_parts, total, seg_id, offset, length, token, layout,
                                        n_layout))
        encode_data(f, &c->outs[output], ts, params, n_params, kind, describe ? type : NULL,
                    parts, n_parts, total, seg_id, offset, length, token, layout, n_layout);
      if (f->failed) return dn_fail("cannot encode the message (too large or out of memory)");
      *ready = true;
    }
    if (seg && !has_seg(p, seg->id) && announce_segment(p, seg)) {
      lost_while_sending(c, p, output, false);
      continue;
    }
    if (dn_write_all(p->fd, f->data, f->len, -1)) {
      lost_while_sending(c, p, output, true);
      continue;
    }
    if (type) remember_type(p, name, type);
  }
  return 0;
}

int dn_sender_send_segment(dn_ctx *c, size_t output, const char *kind, const dn_type *type,
                           const int64_t *layout, size_t n_layout, dn_segment *seg, size_t offset,
                           size_t len, const DoraParam *params, size_t n_params) {
  dn_peer *peers[DN_MAX_PEERS];
  size_t n = live_peers(c, output, peers);
  uint64_t holders = 0;
  for (size_t i = 0; i < n; i++) holders |= 1ull << peers[i]->index;
  uint64_t token = dn_pool_publish(&c->pool, seg, offset, holders);
  int rc = 0;
  if (n)
    rc = fan_out(c, output, peers, n, kind, type, layout, n_layout, NULL, 0, 0, seg, offset, len,
                 token, params, n_params, dn_clock_now(c));
  if (rc) {
    for (size_t i = 0; i < n; i++) dn_pool_release(&c->pool, peers[i]->index, token);
  }
  drop_segments(c);
  return rc;
}

DN_SEND int dn_sender_send(dn_ctx *c, size_t output, const char *kind, const dn_type *type,
                   const int64_t *layout, size_t n_layout, const dn_part *parts, size_t n_parts,
                   const DoraParam *params, size_t n_params) {
  dn_sender_drain(c);
  size_t total = 0;
  for (size_t i = 0; i < n_parts; i++) total += parts[i].len;
  if (total > DN_MAX_MESSAGE)
    return dn_fail("a message of %zu bytes is over the %u-byte limit", total, DN_MAX_MESSAGE);
  if (total < c->cfg.threshold) {
    dn_peer *peers[DN_MAX_PEERS];
    size_t n = live_peers(c, output, peers);
    if (!n) return 0;
    return fan_out(c, output, peers, n, kind, type, layout, n_layout, parts, n_parts, total, NULL,
                   0, 0, 0, params, n_params, dn_clock_now(c));
  }
  const dn_route *route = c->outs[output].route;
  if (!route || !route->n_peers) return 0; /* nobody listens: nothing to copy */
  dn_segment *seg;
  size_t offset;
  if (dn_pool_acquire(&c->pool, total, false, &seg, &offset)) return -1;
  size_t at = offset;
  for (size_t i = 0; i < n_parts; i++) {
    if (parts[i].len) memcpy(seg->mem + at, parts[i].ptr, parts[i].len);
    at += parts[i].len;
  }
  return dn_sender_send_segment(c, output, kind, type, layout, n_layout, seg, offset, total,
                                params, n_params);
}

void dn_sender_discard(dn_ctx *c, dn_segment *seg, size_t offset) {
  dn_pool_discard(&c->pool, seg, offset);
  drop_segments(c);
}

void dn_sender_close_outputs(dn_ctx *c, const size_t *outputs, size_t n) {
  for (size_t pi = 0; pi < c->cfg.n_peers; pi++) {
    dn_peer *p = &c->peers[pi];
    dn_buf f;
    dn_buf_init(&f, 0);
    dn_frame_begin(&f);
    uint32_t count = 0;
    dn_buf list;
    dn_buf_init(&list, 0);
    for (size_t k = 0; k < n; k++) {
      const char *name = c->cfg.outputs[outputs[k]];
      const dn_route *route = dn_config_route(&c->cfg, name, strlen(name));
      if (!route) continue;
      for (size_t j = 0; j < route->n_peers; j++) {
        if (route->peers[j] == pi) {
          mp_w_cstr(&list, name);
          count++;
        }
      }
    }
    if (count && p->fd >= 0) {
      mp_w_array(&f, 3);
      mp_w_cstr(&f, "closed");
      mp_w_array(&f, count);
      dn_buf_put(&f, list.data, list.len);
      mp_w_bool(&f, c->stopping);
      if (dn_frame_end(&f) == 0 && dn_write_all(p->fd, f.data, f.len, -1)) peer_lost(c, p);
    }
    dn_buf_free(&list);
    dn_buf_free(&f);
  }
}

void dn_sender_close(dn_ctx *c) {
  if (c->peers) {
    for (size_t i = 0; i < c->cfg.n_peers; i++) {
      dn_peer *p = &c->peers[i];
      if (p->fd >= 0) close(p->fd);
      dn_reader_free(&p->rd);
      free(p->segs);
      for (size_t k = 0; k < p->n_types; k++) free(p->types[k].output);
      free(p->types);
    }
  }
  free(c->peers);
  c->peers = NULL;
  free(c->outs);
  c->outs = NULL;
  dn_pool_close(&c->pool);
}
