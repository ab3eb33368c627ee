/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "da-address-type.h"
#include "da-catalog.h"
#include "da-range-map.h"

G_BEGIN_DECLS

/*
 * The allocation engine: scopes (one per VM, plus the host), one pool per
 * address type in a scope, and reservations in pools.  It decides and
 * remembers; it never does I/O and never reads a clock: callers pass "now"
 * (microseconds of wall-clock time) wherever time matters.
 *
 * Every mutation can be recorded in a DaTxn: the list of primitive changes
 * (what the store journals and what recovery replays with da_engine_apply)
 * plus what is needed to undo them, newest first.
 */

typedef struct _DaEngine DaEngine;
typedef struct _DaScope DaScope;
typedef struct _DaPool DaPool;
typedef struct _DaReservation DaReservation;
typedef struct _DaTxn DaTxn;

typedef enum {
  DA_POLICY_FIRST_FIT,
  DA_POLICY_NEXT_FIT,
  DA_POLICY_LAST_FIT,
  DA_POLICY_RANDOM,
} DaPolicy;

typedef enum {
  DA_MODE_DYNAMIC,
  DA_MODE_STATIC,
} DaMode;

typedef enum {
  DA_STATE_HELD,
  DA_STATE_ACTIVE,
  DA_STATE_RELEASING,
} DaState;

typedef enum {
  DA_RESERVATION_BUILTIN = 1 << 0, /* part of the machine template */
  DA_RESERVATION_DOMAIN = 1 << 1,  /* made for a device of the VM's domain XML
                                    * (daemon/libvirt); re-assigning the domain
                                    * replaces these, and only these */
} DaReservationFlags;

typedef enum {
  DA_RELEASE_NOW,
  DA_RELEASE_BEGIN,
  DA_RELEASE_CONFIRM,
} DaReleasePhase;

#define DA_MAX_TAGS 8

/* What a dynamic reservation must satisfy.  Start with
 * da_constraint_init(), which takes the type's defaults. */
typedef struct {
  guint64 count;      /* contiguous keys; >= 1 */
  guint64 align;      /* the first key is a multiple of this; 0 or 1: none */
  guint64 min;        /* keys in [min, max] */
  guint64 max;
  DaBox box;
  int isolate;        /* dimension whose whole block must be free, or -1 */
  DaPolicy policy;
  const char *tags[DA_MAX_TAGS + 1];     /* every key carries all of these */
  const char *not_tags[DA_MAX_TAGS + 1]; /* no key carries any of these */
} DaConstraint;

typedef struct {
  const char *type;
  const char *alias;
  gboolean has_address;  /* an exact address: static unless mode says otherwise */
  guint64 address;
  DaConstraint constraint;
  gboolean has_mode;
  DaMode mode;
  gint64 hold_until;     /* > 0: held until then, else active at once */
  guint flags;           /* DaReservationFlags */
} DaRequest;

typedef struct {
  guint64 capacity;
  guint64 used;
  guint64 free;
  guint64 largest_free_run;
  guint n_reservations;
} DaPoolCounts;

/* ---- primitive changes: journal and snapshot records ---- */

typedef enum {
  DA_CHANGE_SCOPE_CREATE = 1, /* scope, template */
  DA_CHANGE_SCOPE_DELETE,     /* scope */
  DA_CHANGE_POOL_ADD,         /* scope, type, start, end, tag (NULL: pool keys) */
  DA_CHANGE_RESERVE,          /* scope, type, alias, start, count, mode, state, flags, time = hold deadline, cursor */
  DA_CHANGE_STATE,            /* scope, alias, state, time = hold deadline */
  DA_CHANGE_RELEASE,          /* scope, alias, time = release time, expired; type, start, count say what was freed */
  DA_CHANGE_COOL,             /* scope, type, start, end, time = end of cool-down (snapshots) */
  DA_CHANGE_CURSOR,           /* scope, type, start = next-fit cursor (snapshots) */
  DA_CHANGE_POOL_REMOVE,      /* scope, type, start, end, tag (NULL: pool keys) */
} DaChangeKind;

#define DA_CHANGE_LAST DA_CHANGE_POOL_REMOVE

typedef struct {
  DaChangeKind kind;
  char *scope;       /* "" is the host scope */
  char *template_name;
  char *type;
  char *alias;
  char *tag;
  guint64 start;
  guint64 end;
  guint64 count;
  DaMode mode;
  DaState state;
  guint flags;
  gint64 time;
  gboolean cursor;   /* RESERVE: it moved the next-fit cursor */
  gboolean expired;  /* RELEASE: a held reservation ran out */
} DaChange;

