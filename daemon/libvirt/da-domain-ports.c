/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "daemon/alloc/da-alloc-error.h"
#include "daemon/alloc/da-drive.h"
#include "da-domain-private.h"

/* drive, virtio-serial and USB addresses (RULES.md §5, §6, §7) */

static gboolean
is (const char *a, const char *b)
{
  return a != NULL && strcmp (a, b) == 0;
}

static gboolean
drive_bus_of (DaDevice *disk, DaDriveBus *bus)
{
  return disk->model != NULL && da_drive_bus_from_string (disk->model, bus);
}

/* ------------------------------------------------------------------ */
/* drives */

/* virDomainDiskDefAssignAddress: the address follows from the target name */
gboolean
da_domain_assign_drives (DaDomainCtx *ctx, GError **error)
{
  for (guint i = 0; i < ctx->disks->len; i++) {
    DaDevice *disk = g_ptr_array_index (ctx->disks, i);
    DaDriveBus bus;
    DaDriveAddress address;
    guint index;

    if (disk->model == NULL) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "disk[target=%s] has no bus and its target name names none",
                   disk->target);
      return FALSE;
    }
    if (is (disk->model, "ide") && ctx->machine == DA_MACHINE_Q35) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "disk[target=%s]: IDE controllers are unsupported for this QEMU binary or machine type", disk->target);
      return FALSE;
    }
    if (!drive_bus_of (disk, &bus))
      continue;
    if (disk->fixed) {
      if (disk->addr.kind != DA_ADDR_DRIVE) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                     "disk[target=%s] on the %s bus has an address of type '%s'", disk->target, disk->model,
                     da_xml_child_attr (disk->node, "address", "type"));
        return FALSE;
      }
      continue;
    }
    if (!da_drive_name_to_index (disk->target, &index, error)) {
      g_prefix_error (error, "disk[target=%s]: ", disk->target);
      return FALSE;
    }
    da_drive_address_from_index (bus, index, &address);
    /* a long target name ("sdsata") is a drive far beyond any controller
     * there can be: refuse it before a controller is added for each index
     * up to it */
    {
      DaAddressType *type = da_catalog_get_type (ctx->catalog, da_drive_bus_type (bus));
      int dim = type != NULL ? da_address_type_find_dimension (type, "controller") : -1;

      if (dim >= 0 && address.controller > da_address_type_get_dimension (type, (guint) dim)->max) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                     "disk[target=%s] would be on %s controller %u, beyond the last one there can be (%" G_GUINT64_FORMAT
                     ")", disk->target, disk->model, address.controller,
                     da_address_type_get_dimension (type, (guint) dim)->max);
        return FALSE;
      }
    }
    disk->addr.kind = DA_ADDR_DRIVE;
    disk->addr.v[0] = address.controller;
    disk->addr.v[1] = address.bus;
    disk->addr.v[2] = address.target;
    disk->addr.v[3] = address.unit;
  }
  return TRUE;
}

const char *
da_drive_bus_model (DaDevice *controller)
{
  if (is (controller->type, "ide") || is (controller->type, "sata") || is (controller->type, "fdc"))
    return controller->type;
  if (is (controller->type, "scsi"))
    return is (controller->model, "virtio-scsi") || is (controller->model, "virtio-non-transitional")
                   || is (controller->model, "virtio-transitional")
               ? "virtio-scsi"
               : "scsi";
  return NULL;
}

gboolean
da_domain_reserve_drives (DaDomainCtx *ctx, GError **error)
{
  for (guint i = 0; i < ctx->controllers->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->controllers, i);
    const char *model = da_drive_bus_model (dev);

    if (model != NULL && !da_scope_add_bus (ctx->scope, model, (guint64) dev->index, NULL, ctx->txn, error))
      return FALSE;
  }
  for (guint i = 0; i < ctx->disks->len; i++) {
    DaDevice *disk = g_ptr_array_index (ctx->disks, i);
    DaDriveBus bus;

    if (disk->addr.kind != DA_ADDR_DRIVE || !drive_bus_of (disk, &bus))
      continue;
    disk->drive_type = da_drive_bus_type (bus);
    if (!da_domain_reserve_exact (ctx, disk, disk->drive_type, da_addr_key (ctx, &disk->addr, disk->drive_type),
                                  disk->fixed, error))
      return FALSE;
  }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* virtio-serial */

