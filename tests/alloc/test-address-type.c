/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "daemon/alloc/da-alloc-error.h"
#include "da-test-util.h"
#include "tests/common/da-test-suite.h"

static DaAddressType *
get_type (DaCatalog *catalog, const char *name)
{
  DaAddressType *type = da_catalog_get_type (catalog, name);

  ck_assert_msg (type != NULL, "no type %s", name);
  return type;
}

static void
assert_parses (DaCatalog *catalog, const char *type_name, const char *text, const guint64 *digits, const char *canonical)
{
  DaAddressType *type = get_type (catalog, type_name);
  g_autoptr (GError) error = NULL;
  g_autofree char *back = NULL;
  guint64 got[DA_MAX_DIMS];
  guint64 key;

  ck_assert_msg (da_address_type_parse (type, text, &key, &error), "%s %s: %s", type_name, text, error ? error->message : "");
  da_address_type_decode (type, key, got);
  for (guint i = 0; i < da_address_type_get_n_dimensions (type); i++)
    ck_assert_msg (got[i] == digits[i], "%s %s: dimension %u is %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
                   type_name, text, i, got[i], digits[i]);
  back = da_address_type_format_key (type, key);
  ck_assert_str_eq (back, canonical);
}

START_TEST (test_text_forms)
{
  g_autoptr (DaCatalog) catalog = da_test_catalog ();

  assert_parses (catalog, "pci", "0000:00:1f.2", (guint64[]) { 0, 0, 0x1f, 2 }, "0000:00:1f.2");
  assert_parses (catalog, "pci", "0001:ff:1F.7", (guint64[]) { 1, 0xff, 0x1f, 7 }, "0001:ff:1f.7");
  assert_parses (catalog, "drive", "0:1:0:1", (guint64[]) { 0, 1, 0, 1 }, "0:1:0:1");
  assert_parses (catalog, "virtio-serial", "0:0:1", (guint64[]) { 0, 0, 1 }, "0:0:1");
  assert_parses (catalog, "usb", "0:1", (guint64[]) { 0, 1, 0, 0, 0 }, "0:1");
  assert_parses (catalog, "usb", "0:1.2", (guint64[]) { 0, 1, 2, 0, 0 }, "0:1.2");
  assert_parses (catalog, "usb", "2:15.8.3.1", (guint64[]) { 2, 15, 8, 3, 1 }, "2:15.8.3.1");
  assert_parses (catalog, "ccw", "fe.0.0001", (guint64[]) { 0xfe, 0, 1 }, "fe.0.0001");
  assert_parses (catalog, "isa", "0x505", (guint64[]) { 0x505 }, "0x505");
  assert_parses (catalog, "mmio", "0xffffffffffffffff", (guint64[]) { G_MAXUINT64 }, "0xffffffffffffffff");
  assert_parses (catalog, "pio", "0x3f8", (guint64[]) { 0x3f8 }, "0x3f8");
  assert_parses (catalog, "irq", "11", (guint64[]) { 11 }, "11");
  assert_parses (catalog, "msi", "2047", (guint64[]) { 2047 }, "2047");
  assert_parses (catalog, "id", "4294967295", (guint64[]) { 0xffffffff }, "4294967295");
  assert_parses (catalog, "vsock-cid", "3", (guint64[]) { 3 }, "3");
  assert_parses (catalog, "mac", "52:54:00:12:34:56", (guint64[]) { 0x52, 0x54, 0, 0x12, 0x34, 0x56 }, "52:54:00:12:34:56");
  assert_parses (catalog, "ipv4", "192.168.1.254", (guint64[]) { 192, 168, 1, 254 }, "192.168.1.254");
  assert_parses (catalog, "tcp-port", "5900", (guint64[]) { 5900 }, "5900");
}
END_TEST

static void
assert_rejected (DaCatalog *catalog, const char *type_name, const char *text, const char *mention)
{
  DaAddressType *type = get_type (catalog, type_name);
  g_autoptr (GError) error = NULL;
  guint64 key;

  ck_assert_msg (!da_address_type_parse (type, text, &key, &error), "%s accepted \"%s\"", type_name, text);
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS));
  ck_assert_msg (strstr (error->message, mention) != NULL, "%s \"%s\": \"%s\" does not mention %s",
                 type_name, text, error->message, mention);
}