typedef void (*DaChangeFunc) (const DaChange *change, gpointer user_data);

void da_change_free (DaChange *change);
DaChange *da_change_copy (const DaChange *change);
const char *da_change_kind_to_string (DaChangeKind kind);

/* ---- engine ---- */

DaEngine *da_engine_new (DaCatalog *catalog);
void da_engine_free (DaEngine *engine);
DaCatalog *da_engine_get_catalog (DaEngine *engine);
/* a reloaded catalog applies to new scopes and new pools; existing pools
 * keep the ranges they have */
void da_engine_set_catalog (DaEngine *engine, DaCatalog *catalog);
/* how long a released address stays out of next-fit and random picks */
void da_engine_set_cooldown (DaEngine *engine, gint64 cooldown_us);
/* seed for the random policy (tests) */
void da_engine_set_seed (DaEngine *engine, guint32 seed);

DaScope *da_engine_get_host (DaEngine *engine);
DaScope *da_engine_lookup_vm (DaEngine *engine, const char *vm);
/* a scope by its change name: "" is the host */
DaScope *da_engine_lookup_scope (DaEngine *engine, const char *name);
/* sorted by name */
GPtrArray *da_engine_list_vms (DaEngine *engine);
guint da_engine_get_n_vms (DaEngine *engine);
guint64 da_engine_get_n_reservations (DaEngine *engine);

DaScope *da_engine_create_vm (DaEngine *engine, const char *vm, const char *template_name, DaTxn *txn, GError **error);
gboolean da_engine_delete_vm (DaEngine *engine, const char *vm, DaTxn *txn, GError **error);

/* release every held reservation whose deadline is <= now */
guint da_engine_expire (DaEngine *engine, gint64 now, DaTxn *txn);
/* After a recovery that lost records (a damaged snapshot accepted with
 * accept-data-loss), a host pool can hold reservations replayed from the
 * journal while the changes that laid it out went with the snapshot: it
 * has no addresses to give.  Lays each such pool out again with its type's
 * default keys and tags, as its first use did; returns how many (0 and
 * error set on failure, with nothing changed). */
guint da_engine_restore_host_pools (DaEngine *engine, DaTxn *txn, GError **error);
/* the earliest hold deadline, or G_MAXINT64 */
gint64 da_engine_next_deadline (DaEngine *engine);

/* replay one change exactly (recovery); no decisions are made */
gboolean da_engine_apply (DaEngine *engine, const DaChange *change, GError **error);
/* emit changes that rebuild the whole state (a snapshot) */
void da_engine_dump (DaEngine *engine, gint64 now, DaChangeFunc func, gpointer user_data);

/* ---- scopes ---- */

DaEngine *da_scope_get_engine (DaScope *scope);
const char *da_scope_get_name (DaScope *scope);   /* "" for the host */
gboolean da_scope_is_host (DaScope *scope);
const char *da_scope_get_template (DaScope *scope);
guint da_scope_get_n_reservations (DaScope *scope);
/* sorted by type name, then address */
GPtrArray *da_scope_list_reservations (DaScope *scope);
GPtrArray *da_scope_list_pools (DaScope *scope);
DaPool *da_scope_get_pool (DaScope *scope, const char *type);
/* the pool of a type, created from the type's default ranges if missing */
DaPool *da_scope_ensure_pool (DaScope *scope, const char *type, DaTxn *txn, GError **error);

/* add keys to a pool (ranges, or the keys of a tag when tag is set) */
gboolean da_scope_add_keys (DaScope *scope, const char *type, guint64 start, guint64 end, const char *tag, DaTxn *txn, GError **error);
/* instantiate a bus model at index (params "name=value") into its pool */
gboolean da_scope_add_bus (DaScope *scope, const char *model, guint64 index, const char *const *params, DaTxn *txn, GError **error);
/* take keys [start, end] out of a pool and out of every tag of it (a bus
 * that is gone); a conflict when a reservation holds any of them */
gboolean da_scope_remove_keys (DaScope *scope, const char *type, guint64 start, guint64 end, DaTxn *txn, GError **error);

/* Reserve one address (or run) for an alias.  Reserving an alias that
 * exists with the same type and a compatible request returns the existing
 * reservation unchanged.  On a conflict, *holder (if given) is the
 * reservation in the way. */
DaReservation *da_scope_reserve (DaScope *scope, const DaRequest *request, gint64 now, DaTxn *txn,
                                 DaReservation **holder, GError **error);