static gboolean
add_virtio_serial_bus (DaDomainCtx *ctx, DaDevice *dev, GError **error)
{
  g_autofree char *ports = g_strdup_printf ("ports=%d", dev->ports > 0 ? dev->ports : 31);
  const char *params[] = { ports, NULL };

  return da_scope_add_bus (ctx->scope, "virtio-serial", (guint64) dev->index, params, ctx->txn, error);
}

/* a controller at the lowest free index, when every port is taken */
static DaDevice *
add_virtio_serial_controller (DaDomainCtx *ctx, GError **error)
{
  DaDevice *dev;

  for (int index = 0;; index++) {
    if (da_domain_find_controller (ctx, "virtio-serial", index) != NULL)
      continue;
    dev = da_domain_add_controller (ctx, "virtio-serial", index, NULL, error);
    if (dev == NULL || !add_virtio_serial_bus (ctx, dev, error))
      return NULL;
    return dev;
  }
}

static void
set_port (DaDomainCtx *ctx, DaDevice *dev, guint64 key)
{
  da_addr_from_key (ctx, &dev->addr, DA_ADDR_VIRTIO_SERIAL, "virtio-serial", key);
  dev->res_type = "virtio-serial";
}

/* A virtio console needs no address in libvirt's XML: libvirt picks port
 * 0 for it in a scratch copy and never marks it used (port 0 of a
 * controller is for a console, and a channel never gets one).  devaddr
 * records the port 0 a console is on, the first free one, and nothing
 * more: a console never adds a controller. */
static gboolean
reserve_console_port (DaDomainCtx *ctx, DaDevice *dev, GError **error)
{
  DaAddressType *type = da_catalog_get_type (ctx->catalog, "virtio-serial");
  DaConstraint c;
  guint64 key;

  da_constraint_init (&c, type, TRUE);
  c.not_tags[0] = NULL;
  c.tags[0] = "console";
  if (!da_domain_reserve_dynamic (ctx, dev->alias, "virtio-serial", &c, &key, NULL))
    return TRUE;
  set_port (ctx, dev, key);
  dev->hidden = TRUE;
  return TRUE;
}

/* virDomainVirtioSerialAddrAutoAssign for a channel: ports from 1 */
static gboolean
assign_port (DaDomainCtx *ctx, DaDevice *dev, gboolean console, GError **error)
{
  DaAddressType *type = da_catalog_get_type (ctx->catalog, "virtio-serial");
  g_autoptr (GError) local = NULL;
  DaConstraint c;
  DaDevice *controller;
  guint64 key;

  da_constraint_init (&c, type, TRUE);
  if (console)
    c.not_tags[0] = NULL;
  if (dev->given.kind == DA_ADDR_VIRTIO_SERIAL) {
    /* a controller without a port: that controller only, from port 1 */
    c.not_tags[0] = "console";
    da_constraint_set_dimension (&c, type, "controller", dev->given.v[0], dev->given.v[0], NULL);
    if (!da_domain_reserve_dynamic (ctx, dev->alias, "virtio-serial", &c, &key, &local)) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED,
                   "%s (%s): unable to find a free port on virtio-serial controller %" G_GUINT64_FORMAT " (%s)",
                   dev->key, dev->alias, dev->given.v[0], local->message);
      return FALSE;
    }
    set_port (ctx, dev, key);
    return TRUE;
  }
  if (da_domain_reserve_dynamic (ctx, dev->alias, "virtio-serial", &c, &key, &local)) {
    set_port (ctx, dev, key);
    return TRUE;
  }
  if (!g_error_matches (local, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED) || ctx->importing) {
    g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s (%s): ", dev->key, dev->alias);
    return FALSE;
  }
  controller = add_virtio_serial_controller (ctx, error);
  if (controller == NULL)
    return FALSE;
  {
    DaAddr addr = { DA_ADDR_VIRTIO_SERIAL, { (guint64) controller->index, 0, console ? 0 : 1 }, -1 };

    if (!da_domain_reserve_exact (ctx, dev, "virtio-serial", da_addr_key (ctx, &addr, "virtio-serial"), FALSE, error))
      return FALSE;
    dev->addr = addr;
  }
  return TRUE;
}

