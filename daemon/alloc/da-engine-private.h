/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "da-alias-index.h"
#include "da-engine.h"

G_BEGIN_DECLS

/* a reservation is one allocation with its alias stored inline, a
 * record in the engine's slab, kept small because a host may hold
 * millions: hold deadlines live in the engine's side table, since few are
 * ever held, and a run longer than 2^32 - 1 keys keeps count 0 and its
 * length in the pool's map */
struct _DaReservation {
  DaPool *pool;
  guint64 start;
  guint32 count;
  guint32 id;    /* in the engine's slab, and in the scope's alias index */
  guint8 state;
  guint8 mode;
  guint8 flags;
  char alias[];
};


struct _DaPool {
  DaScope *scope;
  DaAddressType *type;
  DaRangeMap *ranges;   /* set: the keys of the pool */
  GHashTable *tags;     /* tag -> set */
  DaRangeMap *used;     /* map: reservation runs -> DaReservation (owned) */
  DaRangeMap *cooling;  /* map: released runs -> DaCooling (in the engine's slab) */
  GArray *cooling_order; /* min-heap of DaCoolingDue: what ends first on top */
  guint64 cursor;       /* next-fit resumes here */
  guint64 used_keys;
  guint n_reservations;
};

/* the end of a released run's cool-down */
typedef struct {
  gint64 until;
  guint32 id;           /* in the engine's slab */
} DaCooling;

/* a cool-down to end at until; stale once its run is gone or cooled
 * again (pruning checks) */
typedef struct {
  gint64 until;
  guint64 start;
} DaCoolingDue;

struct _DaScope {
  DaEngine *engine;
  char *name;           /* "" for the host */
  char *template_name;
  GHashTable *pools;    /* type name -> DaPool */
  DaPool *last_pool;    /* the pool found last: requests come in runs of one type */
  DaPool *biggest_pool; /* the pool most reservations went into, as attaching saw
                         * it: where a release looks while its reservation is
                         * on its way (a guess; NULL when gone) */
  DaAliasIndex aliases; /* alias -> DaReservation */
};

struct _DaEngine {
  DaSlab reservations;  /* every DaReservation */
  DaCatalog *catalog;
  DaScope *host;
  GHashTable *vms;      /* name -> DaScope */
  GHashTable *held;     /* DaReservation -> gint64 * deadline */
  gint64 cooldown;
  guint64 n_reservations;
  GRand *rand;
};

/* what a search must satisfy; built from a constraint by the pool */
typedef struct {
  guint64 count;        /* keys of the run: box, sets and window apply to them */
  guint64 block;        /* isolation: every block of this many keys the run
                         * touches must be unreserved; 1: just the run */
  guint64 align;
  guint64 lo;
  guint64 hi;
  const DaBox *box;     /* NULL: no box */
  const DaRangeMap *required[DA_MAX_TAGS + 2];
  guint n_required;
  const DaRangeMap *forbidden[DA_MAX_TAGS + 2];
  guint n_forbidden;
  const DaRangeMap *used; /* NULL: reservations are not considered */
} DaSearch;

gboolean da_search_forward (const DaSearch *search, const DaAddressType *type, guint64 from, guint64 *found);
gboolean da_search_backward (const DaSearch *search, const DaAddressType *type, guint64 from, guint64 *found);

void da_reservation_free (DaEngine *engine, DaReservation *res);

DaPool *da_pool_new (DaScope *scope, DaAddressType *type);
void da_pool_free (DaPool *pool);
/* after the pool's keys changed: the reservations of a pool whose keys
 * span few enough are kept as bitmaps */
void da_pool_keys_changed (DaPool *pool);
/* end the cool-downs whose time has come: logarithmic in their number */
void da_pool_prune_cooling (DaPool *pool, gint64 now);
/* cool [start, end] down until then (nothing cooling may overlap it) */
void da_pool_cool (DaPool *pool, guint64 start, guint64 end, gint64 until);
/* end the cool-down of the run starting at start; FALSE when there is none */
gboolean da_pool_uncool (DaPool *pool, guint64 start);
/* find a run for a dynamic request; on failure a message saying which
 * constraint failed and how full the pool is */
gboolean da_pool_allocate (DaPool *pool, const DaConstraint *constraint, gint64 now, guint64 random,
                           guint64 *start, char **failure);
/* check an exact run against the pool and constraint (not reservations) */
gboolean da_pool_check_exact (DaPool *pool, const DaConstraint *constraint, guint64 start, char **failure);
char *da_pool_describe_ranges (DaPool *pool, guint max_ranges);

G_END_DECLS
