/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DA_ALLOC_ERROR (da_alloc_error_quark ())

/* Errors of the allocation engine.  The daemon maps each code once to a
 * protocol reason (see protocol/da-rpc-error.h). */
typedef enum {
  DA_ALLOC_ERROR_INVALID,         /* a malformed request: unknown dimension, bad constraint, bad name */
  DA_ALLOC_ERROR_INVALID_ADDRESS, /* address text that does not parse, or a value out of range */
  DA_ALLOC_ERROR_NOT_FOUND,       /* unknown vm, alias, type, template or bus model */
  DA_ALLOC_ERROR_CONFLICT,        /* the address or alias is held by another reservation */
  DA_ALLOC_ERROR_EXHAUSTED,       /* no free address satisfies the constraint */
  DA_ALLOC_ERROR_LIMIT,           /* a size limit of the engine was reached */
} DaAllocError;

GQuark da_alloc_error_quark (void);

/* VM names, aliases, type, tag and template names: 1..max bytes of UTF-8
 * without control characters, '/', '\\', and never "." or "..". */
#define DA_NAME_MAX 128
gboolean da_name_validate (const char *what, const char *name, GError **error);
/* the same, and *len is the name's length in bytes (when valid) */
gboolean da_name_validate_len (const char *what, const char *name, gsize *len, GError **error);

G_END_DECLS