gboolean
da_domain_assign_virtio_serial (DaDomainCtx *ctx, GError **error)
{
  for (guint i = 0; i < ctx->controllers->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->controllers, i);

    if (is (dev->type, "virtio-serial") && !add_virtio_serial_bus (ctx, dev, error))
      return FALSE;
  }
  /* every complete address first */
  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);

    if (!da_device_is_virtio_serial (dev) || dev->given.kind != DA_ADDR_VIRTIO_SERIAL || dev->given.v[2] == 0)
      continue;
    if (da_domain_find_controller (ctx, "virtio-serial", (int) dev->given.v[0]) == NULL) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS, "%s (%s): virtio serial controller %"
                   G_GUINT64_FORMAT " is missing", dev->key, dev->alias, dev->given.v[0]);
      return FALSE;
    }
    if (!da_domain_reserve_exact (ctx, dev, "virtio-serial", da_addr_key (ctx, &dev->given, "virtio-serial"), TRUE,
                                  error))
      return FALSE;
  }
  /* consoles, then channels, each in document order */
  for (guint pass = 0; pass < 2; pass++) {
    DaDevKind kind = pass == 0 ? DA_DEV_CONSOLE : DA_DEV_CHANNEL;

    for (guint i = 0; i < ctx->devices->len; i++) {
      DaDevice *dev = g_ptr_array_index (ctx->devices, i);

      if (dev->kind != kind || !da_device_is_virtio_serial (dev) || dev->res_type != NULL)
        continue;
      if (dev->given.kind == DA_ADDR_VIRTIO_SERIAL && dev->given.v[2] != 0)
        continue;
      if (kind == DA_DEV_CONSOLE && dev->given.kind != DA_ADDR_VIRTIO_SERIAL) {
        if (!reserve_console_port (ctx, dev, error))
          return FALSE;
        continue;
      }
      /* import adds nothing */
      if (ctx->importing)
        continue;
      /* an address of another type on a virtio channel is replaced by the
       * port (virDomainVirtioSerialAddrAssign sets the type) */
      if (dev->given.kind != DA_ADDR_VIRTIO_SERIAL)
        dev->fixed = FALSE;
      if (!assign_port (ctx, dev, kind == DA_DEV_CONSOLE, error))
        return FALSE;
    }
  }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* USB */

guint
da_usb_controller_ports (DaDevice *controller)
{
  const char *m = controller->model;

  if (m == NULL || is (m, "piix3-uhci") || is (m, "piix4-uhci") || is (m, "vt82c686b-uhci"))
    return 2;
  if (is (m, "ehci") || is (m, "ich9-ehci1"))
    return 6;
  if (is (m, "pci-ohci"))
    return 3;
  if (is (m, "qemu-xhci") || is (m, "nec-xhci"))
    return controller->ports > 0 ? (guint) MIN (controller->ports, 15) : 4;
  if (is (m, "qusb1") || is (m, "qusb2"))
    return controller->ports > 0 ? (guint) MIN (controller->ports, 15) : 8;
  /* ich9-uhci1-3 are companions of the ehci1, none, unknown */
  return 0;
}

static guint
usb_depth (const DaAddr *addr)
{
  guint depth = 0;

  while (depth < 4 && addr->v[1 + depth] != 0)
    depth++;
  return depth;
}

/* virDomainUSBDeviceDefForeach: hubs, host devices, disks, smartcard
 * controllers, inputs, serials, sound, redirections */
static GPtrArray *
usb_devices (DaDomainCtx *ctx, gboolean with_hubs)
{
  static const DaDevKind order[] = {
    DA_DEV_HUB, DA_DEV_HOSTDEV, DA_DEV_DISK, DA_DEV_CONTROLLER, DA_DEV_INPUT, DA_DEV_SERIAL, DA_DEV_SOUND,
    DA_DEV_REDIRDEV,
  };
  GPtrArray *out = g_ptr_array_new ();

  for (guint k = with_hubs ? 0 : 1; k < G_N_ELEMENTS (order); k++) {
    GPtrArray *list = order[k] == DA_DEV_DISK ? ctx->disks : order[k] == DA_DEV_CONTROLLER ? ctx->controllers
                                                                                          : ctx->devices;

    for (guint i = 0; i < list->len; i++) {
      DaDevice *dev = g_ptr_array_index (list, i);

      if (dev->kind == order[k] && da_device_is_usb (dev))
        g_ptr_array_add (out, dev);
    }
  }
  return out;
}

