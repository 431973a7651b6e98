/* The control connection to the daemon (dora_message.node_protocol): Register and
 * Subscribe at start-up (the Subscribe reply is the dataflow's start barrier), then
 * daemon messages become events. Messages are msgpack arrays whose first item is the
 * type tag. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node.h"

#define REGISTER_TIMEOUT_MS 30000

static bool tag_is(const uint8_t *tag, uint32_t len, const char *name) {
  return strlen(name) == len && memcmp(tag, name, len) == 0;
}

int dn_daemon_send(dn_ctx *c, dn_buf *frame) {
  if (c->daemon_fd < 0 || c->daemon_gone) return dn_fail("the daemon connection is closed");
  if (dn_write_all(c->daemon_fd, frame->data, frame->len, -1))
    return dn_fail("cannot write to the daemon");
  c->last_beat_ms = dn_now_ms(); /* any message counts as a sign of life */
  return 0;
}

/* Waits for the reply `tag`; other messages that arrive meanwhile are handled as usual
 * (the queues exist already). */
static int wait_reply(dn_ctx *c, const char *tag, int timeout_ms, mp_rd *out_rest,
                      dn_buf *keep) {
  uint64_t deadline = timeout_ms < 0 ? 0 : dn_now_ms() + (uint64_t)timeout_ms;
  for (;;) {
    const uint8_t *body;
    uint32_t len;
    int got;
    while ((got = dn_reader_next(&c->daemon_rd, &body, &len)) == 1) {
      mp_rd r = {body, body + len};
      uint32_t n;
      const uint8_t *t;
      uint32_t tl;
      if (mp_read_array(&r, &n) || n < 1 || mp_read_str(&r, &t, &tl)) continue;
      if (tag_is(t, tl, tag)) {
        /* copy: the reader's buffer moves on the next fill */
        keep->len = 0;
        dn_buf_put(keep, r.p, (size_t)(r.end - r.p));
        out_rest->p = keep->data;
        out_rest->end = keep->data + keep->len;
        return 0;
      }
      dn_daemon_handle(c, body, len);
    }
    if (got < 0) return dn_fail("the daemon sent a frame over the size limit");
    int wait = -1;
    if (deadline) {
      uint64_t now = dn_now_ms();
      if (now >= deadline) return dn_fail("the daemon did not answer `%s` in time", tag);
      wait = (int)(deadline - now);
    }
    struct pollfd pfd = {c->daemon_fd, POLLIN, 0};
    int rc = poll(&pfd, 1, wait);
    if (rc > 0 && dn_reader_fill(&c->daemon_rd, c->daemon_fd) < 0)
      return dn_fail("the daemon closed the connection during start-up");
  }
}

int dn_daemon_handshake(dn_ctx *c) {
  dn_buf *f = &c->frame;
  dn_buf keep;
  dn_buf_init(&keep, 0);
  dn_frame_begin(f);
  mp_w_array(f, 6);
  mp_w_cstr(f, "register");
  mp_w_cstr(f, c->cfg.dataflow_id);
  mp_w_cstr(f, c->cfg.node_id);
  mp_w_cstr(f, DN_PROTOCOL_VERSION);
  mp_w_int(f, (int64_t)getpid());
  mp_w_cstr(f, c->cfg.secret ? c->cfg.secret : "");
  mp_rd r;
  if (dn_frame_end(f) || dn_daemon_send(c, f) ||
      wait_reply(c, "register_reply", REGISTER_TIMEOUT_MS, &r, &keep))
    goto fail;
  const uint8_t *version, *error;
  uint32_t vlen, elen = 0;
  error = NULL;
  if (mp_read_str(&r, &version, &vlen)) {
    dn_fail("malformed register reply from the daemon");
    goto fail;
  }
  if (r.p < r.end && mp_read_str_or_nil(&r, &error, &elen)) error = NULL;
  if (!(vlen == strlen(DN_PROTOCOL_VERSION) && !memcmp(version, DN_PROTOCOL_VERSION, vlen))) {
    dn_fail("protocol version mismatch: this C node API speaks %s, the daemon speaks %.*s",
            DN_PROTOCOL_VERSION, (int)vlen, (const char *)version);
    goto fail;
  }
  if (error) {
    dn_fail("the daemon refused node `%s`: %.*s", c->cfg.node_id, (int)elen, (const char *)error);
    goto fail;
  }
  dn_frame_begin(f);
  mp_w_array(f, 1);
  mp_w_cstr(f, "subscribe");
  if (dn_frame_end(f) || dn_daemon_send(c, f) || wait_reply(c, "subscribe_reply", -1, &r, &keep))
    goto fail;
  if (r.p < r.end && mp_read_str_or_nil(&r, &error, &elen) == 0 && error) {
    dn_fail("the dataflow did not start: %.*s", (int)elen, (const char *)error);
    goto fail;
  }
  dn_buf_free(&keep);
  /* what came right behind the reply (a first tick, a stop) must not wait for the next
   * daemon message to be read */
  const uint8_t *body;
  uint32_t len;
  while (dn_reader_next(&c->daemon_rd, &body, &len) == 1) dn_daemon_handle(c, body, len);
  return 0;
fail:
  dn_buf_free(&keep);
  return -1;
}

