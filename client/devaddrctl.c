/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devaddrctl: the command-line client of devaddrd.  One subcommand per
 * protocol method (or group of them), readable tables by default, the
 * protocol's own results with --json, and exit codes by error class.
 */
#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <devaddr/devaddr.h>

#include "devaddrctl-map.h"
#include "devaddrctl-output.h"

/* exit codes: see devaddrctl(1) */
enum {
  EXIT_OK = 0,
  EXIT_USAGE = 1,
  EXIT_NOT_FOUND = 2,
  EXIT_CONFLICT = 3,
  EXIT_EXHAUSTED = 4,
  EXIT_DENIED = 5,
  EXIT_UNAVAILABLE = 6,
  EXIT_INVALID = 7,
  EXIT_PROTOCOL = 8,
};

typedef struct {
  char *socket_path; /* --socket */
  gboolean json;     /* --json */
  gboolean color;
  DevaddrClient *client;
} Ctl;

typedef int (*CommandFunc) (Ctl *ctl, int argc, char **argv);

typedef struct {
  const char *name; /* "vm create": a group and its verb */
  const char *args;
  const char *summary;
  CommandFunc func;
  gboolean query; /* may use the read-only socket */
} Command;

static int
exit_code (const GError *error)
{
  if (error->domain == DEVADDR_ERROR) {
    switch ((DevaddrError) error->code) {
    case DEVADDR_ERROR_NOT_FOUND:
      return EXIT_NOT_FOUND;
    case DEVADDR_ERROR_CONFLICT:
      return EXIT_CONFLICT;
    case DEVADDR_ERROR_EXHAUSTED:
      return EXIT_EXHAUSTED;
    case DEVADDR_ERROR_PERMISSION_DENIED:
    case DEVADDR_ERROR_READ_ONLY:
      return EXIT_DENIED;
    case DEVADDR_ERROR_UNAVAILABLE:
    case DEVADDR_ERROR_CONNECTION_FAILED:
    case DEVADDR_ERROR_DISCONNECTED:
      return EXIT_UNAVAILABLE;
    case DEVADDR_ERROR_INVALID_ADDRESS:
    case DEVADDR_ERROR_INVALID_PARAMS:
    case DEVADDR_ERROR_LIMIT:
      return EXIT_INVALID;
    default:
      return EXIT_PROTOCOL;
    }
  }
  /* an input file that cannot be read, a --constraint that is not JSON */
  if (error->domain == G_FILE_ERROR || error->domain == G_IO_ERROR || error->domain == JSON_PARSER_ERROR)
    return EXIT_INVALID;
  return EXIT_PROTOCOL;
}

static int
fail (const GError *error)
{
  g_printerr ("devaddrctl: %s\n", error->message);
  return exit_code (error);
}

static int
usage_error (const char *usage, const char *format, ...) G_GNUC_PRINTF (2, 3);

static int
usage_error (const char *usage, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("devaddrctl: %s\nusage: devaddrctl %s\n", message, usage);
  return EXIT_USAGE;
}

/* ------------------------------------------------------------------ */
/* helpers */

static gboolean
parse_number (const char *text, guint64 *out)
{
  if (g_str_has_prefix (text, "0x") || g_str_has_prefix (text, "0X"))
    return g_ascii_string_to_unsigned (text + 2, 16, 0, G_MAXUINT64, out, NULL);
  return g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, out, NULL);
}

/* a file, or standard input for "-" or nothing */
static char *
read_input (const char *path, GError **error)
{
  char *text = NULL;

  if (path != NULL && strcmp (path, "-") != 0) {
    if (!g_file_get_contents (path, &text, NULL, error))
      return NULL;
    return text;
  } else {
    g_autoptr (GString) in = g_string_new (NULL);
    char buf[65536];
    size_t n;

    while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
      g_string_append_len (in, buf, (gssize) n);
    if (ferror (stdin)) {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot read standard input");
      return NULL;
    }
    return g_string_free (g_steal_pointer (&in), FALSE);
  }
}

static void
print_text (GString *text)
{
  fputs (text->str, stdout);
  fflush (stdout);
}

/* --json: the result as the protocol has it */
static int
call_json (Ctl *ctl, const char *method, JsonObject *params)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) owned = params;
  g_autoptr (JsonNode) result = devaddr_client_call (ctl->client, method, params, NULL, &error);

  if (result == NULL)
    return fail (error);
  da_output_json (result);
  return EXIT_OK;
}

static JsonObject *
scope_params (const char *vm)
{
  JsonObject *params = json_object_new ();

  if (vm != NULL)
    json_object_set_string_member (params, "vm", vm);
  else
    json_object_set_string_member (params, "scope", "host");
  return params;
}

static JsonObject *
vm_params (const char *vm)
{
  JsonObject *params = json_object_new ();

  json_object_set_string_member (params, "vm", vm);
  return params;
}

static char *
format_duration (guint64 seconds)
{
  if (seconds >= 86400)
    return g_strdup_printf ("%" G_GUINT64_FORMAT "d %02u:%02u:%02u", seconds / 86400, (guint) (seconds / 3600 % 24),
                            (guint) (seconds / 60 % 60), (guint) (seconds % 60));
  return g_strdup_printf ("%02u:%02u:%02u", (guint) (seconds / 3600), (guint) (seconds / 60 % 60),
                          (guint) (seconds % 60));
}

static char *
reservation_note (DevaddrReservation *res)
{
  g_autoptr (GString) note = g_string_new (NULL);
  GDateTime *expires = devaddr_reservation_get_expires (res);

  if (devaddr_reservation_get_builtin (res))
    g_string_append (note, "template");
  if (devaddr_reservation_get_count (res) > 1)
    g_string_append_printf (note, "%s%" G_GUINT64_FORMAT " to %s", note->len > 0 ? ", " : "",
                            devaddr_reservation_get_count (res),
                            devaddr_reservation_get_end (res) != NULL ? devaddr_reservation_get_end (res) : "?");
  if (expires != NULL) {
    g_autoptr (GDateTime) local = g_date_time_to_local (expires);
    g_autofree char *when = g_date_time_format (local, "%H:%M:%S");

    g_string_append_printf (note, "%sexpires %s", note->len > 0 ? ", " : "", when);
  }
  return note->len > 0 ? g_string_free (g_steal_pointer (&note), FALSE) : NULL;
}

static DaTable *
reservation_table_new (void)
{
  return da_table_new (6, "ALIAS", "TYPE", "ADDRESS", "STATE", "MODE", "NOTE");
}

static void
reservation_table_add (DaTable *table, DevaddrReservation *res)
{
  g_autofree char *note = reservation_note (res);

  da_table_add_row (table, devaddr_reservation_get_alias (res), devaddr_reservation_get_address_type (res),
                    devaddr_reservation_get_address (res), devaddr_state_to_string (devaddr_reservation_get_state (res)),
                    devaddr_mode_to_string (devaddr_reservation_get_mode (res)), note != NULL ? note : "");
}

static void
print_reservations (Ctl *ctl, GPtrArray *list)
{
  g_autoptr (DaTable) table = reservation_table_new ();
  g_autoptr (GString) out = g_string_new (NULL);

  for (guint i = 0; i < list->len; i++)
    reservation_table_add (table, g_ptr_array_index (list, i));
  da_table_print (table, out, ctl->color);
  print_text (out);
}

static void
print_reservation (Ctl *ctl, DevaddrReservation *res)
{
  g_autoptr (GPtrArray) one = g_ptr_array_new ();

  g_ptr_array_add (one, res);
  print_reservations (ctl, one);
}

static const char *
state_word (DevaddrState state)
{
  return devaddr_state_to_string (state) != NULL ? devaddr_state_to_string (state) : "unknown";
}

/* the positionals after the command words: argv[0] is the command */
#define NARGS (argc - 1)
#define ARG(i) (argv[(i) + 1])

