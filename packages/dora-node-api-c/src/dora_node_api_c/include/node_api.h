/* dora C node API: the functions of dora-rs's `node_api.h`, same names, types and meaning,
 * so a C node written for the Rust dora compiles against this header unchanged.
 * Extensions (timeouts, metadata, Arrow arrays, shared-memory samples, errors) are in
 * `dora_node_api.h`, which includes this file.
 *
 * Threads. A context is used by one thread at a time: dora_next_event, dora_send_output
 * and dora_log must not run concurrently on the same context. Events are read-only once
 * returned, so several threads may read the same event (each with its own out variables).
 * free_dora_context and free_dora_event take ownership: no other thread may use the
 * context or event while it is freed, nor any pointer read from it afterwards.
 *
 * Errors never abort the process: functions return NULL or -1 and leave a message for
 * dora_last_error() (dora_node_api.h).
 */
#ifndef DORA_NODE_API_H
#define DORA_NODE_API_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Connects to the daemon with the environment it gave the node (DORA_NODE_CONFIG) and
 * waits for the dataflow to start. NULL on failure. Thread-safe. */
void *init_dora_context_from_env(void);

/* Tells the receivers that no more output comes, closes every connection and frees the
 * context. NULL is ignored. */
void free_dora_context(void *dora_context);

/* Blocks for the next event. NULL once the stream has ended: after a STOP was returned,
 * or when every input is closed and drained, or when the daemon is gone. */
void *dora_next_event(void *dora_context);

/* Frees an event (and gives shared memory back to its sender once no Arrow array made
 * from it is alive). NULL is ignored. */
void free_dora_event(void *dora_event);

enum DoraEventType {
  DoraEventType_Stop,
  DoraEventType_Input,
  DoraEventType_InputClosed,
  DoraEventType_Error,
  DoraEventType_Unknown,
};

/* The kind of the event; events dora-rs has no C kind for (NODE_RESTARTED, PARAM_UPDATE,
 * ...) are DoraEventType_Unknown: dora_event_type_name() tells them apart. */
enum DoraEventType read_dora_event_type(void *dora_event);

/* The input id (not NUL-terminated, owned by the event) of an Input or InputClosed event;
 * NULL/0 for other events. */
void read_dora_input_id(void *dora_event, char **out_ptr, size_t *out_len);

/* The payload bytes (owned by the event; in shared memory for large messages, not copied)
 * when the input is a byte array (Arrow UInt8, no nulls); NULL/0 otherwise. */
void read_dora_input_data(void *dora_event, char **out_ptr, size_t *out_len);

/* The message time as a 64-bit NTP-style value: seconds since the Unix epoch in the high
 * 32 bits, the binary fraction of a second in the low 32 bits. 0 when not an input. */
unsigned long long read_dora_input_timestamp(void *dora_event);

/* Sends `data_len` bytes (an Arrow UInt8 array) on output `id`; 0 on success, -1 on error
 * (unknown output, closed context, a receiver's protocol error...). */
int dora_send_output(void *dora_context, const char *id_ptr, size_t id_len, const char *data_ptr,
                     size_t data_len);

/* A log record at `level` (error, warn, info, debug, trace) attributed to this node;
 * 0 / -1. */
int dora_log(void *dora_context, const char *level_ptr, size_t level_len, const char *msg_ptr,
             size_t msg_len);

#ifdef __cplusplus
} /* extern "C" */
#endif

/* dora-rs's header defines each name to itself; programs test for them with #ifdef. */
#define init_dora_context_from_env init_dora_context_from_env
#define free_dora_context free_dora_context
#define dora_next_event dora_next_event
#define free_dora_event free_dora_event
#define read_dora_event_type read_dora_event_type
#define read_dora_input_id read_dora_input_id
#define read_dora_input_data read_dora_input_data
#define read_dora_input_timestamp read_dora_input_timestamp
#define dora_send_output dora_send_output
#define dora_log dora_log

typedef enum DoraEventType DoraEventType;
#define DoraEventType_Stop DoraEventType_Stop
#define DoraEventType_Input DoraEventType_Input
#define DoraEventType_InputClosed DoraEventType_InputClosed
#define DoraEventType_Error DoraEventType_Error
#define DoraEventType_Unknown DoraEventType_Unknown

#endif /* DORA_NODE_API_H */
