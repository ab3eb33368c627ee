/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "daemon/alloc/da-alloc-error.h"
#include "daemon/alloc/da-drive.h"
#include "daemon/alloc/da-engine-private.h"
#include "da-test-util.h"
#include "tests/common/da-test-suite.h"

#define NOW 1000000

static DaScope *
new_vm (DaEngine *engine, const char *name, const char *template_name)
{
  g_autoptr (GError) error = NULL;
  DaScope *vm = da_engine_create_vm (engine, name, template_name, NULL, &error);

  ck_assert_msg (vm != NULL, "create %s: %s", name, error ? error->message : "");
  return vm;
}

static void
add_keys (DaEngine *engine, DaScope *scope, const char *type, const char *first, const char *last)
{
  g_autoptr (GError) error = NULL;

  ck_assert_msg (da_scope_add_keys (scope, type, da_test_key (engine, type, first), da_test_key (engine, type, last),
                                    NULL, NULL, &error), "%s", error ? error->message : "");
}

static DaReservation *
reserve_ok (DaScope *scope, const char *type, const char *alias, const char *address, const char *box)
{
  g_autoptr (GError) error = NULL;
  DaReservation *res = da_test_reserve (scope, type, alias, address, box, &error);

  ck_assert_msg (res != NULL, "reserve %s: %s", alias, error ? error->message : "");
  return res;
}

static void
assert_address (DaReservation *res, const char *expected)
{
  g_autofree char *text = da_test_address (res);

  ck_assert_str_eq (text, expected);
}

static char *
describe_set (DaAddressType *type, const DaRangeMap *set)
{
  GString *out = g_string_new (NULL);
  DaRangeMapIter iter;
  DaRange r;

  da_range_map_iter_init (&iter, set, 0);
  while (da_range_map_iter_next (&iter, &r, NULL)) {
    g_autofree char *a = da_address_type_format_key (type, r.start);
    g_autofree char *b = da_address_type_format_key (type, r.end);

    g_string_append_printf (out, "%s[%s-%s]", out->len ? " " : "", a, b);
  }
  return g_string_free (out, FALSE);
}

/* ---- the seed scenarios ---- */

START_TEST (test_seed_free_set_after_one_reservation)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "empty");
  g_autoptr (DaRangeMap) free_keys = NULL;
  g_autofree char *text = NULL;
  DaPool *pool;

  /* the pool {0..1}:{0..31}.{0..7} */
  add_keys (engine, vm, "pci", "0000:00:00.0", "0000:01:1f.7");
  pool = da_scope_get_pool (vm, "pci");
  ck_assert_uint_eq (da_range_map_n_keys (da_pool_get_ranges (pool)), 2 * 32 * 8);
  reserve_ok (vm, "pci", "dev", "0000:00:13.2", NULL);
  free_keys = da_pool_copy_free (pool);
  text = describe_set (da_pool_get_address_type (pool), free_keys);
  ck_assert_str_eq (text, "[0000:00:00.0-0000:00:13.1] [0000:00:13.3-0000:01:1f.7]");
  ck_assert_uint_eq (da_range_map_n_keys (free_keys), 2 * 32 * 8 - 1);
}
END_TEST

START_TEST (test_seed_ipv4_never_hands_out_a_reserved_address)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "net", "empty");
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GError) error = NULL;

  add_keys (engine, vm, "ipv4", "192.168.1.1", "192.168.1.254");
  reserve_ok (vm, "ipv4", "gateway", "192.168.1.254", NULL);
  for (guint i = 0; i < 253; i++) {
    g_autofree char *alias = g_strdup_printf ("host%u", i);
    char *text = da_test_address (reserve_ok (vm, "ipv4", alias, NULL, NULL));

    ck_assert_str_ne (text, "192.168.1.254");
    ck_assert_msg (g_hash_table_add (seen, text), "%s handed out twice", text);
  }
  ck_assert_ptr_null (da_test_reserve (vm, "ipv4", "one-too-many", NULL, NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED));
  ck_assert_msg (strstr (error->message, "254 of 254") != NULL, "%s", error->message);
}
END_TEST

static void
assert_drive (DaDriveBus bus, const char *name, guint controller, guint drive_bus, guint unit)
{
  DaDriveAddress address;
  guint index;

  ck_assert (da_drive_name_to_index (name, &index, NULL));
  da_drive_address_from_index (bus, index, &address);
  ck_assert_msg (address.controller == controller && address.bus == drive_bus && address.target == 0 && address.unit == unit,
                 "%s -> %u:%u:%u:%u", name, address.controller, address.bus, address.target, address.unit);
}

START_TEST (test_seed_drive_names)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "pc");
  g_autoptr (GError) error = NULL;
  guint index;

  assert_drive (DA_DRIVE_BUS_SCSI, "sda", 0, 0, 0);
  assert_drive (DA_DRIVE_BUS_SCSI, "sdd", 0, 0, 3);
  assert_drive (DA_DRIVE_BUS_SCSI, "sdh", 1, 0, 0);
  assert_drive (DA_DRIVE_BUS_IDE, "hdc", 0, 1, 0);
  assert_drive (DA_DRIVE_BUS_IDE, "hdb", 0, 0, 1);
  assert_drive (DA_DRIVE_BUS_IDE, "hde", 1, 0, 0);
  assert_drive (DA_DRIVE_BUS_SATA, "sdg", 1, 0, 0);
  assert_drive (DA_DRIVE_BUS_FDC, "fdb", 0, 0, 1);
  ck_assert (da_drive_name_to_index ("hdz", &index, NULL) && index == 25);
  ck_assert (da_drive_name_to_index ("vdaa", &index, NULL) && index == 26);
  ck_assert (da_drive_name_to_index ("sdzz", &index, NULL) && index == 26 * 27 - 1);
  ck_assert (!da_drive_name_to_index ("sd", &index, &error));
  g_clear_error (&error);
  ck_assert (!da_drive_name_to_index ("sda1", &index, &error));
  g_clear_error (&error);
  ck_assert (!da_drive_name_to_index ("nvme0", &index, &error));
  g_clear_error (&error);

  /* the pc template has the IDE controller: hdc lands on bus 1 unit 0 */
  reserve_ok (vm, "drive-ide", "ide0-1-0", "0:1:0:0", NULL);
  ck_assert_ptr_null (da_test_reserve (vm, "drive-ide", "dup", "0:1:0:0", NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT));
  ck_assert_msg (strstr (error->message, "ide0-1-0") != NULL, "%s", error->message);
  g_clear_error (&error);
  ck_assert_ptr_null (da_test_reserve (vm, "drive-ide", "third-bus", "0:2:0:0", NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS));
}
END_TEST

START_TEST (test_seed_whole_slot)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "pc");
  g_autoptr (GError) error = NULL;
  DaRequest request;
  DaReservation *slot, *next, *holder = NULL;

  da_test_request (&request, engine, "pci", "multifunction", "0000:00:03.0", NULL);
  request.constraint.count = 8;
  slot = da_scope_reserve (vm, &request, NOW, NULL, NULL, &error);
  ck_assert_msg (slot != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq (da_reservation_get_count (slot), 8);
  next = reserve_ok (vm, "pci", "net0", NULL, NULL);
  assert_address (next, "0000:00:04.0");
  da_test_request (&request, engine, "pci", "intruder", "0000:00:03.5", NULL);
  ck_assert_ptr_null (da_scope_reserve (vm, &request, NOW, NULL, &holder, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT));
  ck_assert_ptr_eq (holder, slot);
  ck_assert_msg (strstr (error->message, "multifunction") != NULL && strstr (error->message, "intruder") != NULL,
                 "the conflict names both: %s", error->message);
}
END_TEST

/* isolation is about the slot the address is in, not where in the slot it
 * starts: function 7 of a free slot (an ICH9 EHCI of a USB2 companion set) */
START_TEST (test_isolated_function_inside_the_slot)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "pc");
  DaReservation *ehci, *uhci, *next;

  ehci = reserve_ok (vm, "pci", "ehci", NULL, "function=7");
  assert_address (ehci, "0000:00:03.7");
  /* a slot with any function taken is not free any more */
  next = reserve_ok (vm, "pci", "net0", NULL, NULL);
  assert_address (next, "0000:00:04.0");
  uhci = reserve_ok (vm, "pci", "uhci", NULL, "function=2-3");
  assert_address (uhci, "0000:00:05.2");
  /* last fit takes the highest such function of the last free slot */
  {
    g_autoptr (GError) error = NULL;
    DaRequest request;
    DaReservation *last;

    da_test_request (&request, engine, "pci", "last", NULL, "bus=0,function=1-6");
    request.constraint.policy = DA_POLICY_LAST_FIT;
    last = da_scope_reserve (vm, &request, NOW, NULL, NULL, &error);
    ck_assert_msg (last != NULL, "%s", error ? error->message : "");
    assert_address (last, "0000:00:1f.6");
  }
}
END_TEST

