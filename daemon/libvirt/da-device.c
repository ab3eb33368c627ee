/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "daemon/alloc/da-alloc-error.h"
#include "daemon/alloc/da-drive.h"
#include "da-domain-private.h"

/* ------------------------------------------------------------------ */
/* libxml2 helpers: attribute values are borrowed from the tree */

const char *
da_xml_attr (xmlNode *node, const char *name)
{
  if (node == NULL)
    return NULL;
  for (xmlAttr *attr = node->properties; attr != NULL; attr = attr->next) {
    if (attr->ns == NULL && strcmp ((const char *) attr->name, name) == 0)
      return attr->children != NULL ? (const char *) attr->children->content : "";
  }
  return NULL;
}

xmlNode *
da_xml_child (xmlNode *node, const char *name)
{
  if (node == NULL)
    return NULL;
  for (xmlNode *child = node->children; child != NULL; child = child->next)
    if (child->type == XML_ELEMENT_NODE && strcmp ((const char *) child->name, name) == 0)
      return child;
  return NULL;
}

const char *
da_xml_child_attr (xmlNode *node, const char *child, const char *name)
{
  return da_xml_attr (da_xml_child (node, child), name);
}

void
da_xml_set_attr (xmlNode *node, const char *name, const char *value)
{
  xmlSetProp (node, (const xmlChar *) name, (const xmlChar *) value);
}

void
da_xml_set_attr_printf (xmlNode *node, const char *name, const char *format, ...)
{
  g_autofree char *value = NULL;
  va_list args;

  va_start (args, format);
  value = g_strdup_vprintf (format, args);
  va_end (args);
  da_xml_set_attr (node, name, value);
}

/* ------------------------------------------------------------------ */
/* device kinds */

static const char *const kind_names[] = {
  [DA_DEV_DISK] = "disk",
  [DA_DEV_CONTROLLER] = "controller",
  [DA_DEV_INTERFACE] = "interface",
  [DA_DEV_INPUT] = "input",
  [DA_DEV_SOUND] = "sound",
  [DA_DEV_VIDEO] = "video",
  [DA_DEV_HOSTDEV] = "hostdev",
  [DA_DEV_WATCHDOG] = "watchdog",
  [DA_DEV_MEMBALLOON] = "memballoon",
  [DA_DEV_RNG] = "rng",
  [DA_DEV_CHANNEL] = "channel",
  [DA_DEV_CONSOLE] = "console",
  [DA_DEV_SERIAL] = "serial",
  [DA_DEV_PARALLEL] = "parallel",
  [DA_DEV_HUB] = "hub",
  [DA_DEV_REDIRDEV] = "redirdev",
  [DA_DEV_SMARTCARD] = "smartcard",
  [DA_DEV_FILESYSTEM] = "filesystem",
  [DA_DEV_SHMEM] = "shmem",
  [DA_DEV_MEMORY] = "memory",
  [DA_DEV_VSOCK] = "vsock",
  [DA_DEV_TPM] = "tpm",
  [DA_DEV_PANIC] = "panic",
  [DA_DEV_IOMMU] = "iommu",
  [DA_DEV_CRYPTO] = "crypto",
};

DaDevKind
da_dev_kind_from_name (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++)
    if (kind_names[i] != NULL && strcmp (kind_names[i], name) == 0)
      return (DaDevKind) i;
  return DA_DEV_OTHER;
}

DaDevice *
da_device_new (DaDevKind kind, xmlNode *node)
{
  DaDevice *dev = g_new0 (DaDevice, 1);

  dev->kind = kind;
  dev->node = node;
  dev->index = -1;
  dev->ports = -1;
  dev->usb_bus = -1;
  dev->given.multifunction = -1;
  dev->addr.multifunction = -1;
  return dev;
}

void
da_device_free (DaDevice *dev)
{
  if (dev == NULL)
    return;
  g_free (dev->key);
  g_free (dev->alias);
  g_free (dev->type);
  g_free (dev->model);
  g_free (dev->bus);
  g_free (dev->target);
  g_free (dev);
}

/* ------------------------------------------------------------------ */
/* addresses */

static gboolean
read_number (xmlNode *node, const char *name, guint64 max, guint64 *out, GError **error)
{
  const char *text = da_xml_attr (node, name);

  *out = 0;
  if (text == NULL)
    return TRUE;
  if (!da_parse_u64 (text, out) || *out > max) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                 "<address> attribute %s='%s' is not a number up to %" G_GUINT64_FORMAT, name, text, max);
    return FALSE;
  }
  return TRUE;
}

/* virDomainDeviceAddressType, less those devaddr assigns and "none" */
static const char *const other_address_types[] = {
  "ccid", "spapr-vio", "virtio-s390", "ccw", "virtio-mmio", "isa", "dimm", "unassigned", NULL
};

