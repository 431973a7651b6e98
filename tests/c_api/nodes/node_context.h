/* Test helper: the node's context from DORA_NODE_CONFIG, or, when there is none, the
 * program ends with status 1 after printing `<name>: init failed: <reason>` to stderr. */
#ifndef TEST_NODE_CONTEXT_H
#define TEST_NODE_CONTEXT_H

#include <stdio.h>
#include <stdlib.h>

#include "dora_node_api.h"

static inline void *node_context_or_exit(const char *name) {
  void *ctx = init_dora_context_from_env();
  if (!ctx) {
    fprintf(stderr, "%s: init failed: %s\n", name, dora_last_error());
    exit(1);
  }
  return ctx;
}

#endif
