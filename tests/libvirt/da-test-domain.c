/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "da-test-domain.h"
#include "tests/alloc/da-test-dump.h"

G_DEFINE_QUARK (da-test-domain-error-quark, da_test_domain_error)

static gboolean violated (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
violated (GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (DA_TEST_DOMAIN_ERROR, 0, format, args));
  va_end (args);
  return FALSE;
}

static const char *
message_of (const GError *error)
{
  return error != NULL ? error->message : "(no error)";
}

/* one line per reservation of the VM: alias, type, address (and mode) */
static char *
reservations_of (DaEngine *engine, const char *vm, gboolean with_mode)
{
  DaScope *scope = da_engine_lookup_vm (engine, vm);
  g_autoptr (GPtrArray) list = NULL;
  GString *out;

  /* as text that no list of reservations is, so that it compares unequal */
  if (scope == NULL)
    return g_strdup_printf ("(no VM %s)\n", vm);
  out = g_string_new (NULL);
  list = da_scope_list_reservations (scope);
  for (guint i = 0; i < list->len; i++) {
    DaReservation *res = g_ptr_array_index (list, i);
    g_autofree char *address = da_reservation_format_address (res);

    g_string_append_printf (out, "%s %s %s%s%s\n", da_reservation_get_alias (res),
                            da_address_type_get_name (da_reservation_get_address_type (res)), address,
                            with_mode ? " " : "", with_mode ? da_mode_to_string (da_reservation_get_mode (res)) : "");
  }
  return g_string_free (out, FALSE);
}

gboolean
da_test_domain_check_assigned (DaEngine *engine, DaEngine *fresh, const char *vm, const char *xml, gsize len,
                               const DaDomainResult *first, const DaDomainOptions *options, gint64 now,
                               GError **error)
{
  g_autoptr (DaDomainResult) again = NULL;
  g_autoptr (DaDomainResult) fed_back = NULL;
  g_autoptr (DaDomainResult) import = NULL;
  g_autoptr (GError) local = NULL;
  g_autofree char *dump = NULL;
  g_autofree char *dump_again = NULL;
  g_autofree char *held = NULL;
  g_autofree char *held_again = NULL;
  g_autofree char *held_fed_back = NULL;
  g_autofree char *held_imported = NULL;
  DaTxn *txn;
  guint journaled;

  if (first->xml == NULL || first->reservations == NULL)
    return violated (error, "assign: an incomplete result");
  if (da_engine_lookup_vm (engine, vm) == NULL)
    return violated (error, "assign: no VM %s afterwards", vm);
  held = reservations_of (engine, vm, TRUE);

  /* the same XML again: the same answer, and nothing to journal; the
   * dumps hold the whole engine, cool-downs that ended included */
  dump = da_test_dump (engine);
  txn = da_txn_new (engine);
  again = da_domain_assign (engine, vm, xml, len, options, now, txn, &local);
  journaled = da_txn_is_empty (txn) ? 0 : da_txn_get_changes (txn)->len;
  da_txn_free (txn);
  if (again == NULL)
    return violated (error, "assigned once, the XML fails the second time: %s", message_of (local));
  if (journaled != 0)
    return violated (error, "a second assign of the same XML journals %u changes", journaled);
  dump_again = da_test_dump (engine);
  if (strcmp (dump, dump_again) != 0)
    return violated (error, "a second assign changed the engine:\n%s---\n%s", dump, dump_again);
  if (strcmp (first->xml, again->xml) != 0)
    return violated (error, "a second assign gave other XML:\n%s\n---\n%s", first->xml, again->xml);
  held_again = reservations_of (engine, vm, TRUE);
  if (strcmp (held, held_again) != 0)
    return violated (error, "a second assign changed the reservations:\n%s---\n%s", held, held_again);

  /* the answer fed back is its own answer, the addresses now the user's */
  g_free (held);
  held = reservations_of (engine, vm, FALSE);
  fed_back = da_domain_assign (engine, vm, first->xml, strlen (first->xml), options, now, NULL, &local);
  if (fed_back == NULL)
    return violated (error, "the result of assign, fed back, fails: %s\n%s", message_of (local), first->xml);
  if (strcmp (first->xml, fed_back->xml) != 0)
    return violated (error, "the result fed back gives other XML:\n%s\n---\n%s", first->xml, fed_back->xml);
  held_fed_back = reservations_of (engine, vm, FALSE);
  if (strcmp (held, held_fed_back) != 0)
    return violated (error, "the result fed back moved reservations:\n%s---\n%s", held, held_fed_back);

  /* imported elsewhere: the same reservations and no clash */
  import = da_domain_import (fresh, vm, first->xml, strlen (first->xml), options, now, NULL, &local);
  if (import == NULL)
    return violated (error, "the result of assign does not import: %s\n%s", message_of (local), first->xml);
  if (import->conflicts->len != 0 || import->added->len != 0)
    return violated (error, "importing the result of assign clashes (%u) or adds (%u)", import->conflicts->len,
                     import->added->len);
  held_imported = reservations_of (fresh, vm, FALSE);
  if (strcmp (held, held_imported) != 0)
    return violated (error, "assigned:\n%s---\nimported:\n%s", held, held_imported);
  return TRUE;
}
