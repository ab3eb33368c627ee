/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "devaddrctl-map.h"
#include "devaddrctl-output.h"

#define SLOTS 32
#define FUNCTIONS 8
#define CELLS (SLOTS * FUNCTIONS)
#define WIDTH 80
#define BAR 30
/* the legend of a bus: "  a  03.0-03.7  ", then the alias, two blanks
 * and what it is */
#define LEGEND_INDENT 16
/* a pool's name column grows with the names up to this */
#define POOL_NAME_MAX 20
/* room the VM's template name may take in the first line */
#define TEMPLATE_MAX 24
/* a run longer than this is drawn up to here (a whole domain is absurd) */
#define MAX_RUN (256 * CELLS)

/* after '#' (the template's), the reservations of a bus get these in
 * address order; '*' when they run out */
static const char symbols[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

typedef struct {
  guint domain;
  guint bus;
  DevaddrReservation *cells[CELLS]; /* slot * 8 + function; borrowed */
  GPtrArray *reservations;          /* those with a cell here, in address order */
  gboolean have_counts;
  DevaddrCounts counts;
} PciBus;

typedef struct {
  DevaddrPoolStats *stats;
  GPtrArray *reservations; /* of this type, in the VM's order */
} Pool;

struct _DaMap {
  DevaddrVm *vm;
  GPtrArray *buses; /* PciBus, by domain and bus */
  GPtrArray *pools; /* Pool, by type */
};

static void
pci_bus_free (PciBus *bus)
{
  g_ptr_array_unref (bus->reservations);
  g_free (bus);
}

static void
pool_free (Pool *pool)
{
  devaddr_pool_stats_unref (pool->stats);
  g_ptr_array_unref (pool->reservations);
  g_free (pool);
}

/* "dddd:bb:ss.f" */
static gboolean
parse_pci (const char *text, guint64 *key)
{
  guint domain, bus, slot, function;
  char end;

  if (text == NULL || sscanf (text, "%4x:%2x:%2x.%1x%c", &domain, &bus, &slot, &function, &end) != 4 || slot >= SLOTS
      || function >= FUNCTIONS)
    return FALSE;
  *key = (((guint64) domain * 256 + bus) * SLOTS + slot) * FUNCTIONS + function;
  return TRUE;
}

/* "dddd:bb", or "domain=D,bus=B" from a daemon that sends numbers */
static gboolean
parse_bus_name (const char *text, guint *domain, guint *bus)
{
  char end;

  if (sscanf (text, "%4x:%2x%c", domain, bus, &end) == 2)
    return TRUE;
  if (sscanf (text, "domain=%u,bus=%u%c", domain, bus, &end) == 2)
    return *domain <= 0xffff && *bus <= 0xff;
  return FALSE;
}

static PciBus *
get_bus (DaMap *map, guint domain, guint bus_nr)
{
  PciBus *bus;

  for (guint i = 0; i < map->buses->len; i++) {
    bus = g_ptr_array_index (map->buses, i);
    if (bus->domain == domain && bus->bus == bus_nr)
      return bus;
  }
  bus = g_new0 (PciBus, 1);
  bus->domain = domain;
  bus->bus = bus_nr;
  bus->reservations = g_ptr_array_new ();
  g_ptr_array_add (map->buses, bus);
  return bus;
}

static int
compare_buses (gconstpointer a, gconstpointer b)
{
  const PciBus *x = *(PciBus *const *) a;
  const PciBus *y = *(PciBus *const *) b;

  return (int) (x->domain * 256 + x->bus) - (int) (y->domain * 256 + y->bus);
}

static int
compare_pools (gconstpointer a, gconstpointer b)
{
  const Pool *x = *(Pool *const *) a;
  const Pool *y = *(Pool *const *) b;

  return strcmp (devaddr_pool_stats_get_address_type (x->stats), devaddr_pool_stats_get_address_type (y->stats));
}

static void
add_pci (DaMap *map, DevaddrReservation *res)
{
  guint64 key, count = MIN (devaddr_reservation_get_count (res), MAX_RUN);

  if (!parse_pci (devaddr_reservation_get_address (res), &key))
    return;
  for (guint64 k = key; k < key + count; k++) {
    PciBus *bus = get_bus (map, (guint) (k / (256 * CELLS)), (guint) (k / CELLS % 256));

    if (bus->reservations->len == 0 || g_ptr_array_index (bus->reservations, bus->reservations->len - 1) != res)
      g_ptr_array_add (bus->reservations, res);
    bus->cells[k % CELLS] = res;
  }
}

gboolean
da_map_wants_pool (DevaddrVm *vm, DevaddrPoolStats *stats)
{
  GPtrArray *list = devaddr_vm_get_reservations (vm);
  const char *type = devaddr_pool_stats_get_address_type (stats);

  if (devaddr_pool_stats_get_exists (stats) && devaddr_pool_stats_get_n_buses (stats) > 0)
    return TRUE;
  for (guint i = 0; i < list->len; i++)
    if (strcmp (devaddr_reservation_get_address_type (g_ptr_array_index (list, i)), type) == 0)
      return TRUE;
  return FALSE;
}

DaMap *
da_map_new (DevaddrVm *vm, GPtrArray *pools)
{
  DaMap *map = g_new0 (DaMap, 1);
  GPtrArray *list = devaddr_vm_get_reservations (vm);

  map->vm = devaddr_vm_ref (vm);
  map->buses = g_ptr_array_new_with_free_func ((GDestroyNotify) pci_bus_free);
  map->pools = g_ptr_array_new_with_free_func ((GDestroyNotify) pool_free);
  for (guint i = 0; i < list->len; i++) {
    DevaddrReservation *res = g_ptr_array_index (list, i);

    if (strcmp (devaddr_reservation_get_address_type (res), "pci") == 0)
      add_pci (map, res);
  }
  for (guint i = 0; pools != NULL && i < pools->len; i++) {
    DevaddrPoolStats *stats = g_ptr_array_index (pools, i);
    const char *type = devaddr_pool_stats_get_address_type (stats);
    Pool *pool;

    if (strcmp (type, "pci") == 0) {
      /* the buses of the pool, counted by the daemon; empty ones too */
      for (guint b = 0; b < devaddr_pool_stats_get_n_buses (stats); b++) {
        DevaddrCounts counts;
        const char *name = devaddr_pool_stats_get_bus (stats, b, &counts);
        guint domain, bus_nr;
        PciBus *bus;

        if (!parse_bus_name (name, &domain, &bus_nr))
          continue;
        bus = get_bus (map, domain, bus_nr);
        bus->counts = counts;
        bus->have_counts = TRUE;
      }
      continue;
    }
    pool = g_new0 (Pool, 1);
    pool->stats = devaddr_pool_stats_ref (stats);
    pool->reservations = g_ptr_array_new ();
    for (guint r = 0; r < list->len; r++)
      if (strcmp (devaddr_reservation_get_address_type (g_ptr_array_index (list, r)), type) == 0)
        g_ptr_array_add (pool->reservations, g_ptr_array_index (list, r));
    g_ptr_array_add (map->pools, pool);
  }
  g_ptr_array_sort (map->buses, compare_buses);
  g_ptr_array_sort (map->pools, compare_pools);
  return map;
}

void
da_map_free (DaMap *map)
{
  if (map == NULL)
    return;
  devaddr_vm_unref (map->vm);
  g_ptr_array_unref (map->buses);
  g_ptr_array_unref (map->pools);
  g_free (map);
}

/* ------------------------------------------------------------------ */
/* text */

static char
symbol_of (PciBus *bus, DevaddrReservation *res)
{
  guint n = 0;

  if (devaddr_reservation_get_builtin (res))
    return '#';
  for (guint i = 0; i < bus->reservations->len; i++) {
    DevaddrReservation *r = g_ptr_array_index (bus->reservations, i);

    if (r == res)
      return n < sizeof symbols - 1 ? symbols[n] : '*';
    if (!devaddr_reservation_get_builtin (r))
      n++;
  }
  return '?';
}

static const char *
state_color (DevaddrReservation *res)
{
  if (devaddr_reservation_get_builtin (res))
    return "2";
  switch (devaddr_reservation_get_state (res)) {
  case DEVADDR_STATE_HELD:
    return "33";
  case DEVADDR_STATE_RELEASING:
    return "31";
  default:
    return "32";
  }
}

/* the cells a reservation covers on this bus, as "ss.f" or "ss.f-ss.f" */
static char *
cells_text (PciBus *bus, DevaddrReservation *res)
{
  gint first = -1, last = -1;

  for (guint c = 0; c < CELLS; c++) {
    if (bus->cells[c] != res)
      continue;
    if (first < 0)
      first = (gint) c;
    last = (gint) c;
  }
  if (first == last)
    return g_strdup_printf ("%02x.%x", first / FUNCTIONS, first % FUNCTIONS);
  return g_strdup_printf ("%02x.%x-%02x.%x", first / FUNCTIONS, first % FUNCTIONS, last / FUNCTIONS,
                          last % FUNCTIONS);
}

static char *
describe (DevaddrReservation *res)
{
  const char *state = devaddr_state_to_string (devaddr_reservation_get_state (res));
  const char *mode = devaddr_mode_to_string (devaddr_reservation_get_mode (res));

  if (devaddr_reservation_get_builtin (res))
    return g_strdup ("template");
  return g_strdup_printf ("%s, %s", state != NULL ? state : "unknown", mode != NULL ? mode : "unknown");
}

static void
render_bus (PciBus *bus, GString *out, gboolean color)
{
  guint used = 0, alias_width = 0, what_width = 0;
  g_autofree char *title = g_strdup_printf ("PCI bus %04x:%02x", bus->domain, bus->bus);
  g_autofree char *bold = da_output_paint (color, "1", title);

  for (guint c = 0; c < CELLS; c++)
    used += bus->cells[c] != NULL;
  if (bus->have_counts)
    g_string_append_printf (out, "%s  %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " functions used\n", bold,
                            bus->counts.used, bus->counts.capacity);
  else
    g_string_append_printf (out, "%s  %u functions used\n", bold, used);

  /* slot numbers in hex, two header lines: the high digit, the low one */
  g_string_append (out, "        ");
  for (guint s = 0; s < SLOTS; s++)
    g_string_append_printf (out, "%x%s", s / 16, s + 1 < SLOTS ? " " : "\n");
  g_string_append (out, "  slot  ");
  for (guint s = 0; s < SLOTS; s++)
    g_string_append_printf (out, "%x%s", s % 16, s + 1 < SLOTS ? " " : "\n");
  for (guint f = 0; f < FUNCTIONS; f++) {
    g_string_append_printf (out, "  fn %u  ", f);
    for (guint s = 0; s < SLOTS; s++) {
      DevaddrReservation *res = bus->cells[s * FUNCTIONS + f];
      char sym[2] = { res != NULL ? symbol_of (bus, res) : '.', '\0' };
      g_autofree char *cell = da_output_paint (color, res != NULL ? state_color (res) : "2", sym);

      g_string_append_printf (out, "%s%s", cell, s + 1 < SLOTS ? " " : "\n");
    }
  }

  /* who holds what; the aliases pad to the widest, unless that would
   * push a line past 80 columns: then the long ones are cut */
  for (guint i = 0; i < bus->reservations->len; i++) {
    DevaddrReservation *res = g_ptr_array_index (bus->reservations, i);
    g_autofree char *what = describe (res);

    alias_width = MAX (alias_width, da_output_width (devaddr_reservation_get_alias (res)));
    what_width = MAX (what_width, da_output_width (what));
  }
  alias_width = MIN (alias_width, WIDTH - LEGEND_INDENT - 2 - MIN (what_width, WIDTH / 4));
  if (bus->reservations->len > 0)
    g_string_append_c (out, '\n');
  for (guint i = 0; i < bus->reservations->len; i++) {
    DevaddrReservation *res = g_ptr_array_index (bus->reservations, i);
    char sym[2] = { symbol_of (bus, res), '\0' };
    g_autofree char *cell = da_output_paint (color, state_color (res), sym);
    g_autofree char *where = cells_text (bus, res);
    g_autofree char *what = describe (res);
    g_autofree char *alias = da_output_ellipsize (devaddr_reservation_get_alias (res), alias_width);
    g_autofree char *shown = da_output_ellipsize (what, WIDTH - LEGEND_INDENT - 2 - alias_width);

    g_string_append_printf (out, "  %s  %-9s  %s%*s  %s\n", cell, where, alias,
                            (int) (alias_width - da_output_width (alias)), "", shown);
  }
}

static char *
bar (gboolean color, const DevaddrCounts *counts)
{
  guint filled = 0;
  g_autofree char *used = NULL;
  g_autofree char *rest = NULL;

  if (counts->capacity > 0) {
    filled = (guint) ((long double) counts->used * BAR / (long double) counts->capacity + 0.5L);
    /* a pool with anything in it never looks empty, nor full before it is */
    if (counts->used > 0 && filled == 0)
      filled = 1;
    if (counts->used < counts->capacity && filled == BAR)
      filled = BAR - 1;
    filled = MIN (filled, BAR);
  }
  used = g_strnfill (filled, '#');
  rest = g_strnfill (BAR - filled, '.');
  {
    g_autofree char *a = da_output_paint (color, counts->used == counts->capacity ? "31" : "32", used);
    g_autofree char *b = da_output_paint (color, "2", rest);

    return g_strdup_printf ("[%s%s]", a, b);
  }
}

/* a count in at most 6 columns when it must be short: 281T */
static char *
format_count (guint64 n, gboolean compact)
{
  static const char units[] = "kMGTPE";
  long double v = (long double) n;
  guint unit = 0;

  if (!compact || n < 100000)
    return g_strdup_printf ("%" G_GUINT64_FORMAT, n);
  while (v >= 999.5L && unit < sizeof units - 1) {
    v /= 1000;
    unit++;
  }
  return g_strdup_printf (v < 9.95L ? "%.1Lf%c" : "%.0Lf%c", v, units[unit - 1]);
}

/* "used/capacity", short enough for width columns if it can be */
static char *
format_counts (const DevaddrCounts *counts, guint width)
{
  g_autofree char *used = format_count (counts->used, FALSE);
  g_autofree char *capacity = format_count (counts->capacity, FALSE);
  char *text = g_strdup_printf ("%s/%s", used, capacity);

  if (da_output_width (text) <= width)
    return text;
  g_free (text);
  g_free (used);
  g_free (capacity);
  used = format_count (counts->used, TRUE);
  capacity = format_count (counts->capacity, TRUE);
  return g_strdup_printf ("%s/%s", used, capacity);
}

static void
render_pools (DaMap *map, GString *out, gboolean color)
{
  guint name_width = 13;
  g_autofree char *title = da_output_paint (color, "1", "Other pools");

  for (guint i = 0; i < map->pools->len; i++) {
    Pool *pool = g_ptr_array_index (map->pools, i);

    name_width = MAX (name_width, da_output_width (devaddr_pool_stats_get_address_type (pool->stats)));
  }
  name_width = MIN (name_width, POOL_NAME_MAX);
  g_string_append_printf (out, "%s\n", title);
  for (guint i = 0; i < map->pools->len; i++) {
    Pool *pool = g_ptr_array_index (map->pools, i);
    g_autofree char *type = da_output_ellipsize (devaddr_pool_stats_get_address_type (pool->stats), name_width);
    DevaddrCounts counts;
    g_autofree char *drawn = NULL;
    g_autofree char *numbers = NULL;
    gboolean full;
    GString *line;
    guint indent = 2 + name_width + 2;

    devaddr_pool_stats_get_counts (pool->stats, &counts);
    full = counts.capacity > 0 && counts.used == counts.capacity;
    drawn = bar (color, &counts);
    numbers = format_counts (&counts, WIDTH - (indent + BAR + 2 + 2) - (full ? 6 : 0));
    g_string_append_printf (out, "  %s%*s  %s  %s%s\n", type, (int) (name_width - da_output_width (type)), "", drawn,
                            numbers, full ? "  full" : "");
    /* the holders, wrapped; an alias too long for a line of its own is cut */
    line = g_string_new (NULL);
    for (guint r = 0; r < pool->reservations->len; r++) {
      DevaddrReservation *res = g_ptr_array_index (pool->reservations, r);
      const char *address = devaddr_reservation_get_address (res);
      const char *suffix = devaddr_reservation_get_builtin (res) ? " (template)" : "";
      guint room = WIDTH - indent - MIN (da_output_width (address) + 1 + da_output_width (suffix), WIDTH - indent - 8);
      g_autofree char *alias = da_output_ellipsize (devaddr_reservation_get_alias (res), room);
      g_autofree char *item = g_strdup_printf ("%s %s%s", address, alias, suffix);

      if (line->len > 0 && indent + da_output_width (line->str) + 2 + da_output_width (item) > WIDTH) {
        g_string_append_printf (out, "%*s%s\n", (int) indent, "", line->str);
        g_string_truncate (line, 0);
      }
      g_string_append_printf (line, "%s%s", line->len > 0 ? "  " : "", item);
    }
    if (line->len > 0)
      g_string_append_printf (out, "%*s%s\n", (int) indent, "", line->str);
    g_string_free (line, TRUE);
  }
}

void
da_map_render (DaMap *map, GString *out, gboolean color)
{
  guint n = devaddr_vm_get_n_reservations (map->vm);
  g_autofree char *template_name = da_output_ellipsize (devaddr_vm_get_template (map->vm), TEMPLATE_MAX);
  g_autofree char *rest = g_strdup_printf (" (template %s): %u reservation%s", template_name, n, n == 1 ? "" : "s");
  g_autofree char *vm_name = da_output_ellipsize (devaddr_vm_get_name (map->vm), WIDTH - da_output_width (rest));
  g_autofree char *name = da_output_paint (color, "1", vm_name);

  g_string_append_printf (out, "%s%s\n", name, rest);
  for (guint i = 0; i < map->buses->len; i++) {
    g_string_append_c (out, '\n');
    render_bus (g_ptr_array_index (map->buses, i), out, color);
  }
  if (map->buses->len == 0)
    g_string_append (out, "\nno PCI addresses\n");
  else {
    g_autofree char *hash = da_output_paint (color, "2", "#");
    g_autofree char *dot = da_output_paint (color, "2", ".");

    g_string_append_printf (out, "\n  %s reserved by the template   %s free\n", hash, dot);
  }
  if (map->pools->len > 0) {
    g_string_append_c (out, '\n');
    render_pools (map, out, color);
  }
}

/* ------------------------------------------------------------------ */
/* JSON */

static void
add_reservation_members (JsonBuilder *b, DevaddrReservation *res)
{
  json_builder_set_member_name (b, "alias");
  json_builder_add_string_value (b, devaddr_reservation_get_alias (res));
  json_builder_set_member_name (b, "address");
  json_builder_add_string_value (b, devaddr_reservation_get_address (res));
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, devaddr_state_to_string (devaddr_reservation_get_state (res)));
  json_builder_set_member_name (b, "builtin");
  json_builder_add_boolean_value (b, devaddr_reservation_get_builtin (res));
}