void dn_daemon_send_beat(dn_ctx *c) {
  if (dn_now_ms() - c->last_beat_ms < c->beat_period_ms) return;
  dn_frame_begin(&c->frame);
  mp_w_array(&c->frame, 1);
  mp_w_cstr(&c->frame, "heartbeat");
  if (dn_frame_end(&c->frame) == 0) dn_daemon_send(c, &c->frame);
}

static void push_simple(dn_ctx *c, dn_ev_kind kind, const uint8_t *id, uint32_t id_len,
                        const uint8_t *text, uint32_t text_len) {
  dn_event *e = dn_event_new(kind);
  if (!e) return;
  if ((id && dn_event_set_id(e, id, id_len)) || (text && dn_event_set_text(e, text, text_len))) {
    dn_event_free(e);
    return;
  }
  dn_sched_push_event(&c->sched, e);
}

/* A list of input ids: their indices (unknown ids are skipped). */
static int read_inputs(dn_ctx *c, mp_rd *r, size_t **out, size_t *n_out) {
  uint32_t n;
  *out = NULL;
  *n_out = 0;
  if (mp_read_array(r, &n) || n > (uint32_t)(r->end - r->p)) return -1;
  *out = calloc(n ? n : 1, sizeof(size_t));
  if (!*out) return -1;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *id;
    uint32_t len;
    if (mp_read_str(r, &id, &len)) return -1;
    long idx = dn_input_index(c, (const char *)id, len);
    if (idx >= 0) (*out)[(*n_out)++] = (size_t)idx;
  }
  return 0;
}

static void on_tick_or_text(dn_ctx *c, mp_rd *r, bool text) {
  size_t *inputs, n;
  const uint8_t *str = NULL, *params = NULL;
  uint32_t str_len = 0;
  int64_t ts;
  if (read_inputs(c, r, &inputs, &n)) goto bad;
  if (text && mp_read_str(r, &str, &str_len)) goto bad;
  if (mp_read_int(r, &ts)) goto bad;
  size_t params_len = 0;
  if (text && r->p < r->end) {
    params = r->p;
    if (mp_skip(r)) goto bad;
    params_len = (size_t)(r->p - params);
  }
  size_t params_room = 0;
  if (params && dn_params_room(params, params_len, &params_room)) goto bad;
  if ((uint64_t)ts > c->clock_last) c->clock_last = (uint64_t)ts;
  for (size_t i = 0; i < n; i++) {
    const char *id = c->cfg.inputs[inputs[i]].id;
    dn_event *e;
    if (text) {
      /* a copy of the text per input, in the event's one allocation (as the receiver's) */
      uint8_t *room;
      e = dn_event_new_message(id, strlen(id), str, str_len, params_room, &room);
      if (!e) break;
      e->data = e->payload->owned;
      e->data_len = str_len;
      if (params_room && dn_event_index_params(e, params, params_len, room)) goto drop;
    } else {
      e = dn_event_new_input(id, strlen(id));
      if (!e) break;
    }
    e->ts_ns = (uint64_t)ts;
    e->pl = text ? PL_TEXT : PL_EMPTY;
    dn_sched_push_input(&c->sched, inputs[i], e);
    continue;
  drop:
    dn_event_free(e);
  }
  free(inputs);
  return;
bad:
  free(inputs);
  dn_log_stderr("ignoring a malformed %s message from the daemon", text ? "text_input" : "tick");
}

