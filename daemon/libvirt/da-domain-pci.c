/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "daemon/alloc/da-alloc-error.h"
#include "da-domain-private.h"

/*
 * PCI addresses as qemuDomainAssignPCIAddresses() gives them (RULES.md §4),
 * decided by the engine: a bus is a set of pool keys whose tags say what may
 * plug in (data/buses/pci.bus), a device asks for a whole free slot with
 * the tags of its connect type, first fit, so lower buses and lower slots
 * win as in libvirt.
 *
 * libvirt works in two passes.  The dry run places everything on a set of
 * buses that grows whenever a device finds no room, only to learn which
 * controllers to add; here it runs inside a savepoint that is rolled back.
 * The real pass then places the added controllers first and everything
 * else after them, and may not grow.
 */

typedef struct {
  const char *model;     /* bus model (data/buses/pci.bus) */
  gboolean bridge_only;  /* dry run: a root port only a pcie-to-pci-bridge may use */
} PciBus;

typedef struct {
  DaDomainCtx *ctx;
  gboolean dry;
  GArray *buses;         /* PciBus by bus number */
  int max_index;         /* highest PCI controller index in the XML */
  guint n_dummies;
} PciRun;

static gboolean
is (const char *a, const char *b)
{
  return a != NULL && strcmp (a, b) == 0;
}

guint64
da_pci_key (DaDomainCtx *ctx, guint bus, guint slot, guint function)
{
  guint64 digits[DA_MAX_DIMS] = { 0, bus, slot, function };

  return da_address_type_encode (ctx->pci_type, digits);
}

gboolean
da_pci_slot_in_use (DaDomainCtx *ctx, guint bus, guint slot)
{
  for (guint f = 0; f < 8; f++)
    if (da_scope_lookup_address (ctx->scope, "pci", da_pci_key (ctx, bus, slot, f)) != NULL)
      return TRUE;
  return FALSE;
}

static guint64
slot_base (guint64 key)
{
  return key & ~(guint64) 7;
}

void
da_pci_tags_for (guint flags, const char **tags)
{
  guint n = 0;

  if (flags & DA_PCI_INTEGRATED) {
    tags[0] = NULL;
    return;
  }
  if (flags & (DA_PCI_PCI_DEVICE | DA_PCI_PCI_BRIDGE | DA_PCI_PCI_EXPANDER_BUS))
    tags[n++] = "pci";
  else if (flags & DA_PCI_PCIE_DEVICE)
    tags[n++] = "pcie";
  else if (flags & (DA_PCI_PCIE_ROOT_PORT | DA_PCI_DMI_TO_PCI_BRIDGE | DA_PCI_PCIE_EXPANDER_BUS))
    tags[n++] = "pcie-root";
  else if (flags & (DA_PCI_PCIE_TO_PCI_BRIDGE | DA_PCI_PCIE_SWITCH_UPSTREAM_PORT))
    tags[n++] = "pcie-port";
  else if (flags & DA_PCI_PCIE_SWITCH_DOWNSTREAM_PORT)
    tags[n++] = "pcie-switch";
  if (flags & DA_PCI_AUTOASSIGN)
    tags[n++] = "auto";
  if (flags & DA_PCI_HOTPLUGGABLE)
    tags[n++] = "hotplug";
  tags[n] = NULL;
}

static const char *
model_of_flags (guint flags)
{
  if (flags & DA_PCI_PCIE_ROOT_PORT)
    return "pcie-root-port";
  if (flags & DA_PCI_PCIE_SWITCH_UPSTREAM_PORT)
    return "pcie-switch-upstream-port";
  if (flags & DA_PCI_PCIE_SWITCH_DOWNSTREAM_PORT)
    return "pcie-switch-downstream-port";
  if (flags & DA_PCI_DMI_TO_PCI_BRIDGE)
    return "dmi-to-pci-bridge";
  if (flags & DA_PCI_PCI_EXPANDER_BUS)
    return "pci-expander-bus";
  if (flags & DA_PCI_PCIE_EXPANDER_BUS)
    return "pcie-expander-bus";
  if (flags & DA_PCI_PCI_BRIDGE)
    return "pci-bridge";
  return NULL;
}

static gboolean
model_accepts_pci_bridge (const char *model)
{
  return is (model, "pci-root") || is (model, "pci-bridge") || is (model, "pci-expander-bus")
         || is (model, "dmi-to-pci-bridge") || is (model, "pcie-to-pci-bridge");
}

