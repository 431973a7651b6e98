/* Sends EDGE_COUNT messages whose payloads and parameters sit on msgpack's encoding
 * boundaries (integer widths, str/bin 8/16/32 headers, fixmap and map16, long keys);
 * py_edges.py rebuilds the same table and checks every message. Keep the two in step. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dora_node_api.h"
#include "node_context.h"

#define EDGE_COUNT 60

static const int64_t INTS[] = {0,          127,         128,         255,        256,
                               65535,      65536,       4294967295,  4294967296, INT64_MAX,
                               -1,         -32,         -33,         -128,       -129,
                               -32768,     -32769,      INT32_MIN,   (int64_t)INT32_MIN - 1,
                               INT64_MIN};
static const size_t N_INTS = sizeof INTS / sizeof INTS[0];
static const size_t STR_LENS[] = {0, 31, 32, 255, 256, 70000};
static const size_t KEY_LENS[] = {2, 31, 32, 40};
static const size_t COUNTS[] = {0, 8, 9, 20};
static const size_t PAYLOADS[] = {0, 1, 255, 256, 300};

int main(void) {
  void *ctx = node_context_or_exit("c_edges");
  static char keys[20][41];
  static char texts[20][70000];
  uint8_t payload[300];
  int failures = 0;
  for (int k = 0; k < EDGE_COUNT; k++) {
    size_t n = COUNTS[k % 4];
    DoraParam params[20];
    memset(params, 0, sizeof params);
    for (size_t j = 0; j < n; j++) {
      size_t m = (size_t)k + j;
      size_t key_len = KEY_LENS[m % 4];
      snprintf(keys[j], 3, "%02zu", j);
      memset(keys[j] + 2, 'x', key_len - 2);
      keys[j][key_len] = 0;
      params[j].key = keys[j];
      size_t len = STR_LENS[m % 6];
      switch (m % 5) {
        case 0: params[j].type = DoraParamType_Int; params[j].value.i = INTS[m % N_INTS]; break;
        case 1: params[j].type = DoraParamType_Float; params[j].value.f = (double)m * 0.5 - 3; break;
        case 2: params[j].type = DoraParamType_Bool; params[j].value.b = m % 2; break;
        case 3:
          params[j].type = DoraParamType_String;
          memset(texts[j], 'a' + (int)(m % 26), len);
          params[j].value.s.ptr = texts[j];
          params[j].value.s.len = len;
          break;
        default:
          params[j].type = DoraParamType_Bytes;
          memset(texts[j], (int)(m % 256), len);
          params[j].value.s.ptr = texts[j];
          params[j].value.s.len = len;
      }
    }
    size_t size = PAYLOADS[k % 5];
    memset(payload, k & 0xff, size);
    if (dora_send_output_with_params(ctx, "edges", 5, (const char *)payload, size, params, n)) {
      fprintf(stderr, "c_edges: %s\n", dora_last_error());
      failures++;
    }
  }
  printf("c_edges: sent %d, %d failures\n", EDGE_COUNT, failures);
  free_dora_context(ctx);
  return failures != 0;
}