/* all or nothing: on failure nothing is kept and *failed is the index of
 * the request that failed */
gboolean da_scope_reserve_batch (DaScope *scope, const DaRequest *requests, guint n_requests, gint64 now,
                                 DaTxn *txn, GPtrArray *reservations, guint *failed,
                                 DaReservation **holder, GError **error);
DaReservation *da_scope_commit (DaScope *scope, const char *alias, DaTxn *txn, GError **error);
/* returns the state after the call; free is reported as -1 */
gboolean da_scope_release (DaScope *scope, const char *alias, DaReleasePhase phase, gint64 now, DaTxn *txn,
                           int *state_after, GError **error);
DaReservation *da_scope_lookup (DaScope *scope, const char *alias);

/* Builtin reservations (the machine template's fixed places) cannot be
 * released.  A machine whose real layout leaves a template place free
 * (libvirt hands i440fx slot 2 to the first device when there is no video)
 * drops it explicitly for one VM, and can restore it from the template
 * later.  Restoring a builtin that is present returns it. */
gboolean da_scope_drop_builtin (DaScope *scope, const char *alias, gint64 now, DaTxn *txn, GError **error);
DaReservation *da_scope_restore_builtin (DaScope *scope, const char *alias, DaTxn *txn,
                                        DaReservation **holder, GError **error);
/* the reservation holding key in the pool of type, or NULL */
DaReservation *da_scope_lookup_address (DaScope *scope, const char *type, guint64 key);

/* ---- pools ---- */

DaAddressType *da_pool_get_address_type (DaPool *pool);
const DaRangeMap *da_pool_get_ranges (DaPool *pool);
/* NULL when the pool has no keys with that tag */
const DaRangeMap *da_pool_get_tag (DaPool *pool, const char *tag);
/* sorted tag names; free with g_strfreev */
char **da_pool_list_tags (DaPool *pool);
void da_pool_get_counts (DaPool *pool, DaPoolCounts *counts);
/* counts restricted to the keys of a set (a tag, a bus) */
void da_pool_get_counts_within (DaPool *pool, const DaRangeMap *within, DaPoolCounts *counts);
/* the free keys: ranges minus reservations (a new set) */
DaRangeMap *da_pool_copy_free (DaPool *pool);
/* reservations in address order */
GPtrArray *da_pool_list_reservations (DaPool *pool);

/* ---- constraints ---- */

void da_constraint_init (DaConstraint *constraint, const DaAddressType *type, gboolean dynamic);
const char *da_policy_to_string (DaPolicy policy);
gboolean da_policy_from_string (const char *text, DaPolicy *policy);
/* dim=value or dim=lo..hi on the box */
gboolean da_constraint_set_dimension (DaConstraint *constraint, const DaAddressType *type, const char *dimension,
                                      guint64 lo, guint64 hi, GError **error);

/* ---- reservations ---- */

const char *da_reservation_get_alias (const DaReservation *res);
DaAddressType *da_reservation_get_address_type (const DaReservation *res);
DaScope *da_reservation_get_scope (const DaReservation *res);
guint64 da_reservation_get_start (const DaReservation *res);
guint64 da_reservation_get_count (const DaReservation *res);
DaMode da_reservation_get_mode (const DaReservation *res);
DaState da_reservation_get_state (const DaReservation *res);
guint da_reservation_get_flags (const DaReservation *res);
/* hold deadline of a held reservation, else 0 */
gint64 da_reservation_get_deadline (const DaReservation *res);
char *da_reservation_format_address (const DaReservation *res);
const char *da_mode_to_string (DaMode mode);
gboolean da_mode_from_string (const char *text, DaMode *mode);
const char *da_state_to_string (DaState state);
gboolean da_state_from_string (const char *text, DaState *state);

/* ---- transactions ---- */

DaTxn *da_txn_new (DaEngine *engine);
/* keep everything (frees the undo data) */
void da_txn_free (DaTxn *txn);
/* undo every change of the transaction, newest first, then free it */
void da_txn_rollback (DaTxn *txn);
gboolean da_txn_is_empty (DaTxn *txn);
/* the recorded changes, in order (DaChange) */
GPtrArray *da_txn_get_changes (DaTxn *txn);
/* savepoints inside a transaction, for all-or-nothing batches */
guint da_txn_savepoint (DaTxn *txn);
void da_txn_rollback_to (DaTxn *txn, guint savepoint);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaEngine, da_engine_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaChange, da_change_free)

G_END_DECLS
