/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <check.h>
#include <string.h>

#include "protocol/da-json.h"
#include "protocol/da-limits.h"
#include "protocol/da-params.h"
#include "tests/common/da-test-suite.h"

static DaParams *
params_of (const char *json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) node = da_json_parse (json, strlen (json), NULL, NULL, &error);
  DaParams *params;

  ck_assert_msg (node != NULL, "%s: %s", json, error ? error->message : "");
  params = da_params_new (node, &error);
  ck_assert_msg (params != NULL, "%s: %s", json, error ? error->message : "");
  return params;
}

/* @error must be invalid-params with exactly @message */
static void
assert_invalid (GError *error, const char *message)
{
  ck_assert_msg (error != NULL, "no error; expected: %s", message);
  ck_assert_msg (g_error_matches (error, DA_RPC_ERROR, DA_RPC_ERROR_INVALID_PARAMS), "wrong error: %s", error->message);
  ck_assert_msg (strcmp (error->message, message) == 0, "message\n  %s\nexpected\n  %s", error->message, message);
}

START_TEST (test_new)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) array = da_json_parse ("[1]", 3, NULL, NULL, NULL);
  g_autoptr (DaParams) absent = da_params_new (NULL, &error);
  g_autoptr (DaParams) positional = NULL;

  ck_assert (absent != NULL);
  ck_assert_str_eq (da_params_get_path (absent), "params");
  ck_assert_uint_eq (json_object_get_size (da_params_peek_object (absent)), 0);
  positional = da_params_new (array, &error);
  ck_assert (positional == NULL);
  assert_invalid (error, "params: expected an object (named parameters), got an array");
}
END_TEST

START_TEST (test_string)
{
  g_autoptr (DaParams) p = params_of ("{\"vm\":\"vm1\",\"empty\":\"\",\"num\":3,\"nul\":null,\"long\":\"abcdefghijk\"}");
  g_autoptr (GError) error = NULL;
  const char *value = "default";

  ck_assert (da_params_get_string (p, "vm", DA_PARAMS_REQUIRED, 128, &value, &error));
  ck_assert_str_eq (value, "vm1");
  value = "default";
  ck_assert (da_params_get_string (p, "absent", DA_PARAMS_OPTIONAL, 128, &value, &error));
  ck_assert_str_eq (value, "default");
  ck_assert (da_params_get_string (p, "empty", DA_PARAMS_OPTIONAL, 128, &value, &error));
  ck_assert_str_eq (value, "");
  ck_assert (da_params_get_string (p, "long", DA_PARAMS_REQUIRED, 11, &value, &error));

  ck_assert (!da_params_get_string (p, "absent", DA_PARAMS_REQUIRED, 128, &value, &error));
  assert_invalid (error, "params.absent: required member is missing");
  g_clear_error (&error);
  ck_assert (!da_params_get_string (p, "empty", DA_PARAMS_NON_EMPTY, 128, &value, &error));
  assert_invalid (error, "params.empty: must not be empty");
  g_clear_error (&error);
  ck_assert (!da_params_get_string (p, "num", DA_PARAMS_REQUIRED, 128, &value, &error));
  assert_invalid (error, "params.num: expected a string, got 3");
  g_clear_error (&error);
  ck_assert (!da_params_get_string (p, "nul", DA_PARAMS_OPTIONAL, 128, &value, &error));
  assert_invalid (error, "params.nul: expected a string, got null");
  g_clear_error (&error);
  ck_assert (!da_params_get_string (p, "long", DA_PARAMS_REQUIRED, 10, &value, &error));
  assert_invalid (error, "params.long: expected a string of at most 10 bytes, got 11 bytes");
}
END_TEST

