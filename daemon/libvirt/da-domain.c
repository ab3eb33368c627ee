/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <libvirt-gconfig/libvirt-gconfig.h>

#include "daemon/alloc/da-alloc-error.h"
#include "daemon/alloc/da-drive.h"
#include "da-domain-private.h"
#include "da-xml-guard.h"

/* the address types whose pools follow the domain's controllers */
static const char *const managed_types[] = {
  "pci", "drive-ide", "drive-sata", "drive-scsi", "drive-fdc", "virtio-serial", "usb", NULL,
};

/* ------------------------------------------------------------------ */
/* results */

void
da_domain_addition_free (DaDomainAddition *addition)
{
  if (addition == NULL)
    return;
  g_free (addition->element);
  g_free (addition->type);
  g_free (addition->alias);
  g_free (addition->address);
  g_free (addition);
}

void
da_domain_result_free (DaDomainResult *result)
{
  if (result == NULL)
    return;
  g_free (result->xml);
  g_ptr_array_unref (result->reservations);
  g_ptr_array_unref (result->added);
  g_ptr_array_unref (result->conflicts);
  g_free (result);
}

static DaDomainResult *
result_new (void)
{
  DaDomainResult *result = g_new0 (DaDomainResult, 1);

  result->reservations = g_ptr_array_new ();
  result->added = g_ptr_array_new_with_free_func ((GDestroyNotify) da_domain_addition_free);
  result->conflicts = g_ptr_array_new_with_free_func (g_free);
  return result;
}

/* ------------------------------------------------------------------ */
/* the work of one call: all or nothing */

typedef struct {
  DaTxn *txn;
  DaTxn *own;
  guint savepoint;
} Work;

static void
work_begin (Work *work, DaEngine *engine, DaTxn *txn)
{
  work->own = txn == NULL ? da_txn_new (engine) : NULL;
  work->txn = txn != NULL ? txn : work->own;
  work->savepoint = da_txn_savepoint (work->txn);
}

static void
work_end (Work *work, gboolean ok)
{
  if (!ok)
    da_txn_rollback_to (work->txn, work->savepoint);
  da_txn_free (work->own);
}

static DaDomainCtx *
ctx_new (DaEngine *engine, gint64 now, DaTxn *txn)
{
  DaDomainCtx *ctx = g_new0 (DaDomainCtx, 1);

  ctx->engine = engine;
  ctx->catalog = da_engine_get_catalog (engine);
  ctx->txn = txn;
  ctx->now = now;
  ctx->write_defaults = TRUE;
  ctx->devices = g_ptr_array_new_with_free_func ((GDestroyNotify) da_device_free);
  ctx->controllers = g_ptr_array_new ();
  ctx->disks = g_ptr_array_new ();
  ctx->aliases = g_hash_table_new (g_str_hash, g_str_equal);
  ctx->bound = g_hash_table_new (g_str_hash, g_str_equal);
  ctx->added = g_ptr_array_new_with_free_func ((GDestroyNotify) da_domain_addition_free);
  ctx->conflicts = g_ptr_array_new_with_free_func (g_free);
  ctx->pci_type = da_catalog_get_type (ctx->catalog, "pci");
  ctx->aggregate = g_array_new (FALSE, FALSE, sizeof (guint64));
  return ctx;
}

static void
ctx_free (DaDomainCtx *ctx)
{
  if (ctx == NULL)
    return;
  g_ptr_array_unref (ctx->controllers);
  g_ptr_array_unref (ctx->disks);
  g_hash_table_unref (ctx->aliases);
  g_hash_table_unref (ctx->bound);
  g_ptr_array_unref (ctx->devices);
  g_ptr_array_unref (ctx->added);
  g_ptr_array_unref (ctx->conflicts);
  g_array_unref (ctx->aggregate);
  g_free (ctx);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaDomainCtx, ctx_free)

/* ------------------------------------------------------------------ */
/* reservations and clashes */

char *
da_domain_describe_holder (DaDomainCtx *ctx, DaReservation *holder)
{
  const char *alias = da_reservation_get_alias (holder);
  DaDevice *dev = g_hash_table_lookup (ctx->bound, alias);

  if (dev != NULL)
    return g_strdup_printf ("%s (%s, at the machine's place %s)", dev->key, dev->alias, alias);
  dev = g_hash_table_lookup (ctx->aliases, alias);
  if (dev != NULL && dev->res_type != NULL)
    return g_strdup_printf ("%s (%s)", dev->key, dev->alias);
  if (da_reservation_get_flags (holder) & DA_RESERVATION_BUILTIN)
    return g_strdup_printf ("%s (part of the %s machine)", alias, da_scope_get_template (ctx->scope));
  return g_strdup_printf ("%s (a reservation made outside the domain XML)", alias);
}

static char *
describe_key (DaDomainCtx *ctx, const char *type, guint64 key)
{
  DaAddressType *at = da_catalog_get_type (ctx->catalog, type);
  g_autofree char *text = da_address_type_format_key (at, key);

  return g_strdup_printf ("%s %s", type, text);
}

gboolean
da_domain_reserve_exact (DaDomainCtx *ctx, DaDevice *dev, const char *type, guint64 key, gboolean is_static,
                         GError **error)
{
  DaAddressType *at = da_catalog_get_type (ctx->catalog, type);
  DaReservation *holder = NULL;
  g_autoptr (GError) local = NULL;
  DaRequest request = { 0 };

  request.type = type;
  request.alias = dev->alias;
  request.has_address = TRUE;
  request.address = key;
  request.has_mode = TRUE;
  request.mode = is_static ? DA_MODE_STATIC : DA_MODE_DYNAMIC;
  request.flags = DA_RESERVATION_DOMAIN;
  da_constraint_init (&request.constraint, at, FALSE);
  if (da_scope_reserve (ctx->scope, &request, ctx->now, ctx->txn, &holder, &local) != NULL) {
    dev->res_type = type;
    return TRUE;
  }
  if (g_error_matches (local, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT) && holder != NULL
      && strcmp (da_reservation_get_alias (holder), dev->alias) != 0) {
    g_autofree char *where = describe_key (ctx, type, key);
    g_autofree char *other = da_domain_describe_holder (ctx, holder);
    g_autofree char *message = g_strdup_printf ("%s (%s) at %s clashes with %s", dev->key, dev->alias, where, other);

    if (ctx->importing && ctx->collect_conflicts) {
      g_ptr_array_add (ctx->conflicts, g_steal_pointer (&message));
      return TRUE;
    }
    g_set_error_literal (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT, message);
    return FALSE;
  }
  g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s (%s): ", dev->key, dev->alias);
  return FALSE;
}

gboolean
da_domain_reserve_dynamic (DaDomainCtx *ctx, const char *alias, const char *type, const DaConstraint *c,
                           guint64 *key, GError **error)
{
  DaRequest request = { 0 };
  DaReservation *res;

  request.type = type;
  request.alias = alias;
  request.constraint = *c;
  request.has_mode = TRUE;
  request.mode = DA_MODE_DYNAMIC;
  request.flags = DA_RESERVATION_DOMAIN;
  res = da_scope_reserve (ctx->scope, &request, ctx->now, ctx->txn, NULL, error);
  if (res == NULL)
    return FALSE;
  *key = da_reservation_get_start (res);
  return TRUE;
}

gboolean
da_domain_keep_builtin (DaDomainCtx *ctx, const char *alias, DaDevice *dev, GError **error)
{
  DaReservation *holder = NULL;
  g_autoptr (GError) local = NULL;

  if (dev != NULL) {
    dev->builtin = alias;
    g_hash_table_insert (ctx->bound, (gpointer) alias, dev);
  }
  if (da_scope_restore_builtin (ctx->scope, alias, ctx->txn, &holder, &local) != NULL)
    return TRUE;
  if (holder != NULL && dev != NULL) {
    g_autofree char *other = da_domain_describe_holder (ctx, holder);

    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT, "%s (%s) at the machine's place %s clashes with %s",
                 dev->key, dev->alias, alias, other);
    return FALSE;
  }
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

gboolean
da_domain_drop_builtin (DaDomainCtx *ctx, const char *alias, GError **error)
{
  if (da_scope_lookup (ctx->scope, alias) == NULL)
    return TRUE;
  return da_scope_drop_builtin (ctx->scope, alias, ctx->now, ctx->txn, error);
}

/* ------------------------------------------------------------------ */
/* the VM's state before a domain is (re)applied */