START_TEST (test_seed_ganeti)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "ganeti");
  g_autoptr (GError) error = NULL;
  DaPoolCounts counts;

  da_pool_get_counts (da_scope_get_pool (vm, "pci"), &counts);
  ck_assert_uint_eq (counts.capacity, 256);
  ck_assert_uint_eq (counts.used, 32);
  for (guint slot = 4; slot < 32; slot++) {
    g_autofree char *alias = g_strdup_printf ("dev%u", slot);
    g_autofree char *expected = g_strdup_printf ("0000:00:%02x.0", slot);

    assert_address (reserve_ok (vm, "pci", alias, NULL, NULL), expected);
  }
  ck_assert_ptr_null (da_test_reserve (vm, "pci", "dev32", NULL, NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED));
  ck_assert_msg (strstr (error->message, "all PCI slots occupied") != NULL, "%s", error->message);
  ck_assert_msg (strstr (error->message, "dev32") != NULL && strstr (error->message, "vm1") != NULL, "%s", error->message);
}
END_TEST

START_TEST (test_seed_mmio_aligned)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "empty");
  g_autoptr (GError) error = NULL;
  DaRequest request;
  DaReservation *res;

  add_keys (engine, vm, "mmio", "0x10000000", "0x1fffffff");
  da_test_request (&request, engine, "mmio", "firmware", "0x10000000", NULL);
  request.constraint.count = 0x800;
  ck_assert (da_scope_reserve (vm, &request, NOW, NULL, NULL, &error));

  for (guint policy = DA_POLICY_FIRST_FIT; policy <= DA_POLICY_LAST_FIT; policy += DA_POLICY_LAST_FIT) {
    const char *whole = policy == DA_POLICY_FIRST_FIT ? "0x10001000" : "0x1ffff000";
    const char *window = policy == DA_POLICY_FIRST_FIT ? "0x18000000" : "0x18fff000";
    g_autofree char *a1 = g_strdup_printf ("bar-%u", policy);
    g_autofree char *a2 = g_strdup_printf ("win-%u", policy);

    da_test_request (&request, engine, "mmio", a1, NULL, NULL);
    request.constraint.count = 0x1000;
    request.constraint.align = 0x1000;
    request.constraint.policy = policy;
    res = da_scope_reserve (vm, &request, NOW, NULL, NULL, &error);
    ck_assert_msg (res != NULL, "%s", error ? error->message : "");
    assert_address (res, whole);

    request.alias = a2;
    request.constraint.min = 0x18000000;
    request.constraint.max = 0x18ffffff;
    res = da_scope_reserve (vm, &request, NOW, NULL, NULL, &error);
    ck_assert_msg (res != NULL, "%s", error ? error->message : "");
    assert_address (res, window);
    ck_assert_uint_eq (da_reservation_get_start (res) % 0x1000, 0);
  }

  /* a window too small for the size says so */
  da_test_request (&request, engine, "mmio", "too-big", NULL, NULL);
  request.constraint.count = 0x2000;
  request.constraint.min = 0x18000000;
  request.constraint.max = 0x18001fff;
  ck_assert_ptr_null (da_scope_reserve (vm, &request, NOW, NULL, NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED));
  ck_assert_msg (strstr (error->message, "between 0x18000000 and 0x18001fff") != NULL, "%s", error->message);
}
END_TEST

static void collect (const DaChange *change, gpointer user_data);

/* a run longer than 2^32 keys: a 64 GiB BAR */
START_TEST (test_huge_run)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  g_autoptr (DaEngine) replay = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "empty");
  g_autoptr (GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  guint64 size = G_GUINT64_CONSTANT (1) << 36;
  DaRequest request;
  DaReservation *res;
  DaTxn *txn;

  add_keys (engine, vm, "mmio", "0x100000000", "0xffffffffffff");
  da_test_request (&request, engine, "mmio", "bar", NULL, NULL);
  request.constraint.count = size;
  request.constraint.align = size;
  txn = da_txn_new (engine);
  res = da_scope_reserve (vm, &request, NOW, txn, NULL, &error);
  ck_assert_msg (res != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq (da_reservation_get_count (res), size);
  assert_address (res, "0x1000000000");
  /* the same request again is the same reservation */
  ck_assert_ptr_eq (da_scope_reserve (vm, &request, NOW, txn, NULL, &error), res);
  da_txn_free (txn);
  /* a snapshot of it replays whole */
  {
    g_autoptr (GPtrArray) dumped = g_ptr_array_new_with_free_func ((GDestroyNotify) da_change_free);

    da_engine_dump (engine, 0, collect, dumped);
    for (guint i = 0; i < dumped->len; i++)
      ck_assert_msg (da_engine_apply (replay, g_ptr_array_index (dumped, i), &error), "%s", error ? error->message : "");
  }
  ck_assert_uint_eq (da_reservation_get_count (da_scope_lookup (da_engine_lookup_vm (replay, "vm1"), "bar")), size);
  /* a release taken back restores the whole run */
  before = da_test_dump (engine);
  txn = da_txn_new (engine);
  ck_assert (da_scope_release (vm, "bar", DA_RELEASE_NOW, NOW, txn, NULL, &error));
  da_txn_rollback (txn);
  after = da_test_dump (engine);
  ck_assert_str_eq (before, after);
  res = da_scope_lookup (vm, "bar");
  ck_assert_uint_eq (da_reservation_get_count (res), size);
  ck_assert (da_scope_release (vm, "bar", DA_RELEASE_NOW, NOW, NULL, NULL, &error));
  {
    DaPoolCounts counts;

    da_pool_get_counts (da_scope_get_pool (vm, "mmio"), &counts);
    ck_assert_uint_eq (counts.used, 0);
  }
}
END_TEST

/* a run longer than a box row fits nowhere: said at once, not found out
 * by walking every row of a 2^32 space */
START_TEST (test_run_longer_than_box_row)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "pc");
  g_autoptr (GError) error = NULL;
  DaRequest request;
  DaReservation *res;
  gint64 started = g_get_monotonic_time ();

  for (guint policy = DA_POLICY_FIRST_FIT; policy <= DA_POLICY_RANDOM; policy++) {
    da_test_request (&request, engine, "pci", "pair", NULL, NULL);
    request.constraint.count = 2;
    request.constraint.policy = policy;
    ck_assert_ptr_null (da_scope_reserve (vm, &request, NOW, NULL, NULL, &error));
    ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED));
    ck_assert_msg (strstr (error->message, "does not fit") != NULL && strstr (error->message, "function=0") != NULL,
                   "%s", error->message);
    g_clear_error (&error);
  }
  ck_assert_int_lt (g_get_monotonic_time () - started, G_USEC_PER_SEC);
  /* with the function free, two functions of a free slot */
  da_test_request (&request, engine, "pci", "pair", NULL, "function=0-7");
  request.constraint.count = 2;
  res = da_scope_reserve (vm, &request, NOW, NULL, NULL, &error);
  ck_assert_msg (res != NULL, "%s", error ? error->message : "");
  assert_address (res, "0000:00:03.0");
  ck_assert_uint_eq (da_reservation_get_count (res), 2);
  assert_address (reserve_ok (vm, "pci", "next", NULL, NULL), "0000:00:04.0");
}
END_TEST

/* ---- templates ---- */

START_TEST (test_templates)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *pc = new_vm (engine, "pc1", "pc");
  DaScope *q35 = new_vm (engine, "q1", "q35");
  g_autoptr (GError) error = NULL;
  DaReservation *res;
  const DaRangeMap *hotplug;

  ck_assert_ptr_eq (da_catalog_match_machine (da_engine_get_catalog (engine), "pc-i440fx-7.2"),
                    da_catalog_get_template (da_engine_get_catalog (engine), "pc"));
  ck_assert_ptr_eq (da_catalog_match_machine (da_engine_get_catalog (engine), "pc-q35-7.2"),
                    da_catalog_get_template (da_engine_get_catalog (engine), "q35"));
  ck_assert_ptr_eq (da_catalog_match_machine (da_engine_get_catalog (engine), "pc"),
                    da_catalog_get_template (da_engine_get_catalog (engine), "pc"));

  /* pc: host bridge, PIIX3 functions 0-3, video slot; a device gets slot 3 */
  ck_assert_uint_eq (da_scope_get_n_reservations (pc), 6);
  res = da_scope_lookup_address (pc, "pci", da_test_key (engine, "pci", "0000:00:01.1"));
  ck_assert (res != NULL && (da_reservation_get_flags (res) & DA_RESERVATION_BUILTIN));
  assert_address (reserve_ok (pc, "pci", "net0", NULL, NULL), "0000:00:03.0");
  /* slot 1 has free functions, but a new device needs a slot of its own */
  assert_address (reserve_ok (pc, "pci", "net1", NULL, NULL), "0000:00:04.0");
  /* a user may still place a function in a used slot */
  assert_address (reserve_ok (pc, "pci", "extra", "0000:00:01.5", NULL), "0000:00:01.5");

  /* q35: bus 0 is no hotplug bus; a root port offers slot 0 for hotplug */
  hotplug = da_pool_get_tag (da_scope_get_pool (q35, "pci"), "hotplug");
  ck_assert_ptr_null (hotplug);
  /* without a tag a device may go on bus 0, as an integrated endpoint */
  assert_address (reserve_ok (q35, "pci", "integrated", NULL, NULL), "0000:00:01.0");
  {
    DaRequest request;

    da_test_request (&request, engine, "pci", "hp0", NULL, NULL);
    request.constraint.tags[0] = "hotplug";
    ck_assert_ptr_null (da_scope_reserve (q35, &request, NOW, NULL, NULL, &error));
    ck_assert_msg (strstr (error->message, "tag hotplug") != NULL, "%s", error->message);
    g_clear_error (&error);
    ck_assert (da_scope_add_bus (q35, "pcie-root-port", 1, NULL, NULL, &error));
    res = da_scope_reserve (q35, &request, NOW, NULL, NULL, &error);
    ck_assert_msg (res != NULL, "%s", error ? error->message : "");
    assert_address (res, "0000:01:00.0");
    request.alias = "hp1";
    ck_assert_ptr_null (da_scope_reserve (q35, &request, NOW, NULL, NULL, &error));
    ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED));
  }
  g_clear_error (&error);
  /* the ICH9 functions of slot 0x1f are the machine's own, fixed in place */
  {
    const char *const ich9[][2] = {
      { "0000:00:1f.0", "ich9-lpc" }, { "0000:00:1f.2", "ich9-sata" }, { "0000:00:1f.3", "ich9-smbus" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (ich9); i++) {
      res = da_scope_lookup_address (q35, "pci", da_test_key (engine, "pci", ich9[i][0]));
      ck_assert_msg (res != NULL, "q35 has nothing at %s", ich9[i][0]);
      ck_assert_str_eq (da_reservation_get_alias (res), ich9[i][1]);
      ck_assert (da_reservation_get_flags (res) & DA_RESERVATION_BUILTIN);
      ck_assert_uint_eq (da_reservation_get_count (res), 1);
    }
    /* the functions between them are free */
    ck_assert_ptr_null (da_scope_lookup_address (q35, "pci", da_test_key (engine, "pci", "0000:00:1f.1")));
  }
  ck_assert (da_scope_get_pool (q35, "drive-sata") != NULL);

  /* unknown template names the known ones */
  ck_assert_ptr_null (da_engine_create_vm (engine, "x", "sparc", NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND));
  ck_assert_msg (strstr (error->message, "pc") && strstr (error->message, "q35"), "%s", error->message);
  g_clear_error (&error);
  ck_assert_ptr_null (da_engine_create_vm (engine, "pc1", "pc", NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT));
  g_clear_error (&error);
  ck_assert_ptr_null (da_engine_create_vm (engine, "../etc", "pc", NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID));
}
END_TEST

