/*
 * store_sqlite.h - what the SQLite backend's files share: its state, and
 * what one of them calls in another. Not an interface: the backend is
 * reached through store.h's struct store_backend only.
 *
 *   store_sqlite.c        open, schema and migrations, close
 *   store_sqlite_write.c  the ops queue, group commit (the store thread),
 *                         the syncer and the checkpointer
 *   store_sqlite_read.c   documents, lists and requests, on the reading
 *                         connection
 */
#ifndef SLUICE_STORE_SQLITE_H
#define SLUICE_STORE_SQLITE_H

#include "store.h"

#include <pthread.h>
#include <sqlite3.h>

typedef struct store_op store_op;

/* One SQLite store per process (the start journal is one too). */
typedef struct store_sqlite {
    store_backend base;
    char name[64]; /* base.name */
    sqlite3 *wdb, *rdb;
    pthread_mutex_t rmu; /* serializes the reading connection */
    pthread_mutex_t mu;  /* ops queue */
    pthread_cond_t cv, written, sync_cv, ckpt_cv;
    store_op *head, *tail;
    store_op *sync_head, *sync_tail; /* committed accepts awaiting fdatasync */
    int syncing;                     /* the syncer is in a round (syncer_main) */
    int quit, healthy, sync_quit, ckpt_quit, ckpt_wanted, ckpt_started;
    int urgent;         /* queued ops someone waits for (store_main) */
    int lazy_accepts;   /* queued accepts that may wait a little (store_accept) */
    int release_wanted; /* store_release_memory: free the writer's cache */
    int is_new;         /* store_open found no schema */
    int wal_fd;
    sqlite3 *cdb; /* the checkpointer's connection, opened when first needed */
    char *path;
    pthread_t thread, syncer, checkpointer;
} store_sqlite;

extern store_sqlite store_sqlite_state;

/* sqlite3_exec with its message in err (err may be NULL). */
int store_sqlite_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);

/* store_sqlite_write.c: fill b's writing functions; prepare the writer's
 * statements (and hook the WAL); the start journal's callback at open;
 * start and stop the threads; finalize the statements. */
void store_sqlite_set_writes(store_backend *b);
int store_sqlite_prepare(char *why, size_t len);
void store_sqlite_promote_started(void *arg, const char *id, int attempt);
int store_sqlite_start(char *why, size_t len);
void store_sqlite_stop(void);
void store_sqlite_finalize(void);

/* store_sqlite_read.c: fill b's reading functions. */
void store_sqlite_set_reads(store_backend *b);

#endif