START_TEST (test_errors_name_the_dimension)
{
  g_autoptr (DaCatalog) catalog = da_test_catalog ();

  assert_rejected (catalog, "pci", "0000:00:20.0", "slot");
  assert_rejected (catalog, "pci", "0000:00:1f.8", "function");
  assert_rejected (catalog, "pci", "10000:00:00.0", "domain");
  assert_rejected (catalog, "pci", "0000:100:00.0", "bus");
  /* a separator out of place names the dimension it follows */
  assert_rejected (catalog, "pci", "0000:00:1g.0", "expected \".\" after slot at offset 9");
  assert_rejected (catalog, "pci", "0000:00:1f", "expected \".\" after slot at offset 10");
  assert_rejected (catalog, "pci", "0000-00:1f.2", "expected \":\" after domain at offset 4");
  assert_rejected (catalog, "pci", "0000:00:1f.2x", "unexpected \"x\" at the end, after function");
  assert_rejected (catalog, "usb", "0:1.2y", "unexpected \"y\" at the end, after port2");
  assert_rejected (catalog, "pci", "", "empty");
  assert_rejected (catalog, "usb", "0:0", "port1");
  assert_rejected (catalog, "usb", "0:1.0", "port2");
  assert_rejected (catalog, "usb", "0:1.16", "port2");
  assert_rejected (catalog, "ipv4", "256.1.1.1", "a ");
  assert_rejected (catalog, "ipv4", "1.2.3", "expected \".\" after c");
  assert_rejected (catalog, "mac", "52:54:00:12:34", "expected \":\" after o4");
  assert_rejected (catalog, "mac", "52:54:00:12:34:100", "o5");
  assert_rejected (catalog, "ccw", "ff.0.0001", "cssid");
  assert_rejected (catalog, "ccw", "fe.4.0001", "ssid");
  assert_rejected (catalog, "isa", "505", "0x");
  assert_rejected (catalog, "mmio", "0x10000000000000000", "addr");
  assert_rejected (catalog, "virtio-serial", "0:0:512", "port");
  assert_rejected (catalog, "tcp-port", "-1", "port");
  assert_rejected (catalog, "drive", "0:16:0:0", "bus");
}
END_TEST

/* a separator that leads the text follows no dimension: it names the one
 * it precedes (no shipped type begins with one) */
START_TEST (test_leading_separator_names_the_next_dimension)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (DaAddressType) type = NULL;
  guint64 key;

  ck_assert (g_key_file_load_from_data (file,
                                        "[Address Type]\nName=unit\nDimensions=n:0-99\nFormat=u{n:d}\n", -1,
                                        G_KEY_FILE_NONE, &error));
  type = da_address_type_new_from_keyfile (file, "test", &error);
  ck_assert_msg (type != NULL, "%s", error ? error->message : "");
  ck_assert (da_address_type_parse (type, "u7", &key, &error));
  ck_assert_uint_eq (key, 7);
  ck_assert (!da_address_type_parse (type, "v7", &key, &error));
  ck_assert_msg (strstr (error->message, "expected \"u\" before n at offset 0") != NULL, "%s", error->message);
}
END_TEST

/* every type: random keys of its default pool survive format -> parse */
START_TEST (test_round_trip_every_type)
{
  g_autoptr (DaCatalog) catalog = da_test_catalog ();
  GPtrArray *types = da_catalog_get_types (catalog);
  GRand *rand = g_rand_new_with_seed (7);

  ck_assert_uint_ge (types->len, 15);
  for (guint i = 0; i < types->len; i++) {
    DaAddressType *type = g_ptr_array_index (types, i);
    const DaRangeMap *pool = da_address_type_get_default_pool (type);
    DaRange first, last;

    ck_assert_msg (da_range_map_first (pool, &first, NULL), "%s has an empty default pool", da_address_type_get_name (type));
    da_range_map_last (pool, &last, NULL);
    for (guint n = 0; n < 2000; n++) {
      guint64 key = n == 0 ? first.start : n == 1 ? last.end
                  : first.start + (((guint64) g_rand_int (rand) << 32) | g_rand_int (rand)) % (last.end - first.start + 1);
      g_autofree char *text = NULL;
      g_autoptr (GError) error = NULL;
      guint64 back;

      /* a key between pool ranges need not be an address of the type */
      if (!da_range_map_lookup (pool, key, NULL, NULL) || !da_address_type_validate_key (type, key, NULL))
        continue;
      text = da_address_type_format_key (type, key);
      ck_assert_msg (da_address_type_parse (type, text, &back, &error), "%s: %s", text, error ? error->message : "");
      ck_assert_msg (back == key, "%s: %s parsed to another key", da_address_type_get_name (type), text);
    }
  }
  g_rand_free (rand);
}
END_TEST