static void
add_counts (JsonBuilder *b, const DevaddrCounts *counts)
{
  json_builder_set_member_name (b, "capacity");
  json_builder_add_int_value (b, (gint64) MIN (counts->capacity, (guint64) G_MAXINT64));
  json_builder_set_member_name (b, "used");
  json_builder_add_int_value (b, (gint64) MIN (counts->used, (guint64) G_MAXINT64));
  json_builder_set_member_name (b, "free");
  json_builder_add_int_value (b, (gint64) MIN (counts->free, (guint64) G_MAXINT64));
}

JsonNode *
da_map_to_json (DaMap *map)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "vm");
  json_builder_add_string_value (b, devaddr_vm_get_name (map->vm));
  json_builder_set_member_name (b, "template");
  json_builder_add_string_value (b, devaddr_vm_get_template (map->vm));
  json_builder_set_member_name (b, "pci");
  json_builder_begin_array (b);
  for (guint i = 0; i < map->buses->len; i++) {
    PciBus *bus = g_ptr_array_index (map->buses, i);
    g_autofree char *name = g_strdup_printf ("%04x:%02x", bus->domain, bus->bus);

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "bus");
    json_builder_add_string_value (b, name);
    if (bus->have_counts)
      add_counts (b, &bus->counts);
    json_builder_set_member_name (b, "functions");
    json_builder_begin_array (b);
    for (guint c = 0; c < CELLS; c++) {
      if (bus->cells[c] == NULL)
        continue;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "slot");
      json_builder_add_int_value (b, c / FUNCTIONS);
      json_builder_set_member_name (b, "function");
      json_builder_add_int_value (b, c % FUNCTIONS);
      add_reservation_members (b, bus->cells[c]);
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "pools");
  json_builder_begin_array (b);
  for (guint i = 0; i < map->pools->len; i++) {
    Pool *pool = g_ptr_array_index (map->pools, i);
    DevaddrCounts counts;

    devaddr_pool_stats_get_counts (pool->stats, &counts);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "type");
    json_builder_add_string_value (b, devaddr_pool_stats_get_address_type (pool->stats));
    add_counts (b, &counts);
    json_builder_set_member_name (b, "reservations");
    json_builder_begin_array (b);
    for (guint r = 0; r < pool->reservations->len; r++) {
      json_builder_begin_object (b);
      add_reservation_members (b, g_ptr_array_index (pool->reservations, r));
      json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
