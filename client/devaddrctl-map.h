/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <devaddr/devaddr.h>

G_BEGIN_DECLS

/*
 * What `devaddrctl map` shows of a VM: each PCI bus as a grid of 32 slots
 * by 8 functions saying which alias holds what (the template's builtin
 * reservations marked), and the other pools as utilisation bars with the
 * aliases in them.  Fits 80 columns.
 */
typedef struct _DaMap DaMap;

/* pools: DevaddrPoolStats of the VM, pci among them if it has a pool */
DaMap *da_map_new (DevaddrVm *vm, GPtrArray *pools);
void da_map_free (DaMap *map);
void da_map_render (DaMap *map, GString *out, gboolean color);
JsonNode *da_map_to_json (DaMap *map);

/* whether a pool is worth a bar: the VM has addresses in it, or the
 * template laid out buses for it */
gboolean da_map_wants_pool (DevaddrVm *vm, DevaddrPoolStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaMap, da_map_free)

G_END_DECLS