START_TEST (test_virtio_serial_controllers)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "empty");
  g_autoptr (GError) error = NULL;
  DaRequest request;
  const char *params[] = { "ports=4", NULL };

  ck_assert (da_scope_add_bus (vm, "virtio-serial", 0, params, NULL, &error));
  ck_assert (da_scope_add_bus (vm, "virtio-serial", 1, NULL, NULL, &error));
  /* channels skip the console port and fill controller 0 before 1 */
  for (guint i = 1; i <= 3; i++) {
    g_autofree char *alias = g_strdup_printf ("channel%u", i);
    g_autofree char *expected = g_strdup_printf ("0:0:%u", i);

    assert_address (reserve_ok (vm, "virtio-serial", alias, NULL, NULL), expected);
  }
  assert_address (reserve_ok (vm, "virtio-serial", "channel4", NULL, NULL), "1:0:1");
  /* a console asks for the console port */
  da_test_request (&request, engine, "virtio-serial", "console0", NULL, NULL);
  request.constraint.tags[0] = "console";
  request.constraint.not_tags[0] = NULL;
  assert_address (da_scope_reserve (vm, &request, NOW, NULL, NULL, &error), "0:0:0");
  /* an explicit port beyond the limit is rejected, naming the pool */
  ck_assert_ptr_null (da_test_reserve (vm, "virtio-serial", "beyond", "0:0:4", NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS));
  ck_assert_msg (strstr (error->message, "not in the pool") != NULL && strstr (error->message, "0:0:0-0:0:3") != NULL,
                 "%s", error->message);
  g_clear_error (&error);
  ck_assert_ptr_null (da_test_reserve (vm, "virtio-serial", "beyond1", "1:0:31", NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS));
  g_clear_error (&error);
  assert_address (reserve_ok (vm, "virtio-serial", "last", "1:0:30", NULL), "1:0:30");

  /* QEMU takes port 0 for a console only: an exact port 0 for a request
   * that does not ask for tag console is refused, and nothing is kept */
  ck_assert_ptr_null (da_test_reserve (vm, "virtio-serial", "channel5", "1:0:0", NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS));
  ck_assert_msg (strstr (error->message, "1:0:0") != NULL && strstr (error->message, "tag console") != NULL,
                 "%s", error->message);
  g_clear_error (&error);
  ck_assert_ptr_null (da_scope_lookup (vm, "channel5"));
  ck_assert_ptr_null (da_scope_lookup_address (vm, "virtio-serial", da_test_key (engine, "virtio-serial", "1:0:0")));
  /* a console asks for the tag, and gets the port */
  da_test_request (&request, engine, "virtio-serial", "console1", "1:0:0", NULL);
  request.constraint.tags[0] = "console";
  assert_address (da_scope_reserve (vm, &request, NOW, NULL, NULL, &error), "1:0:0");
  /* the other ports are the channels' as before */
  assert_address (reserve_ok (vm, "virtio-serial", "channel6", "1:0:2", NULL), "1:0:2");
}
END_TEST

/* ---- reservations ---- */

START_TEST (test_idempotent_and_conflicts)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "pc");
  g_autoptr (GError) error = NULL;
  DaReservation *a, *b, *holder = NULL;
  DaRequest request;

  a = reserve_ok (vm, "pci", "net0", NULL, NULL);
  b = reserve_ok (vm, "pci", "net0", NULL, NULL);
  ck_assert_ptr_eq (a, b);
  b = reserve_ok (vm, "pci", "net0", "0000:00:03.0", NULL);
  ck_assert_ptr_eq (a, b);
  ck_assert_uint_eq (da_reservation_get_mode (a), DA_MODE_DYNAMIC);
  /* the same alias for another address is a conflict naming the holder */
  da_test_request (&request, engine, "pci", "net0", "0000:00:09.0", NULL);
  ck_assert_ptr_null (da_scope_reserve (vm, &request, NOW, NULL, &holder, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT));
  ck_assert_ptr_eq (holder, a);
  ck_assert_msg (strstr (error->message, "0000:00:03.0") != NULL, "%s", error->message);
  g_clear_error (&error);
  /* ... and so is another type */
  ck_assert_ptr_null (da_test_reserve (vm, "drive-ide", "net0", "0:0:0:0", NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT));
  g_clear_error (&error);
  /* static on a builtin slot names the machine part */
  ck_assert_ptr_null (da_test_reserve (vm, "pci", "vga", "0000:00:02.0", NULL, &error));
  ck_assert_msg (strstr (error->message, "primary-video") != NULL, "%s", error->message);
  g_clear_error (&error);
  /* an exact address is the user's choice: static, unless the request
   * says otherwise (an import of what the engine chose before) */
  b = reserve_ok (vm, "pci", "disk0", "0000:00:07.0", NULL);
  ck_assert_uint_eq (da_reservation_get_mode (b), DA_MODE_STATIC);
  da_test_request (&request, engine, "pci", "disk1", "0000:00:08.0", NULL);
  request.has_mode = TRUE;
  request.mode = DA_MODE_DYNAMIC;
  b = da_scope_reserve (vm, &request, NOW, NULL, NULL, &error);
  ck_assert_msg (b != NULL, "%s", error ? error->message : "");
  ck_assert_uint_eq (da_reservation_get_mode (b), DA_MODE_DYNAMIC);
  /* reservations in another vm are independent */
  assert_address (reserve_ok (new_vm (engine, "vm2", "pc"), "pci", "net0", NULL, NULL), "0000:00:03.0");
  /* unknown type names the known ones */
  memset (&request, 0, sizeof request);
  request.type = "nvlink";
  request.alias = "x";
  request.constraint.count = 1;
  ck_assert_ptr_null (da_scope_reserve (vm, &request, NOW, NULL, NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND));
  ck_assert_msg (strstr (error->message, "vsock-cid") != NULL, "%s", error->message);
}
END_TEST

START_TEST (test_states)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "pc");
  g_autoptr (GError) error = NULL;
  DaRequest request;
  DaReservation *res;
  int after;

  /* held until committed; expires when not */
  da_test_request (&request, engine, "pci", "hot1", NULL, NULL);
  request.hold_until = NOW + 30 * G_USEC_PER_SEC;
  res = da_scope_reserve (vm, &request, NOW, NULL, NULL, &error);
  ck_assert_int_eq (da_reservation_get_state (res), DA_STATE_HELD);
  ck_assert_int_eq (da_reservation_get_deadline (res), NOW + 30 * G_USEC_PER_SEC);
  request.alias = "hot2";
  res = da_scope_reserve (vm, &request, NOW, NULL, NULL, &error);
  ck_assert_int_eq (da_engine_next_deadline (engine), NOW + 30 * G_USEC_PER_SEC);
  ck_assert (da_scope_commit (vm, "hot2", NULL, &error) == res);
  ck_assert_int_eq (da_reservation_get_state (res), DA_STATE_ACTIVE);
  ck_assert_int_eq (da_reservation_get_deadline (res), 0);
  ck_assert_uint_eq (da_engine_expire (engine, NOW + 29 * G_USEC_PER_SEC, NULL), 0);
  ck_assert_uint_eq (da_engine_expire (engine, NOW + 30 * G_USEC_PER_SEC, NULL), 1);
  ck_assert_ptr_null (da_scope_lookup (vm, "hot1"));
  ck_assert_int_eq (da_engine_next_deadline (engine), G_MAXINT64);

  /* two-phase release keeps the address until confirmed */
  ck_assert (da_scope_release (vm, "hot2", DA_RELEASE_BEGIN, NOW, NULL, &after, &error));
  ck_assert_int_eq (after, DA_STATE_RELEASING);
  ck_assert_ptr_eq (da_scope_lookup_address (vm, "pci", da_reservation_get_start (res)), res);
  ck_assert_ptr_null (da_scope_commit (vm, "hot2", NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT));
  g_clear_error (&error);
  ck_assert (da_scope_release (vm, "hot2", DA_RELEASE_CONFIRM, NOW, NULL, &after, &error));
  ck_assert_int_eq (after, -1);
  ck_assert_ptr_null (da_scope_lookup (vm, "hot2"));
  ck_assert (!da_scope_release (vm, "hot2", DA_RELEASE_NOW, NOW, NULL, NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND));
  g_clear_error (&error);
  reserve_ok (vm, "pci", "net0", NULL, NULL);
  ck_assert (!da_scope_release (vm, "net0", DA_RELEASE_CONFIRM, NOW, NULL, NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT));
  g_clear_error (&error);
  ck_assert (!da_scope_release (vm, "host-bridge", DA_RELEASE_NOW, NOW, NULL, NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT));
}
END_TEST