START_TEST (test_int)
{
  g_autoptr (DaParams) p = params_of ("{\"count\":4,\"frac\":1.5,\"two\":2.0,\"exp\":1e3,\"str\":\"4\",\"neg\":-9223372036854775808,"
                                      "\"big\":9223372036854775808,\"long_str\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}");
  g_autoptr (GError) error = NULL;
  gint64 value = -1;

  ck_assert (da_params_get_int (p, "count", DA_PARAMS_REQUIRED, 1, 4, &value, &error));
  ck_assert_int_eq (value, 4);
  value = 7;
  ck_assert (da_params_get_int (p, "absent", DA_PARAMS_OPTIONAL, 1, 4, &value, &error));
  ck_assert_int_eq (value, 7);
  ck_assert (da_params_get_int (p, "neg", DA_PARAMS_REQUIRED, G_MININT64, G_MAXINT64, &value, &error));
  ck_assert (value == G_MININT64);

  ck_assert (!da_params_get_int (p, "count", DA_PARAMS_REQUIRED, 1, 3, &value, &error));
  assert_invalid (error, "params.count: expected an integer in 1..3, got 4");
  g_clear_error (&error);
  ck_assert (!da_params_get_int (p, "frac", DA_PARAMS_REQUIRED, 1, 4294967296, &value, &error));
  assert_invalid (error, "params.frac: expected an integer in 1..4294967296, got 1.5");
  g_clear_error (&error);
  ck_assert (!da_params_get_int (p, "two", DA_PARAMS_REQUIRED, 1, 4, &value, &error));
  assert_invalid (error, "params.two: expected an integer in 1..4, got 2.0");
  g_clear_error (&error);
  ck_assert (!da_params_get_int (p, "exp", DA_PARAMS_REQUIRED, 0, 10000, &value, &error));
  assert_invalid (error, "params.exp: expected an integer in 0..10000, got 1000.0");
  g_clear_error (&error);
  ck_assert (!da_params_get_int (p, "str", DA_PARAMS_REQUIRED, 1, 4, &value, &error));
  assert_invalid (error, "params.str: expected an integer in 1..4, got \"4\"");
  g_clear_error (&error);
  ck_assert (!da_params_get_int (p, "big", DA_PARAMS_REQUIRED, G_MININT64, G_MAXINT64, &value, &error));
  assert_invalid (error, "params.big: expected an integer in -9223372036854775808..9223372036854775807, got "
                         "9.223372036854776e+18");
  g_clear_error (&error);
  ck_assert (!da_params_get_int (p, "long_str", DA_PARAMS_REQUIRED, 0, 1, &value, &error));
  assert_invalid (error, "params.long_str: expected an integer in 0..1, got \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"...");
  g_clear_error (&error);
  ck_assert (!da_params_get_int (p, "absent", DA_PARAMS_REQUIRED, 0, 1, &value, &error));
  assert_invalid (error, "params.absent: required member is missing");
}
END_TEST

START_TEST (test_uint64)
{
  g_autoptr (DaParams) p = params_of ("{\"n\":5,\"hex\":\"0xffffffffffffffff\",\"HEX\":\"0X1f\",\"dec\":\"18446744073709551615\","
                                      "\"neg\":-1,\"over\":\"18446744073709551616\",\"lead\":\"007\",\"hex17\":\"0x10000000000000000\","
                                      "\"empty_hex\":\"0x\",\"sign\":\"+5\",\"space\":\" 5\",\"big\":18446744073709551615}");
  g_autoptr (GError) error = NULL;
  guint64 value = 0;

  ck_assert (da_params_get_uint64 (p, "n", DA_PARAMS_REQUIRED, 0, G_MAXUINT64, &value, &error));
  ck_assert_uint_eq (value, 5);
  ck_assert (da_params_get_uint64 (p, "hex", DA_PARAMS_ALLOW_STRING, 0, G_MAXUINT64, &value, &error));
  ck_assert (value == G_MAXUINT64);
  ck_assert (da_params_get_uint64 (p, "HEX", DA_PARAMS_ALLOW_STRING, 0, G_MAXUINT64, &value, &error));
  ck_assert_uint_eq (value, 31);
  ck_assert (da_params_get_uint64 (p, "dec", DA_PARAMS_ALLOW_STRING, 0, G_MAXUINT64, &value, &error));
  ck_assert (value == G_MAXUINT64);

  /* strings only where the caller allows them */
  ck_assert (!da_params_get_uint64 (p, "hex", DA_PARAMS_REQUIRED, 0, G_MAXUINT64, &value, &error));
  assert_invalid (error, "params.hex: expected an integer in 0..18446744073709551615, got \"0xffffffffffffffff\"");
  g_clear_error (&error);
  ck_assert (!da_params_get_uint64 (p, "neg", DA_PARAMS_REQUIRED, 0, 10, &value, &error));
  assert_invalid (error, "params.neg: expected an integer in 0..10, got -1");
  g_clear_error (&error);
  ck_assert (!da_params_get_uint64 (p, "n", DA_PARAMS_REQUIRED, 6, 10, &value, &error));
  assert_invalid (error, "params.n: expected an integer in 6..10, got 5");
  g_clear_error (&error);
  ck_assert (!da_params_get_uint64 (p, "big", DA_PARAMS_ALLOW_STRING, 0, G_MAXUINT64, &value, &error));
  assert_invalid (error, "params.big: expected an integer in 0..18446744073709551615 (a number, or a decimal or 0x "
                         "string), got 1.8446744073709552e+19");
  g_clear_error (&error);
  for (guint i = 0; i < 6; i++) {
    const char *bad[] = { "over", "lead", "hex17", "empty_hex", "sign", "space" };

    ck_assert_msg (!da_params_get_uint64 (p, bad[i], DA_PARAMS_ALLOW_STRING, 0, G_MAXUINT64, &value, &error), "%s",
                   bad[i]);
    ck_assert (g_str_has_prefix (error->message, "params."));
    g_clear_error (&error);
  }
}
END_TEST

START_TEST (test_boolean)
{
  g_autoptr (DaParams) p = params_of ("{\"yes\":true,\"no\":false,\"one\":1,\"str\":\"true\"}");
  g_autoptr (GError) error = NULL;
  gboolean value = FALSE;

  ck_assert (da_params_get_boolean (p, "yes", DA_PARAMS_REQUIRED, &value, &error));
  ck_assert (value);
  ck_assert (da_params_get_boolean (p, "no", DA_PARAMS_REQUIRED, &value, &error));
  ck_assert (!value);
  value = TRUE;
  ck_assert (da_params_get_boolean (p, "absent", DA_PARAMS_OPTIONAL, &value, &error));
  ck_assert (value);
  ck_assert (!da_params_get_boolean (p, "one", DA_PARAMS_OPTIONAL, &value, &error));
  assert_invalid (error, "params.one: expected true or false, got 1");
  g_clear_error (&error);
  ck_assert (!da_params_get_boolean (p, "str", DA_PARAMS_OPTIONAL, &value, &error));
  assert_invalid (error, "params.str: expected true or false, got \"true\"");
}
END_TEST

START_TEST (test_enum)
{
  static const char *const policies[] = { "first-fit", "next-fit", "last-fit", "random", NULL };
  g_autoptr (DaParams) p = params_of ("{\"policy\":\"last-fit\",\"bad\":\"best-fit\",\"num\":1}");
  g_autoptr (GError) error = NULL;
  guint value = 0;

  ck_assert (da_params_get_enum (p, "policy", DA_PARAMS_REQUIRED, policies, &value, &error));
  ck_assert_uint_eq (value, 2);
  value = 9;
  ck_assert (da_params_get_enum (p, "absent", DA_PARAMS_OPTIONAL, policies, &value, &error));
  ck_assert_uint_eq (value, 9);
  ck_assert (!da_params_get_enum (p, "bad", DA_PARAMS_REQUIRED, policies, &value, &error));
  assert_invalid (error,
                  "params.bad: expected one of \"first-fit\", \"next-fit\", \"last-fit\", \"random\", got \"best-fit\"");
  g_clear_error (&error);
  ck_assert (!da_params_get_enum (p, "num", DA_PARAMS_REQUIRED, policies, &value, &error));
  assert_invalid (error, "params.num: expected one of \"first-fit\", \"next-fit\", \"last-fit\", \"random\", got 1");
}
END_TEST

START_TEST (test_strv)
{
  g_autoptr (DaParams) p = params_of ("{\"tags\":[\"hotplug\",\"pcie\"],\"empty\":[],\"mixed\":[\"a\",3],\"blank\":[\"a\",\"\"],"
                                      "\"str\":\"hotplug\",\"long\":[\"abcdef\"]}");
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) tags = NULL;
  g_auto (GStrv) none = NULL;

  ck_assert (da_params_get_strv (p, "tags", DA_PARAMS_REQUIRED, 2, 16, &tags, &error));
  ck_assert_uint_eq (g_strv_length (tags), 2);
  ck_assert_str_eq (tags[1], "pcie");
  ck_assert (da_params_get_strv (p, "absent", DA_PARAMS_OPTIONAL, 2, 16, &none, &error));
  ck_assert (none == NULL);
  ck_assert (da_params_get_strv (p, "empty", DA_PARAMS_OPTIONAL, 2, 16, &none, &error));
  ck_assert (none != NULL && none[0] == NULL);
  g_clear_pointer (&none, g_strfreev);

  ck_assert (!da_params_get_strv (p, "empty", DA_PARAMS_NON_EMPTY, 2, 16, &none, &error));
  assert_invalid (error, "params.empty: must not be empty");
  g_clear_error (&error);
  ck_assert (!da_params_get_strv (p, "tags", DA_PARAMS_REQUIRED, 1, 16, &none, &error));
  assert_invalid (error, "params.tags: expected at most 1 items, got 2");
  g_clear_error (&error);
  ck_assert (!da_params_get_strv (p, "mixed", DA_PARAMS_REQUIRED, 4, 16, &none, &error));
  assert_invalid (error, "params.mixed[1]: expected a string, got 3");
  g_clear_error (&error);
  ck_assert (!da_params_get_strv (p, "blank", DA_PARAMS_REQUIRED, 4, 16, &none, &error));
  assert_invalid (error, "params.blank[1]: must not be empty");
  g_clear_error (&error);
  ck_assert (!da_params_get_strv (p, "str", DA_PARAMS_REQUIRED, 4, 16, &none, &error));
  assert_invalid (error, "params.str: expected an array of strings, got \"hotplug\"");
  g_clear_error (&error);
  ck_assert (!da_params_get_strv (p, "long", DA_PARAMS_REQUIRED, 4, 5, &none, &error));
  assert_invalid (error, "params.long[0]: expected a string of at most 5 bytes, got 6 bytes");
  ck_assert (none == NULL);
}
END_TEST

