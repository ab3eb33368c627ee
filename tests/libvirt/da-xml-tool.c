/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * da-xml-tool: daemon/libvirt on files, without the daemon.  The e2e suite
 * plugs it in through its hooks so that domain.assign can be compared with
 * libvirt before devaddrd and devaddrctl exist:
 *
 *   DEVADDR_ASSIGN='da-xml-tool --state S assign --vm {vm} {in}'
 *   DEVADDR_ATTACH='da-xml-tool --state S attach --vm {vm} {dev}'
 *   DEVADDR_DETACH='da-xml-tool --state S detach --vm {vm} {dev}'
 *
 * The catalog comes from the source tree (or --data DIR).  With --state
 * FILE the engine is loaded from FILE (a snapshot in the store's record
 * format) before the command and written back after it, so that an attach
 * finds the VM an earlier assign made.  Errors go to stderr, exit 1.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "daemon/alloc/da-alloc-error.h"
#include "daemon/da-record.h"
#include "daemon/libvirt/da-domain.h"

static char *state_path;
static char *data_dir;
static char *vm_name;
static char *alias;
static char *phase_name;
static gboolean no_schema;
static gboolean partial;

static const GOptionEntry global_options[] = {
  { "state", 0, 0, G_OPTION_ARG_FILENAME, &state_path, "keep the engine in FILE between runs", "FILE" },
  { "data", 0, 0, G_OPTION_ARG_FILENAME, &data_dir, "catalog directory (default: the source tree's data/)", "DIR" },
  { "vm", 0, 0, G_OPTION_ARG_STRING, &vm_name, "the VM", "NAME" },
  { "alias", 0, 0, G_OPTION_ARG_STRING, &alias, "detach: the device's alias", "ALIAS" },
  { "phase", 0, 0, G_OPTION_ARG_STRING, &phase_name, "detach: now (default), begin or confirm", "PHASE" },
  { "no-schema", 0, 0, G_OPTION_ARG_NONE, &no_schema, "do not validate against domain.rng", NULL },
  { "partial", 0, 0, G_OPTION_ARG_NONE, &partial, "import: keep what does not clash", NULL },
  { NULL },
};

static void
collect (const DaChange *change, gpointer user_data)
{
  g_ptr_array_add (user_data, da_change_copy (change));
}

static gboolean
load_state (DaEngine *engine, GError **error)
{
  g_autofree char *data = NULL;
  g_autoptr (GPtrArray) changes = NULL;
  gsize len;

  if (state_path == NULL || !g_file_test (state_path, G_FILE_TEST_EXISTS))
    return TRUE;
  if (!g_file_get_contents (state_path, &data, &len, error))
    return FALSE;
  if (len == 0)
    return TRUE;
  changes = da_record_decode ((const guint8 *) data, len, error);
  if (changes == NULL)
    return FALSE;
  for (guint i = 0; i < changes->len; i++)
    if (!da_engine_apply (engine, g_ptr_array_index (changes, i), error))
      return FALSE;
  return TRUE;
}

static gboolean
save_state (DaEngine *engine, GError **error)
{
  g_autoptr (GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) da_change_free);
  g_autoptr (GBytes) bytes = NULL;
  gsize len;
  const char *data;

  if (state_path == NULL)
    return TRUE;
  da_engine_dump (engine, g_get_real_time (), collect, changes);
  bytes = da_record_encode (changes);
  data = g_bytes_get_data (bytes, &len);
  return g_file_set_contents (state_path, data, (gssize) len, error);
}

static void
print_reservations (DaEngine *engine)
{
  g_autoptr (GPtrArray) vms = da_engine_list_vms (engine);

  for (guint i = 0; i < vms->len; i++) {
    DaScope *scope = g_ptr_array_index (vms, i);
    g_autoptr (GPtrArray) list = da_scope_list_reservations (scope);

    if (vm_name != NULL && strcmp (vm_name, da_scope_get_name (scope)) != 0)
      continue;
    for (guint j = 0; j < list->len; j++) {
      DaReservation *res = g_ptr_array_index (list, j);
      g_autofree char *address = da_reservation_format_address (res);

      printf ("%s %s %s %s %s%s%s\n", da_scope_get_name (scope), da_reservation_get_alias (res),
              da_address_type_get_name (da_reservation_get_address_type (res)), address,
              da_mode_to_string (da_reservation_get_mode (res)),
              (da_reservation_get_flags (res) & DA_RESERVATION_BUILTIN) ? " builtin" : "",
              (da_reservation_get_flags (res) & DA_RESERVATION_DOMAIN) ? " domain" : "");
    }
  }
}

