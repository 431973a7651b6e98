/* stress_rx with the events (and the Arrow arrays made from them) checked and freed on a
 * worker thread while the main thread waits in dora_next_event: the release path runs
 * concurrently with the event loop. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "dora_node_api.h"
#include "node_context.h"
#include "stress_messages.h"

#define RING 256

typedef struct {
  void *event; /* NULL: the end */
  struct ArrowArray array;
  struct ArrowSchema schema;
  int has_array;
} item;

static item ring[RING];
static unsigned head, tail;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static unsigned bad;

static void *worker(void *arg) {
  (void)arg;
  unsigned expected = 0;
  for (;;) {
    pthread_mutex_lock(&lock);
    while (head == tail) pthread_cond_wait(&cond, &lock);
    item it = ring[tail % RING];
    tail++;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    if (!it.event && !it.has_array) return NULL;
    int ok;
    if (it.has_array) {
      ok = check((const uint8_t *)it.array.buffers[1], (size_t)it.array.length, expected);
      it.array.release(&it.array);
      it.schema.release(&it.schema);
      if (it.event) free_dora_event(it.event);
    } else {
      char *data;
      size_t len;
      read_dora_input_data(it.event, &data, &len);
      ok = check((const uint8_t *)data, len, expected);
      free_dora_event(it.event);
    }
    if (!ok && bad++ < 5) fprintf(stderr, "threaded_rx: message %u is wrong\n", expected);
    expected++;
  }
}

static void put(item it) {
  pthread_mutex_lock(&lock);
  while (head - tail >= RING) pthread_cond_wait(&cond, &lock);
  ring[head % RING] = it;
  head++;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
}

int main(void) {
  void *ctx = node_context_or_exit("threaded_rx");
  pthread_t thread;
  pthread_create(&thread, NULL, worker, NULL);
  unsigned count = 0;
  for (;;) {
    void *event = dora_next_event(ctx);
    if (!event) break;
    if (read_dora_event_type(event) != DoraEventType_Input) {
      free_dora_event(event);
      continue;
    }
    item it;
    memset(&it, 0, sizeof it);
    if (count % 2 == 0 && dora_event_arrow(event, &it.array, &it.schema) == DORA_OK) {
      it.has_array = 1;
      /* every fourth: the event goes first, the array lives on in the worker */
      if (count % 4 == 0) free_dora_event(event);
      else it.event = event;
    } else {
      it.event = event;
    }
    put(it);
    count++;
    if (count % BLOCK == 0 && dora_send_output(ctx, "ack", 3, "k", 1) != 0)
      fprintf(stderr, "threaded_rx: ack failed: %s\n", dora_last_error());
  }
  item end;
  memset(&end, 0, sizeof end);
  put(end);
  pthread_join(thread, NULL);
  printf("threaded_rx: %u messages, %u wrong\n", count, bad);
  free_dora_context(ctx);
  return bad != 0;
}
