/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devaddr-protocol(7) says what protocol/devaddr.openrpc.json says: a
 * section per method and no other, every parameter, every required member
 * of an object result, every error, whether it changes state, an example
 * request, and the limits of protocol/da-limits.h.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "protocol/da-json.h"
#include "protocol/da-limits.h"
#include "tests/common/da-test-suite.h"

static JsonNode *document;
static char *page;

static char *
srcdir_file (const char *name)
{
  const char *srcdir = g_getenv ("DA_SRCDIR");

  return g_build_filename (srcdir != NULL ? srcdir : ".", name, NULL);
}

static void
setup (void)
{
  g_autofree char *json_path = srcdir_file ("protocol/devaddr.openrpc.json");
  g_autofree char *page_path = srcdir_file ("man/devaddr-protocol.7.scd");
  g_autofree char *text = NULL;
  gsize len;
  g_autoptr (GError) error = NULL;

  if (!g_file_get_contents (json_path, &text, &len, &error))
    ck_abort_msg ("%s", error->message);
  document = da_json_parse (text, len, NULL, NULL, &error);
  ck_assert_msg (document != NULL, "%s", error != NULL ? error->message : "");
  if (!g_file_get_contents (page_path, &page, NULL, &error))
    ck_abort_msg ("%s", error->message);
}

static void
teardown (void)
{
  g_clear_pointer (&document, json_node_unref);
  g_clear_pointer (&page, g_free);
}

/* the text of "# TITLE" up to the next "# " heading */
static char *
chapter (const char *title)
{
  g_autofree char *heading = g_strdup_printf ("\n# %s\n", title);
  const char *start = strstr (page, heading);
  const char *end;

  ck_assert_msg (start != NULL, "no chapter %s", title);
  start += strlen (heading);
  end = strstr (start, "\n# ");
  return end != NULL ? g_strndup (start, (gsize) (end - start)) : g_strdup (start);
}

/* the text of "## NAME" up to the next heading */
static char *
section (const char *text, const char *name)
{
  g_autofree char *heading = g_strdup_printf ("## %s\n", name);
  const char *start = g_str_has_prefix (text, heading) ? text : NULL;
  const char *end;

  if (start == NULL) {
    g_autofree char *nl_heading = g_strdup_printf ("\n## %s\n", name);

    start = strstr (text, nl_heading);
    if (start == NULL)
      return NULL;
    start++;
  }
  start += strlen (heading);
  end = strstr (start, "\n#");
  return end != NULL ? g_strndup (start, (gsize) (end - start)) : g_strdup (start);
}

static GStrv
section_names (const char *text)
{
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "## "))
      g_strv_builder_add (names, lines[i] + 3);
  return g_strv_builder_end (names);
}

static JsonNode *
resolve (const char *ref)
{
  g_auto (GStrv) parts = g_strsplit (ref + 2, "/", -1);
  JsonNode *node = document;

  for (guint i = 0; parts[i] != NULL; i++)
    node = json_object_get_member (json_node_get_object (node), parts[i]);
  return node;
}

static JsonObject *
deref (JsonObject *obj)
{
  while (json_object_has_member (obj, "$ref") && g_str_has_prefix (json_object_get_string_member (obj, "$ref"), "#/"))
    obj = json_node_get_object (resolve (json_object_get_string_member (obj, "$ref")));
  return obj;
}

/* *name* somewhere in the text */
static gboolean
mentions (const char *text, const char *name)
{
  g_autofree char *bold = g_strdup_printf ("*%s*", name);

  return strstr (text, bold) != NULL;
}

/* the definition term of a parameter ("*name* _optional_") says whether
 * it is optional; vm and scope are one term, "*vm*, *scope*": exactly
 * one of them is given */