/* host-wide types live in the host scope only, per-VM types in VMs only:
 * a per-VM pool of MACs would hand the same MAC to two VMs.  The refusal
 * says where they belong and leaves no pool behind. */
START_TEST (test_host_scope_rule)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "pc");
  DaScope *host = da_engine_get_host (engine);
  const char *const host_types[] = { "mac", "vsock-cid", "tcp-port" };
  g_autoptr (GError) error = NULL;
  guint before = da_scope_get_n_reservations (vm);

  for (guint i = 0; i < G_N_ELEMENTS (host_types); i++) {
    ck_assert_ptr_null (da_test_reserve (vm, host_types[i], "nic", NULL, NULL, &error));
    ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID));
    ck_assert_msg (strstr (error->message, "belong to the host") != NULL
                   && strstr (error->message, "scope \"host\"") != NULL, "%s", error->message);
    ck_assert_ptr_null (da_scope_get_pool (vm, host_types[i]));
    g_clear_error (&error);
    /* in the host scope they are fine */
    {
      g_autofree char *alias = g_strdup_printf ("vm1-%s", host_types[i]);

      ck_assert_msg (da_test_reserve (host, host_types[i], alias, NULL, NULL, &error) != NULL, "%s",
                     error ? error->message : "");
    }
  }
  ck_assert_uint_eq (da_scope_get_n_reservations (vm), before);

  /* and the other way round */
  ck_assert_ptr_null (da_test_reserve (host, "pci", "net0", NULL, NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID));
  ck_assert_msg (strstr (error->message, "belong to a vm") != NULL, "%s", error->message);
  ck_assert_ptr_null (da_scope_get_pool (host, "pci"));
  g_clear_error (&error);
  /* a type of either scope goes anywhere */
  ck_assert (da_test_reserve (vm, "id", "serial", NULL, NULL, &error) != NULL);
  ck_assert (da_test_reserve (host, "id", "serial", NULL, NULL, &error) != NULL);
}
END_TEST

START_TEST (test_next_fit_cooldown)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "pc");
  g_autoptr (GError) error = NULL;
  DaRequest request;
  gint64 now = NOW;

  da_engine_set_cooldown (engine, 10 * G_USEC_PER_SEC);
  /* first fit hands a freed slot out again at once: that is libvirt's order */
  reserve_ok (vm, "pci", "a", NULL, NULL);
  ck_assert (da_scope_release (vm, "a", DA_RELEASE_NOW, now, NULL, NULL, &error));
  assert_address (reserve_ok (vm, "pci", "b", NULL, NULL), "0000:00:03.0");

  /* next fit moves on, and after wrapping skips what is cooling down */
  da_test_request (&request, engine, "pci", "h1", NULL, NULL);
  request.constraint.policy = DA_POLICY_NEXT_FIT;
  assert_address (da_scope_reserve (vm, &request, now, NULL, NULL, &error), "0000:00:04.0");
  ck_assert (da_scope_release (vm, "h1", DA_RELEASE_NOW, now, NULL, NULL, &error));
  request.alias = "h2";
  assert_address (da_scope_reserve (vm, &request, now, NULL, NULL, &error), "0000:00:05.0");
  for (guint slot = 6; slot < 32; slot++) {
    g_autofree char *alias = g_strdup_printf ("fill%u", slot);

    request.alias = alias;
    ck_assert (da_scope_reserve (vm, &request, now, NULL, NULL, &error) != NULL);
  }
  /* only slot 4 is free, and it is cooling down */
  request.alias = "h3";
  ck_assert_ptr_null (da_scope_reserve (vm, &request, now + G_USEC_PER_SEC, NULL, NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED));
  ck_assert_msg (strstr (error->message, "cooling down") != NULL, "%s", error->message);
  g_clear_error (&error);
  assert_address (da_scope_reserve (vm, &request, now + 10 * G_USEC_PER_SEC, NULL, NULL, &error), "0000:00:04.0");
}
END_TEST

static gint
compare_words (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* the cool-downs still kept, as "start:end-of-cool-down" words */
static char *
cooling_left (DaEngine *engine)
{
  g_autofree char *dump = da_test_dump (engine);
  g_auto (GStrv) lines = g_strsplit (dump, "\n", -1);
  g_autoptr (GPtrArray) words = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; lines[i] != NULL; i++) {
    const char *range = strstr (lines[i], " tag=");
    const char *time = strstr (lines[i], " time=");

    if (g_str_has_prefix (lines[i], "cool ") && range != NULL && time != NULL) {
      range = strchr (range + 1, ' ') + 1;
      g_ptr_array_add (words, g_strdup_printf ("%" G_GUINT64_FORMAT ":%s", g_ascii_strtoull (range, NULL, 10), time + 6));
    }
  }
  g_ptr_array_sort (words, compare_words);
  g_ptr_array_add (words, NULL);
  return g_strjoinv (" ", (char **) words->pdata);
}

/* cool-downs end in the order of their ends, whatever the order of the
 * releases, and a release lets go of those that are over: the engine
 * keeps only what is still cooling, even in a pool never searched next
 * fit */
START_TEST (test_cooldowns_end_in_time)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *host = da_engine_get_host (engine);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) expected = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *left = NULL;
  g_autofree char *want = NULL;
  GRand *rand = g_rand_new_with_seed (7);
  const guint n = 4000;
  DaRequest request;

  da_engine_set_cooldown (engine, 1000);
  /* released one every 10 us: 100 cool down at any time */
  for (guint i = 0; i < n; i++) {
    g_autofree char *alias = g_strdup_printf ("s%u", i);
    g_autofree char *address = g_strdup_printf ("%u", 2 * i);

    ck_assert (da_test_reserve (host, "id", alias, address, NULL, &error) != NULL);
    ck_assert (da_scope_release (host, alias, DA_RELEASE_NOW, NOW + 10 * (gint64) i, NULL, NULL, &error));
  }
  for (guint i = n - 100; i < n; i++)
    g_ptr_array_add (expected, g_strdup_printf ("%u:%" G_GINT64_FORMAT, 2 * i, NOW + 10 * (gint64) i + 1000));
  g_ptr_array_sort (expected, compare_words);
  g_ptr_array_add (expected, NULL);
  want = g_strjoinv (" ", (char **) expected->pdata);
  left = cooling_left (engine);
  ck_assert_str_eq (left, want);

  /* released at random times before T; a next-fit search at T ends every
   * cool-down that is over, and only those */
  g_clear_pointer (&want, g_free);
  g_clear_pointer (&left, g_free);
  g_ptr_array_set_size (expected, 0);
  for (guint i = 0; i < n; i++) {
    g_autofree char *alias = g_strdup_printf ("r%u", i);
    g_autofree char *address = g_strdup_printf ("%u", 100000 + 2 * i);
    gint64 when = NOW + 100000 + g_rand_int_range (rand, 0, 5000);

    ck_assert (da_test_reserve (host, "id", alias, address, NULL, &error) != NULL);
    ck_assert (da_scope_release (host, alias, DA_RELEASE_NOW, when, NULL, NULL, &error));
    if (when + 1000 > NOW + 105000)
      g_ptr_array_add (expected, g_strdup_printf ("%u:%" G_GINT64_FORMAT, 100000 + 2 * i, when + 1000));
  }
  da_test_request (&request, engine, "id", "next", NULL, NULL);
  request.constraint.policy = DA_POLICY_NEXT_FIT;
  ck_assert (da_scope_reserve (host, &request, NOW + 105000, NULL, NULL, &error) != NULL);
  g_ptr_array_sort (expected, compare_words);
  g_ptr_array_add (expected, NULL);
  want = g_strjoinv (" ", (char **) expected->pdata);
  left = cooling_left (engine);
  ck_assert_str_eq (left, want);
  g_rand_free (rand);
}
END_TEST

