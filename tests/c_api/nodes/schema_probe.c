/* Test probe for the library's Arrow schema code (compiled with the library's sources,
 * so its internal functions are reachable): for each hex-encoded IPC schema message on
 * the command line, prints the parsed type's C format and name, and the schema the
 * library writes back for that type (hex), or the error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow_type.h"

/* a time zone from a mangled message may hold any byte: keep one line per input */
static void printable(char *s) {
  for (; *s; s++)
    if (*s < 0x20 || *s > 0x7e) *s = '?';
}

static size_t unhex(const char *text, uint8_t *out) {
  size_t n = strlen(text) / 2;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(text + 2 * i, "%2x", &v);
    out[i] = (uint8_t)v;
  }
  return n;
}

int main(int argc, char **argv) {
  for (int a = 1; a < argc; a++) {
    uint8_t *bytes = malloc(strlen(argv[a]) / 2 + 1);
    size_t len = unhex(argv[a], bytes);
    dn_type t;
    char err[256];
    if (dn_schema_parse(bytes, len, &t, err, sizeof err)) {
      printable(err);
      printf("parse-error %s\n", err);
      free(bytes);
      continue;
    }
    printable(t.format);
    printable(t.name);
    printf("%s|%s|", t.format[0] ? t.format : "-", t.name);
    dn_buf out;
    dn_buf_init(&out, 0);
    if (t.id != DN_T_OTHER && dn_schema_write(&t, &out, err, sizeof err) == 0) {
      for (size_t i = 0; i < out.len; i++) printf("%02x", out.data[i]);
    } else {
      printf("-");
    }
    printf("\n");
    dn_buf_free(&out);
    free(bytes);
  }
  return 0;
}
