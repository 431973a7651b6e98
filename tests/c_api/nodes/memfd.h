/* Test helper: whether an address lies in a memfd mapping of this process
 * (/proc/self/maps names them "/memfd:<name>"). */
#ifndef TEST_MEMFD_H
#define TEST_MEMFD_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int in_memfd_mapping(const void *ptr) {
  FILE *maps = fopen("/proc/self/maps", "r");
  if (!maps) return 0;
  char line[512];
  int found = 0;
  uintptr_t at = (uintptr_t)ptr;
  while (fgets(line, sizeof line, maps)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx", &lo, &hi) != 2) continue;
    if (at >= lo && at < hi) {
      found = strstr(line, "/memfd:") != NULL;
      break;
    }
  }
  fclose(maps);
  return found;
}

#endif
