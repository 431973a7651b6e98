/* The C twin of tests/fault/nodes/forgetful.py: reads `data`; its first $FAIL_RUNS
 * incarnations fail (free the context, exit 1) after $PER_RUN messages, $LINGER seconds
 * after the last one they read. The last one sends `done` after $PER_RUN messages and
 * says how many it got once `data` closes. Every incarnation prints
 * `forgetful: run=R got=N failing|closed`. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dora_node_api.h"

static long env_long(const char *name, long fallback) {
  const char *text = getenv(name);
  return text ? strtol(text, NULL, 10) : fallback;
}

static int is_input(void *event, const char *name) {
  char *id;
  size_t len;
  read_dora_input_id(event, &id, &len);
  return len == strlen(name) && memcmp(id, name, len) == 0;
}

int main(void) {
  long per_run = env_long("PER_RUN", 1000), fail_runs = env_long("FAIL_RUNS", 3);
  double linger = getenv("LINGER") ? strtod(getenv("LINGER"), NULL) : 0.0;
  void *ctx = init_dora_context_from_env();
  if (!ctx) return 2;
  long run = (long)dora_restart_count(ctx), got = 0;
  int asked = 0;
  printf("forgetful: start run=%ld\n", run);
  void *event;
  while ((event = dora_next_event(ctx)) != NULL) {
    enum DoraEventType kind = read_dora_event_type(event);
    if (kind == DoraEventType_Stop) {
      free_dora_event(event);
      break;
    }
    if (kind == DoraEventType_Input && is_input(event, "data")) {
      got++;
      if (got >= per_run && run < fail_runs) {
        printf("forgetful: run=%ld got=%ld failing\n", run, got);
        fflush(stdout);
        free_dora_event(event);
        /* busy: its queue fills up, and nobody reads it any more */
        struct timespec nap = {(time_t)linger, (long)((linger - (double)(time_t)linger) * 1e9)};
        nanosleep(&nap, NULL);
        free_dora_context(ctx);
        return 1;
      }
      if (got >= per_run && !asked) {
        asked = 1;
        char yes = 1;
        dora_send_output(ctx, "done", 4, &yes, 1);
      }
    } else if (kind == DoraEventType_InputClosed && is_input(event, "data")) {
      printf("forgetful: run=%ld got=%ld closed\n", run, got);
    }
    free_dora_event(event);
  }
  free_dora_context(ctx);
  return 0;
}