START_TEST (test_random_policy_stays_inside_constraints)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *host = da_engine_get_host (engine);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr (GError) error = NULL;
  DaRequest request;
  guint64 lo = da_test_key (engine, "mac", "52:54:00:00:00:00");
  guint64 first = G_MAXUINT64;
  gboolean spread = FALSE;

  for (guint i = 0; i < 500; i++) {
    g_autofree char *alias = g_strdup_printf ("nic%u", i);
    DaReservation *res;
    guint64 key;

    da_test_request (&request, engine, "mac", alias, NULL, NULL);
    request.constraint.policy = DA_POLICY_RANDOM;
    res = da_scope_reserve (host, &request, NOW, NULL, NULL, &error);
    ck_assert_msg (res != NULL, "%s", error ? error->message : "");
    key = da_reservation_get_start (res);
    ck_assert (key >= lo && key <= lo + 0xffffff);
    ck_assert (g_hash_table_add (seen, g_memdup2 (&key, sizeof key)));
    if (first == G_MAXUINT64)
      first = key;
    else if (key > first + 1000 || key + 1000 < first)
      spread = TRUE;
  }
  ck_assert_msg (spread, "random picks are not spread over the pool");
}
END_TEST

START_TEST (test_batch_all_or_nothing)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "pc");
  g_autoptr (GPtrArray) out = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  DaRequest requests[3];
  guint failed = 99;

  reserve_ok (vm, "pci", "disk0", "0000:00:07.0", NULL);
  before = da_test_dump (engine);
  da_test_request (&requests[0], engine, "pci", "net0", NULL, NULL);
  da_test_request (&requests[1], engine, "drive-ide", "ide-disk", "0:0:0:0", NULL);
  da_test_request (&requests[2], engine, "pci", "net1", "0000:00:07.0", NULL);
  ck_assert (!da_scope_reserve_batch (vm, requests, 3, NOW, NULL, out, &failed, NULL, &error));
  ck_assert_uint_eq (failed, 2);
  ck_assert_uint_eq (out->len, 0);
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT));
  after = da_test_dump (engine);
  ck_assert_str_eq (before, after);
  g_clear_error (&error);

  requests[2].address = da_test_key (engine, "pci", "0000:00:08.0");
  ck_assert (da_scope_reserve_batch (vm, requests, 3, NOW, NULL, out, &failed, NULL, &error));
  ck_assert_uint_eq (out->len, 3);
  assert_address (g_ptr_array_index (out, 0), "0000:00:03.0");
}
END_TEST

/* ---- transactions, replay and snapshots ---- */

static void
collect (const DaChange *change, gpointer user_data)
{
  g_ptr_array_add (user_data, da_change_copy (change));
}

static void
mixed_workload (DaEngine *engine, DaTxn *txn)
{
  g_autoptr (GError) error = NULL;
  DaScope *vm = da_engine_create_vm (engine, "w1", "q35", txn, &error);
  DaScope *vm2 = da_engine_create_vm (engine, "w2", "pc", txn, &error);
  DaRequest request;

  ck_assert (vm != NULL && vm2 != NULL);
  ck_assert (da_scope_add_bus (vm, "pcie-root-port", 1, NULL, txn, &error));
  ck_assert (da_scope_add_bus (vm, "pcie-root-port", 2, NULL, txn, &error));
  da_test_request (&request, engine, "pci", "net0", NULL, "bus=1-2");
  ck_assert (da_scope_reserve (vm, &request, NOW, txn, NULL, &error));
  da_test_request (&request, engine, "pci", "hot", NULL, "bus=1-2");
  request.hold_until = NOW + 5;
  ck_assert (da_scope_reserve (vm, &request, NOW, txn, NULL, &error));
  da_test_request (&request, engine, "pci", "nf", NULL, NULL);
  request.constraint.policy = DA_POLICY_NEXT_FIT;
  ck_assert (da_scope_reserve (vm2, &request, NOW, txn, NULL, &error));
  ck_assert (da_scope_release (vm2, "nf", DA_RELEASE_NOW, NOW, txn, NULL, &error));
  da_test_request (&request, engine, "vsock-cid", "w1", NULL, NULL);
  ck_assert (da_scope_reserve (da_engine_get_host (engine), &request, NOW, txn, NULL, &error));
  ck_assert (da_scope_release (vm, "net0", DA_RELEASE_BEGIN, NOW, txn, NULL, &error));
  ck_assert (da_scope_commit (vm, "hot", txn, &error));
  ck_assert (da_engine_delete_vm (engine, "w2", txn, &error));
}

START_TEST (test_rollback_restores_everything)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  DaTxn *txn;

  new_vm (engine, "base", "pc");
  reserve_ok (da_engine_lookup_vm (engine, "base"), "pci", "keep", NULL, NULL);
  before = da_test_dump (engine);
  txn = da_txn_new (engine);
  mixed_workload (engine, txn);
  ck_assert_uint_gt (da_txn_get_changes (txn)->len, 10);
  da_txn_rollback (txn);
  after = da_test_dump (engine);
  ck_assert_str_eq (before, after);
  ck_assert_uint_eq (da_engine_get_n_vms (engine), 1);
  ck_assert_uint_eq (da_engine_get_n_reservations (engine), 7);
}
END_TEST

/* a damaged snapshot can take the changes that laid a host pool out while
 * the journal keeps reservations in it: they replay into a pool with no
 * addresses, and da_engine_restore_host_pools() lays it out again */
START_TEST (test_restore_host_pools)
{
  g_autoptr (DaEngine) live = da_test_engine ();
  g_autoptr (DaEngine) replay = da_test_engine ();
  g_autoptr (GError) error = NULL;
  DaTxn *txn = da_txn_new (live);
  GPtrArray *changes;
  DaPoolCounts before, lost, after;
  DaRequest request;
  DaReservation *a, *b, *c;

  da_test_request (&request, live, "id", "a", NULL, NULL);
  ck_assert (da_scope_reserve (da_engine_get_host (live), &request, NOW, txn, NULL, &error) != NULL);
  da_test_request (&request, live, "id", "b", NULL, NULL);
  ck_assert (da_scope_reserve (da_engine_get_host (live), &request, NOW, txn, NULL, &error) != NULL);
  changes = da_txn_get_changes (txn);
  for (guint i = 0; i < changes->len; i++) {
    DaChange *change = g_ptr_array_index (changes, i);

    if (change->kind != DA_CHANGE_POOL_ADD)
      ck_assert_msg (da_engine_apply (replay, change, &error), "%s", error ? error->message : "");
  }
  da_txn_free (txn);
  da_pool_get_counts (da_scope_get_pool (da_engine_get_host (live), "id"), &before);
  da_pool_get_counts (da_scope_get_pool (da_engine_get_host (replay), "id"), &lost);
  ck_assert_uint_eq (lost.capacity, 0);

  /* a pool with its layout is left alone */
  ck_assert_uint_eq (da_engine_restore_host_pools (live, NULL, &error), 0);
  ck_assert_msg (da_engine_restore_host_pools (replay, NULL, &error) == 1, "%s", error ? error->message : "");
  da_pool_get_counts (da_scope_get_pool (da_engine_get_host (replay), "id"), &after);
  ck_assert_uint_eq (after.capacity, before.capacity);
  ck_assert_uint_eq (after.used, 2);
  ck_assert_uint_eq (da_engine_restore_host_pools (replay, NULL, &error), 0);
  /* and it gives addresses again, none of those held */
  a = da_scope_lookup (da_engine_get_host (replay), "a");
  b = da_scope_lookup (da_engine_get_host (replay), "b");
  c = reserve_ok (da_engine_get_host (replay), "id", "c", NULL, NULL);
  ck_assert (da_reservation_get_start (c) != da_reservation_get_start (a));
  ck_assert (da_reservation_get_start (c) != da_reservation_get_start (b));
}
END_TEST

START_TEST (test_replay_changes_and_snapshot)
{
  g_autoptr (DaEngine) live = da_test_engine ();
  g_autoptr (DaEngine) journal = da_test_engine ();
  g_autoptr (DaEngine) snapshot = da_test_engine ();
  g_autoptr (GPtrArray) changes = NULL;
  g_autoptr (GPtrArray) dumped = g_ptr_array_new_with_free_func ((GDestroyNotify) da_change_free);
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;
  g_autoptr (GError) error = NULL;
  DaTxn *txn = da_txn_new (live);

  mixed_workload (live, txn);
  changes = g_ptr_array_ref (da_txn_get_changes (txn));
  da_txn_free (txn);
  for (guint i = 0; i < changes->len; i++)
    ck_assert_msg (da_engine_apply (journal, g_ptr_array_index (changes, i), &error), "change %u: %s", i, error ? error->message : "");
  da_engine_dump (live, 0, collect, dumped);
  for (guint i = 0; i < dumped->len; i++)
    ck_assert_msg (da_engine_apply (snapshot, g_ptr_array_index (dumped, i), &error), "%s", error ? error->message : "");
  a = da_test_dump (live);
  b = da_test_dump (journal);
  c = da_test_dump (snapshot);
  ck_assert_str_eq (a, b);
  ck_assert_str_eq (a, c);

  /* replaying a change twice is an error, not a silent duplicate */
  for (guint i = 0; i < changes->len; i++) {
    DaChange *change = g_ptr_array_index (changes, i);

    if ((change->kind == DA_CHANGE_RESERVE || change->kind == DA_CHANGE_SCOPE_CREATE)
        && da_engine_lookup_scope (journal, change->scope) != NULL
        && (change->alias == NULL || da_scope_lookup (da_engine_lookup_scope (journal, change->scope), change->alias))) {
      ck_assert_msg (!da_engine_apply (journal, change, &error), "change %u applied twice", i);
      g_clear_error (&error);
    }
  }
}
END_TEST