int
main (int argc, char **argv)
{
  g_autoptr (GOptionContext) context = g_option_context_new ("assign|import|attach|detach|dump [FILE]");
  g_autoptr (GError) error = NULL;
  g_autoptr (DaCatalog) catalog = NULL;
  g_autoptr (DaEngine) engine = NULL;
  g_autoptr (DaDomainResult) result = NULL;
  g_autofree char *xml = NULL;
  DaDomainOptions options = { 0 };
  const char *command;
  const char *file;
  gsize len = 0;
  gint64 now = g_get_real_time ();
  gboolean ok = TRUE;

  g_option_context_add_main_entries (context, global_options, NULL);
  g_option_context_set_summary (context, "daemon/libvirt's domain.assign, domain.import, device.attach and "
                                         "device.detach on files");
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc < 2) {
    fprintf (stderr, "da-xml-tool: %s\n", error != NULL ? error->message : "no command (see --help)");
    return 2;
  }
  command = argv[1];
  file = argc > 2 ? argv[2] : NULL;
  {
    g_autofree char *dir = g_strdup (data_dir != NULL ? data_dir : DA_SRC_DATADIR);
    const char *dirs[] = { dir, NULL };

    catalog = da_catalog_load (dirs, &error);
  }
  if (catalog == NULL) {
    fprintf (stderr, "da-xml-tool: catalog: %s\n", error->message);
    return 1;
  }
  engine = da_engine_new (catalog);
  if (!load_state (engine, &error)) {
    fprintf (stderr, "da-xml-tool: %s: %s\n", state_path, error->message);
    return 1;
  }
  if (file != NULL && !g_file_get_contents (file, &xml, &len, &error)) {
    fprintf (stderr, "da-xml-tool: %s\n", error->message);
    return 1;
  }
  if (no_schema)
    options.flags |= DA_DOMAIN_NO_SCHEMA;
  if (partial)
    options.flags |= DA_DOMAIN_IMPORT_PARTIAL;

  if (strcmp (command, "dump") == 0) {
    print_reservations (engine);
    return 0;
  }
  if (vm_name == NULL) {
    fprintf (stderr, "da-xml-tool: %s needs --vm\n", command);
    return 2;
  }
  if (strcmp (command, "assign") == 0 || strcmp (command, "import") == 0 || strcmp (command, "attach") == 0) {
    if (xml == NULL) {
      fprintf (stderr, "da-xml-tool: %s needs a file\n", command);
      return 2;
    }
    if (strcmp (command, "assign") == 0)
      result = da_domain_assign (engine, vm_name, xml, len, &options, now, NULL, &error);
    else if (strcmp (command, "import") == 0)
      result = da_domain_import (engine, vm_name, xml, len, &options, now, NULL, &error);
    else
      result = da_device_attach (engine, vm_name, xml, len, &options, now, NULL, &error);
    ok = result != NULL;
    if (ok) {
      printf ("%s\n", result->xml);
      for (guint i = 0; i < result->conflicts->len; i++)
        fprintf (stderr, "da-xml-tool: clash: %s\n", (const char *) g_ptr_array_index (result->conflicts, i));
    }
  } else if (strcmp (command, "detach") == 0) {
    DaReleasePhase phase = DA_RELEASE_NOW;
    int after = -1;

    if (phase_name != NULL && strcmp (phase_name, "begin") == 0)
      phase = DA_RELEASE_BEGIN;
    else if (phase_name != NULL && strcmp (phase_name, "confirm") == 0)
      phase = DA_RELEASE_CONFIRM;
    ok = da_device_detach (engine, vm_name, xml, len, alias, &options, phase, now, NULL, &after, &error);
    if (ok)
      printf ("%s\n", after < 0 ? "released" : da_state_to_string ((DaState) after));
  } else {
    fprintf (stderr, "da-xml-tool: unknown command %s\n", command);
    return 2;
  }
  if (!ok) {
    fprintf (stderr, "da-xml-tool: %s\n", error->message);
    return 1;
  }
  if (!save_state (engine, &error)) {
    fprintf (stderr, "da-xml-tool: %s: %s\n", state_path, error->message);
    return 1;
  }
  return 0;
}
