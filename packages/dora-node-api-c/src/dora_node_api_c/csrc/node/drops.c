/* Messages this node could not hand to a receiver that was not connected (restarting, or
 * gone), counted per output and receiver and reported to the daemon as `dropped_messages`
 * (docs/protocol.md, section 5.1), as the Python node API does: about once a second while
 * the counts grow, at once with `resumed` when the receiver is reached again (the daemon
 * then logs the outage's total), and when the context is freed. Nothing is sent while
 * nothing was dropped. Runs on the context's thread, like the sender. */
#include <stdlib.h>

#include "node.h"

#define REPORT_MS 1000

struct dn_drops {
  size_t n_outputs;
  uint64_t *missed; /* [peer * n_outputs + output]: not reported yet */
  bool *outage;     /* same index: lost messages since the connection was last up */
  uint64_t last_report_ms;
  bool dirty; /* some `missed` is not zero */
};

static struct dn_drops *drops_of(dn_ctx *c) {
  if (c->drops) return c->drops;
  size_t cells = c->cfg.n_peers * c->cfg.n_outputs;
  if (!cells) return NULL;
  struct dn_drops *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  d->n_outputs = c->cfg.n_outputs;
  d->missed = calloc(cells, sizeof *d->missed);
  d->outage = calloc(cells, sizeof *d->outage);
  if (!d->missed || !d->outage) {
    free(d->missed);
    free(d->outage);
    free(d);
    return NULL;
  }
  d->last_report_ms = dn_coarse_ms();
  c->drops = d;
  return d;
}

/* One `dropped_messages` frame, in its own buffer: the sender may be in the middle of
 * encoding a Data frame in c->frame. A failed write is not the caller's error (the lost
 * daemon connection is noticed by the event loop), so dora_last_error is left alone. */
static void send_report(dn_ctx *c, size_t output, const dn_peer *p, uint64_t count,
                        bool resumed) {
  if (c->daemon_gone || c->daemon_fd < 0) return;
  dn_buf f;
  dn_buf_init(&f, 0);
  dn_frame_begin(&f);
  mp_w_array(&f, 5);
  mp_w_cstr(&f, "dropped_messages");
  mp_w_cstr(&f, c->cfg.outputs[output]);
  mp_w_cstr(&f, p->cfg->node_id);
  mp_w_int(&f, (int64_t)count);
  mp_w_bool(&f, resumed);
  if (dn_frame_end(&f) == 0) dn_write_all(c->daemon_fd, f.data, f.len, -1);
  dn_buf_free(&f);
}

void dn_drops_missed(dn_ctx *c, const dn_peer *p, size_t output) {
  struct dn_drops *d = drops_of(c);
  if (!d || output >= d->n_outputs) return;
  size_t at = (size_t)p->index * d->n_outputs + output;
  d->missed[at]++;
  d->outage[at] = true;
  d->dirty = true;
}

void dn_drops_resumed(dn_ctx *c, const dn_peer *p) {
  struct dn_drops *d = c->drops;
  if (!d) return;
  for (size_t output = 0; output < d->n_outputs; output++) {
    size_t at = (size_t)p->index * d->n_outputs + output;
    if (!d->outage[at]) continue;
    send_report(c, output, p, d->missed[at], true);
    d->missed[at] = 0;
    d->outage[at] = false;
  }
}

DN_RECV void dn_drops_report(dn_ctx *c, bool now) {
  struct dn_drops *d = c->drops;
  if (!d || !d->dirty) return;
  uint64_t ms = dn_coarse_ms();
  if (!now && ms - d->last_report_ms < REPORT_MS) return;
  d->last_report_ms = ms;
  d->dirty = false;
  for (size_t i = 0; i < c->cfg.n_peers; i++) {
    for (size_t output = 0; output < d->n_outputs; output++) {
      size_t at = i * d->n_outputs + output;
      if (!d->missed[at]) continue;
      send_report(c, output, &c->peers[i], d->missed[at], false);
      d->missed[at] = 0;
    }
  }
}

DN_RECV int dn_drops_wait_ms(const dn_ctx *c) {
  const struct dn_drops *d = c->drops;
  if (!d || !d->dirty) return -1;
  uint64_t since = dn_coarse_ms() - d->last_report_ms;
  return since >= REPORT_MS ? 0 : (int)(REPORT_MS - since);
}

void dn_drops_free(dn_ctx *c) {
  struct dn_drops *d = c->drops;
  if (!d) return;
  free(d->missed);
  free(d->outage);
  free(d);
  c->drops = NULL;
}
