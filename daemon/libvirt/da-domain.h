/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "daemon/alloc/da-engine.h"

G_BEGIN_DECLS

/*
 * Domain XML in and out: what libvirt 9.0.0's QEMU driver would do at define
 * time (daemon/libvirt/RULES.md), with every decision kept in the engine.
 * Pure like the engine: no sockets, no store, no JSON.
 *
 * da_domain_assign() takes a domain XML, reserves every address it already
 * has, fills in every missing one exactly as libvirt would, adds the
 * controllers and implicit devices libvirt adds, and returns the completed
 * XML.  The VM is created from the XML's machine type when it does not
 * exist.  Re-assigning a VM: the XML is the whole persistent device list.
 * Reservations a previous assign/import/attach made (DA_RESERVATION_DOMAIN)
 * are replaced by those of this XML, so devices that are gone are released
 * and addresses written in the XML are kept; reservations made through the
 * engine API (hotplug scripts) stay and are avoided.  A device attached
 * live and missing from the XML is released too: give assign the
 * persistent XML with the device in it to keep its address.  The bus
 * topology (PCI buses, drive, virtio-serial and USB controllers) of the
 * VM's pools is rebuilt from the XML.  Assigning the same XML twice gives
 * the same result and changes nothing the second time; feeding the result
 * back gives it again, its addresses now static.  Devices without an
 * address in the XML get libvirt's answer for this XML, so an address
 * stays stable when the XML carries it.
 *
 * da_domain_import() adopts a domain libvirt already defined (virsh
 * dumpxml): every address in it is recorded as static and nothing is added.
 * Clashes are collected, all of them; by default the import then fails with
 * DA_ALLOC_ERROR_CONFLICT listing them and keeps nothing.  With
 * DA_DOMAIN_IMPORT_PARTIAL it keeps what does not clash and lists the
 * clashes in the result.
 *
 * da_device_attach() places one device element of a running VM on a
 * hotpluggable bus (PCI Express devices on a root port, others on a PCI
 * bus): function 0 of a whole free slot, next fit so that an address just
 * freed is not handed out again at once (unless it is the only one left).
 * USB devices get a port, virtio channels a virtio-serial port, SCSI disks
 * the drive address of their target name on a SCSI controller the VM has.
 * A SCSI controller takes the lowest free index (written into the element)
 * and brings its drive bus.  Devices libvirt's QEMU driver does not plug
 * into a running guest (RULES.md §11) are refused with
 * DA_ALLOC_ERROR_INVALID_ADDRESS naming the device and libvirt's reason.
 * The element comes back with its <address>, ready for `virsh
 * attach-device --live`; its reservation is active at once.
 * da_device_detach() releases what attach (or assign) reserved for a device,
 * found by alias or by the element's <address>, in one or two phases.  A
 * SCSI controller's element takes its drive bus along once released, and
 * is refused while disks are on it.
 *
 * Reservation names are the devices' aliases: the XML's <alias name=.../>
 * when there is one, else libvirt's own scheme (net0, virtio-disk0,
 * sata0-0-0, pci.1, usb, ...).  Where a device takes a fixed place of the
 * machine template (i440fx IDE 0 at 00:01.1, piix3-uhci USB 0 at 00:01.2,
 * the primary video at 00:02.0, q35 SATA 0 at 00:1f.2) it is bound to that
 * builtin reservation; where libvirt gives a template place to another
 * device (no video on i440fx: the first device takes 00:02.0) the builtin is
 * dropped for that VM with da_scope_drop_builtin(), and restored by a later
 * assign that needs it.  The PIIX3 IDE function (00:01.1) stays reserved
 * without an IDE disk: QEMU's i440fx always has it, though libvirt would
 * let a device be given that address.
 *
 * Every function is all or nothing: on error the engine is as it was
 * (savepoints in txn, or a private transaction when txn is NULL).
 * Inputs are untrusted: see da-xml-guard.h for what is refused.
 */

typedef enum {
  DA_DOMAIN_IMPORT_PARTIAL = 1 << 0, /* import: keep what does not clash, list the clashes */
  DA_DOMAIN_NO_SCHEMA = 1 << 1,      /* do not validate against domain.rng */
} DaDomainFlags;

typedef struct {
  gsize max_xml_size; /* 0: 1 MiB */
  guint flags;        /* DaDomainFlags */
  const char *schema; /* domain.rng; NULL: libvirt's installed one */
} DaDomainOptions;

/* an element devaddr added to the XML (a controller or implicit device) */
typedef struct {
  char *element;  /* "controller", "input", "memballoon", "video", "console", "hub" */
  char *type;     /* its type or model: "pcie-root-port", "usb", "mouse", "virtio", ... */
  int index;      /* a controller's index, else -1 */
  char *alias;
  char *address;  /* "pci 0000:00:02.0", "usb 0:1", or NULL when it has none */
} DaDomainAddition;

typedef struct {
  char *xml;               /* the domain (or device) XML with every address filled in */
  GPtrArray *reservations; /* DaReservation * holding the VM's devices' addresses, builtins
                            * bound to a device included; owned by the engine, valid until
                            * it changes again */
  GPtrArray *added;        /* DaDomainAddition */
  GPtrArray *conflicts;    /* char *, import with DA_DOMAIN_IMPORT_PARTIAL only */
} DaDomainResult;

void da_domain_result_free (DaDomainResult *result);
void da_domain_addition_free (DaDomainAddition *addition);

DaDomainResult *da_domain_assign (DaEngine *engine, const char *vm, const char *xml, gsize len,
                                  const DaDomainOptions *options, gint64 now, DaTxn *txn, GError **error);
DaDomainResult *da_domain_import (DaEngine *engine, const char *vm, const char *xml, gsize len,
                                  const DaDomainOptions *options, gint64 now, DaTxn *txn, GError **error);
DaDomainResult *da_device_attach (DaEngine *engine, const char *vm, const char *device_xml, gsize len,
                                  const DaDomainOptions *options, gint64 now, DaTxn *txn, GError **error);
/* device_xml (len bytes) or alias names the device; state_after as for
 * da_scope_release: DA_STATE_RELEASING, or -1 when the address is free */
gboolean da_device_detach (DaEngine *engine, const char *vm, const char *device_xml, gsize len, const char *alias,
                           const DaDomainOptions *options, DaReleasePhase phase, gint64 now, DaTxn *txn,
                           int *state_after, GError **error);

/* the schema used when options->schema is NULL */
const char *da_domain_default_schema (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaDomainResult, da_domain_result_free)

G_END_DECLS
