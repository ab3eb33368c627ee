/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "da-address-type.h"

G_BEGIN_DECLS

/*
 * The catalog is everything the engine knows from data files:
 *   types/NAME.type          address types
 *   buses/NAME.bus           bus models: the addresses a controller provides
 *   templates/NAME.template  machine types: buses, pools and fixed reservations
 * Later directories override earlier ones entry by entry, so a local
 * directory can add or replace a type without touching the shipped ones.
 */

typedef struct _DaCatalog DaCatalog;

/* one piece of a pool: a set spec (see da_address_type_add_spec) whose
 * keys are pool keys ("Ranges=") carrying the group's "Tags=", or, from a
 * "Tag.NAME=" key, keys that carry one more tag */
typedef struct {
  char *spec;
  char **tags;
  gboolean pool_keys;
} DaPoolPiece;

typedef struct {
  char *name;
  char *type;
  GPtrArray *pieces;   /* DaPoolPiece; specs may use {index} and {param[+-N]} */
  GHashTable *params;  /* name -> default value (guint64 *) */
} DaBusModel;

typedef struct {
  char *model;
  guint64 index;
} DaTemplateBus;

typedef struct {
  char *alias;
  char *type;
  char *address;
  guint64 count;
} DaTemplateReservation;

typedef struct {
  char *type;
  GPtrArray *pieces;   /* DaPoolPiece */
} DaTemplatePool;

typedef struct {
  char *name;
  char *description;
  char **machines;        /* glob patterns of libvirt machine types */
  GPtrArray *buses;        /* DaTemplateBus */
  GPtrArray *pools;        /* DaTemplatePool */
  GPtrArray *reservations; /* DaTemplateReservation */
} DaTemplate;

typedef enum {
  DA_CATALOG_FILE_TYPE,     /* types/NAME.type */
  DA_CATALOG_FILE_BUS,      /* buses/NAME.bus */
  DA_CATALOG_FILE_TEMPLATE, /* templates/NAME.template */
} DaCatalogFileKind;

DaCatalog *da_catalog_new (void);
/* load every directory in order; missing directories are skipped */
DaCatalog *da_catalog_load (const char *const *dirs, GError **error);
gboolean da_catalog_load_dir (DaCatalog *catalog, const char *dir, GError **error);
/* one file's contents, as da_catalog_load_dir() loads each file */
gboolean da_catalog_load_data (DaCatalog *catalog, DaCatalogFileKind kind, const char *data, gsize len,
                               const char *origin, GError **error);
/* cross-checks: templates name known types and bus models */
gboolean da_catalog_validate (DaCatalog *catalog, GError **error);
DaCatalog *da_catalog_ref (DaCatalog *catalog);
void da_catalog_unref (DaCatalog *catalog);

DaAddressType *da_catalog_get_type (const DaCatalog *catalog, const char *name);
/* sorted by name; the array belongs to the catalog */
GPtrArray *da_catalog_get_types (const DaCatalog *catalog);
const DaTemplate *da_catalog_get_template (const DaCatalog *catalog, const char *name);
GPtrArray *da_catalog_get_templates (const DaCatalog *catalog);
/* the template whose Machines patterns match a libvirt machine type */
const DaTemplate *da_catalog_match_machine (const DaCatalog *catalog, const char *machine);
const DaBusModel *da_catalog_get_bus_model (const DaCatalog *catalog, const char *name);

/* Expand a bus model instance into its pieces with every parameter
 * substituted: index, plus params given as "name=value" overriding the
 * model's defaults.  Returns DaPoolPiece entries. */
GPtrArray *da_bus_model_expand (const DaBusModel *model, guint64 index, const char *const *params, GError **error);

void da_pool_piece_free (DaPoolPiece *piece);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaCatalog, da_catalog_unref)

G_END_DECLS
