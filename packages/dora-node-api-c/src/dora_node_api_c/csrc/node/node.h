/* Internals of the C node library, shared by its files (one job each):
 *
 *   error.c     thread-local last error
 *   config.c    DORA_NODE_CONFIG (JSON) -> dn_config
 *   frame.c     Unix sockets, length-prefixed frames, fd passing
 *   shm.c       memfd segments: the sender's pool, the receiver's mappings
 *   events.c    events, payload lifetimes, the input queues (scheduler)
 *   params.c    metadata parameters: encoding, decoding, typed reads, JSON
 *   daemon.c    the control connection: handshake and daemon messages
 *   receiver.c  data connections from other nodes: frames -> events, releases
 *   sender.c    connections to receivers, inline / shared-memory sends, fan-out
 *   arrow.c     Arrow C Data Interface export (inputs) and import (outputs)
 *   api.c       the public functions and the event loop
 *
 * Threading: everything but the release path belongs to the thread that owns the
 * context (dora_next_event / dora_send_output). An event (and every Arrow array made
 * from it) may be freed on any thread: the payload refcount is atomic, and queueing a
 * Release for the sender takes the connection's mutex.
 */
#ifndef DN_NODE_H
#define DN_NODE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrow_type.h"
#include "dn_buf.h"
#include "dora_node_api.h"
#include "msgpack.h"

#define DN_PROTOCOL_VERSION "dora-py-2"
#define DN_MAX_FRAME (64u * 1024u * 1024u)
#define DN_MAX_MESSAGE (256u * 1024u * 1024u) /* a payload, in shared memory (as dora-rs) */
#define DN_MAX_FDS 16          /* room per read, to see (and refuse) frames carrying more */
#define DN_MAX_FDS_PER_FRAME 1 /* a `segment` frame carries one descriptor, others none */
#define DN_MAX_HELD_FDS 2      /* received, waiting for their `segment` frame (split reads) */
#define DN_MAX_PEERS 64           /* receivers of one node: a bit each in a holder mask */
#define DN_MAX_SEGMENTS_PER_CONN 4096
#define DN_CONTROL_QUEUE 1000     /* non-input events kept at most */

/* ---- errors (error.c) ---------------------------------------------------------------- */
DN_HIDDEN int dn_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
DN_HIDDEN void dn_log_stderr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- config (config.c) --------------------------------------------------------------- */
typedef struct dn_input_cfg {
  char *id;
  char *source_node; /* "dora" for timers and logs */
  char *source_output;
  size_t cap;        /* messages kept before dropping the oldest */
  uint64_t timeout_ms; /* input_timeout (circuit breaker), 0: none */
} dn_input_cfg;

typedef struct dn_peer_cfg {
  char *node_id;
  char *address; /* may start with NUL (abstract) */
  size_t address_len;
  char *token; /* the link token our Hello carries to this receiver */
} dn_peer_cfg;

typedef struct dn_sender_cfg {
  char *node_id;
  char *token; /* the link token its Hello must carry */
} dn_sender_cfg;

typedef struct dn_route {
  char *output;
  size_t *peers; /* indices into peers */
  size_t n_peers;
} dn_route;

typedef struct dn_config {
  /* first: what each message reads (a cache line after an idle wait) */
  dn_input_cfg *inputs;
  size_t n_inputs;
  char **outputs;
  size_t n_outputs;
  dn_peer_cfg *peers;
  size_t n_peers;
  size_t threshold;
  char *dataflow_id;
  char *node_id;
  char *daemon_address;
  size_t daemon_address_len;
  char *listen_address;
  size_t listen_address_len;
  dn_route *routes;
  size_t n_routes;
  char *secret; /* presented in Register; never logged */
  dn_sender_cfg *senders;
  size_t n_senders;
  bool allow_root_peers; /* accept root's connections besides our own user's */
  unsigned restart_count;
  double health_check_timeout; /* seconds, 0: none */
  bool may_restart;            /* restart_policy: always */
} dn_config;

DN_HIDDEN int dn_config_load(const char *json, size_t len, dn_config *cfg);
DN_HIDDEN void dn_config_free(dn_config *cfg);
DN_HIDDEN const dn_route *dn_config_route(const dn_config *cfg, const char *id, size_t len);