static gboolean
parse_address (xmlNode *node, DaAddr *addr, GError **error)
{
  const char *type = da_xml_attr (node, "type");

  memset (addr, 0, sizeof (*addr));
  addr->multifunction = -1;
  if (type == NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS, "<address> without a type");
    return FALSE;
  }
  if (strcmp (type, "pci") == 0) {
    const char *multi = da_xml_attr (node, "multifunction");

    addr->kind = DA_ADDR_PCI;
    if (!read_number (node, "domain", 0xffff, &addr->v[0], error) || !read_number (node, "bus", 0xff, &addr->v[1], error)
        || !read_number (node, "slot", 0x1f, &addr->v[2], error) || !read_number (node, "function", 7, &addr->v[3], error))
      return FALSE;
    if (multi != NULL)
      addr->multifunction = strcmp (multi, "on") == 0 ? 1 : 0;
    /* libvirt treats an all-zero PCI address as "assign one" */
    if (addr->v[0] == 0 && addr->v[1] == 0 && addr->v[2] == 0 && addr->v[3] == 0)
      addr->kind = DA_ADDR_NONE;
    return TRUE;
  }
  if (strcmp (type, "drive") == 0) {
    addr->kind = DA_ADDR_DRIVE;
    return read_number (node, "controller", 1023, &addr->v[0], error) && read_number (node, "bus", 15, &addr->v[1], error)
           && read_number (node, "target", 65535, &addr->v[2], error) && read_number (node, "unit", 65535, &addr->v[3], error);
  }
  if (strcmp (type, "virtio-serial") == 0) {
    addr->kind = DA_ADDR_VIRTIO_SERIAL;
    return read_number (node, "controller", 1023, &addr->v[0], error) && read_number (node, "bus", 255, &addr->v[1], error)
           && read_number (node, "port", 511, &addr->v[2], error);
  }
  if (strcmp (type, "usb") == 0) {
    const char *port = da_xml_attr (node, "port");

    addr->kind = DA_ADDR_USB;
    if (!read_number (node, "bus", 255, &addr->v[0], error))
      return FALSE;
    if (port == NULL || *port == '\0') {
      /* a bus without a port: libvirt picks the port */
      addr->kind = DA_ADDR_NONE;
      return TRUE;
    }
    {
      g_auto (GStrv) parts = g_strsplit (port, ".", -1);
      guint n = g_strv_length (parts);

      if (n < 1 || n > 4) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS, "USB port '%s' has more than 4 levels", port);
        return FALSE;
      }
      for (guint i = 0; i < n; i++) {
        guint64 v;

        if (!da_parse_u64 (parts[i], &v) || v < 1 || v > 15) {
          g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS, "USB port '%s' is not a path of ports 1-15", port);
          return FALSE;
        }
        addr->v[1 + i] = v;
      }
    }
    return TRUE;
  }
  /* the other types libvirt knows are kept as written; any other type is
   * refused, as libvirt's parser refuses it */
  if (!g_strv_contains (other_address_types, type)) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS, "unknown address type '%s'", type);
    return FALSE;
  }
  addr->kind = DA_ADDR_OTHER;
  return TRUE;
}

guint64
da_addr_key (DaDomainCtx *ctx, const DaAddr *addr, const char *type_name)
{
  DaAddressType *type = da_catalog_get_type (ctx->catalog, type_name);

  return da_address_type_encode (type, addr->v);
}

void
da_addr_from_key (DaDomainCtx *ctx, DaAddr *addr, DaAddrKind kind, const char *type_name, guint64 key)
{
  DaAddressType *type = da_catalog_get_type (ctx->catalog, type_name);
  guint64 digits[DA_MAX_DIMS] = { 0 };

  da_address_type_decode (type, key, digits);
  memset (addr, 0, sizeof (*addr));
  addr->kind = kind;
  addr->multifunction = -1;
  for (guint i = 0; i < 5 && i < da_address_type_get_n_dimensions (type); i++)
    addr->v[i] = digits[i];
}

static char *
usb_port_path (const DaAddr *addr)
{
  GString *out = g_string_new (NULL);

  for (guint i = 1; i < 5 && addr->v[i] != 0; i++)
    g_string_append_printf (out, "%s%" G_GUINT64_FORMAT, i > 1 ? "." : "", addr->v[i]);
  return g_string_free (out, FALSE);
}

