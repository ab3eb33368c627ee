/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdevaddr against a real devaddrd: every call in its blocking and its
 * asynchronous form, errors, pipelining, cancellation, connection loss and
 * notifications.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <devaddr/devaddr.h>

#include "tests/common/da-test-daemon.h"
#include "tests/common/da-test-suite.h"

static DaTestDaemon *daemon_;
static DevaddrClient *client;

static void
setup (void)
{
  g_autoptr (GError) error = NULL;

  daemon_ = da_test_daemon_new (NULL);
  if (!da_test_daemon_start (daemon_, &error))
    ck_abort_msg ("devaddrd did not start: %s", error->message);
  client = devaddr_client_new_for_socket (daemon_->socket_path);
}

static void
teardown (void)
{
  g_clear_object (&client);
  g_clear_pointer (&daemon_, da_test_daemon_free);
}

#define assert_no_error(error) \
  ck_assert_msg ((error) == NULL, "unexpected error: %s", (error) != NULL ? (error)->message : "")

#define assert_error(err, want) \
  do { \
    ck_assert_msg ((err) != NULL, "expected error %s, got none", #want); \
    ck_assert_msg (g_error_matches ((err), DEVADDR_ERROR, (want)), "expected %s, got %s %d: %s", #want, \
                   g_quark_to_string ((err)->domain), (err)->code, (err)->message); \
  } while (0)

/* g_subprocess_send_signal() signals later, from GLib's worker thread:
 * a daemon that must be stopped before the next request has to be
 * stopped now, and seen to be */
static void
signal_daemon (int sig)
{
  pid_t pid = (pid_t) g_ascii_strtoll (g_subprocess_get_identifier (daemon_->process), NULL, 10);
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", (int) pid);

  ck_assert_int_eq (kill (pid, sig), 0);
  for (guint i = 0; sig == SIGSTOP && i < 1000; i++) {
    g_autofree char *stat = NULL;
    const char *state;

    /* "pid (comm) S ...": the state follows the last ')' */
    if (!g_file_get_contents (stat_path, &stat, NULL, NULL))
      break;
    state = strrchr (stat, ')');
    if (state != NULL && (state[2] == 'T' || state[2] == 't'))
      return;
    g_usleep (1000);
  }
  ck_assert_msg (sig != SIGSTOP, "devaddrd did not stop");
}

/* ------------------------------------------------------------------ */
/* waiting for asynchronous calls in the default main context */

static void
store_result (GObject *source, GAsyncResult *res, gpointer user_data)
{
  GAsyncResult **slot = user_data;

  ck_assert_ptr_eq (source, client);
  *slot = g_object_ref (res);
}

static GAsyncResult *
wait_for (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static void
create_vm (const char *vm, const char *template_name)
{
  g_autoptr (GError) error = NULL;

  ck_assert (devaddr_client_create_vm (client, vm, template_name, NULL, &error));
  assert_no_error (error);
}

static DevaddrReservation *
reserve (const char *vm, const char *type, const char *alias, const char *address)
{
  g_autoptr (DevaddrReserveRequest) request = devaddr_reserve_request_new (type, alias);
  g_autoptr (GError) error = NULL;
  DevaddrReservation *res;

  devaddr_reserve_request_set_address (request, address);
  res = devaddr_client_reserve (client, vm, request, NULL, &error);
  assert_no_error (error);
  return res;
}

/* ------------------------------------------------------------------ */
/* server, discover, catalog */

START_TEST (test_server_info)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrServerInfo) info = devaddr_client_get_server_info (client, NULL, &error);
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (DevaddrServerInfo) info2 = NULL;

  assert_no_error (error);
  ck_assert_str_eq (devaddr_server_info_get_version (info), PACKAGE_VERSION);
  ck_assert_uint_eq (devaddr_server_info_get_protocol (info), DEVADDR_PROTOCOL_VERSION);
  ck_assert_uint_eq (devaddr_server_info_get_n_vms (info), 0);
  ck_assert (devaddr_server_info_get_store (info) != NULL);
  ck_assert (devaddr_client_is_connected (client));

  create_vm ("vm1", "pc");
  devaddr_client_get_server_info_async (client, NULL, store_result, &res);
  info2 = devaddr_client_get_server_info_finish (client, wait_for (&res), &error);
  assert_no_error (error);
  ck_assert_uint_eq (devaddr_server_info_get_n_vms (info2), 1);
  ck_assert_uint_ge (devaddr_server_info_get_n_reservations (info2), 6);
}
END_TEST

static gboolean
discovered_method (JsonNode *doc, const char *name)
{
  JsonArray *methods = json_object_get_array_member (json_node_get_object (doc), "methods");

  for (guint i = 0; i < json_array_get_length (methods); i++)
    if (strcmp (json_object_get_string_member (json_array_get_object_element (methods, i), "name"), name) == 0)
      return TRUE;
  return FALSE;
}

START_TEST (test_discover)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) doc = devaddr_client_discover (client, NULL, &error);
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (JsonNode) doc2 = NULL;

  assert_no_error (error);
  ck_assert (discovered_method (doc, "addr.reserve"));
  ck_assert (discovered_method (doc, "domain.assign"));
  devaddr_client_discover_async (client, NULL, store_result, &res);
  doc2 = devaddr_client_discover_finish (client, wait_for (&res), &error);
  assert_no_error (error);
  ck_assert (discovered_method (doc2, "watch"));
}
END_TEST

static DevaddrTypeInfo *
find_type (GPtrArray *types, const char *name)
{
  for (guint i = 0; i < types->len; i++)
    if (strcmp (devaddr_type_info_get_name (g_ptr_array_index (types, i)), name) == 0)
      return g_ptr_array_index (types, i);
  return NULL;
}

START_TEST (test_types)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) types = devaddr_client_get_types (client, NULL, &error);
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GPtrArray) types2 = NULL;
  DevaddrTypeInfo *pci, *id;
  guint64 min = 1, max = 0;

  assert_no_error (error);
  pci = find_type (types, "pci");
  ck_assert (pci != NULL);
  ck_assert_uint_eq (devaddr_type_info_get_n_dimensions (pci), 4);
  ck_assert_str_eq (devaddr_type_info_get_dimension (pci, 2, &min, &max), "slot");
  ck_assert_uint_eq (min, 0);
  ck_assert_uint_eq (max, 31);
  ck_assert (strstr (devaddr_type_info_get_format (pci), "{slot") != NULL);
  ck_assert (devaddr_type_info_get_description (pci) != NULL);
  ck_assert (devaddr_type_info_get_pool (pci) != NULL);
  /* a 32-bit dimension comes as text ("0xffffffff") and still reads */
  id = find_type (types, "id");
  ck_assert (id != NULL);
  devaddr_type_info_get_dimension (id, 0, NULL, &max);
  ck_assert_uint_eq (max, 0xffffffff);

  devaddr_client_get_types_async (client, NULL, store_result, &res);
  types2 = devaddr_client_get_types_finish (client, wait_for (&res), &error);
  assert_no_error (error);
  ck_assert_uint_eq (types2->len, types->len);
}
END_TEST

