/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "daemon/alloc/da-catalog.h"

G_BEGIN_DECLS

/*
 * What the fuzz targets share.  Each target defines LLVMFuzzerTestOneInput;
 * libFuzzer drives it under `make fuzz`, fuzz-replay.c under `make check`.
 */

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* once per process: warnings and criticals abort (they are bugs the
 * fuzzer found), everything below is dropped so that a run stays quiet */
void da_fuzz_init (void);

/* the source tree ($DA_SRCDIR, else the one this was built from) */
const char *da_fuzz_srcdir (void);
/* the catalog under data/ of the source tree; aborts if it does not load */
DaCatalog *da_fuzz_load_catalog (void);

/* a failed invariant: say which and abort, so the fuzzer keeps the input */
#define da_fuzz_check(cond, ...)                                               \
  G_STMT_START {                                                               \
    if (G_UNLIKELY (!(cond)))                                                  \
      da_fuzz_fail (__FILE__, __LINE__, #cond, __VA_ARGS__);                   \
  } G_STMT_END

G_NORETURN void da_fuzz_fail (const char *file, int line, const char *cond, const char *format, ...)
  G_GNUC_PRINTF (4, 5);

/* the input as a stream: bytes and small numbers taken from its front */
typedef struct {
  const guint8 *data;
  gsize len;
} DaFuzzInput;

/* a number in 0..n-1 from one byte (0 when the input is used up) */
guint da_fuzz_input_take_index (DaFuzzInput *input, guint n);
/* a 64-bit number from up to 8 bytes, little endian */
guint64 da_fuzz_input_take_u64 (DaFuzzInput *input);
/* the next line (without its '\n'); FALSE when nothing is left */
gboolean da_fuzz_input_take_line (DaFuzzInput *input, const char **line, gsize *len);

G_END_DECLS