static gboolean
in_box (DaAddressType *type, const DaBox *box, guint64 key)
{
  guint64 d[DA_MAX_DIMS];

  da_address_type_decode (type, key, d);
  for (guint i = 0; i < da_address_type_get_n_dimensions (type); i++)
    if (d[i] < box->lo[i] || d[i] > box->hi[i])
      return FALSE;
  return TRUE;
}

/* box_next/box_prev/box_row against brute force on the test grid */
START_TEST (test_box_geometry)
{
  g_autoptr (DaCatalog) catalog = da_test_catalog ();
  DaAddressType *grid = get_type (catalog, "grid");
  guint64 max = da_address_type_get_key_max (grid);
  GRand *rand = g_rand_new_with_seed (11);

  ck_assert_uint_eq (max, 127);
  for (guint round = 0; round < 400; round++) {
    DaBox box;

    da_address_type_full_box (grid, &box);
    for (guint i = 0; i < 3; i++) {
      guint64 top = da_address_type_get_dimension (grid, i)->max;
      guint64 a = g_rand_int_range (rand, 0, (gint32) top + 1);
      guint64 b = g_rand_int_range (rand, 0, (gint32) top + 1);

      if (g_rand_boolean (rand)) {
        box.lo[i] = MIN (a, b);
        box.hi[i] = MAX (a, b);
      }
    }
    for (guint64 k = 0; k <= max + 2; k++) {
      guint64 expect_next = G_MAXUINT64, expect_prev = G_MAXUINT64, got;
      gboolean has;

      for (guint64 j = k; j <= max; j++)
        if (in_box (grid, &box, j)) {
          expect_next = j;
          break;
        }
      for (guint64 j = MIN (k, max) + 1; j-- > 0;)
        if (in_box (grid, &box, j)) {
          expect_prev = j;
          break;
        }
      has = da_box_next (grid, &box, k, &got);
      ck_assert_msg (has == (expect_next != G_MAXUINT64) && (!has || got == expect_next),
                     "round %u next(%" G_GUINT64_FORMAT ")", round, k);
      has = da_box_prev (grid, &box, k, &got);
      ck_assert_msg (has == (expect_prev != G_MAXUINT64) && (!has || got == expect_prev),
                     "round %u prev(%" G_GUINT64_FORMAT ")", round, k);
      if (k <= max && in_box (grid, &box, k)) {
        DaRange row;

        da_box_row (grid, &box, k, &row);
        ck_assert (row.start <= k && k <= row.end);
        for (guint64 j = row.start; j <= row.end; j++)
          ck_assert (in_box (grid, &box, j));
        ck_assert (row.start == 0 || !in_box (grid, &box, row.start - 1));
        ck_assert (row.end == max || !in_box (grid, &box, row.end + 1));
      }
    }
  }
  g_rand_free (rand);
}
END_TEST

START_TEST (test_sets_and_boxes)
{
  g_autoptr (DaCatalog) catalog = da_test_catalog ();
  DaAddressType *pci = get_type (catalog, "pci");
  DaAddressType *usb = get_type (catalog, "usb");
  g_autoptr (DaRangeMap) set = da_range_map_new_set ();
  g_autoptr (GError) error = NULL;
  DaRange r;
  DaBox box;

  /* bus 1 slots 1-31 is one run of 31 * 8 keys */
  ck_assert (da_address_type_add_spec (pci, "domain=0,bus=1,slot=1-31", set, &error));
  ck_assert_uint_eq (da_range_map_n_ranges (set), 1);
  ck_assert_uint_eq (da_range_map_n_keys (set), 31 * 8);
  da_range_map_first (set, &r, NULL);
  ck_assert_uint_eq (r.start, 0x100 + 8);
  /* function 0 of every slot is 32 separate keys */
  da_range_map_clear (set);
  ck_assert (da_address_type_add_spec (pci, "domain=0,bus=0,function=0", set, &error));
  ck_assert_uint_eq (da_range_map_n_ranges (set), 32);
  /* usb root ports are single keys */
  da_range_map_clear (set);
  ck_assert (da_address_type_add_spec (usb, "bus=0,port1=1-4,port2=0,port3=0,port4=0", set, &error));
  ck_assert_uint_eq (da_range_map_n_keys (set), 4);
  ck_assert (da_range_map_lookup (set, da_test_key_of (usb, "0:3"), NULL, NULL));
  /* ranges and single addresses */
  da_range_map_clear (set);
  ck_assert (da_address_type_add_spec (pci, "0000:00:03.0-0000:00:04.7", set, &error));
  ck_assert (da_address_type_add_spec (pci, "0000:00:1f.0", set, &error));
  ck_assert_uint_eq (da_range_map_n_keys (set), 17);

  /* errors */
  da_address_type_full_box (pci, &box);
  ck_assert (!da_address_type_parse_box (pci, "lane=1", &box, &error));
  ck_assert (strstr (error->message, "lane") != NULL);
  g_clear_error (&error);
  ck_assert (!da_address_type_parse_box (pci, "slot=40", &box, &error));
  ck_assert (strstr (error->message, "slot") != NULL);
  g_clear_error (&error);
  ck_assert (!da_address_type_parse_box (pci, "slot=9-2", &box, &error));
  g_clear_error (&error);
  ck_assert (!da_address_type_add_spec (pci, "0000:00:04.0-0000:00:03.0", set, &error));
  g_clear_error (&error);
  /* a box of too many rows is refused instead of eating memory */
  ck_assert (!da_address_type_add_spec (get_type (catalog, "mac"), "o5=1", set, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_LIMIT));
}
END_TEST

