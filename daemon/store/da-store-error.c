/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "da-store-error.h"

G_DEFINE_QUARK (da-store-error-quark, da_store_error)