/* VM, or nothing with --host; returns the index of the next positional */
static gboolean
take_scope (gboolean host, int argc, char **argv, const char **vm, int *next)
{
  if (host) {
    *vm = NULL;
    *next = 0;
    return TRUE;
  }
  if (NARGS < 1)
    return FALSE;
  *vm = ARG (0);
  *next = 1;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* status, types, templates */

static int
cmd_status (Ctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrServerInfo) info = NULL;
  g_autoptr (DaTable) table = da_table_new (2, "", "");
  g_autoptr (GString) out = g_string_new (NULL);
  g_autofree char *uptime = NULL, *vms = NULL, *reservations = NULL;
  JsonObject *store;

  if (NARGS != 0)
    return usage_error ("status", "status takes no arguments");
  if (ctl->json)
    return call_json (ctl, "server.info", NULL);
  info = devaddr_client_get_server_info (ctl->client, NULL, &error);
  if (info == NULL)
    return fail (error);
  uptime = format_duration (devaddr_server_info_get_uptime (info));
  vms = g_strdup_printf ("%" G_GUINT64_FORMAT, devaddr_server_info_get_n_vms (info));
  reservations = g_strdup_printf ("%" G_GUINT64_FORMAT, devaddr_server_info_get_n_reservations (info));
  g_string_append_printf (out, "devaddrd %s, protocol %u\n", devaddr_server_info_get_version (info),
                          devaddr_server_info_get_protocol (info));
  da_table_add_row (table, "socket", devaddr_client_get_socket_path (ctl->client));
  da_table_add_row (table, "uptime", uptime);
  da_table_add_row (table, "vms", vms);
  da_table_add_row (table, "reservations", reservations);
  store = devaddr_server_info_get_store (info);
  if (json_object_has_member (store, "dir") && JSON_NODE_HOLDS_VALUE (json_object_get_member (store, "dir")))
    da_table_add_row (table, "state", json_object_get_string_member (store, "dir"));
  if (json_object_has_member (store, "failed") && JSON_NODE_HOLDS_VALUE (json_object_get_member (store, "failed")))
    da_table_add_row (table, "store",
                      json_object_get_boolean_member (store, "failed") ? "FAILED: read-only until restarted" : "ok");
  /* no header line for a key-value list */
  {
    g_autoptr (GString) rows = g_string_new (NULL);
    const char *body;

    da_table_print (table, rows, FALSE);
    body = strchr (rows->str, '\n');
    g_string_append (out, body != NULL ? body + 1 : "");
  }
  print_text (out);
  return EXIT_OK;
}

static int
cmd_types (Ctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) types = NULL;
  g_autoptr (DaTable) table = da_table_new (4, "NAME", "DIMENSIONS", "EXAMPLE", "DESCRIPTION");
  g_autoptr (GString) out = g_string_new (NULL);

  if (NARGS != 0)
    return usage_error ("types", "types takes no arguments");
  if (ctl->json)
    return call_json (ctl, "types.list", NULL);
  types = devaddr_client_get_types (ctl->client, NULL, &error);
  if (types == NULL)
    return fail (error);
  for (guint i = 0; i < types->len; i++) {
    DevaddrTypeInfo *type = g_ptr_array_index (types, i);
    g_autoptr (GString) dims = g_string_new (NULL);
    g_autofree char *pool = g_strdup (devaddr_type_info_get_pool (type));
    char *cut;

    for (guint d = 0; d < devaddr_type_info_get_n_dimensions (type); d++)
      g_string_append_printf (dims, "%s%s", d > 0 ? "," : "", devaddr_type_info_get_dimension (type, d, NULL, NULL));
    /* the first address of the default pool shows the text form */
    if ((cut = strpbrk (pool, "-;")) != NULL)
      *cut = '\0';
    da_table_add_row (table, devaddr_type_info_get_name (type), dims->str, pool,
                      devaddr_type_info_get_description (type));
  }
  da_table_print (table, out, ctl->color);
  print_text (out);
  return EXIT_OK;
}

static int
cmd_templates (Ctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) templates = NULL;
  g_autoptr (DaTable) table = da_table_new (3, "NAME", "MACHINES", "DESCRIPTION");
  g_autoptr (GString) out = g_string_new (NULL);

  if (NARGS != 0)
    return usage_error ("templates", "templates takes no arguments");
  if (ctl->json)
    return call_json (ctl, "templates.list", NULL);
  templates = devaddr_client_get_templates (ctl->client, NULL, &error);
  if (templates == NULL)
    return fail (error);
  for (guint i = 0; i < templates->len; i++) {
    DevaddrTemplateInfo *t = g_ptr_array_index (templates, i);
    g_autofree char *machines = g_strjoinv (",", (char **) devaddr_template_info_get_machines (t));

    da_table_add_row (table, devaddr_template_info_get_name (t), *machines != '\0' ? machines : "-",
                      devaddr_template_info_get_description (t));
  }
  da_table_print (table, out, ctl->color);
  print_text (out);
  return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* vm */

static char *opt_template;

static const GOptionEntry vm_create_entries[] = {
  { "template", 't', 0, G_OPTION_ARG_STRING, &opt_template, "machine template (default: pc)", "NAME" },
  { NULL }
};

static int
cmd_vm_create (Ctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  JsonObject *params;

  if (NARGS != 1)
    return usage_error ("vm create VM [--template NAME]", "vm create takes one VM name");
  if (ctl->json) {
    params = vm_params (ARG (0));
    if (opt_template != NULL)
      json_object_set_string_member (params, "template", opt_template);
    return call_json (ctl, "vm.create", params);
  }
  if (!devaddr_client_create_vm (ctl->client, ARG (0), opt_template, NULL, &error))
    return fail (error);
  printf ("%s: created\n", ARG (0));
  return EXIT_OK;
}

static int
cmd_vm_delete (Ctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  guint released = 0;

  if (NARGS != 1)
    return usage_error ("vm delete VM", "vm delete takes one VM name");
  if (ctl->json)
    return call_json (ctl, "vm.delete", vm_params (ARG (0)));
  if (!devaddr_client_delete_vm (ctl->client, ARG (0), &released, NULL, &error))
    return fail (error);
  printf ("%s: deleted, %u reservation%s released\n", ARG (0), released, released == 1 ? "" : "s");
  return EXIT_OK;
}

static int
cmd_vm_list (Ctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) vms = NULL;
  g_autoptr (DaTable) table = da_table_new (3, "VM", "TEMPLATE", "RESERVATIONS");
  g_autoptr (GString) out = g_string_new (NULL);

  if (NARGS != 0)
    return usage_error ("vm list", "vm list takes no arguments");
  if (ctl->json)
    return call_json (ctl, "vm.list", NULL);
  vms = devaddr_client_get_vms (ctl->client, NULL, &error);
  if (vms == NULL)
    return fail (error);
  for (guint i = 0; i < vms->len; i++) {
    DevaddrVm *vm = g_ptr_array_index (vms, i);
    g_autofree char *n = g_strdup_printf ("%u", devaddr_vm_get_n_reservations (vm));

    da_table_add_row (table, devaddr_vm_get_name (vm), devaddr_vm_get_template (vm), n);
  }
  da_table_print (table, out, ctl->color);
  print_text (out);
  return EXIT_OK;
}

static int
cmd_vm_show (Ctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrVm) vm = NULL;

  if (NARGS != 1)
    return usage_error ("vm show VM", "vm show takes one VM name");
  if (ctl->json)
    return call_json (ctl, "vm.get", vm_params (ARG (0)));
  vm = devaddr_client_get_vm (ctl->client, ARG (0), NULL, &error);
  if (vm == NULL)
    return fail (error);
  printf ("%s (template %s): %u reservation%s\n\n", devaddr_vm_get_name (vm), devaddr_vm_get_template (vm),
          devaddr_vm_get_n_reservations (vm), devaddr_vm_get_n_reservations (vm) == 1 ? "" : "s");
  print_reservations (ctl, devaddr_vm_get_reservations (vm));
  return EXIT_OK;
}