static gboolean
has_tag (DaDomainCtx *ctx, guint64 key, const char *tag)
{
  DaPool *pool = da_scope_get_pool (ctx->scope, "pci");
  const DaRangeMap *set = pool != NULL ? da_pool_get_tag (pool, tag) : NULL;

  return set != NULL && da_range_map_lookup (set, key, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* buses */

static gboolean
add_bus_keys (PciRun *run, guint index, GError **error)
{
  DaDomainCtx *ctx = run->ctx;
  PciBus *bus = &g_array_index (run->buses, PciBus, index);

  if (bus->bridge_only) {
    guint64 first = da_pci_key (ctx, index, 0, 0);

    return da_scope_add_keys (ctx->scope, "pci", first, first + 7, NULL, ctx->txn, error)
           && da_scope_add_keys (ctx->scope, "pci", first, first + 7, "pcie-port", ctx->txn, error);
  }
  return da_scope_add_bus (ctx->scope, bus->model, index, NULL, ctx->txn, error);
}

static gboolean
push_bus (PciRun *run, const char *model, gboolean bridge_only, GError **error)
{
  PciBus bus = { model, bridge_only };

  g_array_append_val (run->buses, bus);
  return add_bus_keys (run, run->buses->len - 1, error);
}

/* virDomainPCIAddressSetGrow: buses for a device that found no room, or
 * whose written address names a bus nobody provides (dry run only) */
static gboolean
grow (PciRun *run, guint needed, guint flags, const char *who, guint *bus_out, GError **error)
{
  guint have = run->buses->len;
  guint add;
  const char *model;
  gboolean need_pair = FALSE;

  if (needed < have) {
    *bus_out = needed;
    return TRUE;
  }
  add = needed - have + 1;
  if (flags & DA_PCI_PCI_DEVICE) {
    model = "pci-bridge";
    /* a pure PCIe machine gets a legacy PCI topology first: a root port
     * only the pcie-to-pci-bridge behind it may use */
    need_pair = TRUE;
    for (guint i = 0; i < have; i++)
      if (model_accepts_pci_bridge (g_array_index (run->buses, PciBus, i).model))
        need_pair = FALSE;
    if (need_pair && add == 1) {
      add++;
      needed++;
    }
  } else if (flags & (DA_PCI_PCIE_DEVICE | DA_PCI_PCIE_SWITCH_UPSTREAM_PORT)) {
    model = "pcie-root-port";
  } else {
    const char *controller = model_of_flags (flags);

    if (controller != NULL)
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED,
                   "%s: a PCI slot is needed to connect a PCI controller model='%s', but none is available, "
                   "and it cannot be automatically added", who, controller);
    else
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED,
                   "%s: cannot automatically add a new PCI bus for a device with connect flags %.2x", who, flags);
    return FALSE;
  }
  if (need_pair) {
    if (!push_bus (run, "pcie-root-port", TRUE, error) || !push_bus (run, "pcie-to-pci-bridge", FALSE, error))
      return FALSE;
    add -= 2;
  }
  for (guint i = 0; i < add; i++)
    if (!push_bus (run, model, FALSE, error))
      return FALSE;
  *bus_out = needed;
  return TRUE;
}

static guint
min_slot (PciRun *run, guint bus)
{
  const char *model = g_array_index (run->buses, PciBus, bus).model;

  if (is (model, "pcie-root-port") || is (model, "pcie-switch-downstream-port") || is (model, "dmi-to-pci-bridge")
      || is (model, "pci-expander-bus") || is (model, "pcie-expander-bus") || is (model, "pcie-switch-upstream-port"))
    return 0;
  return 1;
}

/* ------------------------------------------------------------------ */
/* reserving */

static void
note_address (DaDomainCtx *ctx, DaDevice *dev, guint64 key)
{
  if (dev != NULL)
    da_addr_from_key (ctx, &dev->addr, DA_ADDR_PCI, "pci", key);
}

static gboolean
reserve_at (PciRun *run, DaDevice *dev, const char *alias, guint64 key, GError **error)
{
  DaDomainCtx *ctx = run->ctx;

  if (dev != NULL) {
    if (!da_domain_reserve_exact (ctx, dev, "pci", key, FALSE, error))
      return FALSE;
  } else {
    DaRequest request = { 0 };

    request.type = "pci";
    request.alias = alias;
    request.has_address = TRUE;
    request.address = key;
    request.flags = DA_RESERVATION_DOMAIN;
    da_constraint_init (&request.constraint, ctx->pci_type, FALSE);
    if (da_scope_reserve (ctx->scope, &request, ctx->now, ctx->txn, NULL, error) == NULL)
      return FALSE;
  }
  note_address (ctx, dev, key);
  return TRUE;
}

