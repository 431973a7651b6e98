/* Calls the API the wrong way: NULL pointers everywhere, unknown and closed outputs,
 * released and nested Arrow arrays. Every call must fail cleanly (return codes and
 * dora_last_error), never crash. Without DORA_NODE_CONFIG only the context-free part
 * runs. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dora_node_api.h"

static int failures = 0;

#define EXPECT(cond)                                                     \
  do {                                                                   \
    if (!(cond)) {                                                       \
      printf("misuse: FAILED %s (line %d)\n", #cond, __LINE__);          \
      failures++;                                                        \
    }                                                                    \
  } while (0)

static void no_release(struct ArrowArray *a) { a->release = NULL; }

static void null_calls(void) {
  char *p = (char *)"x";
  size_t n = 5;
  void *ev = (void *)1;
  free_dora_context(NULL);
  free_dora_event(NULL);
  EXPECT(dora_next_event(NULL) == NULL);
  EXPECT(dora_next_event_timeout(NULL, 0, &ev) == DORA_ERROR && ev == NULL);
  EXPECT(dora_next_event_timeout(NULL, 0, NULL) == DORA_ERROR);
  EXPECT(read_dora_event_type(NULL) == DoraEventType_Unknown);
  read_dora_input_id(NULL, &p, &n);
  EXPECT(p == NULL && n == 0);
  read_dora_input_id(NULL, NULL, NULL);
  read_dora_input_data(NULL, &p, &n);
  EXPECT(p == NULL && n == 0);
  read_dora_input_data(NULL, NULL, NULL);
  EXPECT(read_dora_input_timestamp(NULL) == 0);
  EXPECT(dora_send_output(NULL, "out", 3, "x", 1) == -1);
  EXPECT(dora_send_output(NULL, NULL, 0, NULL, 0) == -1);
  EXPECT(dora_log(NULL, "info", 4, "x", 1) == -1);
  EXPECT(strcmp(dora_event_type_name(NULL), "") == 0);
  const char *t = "x";
  dora_event_text(NULL, &t, &n);
  EXPECT(t == NULL && n == 0);
  dora_event_text(NULL, NULL, NULL);
  dora_event_param_json(NULL, NULL, NULL);
  EXPECT(dora_event_timestamp_ns(NULL) == 0);
  EXPECT(dora_event_param_count(NULL) == 0);
  EXPECT(dora_event_param_key(NULL, 0) == NULL);
  EXPECT(dora_event_param_type(NULL, NULL) == DoraParamType_Missing);
  bool b;
  int64_t i;
  const char *s;
  const uint8_t *bytes;
  EXPECT(dora_event_param_bool(NULL, "k", &b) == DORA_ERROR);
  EXPECT(dora_event_param_int(NULL, NULL, &i) == DORA_ERROR);
  EXPECT(dora_event_param_float(NULL, "k", NULL) == DORA_ERROR);
  EXPECT(dora_event_param_string(NULL, "k", &s, NULL) == DORA_ERROR);
  EXPECT(dora_event_param_bytes(NULL, "k", &bytes, &n) == DORA_ERROR);
  EXPECT(dora_event_param_to_json(NULL, NULL) == NULL);
  dora_free_string(NULL);
  EXPECT(dora_event_arrow(NULL, NULL, NULL) == DORA_ERROR);
  EXPECT(dora_send_output_arrow(NULL, "out", 3, NULL, NULL, NULL, 0) == DORA_ERROR);
  EXPECT(dora_send_output_with_params(NULL, "out", 3, "x", 1, NULL, 3) == DORA_ERROR);
  uint8_t *room = (uint8_t *)1;
  EXPECT(dora_alloc_sample(NULL, 10, &room) == NULL && room == NULL);
  EXPECT(dora_alloc_sample(NULL, 10, NULL) == NULL);
  EXPECT(dora_send_sample(NULL, "out", 3, NULL, NULL, 0) == DORA_ERROR);
  dora_free_sample(NULL, NULL);
  EXPECT(dora_close_outputs(NULL, NULL, 0) == DORA_ERROR);
  EXPECT(dora_dataflow_id(NULL) == NULL && dora_node_id(NULL) == NULL);
  EXPECT(dora_restart_count(NULL) == 0);
  EXPECT(dora_last_error() != NULL && dora_last_error()[0] != 0);
}

static void context_calls(void *ctx) {
  EXPECT(strcmp(dora_node_id(ctx), "c") == 0);
  EXPECT(dora_send_output(ctx, "nope", 4, "x", 1) == -1);
  EXPECT(strstr(dora_last_error(), "not declared") != NULL);
  printf("misuse: unknown output: %s\n", dora_last_error());
  EXPECT(dora_send_output(ctx, "out", 3, NULL, 5) == -1);
  EXPECT(dora_send_output(ctx, NULL, 3, "x", 1) == -1);
  DoraParam bad;
  memset(&bad, 0, sizeof bad);
  bad.type = DoraParamType_Int;
  EXPECT(dora_send_output_with_params(ctx, "out", 3, "x", 1, &bad, 1) == -1);
  bad.key = "k";
  bad.type = (DoraParamType)42;
  EXPECT(dora_send_output_with_params(ctx, "out", 3, "x", 1, &bad, 1) == -1);
  /* Arrow: released, nested, NULL buffers, wrong buffer count */
  struct ArrowArray array;
  struct ArrowSchema schema;
  memset(&array, 0, sizeof array);
  memset(&schema, 0, sizeof schema);
  schema.format = "i";
  EXPECT(dora_send_output_arrow(ctx, "out", 3, &array, &schema, NULL, 0) == -1);
  array.release = no_release;
  schema.release = (void (*)(struct ArrowSchema *))no_release;
  schema.format = "+l";
  EXPECT(dora_send_output_arrow(ctx, "out", 3, &array, &schema, NULL, 0) == -1);
  printf("misuse: nested: %s\n", dora_last_error());
  schema.format = "i";
  array.length = 3;
  array.n_buffers = 2;
  EXPECT(dora_send_output_arrow(ctx, "out", 3, &array, &schema, NULL, 0) == -1);
  const void *buffers[2] = {NULL, NULL};
  array.buffers = buffers;
  EXPECT(dora_send_output_arrow(ctx, "out", 3, &array, &schema, NULL, 0) == -1);
  array.n_buffers = 3;
  EXPECT(dora_send_output_arrow(ctx, "out", 3, &array, &schema, NULL, 0) == -1);
  schema.format = "tsn:Europe/Paris";
  array.n_buffers = 2;
  int64_t values[3] = {1, 2, 3};
  buffers[1] = values;
  EXPECT(dora_send_output_arrow(ctx, "out", 3, &array, &schema, NULL, 0) == -1);
  printf("misuse: tz: %s\n", dora_last_error());
  /* over the 256 MiB message limit */
  uint8_t *room;
  EXPECT(dora_alloc_sample(ctx, (size_t)300 * 1024 * 1024, &room) == NULL);
  EXPECT(strstr(dora_last_error(), "limit") != NULL);
  /* a sample sent on an unknown output is consumed, not leaked */
  void *sample = dora_alloc_sample(ctx, 100000, &room);
  EXPECT(sample != NULL);
  EXPECT(dora_send_sample(ctx, "nope", 4, sample, NULL, 0) == -1);
  sample = dora_alloc_sample(ctx, 10, &room);
  dora_free_sample(ctx, sample);
  /* closing */
  const char *unknown[] = {"nope"};
  EXPECT(dora_close_outputs(ctx, unknown, 1) == -1);
  EXPECT(dora_close_outputs(ctx, NULL, 1) == -1);
  const char *outs[] = {"out"};
  EXPECT(dora_close_outputs(ctx, outs, 1) == 0);
  EXPECT(dora_send_output(ctx, "out", 3, "x", 1) == -1);
  EXPECT(strstr(dora_last_error(), "closed") != NULL);
  /* events read with NULL out pointers */
  void *event = NULL;
  EXPECT(dora_next_event_timeout(ctx, 5000, &event) == DORA_OK && event != NULL);
  read_dora_input_id(event, NULL, NULL);
  read_dora_input_data(event, NULL, NULL);
  dora_event_text(event, NULL, NULL);
  EXPECT(dora_event_arrow(event, NULL, NULL) == -1);
  EXPECT(dora_event_param_int(event, "missing", NULL) == -1);
  EXPECT(dora_event_param_to_json(event, "missing") == NULL);
  free_dora_event(event);
  EXPECT(dora_next_event_timeout(ctx, 0, &event) == DORA_TIMEOUT && event == NULL);
  EXPECT(dora_log(ctx, NULL, 3, "x", 1) == -1);
  EXPECT(dora_log(ctx, "nonsense-level", 14, "still logged", 12) == 0);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* the test reads the lines as they come */
  null_calls();
  if (getenv("DORA_NODE_CONFIG")) {
    void *ctx = init_dora_context_from_env();
    EXPECT(ctx != NULL);
    if (ctx) {
      context_calls(ctx);
      free_dora_context(ctx);
    }
  } else {
    EXPECT(init_dora_context_from_env() == NULL);
    printf("misuse: init: %s\n", dora_last_error());
    setenv("DORA_NODE_CONFIG", "{not json", 1);
    EXPECT(init_dora_context_from_env() == NULL);
    printf("misuse: bad config: %s\n", dora_last_error());
    setenv("DORA_NODE_CONFIG", "{\"dataflow_id\": \"x\"}", 1);
    EXPECT(init_dora_context_from_env() == NULL);
    setenv("DORA_NODE_CONFIG",
           "{\"dataflow_id\":\"x\",\"node_id\":\"n\",\"daemon_address\":\"\\u0000nobody-here\","
           "\"listen_address\":\"\\u0000dora-c-misuse-listen\"}",
           1);
    EXPECT(init_dora_context_from_env() == NULL);
    printf("misuse: no daemon: %s\n", dora_last_error());
  }
  printf("misuse: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
  return failures != 0;
}