/* ---- frames and sockets (frame.c) ------------------------------------------------------ */
typedef struct dn_reader {
  dn_buf buf;
  size_t pos; /* start of the first unread frame */
  bool with_fds;
  int n_fds;
  const char *error; /* why fill() gave up on the connection, when it was the peer's fault */
  int fds[DN_MAX_FDS]; /* last: rarely used, away from what every read looks at */
} dn_reader;

DN_HIDDEN void dn_reader_init(dn_reader *r, bool with_fds);
DN_HIDDEN void dn_reader_free(dn_reader *r);
/* Reads what is available without blocking: 1 data read, 0 nothing now, -1 end of
 * stream or error (the connection is done). */
DN_HIDDEN int dn_reader_fill(dn_reader *r, int fd);
/* As dn_reader_fill, but sleeps until data, end of stream, or the socket's SO_RCVTIMEO
 * (0: timed out or interrupted). The socket must be a blocking one. */
DN_HIDDEN int dn_reader_wait(dn_reader *r, int fd);
/* The next complete frame body: 1 (body/len set), 0 none yet, -1 frame over the limit. */
DN_HIDDEN int dn_reader_next(dn_reader *r, const uint8_t **body, uint32_t *len);
/* Takes the oldest passed descriptor (-1 when none). */
DN_HIDDEN int dn_reader_take_fd(dn_reader *r);

DN_HIDDEN int dn_connect(const char *address, size_t len);
DN_HIDDEN int dn_listen(const char *address, size_t len);
/* Writes everything (waiting while the socket is full); MSG_NOSIGNAL: a gone peer is an
 * error, not a SIGPIPE. `pass_fd` >= 0 rides along (SCM_RIGHTS). 0 or -1. */
DN_HIDDEN int dn_write_all(int fd, const void *data, size_t len, int pass_fd);
/* As dn_write_all without a descriptor, for a socket others may sleep reading (accepted
 * data connections are blocking ones): a full socket is waited for with poll(), at most
 * 10 s, as a non-blocking one. */
DN_HIDDEN int dn_write_all_nowait(int fd, const void *data, size_t len);
/* Frame building: reserve the length prefix, encode, then patch it. */
DN_HIDDEN void dn_frame_begin(dn_buf *b);
DN_HIDDEN int dn_frame_end(dn_buf *b);
DN_HIDDEN uint64_t dn_now_ms(void);
/* A few ms coarse, but cheaper: for checks that run once per event. */
DN_HIDDEN uint64_t dn_coarse_ms(void);

/* ---- shared memory (shm.c) --------------------------------------------------------------- */
typedef struct dn_mapping {
  atomic_int refs;
  uint8_t *addr;
  size_t size;
} dn_mapping;

/* Maps a received segment read-only (closes fd in every case). NULL on error. */
DN_HIDDEN dn_mapping *dn_mapping_open(int fd, size_t size);
DN_HIDDEN void dn_mapping_ref(dn_mapping *m);
DN_HIDDEN void dn_mapping_unref(dn_mapping *m);

typedef struct dn_room {
  size_t offset;
  size_t len;
} dn_room;

typedef struct dn_segment {
  int64_t id;
  int fd;
  uint8_t *mem;
  size_t size;
  dn_room *rooms; /* messages not yet released, sorted by offset */
  size_t n_rooms, cap_rooms;
  bool free_listed;
} dn_segment;

typedef struct dn_busy {
  uint64_t token;
  dn_segment *seg;
  size_t offset;
  uint64_t holders; /* one bit per peer index */
} dn_busy;

typedef struct dn_pool {
  size_t n_busy, cap_busy; /* first: each send and wait looks at n_busy */
  dn_busy *busy;
  dn_segment **segs;
  size_t n_segs, cap_segs;
  dn_segment *arena;
  int64_t next_id;
  uint64_t next_token;
  size_t free_bytes;
  dn_segment **dropped; /* segments to unmap once the receivers were told */
  size_t n_dropped, cap_dropped;
  char name[96];
} dn_pool;

DN_HIDDEN void dn_pool_init(dn_pool *p, const char *name);
DN_HIDDEN void dn_pool_close(dn_pool *p);
DN_HIDDEN int dn_pool_acquire(dn_pool *p, size_t len, bool dedicated, dn_segment **seg,
                              size_t *offset);