static void
mark_aggregate (DaDomainCtx *ctx, guint64 key)
{
  guint64 base = slot_base (key);
  guint i;

  for (i = 0; i < ctx->aggregate->len; i++) {
    guint64 have = g_array_index (ctx->aggregate, guint64, i);

    if (have == base)
      return;
    if (have > base)
      break;
  }
  g_array_insert_val (ctx->aggregate, i, base);
}

/* the lowest free function of the first slot root ports share, or FALSE */
static gboolean
aggregate_candidate (DaDomainCtx *ctx, guint64 *key)
{
  for (guint i = 0; i < ctx->aggregate->len; i++) {
    guint64 base = g_array_index (ctx->aggregate, guint64, i);

    for (guint f = 0; f < 8; f++) {
      if (da_scope_lookup_address (ctx->scope, "pci", base + f) == NULL) {
        *key = base + f;
        return TRUE;
      }
    }
  }
  return FALSE;
}

/* virDomainPCIAddressReserveNextAddr: function 0 (or the one asked for) of
 * the first whole free slot on a bus that takes the device; in the dry run
 * a new bus when there is none */
static gboolean
reserve_next (PciRun *run, DaDevice *dev, const char *what, guint flags, int function, GError **error)
{
  DaDomainCtx *ctx = run->ctx;
  g_autofree char *dummy = NULL;
  const char *alias;
  const char *who;
  g_autoptr (GError) local = NULL;
  guint64 key = 0, shared = 0;
  gboolean have_shared;
  guint savepoint = da_txn_savepoint (ctx->txn);
  DaConstraint c;

  if (dev != NULL) {
    alias = dev->alias;
    who = dev->key;
  } else {
    dummy = g_strdup_printf ("devaddr-dry-run-%u", run->n_dummies++);
    alias = dummy;
    who = what;
  }
  da_constraint_init (&c, ctx->pci_type, TRUE);
  if (function > 0)
    da_constraint_set_dimension (&c, ctx->pci_type, "function", (guint64) function, (guint64) function, NULL);
  if (flags & DA_PCI_INTEGRATED)
    da_constraint_set_dimension (&c, ctx->pci_type, "bus", 0, 0, NULL);
  da_pci_tags_for (flags, c.tags);

  have_shared = (flags & DA_PCI_AGGREGATE_SLOT) && aggregate_candidate (ctx, &shared);
  if (da_domain_reserve_dynamic (ctx, alias, "pci", &c, &key, &local)) {
    /* root ports share a slot whose first function went to a root port,
     * when that slot comes first */
    if (have_shared && shared < key) {
      da_txn_rollback_to (ctx->txn, savepoint);
      return reserve_at (run, dev, alias, shared, error);
    }
    if (dev != NULL)
      dev->res_type = "pci";
    note_address (ctx, dev, key);
    if (flags & DA_PCI_AGGREGATE_SLOT)
      mark_aggregate (ctx, key);
    return TRUE;
  }
  if (have_shared)
    return reserve_at (run, dev, alias, shared, error);
  if (!g_error_matches (local, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED)) {
    g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ", who);
    return FALSE;
  }
  if (!run->dry) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED, "%s (%s): no more available PCI slots (%s)", who,
                 alias, local->message);
    return FALSE;
  }
  {
    guint bus;

    if (!grow (run, run->buses->len, flags, who, &bus, error))
      return FALSE;
    key = da_pci_key (ctx, bus, min_slot (run, bus), function > 0 ? (guint) function : 0);
    if (!reserve_at (run, dev, alias, key, error))
      return FALSE;
    if (flags & DA_PCI_AGGREGATE_SLOT)
      mark_aggregate (ctx, key);
    return TRUE;
  }
}

static gboolean
wants_address (DaDevice *dev)
{
  return dev->addr.kind == DA_ADDR_NONE && dev->builtin == NULL && dev->connect != 0;
}

static gboolean
place (PciRun *run, DaDevice *dev, GError **error)
{
  if (!wants_address (dev))
    return TRUE;
  return reserve_next (run, dev, NULL, dev->connect, -1, error);
}

/* ------------------------------------------------------------------ */
/* the steps of a pass */

/* can a written address put a device of these flags on that bus; libvirt
 * is lenient with what the user wrote: any endpoint on any endpoint bus */
