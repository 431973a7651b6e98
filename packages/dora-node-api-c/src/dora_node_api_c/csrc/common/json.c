/* Recursive-descent JSON reader and string escaper (see json.h). */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct {
  const char *p;
  const char *end;
  char *err;
  size_t err_len;
} jp;

static int fail(jp *s, const char *what) {
  if (s->err && s->err_len) snprintf(s->err, s->err_len, "%s", what);
  return -1;
}

static void ws(jp *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

static int hex4(jp *s, unsigned *out) {
  if (s->end - s->p < 4) return -1;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = s->p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  s->p += 4;
  *out = v;
  return 0;
}

static void put_utf8(dn_buf *b, unsigned cp) {
  if (cp < 0x80) {
    dn_buf_byte(b, (uint8_t)cp);
  } else if (cp < 0x800) {
    dn_buf_byte(b, (uint8_t)(0xc0 | (cp >> 6)));
    dn_buf_byte(b, (uint8_t)(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    dn_buf_byte(b, (uint8_t)(0xe0 | (cp >> 12)));
    dn_buf_byte(b, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)));
    dn_buf_byte(b, (uint8_t)(0x80 | (cp & 0x3f)));
  } else {
    dn_buf_byte(b, (uint8_t)(0xf0 | (cp >> 18)));
    dn_buf_byte(b, (uint8_t)(0x80 | ((cp >> 12) & 0x3f)));
    dn_buf_byte(b, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)));
    dn_buf_byte(b, (uint8_t)(0x80 | (cp & 0x3f)));
  }
}

/* Parses a string at s->p (after the opening quote) into a malloc'ed NUL-terminated copy. */
static int string(jp *s, char **out, size_t *out_len) {
  dn_buf b;
  dn_buf_init(&b, 0);
  for (;;) {
    if (s->p >= s->end) {
      dn_buf_free(&b);
      return fail(s, "unterminated string");
    }
    char c = *s->p++;
    if (c == '"') break;
    if ((unsigned char)c < 0x20) {
      dn_buf_free(&b);
      return fail(s, "control character in string");
    }
    if (c != '\\') {
      dn_buf_byte(&b, (uint8_t)c);
      continue;
    }
    if (s->p >= s->end) break;
    c = *s->p++;
    switch (c) {
      case '"': case '\\': case '/': dn_buf_byte(&b, (uint8_t)c); break;
      case 'b': dn_buf_byte(&b, '\b'); break;
      case 'f': dn_buf_byte(&b, '\f'); break;
      case 'n': dn_buf_byte(&b, '\n'); break;
      case 'r': dn_buf_byte(&b, '\r'); break;
      case 't': dn_buf_byte(&b, '\t'); break;
      case 'u': {
        unsigned cp;
        if (hex4(s, &cp)) {
          dn_buf_free(&b);
          return fail(s, "bad \\u escape");
        }
        if (cp >= 0xd800 && cp < 0xdc00 && s->end - s->p >= 6 && s->p[0] == '\\' &&
            s->p[1] == 'u') {
          const char *save = s->p;
          unsigned lo;
          s->p += 2;
          if (hex4(s, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000)
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          else
            s->p = save;
        }
        put_utf8(&b, cp);
        break;
      }
      default:
        dn_buf_free(&b);
        return fail(s, "bad escape in string");
    }
  }
  dn_buf_byte(&b, 0);
  if (b.failed) {
    dn_buf_free(&b);
    return fail(s, "out of memory");
  }
  *out = (char *)b.data;
  *out_len = b.len - 1;
  return 0;
}

static int value(jp *s, jval *v, int depth);

static int grow(void **items, size_t elem, size_t n, size_t *cap) {
  if (n < *cap) return 0;
  size_t ncap = *cap ? *cap * 2 : 4;
  void *p = realloc(*items, ncap * elem);
  if (!p) return -1;
  *items = p;
  *cap = ncap;
  return 0;
}

static int array(jp *s, jval *v, int depth) {
  size_t cap = 0;
  v->type = J_ARR;
  ws(s);
  if (s->p < s->end && *s->p == ']') {
    s->p++;
    return 0;
  }
  for (;;) {
    if (grow((void **)&v->items, sizeof(jval), v->n, &cap)) return fail(s, "out of memory");
    memset(&v->items[v->n], 0, sizeof(jval));
    v->n++;
    if (value(s, &v->items[v->n - 1], depth + 1)) return -1;
    ws(s);
    if (s->p >= s->end) return fail(s, "unterminated array");
    char c = *s->p++;
    if (c == ']') return 0;
    if (c != ',') return fail(s, "expected , or ] in array");
  }
}

static int object(jp *s, jval *v, int depth) {
  size_t cap = 0, kcap = 0, lcap = 0;
  v->type = J_OBJ;
  ws(s);
  if (s->p < s->end && *s->p == '}') {
    s->p++;
    return 0;
  }
  for (;;) {
    ws(s);
    if (s->p >= s->end || *s->p != '"') return fail(s, "expected a key in object");
    s->p++;
    if (grow((void **)&v->items, sizeof(jval), v->n, &cap) ||
        grow((void **)&v->keys, sizeof(char *), v->n, &kcap) ||
        grow((void **)&v->key_lens, sizeof(size_t), v->n, &lcap))
      return fail(s, "out of memory");
    memset(&v->items[v->n], 0, sizeof(jval));
    v->keys[v->n] = NULL;
    v->n++;
    if (string(s, &v->keys[v->n - 1], &v->key_lens[v->n - 1])) return -1;
    ws(s);
    if (s->p >= s->end || *s->p != ':') return fail(s, "expected : in object");
    s->p++;
    if (value(s, &v->items[v->n - 1], depth + 1)) return -1;
    ws(s);
    if (s->p >= s->end) return fail(s, "unterminated object");
    char c = *s->p++;
    if (c == '}') return 0;
    if (c != ',') return fail(s, "expected , or } in object");
  }
}

static int number(jp *s, jval *v) {
  const char *start = s->p;
  bool integral = true;
  if (s->p < s->end && *s->p == '-') s->p++;
  while (s->p < s->end) {
    char c = *s->p;
    if (c >= '0' && c <= '9') {
      s->p++;
    } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
      integral = false;
      s->p++;
    } else {
      break;
    }
  }
  size_t n = (size_t)(s->p - start);
  if (n == 0 || n > 63) return fail(s, "bad number");
  char tmp[64];
  memcpy(tmp, start, n);
  tmp[n] = 0;
  char *endp;
  v->type = J_NUM;
  v->num = strtod(tmp, &endp);
  if (*endp) return fail(s, "bad number");
  if (integral) {
    errno = 0;
    long long i = strtoll(tmp, &endp, 10);
    if (!errno && !*endp) {
      v->is_int = true;
      v->i = i;
    }
  }
  return 0;
}

