/* Logs 2000 records through dora_log and exits at once: every record must reach dora's
 * output although the process is gone before the daemon has read them all. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "node_api.h"

int main(void) {
  void *ctx = init_dora_context_from_env();
  if (!ctx) return 1;
  char line[64];
  for (int i = 0; i < 2000; i++) {
    int n = snprintf(line, sizeof line, "last words %d", i);
    if (dora_log(ctx, "info", 4, line, (size_t)n) != 0) return 2;
  }
  _exit(0); /* no free_dora_context: the records are all that is left */
}