static gboolean
term_marked (const char *text, const char *param, gboolean required)
{
  g_autofree char *term = g_strdup_printf ("\n*%s*", param);
  const char *line;

  if (strcmp (param, "vm") == 0 || strcmp (param, "scope") == 0) {
    if (strstr (text, "\n*vm*, *scope*\n\t") != NULL)
      return !required;
  }
  /* a term is a line of its own followed by its indented description */
  for (line = strstr (text, term); line != NULL; line = strstr (line + 1, term)) {
    gsize len = strcspn (line + 1, "\n");
    g_autofree char *first = g_strndup (line + 1, len);

    if (line[1 + len] == '\n' && line[2 + len] == '\t')
      return (strstr (first, "_optional_") != NULL) == !required;
  }
  return FALSE;
}

START_TEST (test_methods)
{
  g_autofree char *methods_text = chapter ("METHODS");
  g_auto (GStrv) names = section_names (methods_text);
  JsonArray *methods = json_object_get_array_member (json_node_get_object (document), "methods");

  /* the same methods, in the same order */
  ck_assert_uint_eq (g_strv_length (names), json_array_get_length (methods));
  for (guint i = 0; i < json_array_get_length (methods); i++) {
    JsonObject *method = json_array_get_object_element (methods, i);
    const char *name = json_object_get_string_member (method, "name");
    g_autofree char *text = section (methods_text, name);
    JsonArray *params = json_object_get_array_member (method, "params");
    JsonArray *errors = json_object_get_array_member (method, "errors");
    /* results by reference (a reservation) are described once, in vm.get */
    JsonObject *result = json_object_get_object_member (json_object_get_object_member (method, "result"), "schema");
    g_autofree char *example = g_strdup_printf ("\"method\":\"%s\"", name);

    ck_assert_str_eq (names[i], name);
    ck_assert_msg (text != NULL, "no section for %s", name);
    for (guint p = 0; p < json_array_get_length (params); p++) {
      JsonObject *param = json_array_get_object_element (params, p);
      const char *param_name = json_object_get_string_member (param, "name");

      ck_assert_msg (mentions (text, param_name), "%s: parameter %s is not described", name, param_name);
      ck_assert_msg (term_marked (text, param_name, json_object_get_boolean_member_with_default (param, "required",
                                                                                                FALSE)),
                     "%s: parameter %s: its term says _optional_ exactly when it is", name, param_name);
    }
    if (json_array_get_length (params) == 0)
      ck_assert_msg (strstr (text, "No parameters.") != NULL, "%s: say it takes no parameters", name);
    if (json_object_has_member (result, "properties") && json_object_has_member (result, "required")) {
      JsonArray *required = json_object_get_array_member (result, "required");

      for (guint r = 0; r < json_array_get_length (required); r++)
        ck_assert_msg (mentions (text, json_array_get_string_element (required, r)), "%s: result member %s is missing",
                       name, json_array_get_string_element (required, r));
    }
    for (guint e = 0; e < json_array_get_length (errors); e++) {
      JsonObject *error = deref (json_array_get_object_element (errors, e));
      g_autofree char *code = g_strdup_printf ("%" G_GINT64_FORMAT, json_object_get_int_member (error, "code"));

      if (json_object_has_member (error, "data")) {
        const char *reason = json_object_get_string_member (json_object_get_object_member (error, "data"), "reason");

        ck_assert_msg (mentions (text, reason), "%s: error %s is not listed", name, reason);
      } else {
        ck_assert_msg (strstr (text, code) != NULL, "%s: error %s is not listed", name, code);
      }
    }
    {
      g_autofree char *flat = g_strdelimit (g_strdup (text), "\n", ' ');

      ck_assert_msg ((strstr (flat, "refused on the read-only socket") != NULL)
                       == json_object_get_boolean_member (method, "x-mutates"),
                     "%s: whether it changes state", name);
    }
    ck_assert_msg (strstr (text, example) != NULL, "%s: no example request", name);
  }
}
END_TEST

