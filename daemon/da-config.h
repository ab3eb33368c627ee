/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Everything devaddrd.conf(5) can set.  Defaults are the installed ones;
 * the command line overrides the file. */
typedef struct {
  char *socket_path;
  char *ro_socket_path;
  char *state_dir;
  char **catalog_dirs;
  char *group;               /* members may mutate (besides root) */
  gboolean local;            /* --local: sockets and state under one directory */
  int owner_may_mutate;      /* the daemon's own user may mutate: 1, 0, or -1
                              * unset, which means only when local */
  guint idle_timeout_s;      /* exit when idle and socket-activated; 0 never */
  gint64 cooldown_us;        /* released addresses rest this long */
  guint64 snapshot_records;  /* journal records between snapshots */
  gint64 group_delay_us;     /* how long a busy group commit waits for more */
  guint64 journal_preallocate; /* bytes of zeros kept ahead of the journal's end */
  gboolean accept_data_loss; /* start from a damaged snapshot anyway */
  gsize max_frame;
  guint max_depth;
  guint max_pending;
  guint max_connections_per_uid;
  guint max_connections;
  gsize max_output;          /* unread reply bytes before reading pauses */
  gsize max_xml;
  guint frame_timeout_s;     /* to finish a request line once begun; 0 never */
} DaConfig;

DaConfig *da_config_new_default (void);
/* load a devaddrd.conf over the defaults; a missing file is fine unless
 * required */
gboolean da_config_load (DaConfig *config, const char *path, gboolean required, GError **error);
/* everything under one local directory, with the catalog of the source
 * tree: how the daemon runs from the build tree */
void da_config_set_local (DaConfig *config, const char *dir);
/* whether peers with the daemon's own uid may change reservations */
gboolean da_config_owner_may_mutate (const DaConfig *config);
void da_config_free (DaConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DaConfig, da_config_free)

G_END_DECLS