static int literal(jp *s, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) return -1;
  s->p += n;
  return 0;
}

static int value(jp *s, jval *v, int depth) {
  if (depth > MAX_DEPTH) return fail(s, "nested too deeply");
  ws(s);
  if (s->p >= s->end) return fail(s, "unexpected end of JSON");
  char c = *s->p;
  if (c == '{') {
    s->p++;
    return object(s, v, depth);
  }
  if (c == '[') {
    s->p++;
    return array(s, v, depth);
  }
  if (c == '"') {
    s->p++;
    v->type = J_STR;
    return string(s, &v->s, &v->slen);
  }
  if (c == 't' && literal(s, "true") == 0) {
    v->type = J_BOOL;
    v->b = true;
    return 0;
  }
  if (c == 'f' && literal(s, "false") == 0) {
    v->type = J_BOOL;
    return 0;
  }
  if (c == 'n' && literal(s, "null") == 0) {
    v->type = J_NULL;
    return 0;
  }
  if (c == '-' || (c >= '0' && c <= '9')) return number(s, v);
  return fail(s, "unexpected character in JSON");
}

int json_parse(const char *text, size_t len, jval *out, char *err, size_t err_len) {
  jp s = {text, text + len, err, err_len};
  memset(out, 0, sizeof *out);
  if (!text) return fail(&s, "no JSON text");
  if (value(&s, out, 0)) return -1;
  ws(&s);
  if (s.p != s.end) return fail(&s, "trailing characters after JSON");
  return 0;
}

void json_free(jval *v) {
  if (!v) return;
  free(v->s);
  for (size_t i = 0; i < v->n; i++) {
    if (v->items) json_free(&v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v->key_lens);
  memset(v, 0, sizeof *v);
}

const jval *json_get(const jval *obj, const char *key) {
  if (!obj || obj->type != J_OBJ) return NULL;
  size_t n = strlen(key);
  for (size_t i = 0; i < obj->n; i++)
    if (obj->key_lens[i] == n && memcmp(obj->keys[i], key, n) == 0) return &obj->items[i];
  return NULL;
}

void json_w_str(dn_buf *b, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  dn_buf_byte(b, '"');
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      dn_buf_byte(b, '\\');
      dn_buf_byte(b, c);
    } else if (c == '\n') {
      dn_buf_put(b, "\\n", 2);
    } else if (c == '\r') {
      dn_buf_put(b, "\\r", 2);
    } else if (c == '\t') {
      dn_buf_put(b, "\\t", 2);
    } else if (c < 0x20) {
      char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      dn_buf_put(b, esc, 6);
    } else {
      dn_buf_byte(b, c);
    }
  }
  dn_buf_byte(b, '"');
}