/* Hands the message to `holders`; its token (with no holder, the room is freed now). */
DN_HIDDEN uint64_t dn_pool_publish(dn_pool *p, dn_segment *seg, size_t offset, uint64_t holders);
DN_HIDDEN void dn_pool_discard(dn_pool *p, dn_segment *seg, size_t offset);
DN_HIDDEN void dn_pool_release(dn_pool *p, int peer, uint64_t token);
DN_HIDDEN void dn_pool_peer_gone(dn_pool *p, int peer);
DN_HIDDEN void dn_segment_destroy(dn_segment *s);

/* ---- events and queues (events.c) ------------------------------------------------------- */
typedef enum {
  EV_INPUT,
  EV_INPUT_CLOSED,
  EV_STOP,
  EV_ERROR,
  EV_NODE_RESTARTED,
  EV_NODE_FAILED,
  EV_INPUT_RECOVERED,
  EV_PARAM_UPDATE,
  EV_PARAM_DELETED,
  EV_RELOAD,
} dn_ev_kind;

typedef enum {
  PL_NONE,
  PL_EMPTY,   /* timer tick or `empty` kind: a NullArray of length 0 */
  PL_RAW,     /* bytes: UInt8 */
  PL_BUFFERS, /* flat array buffers + layout */
  PL_IPC,     /* Arrow IPC (nested or dictionary types): not readable from C */
  PL_TEXT,    /* one utf8 string made by the daemon */
} dn_pl_kind;

struct dn_inconn;

/* The memory an input's bytes live in: a private copy of an inline message, or a range
 * of a shared-memory mapping whose sender waits for a Release of `token`. Shared by the
 * event(s) and Arrow arrays made from it. */
typedef struct dn_payload {
  atomic_int refs;
  uint8_t *owned; /* points into this allocation (dn_event_new_message's `data`) */
  void *block;    /* the allocation to free with the last reference (NULL: this struct) */
  size_t block_size;
  dn_mapping *map;
  struct dn_inconn *conn;
  uint64_t token;
  bool has_token;
} dn_payload;

typedef struct dn_param {
  char *key;
  DoraParamType type;
  bool b;
  int64_t i;
  double f;
  const uint8_t *ptr; /* String/Bytes, inside the event's params copy */
  size_t len;
  const uint8_t *raw; /* the msgpack value, for JSON */
  size_t raw_len;
} dn_param;

typedef struct dn_event {
  dn_ev_kind kind;
  char *id;
  size_t id_len;
  char *text;
  size_t text_len;
  char *json;
  size_t json_len;
  uint64_t ts_ns;
  dn_pl_kind pl;
  dn_payload *payload;
  const uint8_t *data;
  size_t data_len;
  int64_t *layout;
  size_t n_layout;
  bool has_type;      /* then `type` (last, left unset otherwise) holds the Arrow type */
  uint8_t *params_raw; /* one allocation: the params index, then the map, then the keys */
  size_t params_len;
  dn_param *params;
  size_t n_params;
  bool id_inline;      /* id lives in this allocation */
  uint8_t marker;     /* a queue entry that is not a message: DN_MARK_* */
  bool protected_;    /* carries request_id / goal_id / goal_status: evicted last */
  bool flush;         /* flush=true: older unprotected messages of the input go */
  bool embeds_payload; /* payload lives in this allocation, which it frees (dn_event_new_message) */
  struct dn_event *next;
  dn_type type;       /* last: a message without a type does not touch it */
} dn_event;

DN_HIDDEN dn_event *dn_event_new(dn_ev_kind kind);
/* An input event with its id stored in the same allocation (one malloc per message). */
DN_HIDDEN dn_event *dn_event_new_input(const char *id, size_t id_len);
/* A received message in one allocation: the input event, its id, its payload (a copy of
 * `data_len` bytes at `data`; NULL: no bytes, e.g. shared memory) and `params_room` bytes
 * at *room for dn_event_index_params. The payload holds the allocation: the event's memory goes
 * with the payload's last reference (an Arrow array may outlive the event). */
DN_HIDDEN dn_event *dn_event_new_message(const char *id, size_t id_len, const void *data,
                                         size_t data_len, size_t params_room, uint8_t **room);
