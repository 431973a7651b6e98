/* See bench_common.h. */
#define _POSIX_C_SOURCE 200809L
#include "bench_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t bench_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void bench_sleep_until(int64_t deadline_ns) {
  struct timespec ts = {.tv_sec = deadline_ns / 1000000000LL, .tv_nsec = deadline_ns % 1000000000LL};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

const char *bench_verify(const uint8_t *data, size_t len, size_t size, int64_t seq) {
  if (len != size) return "wrong length";
  if (size == 0) return NULL;
  if (data == NULL) return "no data";
  uint8_t want = bench_expected_byte(seq);
  /* every byte, as the Python receiver does (it uses min/max for large payloads) */
  for (size_t i = 0; i < size; i++) {
    if (data[i] != want) return "wrong byte";
  }
  return NULL;
}

static int parse_list(const char *name, double *out, size_t *n) {
  const char *text = getenv(name);
  if (text == NULL) {
    fprintf(stderr, "bench: %s is not set\n", name);
    return -1;
  }
  size_t count = 0;
  const char *p = text;
  while (*p) {
    char *end;
    double value = strtod(p, &end);
    if (end == p) {
      fprintf(stderr, "bench: %s=%s is not a list of numbers\n", name, text);
      return -1;
    }
    if (count == BENCH_MAX_SIZES) {
      fprintf(stderr, "bench: %s has more than %d items\n", name, BENCH_MAX_SIZES);
      return -1;
    }
    out[count++] = value;
    p = (*end == ',') ? end + 1 : end;
    if (*end != ',' && *end != '\0') {
      fprintf(stderr, "bench: %s=%s is not a list of numbers\n", name, text);
      return -1;
    }
  }
  *n = count;
  return 0;
}

int bench_plan_from_env(BenchPlan *plan) {
  double v[4][BENCH_MAX_SIZES];
  size_t n[4];
  const char *names[4] = {"BENCH_SIZES", "BENCH_COUNTS", "BENCH_WARMUPS", "BENCH_INTERVALS_MS"};
  for (int i = 0; i < 4; i++) {
    if (parse_list(names[i], v[i], &n[i]) != 0) return -1;
  }
  if (n[1] != n[0] || n[2] != n[0] || n[3] != n[0]) {
    fprintf(stderr, "bench: BENCH_SIZES, _COUNTS, _WARMUPS, _INTERVALS_MS differ in length\n");
    return -1;
  }
  plan->n = n[0];
  for (size_t i = 0; i < plan->n; i++) {
    plan->sizes[i] = (int64_t)v[0][i];
    plan->counts[i] = (int64_t)v[1][i];
    plan->warmups[i] = (int64_t)v[2][i];
    plan->intervals_ms[i] = v[3][i];
  }
  return 0;
}

int64_t bench_plan_total(const BenchPlan *plan) {
  int64_t total = 0;
  for (size_t i = 0; i < plan->n; i++) total += plan->counts[i] + plan->warmups[i];
  return total;
}

void bench_stats_init(BenchStats *stats, int64_t expect) {
  memset(stats, 0, sizeof *stats);
  stats->expect = expect;
  stats->max_seq = -1;
  stats->seen = calloc(expect > 0 ? (size_t)expect : 1, 1);
  stats->end = "stream ended";
}

static BenchSize *size_slot(BenchStats *stats, int64_t size) {
  for (size_t i = 0; i < stats->n_sizes; i++) {
    if (stats->sizes[i].size == size) return &stats->sizes[i];
  }
  if (stats->n_sizes == BENCH_MAX_SIZES) return NULL;
  BenchSize *slot = &stats->sizes[stats->n_sizes++];
  memset(slot, 0, sizeof *slot);
  slot->size = size;
  return slot;
}

void bench_stats_error(BenchStats *stats, const char *text) {
  if (stats->n_errors < 4) {
    snprintf(stats->errors[stats->n_errors++], sizeof stats->errors[0], "%s", text);
  }
}

