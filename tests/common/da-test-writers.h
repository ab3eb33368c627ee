/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <check.h>

#include "tests/common/da-test-daemon.h"

G_BEGIN_DECLS

/* one reservation as acknowledged */
typedef struct {
  char *type;
  char *address;
  char *state;
} DaTestExpect;

typedef enum {
  OP_NONE,
  OP_RESERVE,       /* single or batch: all of aliases appear, or none */
  OP_COMMIT,        /* held -> active */
  OP_RELEASE,       /* gone */
  OP_RELEASE_BEGIN, /* -> releasing */
  OP_VM_CREATE,     /* the vm appears, empty */
  OP_VM_DELETE,     /* the vm and all of its reservations go */
  OP_ASSIGN,        /* the vm appears with the domain's devices */
} DaTestOpKind;

/* a mutation sent and not (yet) answered */
typedef struct {
  DaTestOpKind kind;
  char *vm;            /* NULL: the host scope */
  GPtrArray *aliases;
  const char *type;    /* OP_RESERVE */
  gboolean held;       /* OP_RESERVE with hold_s */
} DaTestOp;

/* what the writers share with the thread that watches them */
typedef struct {
  GMutex lock;
  GCond acked_cond;
  guint acked;   /* answers so far; the watcher may reset it */
  gint in_flight;
} DaTestProgress;

typedef struct {
  /* set by da_test_writer_init() or before the thread starts */
  const char *socket_path;
  guint index;
  GRand *rand;
  DaTestProgress *progress;
  guint max_ops;            /* stop after that many requests; 0: only when the daemon goes */
  gboolean allow_unavailable; /* "unavailable" answers are expected (a full disk) */
  /* the model, the thread's while it runs and the checker's after */
  GHashTable *vms;  /* name -> GHashTable alias -> DaTestExpect (non-builtin reservations) */
  GHashTable *host; /* alias -> DaTestExpect */
  guint next_name;
  DaTestOp pending; /* sent, never answered */
  /* an acked domain.assign whose VM could not be read back: the VM holds
   * at least what the reply listed */
  char *loose_vm;
  guint acked;
  guint unavailable;
  GPtrArray *problems; /* replies that are not what the model predicts */
} DaTestWriter;

typedef struct {
  DaTestClient *client;
  guint round;
  const char *seed_text;
} DaTestChecker;

/* a check failed: the round and the seed that replays it, then why; the
 * message is made only when the check fails */
#define da_test_check(c, cond, ...) \
  G_STMT_START { \
    if (!(cond)) { \
      g_autofree char *why_ = g_strdup_printf (__VA_ARGS__); \
      ck_abort_msg ("round %u (%s): %s", (c)->round, (c)->seed_text, why_); \
    } \
  } G_STMT_END

void da_test_writer_init (DaTestWriter *w, const char *socket_path, guint index, DaTestProgress *progress);
void da_test_writer_clear (DaTestWriter *w);
/* the thread function: requests until max_ops or until the daemon goes */
gpointer da_test_writer_run (gpointer writer);
/* starts a thread per writer, each with a GRand seeded from seed */
void da_test_writers_run (DaTestWriter *writers, guint n_writers, guint32 seed, GThread **threads);
void da_test_writers_join (DaTestWriter *writers, guint n_writers, GThread **threads);
/* Every writer's model against the daemon: acknowledged reservations at
 * their address and state, nothing else in their VMs and host aliases,
 * each pending request there entirely or not at all (the model then takes
 * what is there), pool.stats used equal to what the reservations hold,
 * exactly the writers' VMs (and bulk_vm, when not NULL, holding exactly
 * bulk: alias -> address). */
void da_test_writers_check (DaTestChecker *c, DaTestWriter *writers, guint n_writers, const char *bulk_vm,
                            GHashTable *bulk);

G_END_DECLS
