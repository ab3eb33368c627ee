/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libxml/tree.h>

#include "daemon/alloc/da-address-type.h"
#include "daemon/alloc/da-engine.h"
#include "da-domain.h"

G_BEGIN_DECLS

/* what the pieces of daemon/libvirt share: the devices of one domain XML
 * and the state of one assign, import or attach */

typedef enum {
  DA_MACHINE_PC,  /* i440fx + PIIX3 */
  DA_MACHINE_Q35, /* q35 + ICH9, pcie-root */
} DaMachine;

/* libvirt's PCI connect flags (src/conf/domain_addr.h), the same bits, so
 * messages quote the numbers libvirt quotes */
enum {
  DA_PCI_AUTOASSIGN = 1 << 0,
  DA_PCI_HOTPLUGGABLE = 1 << 1,
  DA_PCI_INTEGRATED = 1 << 2,
  DA_PCI_AGGREGATE_SLOT = 1 << 3,
  DA_PCI_PCI_DEVICE = 1 << 4,
  DA_PCI_PCIE_DEVICE = 1 << 5,
  DA_PCI_PCIE_ROOT_PORT = 1 << 6,
  DA_PCI_PCIE_SWITCH_UPSTREAM_PORT = 1 << 7,
  DA_PCI_PCIE_SWITCH_DOWNSTREAM_PORT = 1 << 8,
  DA_PCI_DMI_TO_PCI_BRIDGE = 1 << 9,
  DA_PCI_PCI_EXPANDER_BUS = 1 << 10,
  DA_PCI_PCIE_EXPANDER_BUS = 1 << 11,
  DA_PCI_PCI_BRIDGE = 1 << 12,
  DA_PCI_PCIE_TO_PCI_BRIDGE = 1 << 13,
};

typedef enum {
  DA_DEV_DISK,
  DA_DEV_CONTROLLER,
  DA_DEV_INTERFACE,
  DA_DEV_INPUT,
  DA_DEV_SOUND,
  DA_DEV_VIDEO,
  DA_DEV_HOSTDEV,
  DA_DEV_WATCHDOG,
  DA_DEV_MEMBALLOON,
  DA_DEV_RNG,
  DA_DEV_CHANNEL,
  DA_DEV_CONSOLE,
  DA_DEV_SERIAL,
  DA_DEV_PARALLEL,
  DA_DEV_HUB,
  DA_DEV_REDIRDEV,
  DA_DEV_SMARTCARD,
  DA_DEV_FILESYSTEM,
  DA_DEV_SHMEM,
  DA_DEV_MEMORY,
  DA_DEV_VSOCK,
  DA_DEV_TPM,
  DA_DEV_PANIC,
  DA_DEV_IOMMU,
  DA_DEV_CRYPTO,
  DA_DEV_OTHER, /* graphics, emulator, audio, lease, ...: nothing to address */
} DaDevKind;

typedef enum {
  DA_ADDR_NONE,
  DA_ADDR_PCI,           /* domain bus slot function */
  DA_ADDR_DRIVE,         /* controller bus target unit */
  DA_ADDR_VIRTIO_SERIAL, /* controller bus port */
  DA_ADDR_USB,           /* bus port1 port2 port3 port4 */
  DA_ADDR_OTHER,         /* ccw, isa, dimm, unassigned ...: kept, never assigned */
} DaAddrKind;

typedef struct {
  DaAddrKind kind;
  guint64 v[5];
  int multifunction; /* pci: -1 not written, 0 off, 1 on */
} DaAddr;

typedef struct {
  DaDevKind kind;
  xmlNode *node;
  char *key;            /* as the e2e suite names it: interface[2], disk[target=vda] */
  char *alias;          /* the reservation name */
  gboolean implicit;    /* devaddr added the element */
  /* attributes that decide placement, defaults filled in */
  char *type;           /* controller/input/... type attribute */
  char *model;          /* controller model, NIC/video/sound/... model, disk bus */
  char *bus;            /* input/redirdev bus, a chardev's target type */
  char *target;         /* a disk's target dev */
  int index;            /* controller index, -1 */
  int ports;            /* virtio-serial/USB controller ports=, -1 */
  int usb_bus;          /* a USB address with a bus but no port: that bus, else -1 */
  const char *drive_type; /* engine type of a disk's drive address */
  guint connect;        /* PCI connect flags; 0: no PCI address */
  DaAddr given;         /* the <address> written in the XML */
  DaAddr addr;          /* the address it ends with */
  gboolean fixed;       /* addr was written in the XML */
  gboolean hidden;      /* reserved but not written (a virtio console's port) */
  const char *builtin;  /* the template reservation it is bound to */
  const char *res_type; /* engine type of its own reservation, NULL: none */
} DaDevice;

typedef struct {
  DaEngine *engine;
  DaCatalog *catalog;
  DaScope *scope;
  DaTxn *txn;
  gint64 now;
  DaMachine machine;
  gboolean importing;        /* domain.import: record what is there, add nothing */
  gboolean write_defaults;   /* write the defaults libvirt fills in into the XML */
  gboolean collect_conflicts; /* a clash is listed in conflicts, not an error */
  xmlNode *domain;
  xmlNode *devices_node;
  GPtrArray *devices;     /* DaDevice, document order */
  GPtrArray *controllers; /* libvirt's controller list order (borrowed) */
  GPtrArray *disks;       /* libvirt's disk list order (borrowed) */
  GHashTable *aliases;    /* alias -> DaDevice */
  GHashTable *bound;      /* builtin alias -> DaDevice */
  GPtrArray *added;       /* DaDomainAddition */
  GPtrArray *conflicts;   /* char * (import) */
  DaAddressType *pci_type;
  /* the PCI pass */
  GArray *aggregate;      /* guint64 first key of slots that root ports share */
} DaDomainCtx;