static void
append_set (GString *out, const DaRangeMap *set)
{
  DaRangeMapIter iter;
  DaRange r;

  da_range_map_iter_init (&iter, set, 0);
  while (da_range_map_iter_next (&iter, &r, NULL))
    g_string_append_printf (out, " %" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x", r.start, r.end);
}

/* everything a snapshot of the scope would hold but time */
static char *
scope_fingerprint (DaScope *scope)
{
  g_autoptr (GPtrArray) pools = da_scope_list_pools (scope);
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < pools->len; i++) {
    DaPool *pool = g_ptr_array_index (pools, i);
    DaAddressType *type = da_pool_get_address_type (pool);
    g_auto (GStrv) tags = da_pool_list_tags (pool);
    g_autoptr (GPtrArray) reservations = da_pool_list_reservations (pool);

    g_string_append_printf (out, "pool %s:", da_address_type_get_name (type));
    append_set (out, da_pool_get_ranges (pool));
    for (guint j = 0; tags[j] != NULL; j++) {
      g_string_append_printf (out, "\n tag %s:", tags[j]);
      append_set (out, da_pool_get_tag (pool, tags[j]));
    }
    for (guint j = 0; j < reservations->len; j++) {
      DaReservation *res = g_ptr_array_index (reservations, j);

      g_string_append_printf (out, "\n res %s %" G_GINT64_MODIFIER "x+%" G_GUINT64_FORMAT " %d %d %u",
                              da_reservation_get_alias (res), da_reservation_get_start (res),
                              da_reservation_get_count (res), da_reservation_get_mode (res),
                              da_reservation_get_state (res), da_reservation_get_flags (res));
    }
    g_string_append_c (out, '\n');
  }
  return g_string_free (out, FALSE);
}

static gboolean
is_managed_type (const char *type)
{
  return g_strv_contains (managed_types, type);
}

/* take out every key of a managed pool that no reservation holds */
static gboolean
clear_free_keys (DaDomainCtx *ctx, DaPool *pool, GError **error)
{
  const char *type = da_address_type_get_name (da_pool_get_address_type (pool));
  g_autoptr (DaRangeMap) free_keys = da_pool_copy_free (pool);
  g_autoptr (GArray) pieces = g_array_new (FALSE, FALSE, sizeof (DaRange));
  DaRangeMapIter iter;
  DaRange r;

  da_range_map_iter_init (&iter, free_keys, 0);
  while (da_range_map_iter_next (&iter, &r, NULL))
    g_array_append_val (pieces, r);
  for (guint i = 0; i < pieces->len; i++) {
    DaRange *piece = &g_array_index (pieces, DaRange, i);

    if (!da_scope_remove_keys (ctx->scope, type, piece->start, piece->end, ctx->txn, error))
      return FALSE;
  }
  return TRUE;
}

/* add the template's buses and pools of the managed types again */
static gboolean
add_template_buses (DaDomainCtx *ctx, GError **error)
{
  const DaTemplate *tmpl = da_catalog_get_template (ctx->catalog, da_scope_get_template (ctx->scope));

  for (guint i = 0; tmpl != NULL && i < tmpl->buses->len; i++) {
    DaTemplateBus *bus = g_ptr_array_index (tmpl->buses, i);
    const DaBusModel *model = da_catalog_get_bus_model (ctx->catalog, bus->model);

    if (model != NULL && is_managed_type (model->type)
        && !da_scope_add_bus (ctx->scope, bus->model, bus->index, NULL, ctx->txn, error))
      return FALSE;
  }
  for (guint i = 0; tmpl != NULL && i < tmpl->pools->len; i++) {
    DaTemplatePool *tpool = g_ptr_array_index (tmpl->pools, i);
    DaAddressType *type = da_catalog_get_type (ctx->catalog, tpool->type);

    if (type == NULL || !is_managed_type (tpool->type))
      continue;
    for (guint j = 0; j < tpool->pieces->len; j++) {
      DaPoolPiece *piece = g_ptr_array_index (tpool->pieces, j);
      g_autoptr (DaRangeMap) keys = da_range_map_new_set ();
      DaRangeMapIter iter;
      DaRange r;

      if (!da_address_type_add_spec (type, piece->spec, keys, error))
        return FALSE;
      da_range_map_iter_init (&iter, keys, 0);
      while (da_range_map_iter_next (&iter, &r, NULL)) {
        if (piece->pool_keys && !da_scope_add_keys (ctx->scope, tpool->type, r.start, r.end, NULL, ctx->txn, error))
          return FALSE;
        for (guint k = 0; piece->tags != NULL && piece->tags[k] != NULL; k++)
          if (!da_scope_add_keys (ctx->scope, tpool->type, r.start, r.end, piece->tags[k], ctx->txn, error))
            return FALSE;
      }
    }
  }
  return TRUE;
}

/* Forget what the last assign/import/attach decided: its reservations go,
 * the template's fixed places come back where they are free, and the pools
 * of the managed types shrink to the template's buses; the XML then adds
 * its own.  Reservations made through the engine API stay. */
static gboolean
reset_domain (DaDomainCtx *ctx, GError **error)
{
  g_autoptr (GPtrArray) reservations = da_scope_list_reservations (ctx->scope);
  g_autoptr (GPtrArray) pools = NULL;
  const DaTemplate *tmpl = da_catalog_get_template (ctx->catalog, da_scope_get_template (ctx->scope));
  g_autoptr (GPtrArray) aliases = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < reservations->len; i++) {
    DaReservation *res = g_ptr_array_index (reservations, i);

    /* an unplug in progress keeps its address until it is confirmed */
    if ((da_reservation_get_flags (res) & DA_RESERVATION_DOMAIN) && da_reservation_get_state (res) != DA_STATE_RELEASING)
      g_ptr_array_add (aliases, g_strdup (da_reservation_get_alias (res)));
  }
  for (guint i = 0; i < aliases->len; i++)
    if (!da_scope_release (ctx->scope, g_ptr_array_index (aliases, i), DA_RELEASE_NOW, ctx->now, ctx->txn, NULL, error))
      return FALSE;
  for (guint i = 0; tmpl != NULL && i < tmpl->reservations->len; i++) {
    DaTemplateReservation *tres = g_ptr_array_index (tmpl->reservations, i);

    /* a place something else holds stays dropped */
    if (da_scope_lookup (ctx->scope, tres->alias) == NULL)
      da_scope_restore_builtin (ctx->scope, tres->alias, ctx->txn, NULL, NULL);
  }
  pools = da_scope_list_pools (ctx->scope);
  for (guint i = 0; i < pools->len; i++) {
    DaPool *pool = g_ptr_array_index (pools, i);

    if (is_managed_type (da_address_type_get_name (da_pool_get_address_type (pool))) && !clear_free_keys (ctx, pool, error))
      return FALSE;
  }
  return add_template_buses (ctx, error);
}

/* ------------------------------------------------------------------ */
/* reading the domain */

typedef struct {
  DaXmlDoc *doc;
  GVirConfigObject *config;
  xmlNode *root;
} Parsed;

static void
parsed_clear (Parsed *parsed)
{
  g_clear_pointer (&parsed->doc, xmlFreeDoc);
  g_clear_object (&parsed->config);
  parsed->root = NULL;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Parsed, parsed_clear)

/* whitespace between elements, and in <devices> and the devices in it
 * even when they hold nothing else (devaddr adds elements there), so that
 * the output is indented evenly and the same when it is fed back (libxml2
 * keeps blanks where an element holds nothing else) */
static void
drop_blanks (xmlNode *node, gboolean gets_elements)
{
  gboolean is_devices = strcmp ((const char *) node->name, "devices") == 0;
  gboolean has_elements = gets_elements || is_devices;
  xmlNode *next;

  for (xmlNode *child = node->children; child != NULL; child = child->next)
    if (child->type == XML_ELEMENT_NODE)
      has_elements = TRUE;
  for (xmlNode *child = node->children; child != NULL; child = next) {
    next = child->next;
    if (child->type == XML_ELEMENT_NODE) {
      drop_blanks (child, is_devices);
    } else if (child->type == XML_TEXT_NODE && has_elements && xmlIsBlankNode (child)) {
      xmlUnlinkNode (child);
      xmlFreeNode (child);
    }
  }
}

/* check the text ourselves, then let libvirt-gconfig parse what passed;
 * its node is the tree everything is read from and written to */