START_TEST (test_templates)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) templates = devaddr_client_get_templates (client, NULL, &error);
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GPtrArray) templates2 = NULL;
  gboolean found = FALSE;

  assert_no_error (error);
  for (guint i = 0; i < templates->len; i++) {
    DevaddrTemplateInfo *t = g_ptr_array_index (templates, i);

    if (strcmp (devaddr_template_info_get_name (t), "q35") == 0) {
      found = TRUE;
      ck_assert (g_strv_contains (devaddr_template_info_get_machines (t), "q35"));
      ck_assert (devaddr_template_info_get_description (t) != NULL);
    }
  }
  ck_assert (found);
  devaddr_client_get_templates_async (client, NULL, store_result, &res);
  templates2 = devaddr_client_get_templates_finish (client, wait_for (&res), &error);
  assert_no_error (error);
  ck_assert_uint_eq (templates2->len, templates->len);
}
END_TEST

/* any method by name: the result as the daemon sent it */
START_TEST (test_call)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) params = json_object_new ();
  g_autoptr (JsonNode) created = NULL;
  g_autoptr (JsonNode) list = NULL;
  g_autoptr (GAsyncResult) res = NULL;

  json_object_set_string_member (params, "vm", "vm1");
  created = devaddr_client_call (client, "vm.create", params, NULL, &error);
  assert_no_error (error);
  ck_assert_str_eq (json_object_get_string_member (json_node_get_object (created), "template"), "pc");
  /* the caller's params are its own again */
  json_object_set_string_member (params, "vm", "vm2");
  devaddr_client_call_async (client, "vm.list", NULL, NULL, store_result, &res);
  list = devaddr_client_call_finish (client, wait_for (&res), &error);
  assert_no_error (error);
  ck_assert_uint_eq (json_array_get_length (json_node_get_array (list)), 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* VMs */

START_TEST (test_vm_sync)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) vms = NULL;
  g_autoptr (DevaddrVm) vm = NULL;
  g_autoptr (DevaddrVm) gone = NULL;
  DevaddrReservation *bridge;
  guint released = 0;

  create_vm ("vm1", "q35");
  create_vm ("vm2", NULL);
  vms = devaddr_client_get_vms (client, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (vms->len, 2);
  ck_assert_str_eq (devaddr_vm_get_name (g_ptr_array_index (vms, 0)), "vm1");
  ck_assert_str_eq (devaddr_vm_get_template (g_ptr_array_index (vms, 0)), "q35");
  ck_assert_str_eq (devaddr_vm_get_template (g_ptr_array_index (vms, 1)), "pc");
  ck_assert_uint_eq (devaddr_vm_get_n_reservations (g_ptr_array_index (vms, 0)), 4);
  ck_assert_uint_eq (devaddr_vm_get_reservations (g_ptr_array_index (vms, 0))->len, 0);

  vm = devaddr_client_get_vm (client, "vm1", NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (devaddr_vm_get_reservations (vm)->len, 4);
  bridge = devaddr_vm_lookup (vm, "host-bridge");
  ck_assert (bridge != NULL);
  ck_assert (devaddr_reservation_get_builtin (bridge));
  ck_assert_str_eq (devaddr_reservation_get_address (bridge), "0000:00:00.0");
  ck_assert_int_eq (devaddr_reservation_get_mode (bridge), DEVADDR_MODE_STATIC);
  ck_assert_int_eq (devaddr_reservation_get_state (bridge), DEVADDR_STATE_ACTIVE);
  ck_assert (devaddr_reservation_get_expires (bridge) == NULL);
  ck_assert (devaddr_vm_lookup (vm, "nope") == NULL);

  ck_assert (devaddr_client_delete_vm (client, "vm1", &released, NULL, &error));
  assert_no_error (error);
  ck_assert_uint_eq (released, 4);
  gone = devaddr_client_get_vm (client, "vm1", NULL, &error);
  ck_assert (gone == NULL);
  assert_error (error, DEVADDR_ERROR_NOT_FOUND);
}
END_TEST

START_TEST (test_vm_async)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) r1 = NULL, r2 = NULL, r3 = NULL, r4 = NULL;
  g_autoptr (GPtrArray) vms = NULL;
  g_autoptr (DevaddrVm) vm = NULL;
  guint released = 0;

  devaddr_client_create_vm_async (client, "vm1", "pc", NULL, store_result, &r1);
  ck_assert (devaddr_client_create_vm_finish (client, wait_for (&r1), &error));
  assert_no_error (error);
  devaddr_client_get_vms_async (client, NULL, store_result, &r2);
  vms = devaddr_client_get_vms_finish (client, wait_for (&r2), &error);
  assert_no_error (error);
  ck_assert_uint_eq (vms->len, 1);
  devaddr_client_get_vm_async (client, "vm1", NULL, store_result, &r3);
  vm = devaddr_client_get_vm_finish (client, wait_for (&r3), &error);
  assert_no_error (error);
  ck_assert_uint_eq (devaddr_vm_get_reservations (vm)->len, 6);
  devaddr_client_delete_vm_async (client, "vm1", NULL, store_result, &r4);
  ck_assert (devaddr_client_delete_vm_finish (client, wait_for (&r4), &released, &error));
  assert_no_error (error);
  ck_assert_uint_eq (released, 6);
}
END_TEST

/* ------------------------------------------------------------------ */
/* reservations */

START_TEST (test_reserve_sync)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrReserveRequest) request = devaddr_reserve_request_new ("pci", "net0");
  g_autoptr (DevaddrReservation) held = NULL;
  g_autoptr (DevaddrReservation) again = NULL;
  g_autoptr (DevaddrReservation) committed = NULL;
  g_autoptr (DevaddrReservation) found = NULL;
  g_autoptr (DevaddrReservation) by_address = NULL;
  g_autoptr (DevaddrReservation) fixed = NULL;
  g_autoptr (DevaddrReservation) gone = NULL;
  DevaddrState state = DEVADDR_STATE_UNKNOWN;

  create_vm ("vm1", "pc");
  devaddr_reserve_request_set_hold (request, 60);
  held = devaddr_client_reserve (client, "vm1", request, NULL, &error);
  assert_no_error (error);
  ck_assert_str_eq (devaddr_reservation_get_alias (held), "net0");
  ck_assert_str_eq (devaddr_reservation_get_address_type (held), "pci");
  ck_assert_str_eq (devaddr_reservation_get_address (held), "0000:00:03.0");
  ck_assert_uint_eq (devaddr_reservation_get_count (held), 1);
  ck_assert (devaddr_reservation_get_end (held) == NULL);
  ck_assert_int_eq (devaddr_reservation_get_mode (held), DEVADDR_MODE_DYNAMIC);
  ck_assert_int_eq (devaddr_reservation_get_state (held), DEVADDR_STATE_HELD);
  ck_assert (devaddr_reservation_get_expires (held) != NULL);
  ck_assert (!devaddr_reservation_get_builtin (held));

  /* a retry gets the same reservation */
  again = devaddr_client_reserve (client, "vm1", request, NULL, &error);
  assert_no_error (error);
  ck_assert_str_eq (devaddr_reservation_get_address (again), "0000:00:03.0");

  committed = devaddr_client_commit (client, "vm1", "net0", NULL, &error);
  assert_no_error (error);
  ck_assert_int_eq (devaddr_reservation_get_state (committed), DEVADDR_STATE_ACTIVE);
  ck_assert (devaddr_reservation_get_expires (committed) == NULL);

  found = devaddr_client_lookup (client, "vm1", "net0", NULL, &error);
  assert_no_error (error);
  ck_assert_str_eq (devaddr_reservation_get_address (found), "0000:00:03.0");
  by_address = devaddr_client_lookup_address (client, "vm1", "pci", "0000:00:03.0", NULL, &error);
  assert_no_error (error);
  ck_assert_str_eq (devaddr_reservation_get_alias (by_address), "net0");

  fixed = reserve ("vm1", "pci", "disk0", "0000:00:07.0");
  ck_assert_int_eq (devaddr_reservation_get_mode (fixed), DEVADDR_MODE_STATIC);
  ck_assert_int_eq (devaddr_reservation_get_state (fixed), DEVADDR_STATE_ACTIVE);

  ck_assert (devaddr_client_release (client, "vm1", "net0", DEVADDR_RELEASE_BEGIN, &state, NULL, &error));
  assert_no_error (error);
  ck_assert_int_eq (state, DEVADDR_STATE_RELEASING);
  ck_assert (devaddr_client_release (client, "vm1", "net0", DEVADDR_RELEASE_CONFIRM, &state, NULL, &error));
  assert_no_error (error);
  ck_assert_int_eq (state, DEVADDR_STATE_RELEASED);
  ck_assert (devaddr_client_release (client, "vm1", "disk0", DEVADDR_RELEASE_NOW, &state, NULL, &error));
  assert_no_error (error);
  ck_assert_int_eq (state, DEVADDR_STATE_RELEASED);
  gone = devaddr_client_lookup (client, "vm1", "net0", NULL, &error);
  ck_assert (gone == NULL);
  assert_error (error, DEVADDR_ERROR_NOT_FOUND);
}
END_TEST