START_TEST (test_drop_and_restore_builtin)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "pc");
  g_autoptr (GError) error = NULL;
  DaReservation *res, *holder = NULL;
  DaTxn *txn;

  /* users still cannot release a builtin ... */
  ck_assert (!da_scope_release (vm, "primary-video", DA_RELEASE_NOW, NOW, NULL, NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT));
  g_clear_error (&error);
  /* ... and dropping is for builtins only */
  reserve_ok (vm, "pci", "net0", NULL, NULL);
  ck_assert (!da_scope_drop_builtin (vm, "net0", NOW, NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID));
  g_clear_error (&error);
  ck_assert (!da_scope_drop_builtin (vm, "nothing", NOW, NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND));
  g_clear_error (&error);

  /* dropped, slot 2 goes to the next device; rolled back, it is back */
  txn = da_txn_new (engine);
  ck_assert_msg (da_scope_drop_builtin (vm, "primary-video", NOW, txn, &error), "%s", error ? error->message : "");
  ck_assert_ptr_null (da_scope_lookup (vm, "primary-video"));
  assert_address (reserve_ok (vm, "pci", "balloon0", NULL, NULL), "0000:00:02.0");
  /* restoring while a device holds the place is a conflict naming it */
  ck_assert_ptr_null (da_scope_restore_builtin (vm, "primary-video", txn, &holder, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT));
  ck_assert_str_eq (da_reservation_get_alias (holder), "balloon0");
  g_clear_error (&error);
  ck_assert (da_scope_release (vm, "balloon0", DA_RELEASE_NOW, NOW, NULL, NULL, &error));
  da_txn_rollback (txn);
  res = da_scope_lookup (vm, "primary-video");
  ck_assert (res != NULL && (da_reservation_get_flags (res) & DA_RESERVATION_BUILTIN));

  /* restore puts it back at the template's address, as a builtin */
  ck_assert (da_scope_drop_builtin (vm, "primary-video", NOW, NULL, &error));
  res = da_scope_restore_builtin (vm, "primary-video", NULL, NULL, &error);
  ck_assert_msg (res != NULL, "%s", error ? error->message : "");
  assert_address (res, "0000:00:02.0");
  ck_assert (da_reservation_get_flags (res) & DA_RESERVATION_BUILTIN);
  /* restoring what is there returns it; an alias of a device's own is not a builtin */
  ck_assert_ptr_eq (da_scope_restore_builtin (vm, "primary-video", NULL, NULL, &error), res);
  ck_assert_ptr_null (da_scope_restore_builtin (vm, "net0", NULL, NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT));
  g_clear_error (&error);
  ck_assert_ptr_null (da_scope_restore_builtin (vm, "no-such-part", NULL, NULL, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND));
}
END_TEST

START_TEST (test_rollback_restores_cooldown)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "pc");
  g_autoptr (GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  DaTxn *txn;

  /* released, the slot cools down; reserved and released again inside a
   * transaction that is rolled back, the first cool-down is what is left */
  reserve_ok (vm, "pci", "net0", "0000:00:05.0", NULL);
  ck_assert (da_scope_release (vm, "net0", DA_RELEASE_NOW, NOW, NULL, NULL, &error));
  before = da_test_dump (engine);
  ck_assert_ptr_nonnull (strstr (before, "cool scope=vm1"));
  txn = da_txn_new (engine);
  {
    DaRequest request;

    da_test_request (&request, engine, "pci", "net1", "0000:00:05.0", NULL);
    ck_assert (da_scope_reserve (vm, &request, NOW, txn, NULL, &error) != NULL);
  }
  ck_assert (da_scope_release (vm, "net1", DA_RELEASE_NOW, NOW + 5 * G_USEC_PER_SEC, txn, NULL, &error));
  da_txn_rollback (txn);
  after = da_test_dump (engine);
  ck_assert_str_eq (before, after);
}
END_TEST

static char *
replay_into_fresh_engine (GPtrArray *changes)
{
  g_autoptr (DaEngine) fresh = da_test_engine ();
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < changes->len; i++)
    ck_assert_msg (da_engine_apply (fresh, g_ptr_array_index (changes, i), &error), "change %u: %s", i,
                   error ? error->message : "");
  return da_test_dump (fresh);
}

START_TEST (test_remove_keys)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  g_autoptr (GPtrArray) dumped = g_ptr_array_new_with_free_func ((GDestroyNotify) da_change_free);
  g_autoptr (GPtrArray) journal = g_ptr_array_new_with_free_func ((GDestroyNotify) da_change_free);
  g_autoptr (GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *live = NULL;
  g_autofree char *from_journal = NULL;
  g_autofree char *from_snapshot = NULL;
  guint64 first = da_test_key (engine, "pci", "0000:01:00.0");
  guint64 last = da_test_key (engine, "pci", "0000:01:1f.7");
  DaTxn *txn = da_txn_new (engine);
  DaScope *vm = da_engine_create_vm (engine, "q1", "q35", txn, &error);
  DaRequest request;
  GPtrArray *changes;

  ck_assert (vm != NULL);
  ck_assert (da_scope_add_bus (vm, "pcie-root-port", 1, NULL, txn, &error));
  ck_assert (da_scope_add_bus (vm, "pcie-root-port", 2, NULL, txn, &error));
  before = da_test_dump (engine);

  /* a bus that is gone: its keys leave the pool and every tag */
  {
    guint savepoint = da_txn_savepoint (txn);

    ck_assert_msg (da_scope_remove_keys (vm, "pci", first, last, txn, &error), "%s", error ? error->message : "");
    ck_assert (!da_range_map_intersects (da_pool_get_ranges (da_scope_get_pool (vm, "pci")), first, last));
    ck_assert (!da_range_map_intersects (da_pool_get_tag (da_scope_get_pool (vm, "pci"), "hotplug"), first, last));
    da_test_request (&request, engine, "pci", "hp0", NULL, NULL);
    request.constraint.tags[0] = "hotplug";
    assert_address (da_scope_reserve (vm, &request, NOW, txn, NULL, &error), "0000:02:00.0");
    /* rolled back, the bus is there as it was */
    da_txn_rollback_to (txn, savepoint);
    after = da_test_dump (engine);
    ck_assert_str_eq (before, after);
  }

  /* removing every key of a tag removes the tag */
  ck_assert (da_scope_remove_keys (vm, "pci", first, da_test_key (engine, "pci", "0000:02:1f.7"), txn, &error));
  ck_assert_ptr_null (da_pool_get_tag (da_scope_get_pool (vm, "pci"), "hotplug"));
  /* keys a reservation holds stay, and the conflict names the holder */
  ck_assert (da_scope_add_bus (vm, "pcie-root-port", 1, NULL, txn, &error));
  request.alias = "hp1";
  ck_assert (da_scope_reserve (vm, &request, NOW, txn, NULL, &error) != NULL);
  ck_assert (!da_scope_remove_keys (vm, "pci", first, last, txn, &error));
  ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT));
  ck_assert_msg (strstr (error->message, "hp1") != NULL, "%s", error->message);
  g_clear_error (&error);
  /* a pool that was never made has nothing to remove */
  ck_assert (da_scope_remove_keys (vm, "usb", 0, 10, txn, &error));
  ck_assert (da_scope_release (vm, "hp1", DA_RELEASE_NOW, NOW, txn, NULL, &error));
  ck_assert (da_scope_remove_keys (vm, "pci", first, last, txn, &error));
  ck_assert (da_scope_add_bus (vm, "pci-bridge", 3, NULL, txn, &error));

  /* the journal and a snapshot rebuild the same pools */
  changes = da_txn_get_changes (txn);
  for (guint i = 0; i < changes->len; i++)
    g_ptr_array_add (journal, da_change_copy (g_ptr_array_index (changes, i)));
  da_txn_free (txn);
  da_engine_dump (engine, 0, collect, dumped);
  live = da_test_dump (engine);
  from_journal = replay_into_fresh_engine (journal);
  from_snapshot = replay_into_fresh_engine (dumped);
  ck_assert_str_eq (live, from_journal);
  ck_assert_str_eq (live, from_snapshot);
  ck_assert_ptr_nonnull (strstr (live, "pool-add scope=q1 tmpl=(null) type=pci alias=(null) tag=hotplug"));
}
END_TEST

/* ---- the search against brute force ---- */

typedef struct {
  guint64 used[128];   /* 0 free, else reserved */
  gboolean pool[128];
  gboolean tag[3][128];
} Model;

