/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "da-range-map.h"

G_BEGIN_DECLS

/*
 * An address type is a fixed list of integer dimensions, most significant
 * first.  An address maps to one 64-bit key by mixed radix, so the eight
 * functions of a PCI slot are one run of eight keys and a pool is a set of
 * ranges.  Types come from data files (see data/types/), so a new type
 * needs no code.
 */

#define DA_MAX_DIMS 8

typedef struct {
  char *name;
  guint64 min;
  guint64 max;
  guint64 weight; /* the key of one unit of this dimension */
} DaDimension;

/* a box: one closed interval per dimension */
typedef struct {
  guint64 lo[DA_MAX_DIMS];
  guint64 hi[DA_MAX_DIMS];
} DaBox;

typedef struct _DaAddressType DaAddressType;

/* where a type's addresses live: a VM's own pools (PCI slots), the host's
 * (MACs, vsock CIDs and display ports must be unique on the host), or
 * either */
typedef enum {
  DA_TYPE_SCOPE_ANY,
  DA_TYPE_SCOPE_VM,
  DA_TYPE_SCOPE_HOST,
} DaTypeScope;

DaAddressType *da_address_type_new_from_keyfile (GKeyFile *file, const char *origin, GError **error);
DaAddressType *da_address_type_ref (DaAddressType *type);
void da_address_type_unref (DaAddressType *type);

const char *da_address_type_get_name (const DaAddressType *type);
const char *da_address_type_get_description (const DaAddressType *type);
const char *da_address_type_get_format (const DaAddressType *type);
const char *da_address_type_get_full_message (const DaAddressType *type);
guint da_address_type_get_n_dimensions (const DaAddressType *type);
DaTypeScope da_address_type_get_scope (const DaAddressType *type);
const char *da_type_scope_to_string (DaTypeScope scope);
const DaDimension *da_address_type_get_dimension (const DaAddressType *type, guint index);
/* index of the dimension called name, or -1 */
int da_address_type_find_dimension (const DaAddressType *type, const char *name);
/* the largest key any address of this type maps to */
guint64 da_address_type_get_key_max (const DaAddressType *type);
/* the pool a scope gets when its template gives none (a set) */
const DaRangeMap *da_address_type_get_default_pool (const DaAddressType *type);
/* the box and isolation dimension a dynamic request gets by default */
const DaBox *da_address_type_get_dynamic_box (const DaAddressType *type);
int da_address_type_get_isolate (const DaAddressType *type);
/* tags a dynamic request requires / refuses unless it names its own */
const char *const *da_address_type_get_dynamic_tags (const DaAddressType *type);
const char *const *da_address_type_get_dynamic_not_tags (const DaAddressType *type);
/* tags whose keys go only to a request that requires the tag, exact
 * requests included (port 0 of a virtio-serial controller: consoles) */
const char *const *da_address_type_get_exclusive_tags (const DaAddressType *type);
/* sorted names of the tags the default pool carries, and their keys */
const char *const *da_address_type_get_default_tag_names (const DaAddressType *type);
const DaRangeMap *da_address_type_get_default_tag (const DaAddressType *type, const char *tag);

/* text form <-> key; errors name the dimension at fault */
gboolean da_address_type_parse (const DaAddressType *type, const char *text, guint64 *key, GError **error);
char *da_address_type_format_key (const DaAddressType *type, guint64 key);
/* whether key is the key of a well-formed address (every digit in range) */
gboolean da_address_type_validate_key (const DaAddressType *type, guint64 key, GError **error);

void da_address_type_decode (const DaAddressType *type, guint64 key, guint64 *digits);
guint64 da_address_type_encode (const DaAddressType *type, const guint64 *digits);

/* the box covering every valid address */
void da_address_type_full_box (const DaAddressType *type, DaBox *box);
/* parse "bus=0,slot=1-31" (numbers decimal or 0x) into box, narrowing it */
gboolean da_address_type_parse_box (const DaAddressType *type, const char *text, DaBox *box, GError **error);
/* add the keys of a box to a set; a box becomes one range per combination
 * of its leading dimensions, and more than max_ranges of them is an error */
gboolean da_address_type_add_box (const DaAddressType *type, const DaBox *box, DaRangeMap *set, guint max_ranges, GError **error);
/* a set spec: items "ADDR", "ADDR-ADDR" or a box "dim=v,dim=lo-hi" */
gboolean da_address_type_add_spec (const DaAddressType *type, const char *spec, DaRangeMap *set, GError **error);

/* box geometry used by the search: the smallest key >= key inside the box
 * (FALSE when there is none), the largest key <= key inside it, and the
 * contiguous run of box keys that contains a key inside the box */
gboolean da_box_next (const DaAddressType *type, const DaBox *box, guint64 key, guint64 *out);
gboolean da_box_prev (const DaAddressType *type, const DaBox *box, guint64 key, guint64 *out);
void da_box_row (const DaAddressType *type, const DaBox *box, guint64 key, DaRange *row);
gboolean da_box_is_full (const DaAddressType *type, const DaBox *box);
/* the length of every contiguous run of box keys (saturating) */
guint64 da_box_row_length (const DaAddressType *type, const DaBox *box);
/* "bus=0, function=0" for messages; NULL when the box is full */
char *da_box_to_string (const DaAddressType *type, const DaBox *box);

/* parse an unsigned number: decimal, or hex with 0x */
gboolean da_parse_u64 (const char *text, guint64 *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaAddressType, da_address_type_unref)

G_END_DECLS
