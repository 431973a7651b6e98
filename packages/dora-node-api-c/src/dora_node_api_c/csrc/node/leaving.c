/* A node that leaves to be restarted counts what reached it but was never handed to its
 * code, and tells the daemon (`unread_inputs`, docs/protocol.md section 9.7), as the
 * Python node API does. First the listener and every data connection are shut for
 * reading: new connections are refused and the senders' next writes fail, so from then
 * on they count what we miss. What was written before is still readable: it is read to
 * the end of each connection (into the queues), then the queues are counted, with what
 * their policy dropped meanwhile. Timer ticks and other daemon-made inputs are not
 * counted: nobody sent them. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node.h"

#define MAX_DRAIN_READS 100000 /* per connection; after SHUT_RD a read ends at EOF */

static void drain_connections(dn_ctx *c) {
  if (c->listen_fd >= 0) shutdown(c->listen_fd, SHUT_RD);
  for (size_t i = 0; i < c->n_in; i++)
    if (c->in[i]->fd >= 0) shutdown(c->in[i]->fd, SHUT_RD);
  dn_receiver_accept(c); /* what was still in the backlog */
  /* backwards: a connection that reaches its end is swapped out with the last one,
   * which was handled already */
  for (size_t i = c->n_in; i-- > 0;) {
    dn_inconn *conn = c->in[i];
    atomic_fetch_add(&conn->refs, 1); /* dropping the connection must not free it here */
    if (conn->fd >= 0) shutdown(conn->fd, SHUT_RD);
    for (int reads = 0; conn->alive && reads < MAX_DRAIN_READS; reads++)
      dn_receiver_readable(c, conn);
    dn_inconn_unref(conn);
  }
}

void dn_leave_report_unread(dn_ctx *c) {
  size_t n = c->cfg.n_inputs;
  if (!n || c->daemon_gone || c->daemon_fd < 0) return;
  /* what the queue policy drops while we drain was never read either */
  uint64_t *before = calloc(n, sizeof *before);
  if (!before) return;
  for (size_t i = 0; i < n; i++) before[i] = c->sched.inputs[i].dropped;
  drain_connections(c);
  uint64_t *unread = calloc(n, sizeof *unread);
  if (!unread) {
    free(before);
    return;
  }
  uint32_t count = 0;
  for (size_t i = 0; i < n; i++) {
    const dn_inq *q = &c->sched.inputs[i];
    /* discarded: everything that arrived after a STOP was returned (a restart asked
     * with `dora node restart`), before the drain or during it */
    if (strcmp(c->cfg.inputs[i].source_node, "dora") != 0)
      unread[i] = q->count + (q->dropped - before[i]) + q->discarded;
    if (unread[i]) count++;
  }
  if (count) {
    dn_buf f;
    dn_buf_init(&f, 0);
    dn_frame_begin(&f);
    mp_w_array(&f, 2);
    mp_w_cstr(&f, "unread_inputs");
    mp_w_map(&f, count);
    for (size_t i = 0; i < n; i++) {
      if (!unread[i]) continue;
      mp_w_cstr(&f, c->cfg.inputs[i].id);
      mp_w_int(&f, (int64_t)unread[i]);
    }
    /* not the caller's error if the daemon is gone: dora_last_error is left alone */
    if (dn_frame_end(&f) == 0) dn_write_all(c->daemon_fd, f.data, f.len, -1);
    dn_buf_free(&f);
  }
  free(unread);
  free(before);
}