DN_HIDDEN int dn_event_set_id(dn_event *e, const void *id, size_t len);
DN_HIDDEN int dn_event_set_text(dn_event *e, const void *text, size_t len);
DN_HIDDEN void dn_event_free(dn_event *e);
DN_HIDDEN void dn_payload_ref(dn_payload *p);
DN_HIDDEN void dn_payload_unref(dn_payload *p);

enum { DN_MARK_NONE = 0, DN_MARK_CLOSED, DN_MARK_BROKEN, DN_MARK_RECOVERED };

typedef struct dn_inq {
  dn_event *head, *tail;
  size_t count; /* data entries (the closed marker is not counted) */
  size_t cap;
  int state;    /* 0 open, 1 closing (marker queued), 2 closed (INPUT_CLOSED returned) */
  uint64_t dropped;
  uint64_t discarded;   /* arrived after the STOP or the end: never returned (leaving.c) */
  uint64_t timeout_ms;  /* circuit breaker, 0: none */
  uint64_t deadline_ms; /* armed by a message, 0: not armed */
  bool broken;          /* timed out, no message since */
  bool reported;        /* the INPUT_CLOSED of the break was returned */
} dn_inq;

typedef struct dn_sched {
  dn_inq *inputs;
  size_t n;
  size_t *order; /* least recently served first */
  dn_event *ctl_head, *ctl_tail;
  size_t ctl_count;
  size_t queued; /* entries over all inputs, markers included */
  size_t open_inputs;
  bool stop_seen, stop_returned, ended;
  bool has_timeouts;
} dn_sched;

DN_HIDDEN int dn_sched_init(dn_sched *s, const dn_config *cfg);
DN_HIDDEN void dn_sched_free(dn_sched *s);
DN_HIDDEN void dn_sched_push_input(dn_sched *s, size_t input, dn_event *e);
DN_HIDDEN void dn_sched_push_event(dn_sched *s, dn_event *e);
DN_HIDDEN void dn_sched_close_input(dn_sched *s, size_t input);
DN_HIDDEN void dn_sched_reopen_input(dn_sched *s, size_t input);
DN_HIDDEN dn_event *dn_sched_pop(dn_sched *s, const dn_config *cfg);
DN_HIDDEN bool dn_sched_ready(const dn_sched *s);
/* Breaks the inputs whose input_timeout passed (INPUT_CLOSED behind their data, the input
 * stays open); the earliest armed deadline (0: none). */
DN_HIDDEN uint64_t dn_sched_expire(dn_sched *s, uint64_t now_ms);

/* ---- parameters (params.c) -------------------------------------------------------------- */
DN_HIDDEN void dn_params_write(dn_buf *b, const DoraParam *params, size_t n);
DN_HIDDEN int dn_params_check(const DoraParam *params, size_t n);
/* Copies the msgpack map and indexes it into e->params. */
DN_HIDDEN int dn_event_set_params(dn_event *e, const uint8_t *map, size_t len);
/* The room dn_event_index_params needs for this map (0: no parameters); -1 if malformed. */
DN_HIDDEN int dn_params_room(const uint8_t *map, size_t len, size_t *room);
/* As dn_event_set_params, into `room` bytes at `block` that the event does not own. */
DN_HIDDEN int dn_event_index_params(dn_event *e, const uint8_t *map, size_t len, uint8_t *block);
DN_HIDDEN const dn_param *dn_event_param(const dn_event *e, const char *key);
DN_HIDDEN void dn_msgpack_to_json(mp_rd *r, dn_buf *out, int depth);

/* ---- the context ----------------------------------------------------------------------- */
typedef struct dn_inconn {
  atomic_int refs;
  int fd; /* owned by the context thread; -1 once closed */
  bool alive;
  int rcvtimeo_ms;  /* the SO_RCVTIMEO set on fd (0: none) */
  atomic_int held;  /* shared-memory messages of this connection not released yet */
  char *sender;
  size_t *inputs; /* the inputs fed by `sender` (from its accepted hello on) */
  size_t n_inputs;
  dn_reader rd;
  struct {
    int64_t id;
    dn_mapping *map;
  } *maps;
  size_t n_maps, cap_maps;
  struct {
    char *output;
    dn_type type;
  } *schemas;
  size_t n_schemas, cap_schemas;
  /* release path (any thread) */
  pthread_mutex_t lock;
  int release_fd; /* -1 once the connection is gone */
  uint64_t *pending;
  size_t n_pending, cap_pending;
  struct dn_ctx *ctx; /* for the wake-up; NULL once the context is freed */
} dn_inconn;