static int
cmd_host_show (Ctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = NULL;

  if (NARGS != 0)
    return usage_error ("host show", "host show takes no arguments");
  if (ctl->json)
    return call_json (ctl, "host.get", NULL);
  list = devaddr_client_get_host_reservations (ctl->client, NULL, &error);
  if (list == NULL)
    return fail (error);
  printf ("the host scope: %u reservation%s\n", list->len, list->len == 1 ? "" : "s");
  if (list->len > 0) {
    printf ("\n");
    print_reservations (ctl, list);
  }
  return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* reserve, commit, release, lookup */

static gboolean opt_host;
static gint opt_hold;
static gboolean opt_static, opt_dynamic;
static char **opt_where;
static char **opt_tags;
static char **opt_not_tags;
static char *opt_policy;
static char *opt_count;
static char *opt_align;
static char *opt_constraint;
static gboolean opt_xml;
static char *opt_batch;
static gboolean opt_begin, opt_confirm;
static char *opt_alias;

static const GOptionEntry host_entries[] = {
  { "host", 0, 0, G_OPTION_ARG_NONE, &opt_host, "the host scope (MACs, vsock CIDs ...) instead of a VM", NULL },
  { NULL }
};

static const GOptionEntry reserve_entries[] = {
  { "host", 0, 0, G_OPTION_ARG_NONE, &opt_host, "the host scope (MACs, vsock CIDs ...) instead of a VM", NULL },
  { "hold", 0, 0, G_OPTION_ARG_INT, &opt_hold, "hold the reservation for SECONDS until committed", "SECONDS" },
  { "static", 0, 0, G_OPTION_ARG_NONE, &opt_static, "record the reservation as chosen by the user", NULL },
  { "dynamic", 0, 0, G_OPTION_ARG_NONE, &opt_dynamic, "record the reservation as chosen by the daemon", NULL },
  { "where", 'w', 0, G_OPTION_ARG_STRING_ARRAY, &opt_where, "limit a dimension, e.g. slot=4-8 (repeatable)",
    "DIM=N[-M]" },
  { "tag", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_tags, "the address must carry TAG (repeatable)", "TAG" },
  { "not-tag", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_not_tags, "the address must not carry TAG (repeatable)", "TAG" },
  { "policy", 0, 0, G_OPTION_ARG_STRING, &opt_policy, "first-fit, next-fit, last-fit or random", "POLICY" },
  { "count", 0, 0, G_OPTION_ARG_STRING, &opt_count, "reserve N consecutive addresses", "N" },
  { "align", 0, 0, G_OPTION_ARG_STRING, &opt_align, "the first address is a multiple of N", "N" },
  { "constraint", 0, 0, G_OPTION_ARG_STRING, &opt_constraint, "the whole constraint as a JSON object", "JSON" },
  { "xml", 0, 0, G_OPTION_ARG_NONE, &opt_xml, "print the libvirt <address/> element of the address", NULL },
  { "batch", 0, 0, G_OPTION_ARG_FILENAME, &opt_batch,
    "reserve the requests of a JSON array in FILE (- for stdin), all or nothing", "FILE" },
  { NULL }
};

static const GOptionEntry release_entries[] = {
  { "host", 0, 0, G_OPTION_ARG_NONE, &opt_host, "the host scope instead of a VM", NULL },
  { "begin", 0, 0, G_OPTION_ARG_NONE, &opt_begin, "the unplug was sent: mark the reservation releasing", NULL },
  { "confirm", 0, 0, G_OPTION_ARG_NONE, &opt_confirm, "the unplug completed: free the address", NULL },
  { NULL }
};

static gboolean opt_create;

static const GOptionEntry assign_entries[] = {
  { "create", 'c', 0, G_OPTION_ARG_NONE, &opt_create,
    "create the VM first, with the template that fits the domain's machine type", NULL },
  { NULL }
};

static gboolean opt_partial;

static const GOptionEntry import_entries[] = {
  { "partial", 0, 0, G_OPTION_ARG_NONE, &opt_partial,
    "adopt what does not clash and list the clashes (default: all or nothing)", NULL },
  { NULL }
};

static const GOptionEntry detach_entries[] = {
  { "alias", 'a', 0, G_OPTION_ARG_STRING, &opt_alias, "name the device by its alias instead of its XML", "ALIAS" },
  { "begin", 0, 0, G_OPTION_ARG_NONE, &opt_begin, "the unplug was sent: mark the reservation releasing", NULL },
  { "confirm", 0, 0, G_OPTION_ARG_NONE, &opt_confirm, "the unplug completed: free the address", NULL },
  { NULL }
};

#define RESERVE_USAGE "reserve [OPTION...] {VM|--host} TYPE ALIAS [ADDRESS]\n" \
                      "       devaddrctl reserve [OPTION...] {VM|--host} --batch FILE"

static gboolean
build_request (DevaddrReserveRequest *request, GError **error)
{
  if (opt_constraint != NULL) {
    g_autoptr (JsonParser) parser = json_parser_new ();
    JsonNode *root;

    if (!json_parser_load_from_data (parser, opt_constraint, -1, error)) {
      g_prefix_error (error, "--constraint: ");
      return FALSE;
    }
    root = json_parser_get_root (parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
      g_set_error_literal (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
                           "--constraint: expected a JSON object");
      return FALSE;
    }
    devaddr_reserve_request_set_constraint (request, json_node_get_object (root));
  }
  for (guint i = 0; opt_where != NULL && opt_where[i] != NULL; i++) {
    g_auto (GStrv) kv = g_strsplit (opt_where[i], "=", 2);
    g_auto (GStrv) range = NULL;
    guint64 lo, hi;

    if (kv[1] == NULL || *kv[0] == '\0') {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "--where %s: expected DIM=N or DIM=N-M",
                   opt_where[i]);
      return FALSE;
    }
    range = g_strsplit (kv[1], "-", 2);
    if (!parse_number (range[0], &lo) || !parse_number (range[1] != NULL ? range[1] : range[0], &hi) || lo > hi) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "--where %s: expected DIM=N or DIM=N-M",
                   opt_where[i]);
      return FALSE;
    }
    devaddr_reserve_request_set_range (request, kv[0], lo, hi);
  }
  for (guint i = 0; opt_tags != NULL && opt_tags[i] != NULL; i++)
    devaddr_reserve_request_add_tag (request, opt_tags[i]);
  for (guint i = 0; opt_not_tags != NULL && opt_not_tags[i] != NULL; i++)
    devaddr_reserve_request_add_not_tag (request, opt_not_tags[i]);
  if (opt_policy != NULL) {
    DevaddrPolicy policy = devaddr_policy_from_string (opt_policy);

    if (policy == DEVADDR_POLICY_DEFAULT) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "--policy %s: expected first-fit, next-fit, last-fit or random", opt_policy);
      return FALSE;
    }
    devaddr_reserve_request_set_policy (request, policy);
  }
  if (opt_count != NULL || opt_align != NULL) {
    guint64 count = 1, align = 1;

    if ((opt_count != NULL && (!parse_number (opt_count, &count) || count == 0))
        || (opt_align != NULL && (!parse_number (opt_align, &align) || align == 0))) {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "--count and --align take a number of at least 1");
      return FALSE;
    }
    if (opt_count != NULL)
      devaddr_reserve_request_set_count (request, count);
    if (opt_align != NULL)
      devaddr_reserve_request_set_align (request, align);
  }
  if (opt_hold > 0)
    devaddr_reserve_request_set_hold (request, (guint) opt_hold);
  if (opt_static)
    devaddr_reserve_request_set_mode (request, DEVADDR_MODE_STATIC);
  if (opt_dynamic)
    devaddr_reserve_request_set_mode (request, DEVADDR_MODE_DYNAMIC);
  return TRUE;
}

/* requests of a batch file: the protocol's request objects */
static GPtrArray *
read_batch (const char *path, JsonArray **raw, GError **error)
{
  g_autofree char *text = read_input (path, error);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GPtrArray) requests = g_ptr_array_new_with_free_func ((GDestroyNotify) devaddr_reserve_request_unref);
  JsonNode *root;
  JsonArray *array;

  if (text == NULL)
    return NULL;
  if (!json_parser_load_from_data (parser, text, -1, error)) {
    g_prefix_error (error, "%s: ", path);
    return NULL;
  }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_ARRAY (root)) {
    g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
                 "%s: expected a JSON array of requests", path);
    return NULL;
  }
  array = json_node_get_array (root);
  for (guint i = 0; i < json_array_get_length (array); i++) {
    JsonNode *item = json_array_get_element (array, i);
    JsonObject *obj;
    DevaddrReserveRequest *request;
    JsonNode *hold;

    if (!JSON_NODE_HOLDS_OBJECT (item) || !json_object_has_member (json_node_get_object (item), "type")
        || !json_object_has_member (json_node_get_object (item), "alias")) {
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
                   "%s: request %u: expected an object with type and alias", path, i);
      return NULL;
    }
    obj = json_node_get_object (item);
    request = devaddr_reserve_request_new (json_object_get_string_member_with_default (obj, "type", ""),
                                           json_object_get_string_member_with_default (obj, "alias", ""));
    g_ptr_array_add (requests, request);
    devaddr_reserve_request_set_address (request, json_object_get_string_member_with_default (obj, "address", NULL));
    devaddr_reserve_request_set_mode (request, devaddr_mode_from_string (
                                                 json_object_get_string_member_with_default (obj, "mode", NULL)));
    hold = json_object_get_member (obj, "hold_s");
    if (hold != NULL && JSON_NODE_HOLDS_VALUE (hold) && json_node_get_value_type (hold) == G_TYPE_INT64)
      devaddr_reserve_request_set_hold (request, (guint) CLAMP (json_node_get_int (hold), 0, G_MAXUINT));
    if (json_object_has_member (obj, "constraint") && JSON_NODE_HOLDS_OBJECT (json_object_get_member (obj, "constraint")))
      devaddr_reserve_request_set_constraint (request, json_object_get_object_member (obj, "constraint"));
  }
  *raw = json_array_ref (array);
  return g_steal_pointer (&requests);
}