START_TEST (test_reserve_async)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrReserveRequest) request = devaddr_reserve_request_new ("pci", "net0");
  g_autoptr (GAsyncResult) r1 = NULL, r2 = NULL, r3 = NULL, r4 = NULL, r5 = NULL, r6 = NULL;
  g_autoptr (DevaddrReservation) held = NULL;
  g_autoptr (DevaddrReservation) committed = NULL;
  g_autoptr (DevaddrReservation) found = NULL;
  g_autoptr (DevaddrReservation) by_address = NULL;
  g_autoptr (DevaddrReservation) gone = NULL;
  DevaddrState state = DEVADDR_STATE_UNKNOWN;

  create_vm ("vm1", "pc");
  devaddr_reserve_request_set_hold (request, 60);
  devaddr_client_reserve_async (client, "vm1", request, NULL, store_result, &r1);
  held = devaddr_client_reserve_finish (client, wait_for (&r1), &error);
  assert_no_error (error);
  ck_assert_int_eq (devaddr_reservation_get_state (held), DEVADDR_STATE_HELD);

  devaddr_client_commit_async (client, "vm1", "net0", NULL, store_result, &r2);
  committed = devaddr_client_commit_finish (client, wait_for (&r2), &error);
  assert_no_error (error);
  ck_assert_int_eq (devaddr_reservation_get_state (committed), DEVADDR_STATE_ACTIVE);

  devaddr_client_lookup_async (client, "vm1", "net0", NULL, store_result, &r3);
  found = devaddr_client_lookup_finish (client, wait_for (&r3), &error);
  assert_no_error (error);
  ck_assert_str_eq (devaddr_reservation_get_address (found), devaddr_reservation_get_address (held));

  devaddr_client_lookup_address_async (client, "vm1", "pci", devaddr_reservation_get_address (held), NULL,
                                       store_result, &r4);
  by_address = devaddr_client_lookup_address_finish (client, wait_for (&r4), &error);
  assert_no_error (error);
  ck_assert_str_eq (devaddr_reservation_get_alias (by_address), "net0");

  devaddr_client_release_async (client, "vm1", "net0", DEVADDR_RELEASE_NOW, NULL, store_result, &r5);
  ck_assert (devaddr_client_release_finish (client, wait_for (&r5), &state, &error));
  assert_no_error (error);
  ck_assert_int_eq (state, DEVADDR_STATE_RELEASED);

  devaddr_client_lookup_async (client, "vm1", "net0", NULL, store_result, &r6);
  gone = devaddr_client_lookup_finish (client, wait_for (&r6), &error);
  ck_assert (gone == NULL);
  assert_error (error, DEVADDR_ERROR_NOT_FOUND);
}
END_TEST

START_TEST (test_reserve_constraint)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrReserveRequest) request = devaddr_reserve_request_new ("pci", "net0");
  g_autoptr (DevaddrReserveRequest) raw = devaddr_reserve_request_new ("pci", "net1");
  g_autoptr (DevaddrReservation) res = NULL;
  g_autoptr (DevaddrReservation) res2 = NULL;
  g_autoptr (JsonObject) constraint = json_object_new ();

  create_vm ("vm1", "pc");
  devaddr_reserve_request_set_range (request, "slot", 10, 12);
  devaddr_reserve_request_set_policy (request, DEVADDR_POLICY_LAST_FIT);
  res = devaddr_client_reserve (client, "vm1", request, NULL, &error);
  assert_no_error (error);
  ck_assert_str_eq (devaddr_reservation_get_address (res), "0000:00:0c.0");

  /* the JSON form, for what the setters do not cover */
  json_object_set_int_member (constraint, "slot", 20);
  devaddr_reserve_request_set_constraint (raw, constraint);
  json_object_set_int_member (constraint, "slot", 21); /* a copy was taken */
  res2 = devaddr_client_reserve (client, "vm1", raw, NULL, &error);
  assert_no_error (error);
  ck_assert_str_eq (devaddr_reservation_get_address (res2), "0000:00:14.0");
}
END_TEST

static GPtrArray *
requests_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) devaddr_reserve_request_unref);
}

START_TEST (test_reserve_batch)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) requests = requests_new ();
  g_autoptr (GPtrArray) clash = requests_new ();
  g_autoptr (GPtrArray) reservations = NULL;
  g_autoptr (GPtrArray) failed = NULL;
  g_autoptr (GPtrArray) again = NULL;
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (DevaddrVm) vm = NULL;
  DevaddrReserveRequest *fixed;

  create_vm ("vm1", "pc");
  g_ptr_array_add (requests, devaddr_reserve_request_new ("pci", "net0"));
  g_ptr_array_add (requests, devaddr_reserve_request_new ("pci", "net1"));
  g_ptr_array_add (requests, devaddr_reserve_request_new ("drive-ide", "ide0"));
  reservations = devaddr_client_reserve_batch (client, "vm1", requests, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (reservations->len, 3);
  ck_assert_str_eq (devaddr_reservation_get_alias (g_ptr_array_index (reservations, 0)), "net0");
  ck_assert_str_eq (devaddr_reservation_get_address (g_ptr_array_index (reservations, 1)), "0000:00:04.0");
  ck_assert_str_eq (devaddr_reservation_get_address (g_ptr_array_index (reservations, 2)), "0:0:0:0");

  /* all or nothing: the clash of the second keeps the first from being made */
  g_ptr_array_add (clash, devaddr_reserve_request_new ("pci", "net2"));
  fixed = devaddr_reserve_request_new ("pci", "net3");
  devaddr_reserve_request_set_address (fixed, "0000:00:03.0");
  g_ptr_array_add (clash, fixed);
  failed = devaddr_client_reserve_batch (client, "vm1", clash, NULL, &error);
  ck_assert (failed == NULL);
  assert_error (error, DEVADDR_ERROR_CONFLICT);
  ck_assert_msg (strstr (error->message, "net0") != NULL, "the message names the holder: %s", error->message);
  g_clear_error (&error);
  vm = devaddr_client_get_vm (client, "vm1", NULL, &error);
  assert_no_error (error);
  ck_assert (devaddr_vm_lookup (vm, "net2") == NULL);

  devaddr_client_reserve_batch_async (client, "vm1", requests, NULL, store_result, &res);
  again = devaddr_client_reserve_batch_finish (client, wait_for (&res), &error);
  assert_no_error (error);
  ck_assert_uint_eq (again->len, 3);
  ck_assert_str_eq (devaddr_reservation_get_address (g_ptr_array_index (again, 1)), "0000:00:04.0");
}
END_TEST