static gboolean
parse_element (const char *xml, gsize len, const DaDomainOptions *options, const char *root_name, Parsed *parsed,
               GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) local = NULL;
  xmlNode *root;
  const char *what = root_name != NULL ? "the domain XML" : "the device XML";

  parsed->doc = da_xml_parse_untrusted (xml, len, options != NULL ? options->max_xml_size : 0, what, error);
  if (parsed->doc == NULL)
    return FALSE;
  root = xmlDocGetRootElement (parsed->doc);
  if (root_name != NULL && strcmp ((const char *) root->name, root_name) != 0) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s has <%s> where <%s> belongs", what,
                 (const char *) root->name, root_name);
    return FALSE;
  }
  /* a lone device element gets its <address> too */
  drop_blanks (root, root_name == NULL);
  /* only the root element goes on (gconfig wants it first in the document),
   * without blanks, so that what is added later is indented like the rest */
  text = da_xml_node_to_string (root, FALSE);
  if (root_name != NULL)
    parsed->config = GVIR_CONFIG_OBJECT (gvir_config_domain_new_from_xml (text, &local));
  else
    parsed->config = gvir_config_object_new_from_xml (GVIR_CONFIG_TYPE_OBJECT, (const char *) root->name, NULL, text,
                                                      &local);
  if (parsed->config == NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "libvirt-gconfig cannot read %s: %s", what,
                 local != NULL ? local->message : "unknown error");
    return FALSE;
  }
  g_object_get (parsed->config, "node", &parsed->root, NULL);
  return parsed->root != NULL;
}

static DaMachine
machine_of_template (const char *name)
{
  return strcmp (name, "q35") == 0 ? DA_MACHINE_Q35 : DA_MACHINE_PC;
}

static gboolean
template_has_rules (const char *name)
{
  return strcmp (name, "pc") == 0 || strcmp (name, "q35") == 0;
}

/* the VM for a domain: created from the machine type when missing */
static gboolean
open_vm (DaDomainCtx *ctx, const char *vm, GVirConfigDomain *domain, gboolean *created, GError **error)
{
  g_autoptr (GObject) os = (GObject *) gvir_config_domain_get_os (domain);
  const char *machine = os != NULL ? gvir_config_domain_os_get_machine (GVIR_CONFIG_DOMAIN_OS (os)) : NULL;
  const char *arch = os != NULL ? gvir_config_domain_os_get_arch (GVIR_CONFIG_DOMAIN_OS (os)) : NULL;
  const DaTemplate *tmpl;

  *created = FALSE;
  if (arch != NULL && strcmp (arch, "x86_64") != 0 && strcmp (arch, "i686") != 0) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "the domain's architecture is %s; devaddr knows libvirt's rules for x86_64 and i686 only", arch);
    return FALSE;
  }
  /* libvirt's default machine for qemu-system-x86_64 is an i440fx pc */
  if (machine == NULL)
    machine = "pc";
  tmpl = da_catalog_match_machine (ctx->catalog, machine);
  if (tmpl == NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND, "no machine template matches machine type %s", machine);
    return FALSE;
  }
  if (!template_has_rules (tmpl->name)) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "machine type %s matches template %s; devaddr knows libvirt's rules for pc and q35 only", machine,
                 tmpl->name);
    return FALSE;
  }
  ctx->scope = da_engine_lookup_vm (ctx->engine, vm);
  if (ctx->scope != NULL && strcmp (da_scope_get_template (ctx->scope), tmpl->name) != 0) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT,
                 "vm %s was created for the %s template, but the XML's machine type %s is %s", vm,
                 da_scope_get_template (ctx->scope), machine, tmpl->name);
    return FALSE;
  }
  if (ctx->scope == NULL) {
    ctx->scope = da_engine_create_vm (ctx->engine, vm, tmpl->name, ctx->txn, error);
    if (ctx->scope == NULL)
      return FALSE;
    *created = TRUE;
  }
  ctx->machine = machine_of_template (tmpl->name);
  return TRUE;
}

/* virDomainControllerInsertPreAlloced: keep controllers of one type in
 * index order, everything else in document order */
static void
insert_controller (GPtrArray *list, DaDevice *dev)
{
  int insert_at = -1;

  for (int i = (int) list->len - 1; i >= 0; i--) {
    DaDevice *cur = g_ptr_array_index (list, i);

    if (strcmp (cur->type, dev->type) != 0)
      continue;
    if (dev->index < 0) {
      dev->index = cur->index + 1;
      break;
    }
    if (cur->index > dev->index) {
      insert_at = i;
    } else if (insert_at == -1) {
      insert_at = i + 1;
      break;
    }
  }
  if (dev->index < 0)
    dev->index = 0;
  g_ptr_array_insert (list, insert_at, dev);
}

/* virDomainDiskInsertPreAlloced: disks of one bus in target-name order */
static void
insert_disk (GPtrArray *list, DaDevice *dev)
{
  int insert_at = -1;
  guint index = 0, other;

  da_drive_name_to_index (dev->target, &index, NULL);
  for (int i = (int) list->len - 1; i >= 0; i--) {
    DaDevice *cur = g_ptr_array_index (list, i);

    if (g_strcmp0 (cur->model, dev->model) != 0)
      continue;
    other = 0;
    da_drive_name_to_index (cur->target, &other, NULL);
    if (other > index)
      insert_at = i;
    else if (insert_at == -1)
      insert_at = i + 1;
  }
  g_ptr_array_insert (list, insert_at, dev);
}

static gboolean
is_ich9_usb (DaDevice *dev)
{
  return dev->model != NULL && g_str_has_prefix (dev->model, "ich9-");
}

static gboolean
collect_devices (DaDomainCtx *ctx, GError **error)
{
  ctx->devices_node = da_xml_child (ctx->domain, "devices");
  if (ctx->devices_node == NULL) {
    if (!ctx->write_defaults) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "the domain XML has no <devices>");
      return FALSE;
    }
    ctx->devices_node = xmlNewChild (ctx->domain, NULL, (const xmlChar *) "devices", NULL);
  }
  for (xmlNode *node = ctx->devices_node->children; node != NULL; node = node->next) {
    DaDevice *dev;

    if (node->type != XML_ELEMENT_NODE)
      continue;
    dev = da_device_new (da_dev_kind_from_name ((const char *) node->name), node);
    g_ptr_array_add (ctx->devices, dev);
    if (!da_device_read (ctx, dev, error) || !da_device_apply_defaults (ctx, dev, error))
      return FALSE;
    if (dev->kind == DA_DEV_CONTROLLER)
      insert_controller (ctx->controllers, dev);
    if (dev->kind == DA_DEV_DISK)
      insert_disk (ctx->disks, dev);
  }
  for (guint i = 0; i < ctx->controllers->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->controllers, i);

    if (da_xml_attr (dev->node, "index") == NULL && ctx->write_defaults)
      da_xml_set_attr_printf (dev->node, "index", "%d", dev->index);
    for (guint j = 0; j < i; j++) {
      DaDevice *other = g_ptr_array_index (ctx->controllers, j);

      /* an ICH9 USB2 set is one controller index in four elements */
      if (strcmp (other->type, dev->type) == 0 && other->index == dev->index
          && !(strcmp (dev->type, "usb") == 0 && is_ich9_usb (dev) && is_ich9_usb (other))) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "there are two %s controllers with index %d",
                     dev->type, dev->index);
        return FALSE;
      }
    }
  }
  return TRUE;
}

static GPtrArray *
devices_of (DaDomainCtx *ctx, DaDevKind kind)
{
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);

    if (dev->kind == kind)
      g_ptr_array_add (out, dev);
  }
  return out;
}

static gboolean
has_element (DaDomainCtx *ctx, const char *name)
{
  return da_xml_child (ctx->devices_node, name) != NULL;
}

/* ------------------------------------------------------------------ */
/* what libvirt adds at define time (RULES.md §2) */

static gboolean
is_primary_video (DaDevice *dev)
{
  const char *primary = da_xml_child_attr (dev->node, "model", "primary");

  return primary != NULL && strcmp (primary, "yes") == 0;
}

static void
move_device_before (DaDomainCtx *ctx, DaDevice *dev, DaDevice *before)
{
  xmlUnlinkNode (dev->node);
  xmlAddPrevSibling (before->node, dev->node);
  for (guint i = 0; i < ctx->devices->len; i++) {
    if (g_ptr_array_index (ctx->devices, i) == dev) {
      g_ptr_array_steal_index (ctx->devices, i);
      break;
    }
  }
  for (guint i = 0; i < ctx->devices->len; i++) {
    if (g_ptr_array_index (ctx->devices, i) == before) {
      g_ptr_array_insert (ctx->devices, (gint) i, dev);
      return;
    }
  }
  g_ptr_array_add (ctx->devices, dev);
}

