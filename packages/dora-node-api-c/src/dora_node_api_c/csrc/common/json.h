/* A small JSON reader (a tree of values, strings decoded with their \u escapes, NUL
 * included: abstract socket addresses start with \u0000) and a string escaper for the
 * JSON the C API writes. Nesting is limited so a hostile document cannot exhaust the
 * stack. */
#ifndef DN_JSON_H
#define DN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dn_buf.h"

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
  jtype type;
  bool b;
  bool is_int;      /* the number was written without fraction or exponent, fits int64 */
  int64_t i;
  double num;
  char *s;          /* J_STR: decoded, NUL-terminated, may contain NULs (see slen) */
  size_t slen;
  size_t n;         /* J_ARR / J_OBJ: number of items */
  struct jval *items;
  char **keys;      /* J_OBJ: decoded keys, NUL-terminated */
  size_t *key_lens;
} jval;

/* 0, or -1 with a message in `err`. Free the tree with json_free even on error. */
DN_HIDDEN int json_parse(const char *text, size_t len, jval *out, char *err, size_t err_len);
DN_HIDDEN void json_free(jval *v);
/* The member `key` of an object (NULL when absent or not an object). */
DN_HIDDEN const jval *json_get(const jval *obj, const char *key);
/* Appends `s` as a quoted JSON string. */
DN_HIDDEN void json_w_str(dn_buf *b, const char *s, size_t len);

#endif