void dn_daemon_handle(dn_ctx *c, const uint8_t *body, uint32_t len) {
  mp_rd r = {body, body + len};
  uint32_t n;
  const uint8_t *tag, *a = NULL, *b = NULL;
  uint32_t tag_len, a_len = 0, b_len = 0;
  if (mp_read_array(&r, &n) || n < 1 || mp_read_str(&r, &tag, &tag_len)) {
    dn_log_stderr("ignoring a malformed message from the daemon");
    return;
  }
  if (tag_is(tag, tag_len, "tick")) {
    on_tick_or_text(c, &r, false);
  } else if (tag_is(tag, tag_len, "text_input")) {
    on_tick_or_text(c, &r, true);
  } else if (tag_is(tag, tag_len, "input_closed")) {
    size_t *inputs, count;
    if (read_inputs(c, &r, &inputs, &count) == 0 && mp_read_str(&r, &a, &a_len) == 0)
      dn_receiver_input_closed(c, inputs, count, (const char *)a, a_len);
    free(inputs);
  } else if (tag_is(tag, tag_len, "input_recovered")) {
    size_t *inputs, count;
    if (read_inputs(c, &r, &inputs, &count) == 0)
      for (size_t i = 0; i < count; i++) {
        const char *id = c->cfg.inputs[inputs[i]].id;
        push_simple(c, EV_INPUT_RECOVERED, (const uint8_t *)id, (uint32_t)strlen(id), NULL, 0);
      }
    free(inputs);
  } else if (tag_is(tag, tag_len, "stop")) {
    if (r.p < r.end && mp_read_str(&r, &a, &a_len)) a = NULL;
    if (r.p < r.end && mp_read_str(&r, &b, &b_len)) b = NULL;
    if (a && tag_is(a, a_len, "ALL_INPUTS_CLOSED")) {
      /* each input closes behind its producer's data; our STOP follows from the queues */
      dn_receiver_close_all(c);
    } else {
      bool dataflow = !b || tag_is(b, b_len, "dataflow");
      if (dataflow) c->stopping = true;
      if (b && tag_is(b, b_len, "restart")) c->restart_scope = true;
      c->stop_received = true;
      push_simple(c, EV_STOP, NULL, 0, (const uint8_t *)"MANUAL", 6);
    }
  } else if (tag_is(tag, tag_len, "node_restarted")) {
    if (mp_read_str(&r, &a, &a_len) == 0) push_simple(c, EV_NODE_RESTARTED, NULL, 0, a, a_len);
  } else if (tag_is(tag, tag_len, "node_failed")) {
    if (mp_read_str(&r, &a, &a_len) == 0 && mp_read_str(&r, &b, &b_len) == 0)
      push_simple(c, EV_NODE_FAILED, NULL, 0, b, b_len);
  } else if (tag_is(tag, tag_len, "param_update")) {
    if (mp_read_str(&r, &a, &a_len) == 0 && mp_read_str(&r, &b, &b_len) == 0) {
      dn_event *e = dn_event_new(EV_PARAM_UPDATE);
      if (e && dn_event_set_text(e, a, a_len) == 0 && (e->json = malloc(b_len + 1))) {
        memcpy(e->json, b, b_len);
        e->json[b_len] = 0;
        e->json_len = b_len;
        dn_sched_push_event(&c->sched, e);
      } else {
        dn_event_free(e);
      }
    }
  } else if (tag_is(tag, tag_len, "param_deleted")) {
    if (mp_read_str(&r, &a, &a_len) == 0) push_simple(c, EV_PARAM_DELETED, NULL, 0, a, a_len);
  } else if (tag_is(tag, tag_len, "reload")) {
    if (mp_read_str_or_nil(&r, &a, &a_len) == 0) push_simple(c, EV_RELOAD, NULL, 0, a, a_len);
  }
  /* late register/subscribe replies and unknown tags: nothing to do */
}

void dn_daemon_readable(dn_ctx *c) {
  int alive = dn_reader_fill(&c->daemon_rd, c->daemon_fd);
  const uint8_t *body;
  uint32_t len;
  int got;
  while ((got = dn_reader_next(&c->daemon_rd, &body, &len)) == 1) dn_daemon_handle(c, body, len);
  if (got < 0) alive = -1;
  if (alive < 0 && !c->daemon_gone) {
    c->daemon_gone = true;
    dn_unwatch(c, c->daemon_fd); /* its EOF would wake every wait */
    dn_log_stderr("the daemon connection closed: stopping");
    push_simple(c, EV_STOP, NULL, 0, (const uint8_t *)"MANUAL", 6);
  }
}
