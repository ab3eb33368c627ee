/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <check.h>
#include <math.h>
#include <string.h>

#include "protocol/da-json.h"
#include "tests/common/da-test-suite.h"

/*
 * The conformance corpus: tests/protocol/json/accept/NAME.json must parse
 * and serialize to NAME.out; reject/NAME.json must fail, with the message
 * in NAME.err when there is one.  One check test per file.
 */

static GPtrArray *accept_files;
static GPtrArray *reject_files;

static gint
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static GPtrArray *
list_corpus (const char *kind)
{
  const char *srcdir = g_getenv ("DA_SRCDIR");
  g_autofree char *dir_path = g_build_filename (srcdir != NULL ? srcdir : ".", "tests", "protocol", "json", kind, NULL);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    return files;
  while ((name = g_dir_read_name (dir)) != NULL) {
    if (g_str_has_suffix (name, ".json"))
      g_ptr_array_add (files, g_build_filename (dir_path, name, NULL));
  }
  g_ptr_array_sort (files, compare_paths);
  return files;
}

static char *
read_file (const char *path, gsize *len)
{
  g_autoptr (GError) error = NULL;
  char *data = NULL;

  ck_assert_msg (g_file_get_contents (path, &data, len, &error), "%s: %s", path, error ? error->message : "");
  return data;
}

/* the sidecar with @suffix instead of .json, without its final newline; NULL if none */
static char *
read_sidecar (const char *json_path, const char *suffix)
{
  g_autofree char *stem = g_strndup (json_path, strlen (json_path) - strlen (".json"));
  g_autofree char *path = g_strconcat (stem, suffix, NULL);
  char *data;
  gsize len;

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return NULL;
  data = read_file (path, &len);
  if (len > 0 && data[len - 1] == '\n')
    data[len - 1] = '\0';
  return data;
}

START_TEST (test_corpus_accept)
{
  const char *path = g_ptr_array_index (accept_files, _i);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (JsonNode) again = NULL;
  g_autofree char *data = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *text = NULL;
  gsize len;

  data = read_file (path, &len);
  root = da_json_parse (data, len, NULL, NULL, &error);
  ck_assert_msg (root != NULL, "%s: rejected: %s", path, error ? error->message : "");

  expected = read_sidecar (path, ".out");
  ck_assert_msg (expected != NULL, "%s: no .out file", path);
  text = da_json_to_string (root);
  ck_assert_msg (strcmp (text, expected) == 0, "%s: serialized as\n  %s\nexpected\n  %s", path, text, expected);

  /* and what we write we read back as the same tree */
  again = da_json_parse (text, strlen (text), NULL, NULL, &error);
  ck_assert_msg (again != NULL, "%s: output does not parse: %s", path, error ? error->message : "");
  ck_assert_msg (da_json_equal (root, again), "%s: round trip changed the tree", path);
}
END_TEST

START_TEST (test_corpus_reject)
{
  const char *path = g_ptr_array_index (reject_files, _i);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *data = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *text = NULL;
  g_autofree char *at = NULL;
  gsize len;
  gsize offset = G_MAXSIZE;

  data = read_file (path, &len);
  root = da_json_parse (data, len, NULL, &offset, &error);
  if (root != NULL)
    text = da_json_to_string (root);
  ck_assert_msg (root == NULL, "%s: accepted as %s", path, text);
  ck_assert (error != NULL && error->domain == DA_JSON_ERROR);
  ck_assert_msg (offset <= len, "%s: offset %" G_GSIZE_FORMAT " past the end", path, offset);
  at = g_strdup_printf (" at byte %" G_GSIZE_FORMAT, offset);
  ck_assert_msg (g_str_has_suffix (error->message, at), "%s: message does not end with the offset: %s", path,
                 error->message);
  ck_assert_msg (g_utf8_validate (error->message, -1, NULL), "%s: message is not UTF-8", path);

  expected = read_sidecar (path, ".err");
  if (expected != NULL)
    ck_assert_msg (strcmp (error->message, expected) == 0, "%s: message\n  %s\nexpected\n  %s", path, error->message,
                   expected);
}
END_TEST