static gboolean
add_hub_bus (DaDomainCtx *ctx, DaDevice *hub, GError **error)
{
  guint depth = usb_depth (&hub->addr);
  g_autofree char *model = g_strdup_printf ("usb-hub-%u", depth);
  g_autofree char *p1 = g_strdup_printf ("port1=%" G_GUINT64_FORMAT, hub->addr.v[1]);
  g_autofree char *p2 = g_strdup_printf ("port2=%" G_GUINT64_FORMAT, hub->addr.v[2]);
  g_autofree char *p3 = g_strdup_printf ("port3=%" G_GUINT64_FORMAT, hub->addr.v[3]);
  const char *params[] = { p1, p2, p3, NULL };

  if (depth < 1 || depth > 3) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                 "%s (%s): a hub at a depth of %u ports has no room for its own ports", hub->key, hub->alias, depth);
    return FALSE;
  }
  params[depth] = NULL;
  return da_scope_add_bus (ctx->scope, model, hub->addr.v[0], params, ctx->txn, error);
}

/* virDomainUSBAddressFindFreePort: the hub's own free ports first, then
 * depth first into the hubs on it, in port order */
static gboolean
find_port (DaDomainCtx *ctx, DaDevice *dev, guint64 bus, const guint64 *path, guint depth, GPtrArray *hubs)
{
  DaAddressType *type = da_catalog_get_type (ctx->catalog, "usb");
  static const char *const dims[] = { "port1", "port2", "port3", "port4" };
  g_autoptr (GArray) below = g_array_new (FALSE, FALSE, sizeof (guint64));
  DaConstraint c;
  guint64 key;

  da_constraint_init (&c, type, TRUE);
  da_constraint_set_dimension (&c, type, "bus", bus, bus, NULL);
  for (guint i = 0; i < 4; i++) {
    if (i < depth)
      da_constraint_set_dimension (&c, type, dims[i], path[i], path[i], NULL);
    else if (i == depth)
      da_constraint_set_dimension (&c, type, dims[i], 1, 15, NULL);
    else
      da_constraint_set_dimension (&c, type, dims[i], 0, 0, NULL);
  }
  if (da_domain_reserve_dynamic (ctx, dev->alias, "usb", &c, &key, NULL)) {
    da_addr_from_key (ctx, &dev->addr, DA_ADDR_USB, "usb", key);
    dev->res_type = "usb";
    return TRUE;
  }
  if (depth >= 3)
    return FALSE;
  for (guint i = 0; i < hubs->len; i++) {
    DaDevice *hub = g_ptr_array_index (hubs, i);
    gboolean under = hub->addr.kind == DA_ADDR_USB && hub->addr.v[0] == bus && usb_depth (&hub->addr) == depth + 1
                     && (hub->res_type != NULL);

    for (guint j = 0; under && j < depth; j++)
      under = hub->addr.v[1 + j] == path[j];
    if (under) {
      guint at = 0;

      while (at < below->len && g_array_index (below, guint64, at) < hub->addr.v[1 + depth])
        at++;
      g_array_insert_val (below, at, hub->addr.v[1 + depth]);
    }
  }
  for (guint i = 0; i < below->len; i++) {
    guint64 next[4] = { 0 };

    for (guint j = 0; j < depth; j++)
      next[j] = path[j];
    next[depth] = g_array_index (below, guint64, i);
    if (find_port (ctx, dev, bus, next, depth + 1, hubs))
      return TRUE;
  }
  return FALSE;
}

static gboolean
assign_usb_port (DaDomainCtx *ctx, DaDevice *dev, GPtrArray *buses, GPtrArray *hubs, GError **error)
{
  for (guint i = 0; i < buses->len; i++) {
    DaDevice *controller = g_ptr_array_index (buses, i);

    /* a bus the XML asked for, or the first with a free port */
    if (dev->usb_bus >= 0 && controller->index != dev->usb_bus)
      continue;
    if (find_port (ctx, dev, (guint64) controller->index, NULL, 0, hubs))
      return TRUE;
  }
  if (dev->usb_bus >= 0 && da_domain_find_controller (ctx, "usb", dev->usb_bus) == NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                 "%s (%s): USB bus %d requested but no controller with that index is present", dev->key, dev->alias,
                 dev->usb_bus);
    return FALSE;
  }
  g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED, "%s (%s): no free USB ports", dev->key, dev->alias);
  return FALSE;
}