static int
print_xml_for (DevaddrReservation *res)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *xml = devaddr_reservation_to_libvirt_address (res, &error);

  if (xml == NULL)
    return fail (error);
  printf ("%s\n", xml);
  return EXIT_OK;
}

static int
cmd_reserve (Ctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  const char *vm = NULL;
  int next;

  if (!take_scope (opt_host, argc, argv, &vm, &next))
    return usage_error (RESERVE_USAGE, "reserve needs a VM (or --host)");
  if (opt_static && opt_dynamic)
    return usage_error (RESERVE_USAGE, "--static and --dynamic exclude each other");
  if (opt_xml && ctl->json)
    return usage_error (RESERVE_USAGE, "--xml and --json exclude each other");
  if (opt_hold < 0 || opt_hold > 86400)
    return usage_error (RESERVE_USAGE, "--hold takes 1 to 86400 seconds");

  if (opt_batch != NULL) {
    g_autoptr (JsonArray) raw = NULL;
    g_autoptr (GPtrArray) requests = NULL;
    g_autoptr (GPtrArray) reservations = NULL;

    if (NARGS != next)
      return usage_error (RESERVE_USAGE, "--batch takes the requests from the file, not the command line");
    requests = read_batch (opt_batch, &raw, &error);
    if (requests == NULL)
      return fail (error);
    if (ctl->json) {
      JsonObject *params = scope_params (vm);

      json_object_set_array_member (params, "requests", g_steal_pointer (&raw));
      return call_json (ctl, "addr.reserve", params);
    }
    reservations = devaddr_client_reserve_batch (ctl->client, vm, requests, NULL, &error);
    if (reservations == NULL)
      return fail (error);
    if (opt_xml) {
      for (guint i = 0; i < reservations->len; i++) {
        int status = print_xml_for (g_ptr_array_index (reservations, i));

        if (status != EXIT_OK)
          return status;
      }
      return EXIT_OK;
    }
    print_reservations (ctl, reservations);
    return EXIT_OK;
  } else {
    g_autoptr (DevaddrReserveRequest) request = NULL;
    g_autoptr (DevaddrReservation) res = NULL;

    if (NARGS != next + 2 && NARGS != next + 3)
      return usage_error (RESERVE_USAGE, "reserve takes a type, an alias and maybe an address");
    request = devaddr_reserve_request_new (ARG (next), ARG (next + 1));
    if (NARGS == next + 3)
      devaddr_reserve_request_set_address (request, ARG (next + 2));
    if (!build_request (request, &error))
      return fail (error);
    if (ctl->json) {
      JsonObject *params = devaddr_reserve_request_to_json (request);
      g_autoptr (JsonObject) scope = scope_params (vm);
      g_autoptr (GList) members = json_object_get_members (scope);

      for (GList *l = members; l != NULL; l = l->next)
        json_object_set_string_member (params, l->data, json_object_get_string_member (scope, l->data));
      return call_json (ctl, "addr.reserve", params);
    }
    res = devaddr_client_reserve (ctl->client, vm, request, NULL, &error);
    if (res == NULL)
      return fail (error);
    if (opt_xml)
      return print_xml_for (res);
    print_reservation (ctl, res);
    return EXIT_OK;
  }
}

static int
cmd_commit (Ctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrReservation) res = NULL;
  const char *vm = NULL;
  int next;

  if (!take_scope (opt_host, argc, argv, &vm, &next) || NARGS != next + 1)
    return usage_error ("commit {VM|--host} ALIAS", "commit takes a VM (or --host) and an alias");
  if (ctl->json) {
    JsonObject *params = scope_params (vm);

    json_object_set_string_member (params, "alias", ARG (next));
    return call_json (ctl, "addr.commit", params);
  }
  res = devaddr_client_commit (ctl->client, vm, ARG (next), NULL, &error);
  if (res == NULL)
    return fail (error);
  print_reservation (ctl, res);
  return EXIT_OK;
}

static gboolean
get_phase (DevaddrReleasePhase *phase)
{
  if (opt_begin && opt_confirm)
    return FALSE;
  *phase = opt_begin ? DEVADDR_RELEASE_BEGIN : opt_confirm ? DEVADDR_RELEASE_CONFIRM : DEVADDR_RELEASE_NOW;
  return TRUE;
}

static int
cmd_release (Ctl *ctl, int argc, char **argv)
{
  static const char usage[] = "release [--begin|--confirm] {VM|--host} ALIAS";
  g_autoptr (GError) error = NULL;
  DevaddrReleasePhase phase;
  DevaddrState state = DEVADDR_STATE_UNKNOWN;
  const char *vm = NULL;
  int next;

  if (!take_scope (opt_host, argc, argv, &vm, &next) || NARGS != next + 1)
    return usage_error (usage, "release takes a VM (or --host) and an alias");
  if (!get_phase (&phase))
    return usage_error (usage, "--begin and --confirm exclude each other");
  if (ctl->json) {
    JsonObject *params = scope_params (vm);

    json_object_set_string_member (params, "alias", ARG (next));
    if (devaddr_release_phase_to_string (phase) != NULL)
      json_object_set_string_member (params, "phase", devaddr_release_phase_to_string (phase));
    return call_json (ctl, "addr.release", params);
  }
  if (!devaddr_client_release (ctl->client, vm, ARG (next), phase, &state, NULL, &error))
    return fail (error);
  printf ("%s: %s\n", ARG (next), state_word (state));
  return EXIT_OK;
}

static int
cmd_lookup (Ctl *ctl, int argc, char **argv)
{
  static const char usage[] = "lookup {VM|--host} ALIAS\n       devaddrctl lookup {VM|--host} TYPE ADDRESS";
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrReservation) res = NULL;
  const char *vm = NULL;
  int next;

  if (!take_scope (opt_host, argc, argv, &vm, &next) || (NARGS != next + 1 && NARGS != next + 2))
    return usage_error (usage, "lookup takes an alias, or a type and an address");
  if (ctl->json) {
    JsonObject *params = scope_params (vm);

    if (NARGS == next + 1) {
      json_object_set_string_member (params, "alias", ARG (next));
    } else {
      json_object_set_string_member (params, "type", ARG (next));
      json_object_set_string_member (params, "address", ARG (next + 1));
    }
    return call_json (ctl, "addr.lookup", params);
  }
  if (NARGS == next + 1)
    res = devaddr_client_lookup (ctl->client, vm, ARG (next), NULL, &error);
  else
    res = devaddr_client_lookup_address (ctl->client, vm, ARG (next), ARG (next + 1), NULL, &error);
  if (res == NULL)
    return fail (error);
  print_reservation (ctl, res);
  return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* stats and map: every pool of a scope, asked for at once */

typedef struct {
  guint pending;
  GPtrArray *stats; /* DevaddrPoolStats or NULL, by type */
  GPtrArray *json;  /* JsonNode or NULL, by type, for --json */
  GError *error;    /* the first error that is not "no such pool" */
} PoolQuery;

typedef struct {
  PoolQuery *query;
  guint index;
} PoolCall;