static gboolean
model_fits (DaAddressType *grid, const Model *m, const DaConstraint *c, const char *const *tag_names, guint64 k)
{
  guint64 block = c->isolate >= 0 ? da_address_type_get_dimension (grid, (guint) c->isolate)->weight : 1;
  guint64 align = c->align > 1 ? c->align : 1;
  guint64 d[DA_MAX_DIMS];
  guint64 first, last;

  if (k % align != 0 || k + c->count - 1 > 127 || k < c->min || k + c->count - 1 > c->max)
    return FALSE;
  for (guint64 j = k; j < k + c->count; j++) {
    if (!m->pool[j])
      return FALSE;
    da_address_type_decode (grid, j, d);
    for (guint i = 0; i < 3; i++)
      if (d[i] < c->box.lo[i] || d[i] > c->box.hi[i])
        return FALSE;
    for (guint t = 0; c->tags[t] != NULL; t++)
      for (guint n = 0; n < 3; n++)
        if (strcmp (c->tags[t], tag_names[n]) == 0 && !m->tag[n][j])
          return FALSE;
    for (guint t = 0; c->not_tags[t] != NULL; t++)
      for (guint n = 0; n < 3; n++)
        if (strcmp (c->not_tags[t], tag_names[n]) == 0 && m->tag[n][j])
          return FALSE;
  }
  /* isolation: every block the run touches is unreserved, wherever in
   * its block the run starts */
  first = k - k % block;
  last = k + c->count - 1;
  last = last - last % block + block - 1;
  for (guint64 j = first; j <= last; j++)
    if (j > 127 || m->used[j])
      return FALSE;
  return TRUE;
}

/* A scope past the size where the engine asks for memory ahead of its
 * use: exact reserves and releases in two pools of the host (a release in
 * the smaller one guesses the wrong pool while its reservation is on its
 * way), conflicts found by the insertion itself, idempotent retries and
 * releases rolled back, all against a model of alias -> (type, key). */
typedef struct {
  guint type;
  guint64 key;
} LargeEntry;

static void
large_reserve (DaScope *host, DaEngine *engine, const char *const *types, GHashTable *model, GHashTable *taken,
               guint type, const char *alias, guint64 key)
{
  g_autofree char *taken_key = g_strdup_printf ("%u:%" G_GUINT64_FORMAT, type, key);
  const char *holder_alias = g_hash_table_lookup (taken, taken_key);
  DaReservation *holder = NULL, *res;
  g_autoptr (GError) error = NULL;
  DaRequest request;

  memset (&request, 0, sizeof request);
  request.type = types[type];
  request.alias = alias;
  da_constraint_init (&request.constraint, da_catalog_get_type (da_engine_get_catalog (engine), types[type]), FALSE);
  request.has_address = TRUE;
  request.address = key;
  res = da_scope_reserve (host, &request, NOW, NULL, &holder, &error);
  if (holder_alias != NULL && g_strcmp0 (holder_alias, alias) != 0) {
    ck_assert_msg (res == NULL, "%s took %s's %s address", alias, holder_alias, types[type]);
    ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT));
    ck_assert_str_eq (da_reservation_get_alias (holder), holder_alias);
    return;
  }
  ck_assert_msg (res != NULL, "reserve %s: %s", alias, error ? error->message : "");
  ck_assert_uint_eq (da_reservation_get_start (res), key);
  if (holder_alias == NULL) {
    LargeEntry *e = g_new (LargeEntry, 1);

    e->type = type;
    e->key = key;
    g_hash_table_insert (model, g_strdup (alias), e);
    g_hash_table_insert (taken, g_steal_pointer (&taken_key), g_strdup (alias));
  }
}

START_TEST (test_large_scope)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *host = da_engine_get_host (engine);
  const char *const types[] = { "id", "mac" };
  const guint64 last_key[] = { G_MAXUINT32, (G_GUINT64_CONSTANT (1) << 48) - 1 };
  g_autoptr (GHashTable) model = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GHashTable) taken = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GPtrArray) live = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  GRand *rand = g_rand_new_with_seed (7);
  guint next = 0;

  /* keys from a small range, so that conflicts happen */
  for (guint t = 0; t < 2; t++)
    ck_assert (da_scope_add_keys (host, types[t], 0, last_key[t], NULL, NULL, &error));
  for (guint step = 0; step < 40000; step++) {
    guint op = (guint) g_rand_int_range (rand, 0, 10);

    if (step < 14000 || op < 4) {
      guint type = g_rand_int_range (rand, 0, 3) == 0 ? 1 : 0;
      guint64 key = (guint64) g_rand_int_range (rand, 0, 60000) * 7919 % (last_key[type] + 1);
      g_autofree char *alias = g_strdup_printf ("a%u", next++);

      large_reserve (host, engine, types, model, taken, type, alias, key);
      if (g_hash_table_contains (model, alias) && g_ptr_array_find_with_equal_func (live, alias, g_str_equal, NULL) == FALSE)
        g_ptr_array_add (live, g_strdup (alias));
    } else if (op < 5 && live->len > 0) {
      /* the same alias again at its address: the reservation it has */
      const char *alias = g_ptr_array_index (live, (guint) g_rand_int_range (rand, 0, (gint32) live->len));
      LargeEntry *e = g_hash_table_lookup (model, alias);

      large_reserve (host, engine, types, model, taken, e->type, alias, e->key);
    } else if (live->len > 0) {
      guint i = (guint) g_rand_int_range (rand, 0, (gint32) live->len);
      const char *alias = g_ptr_array_index (live, i);
      LargeEntry *e = g_hash_table_lookup (model, alias);
      g_autofree char *taken_key = g_strdup_printf ("%u:%" G_GUINT64_FORMAT, e->type, e->key);

      if (op == 9) {
        /* released and taken back: all of it comes back */
        DaTxn *txn = da_txn_new (engine);

        ck_assert (da_scope_release (host, alias, DA_RELEASE_NOW, NOW, txn, NULL, &error));
        ck_assert_ptr_null (da_scope_lookup (host, alias));
        da_txn_rollback (txn);
        ck_assert_ptr_nonnull (da_scope_lookup (host, alias));
        continue;
      }
      ck_assert_msg (da_scope_release (host, alias, DA_RELEASE_NOW, NOW, NULL, NULL, &error), "%s", error ? error->message : "");
      g_hash_table_remove (taken, taken_key);
      g_hash_table_remove (model, alias);
      g_ptr_array_remove_index_fast (live, i);
    }
  }
  ck_assert_uint_gt (g_hash_table_size (model), 8192);
  ck_assert_uint_eq (da_scope_get_n_reservations (host), g_hash_table_size (model));
  ck_assert_uint_eq (da_engine_get_n_reservations (engine), g_hash_table_size (model));
  {
    GHashTableIter iter;
    gpointer key, value;
    guint per_type[2] = { 0, 0 };

    g_hash_table_iter_init (&iter, model);
    while (g_hash_table_iter_next (&iter, &key, &value)) {
      LargeEntry *e = value;
      DaReservation *res = da_scope_lookup (host, key);

      ck_assert_msg (res != NULL, "%s is gone", (char *) key);
      ck_assert_uint_eq (da_reservation_get_start (res), e->key);
      ck_assert_str_eq (da_address_type_get_name (da_reservation_get_address_type (res)), types[e->type]);
      ck_assert_ptr_eq (da_scope_lookup_address (host, types[e->type], e->key), res);
      per_type[e->type]++;
    }
    for (guint t = 0; t < 2; t++) {
      DaPoolCounts counts;

      da_pool_get_counts (da_scope_get_pool (host, types[t]), &counts);
      ck_assert_uint_eq (counts.n_reservations, per_type[t]);
      ck_assert_uint_eq (counts.used, per_type[t]);
    }
  }
  g_rand_free (rand);
}
END_TEST

