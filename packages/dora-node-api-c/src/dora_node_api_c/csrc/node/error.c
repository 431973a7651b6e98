/* The last error, per thread: every failing call leaves its message here and returns
 * -1 or NULL; nothing in the library aborts. */
#include <stdarg.h>
#include <stdio.h>

#include "node.h"

static _Thread_local char last_error[512];

const char *dora_last_error(void) { return last_error; }

int dn_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return -1;
}

/* Problems nobody called about (a broken peer, a dropped frame) go to stderr, which the
 * daemon collects into the node's log. */
void dn_log_stderr(const char *fmt, ...) {
  char line[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "dora (C node): %s\n", line);
  fflush(stderr);
}