static void
pool_stats_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  PoolCall *call = user_data;
  PoolQuery *query = call->query;
  g_autoptr (GError) error = NULL;

  if (query->json != NULL) {
    JsonNode *node = devaddr_client_call_finish (DEVADDR_CLIENT (source), res, &error);

    g_ptr_array_index (query->json, call->index) = node;
  } else {
    DevaddrPoolStats *stats = devaddr_client_get_pool_stats_finish (DEVADDR_CLIENT (source), res, &error);

    g_ptr_array_index (query->stats, call->index) = stats;
  }
  /* a type the scope has no pool for is not an error here */
  if (error != NULL && query->error == NULL && !g_error_matches (error, DEVADDR_ERROR, DEVADDR_ERROR_NOT_FOUND)
      && !g_error_matches (error, DEVADDR_ERROR, DEVADDR_ERROR_INVALID_PARAMS))
    query->error = g_steal_pointer (&error);
  query->pending--;
  g_free (call);
}

/* the stats of every type of the catalog in one go: the calls are
 * pipelined on the one connection */
static gboolean
query_pools (Ctl *ctl, const char *vm, GPtrArray *types, PoolQuery *query, gboolean json, GError **error)
{
  query->stats = g_ptr_array_new_full (types->len, (GDestroyNotify) devaddr_pool_stats_unref);
  g_ptr_array_set_size (query->stats, types->len);
  if (json) {
    query->json = g_ptr_array_new_full (types->len, (GDestroyNotify) json_node_unref);
    g_ptr_array_set_size (query->json, types->len);
  }
  for (guint i = 0; i < types->len; i++) {
    const char *type = devaddr_type_info_get_name (g_ptr_array_index (types, i));
    PoolCall *call = g_new0 (PoolCall, 1);

    call->query = query;
    call->index = i;
    query->pending++;
    if (json) {
      g_autoptr (JsonObject) params = scope_params (vm);

      json_object_set_string_member (params, "type", type);
      devaddr_client_call_async (ctl->client, "pool.stats", params, NULL, pool_stats_done, call);
    } else {
      devaddr_client_get_pool_stats_async (ctl->client, vm, type, NULL, pool_stats_done, call);
    }
  }
  while (query->pending > 0)
    g_main_context_iteration (NULL, TRUE);
  if (query->error != NULL) {
    g_propagate_error (error, g_steal_pointer (&query->error));
    return FALSE;
  }
  return TRUE;
}

static void
pool_query_clear (PoolQuery *query)
{
  g_clear_pointer (&query->stats, g_ptr_array_unref);
  g_clear_pointer (&query->json, g_ptr_array_unref);
  g_clear_error (&query->error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PoolQuery, pool_query_clear)

static gboolean
pool_in_use (DevaddrPoolStats *stats)
{
  DevaddrCounts counts;

  /* a pool the scope does not have yet reports the template's buses too */
  devaddr_pool_stats_get_counts (stats, &counts);
  return devaddr_pool_stats_get_exists (stats)
         && (counts.used > 0 || devaddr_pool_stats_get_n_buses (stats) > 0);
}

static void
print_pool_stats (Ctl *ctl, const char *scope, DevaddrPoolStats *stats)
{
  g_autoptr (GString) out = g_string_new (NULL);
  g_autoptr (DaTable) table = da_table_new (5, "PART", "NAME", "USED", "FREE", "CAPACITY");
  g_auto (GStrv) tags = devaddr_pool_stats_get_tags (stats);
  DevaddrCounts c;

  devaddr_pool_stats_get_counts (stats, &c);
  g_string_append_printf (out,
                          "%s in %s: %" G_GUINT64_FORMAT " used, %" G_GUINT64_FORMAT " free of %" G_GUINT64_FORMAT
                          ", largest free run %" G_GUINT64_FORMAT "\n",
                          devaddr_pool_stats_get_address_type (stats), scope, c.used, c.free, c.capacity,
                          devaddr_pool_stats_get_largest_free_run (stats));
  for (guint i = 0; tags[i] != NULL; i++) {
    g_autofree char *used = NULL, *free_ = NULL, *cap = NULL;

    devaddr_pool_stats_get_tag_counts (stats, tags[i], &c);
    used = g_strdup_printf ("%" G_GUINT64_FORMAT, c.used);
    free_ = g_strdup_printf ("%" G_GUINT64_FORMAT, c.free);
    cap = g_strdup_printf ("%" G_GUINT64_FORMAT, c.capacity);
    da_table_add_row (table, "tag", tags[i], used, free_, cap);
  }
  for (guint i = 0; i < devaddr_pool_stats_get_n_buses (stats); i++) {
    const char *name = devaddr_pool_stats_get_bus (stats, i, &c);
    g_autofree char *used = g_strdup_printf ("%" G_GUINT64_FORMAT, c.used);
    g_autofree char *free_ = g_strdup_printf ("%" G_GUINT64_FORMAT, c.free);
    g_autofree char *cap = g_strdup_printf ("%" G_GUINT64_FORMAT, c.capacity);

    da_table_add_row (table, "bus", name, used, free_, cap);
  }
  if (da_table_get_n_rows (table) > 0) {
    g_string_append_c (out, '\n');
    da_table_print (table, out, ctl->color);
  }
  print_text (out);
}

static int
cmd_stats (Ctl *ctl, int argc, char **argv)
{
  static const char usage[] = "stats {VM|--host} [TYPE]";
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) types = NULL;
  g_auto (PoolQuery) query = { 0 };
  g_autoptr (DaTable) table = NULL;
  g_autoptr (GString) out = NULL;
  const char *vm = NULL;
  int next;

  if (!take_scope (opt_host, argc, argv, &vm, &next) || (NARGS != next && NARGS != next + 1))
    return usage_error (usage, "stats takes a VM (or --host) and maybe a type");
  if (NARGS == next + 1) {
    g_autoptr (DevaddrPoolStats) stats = NULL;

    if (ctl->json) {
      JsonObject *params = scope_params (vm);

      json_object_set_string_member (params, "type", ARG (next));
      return call_json (ctl, "pool.stats", params);
    }
    stats = devaddr_client_get_pool_stats (ctl->client, vm, ARG (next), NULL, &error);
    if (stats == NULL)
      return fail (error);
    print_pool_stats (ctl, vm != NULL ? vm : "the host scope", stats);
    return EXIT_OK;
  }

  /* every pool in use */
  types = devaddr_client_get_types (ctl->client, NULL, &error);
  if (types == NULL || !query_pools (ctl, vm, types, &query, ctl->json, &error))
    return fail (error);
  if (ctl->json) {
    g_autoptr (JsonNode) root = json_node_new (JSON_NODE_ARRAY);
    JsonArray *array = json_array_new ();

    json_node_take_array (root, array);
    for (guint i = 0; i < types->len; i++) {
      JsonNode *node = g_ptr_array_index (query.json, i);
      JsonObject *obj = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      JsonArray *buses = obj != NULL && json_object_has_member (obj, "buses") ? json_object_get_array_member (obj, "buses") : NULL;

      if (obj != NULL && json_object_get_boolean_member_with_default (obj, "exists", TRUE)
          && (json_object_get_int_member_with_default (obj, "used", 0) > 0
              || (buses != NULL && json_array_get_length (buses) > 0)))
        json_array_add_element (array, json_node_ref (node));
    }
    da_output_json (root);
    return EXIT_OK;
  }
  table = da_table_new (5, "TYPE", "USED", "FREE", "CAPACITY", "LARGEST FREE RUN");
  for (guint i = 0; i < types->len; i++) {
    DevaddrPoolStats *stats = g_ptr_array_index (query.stats, i);
    DevaddrCounts c;
    g_autofree char *used = NULL, *free_ = NULL, *cap = NULL, *run = NULL;

    if (stats == NULL || !pool_in_use (stats))
      continue;
    devaddr_pool_stats_get_counts (stats, &c);
    used = g_strdup_printf ("%" G_GUINT64_FORMAT, c.used);
    free_ = g_strdup_printf ("%" G_GUINT64_FORMAT, c.free);
    cap = g_strdup_printf ("%" G_GUINT64_FORMAT, c.capacity);
    run = g_strdup_printf ("%" G_GUINT64_FORMAT, devaddr_pool_stats_get_largest_free_run (stats));
    da_table_add_row (table, devaddr_pool_stats_get_address_type (stats), used, free_, cap, run);
  }
  out = g_string_new (NULL);
  if (da_table_get_n_rows (table) == 0)
    g_string_append_printf (out, "%s has no addresses in use\n", vm != NULL ? vm : "the host scope");
  else
    da_table_print (table, out, ctl->color);
  print_text (out);
  return EXIT_OK;
}

