/* The Arrow types the C API handles natively ("flat": no children, no dictionary), as
 * one small struct that converts to and from the Arrow C Data Interface format string
 * and the Arrow IPC schema message (a flatbuffer) that dora's frames carry. */
#ifndef DN_ARROW_TYPE_H
#define DN_ARROW_TYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dn_buf.h"

typedef enum {
  DN_T_OTHER = 0, /* not flat: `name` says what it is */
  DN_T_NULL,
  DN_T_BOOL,
  DN_T_INT,
  DN_T_FLOAT,
  DN_T_BINARY,
  DN_T_LARGE_BINARY,
  DN_T_UTF8,
  DN_T_LARGE_UTF8,
  DN_T_FSB, /* fixed size binary */
  DN_T_DATE,
  DN_T_TIME,
  DN_T_TIMESTAMP,
  DN_T_DURATION,
} dn_type_id;

/* Arrow's TimeUnit numbering (the IPC schema's). */
enum { DN_SECOND = 0, DN_MILLI = 1, DN_MICRO = 2, DN_NANO = 3 };

typedef struct dn_type {
  dn_type_id id;
  int bits;       /* INT, FLOAT, TIME: bit width; DATE: 32 (days) or 64 (ms) */
  bool is_signed; /* INT */
  int unit;       /* TIME, TIMESTAMP, DURATION */
  int32_t width;  /* FSB: bytes per value */
  char tz[64];    /* TIMESTAMP: time zone, "" for none */
  char name[64];  /* human-readable name, e.g. "float64", "list" */
  char format[80];/* C Data Interface format string (flat types only) */
} dn_type;

/* Fills `name` and `format` from the other fields. */
DN_HIDDEN void dn_type_finish(dn_type *t);
/* From a C Data Interface format string; -1 (message in err) when not a flat type. */
DN_HIDDEN int dn_type_from_format(const char *format, dn_type *t, char *err, size_t err_len);
/* Buffers in the C Data Interface (null: 0; fixed width: 2; variable: 3). */
DN_HIDDEN int dn_type_c_buffers(const dn_type *t);
/* Buffers in Arrow's IPC layout, which dora's `buffers` encoding follows (null: 1). */
DN_HIDDEN int dn_type_ipc_buffers(const dn_type *t);
/* Bits per value of the values buffer of a fixed-width type (bool: 1); 0 otherwise. */
DN_HIDDEN int dn_type_value_bits(const dn_type *t);
/* Offsets of a variable-size type are 4 or 8 bytes; 0 for others. */
DN_HIDDEN int dn_type_offset_bytes(const dn_type *t);
/* Reads field 0 of an encapsulated IPC Schema message. A nested or dictionary type is
 * not an error: it comes back as DN_T_OTHER with its name. -1 for malformed bytes. */
DN_HIDDEN int dn_schema_parse(const uint8_t *buf, size_t len, dn_type *t, char *err,
                              size_t err_len);
/* Appends the IPC Schema message of `pa.schema([pa.field("data", t)])`; -1 (message in
 * err) for a type without a template (timestamps with a zone other than UTC). */
DN_HIDDEN int dn_schema_write(const dn_type *t, dn_buf *out, char *err, size_t err_len);

#endif