START_TEST (test_corpus_complete)
{
  /* the corpus must be found, or every loop test above passes vacuously */
  ck_assert_uint_ge (accept_files->len, 50);
  ck_assert_uint_ge (reject_files->len, 80);
}
END_TEST

static JsonNode *
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *root = da_json_parse (text, strlen (text), NULL, NULL, &error);

  ck_assert_msg (root != NULL, "%s: %s", text, error ? error->message : "");
  return root;
}

static void
assert_error (const char *text, gsize len, const DaJsonLimits *limits, DaJsonError code, gsize offset)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = NULL;
  gsize got_offset = 0;

  root = da_json_parse (text, len, limits, &got_offset, &error);
  ck_assert_msg (root == NULL, "accepted %.*s", (int) MIN (len, 80), text);
  ck_assert_msg (g_error_matches (error, DA_JSON_ERROR, code), "%.*s: wanted code %d, got %s", (int) MIN (len, 80), text,
                 code, error->message);
  ck_assert_msg (got_offset == offset, "%.*s: offset %" G_GSIZE_FORMAT ", wanted %" G_GSIZE_FORMAT ": %s",
                 (int) MIN (len, 80), text, got_offset, offset, error->message);
}

START_TEST (test_number_types)
{
  g_autoptr (JsonNode) root = parse_ok ("[0,-1,9223372036854775807,-9223372036854775808,9223372036854775808,1.0,1e2,-0]");
  JsonArray *array = json_node_get_array (root);

  ck_assert (json_node_get_value_type (json_array_get_element (array, 0)) == G_TYPE_INT64);
  ck_assert_int_eq (json_array_get_int_element (array, 1), -1);
  ck_assert (json_array_get_int_element (array, 2) == G_MAXINT64);
  ck_assert (json_array_get_int_element (array, 3) == G_MININT64);
  ck_assert (json_node_get_value_type (json_array_get_element (array, 4)) == G_TYPE_DOUBLE);
  ck_assert (json_array_get_double_element (array, 4) == 9223372036854775808.0);
  ck_assert (json_node_get_value_type (json_array_get_element (array, 5)) == G_TYPE_DOUBLE);
  ck_assert (json_node_get_value_type (json_array_get_element (array, 6)) == G_TYPE_DOUBLE);
  ck_assert (json_array_get_double_element (array, 6) == 100.0);
  ck_assert (json_node_get_value_type (json_array_get_element (array, 7)) == G_TYPE_INT64);
}
END_TEST

START_TEST (test_strings_decoded)
{
  g_autoptr (JsonNode) root = parse_ok ("{\"k\\u00e9y\":\"a\\n\\u20ac\\ud83d\\ude00\\/\"}");
  JsonObject *object = json_node_get_object (root);

  ck_assert (json_object_has_member (object, "k\xc3\xa9y"));
  ck_assert_str_eq (json_object_get_string_member (object, "k\xc3\xa9y"), "a\n\xe2\x82\xac\xf0\x9f\x98\x80/");
}
END_TEST

START_TEST (test_error_codes)
{
  DaJsonLimits shallow = { 2, G_MAXSIZE };
  DaJsonLimits scalars_only = { 0, G_MAXSIZE };
  DaJsonLimits few_nodes = { 64, 3 };

  assert_error ("{\"a\":1,\"a\":2}", 13, NULL, DA_JSON_ERROR_DUPLICATE_KEY, 7);
  assert_error ("\"\\ud800\"", 8, NULL, DA_JSON_ERROR_ENCODING, 1);
  assert_error ("\"\xc0\x80\"", 4, NULL, DA_JSON_ERROR_ENCODING, 1);
  assert_error ("1e999", 5, NULL, DA_JSON_ERROR_RANGE, 0);
  assert_error ("[1,]", 4, NULL, DA_JSON_ERROR_SYNTAX, 3);
  /* the depth limit is a parameter; depth 1 is a top-level container */
  assert_error ("[[[1]]]", 7, &shallow, DA_JSON_ERROR_DEPTH, 2);
  assert_error ("{\"a\":{\"b\":{}}}", 14, &shallow, DA_JSON_ERROR_DEPTH, 10);
  assert_error ("[]", 2, &scalars_only, DA_JSON_ERROR_DEPTH, 0);
  assert_error ("[1,2,3]", 7, &few_nodes, DA_JSON_ERROR_TOO_MANY_NODES, 5);
  /* an embedded NUL byte ends nothing: the length does */
  assert_error ("[1]\0", 4, NULL, DA_JSON_ERROR_SYNTAX, 3);
}
END_TEST