static gboolean
static_fits (DaDomainCtx *ctx, DaDevice *dev, guint flags, guint64 key, GError **error)
{
  const char *needs = NULL;
  gboolean ok;

  if (flags & DA_PCI_INTEGRATED) {
    ok = dev->addr.v[1] == 0;
    needs = "an integrated device (bus 0)";
  } else if (flags & (DA_PCI_PCI_DEVICE | DA_PCI_PCIE_DEVICE | DA_PCI_PCI_BRIDGE)) {
    ok = has_tag (ctx, key, "pci") || has_tag (ctx, key, "pcie");
    needs = flags & DA_PCI_PCIE_DEVICE ? "PCI Express device" : "standard PCI device";
  } else {
    const char *tags[DA_MAX_TAGS + 1];

    da_pci_tags_for (flags & ~DA_PCI_AUTOASSIGN, tags);
    ok = tags[0] == NULL || has_tag (ctx, key, tags[0]);
    needs = model_of_flags (flags) ?: "device of this kind";
  }
  /* a key outside the pool is the engine's to explain */
  if (!ok && da_range_map_lookup (da_pool_get_ranges (da_scope_get_pool (ctx->scope, "pci")), key, NULL, NULL)) {
    g_autofree char *where = da_addr_format (&dev->addr);

    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                 "%s (%s): the device at %s cannot be plugged into the PCI controller with index='%" G_GUINT64_FORMAT
                 "'; it requires a controller that accepts a %s", dev->key, dev->alias, where, dev->addr.v[1], needs);
    return FALSE;
  }
  return TRUE;
}

gboolean
da_pci_check_domain (const DaDevice *dev, GError **error)
{
  if (dev->addr.v[0] != 0) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                 "%s (%s): invalid PCI address, only PCI domain 0 is available", dev->key,
                 dev->alias != NULL ? dev->alias : "no alias yet");
    return FALSE;
  }
  return TRUE;
}

static gboolean
reserve_statics (PciRun *run, GError **error)
{
  DaDomainCtx *ctx = run->ctx;

  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);
    guint flags = dev->connect != 0 ? dev->connect : DA_PCI_PCI_DEVICE;
    guint bus = (guint) dev->addr.v[1];
    gboolean was_empty;
    guint64 key;

    if (!dev->fixed || dev->addr.kind != DA_ADDR_PCI || dev->builtin != NULL || dev->kind == DA_DEV_OTHER)
      continue;
    if (!da_pci_check_domain (dev, error))
      return FALSE;
    /* on import, a bus nobody provides is not in the pool: the engine says so */
    if (run->buses != NULL && bus >= run->buses->len) {
      if (!run->dry) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                     "%s (%s): invalid PCI address, only PCI buses up to %u are available", dev->key, dev->alias,
                     run->buses->len - 1);
        return FALSE;
      }
      if (!grow (run, bus, flags, dev->key, &bus, error))
        return FALSE;
    }
    key = da_pci_key (ctx, bus, (guint) dev->addr.v[2], (guint) dev->addr.v[3]);
    if (!static_fits (ctx, dev, flags, key, error))
      return FALSE;
    was_empty = !da_pci_slot_in_use (ctx, bus, (guint) dev->addr.v[2]);
    if (!da_domain_reserve_exact (ctx, dev, "pci", key, TRUE, error))
      return FALSE;
    if ((flags & DA_PCI_AGGREGATE_SLOT) && was_empty && dev->res_type != NULL)
      mark_aggregate (ctx, key);
  }
  return TRUE;
}

static DaDevice *
first_video (DaDomainCtx *ctx)
{
  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);

    if (dev->kind == DA_DEV_VIDEO)
      return is (dev->model, "none") || is (dev->model, "ramfb") ? NULL : dev;
  }
  return NULL;
}

/* a fixed place for a device that wants one, if its slot is free */
static gboolean
place_at_free_slot (PciRun *run, DaDevice *dev, guint slot, GError **error)
{
  if (da_pci_slot_in_use (run->ctx, 0, slot))
    return TRUE;
  return reserve_at (run, dev, dev->alias, da_pci_key (run->ctx, 0, slot, 0), error);
}

/* qemuDomainValidateDevicePCISlotsChipsets: the machine's own places were
 * bound before (IDE, USB and video on i440fx, SATA on q35); what is left */