static int
cmd_map (Ctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrVm) vm = NULL;
  g_autoptr (GPtrArray) types = NULL;
  g_autoptr (GPtrArray) pools = g_ptr_array_new_with_free_func ((GDestroyNotify) devaddr_pool_stats_unref);
  g_auto (PoolQuery) query = { 0 };
  g_autoptr (DaMap) map = NULL;

  if (NARGS != 1)
    return usage_error ("map VM", "map takes one VM name");
  vm = devaddr_client_get_vm (ctl->client, ARG (0), NULL, &error);
  if (vm == NULL)
    return fail (error);
  types = devaddr_client_get_types (ctl->client, NULL, &error);
  if (types == NULL || !query_pools (ctl, ARG (0), types, &query, FALSE, &error))
    return fail (error);
  for (guint i = 0; i < types->len; i++) {
    DevaddrPoolStats *stats = g_ptr_array_index (query.stats, i);

    if (stats != NULL && (strcmp (devaddr_pool_stats_get_address_type (stats), "pci") == 0
                          || da_map_wants_pool (vm, stats)))
      g_ptr_array_add (pools, devaddr_pool_stats_ref (stats));
  }
  map = da_map_new (vm, pools);
  if (ctl->json) {
    g_autoptr (JsonNode) node = da_map_to_json (map);

    da_output_json (node);
  } else {
    g_autoptr (GString) out = g_string_new (NULL);

    da_map_render (map, out, ctl->color);
    print_text (out);
  }
  return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* domain and device XML */

typedef struct {
  gboolean in_os;
  char *machine;
} MachineScan;

static void
machine_start (GMarkupParseContext *context, const char *element, const char **names, const char **values,
               gpointer user_data, GError **error)
{
  MachineScan *scan = user_data;
  const GSList *stack = g_markup_parse_context_get_element_stack (context);

  /* <domain><os><type machine='...'> */
  if (strcmp (element, "type") != 0 || g_slist_length ((GSList *) stack) != 3
      || strcmp (stack->next->data, "os") != 0 || strcmp (stack->next->next->data, "domain") != 0)
    return;
  for (guint i = 0; names[i] != NULL; i++)
    if (strcmp (names[i], "machine") == 0 && scan->machine == NULL)
      scan->machine = g_strdup (values[i]);
}

/* the domain's machine type, or NULL when it names none */
static gboolean
domain_machine (const char *xml, char **machine, GError **error)
{
  static const GMarkupParser parser = { machine_start, NULL, NULL, NULL, NULL };
  MachineScan scan = { FALSE, NULL };
  g_autoptr (GMarkupParseContext) context = g_markup_parse_context_new (&parser, 0, &scan, NULL);

  if (!g_markup_parse_context_parse (context, xml, -1, error) || !g_markup_parse_context_end_parse (context, error)) {
    g_free (scan.machine);
    g_prefix_error (error, "the domain XML: ");
    return FALSE;
  }
  *machine = scan.machine;
  return TRUE;
}

/* assign --create: a VM laid out by the template whose machine patterns
 * fit the domain's machine type; one that exists already is fine */
static gboolean
create_vm_for (Ctl *ctl, const char *vm, const char *xml, GError **error)
{
  g_autofree char *machine = NULL;
  g_autoptr (GPtrArray) templates = NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (DevaddrVm) existing = NULL;
  const char *chosen = NULL;

  if (!domain_machine (xml, &machine, error))
    return FALSE;
  if (machine != NULL) {
    templates = devaddr_client_get_templates (ctl->client, NULL, error);
    if (templates == NULL)
      return FALSE;
    for (guint i = 0; i < templates->len && chosen == NULL; i++) {
      DevaddrTemplateInfo *t = g_ptr_array_index (templates, i);
      const char *const *patterns = devaddr_template_info_get_machines (t);

      for (guint p = 0; patterns[p] != NULL && chosen == NULL; p++)
        if (g_pattern_match_simple (patterns[p], machine))
          chosen = devaddr_template_info_get_name (t);
    }
    if (chosen == NULL) {
      g_set_error (error, DEVADDR_ERROR, DEVADDR_ERROR_NOT_FOUND,
                   "no template fits machine type %s; create the VM with vm create --template", machine);
      return FALSE;
    }
  }
  if (devaddr_client_create_vm (ctl->client, vm, chosen, NULL, &local))
    return TRUE;
  if (!g_error_matches (local, DEVADDR_ERROR, DEVADDR_ERROR_CONFLICT)) {
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  /* the VM exists: fine if it has that template */
  existing = devaddr_client_get_vm (ctl->client, vm, NULL, NULL);
  if (existing == NULL || (chosen != NULL && strcmp (devaddr_vm_get_template (existing), chosen) != 0)) {
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  return TRUE;
}

static int
cmd_assign (Ctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrAssignment) assignment = NULL;
  g_autofree char *xml = NULL;

  if (NARGS != 1 && NARGS != 2)
    return usage_error ("assign [--create] VM [FILE]", "assign takes a VM and a domain XML file (- or none: stdin)");
  xml = read_input (NARGS == 2 ? ARG (1) : NULL, &error);
  if (xml == NULL)
    return fail (error);
  if (opt_create && !create_vm_for (ctl, ARG (0), xml, &error))
    return fail (error);
  if (ctl->json) {
    JsonObject *params = vm_params (ARG (0));

    json_object_set_string_member (params, "xml", xml);
    return call_json (ctl, "domain.assign", params);
  }
  assignment = devaddr_client_assign_domain (ctl->client, ARG (0), xml, NULL, &error);
  if (assignment == NULL)
    return fail (error);
  printf ("%s", devaddr_assignment_get_xml (assignment));
  if (!g_str_has_suffix (devaddr_assignment_get_xml (assignment), "\n"))
    printf ("\n");
  g_printerr ("%s: %u device addresses, %u elements added\n", ARG (0), devaddr_assignment_get_reservations (assignment)->len,
              devaddr_assignment_get_added (assignment));
  for (const char *const *a = devaddr_assignment_get_additions (assignment); *a != NULL; a++)
    g_printerr ("  added %s\n", *a);
  return EXIT_OK;
}

/* all or nothing unless --partial; either way a script must notice a clash:
 * exit 3 when something was not adopted */
static int
cmd_import (Ctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrImportResult) result = NULL;
  g_autofree char *xml = NULL;
  guint n_conflicts;

  if (NARGS != 1 && NARGS != 2)
    return usage_error ("import [--partial] VM [FILE]", "import takes a VM and a domain XML file (- or none: stdin)");
  xml = read_input (NARGS == 2 ? ARG (1) : NULL, &error);
  if (xml == NULL)
    return fail (error);
  if (ctl->json) {
    g_autoptr (JsonObject) params = vm_params (ARG (0));
    g_autoptr (JsonNode) reply = NULL;
    JsonObject *object;
    JsonArray *conflicts;

    json_object_set_string_member (params, "xml", xml);
    if (opt_partial)
      json_object_set_boolean_member (params, "partial", TRUE);
    reply = devaddr_client_call (ctl->client, "domain.import", params, NULL, &error);
    if (reply == NULL)
      return fail (error);
    da_output_json (reply);
    object = JSON_NODE_HOLDS_OBJECT (reply) ? json_node_get_object (reply) : NULL;
    conflicts = object != NULL && json_object_has_member (object, "conflicts")
                    ? json_object_get_array_member (object, "conflicts")
                    : NULL;
    return conflicts != NULL && json_array_get_length (conflicts) > 0 ? EXIT_CONFLICT : EXIT_OK;
  }
  result = devaddr_client_import_domain (ctl->client, ARG (0), xml,
                                         opt_partial ? DEVADDR_IMPORT_PARTIAL : DEVADDR_IMPORT_NONE, NULL, &error);
  if (result == NULL)
    return fail (error);
  print_reservations (ctl, devaddr_import_result_get_reservations (result));
  n_conflicts = devaddr_import_result_get_n_conflicts (result);
  for (guint i = 0; i < n_conflicts; i++)
    g_printerr ("devaddrctl: not adopted: %s\n", devaddr_import_result_get_conflict (result, i));
  return n_conflicts > 0 ? EXIT_CONFLICT : EXIT_OK;
}