START_TEST (test_object_and_nesting)
{
  g_autoptr (DaParams) p = params_of ("{\"constraint\":{\"count\":1.5,\"tags\":[\"a\",false],\"bus\":{\"min\":1,\"max\":0}},"
                                      "\"requests\":[{\"alias\":\"net0\"},{\"alias\":7}],\"bad_requests\":[{},1],\"num\":1}");
  g_autoptr (GError) error = NULL;
  g_autoptr (DaParams) constraint = NULL;
  g_autoptr (DaParams) none = NULL;
  g_autoptr (GPtrArray) requests = NULL;
  g_autoptr (GPtrArray) none_array = NULL;
  g_auto (GStrv) tags = NULL;
  const char *alias = NULL;
  gint64 value;
  gint64 lo, hi;

  ck_assert (da_params_get_object (p, "constraint", DA_PARAMS_REQUIRED, &constraint, &error));
  ck_assert_str_eq (da_params_get_path (constraint), "params.constraint");
  ck_assert (!da_params_get_int (constraint, "count", DA_PARAMS_REQUIRED, 1, 4294967296, &value, &error));
  assert_invalid (error, "params.constraint.count: expected an integer in 1..4294967296, got 1.5");
  g_clear_error (&error);
  ck_assert (!da_params_get_strv (constraint, "tags", DA_PARAMS_REQUIRED, 4, 16, &tags, &error));
  assert_invalid (error, "params.constraint.tags[1]: expected a string, got false");
  g_clear_error (&error);
  ck_assert (!da_params_get_int_range (constraint, "bus", DA_PARAMS_REQUIRED, 0, 255, &lo, &hi, &error));
  assert_invalid (error, "params.constraint.bus: the range is empty: 1 is greater than 0");
  g_clear_error (&error);

  ck_assert (da_params_get_object (p, "absent", DA_PARAMS_OPTIONAL, &none, &error));
  ck_assert (none == NULL);
  ck_assert (!da_params_get_object (p, "num", DA_PARAMS_OPTIONAL, &none, &error));
  assert_invalid (error, "params.num: expected an object, got 1");
  g_clear_error (&error);

  ck_assert (da_params_get_object_array (p, "requests", DA_PARAMS_REQUIRED, 256, &requests, &error));
  ck_assert_uint_eq (requests->len, 2);
  ck_assert (da_params_get_string (g_ptr_array_index (requests, 0), "alias", DA_PARAMS_REQUIRED, 128, &alias, &error));
  ck_assert_str_eq (alias, "net0");
  ck_assert (!da_params_get_string (g_ptr_array_index (requests, 1), "alias", DA_PARAMS_REQUIRED, 128, &alias, &error));
  assert_invalid (error, "params.requests[1].alias: expected a string, got 7");
  g_clear_error (&error);
  ck_assert (!da_params_get_object_array (p, "bad_requests", DA_PARAMS_REQUIRED, 256, &none_array, &error));
  assert_invalid (error, "params.bad_requests[1]: expected an object, got 1");
  g_clear_error (&error);
  ck_assert (!da_params_get_object_array (p, "requests", DA_PARAMS_REQUIRED, 1, &none_array, &error));
  assert_invalid (error, "params.requests: expected at most 1 items, got 2");
  g_clear_error (&error);
  ck_assert (!da_params_get_object_array (p, "num", DA_PARAMS_REQUIRED, 1, &none_array, &error));
  assert_invalid (error, "params.num: expected an array of objects, got 1");
  ck_assert (none_array == NULL);
}
END_TEST