static gboolean
chipset (PciRun *run, GError **error)
{
  DaDomainCtx *ctx = run->ctx;
  DaDevice *video = first_video (ctx);

  if (ctx->machine == DA_MACHINE_PC)
    return video == NULL || place (run, video, error);

  for (guint i = 0; i < ctx->controllers->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->controllers, i);

    if (!wants_address (dev))
      continue;
    /* the first USB2 set at 00:1d, the next at 00:1a, where real Q35s have them */
    if (is (dev->type, "usb") && is (dev->model, "ich9-uhci1")) {
      guint slot = !da_pci_slot_in_use (ctx, 0, 0x1d) ? 0x1d : !da_pci_slot_in_use (ctx, 0, 0x1a) ? 0x1a : 0;

      if (slot != 0) {
        if (!reserve_at (run, dev, dev->alias, da_pci_key (ctx, 0, slot, 0), error))
          return FALSE;
        dev->addr.multifunction = 1;
      }
    }
    if (is (dev->type, "pci") && is (dev->model, "dmi-to-pci-bridge") && !place_at_free_slot (run, dev, 0x1e, error))
      return FALSE;
  }
  /* the first video at 00:01.0 when that slot is free */
  if (video != NULL && wants_address (video)) {
    if (!da_pci_slot_in_use (ctx, 0, 1)) {
      if (!reserve_at (run, video, video->alias, da_pci_key (ctx, 0, 1, 0), error))
        return FALSE;
    } else if (!place (run, video, error)) {
      return FALSE;
    }
  }
  /* the first ich9 sound card at 00:1b.0, where the real ICH9's HDA is */
  if (!da_pci_slot_in_use (ctx, 0, 0x1b)) {
    for (guint i = 0; i < ctx->devices->len; i++) {
      DaDevice *dev = g_ptr_array_index (ctx->devices, i);

      if (dev->kind == DA_DEV_SOUND && is (dev->model, "ich9") && wants_address (dev))
        return reserve_at (run, dev, dev->alias, da_pci_key (ctx, 0, 0x1b, 0), error);
    }
  }
  return TRUE;
}

static gboolean
is_usb2_companion (DaDevice *dev)
{
  return is (dev->type, "usb") && (is (dev->model, "ich9-ehci1") || is (dev->model, "ich9-uhci1")
                                   || is (dev->model, "ich9-uhci2") || is (dev->model, "ich9-uhci3"));
}

/* an ICH9 USB2 set (ehci1 and uhci1-3 of one index) shares one slot */
static gboolean
place_usb2 (PciRun *run, DaDevice *dev, GError **error)
{
  DaDomainCtx *ctx = run->ctx;
  int function = is (dev->model, "ich9-ehci1") ? 7 : is (dev->model, "ich9-uhci1") ? 0
                 : is (dev->model, "ich9-uhci2") ? 1 : 2;

  for (guint i = 0; i < ctx->controllers->len; i++) {
    DaDevice *other = g_ptr_array_index (ctx->controllers, i);

    if (other != dev && is_usb2_companion (other) && other->index == dev->index && other->addr.kind == DA_ADDR_PCI)
      return reserve_at (run, dev, dev->alias,
                         da_pci_key (ctx, (guint) other->addr.v[1], (guint) other->addr.v[2], (guint) function), error);
  }
  if (!reserve_next (run, dev, NULL, dev->connect, function, error))
    return FALSE;
  if (function == 0)
    dev->addr.multifunction = 1;
  return TRUE;
}