static gint
compare_index (gconstpointer a, gconstpointer b)
{
  return (*(DaDevice **) a)->index - (*(DaDevice **) b)->index;
}

gboolean
da_domain_assign_usb (DaDomainCtx *ctx, GError **error)
{
  g_autoptr (GPtrArray) devices = usb_devices (ctx, TRUE);
  g_autoptr (GPtrArray) buses = g_ptr_array_new ();
  g_autoptr (GPtrArray) hubs = g_ptr_array_new ();
  gboolean usb_enabled = FALSE;
  guint ports = 0;

  for (guint i = 0; i < ctx->controllers->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->controllers, i);
    guint n;

    if (!is (dev->type, "usb"))
      continue;
    if (!is (dev->model, "none"))
      usb_enabled = TRUE;
    n = da_usb_controller_ports (dev);
    if (n == 0)
      continue;
    ports += n;
    g_ptr_array_add (buses, dev);
  }
  g_ptr_array_sort (buses, compare_index);
  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);

    if (dev->kind == DA_DEV_HUB && da_device_is_usb (dev)) {
      g_ptr_array_add (hubs, dev);
      ports += 8;
    }
  }
  if (devices->len > 0 && !usb_enabled) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "USB is disabled for this domain, but USB devices are present in the domain XML (%s)",
                 ((DaDevice *) g_ptr_array_index (devices, 0))->key);
    return FALSE;
  }
  /* qemuDomainUSBAddressAddHubs: hubs for what does not fit */
  if (!ctx->importing && devices->len > ports) {
    guint needed = (devices->len - ports + 1 + 6) / 7;

    for (guint i = 0; i < needed; i++) {
      DaDevice *hub = da_domain_add_element (ctx, DA_DEV_HUB, "hub", NULL, error);

      da_xml_set_attr (hub->node, "type", "usb");
      hub->type = g_strdup ("usb");
      da_domain_compute_keys (ctx);
      if (!da_domain_name_device (ctx, hub, error))
        return FALSE;
      g_ptr_array_add (hubs, hub);
    }
  }

  for (guint i = 0; i < buses->len; i++) {
    DaDevice *dev = g_ptr_array_index (buses, i);
    g_autofree char *param = g_strdup_printf ("ports=%u", da_usb_controller_ports (dev));
    const char *params[] = { param, NULL };

    if (!da_scope_add_bus (ctx->scope, "usb", (guint64) dev->index, params, ctx->txn, error))
      return FALSE;
  }
  /* hubs with an address, then every written address */
  for (guint i = 0; i < hubs->len; i++) {
    DaDevice *hub = g_ptr_array_index (hubs, i);

    if (hub->addr.kind != DA_ADDR_USB)
      continue;
    if (!da_domain_reserve_exact (ctx, hub, "usb", da_addr_key (ctx, &hub->addr, "usb"), TRUE, error))
      return FALSE;
    if (hub->res_type != NULL && !add_hub_bus (ctx, hub, error))
      return FALSE;
  }
  g_ptr_array_unref (devices);
  devices = usb_devices (ctx, FALSE);
  for (guint i = 0; i < devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (devices, i);

    if (dev->addr.kind == DA_ADDR_USB && dev->fixed
        && !da_domain_reserve_exact (ctx, dev, "usb", da_addr_key (ctx, &dev->addr, "usb"), TRUE, error))
      return FALSE;
  }
  if (ctx->importing)
    return TRUE;
  /* then the hubs without one, then the devices */
  for (guint i = 0; i < hubs->len; i++) {
    DaDevice *hub = g_ptr_array_index (hubs, i);

    if (hub->addr.kind != DA_ADDR_NONE)
      continue;
    if (!assign_usb_port (ctx, hub, buses, hubs, error) || !add_hub_bus (ctx, hub, error))
      return FALSE;
  }
  for (guint i = 0; i < devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (devices, i);

    if (dev->addr.kind == DA_ADDR_NONE && !assign_usb_port (ctx, dev, buses, hubs, error))
      return FALSE;
  }
  return TRUE;
}
