/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "protocol/da-limits.h"

G_BEGIN_DECLS

#define DA_JSON_ERROR (da_json_error_quark ())

/* Why a text was refused.  Every message ends with "at byte N". */
typedef enum {
  DA_JSON_ERROR_SYNTAX,         /* not RFC 8259 JSON */
  DA_JSON_ERROR_ENCODING,       /* not UTF-8, or an escape that is no Unicode scalar value */
  DA_JSON_ERROR_DUPLICATE_KEY,  /* an object names the same member twice */
  DA_JSON_ERROR_RANGE,          /* a number beyond the range of a double */
  DA_JSON_ERROR_DEPTH,          /* nested deeper than DaJsonLimits.max_depth */
  DA_JSON_ERROR_TOO_MANY_NODES, /* more values than DaJsonLimits.max_nodes */
} DaJsonError;

GQuark da_json_error_quark (void);

typedef struct {
  guint max_depth; /* a top-level array or object is depth 1; 0 allows scalars only */
  gsize max_nodes; /* every value counts, containers included; G_MAXSIZE: no limit */
} DaJsonLimits;

#define DA_JSON_LIMITS_DEFAULT ((DaJsonLimits) { DA_LIMIT_DEPTH_MAX, DA_LIMIT_NODES_MAX })

JsonNode *da_json_parse (const char *data,
                         gsize len,
                         const DaJsonLimits *limits,
                         gsize *error_offset,
                         GError **error);

char *da_json_to_string (JsonNode *node);
void da_json_append (GString *out, JsonNode *node);
void da_json_append_string (GString *out, const char *str, gssize len);
void da_json_append_int (GString *out, gint64 value);
void da_json_append_uint (GString *out, guint64 value);
void da_json_append_excerpt (GString *out, const char *str, gsize max_bytes);

gboolean da_json_equal (JsonNode *a, JsonNode *b);

G_END_DECLS