static int
cmd_attach (Ctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrAttachment) attachment = NULL;
  g_autofree char *xml = NULL;

  if (NARGS != 1 && NARGS != 2)
    return usage_error ("attach VM [FILE]", "attach takes a VM and a device XML file (- or none: stdin)");
  xml = read_input (NARGS == 2 ? ARG (1) : NULL, &error);
  if (xml == NULL)
    return fail (error);
  if (ctl->json) {
    JsonObject *params = vm_params (ARG (0));

    json_object_set_string_member (params, "xml", xml);
    return call_json (ctl, "device.attach", params);
  }
  attachment = devaddr_client_attach_device (ctl->client, ARG (0), xml, NULL, &error);
  if (attachment == NULL)
    return fail (error);
  printf ("%s", devaddr_attachment_get_xml (attachment));
  if (!g_str_has_suffix (devaddr_attachment_get_xml (attachment), "\n"))
    printf ("\n");
  return EXIT_OK;
}

static int
cmd_detach (Ctl *ctl, int argc, char **argv)
{
  static const char usage[] = "detach [--begin|--confirm] VM {FILE|--alias ALIAS}";
  g_autoptr (GError) error = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *alias = NULL;
  DevaddrReleasePhase phase;
  DevaddrState state = DEVADDR_STATE_UNKNOWN;

  if (NARGS != 1 && NARGS != 2)
    return usage_error (usage, "detach takes a VM and a device XML file or --alias");
  if ((opt_alias != NULL) == (NARGS == 2))
    return usage_error (usage, "name the device by its XML file or by --alias, not both");
  if (!get_phase (&phase))
    return usage_error (usage, "--begin and --confirm exclude each other");
  if (opt_alias == NULL && (xml = read_input (ARG (1), &error)) == NULL)
    return fail (error);
  if (ctl->json) {
    JsonObject *params = vm_params (ARG (0));

    if (xml != NULL)
      json_object_set_string_member (params, "xml", xml);
    if (opt_alias != NULL)
      json_object_set_string_member (params, "alias", opt_alias);
    if (devaddr_release_phase_to_string (phase) != NULL)
      json_object_set_string_member (params, "phase", devaddr_release_phase_to_string (phase));
    return call_json (ctl, "device.detach", params);
  }
  if (!devaddr_client_detach_device (ctl->client, ARG (0), xml, opt_alias, phase, &alias, &state, NULL, &error))
    return fail (error);
  printf ("%s: %s\n", alias, state_word (state));
  return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* watch */

typedef struct {
  Ctl *ctl;
  GMainLoop *loop;
  int status;
} Watch;

static void
on_changed (DevaddrClient *client, DevaddrChange *change, gpointer user_data)
{
  Watch *watch = user_data;
  const char *vm = devaddr_change_get_vm (change);
  const char *event = devaddr_change_event_to_string (devaddr_change_get_event (change));
  const char *state = devaddr_state_to_string (devaddr_change_get_state (change));

  if (watch->ctl->json) {
    g_autoptr (JsonBuilder) b = json_builder_new ();
    g_autoptr (JsonNode) node = NULL;

    json_builder_begin_object (b);
    json_builder_set_member_name (b, vm != NULL ? "vm" : "scope");
    json_builder_add_string_value (b, vm != NULL ? vm : "host");
    json_builder_set_member_name (b, "event");
    json_builder_add_string_value (b, event != NULL ? event : "unknown");
    json_builder_set_member_name (b, "alias");
    json_builder_add_string_value (b, devaddr_change_get_alias (change));
    if (devaddr_change_get_address_type (change) != NULL) {
      json_builder_set_member_name (b, "type");
      json_builder_add_string_value (b, devaddr_change_get_address_type (change));
    }
    if (devaddr_change_get_address (change) != NULL) {
      json_builder_set_member_name (b, "address");
      json_builder_add_string_value (b, devaddr_change_get_address (change));
    }
    if (state != NULL) {
      json_builder_set_member_name (b, "state");
      json_builder_add_string_value (b, state);
    }
    json_builder_end_object (b);
    node = json_builder_get_root (b);
    da_output_json_line (node);
  } else {
    g_autoptr (GDateTime) now = g_date_time_new_now_local ();
    g_autofree char *when = g_date_time_format (now, "%H:%M:%S");

    printf ("%s  %-10s %-9s %s %s %s%s%s\n", when, vm != NULL ? vm : "(host)", event != NULL ? event : "?",
            devaddr_change_get_alias (change),
            devaddr_change_get_address_type (change) != NULL ? devaddr_change_get_address_type (change) : "-",
            devaddr_change_get_address (change) != NULL ? devaddr_change_get_address (change) : "-",
            state != NULL ? "  " : "", state != NULL ? state : "");
    fflush (stdout);
  }
}

static void
on_disconnected (DevaddrClient *client, gpointer user_data)
{
  Watch *watch = user_data;

  g_printerr ("devaddrctl: the connection to devaddrd was lost\n");
  watch->status = EXIT_UNAVAILABLE;
  g_main_loop_quit (watch->loop);
}

static gboolean
on_stop (gpointer user_data)
{
  Watch *watch = user_data;

  g_main_loop_quit (watch->loop);
  return G_SOURCE_CONTINUE;
}

static int
cmd_watch (Ctl *ctl, int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Watch watch = { ctl, loop, EXIT_OK };
  guint sigint, sigterm;

  if (NARGS > 1)
    return usage_error ("watch [VM]", "watch takes at most one VM name");
  g_signal_connect (ctl->client, "changed", G_CALLBACK (on_changed), &watch);
  g_signal_connect (ctl->client, "disconnected", G_CALLBACK (on_disconnected), &watch);
  if (!devaddr_client_watch (ctl->client, NARGS == 1 ? ARG (0) : NULL, NULL, &error))
    return fail (error);
  sigint = g_unix_signal_add (SIGINT, on_stop, &watch);
  sigterm = g_unix_signal_add (SIGTERM, on_stop, &watch);
  g_main_loop_run (loop);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_signal_handlers_disconnect_by_data (ctl->client, &watch);
  return watch.status;
}

/* ------------------------------------------------------------------ */

static const Command commands[] = {
  { "status", "", "the daemon: version, uptime, counts, state", cmd_status, TRUE },
  { "types", "", "the address types of the catalog", cmd_types, TRUE },
  { "templates", "", "the machine templates", cmd_templates, TRUE },
  { "vm create", "VM [--template NAME]", "create a VM laid out by a machine template", cmd_vm_create, FALSE },
  { "vm delete", "VM", "delete a VM and release all its reservations", cmd_vm_delete, FALSE },
  { "vm list", "", "list the VMs", cmd_vm_list, TRUE },
  { "vm show", "VM", "a VM and its reservations", cmd_vm_show, TRUE },
  { "host show", "", "the host scope's reservations (MACs, vsock CIDs ...)", cmd_host_show, TRUE },
  { "reserve", "{VM|--host} TYPE ALIAS [ADDRESS]", "reserve an address (--hold, --xml, --batch ...)", cmd_reserve,
    FALSE },
  { "commit", "{VM|--host} ALIAS", "make a held reservation active", cmd_commit, FALSE },
  { "release", "{VM|--host} ALIAS", "release a reservation (--begin, --confirm)", cmd_release, FALSE },
  { "lookup", "{VM|--host} {ALIAS|TYPE ADDRESS}", "find a reservation by alias or address", cmd_lookup, TRUE },
  { "stats", "{VM|--host} [TYPE]", "occupancy of the pools", cmd_stats, TRUE },
  { "assign", "[--create] VM [FILE]", "fill in the missing addresses of a domain XML", cmd_assign, FALSE },
  { "import", "[--partial] VM [FILE]", "adopt the addresses of a domain XML, all or nothing", cmd_import, FALSE },
  { "attach", "VM [FILE]", "give a device XML an address, for hotplug", cmd_attach, FALSE },
  { "detach", "VM {FILE|--alias ALIAS}", "release a device's address, for hot-unplug", cmd_detach, FALSE },
  { "watch", "[VM]", "print reservation changes as they happen", cmd_watch, TRUE },
  { "map", "VM", "draw the PCI buses and the other pools of a VM", cmd_map, TRUE },
};

static const GOptionEntry *
command_entries (const Command *command)
{
  if (command->func == cmd_vm_create)
    return vm_create_entries;
  if (command->func == cmd_reserve)
    return reserve_entries;
  if (command->func == cmd_release)
    return release_entries;
  if (command->func == cmd_detach)
    return detach_entries;
  if (command->func == cmd_assign)
    return assign_entries;
  if (command->func == cmd_import)
    return import_entries;
  if (command->func == cmd_commit || command->func == cmd_lookup || command->func == cmd_stats)
    return host_entries;
  return NULL;
}

static const char exit_codes[] =
  "Exit status:\n"
  "  0  success\n"
  "  1  usage error\n"
  "  2  not found (VM, alias, type, template)\n"
  "  3  conflict (address or alias held by another reservation)\n"
  "  4  exhausted (no free address fits)\n"
  "  5  permission denied, or a change asked on the read-only socket\n"
  "  6  daemon unavailable (cannot connect, connection lost, or store unavailable)\n"
  "  7  invalid input (address, parameter, limit, input file)\n"
  "  8  protocol or internal error, or a method the daemon does not serve\n";

static char *
commands_summary (void)
{
  g_autoptr (DaTable) table = da_table_new (2, "", "");
  g_autoptr (GString) rows = g_string_new (NULL);
  g_autoptr (GString) out = g_string_new ("Commands:\n");
  const char *body;

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++) {
    g_autofree char *synopsis = g_strdup_printf ("  %s %s", commands[i].name, commands[i].args);

    da_table_add_row (table, synopsis, commands[i].summary);
  }
  da_table_print (table, rows, FALSE);
  body = strchr (rows->str, '\n');
  g_string_append (out, body != NULL ? body + 1 : "");
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static GOptionEntry *
global_entries (Ctl *ctl, gboolean *version)
{
  GOptionEntry entries[] = {
    { "socket", 's', 0, G_OPTION_ARG_FILENAME, &ctl->socket_path,
      "devaddrd's socket (default: $DEVADDR_SOCKET or " DEVADDR_DEFAULT_SOCKET ")", "PATH" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &ctl->json, "print the protocol's result as JSON", NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, version, "print the version and exit", NULL },
    { NULL }
  };

  return g_memdup2 (entries, sizeof entries);
}

static const Command *
find_command (int argc, char **argv, int *words)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++) {
    g_auto (GStrv) name = g_strsplit (commands[i].name, " ", 2);

    if (argc > 0 && strcmp (argv[0], name[0]) == 0 && (name[1] == NULL || (argc > 1 && strcmp (argv[1], name[1]) == 0))) {
      *words = name[1] == NULL ? 1 : 2;
      return &commands[i];
    }
  }
  return NULL;
}