START_TEST (test_limits_boundaries)
{
  DaJsonLimits shallow = { 2, G_MAXSIZE };
  DaJsonLimits scalars_only = { 0, G_MAXSIZE };
  DaJsonLimits three_nodes = { 64, 3 };
  g_autoptr (JsonNode) a = da_json_parse ("[[1]]", 5, &shallow, NULL, NULL);
  g_autoptr (JsonNode) b = da_json_parse ("42", 2, &scalars_only, NULL, NULL);
  g_autoptr (JsonNode) c = da_json_parse ("[1,2]", 5, &three_nodes, NULL, NULL);

  ck_assert (a != NULL);
  ck_assert (b != NULL);
  ck_assert (c != NULL);
}
END_TEST

START_TEST (test_deep_input_is_cheap)
{
  /* a 4 MiB frame of '[' fails at the limit, without recursion */
  gsize len = 4 * 1024 * 1024;
  g_autofree char *text = g_malloc (len);
  gint64 start;

  memset (text, '[', len);
  start = g_get_monotonic_time ();
  assert_error (text, len, NULL, DA_JSON_ERROR_DEPTH, DA_LIMIT_DEPTH_MAX);
  ck_assert_int_lt (g_get_monotonic_time () - start, G_USEC_PER_SEC);
}
END_TEST

START_TEST (test_large_input_is_linear)
{
  /* a 4 MiB frame of small values: bounded by the node limit, and fast */
  GString *text = g_string_sized_new (4 * 1024 * 1024);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) root = NULL;
  DaJsonLimits unlimited = { 64, G_MAXSIZE };
  gint64 start;

  g_string_append_c (text, '[');
  while (text->len < 4 * 1024 * 1024 - 16)
    g_string_append (text, "\"abc\\u00e9\",1,");
  g_string_append (text, "0]");

  assert_error (text->str, text->len, NULL, DA_JSON_ERROR_TOO_MANY_NODES,
                1 + 14 * (DA_LIMIT_NODES_MAX / 2 - 1) + 12);
  start = g_get_monotonic_time ();
  root = da_json_parse (text->str, text->len, &unlimited, NULL, &error);
  ck_assert_msg (root != NULL, "%s", error ? error->message : "");
  ck_assert_int_lt (g_get_monotonic_time () - start, 10 * G_USEC_PER_SEC);
  g_string_free (text, TRUE);
}
END_TEST

START_TEST (test_serialize_escapes)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (JsonObject) object = json_object_new ();
  g_autofree char *text = NULL;

  json_object_set_string_member (object, "ctl", "a\x01\x1f\x7f\"\\/\n\t");
  json_object_set_string_member (object, "c1", "\xc2\x85\xe2\x80\xa8\xe2\x80\xa9");
  json_object_set_string_member (object, "bad", "a\xff" "b\xc3");
  json_object_set_double_member (object, "nan", NAN);
  json_object_set_double_member (object, "inf", INFINITY);
  json_object_set_double_member (object, "two", 2.0);
  json_object_set_double_member (object, "tenth", 0.1);
  json_object_set_double_member (object, "big", 1e300);
  json_object_set_int_member (object, "min", G_MININT64);
  json_object_set_null_member (object, "null");
  json_node_set_object (node, object);

  text = da_json_to_string (node);
  ck_assert_str_eq (text, "{\"ctl\":\"a\\u0001\\u001f\\u007f\\\"\\\\/\\n\\t\","
                          "\"c1\":\"\\u0085\\u2028\\u2029\","
                          "\"bad\":\"a\xef\xbf\xbd" "b\xef\xbf\xbd\","
                          "\"nan\":null,\"inf\":null,\"two\":2.0,\"tenth\":0.1,\"big\":1e+300,"
                          "\"min\":-9223372036854775808,\"null\":null}");
}
END_TEST

