/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <check.h>
#include <string.h>

#include "protocol/da-json.h"
#include "protocol/da-jsonrpc.h"
#include "protocol/da-openrpc.h"
#include "protocol/da-rpc-error.h"
#include "tests/common/da-test-suite.h"

/* the methods of the protocol, in the order of the document */
static const char *const expected_methods[] = {
  "server.info", "rpc.discover", "types.list", "templates.list",
  "vm.create", "vm.delete", "vm.list", "vm.get", "host.get",
  "addr.reserve", "addr.commit", "addr.release", "addr.lookup",
  "pool.stats", "watch",
  "domain.assign", "domain.import", "device.attach", "device.detach",
  NULL
};

/* the methods refused on the read-only socket */
static const char *const expected_mutating[] = {
  "vm.create", "vm.delete", "addr.reserve", "addr.commit", "addr.release",
  "domain.assign", "domain.import", "device.attach", "device.detach",
  NULL
};

/* method -> its parameters, required ones marked with '!' */
static const char *const expected_params[][12] = {
  { "server.info", NULL },
  { "rpc.discover", NULL },
  { "types.list", NULL },
  { "templates.list", NULL },
  { "vm.create", "!vm", "template", NULL },
  { "vm.delete", "!vm", NULL },
  { "vm.list", NULL },
  { "vm.get", "!vm", NULL },
  { "host.get", NULL },
  { "addr.reserve", "vm", "scope", "type", "alias", "address", "constraint", "mode", "hold_s", "requests", NULL },
  { "addr.commit", "vm", "scope", "!alias", NULL },
  { "addr.release", "vm", "scope", "!alias", "phase", NULL },
  { "addr.lookup", "vm", "scope", "alias", "type", "address", NULL },
  { "pool.stats", "vm", "scope", "!type", NULL },
  { "watch", "vm", NULL },
  { "domain.assign", "!vm", "!xml", NULL },
  { "domain.import", "!vm", "!xml", "partial", NULL },
  { "device.attach", "!vm", "!xml", NULL },
  { "device.detach", "!vm", "xml", "alias", "phase", NULL },
};

static JsonObject *
document_object (JsonNode *document)
{
  ck_assert (document != NULL && JSON_NODE_HOLDS_OBJECT (document));
  return json_node_get_object (document);
}

static JsonObject *
method_object (JsonObject *document, const char *name)
{
  JsonArray *methods = json_object_get_array_member (document, "methods");

  for (guint i = 0; i < json_array_get_length (methods); i++) {
    JsonObject *method = json_array_get_object_element (methods, i);

    if (strcmp (json_object_get_string_member (method, "name"), name) == 0)
      return method;
  }
  return NULL;
}

/* a local JSON pointer such as "#/components/errors/NotFound" */
static JsonNode *
resolve (JsonNode *document, const char *ref)
{
  g_auto (GStrv) parts = NULL;
  JsonNode *node = document;

  if (!g_str_has_prefix (ref, "#/"))
    return NULL;
  parts = g_strsplit (ref + 2, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++) {
    if (!JSON_NODE_HOLDS_OBJECT (node))
      return NULL;
    node = json_object_get_member (json_node_get_object (node), parts[i]);
    if (node == NULL)
      return NULL;
  }
  return node;
}

static void
check_refs (JsonNode *document, JsonNode *node, guint *n_refs)
{
  if (JSON_NODE_HOLDS_OBJECT (node)) {
    JsonObjectIter iter;
    const char *name;
    JsonNode *member;

    json_object_iter_init (&iter, json_node_get_object (node));
    while (json_object_iter_next (&iter, &name, &member)) {
      if (strcmp (name, "$ref") == 0 && json_node_get_value_type (member) == G_TYPE_STRING &&
          g_str_has_prefix (json_node_get_string (member), "#")) {
        ck_assert_msg (resolve (document, json_node_get_string (member)) != NULL, "dangling $ref %s",
                       json_node_get_string (member));
        (*n_refs)++;
      }
      check_refs (document, member, n_refs);
    }
  } else if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *array = json_node_get_array (node);

    for (guint i = 0; i < json_array_get_length (array); i++)
      check_refs (document, json_array_get_element (array, i), n_refs);
  }
}