static gboolean
add_videos (DaDomainCtx *ctx, GError **error)
{
  g_autoptr (GPtrArray) videos = devices_of (ctx, DA_DEV_VIDEO);
  guint n_primary = 0;

  /* libvirt refuses more than one primary video when it validates */
  for (guint i = 0; i < videos->len; i++)
    if (is_primary_video (g_ptr_array_index (videos, i)))
      n_primary++;
  if (n_primary > 1) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "Only one primary video device is supported");
    return FALSE;
  }
  /* libvirt keeps the primary video first */
  for (guint i = 1; i < videos->len; i++) {
    if (is_primary_video (g_ptr_array_index (videos, i))) {
      move_device_before (ctx, g_ptr_array_index (videos, i), g_ptr_array_index (videos, 0));
      break;
    }
  }
  /* QEMU has one primary display device; only qxl and virtio come as extras */
  for (guint i = 0; videos->len > 1 && i < videos->len; i++) {
    if (g_strcmp0 (((DaDevice *) g_ptr_array_index (videos, i))->model, "none") == 0) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "a 'none' video type must be the only video device defined for the domain");
      return FALSE;
    }
  }
  if (videos->len > 1) {
    g_autoptr (GPtrArray) ordered = devices_of (ctx, DA_DEV_VIDEO);

    for (guint i = 1; i < ordered->len; i++) {
      DaDevice *dev = g_ptr_array_index (ordered, i);

      if (g_strcmp0 (dev->model, "qxl") != 0 && g_strcmp0 (dev->model, "virtio") != 0) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                     "video[%u]: video type '%s' is only valid as primary video device", i + 1, dev->model);
        return FALSE;
      }
    }
  }
  if (videos->len == 0 && has_element (ctx, "graphics")) {
    DaDevice *dev = da_domain_add_element (ctx, DA_DEV_VIDEO, "video", NULL, error);
    xmlNode *model = xmlNewChild (dev->node, NULL, (const xmlChar *) "model", NULL);

    da_xml_set_attr (model, "type", "cirrus");
    da_xml_set_attr (model, "vram", "16384");
    da_xml_set_attr (model, "heads", "1");
    da_xml_set_attr (model, "primary", "yes");
    dev->model = g_strdup ("cirrus");
  }
  return TRUE;
}

static DaDevice *
add_implicit_controller (DaDomainCtx *ctx, const char *type, int index, const char *model, GError **error)
{
  if (da_domain_find_controller (ctx, type, index) != NULL)
    return NULL;
  return da_domain_add_controller (ctx, type, index, model, error);
}

/* virDomainDefAddDiskControllersForType: every index up to the highest a
 * drive address names */
static gboolean
add_disk_controllers (DaDomainCtx *ctx, const char *bus, GError **error)
{
  int max = -1;

  for (guint i = 0; i < ctx->disks->len; i++) {
    DaDevice *disk = g_ptr_array_index (ctx->disks, i);

    if (g_strcmp0 (disk->model, bus) == 0 && disk->addr.kind == DA_ADDR_DRIVE)
      max = MAX (max, (int) disk->addr.v[0]);
  }
  for (int i = 0; i <= max; i++) {
    g_autoptr (GError) local = NULL;

    add_implicit_controller (ctx, bus, i, strcmp (bus, "scsi") == 0 ? "lsilogic" : NULL, &local);
    if (local != NULL) {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  }
  return TRUE;
}

/* virDomainDefAddConsoleCompat: the first serial port is also console 0 */
static gboolean
add_console_compat (DaDomainCtx *ctx, GError **error)
{
  g_autoptr (GPtrArray) serials = devices_of (ctx, DA_DEV_SERIAL);
  g_autoptr (GPtrArray) consoles = devices_of (ctx, DA_DEV_CONSOLE);
  DaDevice *first_console = consoles->len > 0 ? g_ptr_array_index (consoles, 0) : NULL;
  DaDevice *serial = serials->len > 0 ? g_ptr_array_index (serials, 0) : NULL;
  const char *serial_targets[] = { "isa-serial", "spapr-vio-serial", "system-serial", "sclp-serial", NULL };
  DaDevice *dev;
  xmlNode *target;

  if (first_console != NULL && (first_console->bus == NULL || strcmp (first_console->bus, "serial") == 0)) {
    if (serial != NULL)
      return TRUE;
    /* a serial console alone: libvirt makes it serial port 0 as well */
    dev = da_domain_add_element (ctx, DA_DEV_SERIAL, "serial", NULL, error);
    da_xml_set_attr (dev->node, "type", first_console->type ?: "pty");
    target = xmlNewChild (dev->node, NULL, (const xmlChar *) "target", NULL);
    da_xml_set_attr (target, "type", "isa-serial");
    da_xml_set_attr (target, "port", "0");
    dev->type = g_strdup (first_console->type ?: "pty");
    dev->bus = g_strdup ("isa-serial");
    return TRUE;
  }
  if (serial == NULL || !g_strv_contains (serial_targets, serial->bus))
    return TRUE;
  dev = da_domain_add_element (ctx, DA_DEV_CONSOLE, "console", first_console != NULL ? first_console->node : NULL, error);
  da_xml_set_attr (dev->node, "type", serial->type ?: "pty");
  for (xmlNode *child = serial->node->children; child != NULL; child = child->next)
    if (child->type == XML_ELEMENT_NODE && strcmp ((const char *) child->name, "source") == 0)
      xmlAddChild (dev->node, xmlCopyNode (child, 1));
  target = xmlNewChild (dev->node, NULL, (const xmlChar *) "target", NULL);
  da_xml_set_attr (target, "type", "serial");
  da_xml_set_attr (target, "port", "0");
  dev->type = g_strdup (serial->type ?: "pty");
  dev->bus = g_strdup ("serial");
  return TRUE;
}

static gboolean
has_input (DaDomainCtx *ctx, const char *type, const char *bus)
{
  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);

    if (dev->kind == DA_DEV_INPUT && g_strcmp0 (dev->type, type) == 0 && g_strcmp0 (dev->bus, bus) == 0)
      return TRUE;
  }
  return FALSE;
}

static void
add_input (DaDomainCtx *ctx, const char *type, const char *bus)
{
  DaDevice *dev;

  if (has_input (ctx, type, bus))
    return;
  dev = da_domain_add_element (ctx, DA_DEV_INPUT, "input", NULL, NULL);
  da_xml_set_attr (dev->node, "type", type);
  da_xml_set_attr (dev->node, "bus", bus);
  dev->type = g_strdup (type);
  dev->bus = g_strdup (bus);
}

static gboolean
add_implicit_devices (DaDomainCtx *ctx, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GPtrArray) channels = NULL;

  if (!add_videos (ctx, error) || !da_domain_assign_drives (ctx, error))
    return FALSE;

  /* qemuDomainDefAddDefaultDevices: USB 0, q35's SATA 0, the PCI root */
  if (da_domain_find_controller (ctx, "usb", 0) == NULL)
    add_implicit_controller (ctx, "usb", 0, ctx->machine == DA_MACHINE_Q35 ? "qemu-xhci" : "piix3-uhci", &local);
  if (local == NULL && ctx->machine == DA_MACHINE_Q35)
    add_implicit_controller (ctx, "sata", 0, NULL, &local);
  if (local == NULL)
    add_implicit_controller (ctx, "pci", 0, ctx->machine == DA_MACHINE_Q35 ? "pcie-root" : "pci-root", &local);
  if (local != NULL) {
    g_propagate_error (error, g_steal_pointer (&local));
    return FALSE;
  }
  if (!has_element (ctx, "memballoon")) {
    DaDevice *dev = da_domain_add_element (ctx, DA_DEV_MEMBALLOON, "memballoon", NULL, error);

    da_xml_set_attr (dev->node, "model", "virtio");
    dev->model = g_strdup ("virtio");
  }

  /* virDomainDefAddImplicitControllers */
  if (!add_disk_controllers (ctx, "scsi", error) || !add_disk_controllers (ctx, "fdc", error)
      || !add_disk_controllers (ctx, "ide", error) || !add_disk_controllers (ctx, "sata", error))
    return FALSE;
  channels = g_ptr_array_new ();
  for (guint pass = 0; pass < 2; pass++) {
    for (guint i = 0; i < ctx->devices->len; i++) {
      DaDevice *dev = g_ptr_array_index (ctx->devices, i);

      if (dev->kind == (pass == 0 ? DA_DEV_CHANNEL : DA_DEV_CONSOLE) && da_device_is_virtio_serial (dev))
        g_ptr_array_add (channels, dev);
    }
  }
  for (guint i = 0; i < channels->len; i++) {
    DaDevice *dev = g_ptr_array_index (channels, i);
    int index = dev->given.kind == DA_ADDR_VIRTIO_SERIAL ? (int) dev->given.v[0] : 0;

    add_implicit_controller (ctx, "virtio-serial", index, NULL, &local);
    if (local != NULL) {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  }
  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);

    if (dev->kind == DA_DEV_SMARTCARD) {
      /* a smartcard's <address type='ccid' controller=N> names its controller */
      const char *controller = da_xml_child_attr (dev->node, "address", "controller");
      guint64 index = 0;

      if (controller != NULL && (!da_parse_u64 (controller, &index) || index > 1023))
        index = 0;
      add_implicit_controller (ctx, "ccid", (int) index, NULL, &local);
      if (local != NULL) {
        g_propagate_error (error, g_steal_pointer (&local));
        return FALSE;
      }
    }
  }
  if (!add_console_compat (ctx, error))
    return FALSE;
  /* i440fx has the one PIIX3 IDE controller */
  for (guint i = 0; i < ctx->controllers->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->controllers, i);

    if (strcmp (dev->type, "ide") == 0 && dev->index > 0) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                   "controller[type=ide,index=%d]: only a single IDE controller is supported for this machine type",
                   dev->index);
      return FALSE;
    }
  }
  /* qemuDomainDefAddImplicitInputDevice (x86) */
  add_input (ctx, "mouse", "ps2");
  add_input (ctx, "keyboard", "ps2");
  return TRUE;
}

