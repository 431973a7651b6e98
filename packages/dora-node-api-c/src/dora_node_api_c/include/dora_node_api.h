/* dora C node API, beyond dora-rs's `node_api.h` (included here): events with a timeout,
 * event details, metadata parameters, inputs and outputs as Arrow C Data Interface arrays
 * (zero-copy over shared memory), allocate-then-fill sends, the node's identity and its
 * restart information, and the last error. Same threading rules as node_api.h; the last
 * error is per thread.
 *
 * Return codes: 0 (DORA_OK) is success, -1 (DORA_ERROR) is an error described by
 * dora_last_error(); functions returning pointers return NULL on error. Nothing here
 * aborts the process, whatever the input.
 */
#ifndef DORA_NODE_API_EXT_H
#define DORA_NODE_API_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrow_c_data.h"
#include "node_api.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DORA_OK 0
#define DORA_ERROR (-1)
#define DORA_TIMEOUT 1    /* dora_next_event_timeout: nothing arrived in time */
#define DORA_END_OF_STREAM 2 /* dora_next_event_timeout: the stream has ended */

/* ---- errors ------------------------------------------------------------------------ */

/* The message of the last failed call on this thread ("" when none failed yet). Valid
 * until the next failing call on this thread. Never NULL. */
const char *dora_last_error(void);

/* ---- the node -------------------------------------------------------------------------- */

/* NUL-terminated, owned by the context; NULL when `dora_context` is NULL. */
const char *dora_dataflow_id(const void *dora_context);
const char *dora_node_id(const void *dora_context);

/* How many times the daemon restarted this node before this run (0 on the first run). */
unsigned int dora_restart_count(const void *dora_context);

/* ---- events -------------------------------------------------------------------------- */

/* Waits at most `timeout_ms` (negative: forever) for the next event. DORA_OK with
 * *event_out set, DORA_TIMEOUT or DORA_END_OF_STREAM with *event_out = NULL, or
 * DORA_ERROR. */
int dora_next_event_timeout(void *dora_context, int64_t timeout_ms, void **event_out);

/* The event's kind as dora's Python API names it: "INPUT", "INPUT_CLOSED", "STOP",
 * "ERROR", "NODE_RESTARTED", "NODE_FAILED", "INPUT_RECOVERED", "PARAM_UPDATE",
 * "PARAM_DELETED". Static storage; "" for NULL. */
const char *dora_event_type_name(const void *dora_event);

/* The event's text, not NUL-terminated, owned by the event: the error message (ERROR,
 * NODE_FAILED), the stop cause ("MANUAL", "ALL_INPUTS_CLOSED"), the source node
 * (NODE_RESTARTED), the parameter key (PARAM_UPDATE, PARAM_DELETED). NULL/0 otherwise. */
void dora_event_text(const void *dora_event, const char **out_ptr, size_t *out_len);

/* PARAM_UPDATE: the new value as JSON text (not NUL-terminated, owned by the event). */
void dora_event_param_json(const void *dora_event, const char **out_ptr, size_t *out_len);

/* Message time in nanoseconds since the Unix epoch (0 when not an input). */
uint64_t dora_event_timestamp_ns(const void *dora_event);

/* ---- metadata parameters --------------------------------------------------------------- */

enum DoraParamType {
  DoraParamType_Missing = 0,
  DoraParamType_Bool,
  DoraParamType_Int,
  DoraParamType_Float,
  DoraParamType_String,
  DoraParamType_Bytes,
  DoraParamType_Other, /* lists and maps: read them with dora_event_param_to_json */
};
typedef enum DoraParamType DoraParamType;

/* One parameter to send. `key` is NUL-terminated; strings and bytes are borrowed for the
 * duration of the send call. */
typedef struct DoraParam {
  const char *key;
  DoraParamType type;
  union {
    bool b;
    int64_t i;
    double f;
    struct {
      const char *ptr;
      size_t len;
    } s; /* String and Bytes */
  } value;
} DoraParam;

/* Number of metadata parameters of an input event, and the i-th key (NUL-terminated,
 * owned by the event; NULL when out of range). */
size_t dora_event_param_count(const void *dora_event);
const char *dora_event_param_key(const void *dora_event, size_t index);

/* The type of parameter `key` (DoraParamType_Missing when absent), and typed reads:
 * DORA_OK, or DORA_ERROR when absent or of another type (no conversion but Int to
 * Float). Strings and bytes are owned by the event, not NUL-terminated. */
DoraParamType dora_event_param_type(const void *dora_event, const char *key);
int dora_event_param_bool(const void *dora_event, const char *key, bool *out);
int dora_event_param_int(const void *dora_event, const char *key, int64_t *out);
int dora_event_param_float(const void *dora_event, const char *key, double *out);
int dora_event_param_string(const void *dora_event, const char *key, const char **out_ptr,
                            size_t *out_len);
int dora_event_param_bytes(const void *dora_event, const char *key, const uint8_t **out_ptr,
                           size_t *out_len);

/* Any parameter as JSON text (bytes as an array of numbers), malloc'ed and
 * NUL-terminated: free it with dora_free_string. NULL when absent. */
char *dora_event_param_to_json(const void *dora_event, const char *key);
void dora_free_string(char *text);

/* ---- Arrow ----------------------------------------------------------------------------- */

/* The input as an Arrow C Data Interface array and schema (zero-copy: the buffers point
 * into the received message, in shared memory for large ones). The caller owns both and
 * calls their `release`; they stay valid after free_dora_event, and the sender gets the
 * memory back once the event and every array made from it are released. Flat types are
 * supported (null, bool, integers, floats, utf8, binary, large utf8/binary, fixed size
 * binary, dates, times, timestamps, durations); a nested or dictionary type is a
 * DORA_ERROR naming it. */
int dora_event_arrow(const void *dora_event, struct ArrowArray *array_out,
                     struct ArrowSchema *schema_out);

/* Sends an Arrow array (flat types, as above) on output `id`, with optional parameters.
 * The array and schema are borrowed: the caller still releases them. */
int dora_send_output_arrow(void *dora_context, const char *id_ptr, size_t id_len,
                           const struct ArrowArray *array, const struct ArrowSchema *schema,
                           const DoraParam *params, size_t n_params);

/* dora_send_output with metadata parameters. */
int dora_send_output_with_params(void *dora_context, const char *id_ptr, size_t id_len,
                                 const char *data_ptr, size_t data_len, const DoraParam *params,
                                 size_t n_params);

/* ---- allocate, fill, send -------------------------------------------------------------- */

/* Room for `len` bytes to fill and then send without another copy: in shared memory when
 * `len` reaches the zero-copy threshold. *data_out points at the room. Free an unsent
 * sample with dora_free_sample; a sent one is consumed. NULL on error. */
void *dora_alloc_sample(void *dora_context, size_t len, uint8_t **data_out);

/* Sends the filled sample (an Arrow UInt8 array of its `len` bytes) on output `id`. The
 * sample is consumed whether or not the send succeeded. */
int dora_send_sample(void *dora_context, const char *id_ptr, size_t id_len, void *sample,
                     const DoraParam *params, size_t n_params);

void dora_free_sample(void *dora_context, void *sample);

/* ---- outputs --------------------------------------------------------------------------- */

/* Tells the receivers of these outputs that nothing more comes on them. */
int dora_close_outputs(void *dora_context, const char *const *ids, size_t n_ids);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DORA_NODE_API_EXT_H */