START_TEST (test_serialize_null_node)
{
  g_autofree char *text = da_json_to_string (NULL);

  ck_assert_str_eq (text, "null");
}
END_TEST

START_TEST (test_equal_is_strict)
{
  g_autoptr (JsonNode) one = parse_ok ("[1]");
  g_autoptr (JsonNode) one_double = parse_ok ("[1.0]");
  g_autoptr (JsonNode) ab = parse_ok ("{\"a\":1,\"b\":[true,null,\"x\"]}");
  g_autoptr (JsonNode) ba = parse_ok ("{\"b\":[true,null,\"x\"],\"a\":1}");
  g_autoptr (JsonNode) ba2 = parse_ok ("{\"b\":[true,null,\"y\"],\"a\":1}");

  ck_assert (!da_json_equal (one, one_double));
  ck_assert (da_json_equal (ab, ba));
  ck_assert (!da_json_equal (ab, ba2));
}
END_TEST

/* --- round trip property: random trees, serialized and parsed back --- */

static void
random_string (GRand *rand, GString *out)
{
  guint n = g_rand_int_range (rand, 0, 12);

  for (guint i = 0; i < n; i++) {
    gunichar c;

    switch (g_rand_int_range (rand, 0, 6)) {
    case 0: c = g_rand_int_range (rand, 1, 0x20); break;        /* C0 controls */
    case 1: c = g_rand_int_range (rand, 0x20, 0x80); break;     /* ASCII */
    case 2: c = g_rand_int_range (rand, 0x80, 0x800); break;    /* 2 bytes, C1 included */
    case 3: c = g_rand_int_range (rand, 0x800, 0xd800); break;  /* 3 bytes */
    case 4: c = g_rand_int_range (rand, 0xe000, 0x10000); break;
    default: c = g_rand_int_range (rand, 0x10000, 0x110000); break;
    }
    g_string_append_unichar (out, c);
  }
}

static double
random_double (GRand *rand)
{
  switch (g_rand_int_range (rand, 0, 5)) {
  case 0: return g_rand_double_range (rand, -1e6, 1e6);
  case 1: return (double) g_rand_int_range (rand, -1000, 1000);
  case 2: return ldexp (g_rand_double (rand), g_rand_int_range (rand, -1074, 1000));
  case 3: return -ldexp (g_rand_double (rand), g_rand_int_range (rand, -1074, 1000));
  default: {
    /* any finite bit pattern */
    union { guint64 bits; double d; } u;

    do {
      u.bits = ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
    } while (!isfinite (u.d));
    return u.d;
  }
  }
}

static JsonNode *
random_tree (GRand *rand, guint depth)
{
  guint kind = g_rand_int_range (rand, 0, depth < 6 ? 8 : 6);
  JsonNode *node;

  switch (kind) {
  case 0:
    return json_node_new (JSON_NODE_NULL);
  case 1:
    return json_node_init_boolean (json_node_alloc (), g_rand_boolean (rand));
  case 2: {
    gint64 v = (gint64) (((guint64) g_rand_int (rand) << 32) | g_rand_int (rand));

    return json_node_init_int (json_node_alloc (), g_rand_boolean (rand) ? v : v % 1000);
  }
  case 3:
    return json_node_init_double (json_node_alloc (), random_double (rand));
  case 4:
  case 5: {
    g_autoptr (GString) s = g_string_new (NULL);

    random_string (rand, s);
    return json_node_init_string (json_node_alloc (), s->str);
  }
  case 6: {
    JsonArray *array = json_array_new ();
    guint n = g_rand_int_range (rand, 0, 5);

    for (guint i = 0; i < n; i++)
      json_array_add_element (array, random_tree (rand, depth + 1));
    node = json_node_new (JSON_NODE_ARRAY);
    json_node_take_array (node, array);
    return node;
  }
  default: {
    JsonObject *object = json_object_new ();
    guint n = g_rand_int_range (rand, 0, 5);

    for (guint i = 0; i < n; i++) {
      g_autoptr (GString) key = g_string_new (NULL);

      random_string (rand, key);
      if (!json_object_has_member (object, key->str))
        json_object_set_member (object, key->str, random_tree (rand, depth + 1));
    }
    node = json_node_new (JSON_NODE_OBJECT);
    json_node_take_object (node, object);
    return node;
  }
  }
}

