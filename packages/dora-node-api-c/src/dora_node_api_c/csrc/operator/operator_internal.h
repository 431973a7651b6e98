/* The insides of the operator helper library: the opaque Input and Output of
 * operator_types.h, and the functions the Python operator runtime
 * (dora/_operators/native_abi.py) calls through ctypes. The runtime mirrors the structs
 * below field by field and checks their sizes with dora_operator__sizeof_*() at load time,
 * so any change here must be made there too. */
#ifndef DORA_OPERATOR_INTERNAL_H
#define DORA_OPERATOR_INTERNAL_H

#include <stdint.h>

#include "operator_types.h"

#define DORA_EXPORT __attribute__((visibility("default")))
/* Shared between this library's files only: not part of what operators may link to. */
#define DORA_INTERNAL __attribute__((visibility("hidden")))

struct dora_shared_input; /* arrow_share.c */

/* One input event, filled by the runtime before it calls dora_on_event: the id and the
 * time are the runtime's; the array and schema are the input's value exported by pyarrow
 * (Arrow C Data Interface). dora_operator__call_on_event moves them into a reference
 * counted holder (`shared`) before the call, so that arrays the operator reads may
 * outlive the event, and drops the runtime's reference when the call returns. */
struct Input {
  const char *id;        /* bare input id (`tick`, not `op/tick`), NUL-terminated */
  uint64_t timestamp_ns; /* message time, ns since the Unix epoch */
  struct ArrowArray array;
  struct ArrowSchema schema;
  struct dora_shared_input *shared; /* set by dora_operator__call_on_event */
};

/* One output, built by the send helpers and passed by value to SendOutput_t.call; the
 * trampoline hands it to the runtime, which imports (moves) the array and schema. */
struct Output {
  char *id; /* output id without the operator prefix, malloc'ed, freed by the trampoline */
  struct ArrowArray array;
  struct ArrowSchema schema;
};

/* What the runtime registers per operator as SendOutput_t.env_ptr. `send` is a ctypes
 * callback: NULL on success, else an error message kept alive by the runtime until the
 * next call. */
typedef const char *(*dora_operator__send_fn)(void *context, struct Output *output);
struct dora_operator__send_env {
  dora_operator__send_fn send;
  void *context;
};

/* ---- called by the runtime (ctypes) -------------------------------------------------- */

DORA_EXPORT size_t dora_operator__sizeof_input(void);
DORA_EXPORT size_t dora_operator__sizeof_output(void);
DORA_EXPORT size_t dora_operator__sizeof_raw_event(void);
DORA_EXPORT size_t dora_operator__sizeof_send_output(void);

/* SendOutput_t.call and its no-op retain/release. */
DORA_EXPORT DoraResult_t dora_operator__send_trampoline(void *env, Output_t output);
DORA_EXPORT void dora_operator__noop(void *env);

/* Calls into an operator, with the operator named for the crash handler meanwhile
 * (`label` must stay valid until the call returns). call_on_event releases the runtime's
 * hold on event->input (if any) once the operator returned. */
DORA_EXPORT void dora_operator__call_init(DoraInitResult_t (*init)(void), const char *label,
                                          DoraInitResult_t *out);
DORA_EXPORT void dora_operator__call_on_event(OnEventResult_t (*on_event)(RawEvent_t *,
                                                                           SendOutput_t const *,
                                                                           void *),
                                              const char *label, RawEvent_t *event,
                                              SendOutput_t const *send_output, void *context,
                                              OnEventResult_t *out);
DORA_EXPORT void dora_operator__call_drop(DoraResult_t (*drop)(void *), const char *label,
                                          void *context, DoraResult_t *out);

/* Once per runtime process: the SIGSEGV/SIGBUS/SIGFPE/SIGILL/SIGABRT handler naming the
 * operator that was running (crash.c), and line-buffered C stdout. 0, or -1 if sigaction
 * failed. */
DORA_EXPORT int dora_operator__runtime_init(const char *node_id);

/* Releases the runtime's hold on an input (its arrays, or its reference to them). */
DORA_EXPORT void dora_operator__input_release(struct Input *input);

/* ---- between the library's own files ------------------------------------------------- */

/* The operator currently called on this process (crash.c). */
DORA_INTERNAL const char *dora_operator_current_swap(const char *label);

/* Moves the input's array and schema into a reference-counted holder, so that arrays
 * read by the operator may outlive the event (arrow_share.c). 0, or -1 out of memory. */
DORA_INTERNAL int dora_shared_input_attach(struct Input *input);
/* A new reference to the shared array: a complete ArrowArray (children and dictionary
 * too) whose release drops that reference. */
DORA_INTERNAL int dora_shared_input_export(struct dora_shared_input *shared, struct ArrowArray *out);
/* Deep copy of a schema (schemas are small; arrays are shared, never copied). */
DORA_INTERNAL int dora_schema_copy(const struct ArrowSchema *source, struct ArrowSchema *out);
/* The input's array and schema, wherever they live now (NULL when there are none). */
DORA_INTERNAL const struct ArrowArray *dora_input_array(const struct Input *input);
DORA_INTERNAL const struct ArrowSchema *dora_input_schema(const struct Input *input);

#endif /* DORA_OPERATOR_INTERNAL_H */