char *
da_addr_format (const DaAddr *addr)
{
  switch (addr->kind) {
  case DA_ADDR_PCI:
    return g_strdup_printf ("pci %04" G_GINT64_MODIFIER "x:%02" G_GINT64_MODIFIER "x:%02" G_GINT64_MODIFIER "x.%"
                            G_GINT64_MODIFIER "x", addr->v[0], addr->v[1], addr->v[2], addr->v[3]);
  case DA_ADDR_DRIVE:
    return g_strdup_printf ("drive %" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT,
                            addr->v[0], addr->v[1], addr->v[2], addr->v[3]);
  case DA_ADDR_VIRTIO_SERIAL:
    return g_strdup_printf ("virtio-serial %" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT,
                            addr->v[0], addr->v[1], addr->v[2]);
  case DA_ADDR_USB: {
    g_autofree char *port = usb_port_path (addr);

    return g_strdup_printf ("usb %" G_GUINT64_FORMAT ":%s", addr->v[0], port);
  }
  case DA_ADDR_OTHER:
    return g_strdup ("other");
  case DA_ADDR_NONE:
  default:
    return NULL;
  }
}

void
da_addr_write (DaDevice *dev, const DaAddr *addr)
{
  xmlNode *old = da_xml_child (dev->node, "address");
  xmlNode *node;

  if (old != NULL && addr->kind == DA_ADDR_PCI && dev->fixed) {
    /* a written address stays as written; only multifunction may be added */
    if (addr->multifunction == 1 && da_xml_attr (old, "multifunction") == NULL)
      da_xml_set_attr (old, "multifunction", "on");
    return;
  }
  if (dev->fixed && old != NULL)
    return;
  if (old != NULL) {
    xmlUnlinkNode (old);
    xmlFreeNode (old);
  }
  node = xmlNewChild (dev->node, NULL, (const xmlChar *) "address", NULL);
  switch (addr->kind) {
  case DA_ADDR_PCI:
    da_xml_set_attr (node, "type", "pci");
    da_xml_set_attr_printf (node, "domain", "0x%04" G_GINT64_MODIFIER "x", addr->v[0]);
    da_xml_set_attr_printf (node, "bus", "0x%02" G_GINT64_MODIFIER "x", addr->v[1]);
    da_xml_set_attr_printf (node, "slot", "0x%02" G_GINT64_MODIFIER "x", addr->v[2]);
    da_xml_set_attr_printf (node, "function", "0x%" G_GINT64_MODIFIER "x", addr->v[3]);
    if (addr->multifunction >= 0)
      da_xml_set_attr (node, "multifunction", addr->multifunction ? "on" : "off");
    break;
  case DA_ADDR_DRIVE:
    da_xml_set_attr (node, "type", "drive");
    da_xml_set_attr_printf (node, "controller", "%" G_GUINT64_FORMAT, addr->v[0]);
    da_xml_set_attr_printf (node, "bus", "%" G_GUINT64_FORMAT, addr->v[1]);
    da_xml_set_attr_printf (node, "target", "%" G_GUINT64_FORMAT, addr->v[2]);
    da_xml_set_attr_printf (node, "unit", "%" G_GUINT64_FORMAT, addr->v[3]);
    break;
  case DA_ADDR_VIRTIO_SERIAL:
    da_xml_set_attr (node, "type", "virtio-serial");
    da_xml_set_attr_printf (node, "controller", "%" G_GUINT64_FORMAT, addr->v[0]);
    da_xml_set_attr_printf (node, "bus", "%" G_GUINT64_FORMAT, addr->v[1]);
    da_xml_set_attr_printf (node, "port", "%" G_GUINT64_FORMAT, addr->v[2]);
    break;
  case DA_ADDR_USB: {
    g_autofree char *port = usb_port_path (addr);

    da_xml_set_attr (node, "type", "usb");
    da_xml_set_attr_printf (node, "bus", "%" G_GUINT64_FORMAT, addr->v[0]);
    da_xml_set_attr (node, "port", port);
    break;
  }
  case DA_ADDR_NONE:
  case DA_ADDR_OTHER:
  default:
    xmlUnlinkNode (node);
    xmlFreeNode (node);
    break;
  }
}

/* ------------------------------------------------------------------ */
/* reading a device */

static int
parse_index (const char *text)
{
  guint64 v;

  if (text == NULL || !da_parse_u64 (text, &v) || v > G_MAXINT)
    return -1;
  return (int) v;
}

/* the disk bus libvirt derives from a target name without bus= */
static const char *
bus_from_target (const char *target)
{
  if (target == NULL)
    return NULL;
  if (g_str_has_prefix (target, "hd"))
    return "ide";
  if (g_str_has_prefix (target, "sd"))
    return "scsi";
  if (g_str_has_prefix (target, "vd"))
    return "virtio";
  if (g_str_has_prefix (target, "fd"))
    return "fdc";
  if (g_str_has_prefix (target, "xvd"))
    return "xen";
  if (g_str_has_prefix (target, "ubd"))
    return "uml";
  return NULL;
}