START_TEST (test_embedded_equals_file)
{
  const char *srcdir = g_getenv ("DA_SRCDIR");
  g_autofree char *path = g_build_filename (srcdir != NULL ? srcdir : ".", "protocol", "devaddr.openrpc.json", NULL);
  g_autofree char *data = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) from_file = NULL;
  g_autoptr (JsonNode) embedded = da_openrpc_get ();
  g_autoptr (JsonNode) again = da_openrpc_get ();
  DaJsonLimits limits = { 64, G_MAXSIZE };
  gsize len;

  ck_assert_msg (g_file_get_contents (path, &data, &len, &error), "%s", error ? error->message : "");
  from_file = da_json_parse (data, len, &limits, NULL, &error);
  ck_assert_msg (from_file != NULL, "%s: %s", path, error ? error->message : "");
  ck_assert (embedded != NULL);
  ck_assert (da_json_equal (embedded, from_file));
  /* parsed once, shared, immutable */
  ck_assert (embedded == again);
  ck_assert (json_node_is_immutable (embedded));
}
END_TEST

START_TEST (test_header)
{
  g_autoptr (JsonNode) document = da_openrpc_get ();
  JsonObject *root = document_object (document);
  JsonObject *info = json_object_get_object_member (root, "info");

  ck_assert_str_eq (json_object_get_string_member (root, "openrpc"), "1.2.6");
  ck_assert_str_eq (json_object_get_string_member (info, "title"), "devaddr");
  ck_assert_str_eq (json_object_get_string_member (info, "version"), G_STRINGIFY (DA_PROTOCOL_VERSION));
}
END_TEST

START_TEST (test_method_names)
{
  g_auto (GStrv) names = da_openrpc_method_names ();

  ck_assert_uint_eq (g_strv_length (names), g_strv_length ((GStrv) expected_methods));
  for (guint i = 0; expected_methods[i] != NULL; i++)
    ck_assert_str_eq (names[i], expected_methods[i]);
  ck_assert (da_jsonrpc_method_is_reserved ("rpc.discover"));
}
END_TEST

START_TEST (test_methods_well_formed)
{
  g_autoptr (JsonNode) document = da_openrpc_get ();
  JsonObject *root = document_object (document);

  for (guint m = 0; m < G_N_ELEMENTS (expected_params); m++) {
    const char *const *expected = expected_params[m];
    JsonObject *method = method_object (root, expected[0]);
    JsonArray *params;
    JsonObject *result;
    JsonArray *errors;
    guint n_expected = g_strv_length ((GStrv) expected) - 1;
    gboolean has_invalid_params = FALSE;

    ck_assert_msg (method != NULL, "%s is not described", expected[0]);
    ck_assert (json_object_get_string_member (method, "summary") != NULL);
    ck_assert_str_eq (json_object_get_string_member (method, "paramStructure"), "by-name");
    ck_assert (json_node_get_value_type (json_object_get_member (method, "x-mutates")) == G_TYPE_BOOLEAN);
    ck_assert_msg (json_object_get_boolean_member (method, "x-mutates") ==
                     g_strv_contains (expected_mutating, expected[0]),
                   "%s: x-mutates is wrong", expected[0]);

    params = json_object_get_array_member (method, "params");
    ck_assert_msg (json_array_get_length (params) == n_expected, "%s: %u params", expected[0],
                   json_array_get_length (params));
    for (guint i = 0; i < n_expected; i++) {
      JsonObject *param = json_array_get_object_element (params, i);
      const char *want = expected[i + 1];
      gboolean required = want[0] == '!';

      ck_assert_str_eq (json_object_get_string_member (param, "name"), required ? want + 1 : want);
      ck_assert_msg (json_object_get_boolean_member (param, "required") == required, "%s.%s: required is wrong",
                     expected[0], want);
      ck_assert (JSON_NODE_HOLDS_OBJECT (json_object_get_member (param, "schema")));
    }

    result = json_object_get_object_member (method, "result");
    ck_assert (result != NULL);
    ck_assert (json_object_get_string_member (result, "name") != NULL);
    ck_assert (JSON_NODE_HOLDS_OBJECT (json_object_get_member (result, "schema")));

    /* every method documents its errors, by reference to a shared error */
    errors = json_object_get_array_member (method, "errors");
    ck_assert_msg (json_array_get_length (errors) > 0, "%s: no errors", expected[0]);
    for (guint i = 0; i < json_array_get_length (errors); i++) {
      JsonObject *ref = json_array_get_object_element (errors, i);
      JsonNode *target = resolve (document, json_object_get_string_member (ref, "$ref"));
      gint64 code;

      ck_assert_msg (target != NULL, "%s: dangling error reference", expected[0]);
      code = json_object_get_int_member (json_node_get_object (target), "code");
      if (code == -32602)
        has_invalid_params = TRUE;
    }
    ck_assert_msg (has_invalid_params, "%s: invalid-params is not documented", expected[0]);
  }
}
END_TEST