typedef struct dn_peer {
  dn_peer_cfg *cfg;
  int index;
  int fd; /* -1: not connected */
  uint64_t next_retry_ms;
  dn_reader rd;
  int64_t *segs; /* segments announced on this connection */
  size_t n_segs, cap_segs;
  struct {
    char *output;
    char format[80];
  } *types; /* the schema last sent per output */
  size_t n_types, cap_types;
} dn_peer;

/* What a send of an output needs, looked up once: its route and its Data frame's start. */
typedef struct dn_out {
  const char *name; /* cfg.outputs[i] */
  size_t len;
  const dn_route *route; /* NULL: nobody reads it */
  size_t head_len;       /* 0: the name is too long for `head` */
  uint8_t head[48];      /* msgpack: the Data array's header, "data", the name */
} dn_out;

typedef struct dn_deferred {
  char *producer;
  size_t input;
} dn_deferred;

typedef struct dn_ctx {
  /* First and together, what a message touches on either path (receiving one, or
   * sending one): after an idle wait each further cache line is a miss. */
  dn_sched sched;
  dn_inconn **in;
  size_t n_in;
  dn_out *outs;     /* per output, as cfg.outputs */
  bool *output_open;
  dn_peer *peers;
  dn_buf frame;     /* scratch for encoding frames (owner thread) */
  uint64_t clock_last;
  uint64_t beat_period_ms;
  uint64_t last_poll_ms;
  uint64_t last_pending_ms; /* the queue length was last reported then */
  size_t pending_reported;
  struct dn_drops *drops; /* messages receivers missed, not reported yet (drops.c) */
  bool daemon_gone;
  bool daemon_inputs;   /* some input comes from the daemon (timers, logs) */
  dn_pool pool;         /* n_busy first */
  dn_config cfg;        /* the per-message fields first */
  int daemon_fd;
  dn_reader daemon_rd;
  int listen_fd;
  int wake_fd;
  int epoll_fd;        /* every socket of the node, kept up to date (cheaper than poll()) */
  atomic_bool blocked; /* the owner thread sleeps in epoll_wait(): releases wake it */
  size_t cap_in;
  dn_deferred *deferred;
  size_t n_deferred, cap_deferred;
  bool stopping;        /* the daemon stops the dataflow: our Closed frames say so */
  bool restart_scope;   /* the daemon stops us to restart us */
  bool stop_received;   /* the daemon sent a (manual) STOP */
  uint64_t last_beat_ms;
  dn_buf frame_schema; /* the same Data frame with its schema, for connections that need it */
  dn_buf broken_reported; /* the broken inputs last reported to the daemon */
} dn_ctx;

/* api.c: watch `fd` for input; `kind` says who handles it (DN_WATCH_*). Closing the fd
 * stops the watch. */
enum { DN_WATCH_WAKE = 1, DN_WATCH_LISTEN, DN_WATCH_DAEMON, DN_WATCH_IN, DN_WATCH_PEER };
DN_HIDDEN void dn_watch(dn_ctx *c, int fd, int kind);
DN_HIDDEN void dn_unwatch(dn_ctx *c, int fd);

/* daemon.c */
DN_HIDDEN int dn_daemon_handshake(dn_ctx *c);
DN_HIDDEN int dn_daemon_send(dn_ctx *c, dn_buf *frame);
DN_HIDDEN void dn_daemon_readable(dn_ctx *c);
DN_HIDDEN void dn_daemon_handle(dn_ctx *c, const uint8_t *body, uint32_t len);
DN_HIDDEN void dn_daemon_send_beat(dn_ctx *c);
/* A heartbeat when one is due (health_check_timeout); inline: most nodes have none. */
static inline void dn_daemon_beat(dn_ctx *c) {
  if (c->beat_period_ms && !c->daemon_gone) dn_daemon_send_beat(c);
}

/* receiver.c */
DN_HIDDEN void dn_receiver_accept(dn_ctx *c);
DN_HIDDEN void dn_receiver_readable(dn_ctx *c, dn_inconn *conn);
/* The one data connection a wait may sleep reading (see dn_receiver_wait), or NULL. */
DN_HIDDEN dn_inconn *dn_receiver_lone(const dn_ctx *c);
/* Sleeps reading `conn` for at most `slice_ms` (it must be dn_receiver_lone's), then
 * handles what came as dn_receiver_readable does. */