static char *
default_controller_model (DaDomainCtx *ctx, DaDevice *dev, GError **error)
{
  if (strcmp (dev->type, "usb") == 0)
    return g_strdup (ctx->machine == DA_MACHINE_Q35 ? "qemu-xhci" : "piix3-uhci");
  if (strcmp (dev->type, "scsi") == 0)
    return g_strdup ("lsilogic");
  if (strcmp (dev->type, "pci") == 0) {
    if (dev->index == 0)
      return g_strdup (ctx->machine == DA_MACHINE_Q35 ? "pcie-root" : "pci-root");
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "PCI controller %d has no model (libvirt: PCI controller model was not set correctly)", dev->index);
    return NULL;
  }
  return NULL;
}

gboolean
da_device_read (DaDomainCtx *ctx, DaDevice *dev, GError **error)
{
  xmlNode *node = dev->node;
  xmlNode *address = da_xml_child (node, "address");

  switch (dev->kind) {
  case DA_DEV_DISK:
    dev->type = g_strdup (da_xml_attr (node, "device") ?: "disk");
    dev->target = g_strdup (da_xml_child_attr (node, "target", "dev"));
    dev->model = g_strdup (da_xml_child_attr (node, "target", "bus") ?: bus_from_target (dev->target));
    if (dev->target == NULL) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "a <disk> has no <target dev=...>");
      return FALSE;
    }
    break;
  case DA_DEV_CONTROLLER:
    dev->type = g_strdup (da_xml_attr (node, "type"));
    if (dev->type == NULL) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "a <controller> has no type");
      return FALSE;
    }
    dev->index = parse_index (da_xml_attr (node, "index"));
    dev->model = g_strdup (da_xml_attr (node, "model"));
    dev->ports = parse_index (da_xml_attr (node, "ports"));
    break;
  case DA_DEV_INTERFACE:
    dev->type = g_strdup (da_xml_attr (node, "type"));
    dev->model = g_strdup (da_xml_child_attr (node, "model", "type"));
    break;
  case DA_DEV_INPUT:
    dev->type = g_strdup (da_xml_attr (node, "type"));
    dev->bus = g_strdup (da_xml_attr (node, "bus"));
    dev->model = g_strdup (da_xml_attr (node, "model"));
    if (dev->bus == NULL && dev->type != NULL) {
      /* libvirt's defaults on x86, written out so the element reads the same */
      if (strcmp (dev->type, "mouse") == 0 || strcmp (dev->type, "keyboard") == 0)
        dev->bus = g_strdup ("ps2");
      else if (strcmp (dev->type, "tablet") == 0)
        dev->bus = g_strdup ("usb");
      if (dev->bus != NULL && ctx->write_defaults)
        da_xml_set_attr (node, "bus", dev->bus);
    }
    break;
  case DA_DEV_VIDEO:
    dev->model = g_strdup (da_xml_child_attr (node, "model", "type"));
    break;
  case DA_DEV_HOSTDEV:
    dev->type = g_strdup (da_xml_attr (node, "type"));
    dev->model = g_strdup (da_xml_attr (node, "mode") ?: "subsystem");
    break;
  case DA_DEV_CHANNEL:
  case DA_DEV_CONSOLE:
  case DA_DEV_SERIAL:
  case DA_DEV_PARALLEL:
    dev->type = g_strdup (da_xml_attr (node, "type"));
    dev->bus = g_strdup (da_xml_child_attr (node, "target", "type"));
    break;
  case DA_DEV_HUB:
  case DA_DEV_SMARTCARD:
  case DA_DEV_TPM:
    dev->type = g_strdup (da_xml_attr (node, "type") ?: da_xml_attr (node, "mode"));
    dev->model = g_strdup (da_xml_attr (node, "model"));
    break;
  case DA_DEV_REDIRDEV:
    dev->type = g_strdup (da_xml_attr (node, "type"));
    dev->bus = g_strdup (da_xml_attr (node, "bus") ?: "usb");
    break;
  case DA_DEV_FILESYSTEM:
    dev->type = g_strdup (da_xml_child_attr (node, "driver", "type"));
    dev->model = g_strdup (da_xml_attr (node, "model"));
    break;
  case DA_DEV_SHMEM:
    dev->model = g_strdup (da_xml_child_attr (node, "model", "type"));
    break;
  case DA_DEV_SOUND:
  case DA_DEV_WATCHDOG:
  case DA_DEV_MEMBALLOON:
  case DA_DEV_RNG:
  case DA_DEV_MEMORY:
  case DA_DEV_VSOCK:
  case DA_DEV_PANIC:
  case DA_DEV_IOMMU:
  case DA_DEV_CRYPTO:
    dev->model = g_strdup (da_xml_attr (node, "model"));
    break;
  case DA_DEV_OTHER:
  default:
    return TRUE;
  }

  if (address != NULL) {
    /* libvirt reads the first and drops the others; devaddr keeps the XML
     * it is given, where a second one would be read the next time */
    for (xmlNode *other = address->next; other != NULL; other = other->next) {
      if (other->type == XML_ELEMENT_NODE && strcmp ((const char *) other->name, "address") == 0) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS, "<%s> has more than one <address>",
                     (const char *) node->name);
        return FALSE;
      }
    }
    if (!parse_address (address, &dev->given, error)) {
      g_prefix_error (error, "<%s>: ", (const char *) node->name);
      return FALSE;
    }
    /* a virtio-serial address without a port names the controller only */
    if (dev->given.kind != DA_ADDR_NONE && !(dev->given.kind == DA_ADDR_VIRTIO_SERIAL && dev->given.v[2] == 0)) {
      dev->addr = dev->given;
      dev->fixed = TRUE;
    } else if (g_strcmp0 (da_xml_attr (address, "type"), "usb") == 0) {
      dev->usb_bus = (int) dev->given.v[0];
    }
  }
  return TRUE;
}