/* the verbs of a command group ("create, delete, list or show" for vm);
 * NULL when word is no group */
static char *
group_verbs (const char *word)
{
  g_autoptr (GPtrArray) verbs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++) {
    g_auto (GStrv) name = g_strsplit (commands[i].name, " ", 2);

    if (name[1] != NULL && strcmp (name[0], word) == 0)
      g_ptr_array_add (verbs, g_strdup (name[1]));
  }
  for (guint i = 0; i < verbs->len; i++)
    g_string_append_printf (text, "%s%s", i == 0 ? "" : i + 1 < verbs->len ? ", " : " or ",
                            (char *) g_ptr_array_index (verbs, i));
  return verbs->len > 0 ? g_string_free (g_steal_pointer (&text), FALSE) : NULL;
}

/* the sibling read-only socket of a read-write one */
static char *
read_only_socket (const char *path)
{
  if (g_str_has_suffix (path, ".sock"))
    return g_strdup_printf ("%.*s-ro.sock", (int) (strlen (path) - strlen (".sock")), path);
  return NULL;
}

static DevaddrClient *
open_client (Ctl *ctl, const Command *command)
{
  const char *path = ctl->socket_path != NULL ? ctl->socket_path : devaddr_client_get_default_socket_path ();
  g_autoptr (DevaddrClient) client = devaddr_client_new_for_socket (path);
  g_autoptr (GError) error = NULL;
  g_autofree char *ro = NULL;

  /* a user outside the daemon's group may still ask questions: on the
   * read-only socket, when the default socket is closed to them */
  if (!command->query || ctl->socket_path != NULL || devaddr_client_connect (client, NULL, &error)
      || !g_error_matches (error, DEVADDR_ERROR, DEVADDR_ERROR_PERMISSION_DENIED)
      || (ro = read_only_socket (path)) == NULL)
    return g_steal_pointer (&client);
  return devaddr_client_new_for_socket (ro);
}

int
main (int argc, char **argv)
{
  Ctl ctl = { NULL, FALSE, FALSE, NULL };
  gboolean version = FALSE;
  g_autofree GOptionEntry *entries = global_entries (&ctl, &version);
  g_autoptr (GOptionContext) context = g_option_context_new ("COMMAND [ARG...]");
  g_autoptr (GOptionContext) command_context = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *summary = commands_summary ();
  g_autofree char *description = g_strdup_printf ("%s\n%s\nSee devaddrctl(1).", summary, exit_codes);
  const Command *command;
  int words = 0, status;
  g_autofree char *command_name = NULL;

  setlocale (LC_ALL, "");
  g_set_prgname ("devaddrctl");
  g_option_context_set_summary (context, "Ask devaddrd for device addresses of virtual machines.");
  g_option_context_set_description (context, description);
  g_option_context_add_main_entries (context, entries, NULL);
  /* options before the command are global; the command parses the rest */
  g_option_context_set_strict_posix (context, TRUE);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("devaddrctl: %s\n", error->message);
    return EXIT_USAGE;
  }
  if (version) {
    printf ("devaddrctl %s (libdevaddr %s, protocol %d)\n", PACKAGE_VERSION, devaddr_version_string (),
            DEVADDR_PROTOCOL_VERSION);
    return EXIT_OK;
  }
  if (argc < 2) {
    g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);

    g_printerr ("%s", help);
    return EXIT_USAGE;
  }
  command = find_command (argc - 1, argv + 1, &words);
  if (command == NULL) {
    g_autofree char *verbs = group_verbs (argv[1]);

    /* "vm" alone, or "vm --json": the verb is what is missing */
    if (verbs != NULL && (argc < 3 || argv[2][0] == '-'))
      g_printerr ("devaddrctl: %s needs a verb: %s; see devaddrctl --help\n", argv[1], verbs);
    else if (verbs != NULL)
      g_printerr ("devaddrctl: unknown command \"%s %s\": %s takes %s; see devaddrctl --help\n", argv[1], argv[2],
                  argv[1], verbs);
    else
      g_printerr ("devaddrctl: unknown command \"%s\"; see devaddrctl --help\n", argv[1]);
    return EXIT_USAGE;
  }

  /* the global options may also follow the command; they land in a
   * second set of variables so that nothing parsed twice is lost */
  command_name = g_strdup_printf ("%s %s", command->name, command->args);
  command_context = g_option_context_new (command_name);
  g_option_context_set_summary (command_context, command->summary);
  g_option_context_set_description (command_context, exit_codes);
  {
    Ctl late = { NULL, FALSE, FALSE, NULL };
    gboolean late_version = FALSE;
    g_autofree GOptionEntry *late_entries = global_entries (&late, &late_version);
    GOptionGroup *group = g_option_group_new ("command", command->summary, "Show the options of this command", NULL,
                                              NULL);
    /* argv for the command: its last word as argv[0], then its arguments */
    int sub_argc = argc - words;
    char **sub_argv = argv + words;

    if (command_entries (command) != NULL)
      g_option_group_add_entries (group, command_entries (command));
    g_option_group_add_entries (group, late_entries);
    g_option_context_set_main_group (command_context, group);
    if (!g_option_context_parse (command_context, &sub_argc, &sub_argv, &error)) {
      g_printerr ("devaddrctl: %s\nusage: devaddrctl %s %s\n", error->message, command->name, command->args);
      g_free (late.socket_path);
      return EXIT_USAGE;
    }
    if (late_version) {
      printf ("devaddrctl %s (libdevaddr %s, protocol %d)\n", PACKAGE_VERSION, devaddr_version_string (),
              DEVADDR_PROTOCOL_VERSION);
      g_free (late.socket_path);
      return EXIT_OK;
    }
    if (late.socket_path != NULL) {
      g_free (ctl.socket_path);
      ctl.socket_path = late.socket_path;
    }
    ctl.json = ctl.json || late.json;
    ctl.color = !ctl.json && da_output_use_color ();
    ctl.client = open_client (&ctl, command);
    status = command->func (&ctl, sub_argc, sub_argv);
  }
  g_clear_object (&ctl.client);
  g_free (ctl.socket_path);
  return status;
}
