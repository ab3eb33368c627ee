/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DA_STORE_ERROR (da_store_error_quark ())

/* Errors of the durable store.  The daemon maps each code once to a
 * protocol reason; UNAVAILABLE is the one a client may see. */
typedef enum {
  DA_STORE_ERROR_IO,          /* the state directory cannot be created, opened or read */
  DA_STORE_ERROR_LOCKED,      /* another process (or another DaStore) holds the directory */
  DA_STORE_ERROR_CORRUPT,     /* the snapshot is damaged or the journal chain has a hole */
  DA_STORE_ERROR_UNSUPPORTED, /* a file of a newer format version */
  DA_STORE_ERROR_UNAVAILABLE, /* a write or sync failed; the store is in its failed state */
  DA_STORE_ERROR_CLOSED,      /* the store was closed before the record could be written */
  DA_STORE_ERROR_INVALID,     /* a malformed snapshot payload handed in by the caller */
} DaStoreError;

GQuark da_store_error_quark (void);

G_END_DECLS
