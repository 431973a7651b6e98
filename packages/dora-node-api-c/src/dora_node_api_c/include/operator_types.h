/* Types of dora's C operator ABI, laid out as dora-rs 1.x's `operator_types.h`, so an
 * operator written for the Rust dora compiles against this header unchanged. Input_t and
 * Output_t are opaque: operators read and create them through the helper functions below
 * (library `dora_operator_api_c`, see `dora c-api --operator --libs`). */
#ifndef DORA_OPERATOR_TYPES_H
#define DORA_OPERATOR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arrow_c_data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes owned by whoever the function returning it says. */
typedef struct Vec_uint8 {
  uint8_t *ptr;
  size_t len;
  size_t cap;
} Vec_uint8_t;

/* `error == NULL` means success; otherwise it holds a message (the runtime frees it with
 * dora_free_result_error when the operator allocated it with dora_result_error). */
typedef struct DoraResult {
  Vec_uint8_t *error;
} DoraResult_t;

typedef struct DoraDropOperator {
  DoraResult_t (*drop_operator)(void *);
} DoraDropOperator_t;

typedef struct DoraInitResult {
  DoraResult_t result;
  void *operator_context;
} DoraInitResult_t;

typedef struct DoraInitOperator {
  DoraInitResult_t (*init_operator)(void);
} DoraInitOperator_t;

/* Same ABI as uint8_t. */
enum DoraStatus {
  DORA_STATUS_CONTINUE = 0, /* keep going */
  DORA_STATUS_STOP = 1,     /* this operator is done */
  DORA_STATUS_STOP_ALL = 2, /* stop every operator of the runtime node */
};
typedef uint8_t DoraStatus_t;

typedef struct OnEventResult {
  DoraResult_t result;
  DoraStatus_t status;
} OnEventResult_t;

typedef struct Input Input_t;

/* Exactly one is set: an input (`input != NULL`), a closed input (its id in
 * `input_closed`), a stop (`stop`), or an error message (`error`). */
typedef struct RawEvent {
  Input_t *input;
  Vec_uint8_t input_closed;
  bool stop;
  Vec_uint8_t error;
} RawEvent_t;

typedef struct Output Output_t;

/* A callable the runtime hands to dora_on_event; call it through
 * dora_send_operator_output (or its Arrow variant) during that call. */
typedef struct ArcDynFn1_DoraResult_Output {
  void *env_ptr;
  DoraResult_t (*call)(void *, Output_t);
  void (*release)(void *);
  void (*retain)(void *);
} ArcDynFn1_DoraResult_Output_t;

typedef struct SendOutput {
  ArcDynFn1_DoraResult_Output_t send_output;
} SendOutput_t;

typedef struct DoraOnEvent {
  OnEventResult_t (*on_event)(RawEvent_t *, SendOutput_t const *, void *);
} DoraOnEvent_t;

typedef struct Metadata {
  Vec_uint8_t open_telemetry_context;
} Metadata_t;

/* ---- helpers (library dora_operator_api_c) ---------------------------------------------- */

/* The input's bytes (a UInt8 array without nulls; empty otherwise), copied: free them with
 * dora_free_data. */
Vec_uint8_t dora_read_data(Input_t *input);
void dora_free_data(Vec_uint8_t data);

/* The input id, NUL-terminated, malloc'ed: free it with dora_free_input_id. NULL for a
 * NULL input. */
char *dora_read_input_id(Input_t const *input);
void dora_free_input_id(char *input_id);

/* Sends `data_len` bytes (a UInt8 array) on this operator's output `id` (NUL-terminated). */
DoraResult_t dora_send_operator_output(SendOutput_t const *send_output, char const *id,
                                       uint8_t const *data_ptr, size_t data_len);

/* ---- helpers beyond dora-rs ---------------------------------------------------------------- */

/* The input as an Arrow array and schema, zero-copy; the caller owns and releases both.
 * 0 on success, -1 when the input carries no Arrow data. */
int dora_read_input_arrow(Input_t const *input, struct ArrowArray *array_out,
                          struct ArrowSchema *schema_out);

/* The input's message time in nanoseconds since the Unix epoch. */
uint64_t dora_read_input_timestamp_ns(Input_t const *input);

/* Sends an Arrow array on output `id`; the array and schema are moved (released by the
 * runtime, whatever the outcome). */
DoraResult_t dora_send_operator_output_arrow(SendOutput_t const *send_output, char const *id,
                                             struct ArrowArray *array, struct ArrowSchema *schema);

/* A failed DoraResult_t carrying `message` (NUL-terminated, copied), for operators to
 * return from dora_init_operator / dora_on_event / dora_drop_operator. */
DoraResult_t dora_result_error(char const *message);

/* Frees what a failed DoraResult_t holds (the runtime does this for results it gets). */
void dora_free_result_error(DoraResult_t result);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DORA_OPERATOR_TYPES_H */