START_TEST (test_search_matches_brute_force)
{
  const char *const tag_names[] = { "red", "green", "blue" };
  GRand *rand = g_rand_new_with_seed (20261122);
  guint checked = 0, one_run = 0;

  for (guint round = 0; round < 300; round++) {
    g_autoptr (DaEngine) engine = da_test_engine ();
    DaScope *vm = new_vm (engine, "g", "empty");
    DaAddressType *grid = da_catalog_get_type (da_engine_get_catalog (engine), "grid");
    Model m = { 0 };
    guint n_alias = 0;

    /* the model knows nothing of cool-down; test_next_fit_cooldown does */
    da_engine_set_cooldown (engine, 0);

    /* random pool pieces and tags; every third pool is one run of keys,
     * which plain first-fit requests search by a shorter way */
    for (guint p = 0; p < (round % 3 == 0 ? 1u : 6u); p++) {
      guint64 a = g_rand_int_range (rand, 0, 128), len = g_rand_int_range (rand, 1, 40);
      guint64 b = MIN (127, a + len);

      ck_assert (da_scope_add_keys (vm, "grid", a, b, NULL, NULL, NULL));
      for (guint64 j = a; j <= b; j++)
        m.pool[j] = TRUE;
    }
    for (guint t = 0; t < 3; t++) {
      for (guint p = 0; p < 3; p++) {
        guint64 a = g_rand_int_range (rand, 0, 128), len = g_rand_int_range (rand, 1, 50);
        guint64 b = MIN (127, a + len);

        ck_assert (da_scope_add_keys (vm, "grid", a, b, tag_names[t], NULL, NULL));
        for (guint64 j = a; j <= b; j++)
          m.tag[t][j] = TRUE;
      }
    }

    for (guint step = 0; step < 40; step++) {
      DaRequest request;
      DaReservation *res;
      guint64 expected = G_MAXUINT64;
      g_autofree char *alias = g_strdup_printf ("r%u", n_alias++);
      g_autoptr (GError) error = NULL;
      DaConstraint *c = &request.constraint;

      da_test_request (&request, engine, "grid", alias, NULL, NULL);
      c->count = g_rand_int_range (rand, 1, 4) == 1 ? g_rand_int_range (rand, 1, 9) : 1;
      c->align = (const guint64[]) { 1, 1, 2, 3, 4, 8 }[g_rand_int_range (rand, 0, 6)];
      c->isolate = g_rand_int_range (rand, 0, 4) == 0 ? g_rand_int_range (rand, 1, 3) : -1;
      c->policy = (DaPolicy) g_rand_int_range (rand, DA_POLICY_FIRST_FIT, DA_POLICY_RANDOM + 1);
      for (guint i = 0; i < 3; i++) {
        if (g_rand_int_range (rand, 0, 3) == 0) {
          guint64 top = da_address_type_get_dimension (grid, i)->max;
          guint64 x = g_rand_int_range (rand, 0, (gint32) top + 1), y = g_rand_int_range (rand, 0, (gint32) top + 1);

          c->box.lo[i] = MIN (x, y);
          c->box.hi[i] = MAX (x, y);
        }
      }
      if (g_rand_int_range (rand, 0, 4) == 0)
        c->tags[0] = tag_names[g_rand_int_range (rand, 0, 3)];
      if (g_rand_int_range (rand, 0, 4) == 0)
        c->not_tags[0] = tag_names[g_rand_int_range (rand, 0, 3)];
      if (g_rand_int_range (rand, 0, 4) == 0) {
        c->min = g_rand_int_range (rand, 0, 64);
        c->max = c->min + g_rand_int_range (rand, 0, 100);
      }

      /* half the requests of a one-run pool ask for nothing but a count and a window */
      if (round % 3 == 0 && step % 2 == 0) {
        guint64 count = c->count, min = c->min, max = c->max;

        da_test_request (&request, engine, "grid", alias, NULL, NULL);
        c->count = count;
        c->min = min;
        c->max = max;
      }
      if (round % 3 == 0 && c->policy == DA_POLICY_FIRST_FIT && c->align <= 1 && c->isolate < 0
          && c->tags[0] == NULL && c->not_tags[0] == NULL && da_box_is_full (grid, &c->box))
        one_run++;
      for (guint64 k = 0; k < 128; k++) {
        if (model_fits (grid, &m, c, tag_names, k)) {
          expected = k;
          if (c->policy == DA_POLICY_FIRST_FIT)
            break;
        }
      }
      res = da_scope_reserve (vm, &request, NOW, NULL, NULL, &error);
      checked++;
      if (expected == G_MAXUINT64) {
        ck_assert_msg (res == NULL, "round %u step %u: engine found %" G_GUINT64_FORMAT ", brute force nothing",
                       round, step, da_reservation_get_start (res));
        ck_assert (g_error_matches (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED));
        continue;
      }
      ck_assert_msg (res != NULL, "round %u step %u: engine failed (%s), brute force found %" G_GUINT64_FORMAT,
                     round, step, error ? error->message : "", expected);
      if (c->policy == DA_POLICY_FIRST_FIT || c->policy == DA_POLICY_LAST_FIT)
        ck_assert_msg (da_reservation_get_start (res) == expected, "round %u step %u %s: engine %" G_GUINT64_FORMAT
                       ", brute force %" G_GUINT64_FORMAT, round, step, da_policy_to_string (c->policy),
                       da_reservation_get_start (res), expected);
      else
        ck_assert_msg (model_fits (grid, &m, c, tag_names, da_reservation_get_start (res)),
                       "round %u step %u %s: engine chose %" G_GUINT64_FORMAT ", which breaks the constraint",
                       round, step, da_policy_to_string (c->policy), da_reservation_get_start (res));
      expected = da_reservation_get_start (res);
      for (guint64 j = expected; j < expected + c->count; j++)
        m.used[j] = n_alias;
      /* sometimes release an earlier one */
      if (g_rand_int_range (rand, 0, 4) == 0) {
        g_autofree char *victim = g_strdup_printf ("r%u", g_rand_int_range (rand, 0, (gint32) n_alias));
        DaReservation *v = da_scope_lookup (vm, victim);

        if (v != NULL) {
          guint64 s = da_reservation_get_start (v), n = da_reservation_get_count (v);

          ck_assert (da_scope_release (vm, victim, DA_RELEASE_NOW, NOW, NULL, NULL, NULL));
          for (guint64 j = s; j < s + n; j++)
            m.used[j] = 0;
        }
      }
    }
  }
  ck_assert_uint_eq (checked, 300 * 40);
  ck_assert_uint_ge (one_run, 1000);
  g_rand_free (rand);
}
END_TEST

/* a pool whose keys span at most DA_RANGE_MAP_DENSE_KEYS keeps its
 * reservations as bitmaps; keys added past that make it a tree, and taking
 * them out again (or an undo) brings the bitmaps back, with every
 * reservation and answer the same */
static guint64
reserve_id (DaScope *vm, DaEngine *engine, const char *alias)
{
  g_autoptr (GError) error = NULL;
  DaRequest request = { .type = "id", .alias = alias };
  DaReservation *res;

  da_constraint_init (&request.constraint, da_catalog_get_type (da_engine_get_catalog (engine), "id"), TRUE);
  res = da_scope_reserve (vm, &request, NOW, NULL, NULL, &error);
  ck_assert_msg (res != NULL, "%s", error ? error->message : "");
  return da_reservation_get_start (res);
}

START_TEST (test_small_pool_keeps_bitmaps)
{
  g_autoptr (DaEngine) engine = da_test_engine ();
  DaScope *vm = new_vm (engine, "vm1", "pc");
  g_autoptr (GError) error = NULL;
  DaTxn *txn;
  DaPool *pool;
  char alias[16];

  ck_assert (da_scope_add_keys (vm, "id", 100, 355, NULL, NULL, &error));
  pool = da_scope_get_pool (vm, "id");
  ck_assert (da_range_map_is_dense (pool->used));
  for (guint i = 0; i < 10; i++) {
    g_snprintf (alias, sizeof alias, "d%u", i);
    ck_assert_uint_eq (reserve_id (vm, engine, alias), 100 + i);
  }
  ck_assert (da_scope_release (vm, "d3", DA_RELEASE_NOW, NOW, NULL, NULL, &error));

  /* wider than the bitmaps go: a tree, holding the same */
  ck_assert (da_scope_add_keys (vm, "id", 356, 100000, NULL, NULL, &error));
  ck_assert (!da_range_map_is_dense (pool->used));
  ck_assert_uint_eq (da_reservation_get_start (da_scope_lookup (vm, "d9")), 109);
  ck_assert_uint_eq (reserve_id (vm, engine, "again"), 103);
  ck_assert (da_range_map_check (pool->used, NULL));

  /* narrow again */
  ck_assert (da_scope_remove_keys (vm, "id", 4000, 100000, NULL, &error));
  ck_assert (da_range_map_is_dense (pool->used));
  ck_assert_uint_eq (da_range_map_n_ranges (pool->used), 10);
  ck_assert_uint_eq (reserve_id (vm, engine, "next"), 110);
  ck_assert_uint_eq (da_reservation_get_start (da_scope_lookup (vm, "again")), 103);

  /* an addition taken back restores the bitmaps */
  txn = da_txn_new (engine);
  ck_assert (da_scope_add_keys (vm, "id", 5000, 9000, NULL, txn, &error));
  ck_assert (!da_range_map_is_dense (pool->used));
  da_txn_rollback (txn);
  ck_assert (da_range_map_is_dense (pool->used));
  ck_assert (da_range_map_check (pool->used, NULL));
  ck_assert_uint_eq (reserve_id (vm, engine, "last"), 111);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("engine");
  TCase *seed = tcase_create ("seed");
  TCase *tc = tcase_create ("engine");

  tcase_add_test (seed, test_seed_free_set_after_one_reservation);
  tcase_add_test (seed, test_seed_ipv4_never_hands_out_a_reserved_address);
  tcase_add_test (seed, test_seed_drive_names);
  tcase_add_test (seed, test_seed_whole_slot);
  tcase_add_test (seed, test_isolated_function_inside_the_slot);
  tcase_add_test (seed, test_seed_ganeti);
  tcase_add_test (seed, test_seed_mmio_aligned);
  suite_add_tcase (s, seed);
  tcase_add_test (tc, test_templates);
  tcase_add_test (tc, test_small_pool_keeps_bitmaps);
  tcase_add_test (tc, test_huge_run);
  tcase_add_test (tc, test_run_longer_than_box_row);
  tcase_add_test (tc, test_virtio_serial_controllers);
  tcase_add_test (tc, test_idempotent_and_conflicts);
  tcase_add_test (tc, test_states);
  tcase_add_test (tc, test_host_scope_rule);
  tcase_add_test (tc, test_next_fit_cooldown);
  tcase_add_test (tc, test_cooldowns_end_in_time);
  tcase_add_test (tc, test_random_policy_stays_inside_constraints);
  tcase_add_test (tc, test_batch_all_or_nothing);
  tcase_add_test (tc, test_rollback_restores_everything);
  tcase_add_test (tc, test_replay_changes_and_snapshot);
  tcase_add_test (tc, test_restore_host_pools);
  tcase_add_test (tc, test_search_matches_brute_force);
  tcase_add_test (tc, test_drop_and_restore_builtin);
  tcase_add_test (tc, test_remove_keys);
  tcase_add_test (tc, test_rollback_restores_cooldown);
  tcase_add_test (tc, test_large_scope);
  suite_add_tcase (s, tc);
  return da_test_run_suite (s);
}