START_TEST (test_errors_match_the_domain)
{
  g_autoptr (JsonNode) document = da_openrpc_get ();
  JsonObject *root = document_object (document);
  JsonObject *errors = json_object_get_object_member (json_object_get_object_member (root, "components"), "errors");
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;
  guint n_application = 0;

  json_object_iter_init (&iter, errors);
  while (json_object_iter_next (&iter, &name, &node)) {
    JsonObject *error = json_node_get_object (node);
    gint64 code = json_object_get_int_member (error, "code");
    DaRpcError from_code;

    ck_assert_msg (da_rpc_error_from_wire_code ((gint) code, &from_code), "%s: unknown code %" G_GINT64_FORMAT, name,
                   code);
    ck_assert (json_object_get_string_member (error, "message") != NULL);
    if (da_rpc_error_is_application (from_code)) {
      JsonObject *data = json_object_get_object_member (error, "data");
      DaRpcError from_reason;

      ck_assert_msg (data != NULL, "%s: no data.reason", name);
      ck_assert (da_rpc_error_from_reason (json_object_get_string_member (data, "reason"), &from_reason));
      ck_assert_int_eq (from_reason, from_code);
      n_application++;
    }
  }
  /* all eight application errors are described */
  ck_assert_uint_eq (n_application, 8);
}
END_TEST

START_TEST (test_refs_resolve)
{
  g_autoptr (JsonNode) document = da_openrpc_get ();
  guint n_refs = 0;

  check_refs (document, document, &n_refs);
  ck_assert_uint_gt (n_refs, 100);
}
END_TEST

START_TEST (test_notifications)
{
  g_autoptr (JsonNode) document = da_openrpc_get ();
  JsonArray *notifications = json_object_get_array_member (document_object (document), "x-notifications");
  JsonObject *changed;

  ck_assert (notifications != NULL);
  ck_assert_uint_eq (json_array_get_length (notifications), 1);
  changed = json_array_get_object_element (notifications, 0);
  ck_assert_str_eq (json_object_get_string_member (changed, "name"), "addr.changed");
  ck_assert_uint_eq (json_array_get_length (json_object_get_array_member (changed, "params")), 7);
}
END_TEST

static gpointer
get_in_thread (gpointer data)
{
  return da_openrpc_get ();
}

START_TEST (test_first_use_from_threads)
{
  /* each check test runs in a fresh process, so this is the first use */
  GThread *threads[8];
  JsonNode *nodes[8];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("openrpc", get_in_thread, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    nodes[i] = g_thread_join (threads[i]);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++) {
    ck_assert (nodes[i] != NULL && nodes[i] == nodes[0]);
    json_node_unref (nodes[i]);
  }
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("openrpc");
  TCase *tc = tcase_create ("document");

  /* a critical from GLib or json-glib is a bug, even when the test would pass */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);

  tcase_add_test (tc, test_embedded_equals_file);
  tcase_add_test (tc, test_header);
  tcase_add_test (tc, test_method_names);
  tcase_add_test (tc, test_methods_well_formed);
  tcase_add_test (tc, test_errors_match_the_domain);
  tcase_add_test (tc, test_refs_resolve);
  tcase_add_test (tc, test_notifications);
  tcase_add_test (tc, test_first_use_from_threads);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