static void
write_file (const char *dir, const char *sub, const char *name, const char *contents)
{
  g_autofree char *subdir = g_build_filename (dir, sub, NULL);
  g_autofree char *path = g_build_filename (subdir, name, NULL);

  ck_assert (g_mkdir_with_parents (subdir, 0700) == 0);
  ck_assert (g_file_set_contents (path, contents, -1, NULL));
}

/* the catalogs the tests write live in one directory, made before the
 * tests fork and removed after them, whether they pass or not */
static char *scratch;

static void
scratch_make (void)
{
  scratch = g_dir_make_tmp ("devaddr-test-address-type-XXXXXX", NULL);
  ck_assert (scratch != NULL);
}

static void
scratch_remove (void)
{
  da_test_remove_tree (scratch);
  ck_assert (!g_file_test (scratch, G_FILE_TEST_EXISTS));
  g_clear_pointer (&scratch, g_free);
}

static char *
scratch_dir (const char *prefix)
{
  char *dir = g_strdup_printf ("%s/%s-XXXXXX", scratch, prefix);

  ck_assert (g_mkdtemp (dir) != NULL);
  return dir;
}

/* a type that exists only as a data file works like a built-in one */
START_TEST (test_type_from_data_file_only)
{
  g_autofree char *dir = scratch_dir ("types");
  const char *srcdir = g_getenv ("DA_SRCDIR");
  g_autofree char *data = g_build_filename (srcdir != NULL ? srcdir : ".", "data", NULL);
  const char *dirs[] = { data, dir, NULL };
  g_autoptr (DaCatalog) catalog = NULL;
  g_autoptr (DaEngine) engine = NULL;
  g_autoptr (GError) error = NULL;
  DaScope *vm;
  DaReservation *a, *b;
  DaRequest request;
  g_autofree char *text = NULL;

  write_file (dir, "types", "rack.type",
              "[Address Type]\nName=rack-slot\nDimensions=row:0-25;rack:1-40;unit:1-42\n"
              "Format=R{row:d}-{rack:02d}U{unit:d}\nPool=row=0-1\nDynamic=unit=1-20\n");
  ck_assert ((catalog = da_catalog_load (dirs, &error)) == NULL);
  ck_assert_msg (strstr (error->message, "may not contain '-'") != NULL, "%s", error->message);
  g_clear_error (&error);

  write_file (dir, "types", "rack.type",
              "[Address Type]\nName=rack-slot\nDimensions=row:0-25;rack:1-40;unit:1-42\n"
              "Format=R{row:d}.{rack:02d}U{unit:d}\nPool=row=0-1\nDynamic=unit=1-20\n");
  write_file (dir, "templates", "dc.template",
              "[Template]\nName=dc\nMachines=dc-*\n\n[Pool rack-slot]\nRanges=row=0,rack=1-2\nTag.cold=row=0,rack=2\n"
              "\n[Reserve uplink]\nType=rack-slot\nAddress=R0.01U1\n");
  catalog = da_catalog_load (dirs, &error);
  ck_assert_msg (catalog != NULL, "%s", error ? error->message : "");
  ck_assert (da_catalog_match_machine (catalog, "dc-7") == da_catalog_get_template (catalog, "dc"));

  engine = da_engine_new (catalog);
  vm = da_engine_create_vm (engine, "vm1", "dc", NULL, &error);
  ck_assert_msg (vm != NULL, "%s", error ? error->message : "");
  /* the template pool came first, so the type's default pool is not used */
  da_test_request (&request, engine, "rack-slot", "server1", NULL, NULL);
  a = da_scope_reserve (vm, &request, 0, NULL, NULL, &error);
  ck_assert_msg (a != NULL, "%s", error ? error->message : "");
  text = da_reservation_format_address (a);
  ck_assert_str_eq (text, "R0.01U2");
  request.alias = "server2";
  request.constraint.tags[0] = "cold";
  b = da_scope_reserve (vm, &request, 0, NULL, NULL, &error);
  ck_assert_msg (b != NULL, "%s", error ? error->message : "");
  g_free (text);
  text = da_reservation_format_address (b);
  ck_assert_str_eq (text, "R0.02U1");
  ck_assert (da_scope_release (vm, "server1", DA_RELEASE_NOW, 0, NULL, NULL, &error));
  ck_assert (da_scope_lookup (vm, "server1") == NULL);
  ck_assert (!da_scope_release (vm, "uplink", DA_RELEASE_NOW, 0, NULL, NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT));
}
END_TEST