DN_HIDDEN void dn_receiver_wait(dn_ctx *c, dn_inconn *conn, int slice_ms);
DN_HIDDEN void dn_receiver_flush_all(dn_ctx *c);
DN_HIDDEN void dn_receiver_input_closed(dn_ctx *c, const size_t *inputs, size_t n,
                                        const char *producer, size_t producer_len);
DN_HIDDEN void dn_receiver_close_all(dn_ctx *c);
DN_HIDDEN void dn_receiver_close(dn_ctx *c);
DN_HIDDEN void dn_inconn_release(dn_inconn *conn, uint64_t token);
DN_HIDDEN void dn_inconn_unref(dn_inconn *conn);
DN_HIDDEN long dn_input_index(const dn_ctx *c, const char *id, size_t len);

/* sender.c */
typedef struct dn_part {
  const void *ptr;
  size_t len;
} dn_part;
/* Fills c->outs (and c->peers); c->peers is NULL when out of memory. */
DN_HIDDEN void dn_sender_init(dn_ctx *c);
DN_HIDDEN void dn_sender_connect_all(dn_ctx *c);
DN_HIDDEN void dn_sender_readable(dn_ctx *c, dn_peer *peer);
/* Reads pending Release frames without blocking (when messages are outstanding). */
DN_HIDDEN void dn_sender_drain(dn_ctx *c);
/* Sends a message made of `parts` (each already padded for `buffers`); kind is "raw" or
 * "buffers" (then type and layout are given). */
DN_HIDDEN int dn_sender_send(dn_ctx *c, size_t output, const char *kind, const dn_type *type,
                             const int64_t *layout, size_t n_layout, const dn_part *parts,
                             size_t n_parts, const DoraParam *params, size_t n_params);
/* Sends a message already written into a pool segment (consumes the room). */
DN_HIDDEN int dn_sender_send_segment(dn_ctx *c, size_t output, const char *kind,
                                     const dn_type *type, const int64_t *layout, size_t n_layout,
                                     dn_segment *seg, size_t offset, size_t len,
                                     const DoraParam *params, size_t n_params);
DN_HIDDEN void dn_sender_discard(dn_ctx *c, dn_segment *seg, size_t offset);
DN_HIDDEN void dn_sender_close_outputs(dn_ctx *c, const size_t *outputs, size_t n);
DN_HIDDEN void dn_sender_close(dn_ctx *c);
DN_HIDDEN uint64_t dn_clock_now(dn_ctx *c);
/* The index of output `id` (`len` bytes, not NUL-terminated), or -1: the one lookup of an
 * output by name (c->outs, filled by dn_sender_init). Inline: every send runs it. */
static inline long dn_output_index(const dn_ctx *c, const char *id, size_t len) {
  for (size_t i = 0; i < c->cfg.n_outputs; i++)
    if (c->outs[i].len == len && dn_str_eq(c->outs[i].name, id, len)) return (long)i;
  return -1;
}

/* drops.c: messages of `output` that could not reach a receiver, reported to the daemon
 * (`dropped_messages`) about once a second, at once when the receiver is back
 * (`resumed`), and when the context is freed (`now`). */
DN_HIDDEN void dn_drops_missed(dn_ctx *c, const dn_peer *p, size_t output);
DN_HIDDEN void dn_drops_resumed(dn_ctx *c, const dn_peer *p);
DN_HIDDEN void dn_drops_report(dn_ctx *c, bool now);
DN_HIDDEN int dn_drops_wait_ms(const dn_ctx *c); /* until the next report is due, -1: none */
DN_HIDDEN void dn_drops_free(dn_ctx *c);

/* leaving.c: a node leaving to be restarted refuses data, reads what its connections
 * still hold, and reports what it never handed over (`unread_inputs`). */
DN_HIDDEN void dn_leave_report_unread(dn_ctx *c);

/* arrow.c: the parts (buffers and padding, at most 6) and layout (at most 6 entries) of
 * a flat C array to send. */
DN_HIDDEN int dn_arrow_parts(const struct ArrowArray *a, const struct ArrowSchema *s, dn_type *t,
                             int64_t *layout, size_t *n_layout, dn_part *parts, size_t *n_parts);

#endif