bool bench_stats_add(BenchStats *stats, int64_t t_recv, int64_t seq, int64_t size, bool warm,
                     int64_t t_send, const char *error) {
  bool completed = false;
  stats->received++;
  if (stats->first_recv_ns == 0) stats->first_recv_ns = t_recv;
  if (error != NULL) {
    char text[160];
    snprintf(text, sizeof text, "seq %lld: %s", (long long)seq, error);
    stats->corrupt++;
    bench_stats_error(stats, text);
  }
  if (seq >= 0 && seq < stats->expect) {
    if (stats->seen[seq]) {
      stats->duplicates++;
    } else {
      stats->seen[seq] = 1;
      stats->unique++;
      completed = stats->unique == stats->expect;
    }
  } else {
    bench_stats_error(stats, "sequence number out of range");
    stats->corrupt++;
  }
  if (seq <= stats->max_seq) stats->reordered++;
  if (seq > stats->max_seq) stats->max_seq = seq;
  BenchSize *slot = size_slot(stats, size);
  if (slot == NULL) return completed;
  if (warm) {
    slot->warm++;
    return completed;
  }
  slot->received++;
  if (slot->n_lat == slot->cap_lat) {
    size_t cap = slot->cap_lat ? 2 * slot->cap_lat : 256;
    int64_t *grown = realloc(slot->lat_ns, cap * sizeof *grown);
    if (grown == NULL) return completed;
    slot->lat_ns = grown;
    slot->cap_lat = cap;
  }
  slot->lat_ns[slot->n_lat++] = t_recv - t_send;
  /* min rather than first: a reordered message must not shorten a burst's span */
  if (slot->first_send_ns == 0 || t_send < slot->first_send_ns) slot->first_send_ns = t_send;
  if (slot->first_recv_ns == 0) slot->first_recv_ns = t_recv;
  slot->last_recv_ns = t_recv;
  return completed;
}

static void write_json_string(FILE *out, const char *text) {
  fputc('"', out);
  for (const char *p = text; *p; p++) {
    if (*p == '"' || *p == '\\') fputc('\\', out);
    if ((unsigned char)*p < 0x20) {
      fprintf(out, "\\u%04x", (unsigned char)*p);
      continue;
    }
    fputc(*p, out);
  }
  fputc('"', out);
}

static void write_opt(FILE *out, const char *key, int64_t value, bool comma) {
  if (value == 0) {
    fprintf(out, "\"%s\": null%s", key, comma ? ", " : "");
  } else {
    fprintf(out, "\"%s\": %lld%s", key, (long long)value, comma ? ", " : "");
  }
}

int bench_stats_write(const BenchStats *stats, const char *path) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return -1;
  FILE *out = fopen(tmp, "w");
  if (out == NULL) {
    perror("bench: cannot write the result");
    return -1;
  }
  fprintf(out,
          "{\"received\": %lld, \"unique\": %lld, \"duplicates\": %lld, \"reordered\": %lld, "
          "\"corrupt\": %lld, \"errors\": [",
          (long long)stats->received, (long long)stats->unique, (long long)stats->duplicates,
          (long long)stats->reordered, (long long)stats->corrupt);
  for (size_t i = 0; i < stats->n_errors; i++) {
    if (i) fputs(", ", out);
    write_json_string(out, stats->errors[i]);
  }
  fputs("], ", out);
  write_opt(out, "first_recv_ns", stats->first_recv_ns, true);
  fputs("\"end\": ", out);
  write_json_string(out, stats->end);
  fputs(", \"sizes\": {", out);
  for (size_t i = 0; i < stats->n_sizes; i++) {
    const BenchSize *s = &stats->sizes[i];
    fprintf(out, "%s\"%lld\": {\"received\": %lld, \"warm\": %lld, \"lat_ns\": [", i ? ", " : "",
            (long long)s->size, (long long)s->received, (long long)s->warm);
    for (size_t j = 0; j < s->n_lat; j++) {
      fprintf(out, "%s%lld", j ? ", " : "", (long long)s->lat_ns[j]);
    }
    fputs("], ", out);
    write_opt(out, "first_send_ns", s->first_send_ns, true);
    write_opt(out, "first_recv_ns", s->first_recv_ns, true);
    write_opt(out, "last_recv_ns", s->last_recv_ns, false);
    fputc('}', out);
  }
  fputs("}}\n", out);
  if (fclose(out) != 0 || rename(tmp, path) != 0) {
    perror("bench: cannot write the result");
    return -1;
  }
  return 0;
}

void bench_stats_free(BenchStats *stats) {
  for (size_t i = 0; i < stats->n_sizes; i++) free(stats->sizes[i].lat_ns);
  free(stats->seen);
  stats->seen = NULL;
}