static gboolean
place_kind (PciRun *run, DaDevKind kind, gboolean (*want) (DaDevice *dev), GError **error)
{
  DaDomainCtx *ctx = run->ctx;
  GPtrArray *list = kind == DA_DEV_DISK ? ctx->disks : ctx->devices;

  for (guint i = 0; i < list->len; i++) {
    DaDevice *dev = g_ptr_array_index (list, i);

    if (dev->kind == kind && (want == NULL || want (dev)) && !place (run, dev, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
want_interface (DaDevice *dev)
{
  return !is (dev->type, "hostdev");
}

static gboolean
want_sound (DaDevice *dev)
{
  return !is (dev->model, "sb16") && !is (dev->model, "pcspk") && !is (dev->model, "usb");
}

static gboolean
want_virtio_disk (DaDevice *dev)
{
  return is (dev->model, "virtio");
}

static gboolean
want_hostdev_interface (DaDevice *dev)
{
  return is (dev->type, "hostdev") && dev->given.kind != DA_ADDR_OTHER;
}

static gboolean
want_hostdev (DaDevice *dev)
{
  return is (dev->model, "subsystem") && (is (dev->type, "pci") || is (dev->type, "scsi_host") || is (dev->type, "mdev"))
         && dev->given.kind != DA_ADDR_OTHER;
}

static gboolean
want_watchdog (DaDevice *dev)
{
  return is (dev->model, "i6300esb");
}

static gboolean
want_virtio_input (DaDevice *dev)
{
  return is (dev->bus, "virtio");
}

static gboolean
want_pci_serial (DaDevice *dev)
{
  return is (dev->bus, "pci-serial");
}

static gboolean
want_virtio_memory (DaDevice *dev)
{
  return is (dev->model, "virtio-pmem") || is (dev->model, "virtio-mem");
}

static gboolean
want_pvpanic (DaDevice *dev)
{
  return is (dev->model, "pvpanic");
}

/* qemuDomainAssignDevicePCISlots: the order in which devices without an
 * address get one (RULES.md §4.5) */
static gboolean
assign_slots (PciRun *run, GError **error)
{
  DaDomainCtx *ctx = run->ctx;

  for (guint i = 0; i < ctx->controllers->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->controllers, i);

    if (is (dev->type, "pci") && !place (run, dev, error))
      return FALSE;
  }
  if (!place_kind (run, DA_DEV_FILESYSTEM, NULL, error) || !place_kind (run, DA_DEV_INTERFACE, want_interface, error)
      || !place_kind (run, DA_DEV_SOUND, want_sound, error))
    return FALSE;
  for (guint i = 0; i < ctx->controllers->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->controllers, i);

    if (is (dev->type, "pci") || is (dev->type, "fdc") || is (dev->type, "ccid") || !wants_address (dev))
      continue;
    if (is (dev->type, "ide") && dev->index == 0)
      continue;
    if (is_usb2_companion (dev) ? !place_usb2 (run, dev, error) : !place (run, dev, error))
      return FALSE;
  }
  for (guint i = 0; i < ctx->disks->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->disks, i);

    if (want_virtio_disk (dev) && dev->addr.kind != DA_ADDR_NONE && dev->addr.kind != DA_ADDR_PCI) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                   "%s: a virtio disk cannot have an address of type '%s'", dev->key,
                   da_xml_child_attr (dev->node, "address", "type"));
      return FALSE;
    }
  }
  /* the hostdev list has the interfaces type='hostdev' first: libvirt
   * parses <interface> before <hostdev> and adds their hostdevs then */
  return place_kind (run, DA_DEV_DISK, want_virtio_disk, error)
         && place_kind (run, DA_DEV_INTERFACE, want_hostdev_interface, error)
         && place_kind (run, DA_DEV_HOSTDEV, want_hostdev, error)
         && place_kind (run, DA_DEV_MEMBALLOON, NULL, error)
         && place_kind (run, DA_DEV_RNG, NULL, error)
         && place_kind (run, DA_DEV_WATCHDOG, want_watchdog, error)
         && place_kind (run, DA_DEV_VIDEO, NULL, error)
         && place_kind (run, DA_DEV_SHMEM, NULL, error)
         && place_kind (run, DA_DEV_INPUT, want_virtio_input, error)
         && place_kind (run, DA_DEV_SERIAL, want_pci_serial, error)
         && place_kind (run, DA_DEV_IOMMU, NULL, error)
         && place_kind (run, DA_DEV_VSOCK, NULL, error)
         && place_kind (run, DA_DEV_MEMORY, want_virtio_memory, error)
         && place_kind (run, DA_DEV_CRYPTO, NULL, error)
         && place_kind (run, DA_DEV_PANIC, want_pvpanic, error);
}

/* is any slot of any bus without a single function in use */
static gboolean
some_slot_free (PciRun *run)
{
  DaDomainCtx *ctx = run->ctx;
  guint savepoint = da_txn_savepoint (ctx->txn);
  DaConstraint c;
  guint64 key;
  gboolean found;

  da_constraint_init (&c, ctx->pci_type, TRUE);
  found = da_domain_reserve_dynamic (ctx, "devaddr-dry-run-probe", "pci", &c, &key, NULL);
  da_txn_rollback_to (ctx->txn, savepoint);
  return found;
}

/* ------------------------------------------------------------------ */
/* one pass */

