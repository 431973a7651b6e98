/* Naming the operator that crashed the runtime process.
 *
 * Every call into an operator (call.c) records the operator's label and the calling
 * thread. A fatal signal on that thread during the call writes
 * "operator `X` of node `Y` crashed with SIGSEGV" to stderr, with write(2) only (the
 * handler must be async-signal-safe), then puts back the handler that was there before
 * (the default, or Python's faulthandler) and re-raises, so the process still dies of the
 * signal and the daemon sees a crash, to which the node's restart policy applies. */
#define _GNU_SOURCE

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "operator_internal.h"

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
#define N_FATAL (sizeof fatal_signals / sizeof fatal_signals[0])

static struct sigaction previous[N_FATAL];
static volatile sig_atomic_t installed;
static char node_id[256];
static const char *volatile current_label;
static volatile pid_t current_tid;
/* A stack overflow inside an operator leaves no stack for the handler. */
static char alternate_stack[1 << 16];

static long current_thread(void) { return syscall(SYS_gettid); }

const char *dora_operator_current_swap(const char *label) {
  const char *before = current_label;
  if (label != NULL) {
    current_tid = (pid_t)current_thread();
  }
  current_label = label;
  return before;
}

static void put(const char *text) {
  size_t len = 0;
  while (text[len] != '\0') {
    len++;
  }
  while (len > 0) {
    ssize_t written = write(STDERR_FILENO, text, len);
    if (written <= 0) {
      return;
    }
    text += written;
    len -= (size_t)written;
  }
}

static const char *signal_name(int sig) {
  switch (sig) {
  case SIGSEGV:
    return "SIGSEGV";
  case SIGBUS:
    return "SIGBUS";
  case SIGFPE:
    return "SIGFPE";
  case SIGILL:
    return "SIGILL";
  case SIGABRT:
    return "SIGABRT";
  default:
    return "a fatal signal";
  }
}

static void on_fatal_signal(int sig, siginfo_t *info, void *context) {
  (void)info;
  (void)context;
  const char *label = current_label;
  if (label != NULL && current_tid == (pid_t)current_thread()) {
    put("operator `");
    put(label);
    put("` of node `");
    put(node_id);
    put("` crashed with ");
    put(signal_name(sig));
    put("\n");
  }
  for (size_t i = 0; i < N_FATAL; i++) {
    if (fatal_signals[i] == sig) {
      sigaction(sig, &previous[i], NULL);
    }
  }
  /* Blocked while this handler runs: delivered, to the previous handler, on return (a
   * faulting instruction would fault again anyway; a sent signal would not). */
  raise(sig);
}

int dora_operator__runtime_init(const char *node) {
  size_t len = node ? strlen(node) : 0;
  if (len >= sizeof node_id) {
    len = sizeof node_id - 1;
  }
  memcpy(node_id, node ? node : "", len);
  node_id[len] = '\0';
  if (installed) {
    return 0;
  }
  installed = 1;
  /* Operators print with C stdio into the daemon's pipe: line buffering shows their
   * lines as they come (and keeps them when the process crashes), as on a terminal. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  stack_t current;
  if (sigaltstack(NULL, &current) == 0 && (current.ss_flags & SS_DISABLE)) {
    stack_t stack = {.ss_sp = alternate_stack, .ss_size = sizeof alternate_stack};
    sigaltstack(&stack, NULL);
  }
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_fatal_signal;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < N_FATAL; i++) {
    if (sigaction(fatal_signals[i], &action, &previous[i]) != 0) {
      return -1;
    }
  }
  return 0;
}