static void
assert_fields (DevaddrReservation *res, const char *const *names, const guint64 *values)
{
  const char *const *got = devaddr_reservation_get_field_names (res);
  guint n = 0;

  for (; names[n] != NULL; n++) {
    guint64 value = G_MAXUINT64;

    ck_assert_msg (got[n] != NULL && strcmp (got[n], names[n]) == 0, "%s: field %u is %s, expected %s",
                   devaddr_reservation_get_alias (res), n, got[n] != NULL ? got[n] : "(none)", names[n]);
    ck_assert_msg (devaddr_reservation_get_field (res, names[n], &value), "%s: no field %s",
                   devaddr_reservation_get_alias (res), names[n]);
    ck_assert_msg (value == values[n], "%s: %s is %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
                   devaddr_reservation_get_alias (res), names[n], value, values[n]);
  }
  ck_assert_msg (got[n] == NULL, "%s: an extra field %s", devaddr_reservation_get_alias (res), got[n]);
}

/* the address by dimension, as numbers, for pci and drive addresses, from
 * every call that returns a reservation; a dimension wider than 31 bits
 * comes as hex text and reads the same */
START_TEST (test_reservation_fields)
{
  static const char *const pci[] = { "domain", "bus", "slot", "function", NULL };
  static const char *const drive[] = { "controller", "bus", "target", "unit", NULL };
  static const char *const mmio[] = { "addr", NULL };
  static const guint64 nic_at[] = { 0, 0, 0x1e, 5 };
  static const guint64 dyn_at[] = { 0, 0, 3, 0 };
  static const guint64 cd_at[] = { 0, 1, 0, 1 };
  static const guint64 sata_at[] = { 0, 0, 0, 0 };
  static const guint64 mem_at[] = { G_GUINT64_CONSTANT (0xfee00000000) };
  g_autoptr (DevaddrReservation) nic = NULL, dyn = NULL, cd = NULL, sata = NULL, mem = NULL, found = NULL;
  g_autoptr (DevaddrReservation) by_address = NULL, committed = NULL;
  g_autoptr (DevaddrReserveRequest) request = devaddr_reserve_request_new ("drive-sata", "sata0-0-0");
  g_autoptr (DevaddrVm) vm = NULL;
  g_autoptr (GError) error = NULL;
  guint64 untouched = 42;

  create_vm ("vm1", "pc");
  create_vm ("vm2", "q35");
  nic = reserve ("vm1", "pci", "net0", "0000:00:1e.5");
  assert_fields (nic, pci, nic_at);
  ck_assert (!devaddr_reservation_get_field (nic, "port", &untouched));
  ck_assert_uint_eq (untouched, 42);
  ck_assert (devaddr_reservation_get_field (nic, "slot", NULL));
  dyn = reserve ("vm1", "pci", "net1", NULL);
  assert_fields (dyn, pci, dyn_at);
  cd = reserve ("vm1", "drive-ide", "ide0-1-1", "0:1:0:1");
  assert_fields (cd, drive, cd_at);
  devaddr_reserve_request_set_hold (request, 60);
  sata = devaddr_client_reserve (client, "vm2", request, NULL, &error);
  assert_no_error (error);
  assert_fields (sata, drive, sata_at);
  committed = devaddr_client_commit (client, "vm2", "sata0-0-0", NULL, &error);
  assert_no_error (error);
  assert_fields (committed, drive, sata_at);
  mem = reserve ("vm1", "mmio", "ivshmem0", "0xfee00000000");
  assert_fields (mem, mmio, mem_at);

  found = devaddr_client_lookup (client, "vm1", "ide0-1-1", NULL, &error);
  assert_no_error (error);
  assert_fields (found, drive, cd_at);
  by_address = devaddr_client_lookup_address (client, "vm1", "pci", "0000:00:1e.5", NULL, &error);
  assert_no_error (error);
  assert_fields (by_address, pci, nic_at);
  /* vm.get: every reservation, the template's too, agrees with its text */
  vm = devaddr_client_get_vm (client, "vm1", NULL, &error);
  assert_no_error (error);
  for (guint i = 0; i < devaddr_vm_get_reservations (vm)->len; i++) {
    DevaddrReservation *res = g_ptr_array_index (devaddr_vm_get_reservations (vm), i);
    guint64 v[4];

    if (strcmp (devaddr_reservation_get_address_type (res), "pci") != 0)
      continue;
    ck_assert_int_eq (sscanf (devaddr_reservation_get_address (res), "%4" G_GINT64_MODIFIER "x:%2" G_GINT64_MODIFIER
                              "x:%2" G_GINT64_MODIFIER "x.%1" G_GINT64_MODIFIER "x", &v[0], &v[1], &v[2], &v[3]),
                      4);
    assert_fields (res, pci, v);
  }
}
END_TEST