static gboolean
name_devices (DaDomainCtx *ctx, GError **error)
{
  da_domain_compute_keys (ctx);
  /* aliases written in the XML first, so that generated ones avoid them */
  for (guint pass = 0; pass < 2; pass++) {
    for (guint i = 0; i < ctx->devices->len; i++) {
      DaDevice *dev = g_ptr_array_index (ctx->devices, i);
      gboolean given = da_xml_child_attr (dev->node, "alias", "name") != NULL;

      if (dev->kind == DA_DEV_OTHER || given != (pass == 0))
        continue;
      if (!da_domain_name_device (ctx, dev, error))
        return FALSE;
    }
  }
  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);

    dev->connect = da_device_connect_flags (ctx, dev);
  }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* the machine's fixed places (RULES.md §4.3) */

static gboolean
pci_is (const DaAddr *addr, guint bus, guint slot, guint function)
{
  return addr->kind == DA_ADDR_PCI && addr->v[0] == 0 && addr->v[1] == bus && addr->v[2] == slot && addr->v[3] == function;
}

static gboolean
bind_fixed (DaDomainCtx *ctx, DaDevice *dev, const char *builtin, guint slot, guint function, const char *wrong,
            GError **error)
{
  if (dev->fixed && !pci_is (&dev->addr, 0, slot, function)) {
    if (dev->addr.kind == DA_ADDR_PCI || !ctx->importing) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s: %s", dev->key, wrong);
      return FALSE;
    }
  }
  da_addr_from_key (ctx, &dev->addr, DA_ADDR_PCI, "pci", da_pci_key (ctx, 0, slot, function));
  return da_domain_keep_builtin (ctx, builtin, dev, error);
}

/* is anything but the builtin itself in slot 2 of bus 0 */
static gboolean
slot2_taken (DaDomainCtx *ctx, DaDevice *video)
{
  for (guint f = 0; f < 8; f++) {
    DaReservation *res = da_scope_lookup_address (ctx->scope, "pci", da_pci_key (ctx, 0, 2, f));

    if (res != NULL && strcmp (da_reservation_get_alias (res), "primary-video") != 0)
      return TRUE;
  }
  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);

    if (dev != video && dev->fixed && dev->addr.kind == DA_ADDR_PCI && dev->addr.v[0] == 0 && dev->addr.v[1] == 0
        && dev->addr.v[2] == 2)
      return TRUE;
  }
  return FALSE;
}

static DaDevice *
primary_video (DaDomainCtx *ctx)
{
  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);

    if (dev->kind == DA_DEV_VIDEO) {
      if (g_strcmp0 (dev->model, "none") == 0 || g_strcmp0 (dev->model, "ramfb") == 0)
        return NULL;
      return dev;
    }
  }
  return NULL;
}

static gboolean
bind_builtins_pc (DaDomainCtx *ctx, GError **error)
{
  DaDevice *ide = da_domain_find_controller (ctx, "ide", 0);
  DaDevice *usb = da_domain_find_controller (ctx, "usb", 0);
  DaDevice *video = primary_video (ctx);

  /* QEMU's i440fx always has its PIIX3 IDE function, a disk or not */
  if (ide != NULL && (!ctx->importing || pci_is (&ide->addr, 0, 1, 1))) {
    if (!bind_fixed (ctx, ide, "piix3-ide", 1, 1, "the primary IDE controller must have PCI address 0:0:1.1", error))
      return FALSE;
  } else if (!da_domain_keep_builtin (ctx, "piix3-ide", NULL, NULL)) {
    /* held by a reservation made outside the domain: it stays dropped */
  }
  if (usb != NULL && (usb->model == NULL || strcmp (usb->model, "piix3-uhci") == 0)
      && (!ctx->importing || pci_is (&usb->addr, 0, 1, 2))) {
    if (!bind_fixed (ctx, usb, "piix3-usb", 1, 2, "a PIIX3 USB controller at index 0 must have PCI address 0:0:1.2",
                     error))
      return FALSE;
  } else if (!da_domain_drop_builtin (ctx, "piix3-usb", error)) {
    return FALSE;
  }

  /* slot 2 is the primary video's when it wants it, else the first
   * device's (RULES.md §4.3) */
  if (video != NULL && ((video->fixed && pci_is (&video->addr, 0, 2, 0))
                        || (!video->fixed && !ctx->importing && !slot2_taken (ctx, video)))) {
    da_addr_from_key (ctx, &video->addr, DA_ADDR_PCI, "pci", da_pci_key (ctx, 0, 2, 0));
    return da_domain_keep_builtin (ctx, "primary-video", video, error);
  }
  return da_domain_drop_builtin (ctx, "primary-video", error);
}

static gboolean
bind_builtins_q35 (DaDomainCtx *ctx, GError **error)
{
  DaDevice *sata = da_domain_find_controller (ctx, "sata", 0);

  if (sata != NULL && (!ctx->importing || pci_is (&sata->addr, 0, 0x1f, 2)))
    return bind_fixed (ctx, sata, "ich9-sata", 0x1f, 2, "the primary SATA controller must have PCI address 0:0:1f.2",
                       error);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* output */

static void
write_addresses (DaDomainCtx *ctx)
{
  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);

    if (dev->kind == DA_DEV_OTHER || dev->hidden || dev->addr.kind == DA_ADDR_NONE || dev->addr.kind == DA_ADDR_OTHER)
      continue;
    if (dev->res_type == NULL && dev->builtin == NULL)
      continue;
    da_addr_write (dev, &dev->addr);
  }
}

static void
collect_result (DaDomainCtx *ctx, DaDomainResult *result)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (NULL, NULL);

  for (guint i = 0; i < ctx->devices->len; i++) {
    DaDevice *dev = g_ptr_array_index (ctx->devices, i);
    DaReservation *res = NULL;

    if (dev->res_type != NULL)
      res = da_scope_lookup (ctx->scope, dev->alias);
    else if (dev->builtin != NULL)
      res = da_scope_lookup (ctx->scope, dev->builtin);
    if (res != NULL && g_hash_table_add (seen, res))
      g_ptr_array_add (result->reservations, res);
    if (dev->implicit)
      da_domain_note_addition (ctx, dev);
  }
  g_ptr_array_extend_and_steal (result->added, g_steal_pointer (&ctx->added));
  ctx->added = g_ptr_array_new_with_free_func ((GDestroyNotify) da_domain_addition_free);
}