static gboolean
pci_pass (PciRun *run, GArray *added, GError **error)
{
  DaDomainCtx *ctx = run->ctx;

  run->max_index = -1;
  for (guint i = 0; i < ctx->controllers->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->controllers, i);

    if (is (dev->type, "pci"))
      run->max_index = MAX (run->max_index, dev->index);
  }
  /* one bus per index up to the highest; a gap gets the default model */
  for (int i = 0; i <= run->max_index; i++) {
    DaDevice *dev = da_domain_find_controller (ctx, "pci", i);
    const char *model = dev != NULL ? dev->model
                        : i == 0 ? (ctx->machine == DA_MACHINE_Q35 ? "pcie-root" : "pci-root")
                        : ctx->machine == DA_MACHINE_Q35 ? "pcie-root-port" : "pci-bridge";

    if (da_catalog_get_bus_model (ctx->catalog, model) == NULL) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s has model %s, which devaddr does not know",
                   dev != NULL ? dev->key : "a PCI controller", model);
      return FALSE;
    }
    if (!push_bus (run, model, FALSE, error))
      return FALSE;
  }
  g_array_set_size (ctx->aggregate, 0);

  if (!reserve_statics (run, error) || !chipset (run, error))
    return FALSE;
  /* i440fx: keep one slot for a future pci-bridge, so that a bus that
   * would be full gets a bridge now (RULES.md §4.4) */
  if (run->dry && ctx->machine == DA_MACHINE_PC && some_slot_free (run)
      && !reserve_next (run, NULL, "the slot kept for a future pci-bridge", DA_PCI_PCI_DEVICE | DA_PCI_AUTOASSIGN, -1,
                        error))
    return FALSE;
  if (!assign_slots (run, error))
    return FALSE;
  if (!run->dry)
    return TRUE;

  /* a new q35 domain gets one empty root port for hotplug (RULES.md §4.7) */
  if (ctx->machine == DA_MACHINE_Q35 && run->max_index <= 0 && (int) run->buses->len > run->max_index + 1
      && !reserve_next (run, NULL, "the spare root port", DA_PCI_PCIE_DEVICE | DA_PCI_AUTOASSIGN, -1, error))
    return FALSE;
  /* the controllers of the new buses need slots too, and may add more */
  for (guint i = 1; i < run->buses->len; i++) {
    PciBus *bus = &g_array_index (run->buses, PciBus, i);
    const char *model = bus->model;
    guint flags;

    if (da_domain_find_controller (ctx, "pci", (int) i) != NULL)
      continue;
    g_array_append_val (added, model);
    flags = is (model, "pcie-root-port") ? DA_PCI_PCIE_ROOT_PORT | DA_PCI_AGGREGATE_SLOT
            : is (model, "pcie-to-pci-bridge") ? DA_PCI_PCIE_TO_PCI_BRIDGE : DA_PCI_PCI_BRIDGE;
    {
      g_autofree char *what = g_strdup_printf ("the %s for PCI bus %u", model, i);

      if (!reserve_next (run, NULL, what, flags, -1, error))
        return FALSE;
    }
  }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* what the real pass writes besides addresses */

static void
set_multifunction (DaDomainCtx *ctx)
{
  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);

    if (dev->addr.kind != DA_ADDR_PCI || dev->addr.v[3] == 0 || (dev->res_type == NULL && dev->builtin == NULL))
      continue;
    for (guint j = 0; j < ctx->devices->len; j++) {
      DaDevice *first = g_ptr_array_index (ctx->devices, j);

      if (first->addr.kind == DA_ADDR_PCI && first->addr.v[0] == dev->addr.v[0] && first->addr.v[1] == dev->addr.v[1]
          && first->addr.v[2] == dev->addr.v[2] && first->addr.v[3] == 0
          && (first->res_type != NULL || first->builtin != NULL)) {
        /* unless the XML says off */
        if (first->addr.multifunction < 0)
          first->addr.multifunction = 1;
        break;
      }
    }
  }
}