START_TEST (test_host_scope)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrReservation) mac = reserve (NULL, "mac", "vm1-net0", NULL);
  g_autoptr (DevaddrReservation) found = NULL;
  g_autoptr (DevaddrPoolStats) stats = NULL;
  g_autoptr (GPtrArray) held = NULL;
  g_autoptr (GPtrArray) none = NULL;
  DevaddrCounts counts;
  DevaddrState state;

  ck_assert (g_str_has_prefix (devaddr_reservation_get_address (mac), "52:54:00:"));
  /* the host's reservations, and no VM's */
  held = devaddr_client_get_host_reservations (client, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (held->len, 1);
  ck_assert_str_eq (devaddr_reservation_get_alias (g_ptr_array_index (held, 0)), "vm1-net0");
  ck_assert_str_eq (devaddr_reservation_get_address (g_ptr_array_index (held, 0)),
                    devaddr_reservation_get_address (mac));
  found = devaddr_client_lookup (client, NULL, "vm1-net0", NULL, &error);
  assert_no_error (error);
  ck_assert_str_eq (devaddr_reservation_get_address (found), devaddr_reservation_get_address (mac));
  stats = devaddr_client_get_pool_stats (client, NULL, "mac", NULL, &error);
  assert_no_error (error);
  devaddr_pool_stats_get_counts (stats, &counts);
  ck_assert_uint_eq (counts.used, 1);
  ck_assert (devaddr_client_release (client, NULL, "vm1-net0", DEVADDR_RELEASE_NOW, &state, NULL, &error));
  assert_no_error (error);
  none = devaddr_client_get_host_reservations (client, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (none->len, 0);
}
END_TEST

START_TEST (test_pool_stats)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrReservation) res = NULL;
  g_autoptr (DevaddrPoolStats) stats = NULL;
  g_autoptr (DevaddrPoolStats) stats2 = NULL;
  g_autoptr (GAsyncResult) r = NULL;
  g_auto (GStrv) tags = NULL;
  DevaddrCounts counts, tag, bus;
  const char *name;

  create_vm ("vm1", "pc");
  res = reserve ("vm1", "pci", "net0", NULL);
  stats = devaddr_client_get_pool_stats (client, "vm1", "pci", NULL, &error);
  assert_no_error (error);
  ck_assert_str_eq (devaddr_pool_stats_get_address_type (stats), "pci");
  devaddr_pool_stats_get_counts (stats, &counts);
  ck_assert_uint_eq (counts.capacity, 256);
  ck_assert_uint_eq (counts.used, 7);
  ck_assert_uint_eq (counts.free, 249);
  ck_assert_uint_gt (devaddr_pool_stats_get_largest_free_run (stats), 0);
  tags = devaddr_pool_stats_get_tags (stats);
  ck_assert (g_strv_contains ((const char *const *) tags, "hotplug"));
  ck_assert (devaddr_pool_stats_get_tag_counts (stats, "hotplug", &tag));
  ck_assert_uint_eq (tag.capacity, 256);
  ck_assert (!devaddr_pool_stats_get_tag_counts (stats, "nope", &tag));
  ck_assert_uint_eq (devaddr_pool_stats_get_n_buses (stats), 1);
  name = devaddr_pool_stats_get_bus (stats, 0, &bus);
  ck_assert (name != NULL && *name != '\0');
  ck_assert_uint_eq (bus.used, 7);

  devaddr_client_get_pool_stats_async (client, "vm1", "drive-ide", NULL, store_result, &r);
  stats2 = devaddr_client_get_pool_stats_finish (client, wait_for (&r), &error);
  assert_no_error (error);
  devaddr_pool_stats_get_counts (stats2, &counts);
  ck_assert_uint_eq (counts.capacity, 4);
  /* the pc template lays out the IDE bus: the pool is there */
  ck_assert (devaddr_pool_stats_get_exists (stats2));
  ck_assert (devaddr_pool_stats_get_exists (stats));
  g_clear_pointer (&stats2, devaddr_pool_stats_unref);

  /* nothing of the type yet: the pool the first reservation would make */
  stats2 = devaddr_client_get_pool_stats (client, "vm1", "drive-sata", NULL, &error);
  assert_no_error (error);
  ck_assert (!devaddr_pool_stats_get_exists (stats2));
  devaddr_pool_stats_get_counts (stats2, &counts);
  ck_assert_uint_eq (counts.capacity, 6);
  ck_assert_uint_eq (counts.used, 0);
  ck_assert_uint_eq (devaddr_pool_stats_get_n_buses (stats2), 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* errors */

START_TEST (test_errors)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrReserveRequest) clash = devaddr_reserve_request_new ("pci", "netX");
  g_autoptr (DevaddrReserveRequest) bad = devaddr_reserve_request_new ("pci", "bad");
  g_autoptr (DevaddrReserveRequest) unknown_type = devaddr_reserve_request_new ("nope", "x");
  g_autofree char *long_alias = g_strnfill (200, 'a');
  g_autoptr (DevaddrReserveRequest) too_long = devaddr_reserve_request_new ("pci", long_alias);
  g_autoptr (DevaddrReservation) u1 = NULL, u2 = NULL;
  g_autoptr (DevaddrReserveRequest) u3 = devaddr_reserve_request_new ("usb", "u3");
  g_autoptr (JsonNode) nothing = NULL;
  g_autoptr (JsonObject) params = json_object_new ();
  g_autofree char *huge = g_strnfill (5 * 1024 * 1024, 'x');
  DevaddrReservation *none;

  create_vm ("vm1", "pc");
  devaddr_reserve_request_set_address (clash, "0000:00:01.0");
  none = devaddr_client_reserve (client, "vm1", clash, NULL, &error);
  ck_assert (none == NULL);
  assert_error (error, DEVADDR_ERROR_CONFLICT);
  g_clear_error (&error);

  devaddr_reserve_request_set_address (bad, "zz");
  ck_assert (devaddr_client_reserve (client, "vm1", bad, NULL, &error) == NULL);
  assert_error (error, DEVADDR_ERROR_INVALID_ADDRESS);
  g_clear_error (&error);

  ck_assert (devaddr_client_reserve (client, "vm1", unknown_type, NULL, &error) == NULL);
  assert_error (error, DEVADDR_ERROR_NOT_FOUND);
  g_clear_error (&error);

  ck_assert (devaddr_client_reserve (client, "vm1", too_long, NULL, &error) == NULL);
  assert_error (error, DEVADDR_ERROR_INVALID_PARAMS);
  ck_assert_msg (strstr (error->message, "alias") != NULL, "%s", error->message);
  g_clear_error (&error);

  /* two USB ports on the pc template */
  u1 = reserve ("vm1", "usb", "u1", NULL);
  u2 = reserve ("vm1", "usb", "u2", NULL);
  ck_assert (devaddr_client_reserve (client, "vm1", u3, NULL, &error) == NULL);
  assert_error (error, DEVADDR_ERROR_EXHAUSTED);
  g_clear_error (&error);

  ck_assert (!devaddr_client_create_vm (client, "vm1", "q35", NULL, &error));
  assert_error (error, DEVADDR_ERROR_CONFLICT);
  g_clear_error (&error);

  ck_assert (!devaddr_client_create_vm (client, "vm9", "no-such-template", NULL, &error));
  assert_error (error, DEVADDR_ERROR_NOT_FOUND);
  g_clear_error (&error);

  nothing = devaddr_client_call (client, "no.such.method", NULL, NULL, &error);
  ck_assert (nothing == NULL);
  assert_error (error, DEVADDR_ERROR_METHOD_NOT_FOUND);
  g_clear_error (&error);

  /* a frame the daemon would refuse is not sent at all */
  json_object_set_string_member (params, "vm", huge);
  ck_assert (devaddr_client_call (client, "vm.get", params, NULL, &error) == NULL);
  assert_error (error, DEVADDR_ERROR_LIMIT);
  g_clear_error (&error);

  /* and the connection is still good */
  ck_assert (devaddr_client_create_vm (client, "vm2", NULL, NULL, &error));
  assert_no_error (error);
}
END_TEST

START_TEST (test_read_only_socket)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrClient) ro = devaddr_client_new_for_socket (daemon_->ro_socket_path);
  g_autoptr (GPtrArray) vms = NULL;

  create_vm ("vm1", "pc");
  vms = devaddr_client_get_vms (ro, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (vms->len, 1);
  ck_assert (!devaddr_client_create_vm (ro, "vm2", NULL, NULL, &error));
  assert_error (error, DEVADDR_ERROR_READ_ONLY);
}
END_TEST

START_TEST (test_permission_denied)
{
  g_autoptr (GError) error = NULL;

  if (geteuid () == 0) {
    /* root may always change reservations */
    return;
  }
  /* a group that does not exist, and not even the daemon's own user:
   * nobody but root may change anything */
  teardown ();
  daemon_ = da_test_daemon_new (NULL);
  da_test_daemon_set_config (daemon_, "[daemon]\ngroup=devaddr-test-no-such-group\nowner-may-mutate=false\n");
  if (!da_test_daemon_start (daemon_, &error))
    ck_abort_msg ("devaddrd did not start: %s", error->message);
  client = devaddr_client_new_for_socket (daemon_->socket_path);
  ck_assert (!devaddr_client_create_vm (client, "vm1", NULL, NULL, &error));
  assert_error (error, DEVADDR_ERROR_PERMISSION_DENIED);
}
END_TEST