static gboolean
finish_xml (DaDomainCtx *ctx, Parsed *parsed, const DaDomainOptions *options, DaDomainResult *result, GError **error)
{
  guint flags = options != NULL ? options->flags : 0;

  if (!(flags & DA_DOMAIN_NO_SCHEMA)) {
    const char *schema = options != NULL && options->schema != NULL ? options->schema : da_domain_default_schema ();

    if (!da_domain_validate_schema (parsed->root->doc, schema, error))
      return FALSE;
  }
  result->xml = gvir_config_object_to_xml (parsed->config);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* domain.assign */

static gboolean
assign (DaDomainCtx *ctx, GError **error)
{
  if (!collect_devices (ctx, error) || !add_implicit_devices (ctx, error) || !name_devices (ctx, error))
    return FALSE;
  if (!(ctx->machine == DA_MACHINE_Q35 ? bind_builtins_q35 (ctx, error) : bind_builtins_pc (ctx, error)))
    return FALSE;
  if (!da_domain_reserve_drives (ctx, error) || !da_domain_assign_virtio_serial (ctx, error)
      || !da_domain_assign_pci (ctx, error) || !da_domain_assign_usb (ctx, error))
    return FALSE;
  write_addresses (ctx);
  return TRUE;
}

static DaDomainResult *
apply_domain (DaEngine *engine, const char *vm, const char *xml, gsize len, const DaDomainOptions *options, gint64 now,
              DaTxn *txn, gboolean importing, GError **error)
{
  g_auto (Parsed) parsed = { NULL };
  g_autoptr (DaDomainResult) result = result_new ();
  g_autoptr (DaDomainCtx) ctx = NULL;
  g_autofree char *before = NULL;
  gboolean created = FALSE;
  gboolean ok = FALSE;
  guint start;
  Work work;

  if (!parse_element (xml, len, options, "domain", &parsed, error))
    return NULL;
  work_begin (&work, engine, txn);
  ctx = ctx_new (engine, now, work.txn);
  ctx->domain = parsed.root;
  ctx->importing = importing;
  ctx->write_defaults = !importing;
  ctx->collect_conflicts = importing;
  start = da_txn_savepoint (work.txn);
  if (!open_vm (ctx, vm, GVIR_CONFIG_DOMAIN (parsed.config), &created, error))
    goto out;
  if (!created)
    before = scope_fingerprint (ctx->scope);
  if (!reset_domain (ctx, error))
    goto out;
  if (!(importing ? da_domain_import_devices (ctx, error) : assign (ctx, error)))
    goto out;
  if (importing && ctx->conflicts->len > 0 && !(options != NULL && (options->flags & DA_DOMAIN_IMPORT_PARTIAL))) {
    g_autofree char *list = NULL;

    g_ptr_array_add (ctx->conflicts, NULL);
    list = g_strjoinv ("; ", (char **) ctx->conflicts->pdata);
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT, "%u clash%s in the domain XML: %s",
                 ctx->conflicts->len - 1, ctx->conflicts->len == 2 ? "" : "es", list);
    goto out;
  }
  if (!finish_xml (ctx, &parsed, options, result, error))
    goto out;
  /* the same domain again: nothing changed, so nothing to journal */
  if (before != NULL) {
    g_autofree char *after = scope_fingerprint (ctx->scope);

    if (strcmp (before, after) == 0)
      da_txn_rollback_to (work.txn, start);
  }
  collect_result (ctx, result);
  for (guint i = 0; i < ctx->conflicts->len; i++)
    if (g_ptr_array_index (ctx->conflicts, i) != NULL)
      g_ptr_array_add (result->conflicts, g_strdup (g_ptr_array_index (ctx->conflicts, i)));
  ok = TRUE;
out:
  work_end (&work, ok);
  return ok ? g_steal_pointer (&result) : NULL;
}

DaDomainResult *
da_domain_assign (DaEngine *engine, const char *vm, const char *xml, gsize len, const DaDomainOptions *options,
                  gint64 now, DaTxn *txn, GError **error)
{
  return apply_domain (engine, vm, xml, len, options, now, txn, FALSE, error);
}

/* ------------------------------------------------------------------ */
/* domain.import */

gboolean
da_domain_import_devices (DaDomainCtx *ctx, GError **error)
{
  if (!collect_devices (ctx, error) || !name_devices (ctx, error))
    return FALSE;
  if (!(ctx->machine == DA_MACHINE_Q35 ? bind_builtins_q35 (ctx, error) : bind_builtins_pc (ctx, error)))
    return FALSE;
  return da_domain_reserve_drives (ctx, error) && da_domain_assign_virtio_serial (ctx, error)
         && da_domain_assign_pci (ctx, error) && da_domain_assign_usb (ctx, error);
}

DaDomainResult *
da_domain_import (DaEngine *engine, const char *vm, const char *xml, gsize len, const DaDomainOptions *options,
                  gint64 now, DaTxn *txn, GError **error)
{
  return apply_domain (engine, vm, xml, len, options, now, txn, TRUE, error);
}

/* ------------------------------------------------------------------ */
/* device.attach and device.detach */

static gboolean
open_existing_vm (DaDomainCtx *ctx, const char *vm, GError **error)
{
  ctx->scope = da_engine_lookup_vm (ctx->engine, vm);
  if (ctx->scope == NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND, "no vm %s: assign or import its domain first",
                 vm != NULL ? vm : "");
    return FALSE;
  }
  if (!template_has_rules (da_scope_get_template (ctx->scope))) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "vm %s uses template %s; devaddr knows libvirt's rules for pc and q35 only", vm,
                 da_scope_get_template (ctx->scope));
    return FALSE;
  }
  ctx->machine = machine_of_template (da_scope_get_template (ctx->scope));
  return TRUE;
}

/* a device on its own is named like one of a domain, without a count */
static void
set_lone_key (DaDevice *dev)
{
  g_free (dev->key);
  if (dev->kind == DA_DEV_DISK)
    dev->key = g_strdup_printf ("disk[target=%s]", dev->target);
  else if (dev->kind == DA_DEV_CONTROLLER && dev->index >= 0)
    dev->key = g_strdup_printf ("controller[type=%s,index=%d]", dev->type, dev->index);
  else if (dev->kind == DA_DEV_CONTROLLER)
    dev->key = g_strdup_printf ("controller[type=%s]", dev->type);
  else if (dev->kind == DA_DEV_INPUT)
    dev->key = g_strdup_printf ("input[type=%s,bus=%s]", dev->type ?: "", dev->bus ?: "");
  else
    dev->key = g_strdup ((const char *) dev->node->name);
}

/* one device element read on its own */
static DaDevice *
read_lone_device (DaDomainCtx *ctx, xmlNode *node, GError **error)
{
  DaDevKind kind = da_dev_kind_from_name ((const char *) node->name);
  DaDevice *dev;

  if (kind == DA_DEV_OTHER) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "<%s> is not a device devaddr gives addresses to",
                 (const char *) node->name);
    return NULL;
  }
  dev = da_device_new (kind, node);
  g_ptr_array_add (ctx->devices, dev);
  if (!da_device_read (ctx, dev, error) || !da_device_apply_defaults (ctx, dev, error))
    return NULL;
  if (kind == DA_DEV_DISK)
    g_ptr_array_add (ctx->disks, dev);
  if (kind == DA_DEV_CONTROLLER)
    g_ptr_array_add (ctx->controllers, dev);
  set_lone_key (dev);
  dev->connect = da_device_connect_flags (ctx, dev);
  return dev;
}

static gboolean
is (const char *a, const char *b)
{
  return a != NULL && strcmp (a, b) == 0;
}

/* Why libvirt's QEMU driver refuses to plug a device into a running guest,
 * in its own words (9.0: qemuDomainAttachDeviceLive and the attach
 * functions it calls), or NULL when it plugs it in.  devaddr must not hand
 * out an address for a hotplug that cannot happen. */
static char *
live_attach_refusal (DaDevice *dev)
{
  switch (dev->kind) {
  case DA_DEV_DISK:
    if (is (dev->type, "floppy"))
      return g_strdup ("floppy device hotplug isn't supported");
    if (!is (dev->model, "virtio") && !is (dev->model, "scsi") && !is (dev->model, "usb"))
      return g_strdup_printf ("disk bus '%s' cannot be hotplugged (only virtio, scsi and usb disks can)",
                              dev->model != NULL ? dev->model : "none");
    if (is (dev->type, "cdrom") && is (dev->model, "virtio"))
      return g_strdup ("cdrom device with virtio bus isn't supported");
    return NULL;
  case DA_DEV_CONTROLLER:
    if (!is (dev->type, "scsi"))
      return g_strdup_printf ("'%s' controller cannot be hot plugged (only SCSI controllers can)", dev->type);
    return NULL;
  case DA_DEV_INPUT:
    if (!is (dev->bus, "usb") && !is (dev->bus, "virtio"))
      return g_strdup_printf ("input device on bus '%s' cannot be hot plugged (only usb and virtio inputs can)",
                              dev->bus != NULL ? dev->bus : "default");
    return NULL;
  case DA_DEV_WATCHDOG:
    if (!is (dev->model, "i6300esb"))
      return g_strdup_printf ("hotplug of watchdog of model %s is not supported (only i6300esb)",
                              dev->model != NULL ? dev->model : "(none)");
    return NULL;
  case DA_DEV_FILESYSTEM:
    if (!is (dev->type, "virtiofs"))
      return g_strdup ("only virtiofs filesystems can be hotplugged");
    return NULL;
  case DA_DEV_SHMEM:
    if (is (dev->model, "ivshmem"))
      return g_strdup ("live attach of shmem model 'ivshmem' is not supported");
    return NULL;
  case DA_DEV_HOSTDEV:
    if (!is (dev->model, "subsystem"))
      return g_strdup_printf ("hotplug is not supported for hostdev mode '%s'", dev->model);
    return NULL;
  case DA_DEV_CONSOLE:
    /* a console without a target type is the serial console on x86 */
    if (!is (dev->bus, "virtio"))
      return g_strdup ("attaching serial console is not supported");
    return NULL;
  case DA_DEV_SOUND:
  case DA_DEV_VIDEO:
  case DA_DEV_HUB:
  case DA_DEV_SMARTCARD:
  case DA_DEV_MEMBALLOON:
  case DA_DEV_TPM:
  case DA_DEV_PANIC:
  case DA_DEV_IOMMU:
  case DA_DEV_CRYPTO:
    return g_strdup_printf ("live attach of device '%s' is not supported", (const char *) dev->node->name);
  default:
    return NULL;
  }
}