/* ---- da-device.c: reading and writing device elements ---- */

const char *da_xml_attr (xmlNode *node, const char *name);
xmlNode *da_xml_child (xmlNode *node, const char *name);
const char *da_xml_child_attr (xmlNode *node, const char *child, const char *name);
void da_xml_set_attr (xmlNode *node, const char *name, const char *value);
void da_xml_set_attr_printf (xmlNode *node, const char *name, const char *format, ...) G_GNUC_PRINTF (3, 4);

DaDevKind da_dev_kind_from_name (const char *name);
DaDevice *da_device_new (DaDevKind kind, xmlNode *node);
void da_device_free (DaDevice *dev);
/* fill in type, model, bus, index, ports and the written address */
gboolean da_device_read (DaDomainCtx *ctx, DaDevice *dev, GError **error);
/* the defaults libvirt fills in (controller and NIC models, input bus, ...) */
gboolean da_device_apply_defaults (DaDomainCtx *ctx, DaDevice *dev, GError **error);
/* libvirt's connect flags for the device on this machine */
guint da_device_connect_flags (DaDomainCtx *ctx, DaDevice *dev);
gboolean da_device_is_usb (DaDevice *dev);
gboolean da_device_is_virtio_serial (DaDevice *dev);

guint64 da_addr_key (DaDomainCtx *ctx, const DaAddr *addr, const char *type);
void da_addr_from_key (DaDomainCtx *ctx, DaAddr *addr, DaAddrKind kind, const char *type, guint64 key);
/* "pci 0000:00:03.0", "drive 0:1:0:0", "virtio-serial 0:0:1", "usb 0:1.2" */
char *da_addr_format (const DaAddr *addr);
/* replace the device's <address> (or add one) */
void da_addr_write (DaDevice *dev, const DaAddr *addr);

/* the key of every device, from its place in the document */
void da_domain_compute_keys (DaDomainCtx *ctx);
/* the alias of one device: its <alias name=...>, else libvirt's scheme, made
 * unique in the VM */
gboolean da_domain_name_device (DaDomainCtx *ctx, DaDevice *dev, GError **error);
/* a device element devaddr adds: appended to <devices> (or before another
 * node), to the device list, named */
DaDevice *da_domain_add_element (DaDomainCtx *ctx, DaDevKind kind, const char *name, xmlNode *before,
                                 GError **error);
DaDevice *da_domain_add_controller (DaDomainCtx *ctx, const char *type, int index, const char *model,
                                    GError **error);
void da_domain_note_addition (DaDomainCtx *ctx, DaDevice *dev);
DaDevice *da_domain_find_controller (DaDomainCtx *ctx, const char *type, int index);

/* ---- da-domain.c: reservations ---- */

/* Reserve an exact address for a device: its own reservation, static when
 * it was written in the XML.  A clash is DA_ALLOC_ERROR_CONFLICT naming both
 * devices. */
gboolean da_domain_reserve_exact (DaDomainCtx *ctx, DaDevice *dev, const char *type, guint64 key, gboolean is_static,
                                  GError **error);
/* reserve with a constraint (dynamic); *key is where it went */
gboolean da_domain_reserve_dynamic (DaDomainCtx *ctx, const char *alias, const char *type, const DaConstraint *c,
                                    guint64 *key, GError **error);
char *da_domain_describe_holder (DaDomainCtx *ctx, DaReservation *holder);
/* make sure a builtin is present (restore) or gone (drop) */
gboolean da_domain_keep_builtin (DaDomainCtx *ctx, const char *alias, DaDevice *dev, GError **error);
gboolean da_domain_drop_builtin (DaDomainCtx *ctx, const char *alias, GError **error);

gboolean da_domain_import_devices (DaDomainCtx *ctx, GError **error);

/* ---- da-domain-pci.c ---- */

gboolean da_domain_assign_pci (DaDomainCtx *ctx, GError **error);
/* tags a dynamic request of these connect flags requires */
void da_pci_tags_for (guint flags, const char **tags);
gboolean da_pci_slot_in_use (DaDomainCtx *ctx, guint bus, guint slot);
guint64 da_pci_key (DaDomainCtx *ctx, guint bus, guint slot, guint function);
/* FALSE, with invalid-address, when a fixed PCI address is not in domain 0 */
gboolean da_pci_check_domain (const DaDevice *dev, GError **error);

/* ---- da-domain-ports.c ---- */

gboolean da_domain_assign_drives (DaDomainCtx *ctx, GError **error);
/* the bus model (data/buses/drive.bus) of a disk controller, NULL for
 * other controllers */
const char *da_drive_bus_model (DaDevice *controller);
gboolean da_domain_reserve_drives (DaDomainCtx *ctx, GError **error);
gboolean da_domain_assign_virtio_serial (DaDomainCtx *ctx, GError **error);
gboolean da_domain_assign_usb (DaDomainCtx *ctx, GError **error);
/* USB ports of a controller model, as libvirt counts them */
guint da_usb_controller_ports (DaDevice *controller);

/* ---- da-domain-schema.c ---- */

gboolean da_domain_validate_schema (xmlDoc *doc, const char *schema, GError **error);
/* one device element, as domain.rng takes it inside <devices> */
gboolean da_device_validate_schema (xmlNode *device, const char *schema, GError **error);

G_END_DECLS