START_TEST (test_connection_failed)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (daemon_->dir, "no-such.sock", NULL);
  g_autoptr (DevaddrClient) nobody = devaddr_client_new_for_socket (path);
  g_autoptr (GAsyncResult) res = NULL;

  ck_assert (!devaddr_client_connect (nobody, NULL, &error));
  assert_error (error, DEVADDR_ERROR_CONNECTION_FAILED);
  ck_assert_msg (strstr (error->message, path) != NULL, "the message names the socket: %s", error->message);
  g_clear_error (&error);
  ck_assert (devaddr_client_get_vms (nobody, NULL, &error) == NULL);
  assert_error (error, DEVADDR_ERROR_CONNECTION_FAILED);
  g_clear_error (&error);

  ck_assert (!devaddr_client_is_connected (client));
  ck_assert (devaddr_client_connect (client, NULL, &error));
  assert_no_error (error);
  ck_assert (devaddr_client_is_connected (client));
  devaddr_client_connect_async (client, NULL, store_result, &res);
  ck_assert (devaddr_client_connect_finish (client, wait_for (&res), &error));
  assert_no_error (error);
}
END_TEST

START_TEST (test_default_socket)
{
  g_autoptr (DevaddrClient) from_env = NULL;
  g_autoptr (DevaddrClient) plain = NULL;

  g_unsetenv ("DEVADDR_SOCKET");
  ck_assert_str_eq (devaddr_client_get_default_socket_path (), "/run/devaddr/devaddrd.sock");
  plain = devaddr_client_new ();
  ck_assert_str_eq (devaddr_client_get_socket_path (plain), DEVADDR_DEFAULT_SOCKET);
  g_setenv ("DEVADDR_SOCKET", daemon_->socket_path, TRUE);
  from_env = devaddr_client_new ();
  ck_assert_str_eq (devaddr_client_get_socket_path (from_env), daemon_->socket_path);
  ck_assert (devaddr_client_connect (from_env, NULL, NULL));
}
END_TEST

/* ------------------------------------------------------------------ */
/* pipelining */

typedef struct {
  guint done;
  guint failed;
  GPtrArray *results; /* DevaddrReservation, by request */
} Pipeline;

typedef struct {
  Pipeline *pipeline;
  guint index;
} PipelineCall;

static void
pipeline_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  PipelineCall *call = user_data;
  g_autoptr (GError) error = NULL;
  DevaddrReservation *reservation = devaddr_client_reserve_finish (DEVADDR_CLIENT (source), res, &error);

  if (reservation == NULL)
    call->pipeline->failed++;
  g_ptr_array_index (call->pipeline->results, call->index) = reservation;
  call->pipeline->done++;
  g_free (call);
}

START_TEST (test_pipelining)
{
  /* more than the daemon's 64 pending requests of one connection */
  const guint n = 150;
  Pipeline pipeline = { 0, 0, g_ptr_array_new_full (n, (GDestroyNotify) devaddr_reservation_unref) };
  g_autoptr (GHashTable) addresses = g_hash_table_new (g_str_hash, g_str_equal);

  g_ptr_array_set_size (pipeline.results, n);
  for (guint i = 0; i < n; i++) {
    g_autofree char *alias = g_strdup_printf ("dev%u", i);
    g_autoptr (DevaddrReserveRequest) request = devaddr_reserve_request_new ("id", alias);
    PipelineCall *call = g_new0 (PipelineCall, 1);

    call->pipeline = &pipeline;
    call->index = i;
    devaddr_client_reserve_async (client, NULL, request, NULL, pipeline_done, call);
  }
  while (pipeline.done < n)
    g_main_context_iteration (NULL, TRUE);
  ck_assert_uint_eq (pipeline.failed, 0);
  for (guint i = 0; i < n; i++) {
    DevaddrReservation *res = g_ptr_array_index (pipeline.results, i);
    g_autofree char *alias = g_strdup_printf ("dev%u", i);

    /* each reply went to the call it answers */
    ck_assert_str_eq (devaddr_reservation_get_alias (res), alias);
    ck_assert (g_hash_table_add (addresses, (gpointer) devaddr_reservation_get_address (res)));
  }
  g_ptr_array_unref (pipeline.results);
}
END_TEST

/* ------------------------------------------------------------------ */
/* threads */

static gpointer
reserve_in_thread (gpointer user_data)
{
  guint thread = GPOINTER_TO_UINT (user_data);
  guint failures = 0;

  for (guint i = 0; i < 25; i++) {
    g_autofree char *alias = g_strdup_printf ("t%u-%u", thread, i);
    g_autoptr (DevaddrReserveRequest) request = devaddr_reserve_request_new ("id", alias);
    g_autoptr (GError) error = NULL;
    g_autoptr (DevaddrReservation) res = devaddr_client_reserve (client, NULL, request, NULL, &error);

    if (res == NULL || strcmp (devaddr_reservation_get_alias (res), alias) != 0)
      failures++;
  }
  return GUINT_TO_POINTER (failures);
}

START_TEST (test_threads)
{
  GThread *threads[4];
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrServerInfo) info = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("caller", reserve_in_thread, GUINT_TO_POINTER (i));
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    ck_assert_uint_eq (GPOINTER_TO_UINT (g_thread_join (threads[i])), 0);
  info = devaddr_client_get_server_info (client, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (devaddr_server_info_get_n_reservations (info), 100);
}
END_TEST

/* the last reference dropped in another thread than the one that made it */
static gpointer
unref_in_thread (gpointer user_data)
{
  g_object_unref (user_data);
  return NULL;
}

START_TEST (test_free_elsewhere)
{
  for (guint i = 0; i < 20; i++) {
    DevaddrClient *c = devaddr_client_new_for_socket (daemon_->socket_path);
    g_autoptr (GError) error = NULL;
    g_autoptr (GPtrArray) vms = devaddr_client_get_vms (c, NULL, &error);

    assert_no_error (error);
    g_thread_join (g_thread_new ("unref", unref_in_thread, c));
  }
}
END_TEST

/* ------------------------------------------------------------------ */
/* cancelling */

START_TEST (test_cancel_before)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;

  g_cancellable_cancel (cancellable);
  ck_assert (devaddr_client_get_vms (client, cancellable, &error) == NULL);
  ck_assert (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
}
END_TEST