/* defaults libvirt fills in before it assigns anything */
gboolean
da_device_apply_defaults (DaDomainCtx *ctx, DaDevice *dev, GError **error)
{
  if (dev->kind == DA_DEV_CONTROLLER && dev->model == NULL) {
    g_autoptr (GError) local = NULL;

    dev->model = default_controller_model (ctx, dev, &local);
    if (local != NULL) {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
    if (dev->model != NULL && ctx->write_defaults)
      da_xml_set_attr (dev->node, "model", dev->model);
  }
  if (dev->kind == DA_DEV_INTERFACE && dev->model == NULL
      && (dev->type == NULL || strcmp (dev->type, "hostdev") != 0))
    dev->model = g_strdup ("rtl8139");
  if (dev->kind == DA_DEV_VIDEO && dev->model == NULL) {
    xmlNode *model = da_xml_child (dev->node, "model");

    dev->model = g_strdup ("cirrus");
    if (ctx->write_defaults) {
      if (model == NULL)
        model = xmlNewChild (dev->node, NULL, (const xmlChar *) "model", NULL);
      da_xml_set_attr (model, "type", dev->model);
    }
  }
  if (dev->kind == DA_DEV_SERIAL && dev->bus == NULL)
    dev->bus = g_strdup ("isa-serial");
  return TRUE;
}

static gboolean
is (const char *a, const char *b)
{
  return a != NULL && strcmp (a, b) == 0;
}

gboolean
da_device_is_usb (DaDevice *dev)
{
  switch (dev->kind) {
  case DA_DEV_INPUT:
  case DA_DEV_REDIRDEV:
    return is (dev->bus, "usb");
  case DA_DEV_DISK:
    return is (dev->model, "usb");
  case DA_DEV_HUB:
    return is (dev->type, "usb");
  case DA_DEV_HOSTDEV:
    return is (dev->model, "subsystem") && is (dev->type, "usb");
  case DA_DEV_CONTROLLER:
    return is (dev->type, "ccid");
  case DA_DEV_SERIAL:
    return is (dev->bus, "usb-serial");
  case DA_DEV_SOUND:
    return is (dev->model, "usb");
  default:
    return FALSE;
  }
}

gboolean
da_device_is_virtio_serial (DaDevice *dev)
{
  return (dev->kind == DA_DEV_CHANNEL || dev->kind == DA_DEV_CONSOLE) && is (dev->bus, "virtio");
}

/* qemuDomainDeviceCalculatePCIConnectFlags (libvirt 9.0, QEMU 7.2 with
 * transitional virtio: virtio devices are PCI Express on q35) */
guint
da_device_connect_flags (DaDomainCtx *ctx, DaDevice *dev)
{
  guint pci = DA_PCI_PCI_DEVICE | DA_PCI_AUTOASSIGN;
  guint pcie = ctx->machine == DA_MACHINE_Q35 ? DA_PCI_PCIE_DEVICE | DA_PCI_AUTOASSIGN : pci;
  guint virtio = pcie;
  const char *m = dev->model;

  switch (dev->kind) {
  case DA_DEV_CONTROLLER:
    if (is (dev->type, "pci")) {
      if (is (m, "pci-bridge"))
        return DA_PCI_PCI_BRIDGE;
      if (is (m, "pcie-root-port"))
        return DA_PCI_PCIE_ROOT_PORT | DA_PCI_AGGREGATE_SLOT;
      if (is (m, "pcie-switch-upstream-port"))
        return DA_PCI_PCIE_SWITCH_UPSTREAM_PORT;
      if (is (m, "pcie-switch-downstream-port"))
        return DA_PCI_PCIE_SWITCH_DOWNSTREAM_PORT;
      if (is (m, "dmi-to-pci-bridge"))
        return DA_PCI_DMI_TO_PCI_BRIDGE;
      if (is (m, "pcie-to-pci-bridge"))
        return DA_PCI_PCIE_TO_PCI_BRIDGE;
      if (is (m, "pci-expander-bus"))
        return DA_PCI_PCI_EXPANDER_BUS;
      if (is (m, "pcie-expander-bus"))
        return DA_PCI_PCIE_EXPANDER_BUS;
      return 0;
    }
    if (is (dev->type, "sata") || is (dev->type, "ide"))
      return pci;
    if (is (dev->type, "usb")) {
      if (is (m, "none") || is (m, "qusb1") || is (m, "qusb2"))
        return 0;
      if (is (m, "qemu-xhci") || is (m, "nec-xhci"))
        return pcie;
      return pci;
    }
    if (is (dev->type, "scsi")) {
      if (m == NULL || is (m, "ncr53c90"))
        return 0;
      if (is (m, "virtio-scsi") || is (m, "virtio-non-transitional"))
        return virtio;
      return pci;
    }
    if (is (dev->type, "virtio-serial"))
      return is (m, "virtio-transitional") ? pci : virtio;
    return 0;
  case DA_DEV_FILESYSTEM:
    if (dev->type == NULL || is (dev->type, "path") || is (dev->type, "handle"))
      return is (m, "virtio-transitional") ? pci : virtio;
    if (is (dev->type, "virtiofs"))
      return virtio;
    return 0;
  case DA_DEV_INTERFACE:
    /* an interface type='hostdev' is a PCI hostdev (an SR-IOV function) */
    if (is (dev->type, "hostdev"))
      return pcie;
    if (is (m, "usb-net"))
      return 0;
    if (is (m, "virtio") || is (m, "virtio-non-transitional"))
      return virtio;
    if (is (m, "virtio-transitional"))
      return pci;
    if (is (m, "e1000e") || is (m, "igb"))
      return pcie;
    return pci;
  case DA_DEV_SOUND:
    if (is (m, "es1370") || is (m, "ac97") || is (m, "ich6") || is (m, "ich9"))
      return pci;
    return 0;
  case DA_DEV_DISK:
    if (!is (dev->model, "virtio"))
      return 0;
    return is (da_xml_attr (dev->node, "model"), "virtio-transitional") ? pci : virtio;
  case DA_DEV_HOSTDEV:
    if (!is (dev->model, "subsystem"))
      return 0;
    if (is (dev->type, "scsi_host"))
      return is (da_xml_child_attr (dev->node, "source", "model"), "virtio-transitional") ? pci : virtio;
    if (is (dev->type, "pci") || is (dev->type, "mdev"))
      return pcie; /* the host device cannot be looked at here; libvirt assumes PCIe then */
    return 0;
  case DA_DEV_MEMBALLOON:
    if (is (m, "virtio-transitional"))
      return pci;
    if (is (m, "virtio") || is (m, "virtio-non-transitional"))
      return virtio;
    return 0;
  case DA_DEV_RNG:
    return is (m, "virtio-transitional") ? pci : virtio;
  case DA_DEV_WATCHDOG:
    return is (m, "i6300esb") ? pci : 0;
  case DA_DEV_VIDEO:
    if (is (m, "virtio"))
      return virtio;
    if (is (m, "bochs"))
      return pcie;
    if (is (m, "none") || is (m, "ramfb") || is (m, "gop"))
      return 0;
    return pci;
  case DA_DEV_SHMEM:
    return pci;
  case DA_DEV_INPUT:
    if (!is (dev->bus, "virtio"))
      return 0;
    return is (m, "virtio-transitional") ? pci : virtio;
  case DA_DEV_SERIAL:
    return is (dev->bus, "pci-serial") ? pci : 0;
  case DA_DEV_IOMMU:
    return is (m, "virtio") ? virtio | DA_PCI_INTEGRATED : 0;
  case DA_DEV_VSOCK:
    if (is (m, "virtio-transitional"))
      return pci;
    return virtio;
  case DA_DEV_MEMORY:
    return is (m, "virtio-pmem") || is (m, "virtio-mem") ? virtio : 0;
  case DA_DEV_CRYPTO:
    return pci;
  case DA_DEV_PANIC:
    return is (m, "pvpanic") ? pci | DA_PCI_INTEGRATED : 0;
  default:
    return 0;
  }
}

/* ------------------------------------------------------------------ */
/* keys and aliases */

void
da_domain_compute_keys (DaDomainCtx *ctx)
{
  g_autoptr (GHashTable) by_node = g_hash_table_new (NULL, NULL);
  g_autoptr (GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);

    g_hash_table_insert (by_node, dev->node, dev);
  }
  for (xmlNode *node = ctx->devices_node->children; node != NULL; node = node->next) {
    DaDevice *dev = g_hash_table_lookup (by_node, node);
    const char *name = (const char *) node->name;
    g_autofree char *counter = NULL;
    guint n;

    if (node->type != XML_ELEMENT_NODE || dev == NULL)
      continue;
    /* inputs are counted per type and bus, everything else per element */
    counter = dev->kind == DA_DEV_INPUT ? g_strdup_printf ("input[type=%s,bus=%s]", dev->type ?: "", dev->bus ?: "")
                                        : g_strdup (name);
    n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, counter)) + 1;
    g_hash_table_replace (counts, g_strdup (counter), GUINT_TO_POINTER (n));
    g_free (dev->key);
    switch (dev->kind) {
    case DA_DEV_DISK:
      dev->key = g_strdup_printf ("disk[target=%s]", dev->target);
      break;
    case DA_DEV_CONTROLLER:
      dev->key = g_strdup_printf ("controller[type=%s,index=%d]", dev->type, dev->index);
      break;
    case DA_DEV_INPUT:
      dev->key = g_strdup_printf ("%s[%u]", counter, n);
      break;
    case DA_DEV_MEMBALLOON:
    case DA_DEV_VSOCK:
    case DA_DEV_IOMMU:
      dev->key = g_strdup (name);
      break;
    default:
      dev->key = g_strdup_printf ("%s[%u]", name, n);
      break;
    }
  }
}

