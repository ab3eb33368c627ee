/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-address: the text form of every address type of the shipped catalog
 * (data/types/), both ways.
 *
 * The input is the text (up to its first NUL), tried as an address of
 * every type, and its first eight bytes are also a key (little endian).
 *   - text -> key: when the text parses, the key is a well-formed address
 *     of the type, and its canonical text parses back to the same key;
 *   - key -> text: a well-formed key (the input key folded into the type's
 *     key space, and its neighbours) formats to text that parses back to it;
 *   - the same text as a box ("bus=0,slot=1-31"): when it parses, every
 *     bound is within its dimension.
 */
#include "config.h"

#include <string.h>

#include "daemon/alloc/da-address-type.h"
#include "fuzz-util.h"

static DaCatalog *catalog;

static void
check_text (DaAddressType *type, const char *text)
{
  const char *name = da_address_type_get_name (type);
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) again_error = NULL;
  g_autofree char *canonical = NULL;
  guint64 key = 0, again = 0;

  if (!da_address_type_parse (type, text, &key, &error)) {
    da_fuzz_check (error != NULL && error->message != NULL, "%s: refused without an error", name);
    return;
  }
  da_fuzz_check (da_address_type_validate_key (type, key, &again_error), "%s: \"%s\" parses to key %" G_GUINT64_FORMAT
                 ", which is no address: %s", name, text, key, again_error->message);
  canonical = da_address_type_format_key (type, key);
  da_fuzz_check (da_address_type_parse (type, canonical, &again, &again_error), "%s: \"%s\" formats back as \"%s\", "
                 "which does not parse: %s", name, text, canonical, again_error->message);
  da_fuzz_check (again == key, "%s: \"%s\" is key %" G_GUINT64_FORMAT ", \"%s\" is key %" G_GUINT64_FORMAT, name, text,
                 key, canonical, again);
}

static void
check_key (DaAddressType *type, guint64 key)
{
  const char *name = da_address_type_get_name (type);
  g_autofree char *text = da_address_type_format_key (type, key);
  g_autoptr (GError) error = NULL;
  guint64 again = 0;

  /* any key formats to something; only a well-formed one must round-trip */
  if (!da_address_type_validate_key (type, key, NULL))
    return;
  da_fuzz_check (da_address_type_parse (type, text, &again, &error), "%s: key %" G_GUINT64_FORMAT " formats as \"%s\", "
                 "which does not parse: %s", name, key, text, error->message);
  da_fuzz_check (again == key, "%s: key %" G_GUINT64_FORMAT " formats as \"%s\", which is key %" G_GUINT64_FORMAT, name,
                 key, text, again);
}

static void
check_box (DaAddressType *type, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *described = NULL;
  DaBox box;

  da_address_type_full_box (type, &box);
  if (!da_address_type_parse_box (type, text, &box, &error))
    return;
  for (guint i = 0; i < da_address_type_get_n_dimensions (type); i++) {
    const DaDimension *dim = da_address_type_get_dimension (type, i);

    da_fuzz_check (box.lo[i] >= dim->min && box.hi[i] <= dim->max && box.lo[i] <= box.hi[i],
                   "%s: box \"%s\" gives %s %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, da_address_type_get_name (type),
                   text, dim->name, box.lo[i], box.hi[i]);
  }
  described = da_box_to_string (type, &box);
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  DaFuzzInput input = { data, size };
  g_autofree char *text = g_strndup ((const char *) data, size);
  guint64 raw = da_fuzz_input_take_u64 (&input);
  GPtrArray *types;

  if (catalog == NULL) {
    da_fuzz_init ();
    catalog = da_fuzz_load_catalog ();
  }
  types = da_catalog_get_types (catalog);
  for (guint i = 0; i < types->len; i++) {
    DaAddressType *type = g_ptr_array_index (types, i);
    guint64 key_max = da_address_type_get_key_max (type);
    guint64 key = key_max == G_MAXUINT64 ? raw : raw % (key_max + 1);

    check_text (type, text);
    check_box (type, text);
    check_key (type, raw);
    check_key (type, key);
    check_key (type, key + 1);
    check_key (type, key - 1);
  }
  return 0;
}