static gboolean
check_live_attach (DaDomainCtx *ctx, DaDevice *dev, GError **error)
{
  g_autofree char *why = live_attach_refusal (dev);

  /* a domain has one vsock, which libvirt always calls vsock0 */
  if (why == NULL && dev->kind == DA_DEV_VSOCK && da_scope_lookup (ctx->scope, "vsock0") != NULL)
    why = g_strdup ("the domain already has a vsock device");

  if (why == NULL)
    return TRUE;
  g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
               "%s: libvirt cannot attach it to running vm %s: %s", dev->key, da_scope_get_name (ctx->scope), why);
  return FALSE;
}

/* the keys of SCSI controller index's drive bus */
static void
scsi_bus_keys (DaDomainCtx *ctx, guint64 index, guint64 *start, guint64 *end)
{
  DaAddressType *type = da_catalog_get_type (ctx->catalog, "drive-scsi");
  DaAddr addr = { DA_ADDR_DRIVE, { index, 0, 0, 0, 0 }, -1 };

  *start = da_addr_key (ctx, &addr, "drive-scsi");
  *end = *start + da_address_type_get_dimension (type, 0)->weight - 1;
}

static gboolean
has_scsi_controller (DaDomainCtx *ctx, guint64 index)
{
  DaPool *pool = da_scope_get_pool (ctx->scope, "drive-scsi");
  guint64 start, end;

  scsi_bus_keys (ctx, index, &start, &end);
  return pool != NULL && da_range_map_lookup (da_pool_get_ranges (pool), start, NULL, NULL);
}

/* What an attached device's name follows from: a SCSI controller's index
 * (libvirt takes the lowest one unused; it is written into the element so
 * that libvirt takes the same), a disk's drive address (from its target
 * name).  A SCSI disk needs its controller in the VM: libvirt would plug in
 * a controller of its own for a missing one, at an address devaddr never
 * gave out. */
static gboolean
prepare_attached (DaDomainCtx *ctx, DaDevice *dev, GError **error)
{
  const char *vm = da_scope_get_name (ctx->scope);
  const DaDimension *controllers = da_address_type_get_dimension (da_catalog_get_type (ctx->catalog, "drive-scsi"), 0);
  int max = (int) controllers->max;

  if (dev->kind == DA_DEV_CONTROLLER && is (dev->type, "scsi")) {
    if (dev->index > max) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS, "%s: index %d is more than %d", dev->key,
                   dev->index, max);
      return FALSE;
    }
    if (dev->index >= 0) {
      if (has_scsi_controller (ctx, (guint64) dev->index)) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT, "%s: vm %s has SCSI controller %d already",
                     dev->key, vm, dev->index);
        return FALSE;
      }
      return TRUE;
    }
    for (dev->index = 0; has_scsi_controller (ctx, (guint64) dev->index); dev->index++) {
      if (dev->index == max) {
        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_EXHAUSTED, "%s: vm %s has every SCSI controller index",
                     dev->key, vm);
        return FALSE;
      }
    }
    da_xml_set_attr_printf (dev->node, "index", "%d", dev->index);
    set_lone_key (dev);
    return TRUE;
  }
  if (dev->kind == DA_DEV_DISK && is (dev->model, "scsi")) {
    if (!da_domain_assign_drives (ctx, error))
      return FALSE;
    if (dev->addr.kind == DA_ADDR_DRIVE && !has_scsi_controller (ctx, dev->addr.v[0])) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                   "%s: vm %s has no SCSI controller %" G_GUINT64_FORMAT
                   ": attach <controller type='scsi' index='%" G_GUINT64_FORMAT "'/> first",
                   dev->key, vm, dev->addr.v[0], dev->addr.v[0]);
      return FALSE;
    }
  }
  return TRUE;
}

/* libvirt's scheme, numbered past what the VM already has */
static gboolean
name_attached (DaDomainCtx *ctx, DaDevice *dev, GError **error)
{
  g_autofree char *prefix = NULL;
  gsize len;

  if (!da_domain_name_device (ctx, dev, error))
    return FALSE;
  if (da_scope_lookup (ctx->scope, dev->alias) == NULL || da_xml_child_attr (dev->node, "alias", "name") != NULL)
    return TRUE;
  len = strlen (dev->alias);
  while (len > 0 && g_ascii_isdigit (dev->alias[len - 1]))
    len--;
  prefix = g_strndup (dev->alias, len);
  for (guint n = 0;; n++) {
    g_autofree char *alias = g_strdup_printf ("%s%u", prefix, n);

    if (da_scope_lookup (ctx->scope, alias) == NULL) {
      g_hash_table_remove (ctx->aliases, dev->alias);
      g_free (dev->alias);
      dev->alias = g_steal_pointer (&alias);
      g_hash_table_insert (ctx->aliases, dev->alias, dev);
      return TRUE;
    }
  }
}

static gboolean
attach_pci (DaDomainCtx *ctx, DaDevice *dev, GError **error)
{
  DaConstraint c;
  guint64 key;

  if (dev->fixed) {
    if (dev->addr.kind != DA_ADDR_PCI) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS, "%s needs a PCI address", dev->key);
      return FALSE;
    }
    if (!da_pci_check_domain (dev, error))
      return FALSE;
    if (dev->addr.v[3] != 0) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                   "%s: only PCI addresses with function 0 can be hotplugged", dev->key);
      return FALSE;
    }
    key = da_pci_key (ctx, (guint) dev->addr.v[1], (guint) dev->addr.v[2], 0);
    {
      DaPool *pool = da_scope_get_pool (ctx->scope, "pci");
      const DaRangeMap *hotplug = pool != NULL ? da_pool_get_tag (pool, "hotplug") : NULL;

      if (hotplug == NULL || !da_range_map_lookup (hotplug, key, NULL, NULL)) {
        g_autofree char *where = da_addr_format (&dev->addr);

        g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID_ADDRESS,
                     "%s: %s is not on a hotpluggable bus of vm %s", dev->key, where, da_scope_get_name (ctx->scope));
        return FALSE;
      }
    }
    return da_domain_reserve_exact (ctx, dev, "pci", key, TRUE, error);
  }
  if (dev->connect & DA_PCI_INTEGRATED) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s is built into the machine and cannot be hotplugged",
                 dev->key);
    return FALSE;
  }
  /* PCI Express devices on root ports, the others on PCI buses; a whole
   * free slot on a hotpluggable bus, next fit */
  da_constraint_init (&c, ctx->pci_type, TRUE);
  da_pci_tags_for ((dev->connect & ~DA_PCI_AUTOASSIGN) | DA_PCI_HOTPLUGGABLE, c.tags);
  c.policy = DA_POLICY_NEXT_FIT;
  if (!da_domain_reserve_dynamic (ctx, dev->alias, "pci", &c, &key, NULL)) {
    /* better an address freed moments ago (its unplug was confirmed) than
     * none: a q35 VM often has a single spare root port */
    c.policy = DA_POLICY_FIRST_FIT;
    if (!da_domain_reserve_dynamic (ctx, dev->alias, "pci", &c, &key, error)) {
      g_prefix_error (error, "%s (%s): no hotpluggable slot: ", dev->key, dev->alias);
      return FALSE;
    }
  }
  da_addr_from_key (ctx, &dev->addr, DA_ADDR_PCI, "pci", key);
  dev->res_type = "pci";
  return TRUE;
}