START_TEST (test_bad_catalog_files)
{
  const char *bad[] = {
    "[Address Type]\nName=x\nDimensions=\nFormat={a}\n",
    "[Address Type]\nName=x\nDimensions=a:0-3\nFormat={b}\n",
    "[Address Type]\nName=x\nDimensions=a:0-3;b:0-3\nFormat={a}\n",
    "[Address Type]\nName=x\nDimensions=a:0-3\nFormat={a}{a}\n",
    "[Address Type]\nName=x\nDimensions=a:5-3\nFormat={a}\n",
    "[Address Type]\nName=x\nDimensions=count:0-3\nFormat={count}\n",
    "[Address Type]\nName=x\nDimensions=a:0-0xffffffffffffffff;b:0-1\nFormat={a}.{b}\n",
    "[Address Type]\nName=x\nDimensions=a:0-3;b:0-3\nFormat={a}[{b}]\n",
    "[Address Type]\nName=x\nDimensions=a:0-3;b:0-3\nFormat={a}[.{b}\n",
    "[Address Type]\nName=../x\nDimensions=a:0-3\nFormat={a}\n",
    "[Address Type]\nName=x\nDimensions=a:0-3\nFormat={a:q}\n",
    "[Address Type]\nName=x\nDimensions=a:0-3\nFormat={a}{}\n",
    /* formats whose text would not parse back */
    "[Address Type]\nName=x\nDimensions=a:0-3;b:0-3\nFormat={a}{b}\n",
    "[Address Type]\nName=x\nDimensions=a:0-3;b:0-3\nFormat={a:02x}f{b}\n",
    "[Address Type]\nName=x\nDimensions=a:0-3;b:0-3\nFormat={a}7{b}\n",
    "[Address Type]\nName=x\nDimensions=a:0-3;b:0-3;c:0-3\nFormat={a}[.{b}]{c}\n",
    "[Address Type]\nName=x\nDimensions=a:0-3;b:0-3;c:0-3\nFormat={a}[.{b}].{c}\n",
    "[Address Type]\nName=x\nDimensions=a:0-3\nFormat={a}\nPool=1;;2\n",
    "[Address Type]\nName=x\nDimensions=a:0-3\nFormat={a}\nPool=9\n",
    /* values GLib cannot read: a required one, an optional string, an optional list */
    "[Address Type]\nName=x\\{\nDimensions=a:0-3\nFormat={a}\n",
    "[Address Type]\nName=x\nDimensions=a:0-3\nFormat={a}\nIsolate=a\\{\n",
    "[Address Type]\nName=x\nDimensions=a:0-3\nFormat={a}\nPool=1;2\\{\n",
    "not a key file",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *dir = scratch_dir ("bad");
    const char *dirs[] = { dir, NULL };
    g_autoptr (GError) error = NULL;
    g_autoptr (DaCatalog) catalog = NULL;

    write_file (dir, "types", "x.type", bad[i]);
    catalog = da_catalog_load (dirs, &error);
    ck_assert_msg (catalog == NULL, "accepted bad type file %u", i);
    ck_assert (error != NULL);
  }
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("address-type");
  TCase *tc = tcase_create ("address-type");

  tcase_add_unchecked_fixture (tc, scratch_make, scratch_remove);
  tcase_add_test (tc, test_text_forms);
  tcase_add_test (tc, test_errors_name_the_dimension);
  tcase_add_test (tc, test_leading_separator_names_the_next_dimension);
  tcase_add_test (tc, test_round_trip_every_type);
  tcase_add_test (tc, test_box_geometry);
  tcase_add_test (tc, test_sets_and_boxes);
  tcase_add_test (tc, test_type_from_data_file_only);
  tcase_add_test (tc, test_bad_catalog_files);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
