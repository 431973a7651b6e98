/* Reads twin_tx's `data` on two inputs, `a` and `b` (one message, two events sharing its
 * payload): checks the bytes and the parameters of every event, and keeps every third
 * message of `a` as an Arrow array beyond its event and beyond the `b` event of the same
 * message, so the payload outlives both events. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dora_node_api.h"
#include "node_context.h"
#include "twin_messages.h"

#define HELD 8

static int check_params(void *event, unsigned seq) {
  int64_t got;
  const char *note;
  size_t note_len;
  char want[32];
  int want_len = snprintf(want, sizeof want, "note %u", seq);
  return dora_event_param_int(event, "seq", &got) == DORA_OK && got == (int64_t)seq &&
         dora_event_param_string(event, "note", &note, &note_len) == DORA_OK &&
         note_len == (size_t)want_len && memcmp(note, want, note_len) == 0;
}

int main(void) {
  void *ctx = node_context_or_exit("twin_rx");
  unsigned next[2] = {0, 0}, wrong = 0, held_count = 0;
  struct ArrowArray held[HELD];
  struct ArrowSchema held_schema[HELD];
  unsigned held_seq[HELD];
  for (;;) {
    void *event = dora_next_event(ctx);
    if (!event) break;
    enum DoraEventType type = read_dora_event_type(event);
    if (type == DoraEventType_Stop) {
      free_dora_event(event);
      break;
    }
    if (type != DoraEventType_Input) {
      free_dora_event(event);
      continue;
    }
    char *id;
    size_t id_len;
    read_dora_input_id(event, &id, &id_len);
    int which = id_len == 1 && id[0] == 'b';
    unsigned seq = next[which]++;
    int ok = check_params(event, seq);
    char *data;
    size_t len;
    read_dora_input_data(event, &data, &len);
    ok = ok && twin_check((const uint8_t *)data, len, seq);
    if (!which && seq % 3 == 0) {
      if (held_count == HELD) { /* release the oldest: its events are long gone */
        ok = ok && twin_check(held[0].buffers[1], (size_t)held[0].length, held_seq[0]);
        held[0].release(&held[0]);
        held_schema[0].release(&held_schema[0]);
        memmove(held, held + 1, (HELD - 1) * sizeof *held);
        memmove(held_schema, held_schema + 1, (HELD - 1) * sizeof *held_schema);
        memmove(held_seq, held_seq + 1, (HELD - 1) * sizeof *held_seq);
        held_count--;
      }
      if (dora_event_arrow(event, &held[held_count], &held_schema[held_count]) == DORA_OK)
        held_seq[held_count++] = seq;
      else
        ok = 0;
    }
    free_dora_event(event);
    if (!ok && wrong++ < 5) fprintf(stderr, "twin_rx: message %u on `%c` is wrong\n", seq, which ? 'b' : 'a');
  }
  for (unsigned i = 0; i < held_count; i++) {
    if (!twin_check(held[i].buffers[1], (size_t)held[i].length, held_seq[i])) wrong++;
    held[i].release(&held[i]);
    held_schema[i].release(&held_schema[i]);
  }
  printf("twin_rx: a %u, b %u, %u wrong\n", next[0], next[1], wrong);
  free_dora_context(ctx);
  return wrong != 0;
}