START_TEST (test_int_range)
{
  g_autoptr (DaParams) p = params_of ("{\"v\":3,\"pair\":[1,31],\"obj\":{\"min\":2,\"max\":5},\"lo_only\":{\"min\":4},"
                                      "\"hi_only\":{\"max\":4},\"empty_obj\":{},\"three\":[1,2,3],\"rev\":[5,1],"
                                      "\"out\":[0,300],\"extra\":{\"min\":1,\"step\":2},\"str\":\"1-3\",\"frac\":[1,2.5]}");
  g_autoptr (GError) error = NULL;
  gint64 lo = -1, hi = -1;

  ck_assert (da_params_get_int_range (p, "v", DA_PARAMS_REQUIRED, 0, 255, &lo, &hi, &error));
  ck_assert (lo == 3 && hi == 3);
  ck_assert (da_params_get_int_range (p, "pair", DA_PARAMS_REQUIRED, 0, 255, &lo, &hi, &error));
  ck_assert (lo == 1 && hi == 31);
  ck_assert (da_params_get_int_range (p, "obj", DA_PARAMS_REQUIRED, 0, 255, &lo, &hi, &error));
  ck_assert (lo == 2 && hi == 5);
  ck_assert (da_params_get_int_range (p, "lo_only", DA_PARAMS_REQUIRED, 0, 255, &lo, &hi, &error));
  ck_assert (lo == 4 && hi == 255);
  ck_assert (da_params_get_int_range (p, "hi_only", DA_PARAMS_REQUIRED, 0, 255, &lo, &hi, &error));
  ck_assert (lo == 0 && hi == 4);
  ck_assert (da_params_get_int_range (p, "empty_obj", DA_PARAMS_REQUIRED, 0, 255, &lo, &hi, &error));
  ck_assert (lo == 0 && hi == 255);
  lo = hi = 77;
  ck_assert (da_params_get_int_range (p, "absent", DA_PARAMS_OPTIONAL, 0, 255, &lo, &hi, &error));
  ck_assert (lo == 77 && hi == 77);

  ck_assert (!da_params_get_int_range (p, "three", DA_PARAMS_REQUIRED, 0, 255, &lo, &hi, &error));
  assert_invalid (error, "params.three: expected an integer in 0..255, [lo, hi] or {\"min\": lo, \"max\": hi}, got an array");
  g_clear_error (&error);
  ck_assert (!da_params_get_int_range (p, "rev", DA_PARAMS_REQUIRED, 0, 255, &lo, &hi, &error));
  assert_invalid (error, "params.rev: the range is empty: 5 is greater than 1");
  g_clear_error (&error);
  ck_assert (!da_params_get_int_range (p, "out", DA_PARAMS_REQUIRED, 0, 255, &lo, &hi, &error));
  assert_invalid (error, "params.out[1]: expected an integer in 0..255, got 300");
  g_clear_error (&error);
  ck_assert (!da_params_get_int_range (p, "extra", DA_PARAMS_REQUIRED, 0, 255, &lo, &hi, &error));
  assert_invalid (error, "params.extra.step: unknown member (expected: min, max)");
  g_clear_error (&error);
  ck_assert (!da_params_get_int_range (p, "str", DA_PARAMS_REQUIRED, 0, 255, &lo, &hi, &error));
  assert_invalid (error, "params.str: expected an integer in 0..255, [lo, hi] or {\"min\": lo, \"max\": hi}, got \"1-3\"");
  g_clear_error (&error);
  ck_assert (!da_params_get_int_range (p, "frac", DA_PARAMS_REQUIRED, 0, 255, &lo, &hi, &error));
  assert_invalid (error, "params.frac[1]: expected an integer in 0..255, got 2.5");
}
END_TEST