/* the members of a reservation object, described with vm.get */
START_TEST (test_reservation)
{
  g_autofree char *methods_text = chapter ("METHODS");
  g_autofree char *text = section (methods_text, "vm.get");
  JsonObject *schema = json_node_get_object (resolve ("#/components/schemas/Reservation"));
  JsonObject *properties = json_object_get_object_member (schema, "properties");
  g_autoptr (GList) names = json_object_get_members (properties);

  for (GList *l = names; l != NULL; l = l->next)
    ck_assert_msg (mentions (text, l->data), "vm.get: reservation member %s", (const char *) l->data);
}
END_TEST

START_TEST (test_notifications)
{
  g_autofree char *text = chapter ("NOTIFICATIONS");
  JsonArray *notes = json_object_get_array_member (json_node_get_object (document), "x-notifications");
  g_auto (GStrv) names = section_names (text);

  ck_assert_uint_eq (g_strv_length (names), json_array_get_length (notes));
  for (guint i = 0; i < json_array_get_length (notes); i++) {
    JsonObject *note = json_array_get_object_element (notes, i);
    g_autofree char *sec = section (text, json_object_get_string_member (note, "name"));
    JsonArray *params = json_object_get_array_member (note, "params");

    ck_assert (sec != NULL);
    for (guint p = 0; p < json_array_get_length (params); p++)
      ck_assert_msg (mentions (sec, json_object_get_string_member (json_array_get_object_element (params, p), "name")),
                     "addr.changed: %s", json_object_get_string_member (json_array_get_object_element (params, p), "name"));
  }
}
END_TEST

START_TEST (test_errors)
{
  g_autofree char *text = chapter ("ERRORS");
  JsonObject *errors = json_object_get_object_member (json_object_get_object_member (json_node_get_object (document),
                                                                                     "components"),
                                                      "errors");
  g_autoptr (GList) names = json_object_get_members (errors);
  static const char *const rpc[] = { "-32700", "-32600", "-32601", "-32602", "-32603" };

  for (GList *l = names; l != NULL; l = l->next) {
    JsonObject *error = json_object_get_object_member (errors, l->data);
    g_autofree char *code = g_strdup_printf ("*%" G_GINT64_FORMAT "*", json_object_get_int_member (error, "code"));

    ck_assert_msg (strstr (text, code) != NULL, "error code %s", code);
    if (json_object_has_member (error, "data"))
      ck_assert (mentions (text, json_object_get_string_member (json_object_get_object_member (error, "data"),
                                                                "reason")));
  }
  for (guint i = 0; i < G_N_ELEMENTS (rpc); i++) {
    g_autofree char *code = g_strdup_printf ("*%s*", rpc[i]);

    ck_assert_msg (strstr (text, code) != NULL, "error code %s", rpc[i]);
  }
}
END_TEST

START_TEST (test_limits)
{
  g_autofree char *text = chapter ("LIMITS");
  const int limits[] = { DA_LIMIT_FRAME_MAX, DA_LIMIT_DEPTH_MAX, DA_LIMIT_PENDING_PER_CONNECTION,
                         DA_LIMIT_CONNECTIONS_PER_UID, DA_LIMIT_NAME_MAX, DA_LIMIT_XML_MAX,
                         DA_LIMIT_RESERVE_REQUESTS_MAX, DA_LIMIT_TAGS_MAX };

  for (guint i = 0; i < G_N_ELEMENTS (limits); i++) {
    g_autofree char *number = g_strdup_printf (" %d ", limits[i]);
    g_autofree char *flat = g_strdelimit (g_strdup (text), "\n", ' ');

    ck_assert_msg (strstr (flat, number) != NULL, "the limit %d is not in LIMITS", limits[i]);
  }
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("man-protocol");
  TCase *tc = tcase_create ("page");

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_methods);
  tcase_add_test (tc, test_reservation);
  tcase_add_test (tc, test_notifications);
  tcase_add_test (tc, test_errors);
  tcase_add_test (tc, test_limits);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