START_TEST (test_round_trip_property)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (20240601);

  for (guint i = 0; i < 5000; i++) {
    g_autoptr (JsonNode) tree = random_tree (rand, 0);
    g_autoptr (JsonNode) back = NULL;
    g_autoptr (GError) error = NULL;
    g_autofree char *text = da_json_to_string (tree);
    g_autofree char *text2 = NULL;

    ck_assert_msg (strchr (text, '\n') == NULL, "not one line: %s", text);
    ck_assert_msg (g_utf8_validate (text, -1, NULL), "not UTF-8: %s", text);
    for (const char *p = text; *p != '\0'; p++)
      ck_assert_msg ((guchar) *p >= 0x20 && *p != 0x7f, "raw control character in %s", text);
    back = da_json_parse (text, strlen (text), NULL, NULL, &error);
    ck_assert_msg (back != NULL, "iteration %u: %s does not parse: %s", i, text, error ? error->message : "");
    ck_assert_msg (da_json_equal (tree, back), "iteration %u: %s changed in the round trip", i, text);
    /* and serializing is deterministic */
    text2 = da_json_to_string (back);
    ck_assert_str_eq (text, text2);
  }
}
END_TEST

static gpointer
parse_in_thread (gpointer data)
{
  const char *text = data;

  for (guint i = 0; i < 2000; i++) {
    g_autoptr (JsonNode) root = da_json_parse (text, strlen (text), NULL, NULL, NULL);
    g_autofree char *out = NULL;

    if (root == NULL)
      return GINT_TO_POINTER (FALSE);
    out = da_json_to_string (root);
    if (strcmp (out, text) != 0)
      return GINT_TO_POINTER (FALSE);
  }
  return GINT_TO_POINTER (TRUE);
}

START_TEST (test_threads)
{
  const char *text = "{\"vm\":\"vm1\",\"requests\":[{\"type\":\"pci\",\"alias\":\"net0\"},{\"count\":2.5}]}";
  GThread *threads[4];

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("parse", parse_in_thread, (gpointer) text);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    ck_assert (GPOINTER_TO_INT (g_thread_join (threads[i])));
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("json");
  TCase *corpus = tcase_create ("corpus");
  TCase *parser = tcase_create ("parser");
  TCase *serializer = tcase_create ("serializer");
  int status;

  /* a critical from GLib or json-glib is a bug, even when the test would pass */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);

  accept_files = list_corpus ("accept");
  reject_files = list_corpus ("reject");

  tcase_add_test (corpus, test_corpus_complete);
  tcase_add_loop_test (corpus, test_corpus_accept, 0, (int) accept_files->len);
  tcase_add_loop_test (corpus, test_corpus_reject, 0, (int) reject_files->len);
  suite_add_tcase (s, corpus);

  tcase_add_test (parser, test_number_types);
  tcase_add_test (parser, test_strings_decoded);
  tcase_add_test (parser, test_error_codes);
  tcase_add_test (parser, test_limits_boundaries);
  tcase_add_test (parser, test_deep_input_is_cheap);
  tcase_add_test (parser, test_large_input_is_linear);
  tcase_add_test (parser, test_threads);
  suite_add_tcase (s, parser);

  tcase_add_test (serializer, test_serialize_escapes);
  tcase_add_test (serializer, test_serialize_null_node);
  tcase_add_test (serializer, test_equal_is_strict);
  tcase_add_test (serializer, test_round_trip_property);
  suite_add_tcase (s, serializer);

  status = da_test_run_suite (s);
  g_ptr_array_unref (accept_files);
  g_ptr_array_unref (reject_files);
  return status;
}