START_TEST (test_check_members)
{
  static const char *const known[] = { "vm", "template", NULL };
  static const char *const nothing[] = { NULL };
  g_autoptr (DaParams) ok = params_of ("{\"vm\":\"a\",\"template\":\"q35\"}");
  g_autoptr (DaParams) typo = params_of ("{\"vm\":\"a\",\"tempalte\":\"q35\"}");
  g_autoptr (DaParams) odd = params_of ("{\"we ird\\n\":1}");
  g_autoptr (DaParams) empty = params_of ("{}");
  g_autoptr (GError) error = NULL;

  ck_assert (da_params_check_members (ok, known, &error));
  ck_assert (da_params_check_members (empty, nothing, &error));
  ck_assert (da_params_check_members (empty, NULL, &error));
  ck_assert (!da_params_check_members (typo, known, &error));
  assert_invalid (error, "params.tempalte: unknown member (expected: vm, template)");
  g_clear_error (&error);
  ck_assert (!da_params_check_members (ok, nothing, &error));
  assert_invalid (error, "params.vm: unknown member (none are expected here)");
  g_clear_error (&error);
  /* member names from the peer are quoted when they are not plain */
  ck_assert (!da_params_check_members (odd, known, &error));
  assert_invalid (error, "params[\"we ird\\n\"]: unknown member (expected: vm, template)");
}
END_TEST