/* position of a device among those of its kind, in document order */
static guint
position_of (DaDomainCtx *ctx, DaDevice *dev)
{
  guint n = 0;

  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *other = g_ptr_array_index (ctx->devices, i);

    if (other == dev)
      break;
    if (other->kind == dev->kind)
      n++;
  }
  return n;
}

static char *
disk_alias (DaDomainCtx *ctx, DaDevice *dev)
{
  const char *bus = dev->model;
  guint index = 0;

  if (dev->addr.kind == DA_ADDR_DRIVE) {
    const guint64 *v = dev->addr.v;

    if (is (bus, "ide"))
      return g_strdup_printf ("ide%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, v[0], v[1], v[3]);
    if (is (bus, "sata"))
      return g_strdup_printf ("sata%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, v[0], v[1], v[3]);
    if (is (bus, "scsi"))
      return g_strdup_printf ("scsi%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT,
                              v[0], v[1], v[2], v[3]);
    if (is (bus, "fdc"))
      return g_strdup_printf ("fdc%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, v[0], v[1], v[3]);
  }
  if (!da_drive_name_to_index (dev->target, &index, NULL))
    index = position_of (ctx, dev);
  if (is (bus, "virtio"))
    return g_strdup_printf ("virtio-disk%u", index);
  if (is (bus, "usb"))
    return g_strdup_printf ("usb-disk%u", index);
  return g_strdup_printf ("disk%u", position_of (ctx, dev));
}

static char *
controller_alias (DaDomainCtx *ctx, DaDevice *dev)
{
  if (is (dev->type, "pci")) {
    if (dev->index == 0)
      return g_strdup (ctx->machine == DA_MACHINE_Q35 ? "pcie.0" : "pci.0");
    return g_strdup_printf ("pci.%d", dev->index);
  }
  if (is (dev->type, "ide") && dev->index == 0)
    return g_strdup ("ide");
  if (is (dev->type, "usb"))
    return dev->index == 0 ? g_strdup ("usb") : g_strdup_printf ("usb%d", dev->index);
  return g_strdup_printf ("%s%d", dev->type, dev->index);
}

static char *
base_alias (DaDomainCtx *ctx, DaDevice *dev)
{
  static const char *const prefixes[] = {
    [DA_DEV_INTERFACE] = "net", [DA_DEV_INPUT] = "input", [DA_DEV_SOUND] = "sound",
    [DA_DEV_VIDEO] = "video", [DA_DEV_HOSTDEV] = "hostdev", [DA_DEV_WATCHDOG] = "watchdog",
    [DA_DEV_MEMBALLOON] = "balloon", [DA_DEV_RNG] = "rng", [DA_DEV_CHANNEL] = "channel",
    [DA_DEV_CONSOLE] = "console", [DA_DEV_SERIAL] = "serial", [DA_DEV_PARALLEL] = "parallel",
    [DA_DEV_HUB] = "hub", [DA_DEV_REDIRDEV] = "redir", [DA_DEV_SMARTCARD] = "smartcard",
    [DA_DEV_FILESYSTEM] = "fs", [DA_DEV_SHMEM] = "shmem", [DA_DEV_MEMORY] = "dimm",
    [DA_DEV_VSOCK] = "vsock", [DA_DEV_TPM] = "tpm", [DA_DEV_PANIC] = "panic",
    [DA_DEV_IOMMU] = "iommu", [DA_DEV_CRYPTO] = "crypto",
  };

  if (dev->kind == DA_DEV_DISK)
    return disk_alias (ctx, dev);
  if (dev->kind == DA_DEV_CONTROLLER)
    return controller_alias (ctx, dev);
  if (dev->kind < G_N_ELEMENTS (prefixes) && prefixes[dev->kind] != NULL)
    return g_strdup_printf ("%s%u", prefixes[dev->kind], position_of (ctx, dev));
  return g_strdup_printf ("%s%u", (const char *) dev->node->name, position_of (ctx, dev));
}

/* <console> with a serial target (the default on x86): the first serial */
static gboolean
is_serial_console (DaDevice *dev)
{
  return dev->kind == DA_DEV_CONSOLE && (dev->bus == NULL || is (dev->bus, "serial"));
}

gboolean
da_domain_name_device (DaDomainCtx *ctx, DaDevice *dev, GError **error)
{
  const char *given = da_xml_child_attr (dev->node, "alias", "name");
  g_autofree char *alias = NULL;

  if (dev->alias != NULL)
    return TRUE;
  if (given != NULL) {
    if (!da_name_validate ("alias", given, error)) {
      g_prefix_error (error, "%s: ", dev->key ?: (const char *) dev->node->name);
      return FALSE;
    }
    if (g_hash_table_contains (ctx->aliases, given)) {
      DaDevice *other = g_hash_table_lookup (ctx->aliases, given);

      /* a running domain's XML names the console that stands for the first
       * serial port after that port: one device, and the console has no
       * address of its own */
      if (is_serial_console (dev) ? other->kind == DA_DEV_SERIAL
                                  : dev->kind == DA_DEV_SERIAL && is_serial_console (other)) {
        dev->alias = g_strdup (given);
        return TRUE;
      }
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s and %s have the same alias %s",
                   other->key ?: "a device", dev->key ?: "another", given);
      return FALSE;
    }
    alias = g_strdup (given);
  } else {
    g_autofree char *base = base_alias (ctx, dev);

    alias = g_strdup (base);
    for (guint n = 1; g_hash_table_contains (ctx->aliases, alias); n++) {
      g_free (alias);
      alias = g_strdup_printf ("%s.%u", base, n);
    }
  }
  dev->alias = g_steal_pointer (&alias);
  g_hash_table_insert (ctx->aliases, dev->alias, dev);
  return TRUE;
}

static void
add_to_lists (DaDomainCtx *ctx, DaDevice *dev, xmlNode *before)
{
  guint at = ctx->devices->len;

  if (before != NULL) {
    for (guint i = 0; i < ctx->devices->len; i++) {
      if (((DaDevice *) g_ptr_array_index (ctx->devices, i))->node == before) {
        at = i;
        break;
      }
    }
  }
  g_ptr_array_insert (ctx->devices, (gint) at, dev);
}

DaDevice *
da_domain_add_element (DaDomainCtx *ctx, DaDevKind kind, const char *name, xmlNode *before, GError **error)
{
  xmlNode *node = xmlNewNode (NULL, (const xmlChar *) name);
  DaDevice *dev;

  if (before != NULL)
    xmlAddPrevSibling (before, node);
  else
    xmlAddChild (ctx->devices_node, node);
  dev = da_device_new (kind, node);
  dev->implicit = TRUE;
  add_to_lists (ctx, dev, before);
  return dev;
}

DaDevice *
da_domain_add_controller (DaDomainCtx *ctx, const char *type, int index, const char *model, GError **error)
{
  DaDevice *dev = da_domain_add_element (ctx, DA_DEV_CONTROLLER, "controller", NULL, error);

  da_xml_set_attr (dev->node, "type", type);
  da_xml_set_attr_printf (dev->node, "index", "%d", index);
  if (model != NULL)
    da_xml_set_attr (dev->node, "model", model);
  dev->type = g_strdup (type);
  dev->index = index;
  dev->model = g_strdup (model);
  /* libvirt appends what it adds to the controller list */
  g_ptr_array_add (ctx->controllers, dev);
  dev->key = g_strdup_printf ("controller[type=%s,index=%d]", type, index);
  if (!da_domain_name_device (ctx, dev, error))
    return NULL;
  dev->connect = da_device_connect_flags (ctx, dev);
  return dev;
}

void
da_domain_note_addition (DaDomainCtx *ctx, DaDevice *dev)
{
  DaDomainAddition *a = g_new0 (DaDomainAddition, 1);

  a->element = g_strdup ((const char *) dev->node->name);
  /* an input's type (mouse), else the model (pcie-root-port, virtio), else the type (usb) */
  a->type = g_strdup (dev->kind == DA_DEV_INPUT || dev->model == NULL ? dev->type : dev->model);
  a->index = dev->kind == DA_DEV_CONTROLLER ? dev->index : -1;
  a->alias = g_strdup (dev->alias);
  a->address = dev->hidden ? NULL : da_addr_format (&dev->addr);
  g_ptr_array_add (ctx->added, a);
}

DaDevice *
da_domain_find_controller (DaDomainCtx *ctx, const char *type, int index)
{
  for (guint i = 0; i < ctx->controllers->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->controllers, i);

    if (is (dev->type, type) && dev->index == index)
      return dev;
  }
  return NULL;
}