START_TEST (test_cancel_in_flight)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (GPtrArray) vms = NULL;
  g_autoptr (DevaddrVm) vm = NULL;
  gint64 start;

  create_vm ("vm1", "pc");
  ck_assert (devaddr_client_connect (client, NULL, NULL));
  /* a daemon that does not answer: the call can only end by cancelling */
  signal_daemon (SIGSTOP);
  devaddr_client_get_vm_async (client, "vm1", cancellable, store_result, &res);
  g_usleep (100 * 1000);
  ck_assert (res == NULL);
  start = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  vm = devaddr_client_get_vm_finish (client, wait_for (&res), &error);
  ck_assert (vm == NULL);
  ck_assert (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  ck_assert_int_lt (g_get_monotonic_time () - start, 5 * G_USEC_PER_SEC);
  g_clear_error (&error);

  /* the late reply is dropped; the next call gets its own */
  signal_daemon (SIGCONT);
  vms = devaddr_client_get_vms (client, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (vms->len, 1);
  ck_assert (devaddr_client_is_connected (client));
}
END_TEST

/* ------------------------------------------------------------------ */
/* connection loss */

static void
count_signal (DevaddrClient *c, gpointer user_data)
{
  (*(guint *) user_data)++;
}

START_TEST (test_connection_lost)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) res = NULL;
  g_autoptr (DevaddrReservation) kept = NULL;
  g_autoptr (DevaddrVm) lost = NULL;
  g_autoptr (DevaddrVm) vm = NULL;
  guint disconnected = 0;

  g_signal_connect (client, "disconnected", G_CALLBACK (count_signal), &disconnected);
  create_vm ("vm1", "pc");
  kept = reserve ("vm1", "pci", "net0", NULL);

  /* the daemon dies while the call is in flight */
  signal_daemon (SIGSTOP);
  devaddr_client_get_vm_async (client, "vm1", NULL, store_result, &res);
  g_usleep (100 * 1000);
  da_test_daemon_kill (daemon_);
  lost = devaddr_client_get_vm_finish (client, wait_for (&res), &error);
  ck_assert (lost == NULL);
  assert_error (error, DEVADDR_ERROR_DISCONNECTED);
  g_clear_error (&error);
  while (disconnected == 0)
    g_main_context_iteration (NULL, TRUE);
  ck_assert (!devaddr_client_is_connected (client));

  /* no daemon: the next call cannot connect */
  ck_assert (devaddr_client_get_vm (client, "vm1", NULL, &error) == NULL);
  assert_error (error, DEVADDR_ERROR_CONNECTION_FAILED);
  g_clear_error (&error);

  /* a new daemon on the same state: the next call connects again */
  if (!da_test_daemon_start (daemon_, &error))
    ck_abort_msg ("devaddrd did not restart: %s", error->message);
  vm = devaddr_client_get_vm (client, "vm1", NULL, &error);
  assert_no_error (error);
  ck_assert (devaddr_vm_lookup (vm, "net0") != NULL);
  ck_assert (devaddr_client_is_connected (client));
}
END_TEST

START_TEST (test_daemon_restart_between_calls)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) before = NULL;
  g_autoptr (GPtrArray) after = NULL;

  create_vm ("vm1", "pc");
  before = devaddr_client_get_vms (client, NULL, &error);
  assert_no_error (error);
  if (!da_test_daemon_restart (daemon_, &error))
    ck_abort_msg ("devaddrd did not restart: %s", error->message);
  /* the closed connection is noticed and replaced without a failed call */
  while (devaddr_client_is_connected (client))
    g_usleep (10 * 1000);
  after = devaddr_client_get_vms (client, NULL, &error);
  assert_no_error (error);
  ck_assert_uint_eq (after->len, 1);
}
END_TEST

START_TEST (test_disconnect)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) vms = NULL;

  ck_assert (devaddr_client_connect (client, NULL, NULL));
  devaddr_client_disconnect (client);
  while (devaddr_client_is_connected (client))
    g_usleep (1000);
  vms = devaddr_client_get_vms (client, NULL, &error);
  assert_no_error (error);
}
END_TEST

/* ------------------------------------------------------------------ */
/* watching */

typedef struct {
  GMainContext *context;
  GThread *thread;
  GPtrArray *changes;
  gboolean wrong_context;
} Watcher;

static void
on_changed (DevaddrClient *c, DevaddrChange *change, gpointer user_data)
{
  Watcher *w = user_data;

  /* dispatched by the context the client was made in, in its thread */
  if (g_thread_self () != w->thread || !g_main_context_is_owner (w->context))
    w->wrong_context = TRUE;
  g_ptr_array_add (w->changes, devaddr_change_ref (change));
}

static void
wait_changes (Watcher *w, guint n)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (w->changes->len < n && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (w->context, FALSE))
      g_usleep (1000);
  ck_assert_uint_eq (w->changes->len, n);
}

START_TEST (test_watch)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (DevaddrClient) watcher = NULL;
  g_autoptr (DevaddrReserveRequest) request = devaddr_reserve_request_new ("pci", "net0");
  g_autoptr (DevaddrReservation) res = NULL;
  g_autoptr (DevaddrReservation) committed = NULL;
  Watcher w = { context, g_thread_self (), g_ptr_array_new_with_free_func ((GDestroyNotify) devaddr_change_unref),
                FALSE };
  DevaddrChange *change;

  create_vm ("vm1", "pc");
  /* the watcher belongs to another context than the default one */
  g_main_context_push_thread_default (context);
  watcher = devaddr_client_new_for_socket (daemon_->socket_path);
  g_main_context_pop_thread_default (context);
  g_signal_connect (watcher, "changed", G_CALLBACK (on_changed), &w);
  ck_assert (devaddr_client_watch (watcher, "vm1", NULL, &error));
  assert_no_error (error);

  devaddr_reserve_request_set_hold (request, 60);
  res = devaddr_client_reserve (client, "vm1", request, NULL, &error);
  assert_no_error (error);
  /* nothing arrives through the default context */
  for (guint i = 0; i < 20; i++) {
    g_main_context_iteration (NULL, FALSE);
    g_usleep (5000);
  }
  ck_assert_uint_eq (w.changes->len, 0);
  wait_changes (&w, 1);
  change = g_ptr_array_index (w.changes, 0);
  ck_assert_int_eq (devaddr_change_get_event (change), DEVADDR_CHANGE_EVENT_RESERVED);
  ck_assert_str_eq (devaddr_change_get_vm (change), "vm1");
  ck_assert_str_eq (devaddr_change_get_alias (change), "net0");
  ck_assert_str_eq (devaddr_change_get_address_type (change), "pci");
  ck_assert_str_eq (devaddr_change_get_address (change), devaddr_reservation_get_address (res));
  ck_assert_int_eq (devaddr_change_get_state (change), DEVADDR_STATE_HELD);

  committed = devaddr_client_commit (client, "vm1", "net0", NULL, &error);
  assert_no_error (error);
  ck_assert (devaddr_client_release (client, "vm1", "net0", DEVADDR_RELEASE_NOW, NULL, NULL, &error));
  assert_no_error (error);
  wait_changes (&w, 3);
  ck_assert_int_eq (devaddr_change_get_event (g_ptr_array_index (w.changes, 1)), DEVADDR_CHANGE_EVENT_COMMITTED);
  ck_assert_int_eq (devaddr_change_get_state (g_ptr_array_index (w.changes, 1)), DEVADDR_STATE_ACTIVE);
  ck_assert_int_eq (devaddr_change_get_event (g_ptr_array_index (w.changes, 2)), DEVADDR_CHANGE_EVENT_RELEASED);
  ck_assert_int_eq (devaddr_change_get_state (g_ptr_array_index (w.changes, 2)), DEVADDR_STATE_RELEASED);
  ck_assert (!w.wrong_context);
  g_ptr_array_unref (w.changes);
}
END_TEST

/* a client made in a thread that runs a loop of its own */
typedef struct {
  Watcher watcher;
  GMainLoop *loop;
  DevaddrClient *client;
  GMutex lock;
  GCond cond;
  gboolean ready;
} WatchThread;