START_TEST (test_scope)
{
  g_autoptr (DaParams) vm = params_of ("{\"vm\":\"vm1\"}");
  g_autoptr (DaParams) host = params_of ("{\"scope\":\"host\"}");
  g_autoptr (DaParams) both = params_of ("{\"vm\":\"vm1\",\"scope\":\"host\"}");
  g_autoptr (DaParams) neither = params_of ("{}");
  g_autoptr (DaParams) bad_scope = params_of ("{\"scope\":\"cluster\"}");
  g_autoptr (DaParams) empty_vm = params_of ("{\"vm\":\"\"}");
  g_autofree char *long_name = g_strnfill (DA_LIMIT_NAME_MAX + 1, 'v');
  g_autofree char *long_json = g_strdup_printf ("{\"vm\":\"%s\"}", long_name);
  g_autoptr (DaParams) long_vm = params_of (long_json);
  g_autoptr (GError) error = NULL;
  const char *name = "unset";

  ck_assert (da_params_get_scope (vm, &name, &error));
  ck_assert_str_eq (name, "vm1");
  ck_assert (da_params_get_scope (host, &name, &error));
  ck_assert (name == NULL);
  ck_assert (!da_params_get_scope (both, &name, &error));
  assert_invalid (error, "params: give either \"vm\" or \"scope\", not both");
  g_clear_error (&error);
  ck_assert (!da_params_get_scope (neither, &name, &error));
  assert_invalid (error, "params.vm: required member is missing (or give \"scope\": \"host\")");
  g_clear_error (&error);
  ck_assert (!da_params_get_scope (bad_scope, &name, &error));
  assert_invalid (error, "params.scope: expected one of \"host\", got \"cluster\"");
  g_clear_error (&error);
  ck_assert (!da_params_get_scope (empty_vm, &name, &error));
  assert_invalid (error, "params.vm: must not be empty");
  g_clear_error (&error);
  ck_assert (!da_params_get_scope (long_vm, &name, &error));
  assert_invalid (error, "params.vm: expected a string of at most 128 bytes, got 129 bytes");
}
END_TEST