static const char *
pci_model_name (const char *model)
{
  static const char *const names[][2] = {
    { "pci-bridge", "pci-bridge" },
    { "dmi-to-pci-bridge", "i82801b11-bridge" },
    { "pcie-to-pci-bridge", "pcie-pci-bridge" },
    { "pcie-root-port", "pcie-root-port" },
    { "pcie-switch-upstream-port", "x3130-upstream" },
    { "pcie-switch-downstream-port", "xio3130-downstream" },
    { "pci-expander-bus", "pxb" },
    { "pcie-expander-bus", "pxb-pcie" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (is (model, names[i][0]))
      return names[i][1];
  return NULL;
}

static xmlNode *
ensure_child (xmlNode *node, const char *name, xmlNode *before)
{
  xmlNode *child = da_xml_child (node, name);

  if (child != NULL)
    return child;
  child = xmlNewNode (NULL, (const xmlChar *) name);
  if (before != NULL)
    xmlAddPrevSibling (before, child);
  else
    xmlAddChild (node, child);
  return child;
}

/* the values libvirt fills in on PCI controllers (RULES.md §4.8) */
static gboolean
controller_options (DaDomainCtx *ctx, GError **error)
{
  for (guint i = 0; i < ctx->controllers->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->controllers, i);
    const char *name = pci_model_name (dev->model);
    xmlNode *target;

    if (!is (dev->type, "pci"))
      continue;
    if (is (dev->model, "pci-bridge") && dev->addr.kind == DA_ADDR_PCI && (guint64) dev->index <= dev->addr.v[1]) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "%s: PCI controller at index %d (0x%02x) has bus='0x%02" G_GINT64_MODIFIER "x', but index must "
                   "be larger than bus", dev->key, dev->index, dev->index, dev->addr.v[1]);
      return FALSE;
    }
    if (!ctx->write_defaults || name == NULL)
      continue;
    if (da_xml_child (dev->node, "model") == NULL)
      da_xml_set_attr (ensure_child (dev->node, "model", da_xml_child (dev->node, "target")), "name", name);
    if (is (dev->model, "pci-bridge")) {
      target = ensure_child (dev->node, "target", NULL);
      if (da_xml_attr (target, "chassisNr") == NULL)
        da_xml_set_attr_printf (target, "chassisNr", "%d", dev->index);
    } else if (dev->addr.kind == DA_ADDR_PCI
               && (is (dev->model, "pcie-root-port") || is (dev->model, "pcie-switch-downstream-port"))) {
      target = ensure_child (dev->node, "target", NULL);
      if (da_xml_attr (target, "chassis") == NULL)
        da_xml_set_attr_printf (target, "chassis", "%d", dev->index);
      if (da_xml_attr (target, "port") == NULL) {
        guint64 port = is (dev->model, "pcie-root-port") ? (dev->addr.v[2] << 3) + dev->addr.v[3] : dev->addr.v[2];

        da_xml_set_attr_printf (target, "port", "0x%" G_GINT64_MODIFIER "x", port);
      }
    }
  }
  return TRUE;
}

/* ------------------------------------------------------------------ */

typedef struct {
  DaAddr addr;
  const char *res_type;
} Saved;

/* import: the buses of the XML's controllers and every address in it */
static gboolean
import_pci (DaDomainCtx *ctx, GError **error)
{
  PciRun run = { ctx, FALSE, NULL, -1, 0 };
  gboolean ok = TRUE;

  for (guint i = 0; ok && i < ctx->controllers->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->controllers, i);

    if (!is (dev->type, "pci"))
      continue;
    if (da_catalog_get_bus_model (ctx->catalog, dev->model ?: "") == NULL) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s has model %s, which devaddr does not know",
                   dev->key, dev->model ?: "(none)");
      return FALSE;
    }
    ok = da_scope_add_bus (ctx->scope, dev->model, (guint64) dev->index, NULL, ctx->txn, error);
  }
  return ok && reserve_statics (&run, error);
}

gboolean
da_domain_assign_pci (DaDomainCtx *ctx, GError **error)
{
  g_autoptr (GArray) added = g_array_new (FALSE, FALSE, sizeof (const char *));
  g_autofree Saved *saved = NULL;
  PciRun dry = { ctx, TRUE, NULL, -1, 0 };
  PciRun real = { ctx, FALSE, NULL, -1, 0 };
  guint savepoint;
  gboolean ok;

  if (ctx->importing)
    return import_pci (ctx, error);

  /* the dry run leaves nothing behind but the list of buses to add */
  saved = g_new0 (Saved, ctx->devices->len);
  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);

    saved[i].addr = dev->addr;
    saved[i].res_type = dev->res_type;
  }
  savepoint = da_txn_savepoint (ctx->txn);
  dry.buses = g_array_new (FALSE, FALSE, sizeof (PciBus));
  ok = pci_pass (&dry, added, error);
  g_array_unref (dry.buses);
  da_txn_rollback_to (ctx->txn, savepoint);
  if (!ok)
    return FALSE;
  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);

    dev->addr = saved[i].addr;
    dev->res_type = saved[i].res_type;
  }

  /* the new buses' controllers, appended in index order */
  for (guint i = 1, n = 0; n < added->len; i++) {
    if (da_domain_find_controller (ctx, "pci", (int) i) != NULL)
      continue;
    if (da_domain_add_controller (ctx, "pci", (int) i, g_array_index (added, const char *, n), error) == NULL)
      return FALSE;
    n++;
  }

  real.buses = g_array_new (FALSE, FALSE, sizeof (PciBus));
  ok = pci_pass (&real, NULL, error);
  g_array_unref (real.buses);
  if (!ok)
    return FALSE;
  set_multifunction (ctx);
  return controller_options (ctx, error);
}