static gboolean
attach_usb (DaDomainCtx *ctx, DaDevice *dev, GError **error)
{
  DaAddressType *type = da_catalog_get_type (ctx->catalog, "usb");
  DaConstraint c;
  guint64 key;

  if (dev->fixed)
    return da_domain_reserve_exact (ctx, dev, "usb", da_addr_key (ctx, &dev->addr, "usb"), TRUE, error);
  /* a root port first, then a hub's */
  da_constraint_init (&c, type, TRUE);
  da_constraint_set_dimension (&c, type, "port2", 0, 0, NULL);
  if (!da_domain_reserve_dynamic (ctx, dev->alias, "usb", &c, &key, NULL)) {
    da_constraint_init (&c, type, TRUE);
    if (!da_domain_reserve_dynamic (ctx, dev->alias, "usb", &c, &key, error)) {
      g_prefix_error (error, "%s (%s): ", dev->key, dev->alias);
      return FALSE;
    }
  }
  da_addr_from_key (ctx, &dev->addr, DA_ADDR_USB, "usb", key);
  dev->res_type = "usb";
  return TRUE;
}

static gboolean
attach_device (DaDomainCtx *ctx, DaDevice *dev, GError **error)
{
  if (da_device_is_usb (dev))
    return attach_usb (ctx, dev, error);
  if (dev->kind == DA_DEV_DISK && is (dev->model, "scsi")) {
    DaDriveBus bus;

    /* prepare_attached gave it its address */
    if (!da_drive_bus_from_string (dev->model, &bus) || dev->addr.kind != DA_ADDR_DRIVE) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s has no drive address", dev->key);
      return FALSE;
    }
    dev->drive_type = da_drive_bus_type (bus);
    return da_domain_reserve_exact (ctx, dev, dev->drive_type, da_addr_key (ctx, &dev->addr, dev->drive_type),
                                    dev->fixed, error);
  }
  if (da_device_is_virtio_serial (dev)) {
    if (dev->given.kind == DA_ADDR_VIRTIO_SERIAL && dev->given.v[2] != 0)
      return da_domain_reserve_exact (ctx, dev, "virtio-serial", da_addr_key (ctx, &dev->given, "virtio-serial"), TRUE,
                                      error);
    ctx->importing = TRUE; /* never adds a controller to a running VM */
    return da_domain_assign_virtio_serial (ctx, error);
  }
  if (dev->connect != 0) {
    if (!attach_pci (ctx, dev, error))
      return FALSE;
    /* the disks of a SCSI controller can be attached next */
    if (dev->kind == DA_DEV_CONTROLLER && da_drive_bus_model (dev) != NULL)
      return da_scope_add_bus (ctx->scope, da_drive_bus_model (dev), (guint64) dev->index, NULL, ctx->txn, error);
    return TRUE;
  }
  g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s takes no address devaddr gives", dev->key);
  return FALSE;
}

DaDomainResult *
da_device_attach (DaEngine *engine, const char *vm, const char *device_xml, gsize len, const DaDomainOptions *options,
                  gint64 now, DaTxn *txn, GError **error)
{
  g_auto (Parsed) parsed = { NULL };
  g_autoptr (DaDomainResult) result = result_new ();
  g_autoptr (DaDomainCtx) ctx = NULL;
  DaDevice *dev;
  gboolean ok = FALSE;
  Work work;

  if (!parse_element (device_xml, len, options, NULL, &parsed, error))
    return NULL;
  work_begin (&work, engine, txn);
  ctx = ctx_new (engine, now, work.txn);
  ctx->write_defaults = FALSE;
  if (!open_existing_vm (ctx, vm, error))
    goto out;
  dev = read_lone_device (ctx, parsed.root, error);
  if (dev == NULL || !check_live_attach (ctx, dev, error) || !prepare_attached (ctx, dev, error)
      || !name_attached (ctx, dev, error) || !attach_device (ctx, dev, error))
    goto out;
  if (dev->res_type == NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "%s got no address", dev->key);
    goto out;
  }
  if (!dev->hidden)
    da_addr_write (dev, &dev->addr);
  if (options == NULL || !(options->flags & DA_DOMAIN_NO_SCHEMA)) {
    const char *schema = options != NULL && options->schema != NULL ? options->schema : da_domain_default_schema ();

    if (!da_device_validate_schema (parsed.root, schema, error))
      goto out;
  }
  result->xml = gvir_config_object_to_xml (parsed.config);
  g_ptr_array_add (result->reservations, da_scope_lookup (ctx->scope, dev->alias));
  ok = TRUE;
out:
  work_end (&work, ok);
  return ok ? g_steal_pointer (&result) : NULL;
}

/* the alias of the reservation a device element names; *scsi_index is the
 * index of the SCSI controller it is, else -1 */
static char *
alias_of_element (DaDomainCtx *ctx, const char *xml, gsize len, const DaDomainOptions *options, int *scsi_index,
                  GError **error)
{
  g_auto (Parsed) parsed = { NULL };
  const char *type = NULL;
  DaReservation *res;
  DaDevice *dev;

  if (!parse_element (xml, len, options, NULL, &parsed, error))
    return NULL;
  dev = read_lone_device (ctx, parsed.root, error);
  if (dev == NULL)
    return NULL;
  if (dev->kind == DA_DEV_CONTROLLER && is (dev->type, "scsi"))
    *scsi_index = dev->index;
  if (da_xml_child_attr (dev->node, "alias", "name") != NULL)
    return g_strdup (da_xml_child_attr (dev->node, "alias", "name"));
  switch (dev->given.kind) {
  case DA_ADDR_PCI:
    type = "pci";
    break;
  case DA_ADDR_VIRTIO_SERIAL:
    type = "virtio-serial";
    break;
  case DA_ADDR_USB:
    type = "usb";
    break;
  case DA_ADDR_DRIVE: {
    DaDriveBus bus;

    if (dev->model != NULL && da_drive_bus_from_string (dev->model, &bus))
      type = da_drive_bus_type (bus);
    break;
  }
  default:
    break;
  }
  if (type == NULL) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID,
                 "%s has neither an <alias> nor an <address> devaddr could have given", dev->key);
    return NULL;
  }
  res = da_scope_lookup_address (ctx->scope, type, da_addr_key (ctx, &dev->given, type));
  if (res == NULL) {
    g_autofree char *where = da_addr_format (&dev->given);

    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_NOT_FOUND, "vm %s has no reservation at %s",
                 da_scope_get_name (ctx->scope), where);
    return NULL;
  }
  return g_strdup (da_reservation_get_alias (res));
}

gboolean
da_device_detach (DaEngine *engine, const char *vm, const char *device_xml, gsize len, const char *alias,
                  const DaDomainOptions *options, DaReleasePhase phase, gint64 now, DaTxn *txn, int *state_after,
                  GError **error)
{
  g_autoptr (DaDomainCtx) ctx = NULL;
  g_autofree char *found = NULL;
  DaReservation *res;
  int scsi_index = -1;
  int after = -1;
  gboolean ok = FALSE;
  Work work;

  work_begin (&work, engine, txn);
  ctx = ctx_new (engine, now, work.txn);
  ctx->write_defaults = FALSE;
  if (!open_existing_vm (ctx, vm, error))
    goto out;
  if (alias == NULL) {
    if (device_xml == NULL) {
      g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_INVALID, "device.detach needs a device element or an alias");
      goto out;
    }
    found = alias_of_element (ctx, device_xml, len, options, &scsi_index, error);
    if (found == NULL)
      goto out;
    alias = found;
  }
  res = da_scope_lookup (ctx->scope, alias);
  if (res != NULL && (da_reservation_get_flags (res) & DA_RESERVATION_BUILTIN)) {
    g_set_error (error, DA_ALLOC_ERROR, DA_ALLOC_ERROR_CONFLICT, "%s is part of the %s machine and cannot be detached",
                 alias, da_scope_get_template (ctx->scope));
    goto out;
  }
  if (!da_scope_release (ctx->scope, alias, phase, now, work.txn, &after, error))
    goto out;
  /* a SCSI controller that is gone takes its drive bus along; libvirt
   * refuses to unplug one that still has disks, and so does devaddr */
  if (after < 0 && scsi_index >= 0 && has_scsi_controller (ctx, (guint64) scsi_index)) {
    guint64 start, end;

    scsi_bus_keys (ctx, (guint64) scsi_index, &start, &end);
    if (!da_scope_remove_keys (ctx->scope, "drive-scsi", start, end, work.txn, error)) {
      g_prefix_error (error, "%s: detach the disks of SCSI controller %d first: ", alias, scsi_index);
      goto out;
    }
  }
  if (state_after != NULL)
    *state_after = after;
  ok = TRUE;
out:
  work_end (&work, ok);
  return ok;
}