START_TEST (test_custom_errors)
{
  g_autoptr (DaParams) p = params_of ("{\"constraint\":{\"min\":\"zz:zz\"}}");
  g_autoptr (DaParams) constraint = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  JsonNode *min;

  ck_assert (da_params_get_object (p, "constraint", DA_PARAMS_REQUIRED, &constraint, NULL));
  min = da_params_peek (constraint, "min");
  ck_assert (min != NULL && da_params_has (constraint, "min"));
  ck_assert (da_params_peek (constraint, "max") == NULL);
  da_params_set_error (constraint, "min", &error, "\"%s\" is not a pci address", json_node_get_string (min));
  assert_invalid (error, "params.constraint.min: \"zz:zz\" is not a pci address");
  g_clear_error (&error);
  da_params_set_error (constraint, NULL, &error, "give min or max, not both");
  assert_invalid (error, "params.constraint: give min or max, not both");
  path = da_params_dup_member_path (constraint, "1st");
  ck_assert_str_eq (path, "params.constraint[\"1st\"]");
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("params");
  TCase *tc = tcase_create ("getters");

  /* a critical from GLib or json-glib is a bug, even when the test would pass */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);

  tcase_add_test (tc, test_new);
  tcase_add_test (tc, test_string);
  tcase_add_test (tc, test_int);
  tcase_add_test (tc, test_uint64);
  tcase_add_test (tc, test_boolean);
  tcase_add_test (tc, test_enum);
  tcase_add_test (tc, test_strv);
  tcase_add_test (tc, test_object_and_nesting);
  tcase_add_test (tc, test_int_range);
  tcase_add_test (tc, test_check_members);
  tcase_add_test (tc, test_scope);
  tcase_add_test (tc, test_custom_errors);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