static void
on_changed_quit (DevaddrClient *c, DevaddrChange *change, gpointer user_data)
{
  WatchThread *wt = user_data;

  on_changed (c, change, &wt->watcher);
  g_main_loop_quit (wt->loop);
}

static gpointer
watch_thread (gpointer user_data)
{
  WatchThread *wt = user_data;
  g_autoptr (GError) error = NULL;

  g_main_context_push_thread_default (wt->watcher.context);
  wt->watcher.thread = g_thread_self ();
  wt->client = devaddr_client_new_for_socket (daemon_->socket_path);
  g_signal_connect (wt->client, "changed", G_CALLBACK (on_changed_quit), wt);
  if (!devaddr_client_watch (wt->client, NULL, NULL, &error))
    g_error ("watch: %s", error->message);
  g_mutex_lock (&wt->lock);
  wt->ready = TRUE;
  g_cond_signal (&wt->cond);
  g_mutex_unlock (&wt->lock);
  g_main_loop_run (wt->loop);
  g_clear_object (&wt->client);
  g_main_context_pop_thread_default (wt->watcher.context);
  return NULL;
}

START_TEST (test_watch_other_thread)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrReservation) res = NULL;
  WatchThread wt = { { g_main_context_new (), NULL,
                       g_ptr_array_new_with_free_func ((GDestroyNotify) devaddr_change_unref), FALSE } };
  GThread *thread;

  wt.loop = g_main_loop_new (wt.watcher.context, FALSE);
  g_mutex_init (&wt.lock);
  g_cond_init (&wt.cond);
  thread = g_thread_new ("watcher", watch_thread, &wt);
  g_mutex_lock (&wt.lock);
  while (!wt.ready)
    g_cond_wait (&wt.cond, &wt.lock);
  g_mutex_unlock (&wt.lock);

  res = reserve (NULL, "vsock-cid", "vm7-vsock", NULL);
  g_thread_join (thread);
  ck_assert_uint_eq (wt.watcher.changes->len, 1);
  ck_assert (!wt.watcher.wrong_context);
  ck_assert (devaddr_change_get_vm (g_ptr_array_index (wt.watcher.changes, 0)) == NULL);
  ck_assert_str_eq (devaddr_change_get_alias (g_ptr_array_index (wt.watcher.changes, 0)), "vm7-vsock");
  g_ptr_array_unref (wt.watcher.changes);
  g_main_loop_unref (wt.loop);
  g_main_context_unref (wt.watcher.context);
  g_mutex_clear (&wt.lock);
  g_cond_clear (&wt.cond);
}
END_TEST

START_TEST (test_watch_async)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GAsyncResult) res = NULL;

  devaddr_client_watch_async (client, NULL, NULL, store_result, &res);
  ck_assert (devaddr_client_watch_finish (client, wait_for (&res), &error));
  assert_no_error (error);
}
END_TEST

/* ------------------------------------------------------------------ */
/* domain.* and device.* */

START_TEST (test_domain_methods)
{
  static const char domain[] = "<domain type='qemu'><name>vm1</name><memory>65536</memory>"
                               "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
                               "<devices><interface type='user'><model type='virtio'/></interface></devices>"
                               "</domain>";
  static const char nic[] = "<interface type='user'><alias name='ua-net1'/><model type='virtio'/></interface>";
  g_autoptr (GError) error = NULL;
  g_autoptr (DevaddrAssignment) assignment = NULL;
  g_autoptr (DevaddrImportResult) imported = NULL;
  g_autoptr (DevaddrAttachment) attachment = NULL;
  g_autoptr (GAsyncResult) r1 = NULL, r2 = NULL, r3 = NULL, r4 = NULL;
  g_autofree char *alias = NULL;
  DevaddrState state;

  create_vm ("vm1", "pc");
  devaddr_client_assign_domain_async (client, "vm1", domain, NULL, store_result, &r1);
  assignment = devaddr_client_assign_domain_finish (client, wait_for (&r1), &error);
  assert_no_error (error);
  ck_assert (strstr (devaddr_assignment_get_xml (assignment), "<address") != NULL);
  ck_assert_uint_ge (devaddr_assignment_get_added (assignment), 1);

  devaddr_client_import_domain_async (client, "vm2", devaddr_assignment_get_xml (assignment), DEVADDR_IMPORT_NONE, NULL,
                                      store_result, &r2);
  imported = devaddr_client_import_domain_finish (client, wait_for (&r2), &error);
  /* another VM adopts the same addresses: nothing clashes across VMs */
  assert_no_error (error);
  ck_assert_uint_eq (devaddr_import_result_get_reservations (imported)->len,
                     devaddr_assignment_get_reservations (assignment)->len);
  ck_assert_uint_eq (devaddr_import_result_get_n_conflicts (imported), 0);
  devaddr_client_attach_device_async (client, "vm1", nic, NULL, store_result, &r3);
  attachment = devaddr_client_attach_device_finish (client, wait_for (&r3), &error);
  assert_no_error (error);
  ck_assert (strstr (devaddr_attachment_get_xml (attachment), "<address") != NULL);
  devaddr_client_detach_device_async (client, "vm1", devaddr_attachment_get_xml (attachment), NULL,
                                      DEVADDR_RELEASE_NOW, NULL, store_result, &r4);
  ck_assert (devaddr_client_detach_device_finish (client, wait_for (&r4), &alias, &state, &error));
  assert_no_error (error);
  ck_assert_int_eq (state, DEVADDR_STATE_RELEASED);
  ck_assert_str_eq (alias, "ua-net1");
}
END_TEST

/* ------------------------------------------------------------------ */

int
main (void)
{
  Suite *s = suite_create ("client");
  TCase *tc = tcase_create ("daemon");

  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  signal (SIGPIPE, SIG_IGN);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_set_timeout (tc, 60);
  tcase_add_test (tc, test_server_info);
  tcase_add_test (tc, test_discover);
  tcase_add_test (tc, test_types);
  tcase_add_test (tc, test_templates);
  tcase_add_test (tc, test_call);
  tcase_add_test (tc, test_vm_sync);
  tcase_add_test (tc, test_vm_async);
  tcase_add_test (tc, test_reserve_sync);
  tcase_add_test (tc, test_reserve_async);
  tcase_add_test (tc, test_reserve_constraint);
  tcase_add_test (tc, test_reserve_batch);
  tcase_add_test (tc, test_reservation_fields);
  tcase_add_test (tc, test_host_scope);
  tcase_add_test (tc, test_pool_stats);
  tcase_add_test (tc, test_errors);
  tcase_add_test (tc, test_read_only_socket);
  tcase_add_test (tc, test_permission_denied);
  tcase_add_test (tc, test_connection_failed);
  tcase_add_test (tc, test_default_socket);
  tcase_add_test (tc, test_pipelining);
  tcase_add_test (tc, test_threads);
  tcase_add_test (tc, test_free_elsewhere);
  tcase_add_test (tc, test_cancel_before);
  tcase_add_test (tc, test_cancel_in_flight);
  tcase_add_test (tc, test_connection_lost);
  tcase_add_test (tc, test_daemon_restart_between_calls);
  tcase_add_test (tc, test_disconnect);
  tcase_add_test (tc, test_watch);
  tcase_add_test (tc, test_watch_other_thread);
  tcase_add_test (tc, test_watch_async);
  tcase_add_test (tc, test_domain_methods);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
