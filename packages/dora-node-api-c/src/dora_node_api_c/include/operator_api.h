/* dora's C operator ABI: the three functions an operator shared library exports (default
 * visibility), as in dora-rs 1.x's `operator_api.h`. The runtime calls dora_init_operator
 * once, dora_on_event for each event (outputs may be sent during the call), and
 * dora_drop_operator at the end. */
#ifndef DORA_OPERATOR_API_H
#define DORA_OPERATOR_API_H

#include <stddef.h>

#include "operator_types.h"

#ifdef __cplusplus
extern "C" {
#endif

DoraInitResult_t dora_init_operator(void);

DoraResult_t dora_drop_operator(void *operator_context);

OnEventResult_t dora_on_event(RawEvent_t *event, const SendOutput_t *send_output,
                              void *operator_context);

/* Compile-time check that the definitions above match the ABI's function types. */
static inline void __dora_type_assertions(void) {
  DoraInitOperator_t init = {dora_init_operator};
  DoraDropOperator_t drop = {dora_drop_operator};
  DoraOnEvent_t on_event = {dora_on_event};
  (void)init;
  (void)drop;
  (void)on_event;
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DORA_OPERATOR_API_H */
