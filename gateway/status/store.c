#include "status/store.h"

#include <inttypes.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bump when the tables change. The store is a cache of the status topic, so
 * the migration from any older version is to start empty (offsets included)
 * and let the consumer read the topic again. */
#define SCHEMA_VERSION 1

static const char schema_sql[] =
    "CREATE TABLE schema_version(version INTEGER NOT NULL);"
    /* body: the event as printed by gw_status_event_json; the other columns
     * are there to find and order it. */
    "CREATE TABLE events(event_id TEXT PRIMARY KEY, message_id TEXT NOT NULL, at_ms INTEGER NOT NULL,"
    " stage INTEGER NOT NULL, body TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX events_message ON events(message_id, at_ms, stage);"
    /* One row per message: its events folded (see recompute_message). */
    "CREATE TABLE messages(message_id TEXT PRIMARY KEY, ucr TEXT NOT NULL, document_type TEXT NOT NULL,"
    " document_number TEXT NOT NULL, format TEXT NOT NULL, source_format TEXT NOT NULL, origin TEXT NOT NULL,"
    " destination TEXT NOT NULL, submitter TEXT NOT NULL, hs_codes TEXT NOT NULL, perishable INTEGER NOT NULL,"
    " first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, latest_stage INTEGER NOT NULL,"
    " validated INTEGER NOT NULL, rejected INTEGER NOT NULL, signed INTEGER NOT NULL,"
    " decision INTEGER NOT NULL, decision_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX messages_ucr ON messages(ucr);"
    "CREATE INDEX messages_document ON messages(document_type, document_number);"
    "CREATE TABLE cites(message_id TEXT NOT NULL, type TEXT NOT NULL, number TEXT NOT NULL,"
    " PRIMARY KEY(message_id, type, number)) WITHOUT ROWID;"
    "CREATE INDEX cites_number ON cites(number);"
    /* Shipment summaries, so the list filters and pages in SQL. */
    "CREATE TABLE shipments(ucr TEXT PRIMARY KEY, origin TEXT NOT NULL, destination TEXT NOT NULL,"
    " perishable INTEGER NOT NULL, status TEXT NOT NULL, n_documents INTEGER NOT NULL,"
    " n_missing INTEGER NOT NULL, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX shipments_recent ON shipments(last_ms DESC, ucr);"
    "CREATE TABLE shipment_submitters(ucr TEXT NOT NULL, submitter TEXT NOT NULL,"
    " PRIMARY KEY(ucr, submitter)) WITHOUT ROWID;"
    "CREATE INDEX shipment_submitters_by ON shipment_submitters(submitter, ucr);"
    "CREATE TABLE offsets(topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,"
    " PRIMARY KEY(topic, partition)) WITHOUT ROWID;";

/* Per connection: what the open transaction touched, brought up to date at
 * commit (temp tables roll back with it). */
static const char temp_sql[] =
    "CREATE TEMP TABLE IF NOT EXISTS dirty_messages(message_id TEXT PRIMARY KEY) WITHOUT ROWID;"
    "CREATE TEMP TABLE IF NOT EXISTS dirty_shipments(ucr TEXT PRIMARY KEY) WITHOUT ROWID;";

#define MSG_COLS                                                                                              \
  "message_id, ucr, document_type, document_number, format, source_format, origin, destination, submitter, " \
  "hs_codes, perishable, first_ms, last_ms, latest_stage, validated, rejected, signed, decision, decision_ms"

enum {
  ST_EVENT_PUT,
  ST_DIRTY_MSG,
  ST_DIRTY_MSG_LIST,
  ST_DIRTY_MSG_CLEAR,
  ST_DIRTY_UCR,
  ST_DIRTY_UCR_LIST,
  ST_DIRTY_UCR_CLEAR,
  ST_DIRTY_CITERS,
  ST_EVENTS_OF,
  ST_MSG_GET,
  ST_MSG_PUT,
  ST_CITES_DEL,
  ST_CITES_PUT,
  ST_CITES_OF,
  ST_MSGS_OF_UCR,
  ST_MSGS_OF_DOC,
  ST_SHIP_PUT,
  ST_SHIP_DEL,
  ST_SHIP_GET,
  ST_SUB_DEL,
  ST_SUB_PUT,
  ST_SUB_OF,
  ST_OFF_GET,
  ST_OFF_PUT,
  ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_EVENT_PUT] = "INSERT OR IGNORE INTO events(event_id, message_id, at_ms, stage, body) VALUES(?1,?2,?3,?4,?5)",
    [ST_DIRTY_MSG] = "INSERT OR IGNORE INTO dirty_messages VALUES(?1)",
    [ST_DIRTY_MSG_LIST] = "SELECT message_id FROM dirty_messages",
    [ST_DIRTY_MSG_CLEAR] = "DELETE FROM dirty_messages",
    [ST_DIRTY_UCR] = "INSERT OR IGNORE INTO dirty_shipments VALUES(?1)",
    [ST_DIRTY_UCR_LIST] = "SELECT ucr FROM dirty_shipments",
    [ST_DIRTY_UCR_CLEAR] = "DELETE FROM dirty_shipments",
    [ST_DIRTY_CITERS] = "INSERT OR IGNORE INTO dirty_shipments SELECT DISTINCT m.ucr FROM cites c JOIN messages m"
                        " ON m.message_id = c.message_id WHERE c.number = ?1 AND c.type IN (?2, ?3, ?4)"
                        " AND m.document_type = 'declaration' AND m.ucr <> ''",
    [ST_EVENTS_OF] = "SELECT body, at_ms, stage, event_id FROM events WHERE message_id = ?1"
                     " ORDER BY at_ms, stage, event_id",
    [ST_MSG_GET] = "SELECT " MSG_COLS " FROM messages WHERE message_id = ?1",
    [ST_MSG_PUT] = "INSERT OR REPLACE INTO messages(" MSG_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,"
                   "?14,?15,?16,?17,?18,?19)",
    [ST_CITES_DEL] = "DELETE FROM cites WHERE message_id = ?1",
    [ST_CITES_PUT] = "INSERT OR IGNORE INTO cites(message_id, type, number) VALUES(?1,?2,?3)",
    [ST_CITES_OF] = "SELECT type, number FROM cites WHERE message_id = ?1 ORDER BY type, number",
    [ST_MSGS_OF_UCR] = "SELECT " MSG_COLS " FROM messages WHERE ucr = ?1 ORDER BY message_id",
    [ST_MSGS_OF_DOC] = "SELECT " MSG_COLS " FROM messages WHERE document_type = ?1 AND document_number = ?2"
                       " ORDER BY message_id",
    [ST_SHIP_PUT] = "INSERT OR REPLACE INTO shipments(ucr, origin, destination, perishable, status, n_documents,"
                    " n_missing, first_ms, last_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)",
    [ST_SHIP_DEL] = "DELETE FROM shipments WHERE ucr = ?1",
    [ST_SHIP_GET] = "SELECT origin, destination FROM shipments WHERE ucr = ?1",
    [ST_SUB_DEL] = "DELETE FROM shipment_submitters WHERE ucr = ?1",
    [ST_SUB_PUT] = "INSERT OR IGNORE INTO shipment_submitters(ucr, submitter) VALUES(?1,?2)",
    [ST_SUB_OF] = "SELECT submitter FROM shipment_submitters WHERE ucr = ?1 ORDER BY submitter",
    [ST_OFF_GET] = "SELECT next_offset FROM offsets WHERE topic = ?1 AND partition = ?2",
    [ST_OFF_PUT] = "INSERT OR REPLACE INTO offsets(topic, partition, next_offset) VALUES(?1,?2,?3)",
};

struct gw_status_store {
  sqlite3 *db;
  int in_tx; /* an explicit transaction (gw_status_store_begin) is open */
  sqlite3_stmt *st[ST_COUNT];
  /* The events inserted in the open transaction (the caller keeps them
   * valid until commit or rollback), so recomputing their messages need not
   * parse them back: by event_id for lookups, and by message in event order
   * for folding onto a message's row. Sorted at commit. */
  const gw_status_event **fresh, **fresh_by_msg;
  size_t n_fresh, cap_fresh;
};

/* ---- small SQLite helpers ---- */

static int dberr(gw_status_store *s, gw_error *err, const char *what) {
  int code = sqlite3_errcode(s->db) == SQLITE_NOMEM ? GW_ENOMEM : GW_EIO;
  return GW_ERR(err, code, "status store: %s: %s", what, sqlite3_errmsg(s->db));
}

/* A cached statement, reset and ready to bind. Callers step it to the end or
 * reset it (a statement left mid-way would pin a WAL snapshot). */
static sqlite3_stmt *stmt(gw_status_store *s, int i, gw_error *err) {
  if (!s->st[i]) {
    if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
      dberr(s, err, "preparing a statement");
      return NULL;
    }
  } else {
    sqlite3_reset(s->st[i]);
    sqlite3_clear_bindings(s->st[i]);
  }
  return s->st[i];
}

static void bind_str(sqlite3_stmt *st, int i, const char *v) { sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_STATIC); }

/* Runs a statement that returns no rows. */
static int run(gw_status_store *s, sqlite3_stmt *st, gw_error *err, const char *what) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : dberr(s, err, what);
}

static int exec(gw_status_store *s, const char *sql, gw_error *err, const char *what) {
  return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : dberr(s, err, what);
}

static char *col_dup(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return strdup(t ? (const char *)t : "");
}

typedef struct strv {
  char **v;
  size_t n, cap;
} strv;

static int strv_push(strv *a, const char *x) {
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 8;
    char **nv = realloc(a->v, cap * sizeof(*nv));
    if (!nv) return GW_ENOMEM;
    a->v = nv;
    a->cap = cap;
  }
  if (!(a->v[a->n] = strdup(x))) return GW_ENOMEM;
  a->n++;
  return 0;
}

static int strv_has(const strv *a, const char *x) {
  for (size_t i = 0; i < a->n; i++)
    if (!strcmp(a->v[i], x)) return 1;
  return 0;
}

static void strv_free(strv *a) {
  for (size_t i = 0; i < a->n; i++) free(a->v[i]);
  free(a->v);
  memset(a, 0, sizeof(*a));
}

/* Every first column of a one-parameter (or no-parameter) query. */
static int collect(gw_status_store *s, int which, const char *param, strv *out, gw_error *err) {
  sqlite3_stmt *st = stmt(s, which, err);
  if (!st) return err ? err->code : GW_EIO;
  if (param) bind_str(st, 1, param);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const unsigned char *t = sqlite3_column_text(st, 0);
    if (strv_push(out, t ? (const char *)t : "")) {
      sqlite3_reset(st);
      return GW_ERR(err, GW_ENOMEM, "out of memory");
    }
  }
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : dberr(s, err, "reading");
}

/* ---- open / close ---- */

static int create_schema(gw_status_store *s, gw_error *err) {
  /* Drop whatever is there (an older schema) before creating ours. */
  strv tables = {0};
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(s->db, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                         -1, &st, NULL) != SQLITE_OK)
    return dberr(s, err, "reading the schema");
  while (sqlite3_step(st) == SQLITE_ROW) strv_push(&tables, (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  int rc = 0;
  for (size_t i = 0; i < tables.n && !rc; i++) {
    char *sql = sqlite3_mprintf("DROP TABLE \"%w\"", tables.v[i]);
    rc = sql ? exec(s, sql, err, "dropping an old table") : GW_ERR(err, GW_ENOMEM, "out of memory");
    sqlite3_free(sql);
  }
  strv_free(&tables);
  if (rc) return rc;
  char ver[80];
  snprintf(ver, sizeof(ver), "INSERT INTO schema_version VALUES(%d)", SCHEMA_VERSION);
  if ((rc = exec(s, schema_sql, err, "creating the schema"))) return rc;
  return exec(s, ver, err, "creating the schema");
}

static int check_schema(gw_status_store *s, const char *path, gw_error *err) {
  int rc = exec(s, "BEGIN IMMEDIATE", err, "opening");
  if (rc) return rc;
  int have = 0;
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'", -1,
                         &st, NULL) != SQLITE_OK) {
    rc = dberr(s, err, "reading the schema");
    goto out;
  }
  have = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  int version = 0;
  if (have) {
    if (sqlite3_prepare_v2(s->db, "SELECT max(version) FROM schema_version", -1, &st, NULL) != SQLITE_OK) {
      rc = dberr(s, err, "reading the schema version");
      goto out;
    }
    if (sqlite3_step(st) == SQLITE_ROW) version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
  }
  if (version > SCHEMA_VERSION)
    rc = GW_ERR(err, GW_ECONFIG, "status store %s: schema version %d was written by a newer lmcgw (this one knows %d)",
                path, version, SCHEMA_VERSION);
  else if (version < SCHEMA_VERSION)
    rc = create_schema(s, err);
out:
  if (rc) {
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
  }
  return exec(s, "COMMIT", err, "creating the schema");
}

int gw_status_store_open(gw_status_store **out, const char *path, gw_error *err) {
  *out = NULL;
  if (!path || !*path) return GW_ERR(err, GW_EINVAL, "status store: no path");
  gw_status_store *s = calloc(1, sizeof(*s));
  if (!s) return GW_ERR(err, GW_ENOMEM, "out of memory");
  int rc;
  if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
      SQLITE_OK) {
    rc = GW_ERR(err, GW_EIO, "status store %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
    goto fail;
  }
  sqlite3_busy_timeout(s->db, 5000);
  /* WAL: readers on other connections never block the consumer and see
   * whole transactions. synchronous=NORMAL may lose the last transactions on
   * power loss, never consistency; offsets go with them, so those records
   * are simply consumed again. */
  /* cache_size: 8 MiB (the default 2 MiB made every batch re-read index
   * pages it had just written). */
  if ((rc = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-8192", err,
                 "setting WAL mode")) ||
      (rc = check_schema(s, path, err)) || (rc = exec(s, temp_sql, err, "creating temporary tables")))
    goto fail;
  *out = s;
  return 0;
fail:
  gw_status_store_close(s);
  return rc;
}

void gw_status_store_close(gw_status_store *s) {
  if (!s) return;
  for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
  if (s->db) {
    if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(s->db);
  }
  free(s->fresh);
  free(s->fresh_by_msg);
  free(s);
}

/* ---- messages: folding events ---- */

typedef struct mrow {
  char *id, *ucr, *type, *number, *format, *source_format, *origin, *destination, *submitter, *hs_json;
  int perishable, latest_stage, validated, rejected, signed_, decision;
  int64_t first_ms, last_ms, decision_ms;
} mrow;

static void mrow_free(mrow *m) {
  char **f[] = {&m->id,     &m->ucr,         &m->type,      &m->number,    &m->format,
                &m->source_format, &m->origin, &m->destination, &m->submitter, &m->hs_json};
  for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) free(*f[i]);
  memset(m, 0, sizeof(*m));
}

static int mrow_read(sqlite3_stmt *st, mrow *m) {
  memset(m, 0, sizeof(*m));
  char **f[] = {&m->id,     &m->ucr,         &m->type,      &m->number,    &m->format,
                &m->source_format, &m->origin, &m->destination, &m->submitter, &m->hs_json};
  for (int i = 0; i < 10; i++)
    if (!(*f[i] = col_dup(st, i))) {
      mrow_free(m);
      return GW_ENOMEM;
    }
  m->perishable = sqlite3_column_int(st, 10);
  m->first_ms = sqlite3_column_int64(st, 11);
  m->last_ms = sqlite3_column_int64(st, 12);
  m->latest_stage = sqlite3_column_int(st, 13);
  m->validated = sqlite3_column_int(st, 14);
  m->rejected = sqlite3_column_int(st, 15);
  m->signed_ = sqlite3_column_int(st, 16);
  m->decision = sqlite3_column_int(st, 17);
  m->decision_ms = sqlite3_column_int64(st, 18);
  return 0;
}

/* Last non-empty value wins: events come in (at, stage, event_id) order. */
static int take(char **dst, const char *v) {
  if (!v || !*v) return 0;
  char *c = strdup(v);
  if (!c) return GW_ENOMEM;
  free(*dst);
  *dst = c;
  return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A pair (type, number) in one string, for dedup. */
static int push_cite(strv *types, strv *numbers, const char *t, const char *n) {
  for (size_t i = 0; i < types->n; i++)
    if (!strcmp(types->v[i], t) && !strcmp(numbers->v[i], n)) return 0;
  if (strv_push(types, t)) return GW_ENOMEM;
  if (strv_push(numbers, n)) {
    free(types->v[--types->n]);
    return GW_ENOMEM;
  }
  return 0;
}

/* A message row's cites (ST_CITES_OF) and HS codes (its hs_json). */
static int load_row_cites_hs(gw_status_store *s, const mrow *m, strv *types, strv *numbers, strv *hs,
                             gw_error *err) {
  sqlite3_stmt *st = stmt(s, ST_CITES_OF, err);
  if (!st) return err ? err->code : GW_EIO;
  bind_str(st, 1, m->id);
  int r;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(st, 0), *n = (const char *)sqlite3_column_text(st, 1);
    if (push_cite(types, numbers, t ? t : "", n ? n : "")) {
      sqlite3_reset(st);
      return GW_ERR(err, GW_ENOMEM, "out of memory");
    }
  }
  sqlite3_reset(st);
  if (r != SQLITE_DONE) return dberr(s, err, "reading cites");
  json_t *a = json_loads(m->hs_json ? m->hs_json : "[]", 0, NULL);
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    if (json_is_string(v) && strv_push(hs, json_string_value(v))) {
      json_decref(a);
      return GW_ERR(err, GW_ENOMEM, "out of memory");
    }
  }
  json_decref(a);
  return 0;
}

static int mark_citers(gw_status_store *s, const char *type, const char *number, gw_error *err) {
  if (!*number) return 0;
  const char *a, *b, *c;
  if (!strcmp(type, GW_STATUS_DOC_SPS))
    a = "851", b = "852", c = "853";
  else if (!strcmp(type, GW_STATUS_DOC_CO))
    a = b = c = "861";
  else
    return 0;
  sqlite3_stmt *st = stmt(s, ST_DIRTY_CITERS, err);
  if (!st) return err ? err->code : GW_EIO;
  bind_str(st, 1, number);
  bind_str(st, 2, a);
  bind_str(st, 3, b);
  bind_str(st, 4, c);
  return run(s, st, err, "marking shipments");
}

static int mark_ucr(gw_status_store *s, const char *ucr, gw_error *err) {
  if (!*ucr) return 0;
  sqlite3_stmt *st = stmt(s, ST_DIRTY_UCR, err);
  if (!st) return err ? err->code : GW_EIO;
  bind_str(st, 1, ucr);
  return run(s, st, err, "marking a shipment");
}

static int cmp_fresh(const void *a, const void *b) {
  return strcmp((*(const gw_status_event *const *)a)->event_id, (*(const gw_status_event *const *)b)->event_id);
}

/* By message, then in the order a message's events are folded: (at, stage,
 * event_id), as ST_EVENTS_OF reads them. */
static int cmp_fresh_msg(const void *a, const void *b) {
  const gw_status_event *x = *(const gw_status_event *const *)a, *y = *(const gw_status_event *const *)b;
  int c = strcmp(x->message_id, y->message_id);
  if (c) return c;
  if (x->at_ms != y->at_ms) return x->at_ms < y->at_ms ? -1 : 1;
  if (x->stage != y->stage) return x->stage < y->stage ? -1 : 1;
  return strcmp(x->event_id, y->event_id);
}

/* The event just inserted under this id, or NULL (not in this transaction). */
static const gw_status_event *fresh_find(const gw_status_store *s, const char *event_id) {
  if (!s->n_fresh || !event_id) return NULL;
  gw_status_event key = {.event_id = (char *)event_id};
  const gw_status_event *kp = &key, **hit = bsearch(&kp, s->fresh, s->n_fresh, sizeof(*s->fresh), cmp_fresh);
  return hit ? *hit : NULL;
}

/* The events of message id inserted in this transaction, in fold order. */
static const gw_status_event *const *fresh_of(const gw_status_store *s, const char *id, size_t *n) {
  size_t lo = 0, hi = s->n_fresh;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(s->fresh_by_msg[mid]->message_id, id) < 0) lo = mid + 1;
    else hi = mid;
  }
  size_t end = lo;
  while (end < s->n_fresh && !strcmp(s->fresh_by_msg[end]->message_id, id)) end++;
  *n = end - lo;
  return s->fresh_by_msg + lo;
}

static int fresh_push(gw_status_store *s, const gw_status_event *ev) {
  if (s->n_fresh == s->cap_fresh) {
    size_t cap = s->cap_fresh ? s->cap_fresh * 2 : 256;
    const gw_status_event **a = realloc(s->fresh, cap * sizeof(*a)), **b;
    if (!a) return GW_ENOMEM;
    s->fresh = a;
    if (!(b = realloc(s->fresh_by_msg, cap * sizeof(*b)))) return GW_ENOMEM;
    s->fresh_by_msg = b;
    s->cap_fresh = cap;
  }
  s->fresh[s->n_fresh] = s->fresh_by_msg[s->n_fresh] = ev;
  s->n_fresh++;
  return 0;
}

/* A message's row as its events fold into it, in (at, stage, event_id) order. */
typedef struct fold {
  mrow m;
  strv hs, ct, cn;
  int n_events;
} fold;

static void fold_free(fold *f) {
  mrow_free(&f->m);
  strv_free(&f->hs);
  strv_free(&f->ct);
  strv_free(&f->cn);
}

static int fold_event(fold *f, const gw_status_event *ev) {
  mrow *m = &f->m;
  char **strs[] = {&m->ucr, &m->type, &m->number, &m->format, &m->source_format, &m->origin, &m->destination,
                   &m->submitter};
  const char *vals[] = {ev->ucr, ev->document_type, ev->document_number, ev->format, ev->source_format,
                        ev->origin, ev->destination, ev->submitter};
  int rc = 0;
  for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]) && !rc; i++) rc = take(strs[i], vals[i]);
  for (size_t i = 0; i < ev->n_hs_codes && !rc; i++)
    if (!strv_has(&f->hs, ev->hs_codes[i])) rc = strv_push(&f->hs, ev->hs_codes[i]);
  for (size_t i = 0; i < ev->n_cites && !rc; i++) rc = push_cite(&f->ct, &f->cn, ev->cites[i].type, ev->cites[i].number);
  if (f->n_events++ == 0) m->first_ms = ev->at_ms;
  m->last_ms = ev->at_ms;
  m->latest_stage = ev->stage;
  m->perishable |= ev->perishable;
  m->validated |= ev->stage == GW_STATUS_VALIDATED;
  m->rejected |= ev->stage == GW_STATUS_REJECTED;
  m->signed_ |= ev->stage == GW_STATUS_SIGNED;
  int d = ev->decision >= 0 ? ev->decision : gw_status_stage_is_decision(ev->stage) ? (int)ev->stage : -1;
  if (d >= 0) {
    m->decision = d;
    m->decision_ms = ev->at_ms;
  }
  return rc;
}

/* Every event of the message, from the table (the fresh ones without parsing). */
static int fold_all(gw_status_store *s, const char *id, fold *f, gw_error *err) {
  f->m.decision = -1;
  char **strs[] = {&f->m.id,     &f->m.ucr,    &f->m.type,        &f->m.number,   &f->m.format,
                   &f->m.source_format, &f->m.origin, &f->m.destination, &f->m.submitter};
  for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
    if (!(*strs[i] = strdup(i ? "" : id))) return GW_ERR(err, GW_ENOMEM, "out of memory");
  sqlite3_stmt *st = stmt(s, ST_EVENTS_OF, err);
  if (!st) return err ? err->code : GW_EIO;
  bind_str(st, 1, id);
  int r, rc = 0;
  while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
    gw_status_event parsed;
    const gw_status_event *ev = fresh_find(s, (const char *)sqlite3_column_text(st, 3));
    if (!ev) {
      gw_error perr = {0};
      const char *body = (const char *)sqlite3_column_text(st, 0);
      int n = sqlite3_column_bytes(st, 0);
      if ((rc = gw_status_event_parse(body ? body : "", (size_t)n, &parsed, &perr))) {
        rc = GW_ERR(err, rc == GW_ENOMEM ? GW_ENOMEM : GW_EIO, "status store: stored event of message %s: %s", id,
                    perr.msg);
        break;
      }
      ev = &parsed;
    }
    if (fold_event(f, ev)) rc = GW_ERR(err, GW_ENOMEM, "out of memory");
    if (ev == &parsed) gw_status_event_free(&parsed);
  }
  sqlite3_reset(st);
  if (!rc && r != SQLITE_DONE) rc = dberr(s, err, "reading events");
  return rc;
}

/* The stored row, its cites and HS codes, and then the events inserted in
 * this transaction on top, when all of them come after the row's last event:
 * the common case of a message's later stages, which spares reading and
 * parsing its earlier events again. Returns 1 when it does not apply. */
static int fold_onto(gw_status_store *s, const mrow *old, const gw_status_event *const *evs, size_t n, fold *f,
                     gw_error *err) {
  if (!n || evs[0]->at_ms < old->last_ms ||
      (evs[0]->at_ms == old->last_ms && (int)evs[0]->stage <= old->latest_stage))
    return 1;
  mrow *m = &f->m;
  *m = *old;
  char **strs[] = {&m->id,     &m->ucr,    &m->type,        &m->number,   &m->format,
                   &m->source_format, &m->origin, &m->destination, &m->submitter, &m->hs_json};
  for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) *strs[i] = NULL;
  const char *vals[] = {old->id,     old->ucr,    old->type,        old->number,   old->format,
                        old->source_format, old->origin, old->destination, old->submitter};
  for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
    if (!(*strs[i] = strdup(vals[i]))) return GW_ERR(err, GW_ENOMEM, "out of memory");
  int rc = load_row_cites_hs(s, old, &f->ct, &f->cn, &f->hs, err);
  f->n_events = 1; /* first_ms stays the row's */
  for (size_t i = 0; i < n && !rc; i++)
    if (fold_event(f, evs[i])) rc = GW_ERR(err, GW_ENOMEM, "out of memory");
  return rc;
}

/* Rebuilds a message's row and cites from all its events, then marks the
 * shipments it belonged to, belongs to, and that cite it. */
static int recompute_message(gw_status_store *s, const char *id, gw_error *err) {
  mrow old = {0};
  fold f = {0};
  int rc = 0, had_old = 0;
  sqlite3_stmt *st = stmt(s, ST_MSG_GET, err);
  if (!st) return err ? err->code : GW_EIO;
  bind_str(st, 1, id);
  int r = sqlite3_step(st);
  if (r == SQLITE_ROW) {
    if ((rc = mrow_read(st, &old))) {
      sqlite3_reset(st);
      return GW_ERR(err, rc, "out of memory");
    }
    had_old = 1;
  }
  sqlite3_reset(st);
  if (r != SQLITE_ROW && r != SQLITE_DONE) return dberr(s, err, "reading a message");

  size_t n_new = 0;
  const gw_status_event *const *fresh = fresh_of(s, id, &n_new);
  rc = had_old ? fold_onto(s, &old, fresh, n_new, &f, err) : 1;
  if (rc == 1) {
    fold_free(&f);
    memset(&f, 0, sizeof(f));
    rc = fold_all(s, id, &f, err);
  }
  if (rc || f.n_events == 0) goto out; /* no events cannot happen: a dirty message has one */

  mrow *m = &f.m;
  if (f.hs.n) qsort(f.hs.v, f.hs.n, sizeof(char *), cmp_str);
  m->perishable |= gw_status_perishable((const char *const *)f.hs.v, f.hs.n);
  json_t *ja = json_array();
  for (size_t i = 0; ja && i < f.hs.n; i++) json_array_append_new(ja, json_string(f.hs.v[i]));
  free(m->hs_json);
  m->hs_json = ja ? json_dumps(ja, JSON_COMPACT) : NULL;
  json_decref(ja);
  if (!m->hs_json) {
    rc = GW_ERR(err, GW_ENOMEM, "out of memory");
    goto out;
  }
  if (!(st = stmt(s, ST_MSG_PUT, err))) {
    rc = err ? err->code : GW_EIO;
    goto out;
  }
  const char *cols[] = {m->id,     m->ucr,       m->type,          m->number,     m->format,
                        m->source_format, m->origin, m->destination, m->submitter, m->hs_json};
  for (int i = 0; i < 10; i++) bind_str(st, i + 1, cols[i]);
  sqlite3_bind_int(st, 11, m->perishable);
  sqlite3_bind_int64(st, 12, m->first_ms);
  sqlite3_bind_int64(st, 13, m->last_ms);
  sqlite3_bind_int(st, 14, m->latest_stage);
  sqlite3_bind_int(st, 15, m->validated);
  sqlite3_bind_int(st, 16, m->rejected);
  sqlite3_bind_int(st, 17, m->signed_);
  sqlite3_bind_int(st, 18, m->decision);
  sqlite3_bind_int64(st, 19, m->decision_ms);
  if ((rc = run(s, st, err, "writing a message"))) goto out;
  if (!(st = stmt(s, ST_CITES_DEL, err))) {
    rc = err ? err->code : GW_EIO;
    goto out;
  }
  bind_str(st, 1, id);
  if ((rc = run(s, st, err, "writing cites"))) goto out;
  for (size_t i = 0; i < f.ct.n; i++) {
    if (!(st = stmt(s, ST_CITES_PUT, err))) {
      rc = err ? err->code : GW_EIO;
      goto out;
    }
    bind_str(st, 1, id);
    bind_str(st, 2, f.ct.v[i]);
    bind_str(st, 3, f.cn.v[i]);
    if ((rc = run(s, st, err, "writing cites"))) goto out;
  }
  if ((rc = mark_ucr(s, m->ucr, err)) || (rc = mark_citers(s, m->type, m->number, err))) goto out;
  if (had_old && ((rc = mark_ucr(s, old.ucr, err)) || (rc = mark_citers(s, old.type, old.number, err)))) goto out;
out:
  mrow_free(&old);
  fold_free(&f);
  return rc;
}

/* ---- shipments: matching and status ---- */

typedef struct mlist {
  mrow *v;
  size_t n, cap;
} mlist;

static void mlist_free(mlist *l) {
  for (size_t i = 0; i < l->n; i++) mrow_free(&l->v[i]);
  free(l->v);
  memset(l, 0, sizeof(*l));
}

/* The rows of earlier loads, by message id: a shipment may hold thousands of
 * messages (one UCR reused, or a flood of rejected ones), so no linear scan
 * per row. */
static _Thread_local const mlist *by_id_list;
static int cmp_by_id(const void *a, const void *b) {
  return strcmp(by_id_list->v[*(const size_t *)a].id, by_id_list->v[*(const size_t *)b].id);
}

static int mlist_has(const mlist *l, const size_t *by_id, size_t n, const char *id) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(l->v[by_id[mid]].id, id);
    if (!c) return 1;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return 0;
}

/* Appends the rows of a prepared (bound) message query not yet in l. The
 * query gives each message once. */
static int mlist_load(gw_status_store *s, sqlite3_stmt *st, mlist *l, gw_error *err) {
  size_t n0 = l->n, *by_id = NULL;
  if (n0) {
    if (!(by_id = malloc(n0 * sizeof(*by_id)))) {
      sqlite3_reset(st);
      return GW_ERR(err, GW_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n0; i++) by_id[i] = i;
    by_id_list = l;
    qsort(by_id, n0, sizeof(*by_id), cmp_by_id);
  }
  int r;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    const unsigned char *id = sqlite3_column_text(st, 0);
    if (id && n0 && mlist_has(l, by_id, n0, (const char *)id)) continue;
    if (l->n == l->cap) {
      size_t cap = l->cap ? l->cap * 2 : 8;
      mrow *nv = realloc(l->v, cap * sizeof(*nv));
      if (!nv) break;
      l->v = nv;
      l->cap = cap;
    }
    if (mrow_read(st, &l->v[l->n])) break;
    l->n++;
  }
  free(by_id);
  sqlite3_reset(st);
  if (r == SQLITE_ROW) return GW_ERR(err, GW_ENOMEM, "out of memory");
  return r == SQLITE_DONE ? 0 : dberr(s, err, "reading messages");
}

/* Later activity first wins; message id settles ties so the answer never
 * depends on the order rows come in. */
static int mrow_later(const mrow *a, const mrow *b) {
  if (a->last_ms != b->last_ms) return a->last_ms > b->last_ms;
  return strcmp(a->id, b->id) > 0;
}

typedef struct doc {
  const mrow *latest;
  int64_t first_ms;
} doc;

static int same_doc(const mrow *a, const mrow *b) {
  if (!*a->number || !*b->number) return a == b;
  return !strcmp(a->type, b->type) && !strcmp(a->number, b->number);
}

/* Messages of one document next to each other; a message without a number
 * is a document of its own. */
static int cmp_row_doc(const void *pa, const void *pb) {
  const mrow *a = *(const mrow *const *)pa, *b = *(const mrow *const *)pb;
  int c = strcmp(a->type, b->type);
  if (!c) c = (*a->number != 0) - (*b->number != 0);
  if (!c && *a->number) c = strcmp(a->number, b->number);
  return c ? c : strcmp(a->id, b->id);
}

static int cmp_doc(const void *pa, const void *pb) {
  const doc *a = pa, *b = pb;
  if (a->first_ms != b->first_ms) return a->first_ms < b->first_ms ? -1 : 1;
  int c = strcmp(a->latest->type, b->latest->type);
  if (!c) c = strcmp(a->latest->number, b->latest->number);
  return c ? c : strcmp(a->latest->id, b->latest->id);
}

typedef struct ship {
  mlist m;
  doc *docs;
  size_t n_docs;
  const mrow *decl; /* latest message of the declaration, NULL when none */
  strv cite_type, cite_number, hs;
  const char *origin, *destination;
  int perishable, decision;
  int64_t first_ms, last_ms;
  const char *status;
  json_t *required, *missing;
  strv submitters;
} ship;

static void ship_free(ship *sh) {
  mlist_free(&sh->m);
  free(sh->docs);
  strv_free(&sh->cite_type);
  strv_free(&sh->cite_number);
  strv_free(&sh->hs);
  strv_free(&sh->submitters);
  json_decref(sh->required);
  json_decref(sh->missing);
  memset(sh, 0, sizeof(*sh));
}

static const doc *find_doc(const ship *sh, const char *type, const char *number) {
  for (size_t i = 0; i < sh->n_docs; i++)
    if (!strcmp(sh->docs[i].latest->type, type) && !strcmp(sh->docs[i].latest->number, number)) return &sh->docs[i];
  return NULL;
}

static const char *cert_name(const char *code) {
  if (!strcmp(code, "851")) return "phytosanitary certificate";
  if (!strcmp(code, "852")) return "sanitary certificate";
  if (!strcmp(code, "853")) return "veterinary certificate";
  if (!strcmp(code, "861")) return "certificate of origin";
  return NULL;
}

static const char *chapter_what(int ch) {
  if (ch == 1) return "live animals";
  if (ch >= 6 && ch <= 14) return "plant products";
  return "animal products";
}

static int doc_ok(const mrow *m) { return m->validated && !m->rejected && m->signed_; }

/* Why a present document does not count yet; NULL when it does. */
static const char *doc_problem(const mrow *m) {
  if (m->rejected) return "was rejected";
  if (!m->validated) return "is not validated yet";
  if (!m->signed_) return "is not signed yet";
  return NULL;
}

static void add_required(ship *sh, const char *type, const char *why) {
  json_array_append_new(sh->required, json_pack("{s:s,s:s}", "type", type, "why", why));
}

static void add_missing(ship *sh, const char *type, const char *number, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_missing(ship *sh, const char *type, const char *number, const char *fmt, ...) {
  char why[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  json_array_append_new(sh->missing, json_pack("{s:s,s:o,s:s}", "type", type, "number",
                                               number && *number ? json_string(number) : json_null(), "why", why));
}

static void derive_requirements(ship *sh) {
  add_required(sh, GW_STATUS_DOC_DECLARATION, "every shipment needs its customs declaration");
  const mrow *d = sh->decl;
  if (!d) {
    add_missing(sh, GW_STATUS_DOC_DECLARATION, NULL, "no declaration with this UCR received yet");
    return;
  }
  const char *p = doc_problem(d);
  if (p) {
    if (*d->number)
      add_missing(sh, GW_STATUS_DOC_DECLARATION, d->number, "declaration %s %s", d->number, p);
    else
      add_missing(sh, GW_STATUS_DOC_DECLARATION, NULL, "the declaration (message %s) %s", d->id, p);
  }

  /* SPS certificate: the first HS code calling for each kind explains why. */
  static const char *const kinds[] = {"851", "852", "853"};
  char why[900] = "";
  for (size_t k = 0; k < 3; k++) {
    for (size_t i = 0; i < sh->hs.n; i++) {
      int ch = gw_status_hs_chapter(sh->hs.v[i]);
      const char *code = gw_status_sps_code(ch);
      if (!code || strcmp(code, kinds[k])) continue;
      size_t used = strlen(why);
      snprintf(why + used, sizeof(why) - used, "%sHS %s (chapter %02d, %s) needs a %s (%s)", used ? "; " : "",
               sh->hs.v[i], ch, chapter_what(ch), cert_name(code), code);
      break;
    }
  }
  if (*why) {
    add_required(sh, GW_STATUS_DOC_SPS, why);
    size_t n_cited = 0;
    for (size_t i = 0; i < sh->cite_type.n; i++) {
      const char *code = sh->cite_type.v[i], *num = sh->cite_number.v[i];
      if (strcmp(code, "851") && strcmp(code, "852") && strcmp(code, "853")) continue;
      n_cited++;
      const doc *x = find_doc(sh, GW_STATUS_DOC_SPS, num);
      if (!x)
        add_missing(sh, GW_STATUS_DOC_SPS, num, "the declaration cites %s %s, not received", cert_name(code), num);
      else if ((p = doc_problem(x->latest)))
        add_missing(sh, GW_STATUS_DOC_SPS, num, "%s %s %s", cert_name(code), num, p);
    }
    if (!n_cited) {
      /* No number to match: any SPS certificate of the shipment will do. */
      const doc *best = NULL;
      for (size_t i = 0; i < sh->n_docs; i++) {
        const doc *x = &sh->docs[i];
        if (strcmp(x->latest->type, GW_STATUS_DOC_SPS)) continue;
        if (doc_ok(x->latest)) {
          best = NULL;
          goto sps_done;
        }
        best = x;
      }
      if (!best)
        add_missing(sh, GW_STATUS_DOC_SPS, NULL, "%s", why);
      else if (*best->latest->number)
        add_missing(sh, GW_STATUS_DOC_SPS, best->latest->number, "SPS certificate %s %s", best->latest->number,
                    doc_problem(best->latest));
      else
        add_missing(sh, GW_STATUS_DOC_SPS, NULL, "the SPS certificate (message %s) %s", best->latest->id,
                    doc_problem(best->latest));
    }
  }
sps_done:
  /* Certificate of origin: required when cited (preference claimed). */
  for (size_t i = 0; i < sh->cite_type.n; i++) {
    if (strcmp(sh->cite_type.v[i], "861")) continue;
    const char *num = sh->cite_number.v[i];
    char w[600];
    snprintf(w, sizeof(w), "the declaration claims a preference with certificate of origin %s (861)", num);
    add_required(sh, GW_STATUS_DOC_CO, w);
    const doc *x = find_doc(sh, GW_STATUS_DOC_CO, num);
    if (!x)
      add_missing(sh, GW_STATUS_DOC_CO, num, "the declaration cites certificate of origin %s, not received", num);
    else if ((p = doc_problem(x->latest)))
      add_missing(sh, GW_STATUS_DOC_CO, num, "certificate of origin %s %s", num, p);
  }
}

static int load_cites_hs(gw_status_store *s, ship *sh, gw_error *err) {
  return load_row_cites_hs(s, sh->decl, &sh->cite_type, &sh->cite_number, &sh->hs, err);
}

/* Everything about shipment ucr that the answers and the summary need. */
static int compute_shipment(gw_status_store *s, const char *ucr, ship *sh, gw_error *err) {
  memset(sh, 0, sizeof(*sh));
  sh->decision = -1;
  int rc;
  sqlite3_stmt *st = stmt(s, ST_MSGS_OF_UCR, err);
  if (!st) return err ? err->code : GW_EIO;
  bind_str(st, 1, ucr);
  if ((rc = mlist_load(s, st, &sh->m, err))) return rc;
  if (!sh->m.n) return GW_ERR(err, GW_ENOTFOUND, "no shipment with UCR %s", ucr);
  /* The declaration: the most recent validated declaration message of the
   * UCR; only when none was validated, the most recent one. A rejected
   * message (anyone can send one with a UCR they guessed) must not displace
   * the declaration customs accepted. */
  size_t decl = (size_t)-1;
  for (int pass = 0; pass < 2 && decl == (size_t)-1; pass++)
    for (size_t i = 0; i < sh->m.n; i++)
      if (!strcmp(sh->m.v[i].type, GW_STATUS_DOC_DECLARATION) && (pass || sh->m.v[i].validated) &&
          (decl == (size_t)-1 || mrow_later(&sh->m.v[i], &sh->m.v[decl])))
        decl = i;
  if (decl != (size_t)-1) {
    sh->decl = &sh->m.v[decl];
    if ((rc = load_cites_hs(s, sh, err))) return rc;
    sh->decl = NULL; /* the cited rows below may move sh->m.v */
    for (size_t i = 0; i < sh->cite_type.n; i++) {
      const char *t = sh->cite_type.v[i];
      const char *type = !strcmp(t, "861") ? GW_STATUS_DOC_CO : cert_name(t) ? GW_STATUS_DOC_SPS : NULL;
      if (!type || !*sh->cite_number.v[i]) continue;
      if (!(st = stmt(s, ST_MSGS_OF_DOC, err))) return err ? err->code : GW_EIO;
      bind_str(st, 1, type);
      bind_str(st, 2, sh->cite_number.v[i]);
      if ((rc = mlist_load(s, st, &sh->m, err))) return rc;
    }
    sh->decl = &sh->m.v[decl];
  }
  /* Documents: group messages (sorted by document, so a group is a run),
   * keep each one's latest message. */
  if (!(sh->docs = calloc(sh->m.n, sizeof(*sh->docs)))) return GW_ERR(err, GW_ENOMEM, "out of memory");
  const mrow **by_doc = malloc(sh->m.n * sizeof(*by_doc));
  if (!by_doc) return GW_ERR(err, GW_ENOMEM, "out of memory");
  for (size_t i = 0; i < sh->m.n; i++) by_doc[i] = &sh->m.v[i];
  qsort(by_doc, sh->m.n, sizeof(*by_doc), cmp_row_doc);
  for (size_t i = 0; i < sh->m.n; i++) {
    const mrow *m = by_doc[i];
    doc *d = sh->n_docs ? &sh->docs[sh->n_docs - 1] : NULL;
    if (!d || !same_doc(d->latest, m)) {
      sh->docs[sh->n_docs++] = (doc){m, m->first_ms};
      continue;
    }
    if (mrow_later(m, d->latest)) d->latest = m;
    if (m->first_ms < d->first_ms) d->first_ms = m->first_ms;
  }
  free(by_doc);
  qsort(sh->docs, sh->n_docs, sizeof(*sh->docs), cmp_doc);

  sh->first_ms = INT64_MAX;
  sh->last_ms = INT64_MIN;
  int64_t decision_ms = INT64_MIN;
  for (size_t i = 0; i < sh->m.n; i++) {
    const mrow *m = &sh->m.v[i];
    if (m->first_ms < sh->first_ms) sh->first_ms = m->first_ms;
    if (m->last_ms > sh->last_ms) sh->last_ms = m->last_ms;
    sh->perishable |= m->perishable;
    if (m->decision >= 0 && (m->decision_ms > decision_ms || (m->decision_ms == decision_ms && m->decision > sh->decision))) {
      sh->decision = m->decision;
      decision_ms = m->decision_ms;
    }
    /* Only a validated message makes its sender a party to the shipment:
     * otherwise anyone could read a shipment by sending a (rejected)
     * message with its UCR. */
    if (m->validated && *m->submitter && !strv_has(&sh->submitters, m->submitter) &&
        strv_push(&sh->submitters, m->submitter))
      return GW_ERR(err, GW_ENOMEM, "out of memory");
  }
  if (sh->submitters.n) qsort(sh->submitters.v, sh->submitters.n, sizeof(char *), cmp_str);
  sh->origin = sh->decl && *sh->decl->origin ? sh->decl->origin : "";
  sh->destination = sh->decl && *sh->decl->destination ? sh->decl->destination : "";
  for (size_t i = 0; i < sh->n_docs; i++) {
    if (!*sh->origin) sh->origin = sh->docs[i].latest->origin;
    if (!*sh->destination) sh->destination = sh->docs[i].latest->destination;
  }

  sh->required = json_array();
  sh->missing = json_array();
  if (!sh->required || !sh->missing) return GW_ERR(err, GW_ENOMEM, "out of memory");
  derive_requirements(sh);
  if (sh->decision >= 0)
    sh->status = gw_status_stage_name(sh->decision);
  else if (sh->decl && sh->decl->rejected)
    sh->status = "REJECTED";
  else if (sh->decl && doc_ok(sh->decl) && json_array_size(sh->missing) == 0)
    sh->status = "READY_FOR_CLEARANCE";
  else
    sh->status = "IN_PROGRESS";
  return 0;
}

static int recompute_shipment(gw_status_store *s, const char *ucr, gw_error *err) {
  ship sh;
  int rc = compute_shipment(s, ucr, &sh, err);
  sqlite3_stmt *st;
  if (rc == GW_ENOTFOUND) {
    /* Its last message moved to another UCR. */
    ship_free(&sh);
    if (err) gw_error_clear(err);
    if (!(st = stmt(s, ST_SHIP_DEL, err))) return err ? err->code : GW_EIO;
    bind_str(st, 1, ucr);
    if ((rc = run(s, st, err, "deleting a shipment"))) return rc;
    if (!(st = stmt(s, ST_SUB_DEL, err))) return err ? err->code : GW_EIO;
    bind_str(st, 1, ucr);
    return run(s, st, err, "deleting a shipment");
  }
  if (rc) goto out;
  if (!(st = stmt(s, ST_SHIP_PUT, err))) {
    rc = err ? err->code : GW_EIO;
    goto out;
  }
  bind_str(st, 1, ucr);
  bind_str(st, 2, sh.origin);
  bind_str(st, 3, sh.destination);
  sqlite3_bind_int(st, 4, sh.perishable);
  bind_str(st, 5, sh.status);
  sqlite3_bind_int64(st, 6, (int64_t)sh.n_docs);
  sqlite3_bind_int64(st, 7, (int64_t)json_array_size(sh.missing));
  sqlite3_bind_int64(st, 8, sh.first_ms);
  sqlite3_bind_int64(st, 9, sh.last_ms);
  if ((rc = run(s, st, err, "writing a shipment"))) goto out;
  if (!(st = stmt(s, ST_SUB_DEL, err))) {
    rc = err ? err->code : GW_EIO;
    goto out;
  }
  bind_str(st, 1, ucr);
  if ((rc = run(s, st, err, "writing submitters"))) goto out;
  for (size_t i = 0; i < sh.submitters.n; i++) {
    if (!(st = stmt(s, ST_SUB_PUT, err))) {
      rc = err ? err->code : GW_EIO;
      goto out;
    }
    bind_str(st, 1, ucr);
    bind_str(st, 2, sh.submitters.v[i]);
    if ((rc = run(s, st, err, "writing submitters"))) goto out;
  }
out:
  ship_free(&sh);
  return rc;
}

/* Brings messages, then shipments, up to date with the events inserted in
 * this transaction. */
static int flush(gw_status_store *s, gw_error *err) {
  qsort(s->fresh, s->n_fresh, sizeof(*s->fresh), cmp_fresh);
  qsort(s->fresh_by_msg, s->n_fresh, sizeof(*s->fresh_by_msg), cmp_fresh_msg);
  strv ids = {0};
  int rc = collect(s, ST_DIRTY_MSG_LIST, NULL, &ids, err);
  for (size_t i = 0; i < ids.n && !rc; i++) rc = recompute_message(s, ids.v[i], err);
  strv_free(&ids);
  if (rc) return rc;
  sqlite3_stmt *st = stmt(s, ST_DIRTY_MSG_CLEAR, err);
  if (!st) return err ? err->code : GW_EIO;
  if ((rc = run(s, st, err, "clearing"))) return rc;
  if ((rc = collect(s, ST_DIRTY_UCR_LIST, NULL, &ids, err))) return rc;
  for (size_t i = 0; i < ids.n && !rc; i++) rc = recompute_shipment(s, ids.v[i], err);
  strv_free(&ids);
  if (rc) return rc;
  if (!(st = stmt(s, ST_DIRTY_UCR_CLEAR, err))) return err ? err->code : GW_EIO;
  return run(s, st, err, "clearing");
}

/* ---- transactions and applying ---- */

int gw_status_store_begin(gw_status_store *s, gw_error *err) {
  if (s->in_tx) return GW_ERR(err, GW_EINVAL, "status store: a transaction is already open");
  int rc = exec(s, "BEGIN IMMEDIATE", err, "beginning a transaction");
  if (!rc) s->in_tx = 1;
  return rc;
}

void gw_status_store_rollback(gw_status_store *s) {
  if (!sqlite3_get_autocommit(s->db)) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  s->in_tx = 0;
  s->n_fresh = 0;
}

int gw_status_store_commit(gw_status_store *s, gw_error *err) {
  if (!s->in_tx) return GW_ERR(err, GW_EINVAL, "status store: no transaction open");
  int rc = flush(s, err);
  if (!rc) rc = exec(s, "COMMIT", err, "committing");
  if (rc)
    gw_status_store_rollback(s);
  else
    s->in_tx = 0, s->n_fresh = 0;
  return rc;
}

static int insert_event(gw_status_store *s, const gw_status_event *ev, gw_error *err) {
  if (!ev->event_id || !*ev->event_id || !ev->message_id || !*ev->message_id)
    return GW_ERR(err, GW_EINVAL, "status event without event_id or message_id");
  if (!gw_status_stage_name(ev->stage)) return GW_ERR(err, GW_EINVAL, "status event %s: stage out of range", ev->event_id);
  char *body = gw_status_event_json(ev);
  if (!body) return GW_ERR(err, GW_ENOMEM, "out of memory");
  int rc;
  sqlite3_stmt *st = stmt(s, ST_EVENT_PUT, err);
  if (!st) {
    free(body);
    return err ? err->code : GW_EIO;
  }
  bind_str(st, 1, ev->event_id);
  bind_str(st, 2, ev->message_id);
  sqlite3_bind_int64(st, 3, ev->at_ms);
  sqlite3_bind_int(st, 4, (int)ev->stage);
  bind_str(st, 5, body);
  rc = run(s, st, err, "writing an event");
  free(body);
  if (rc || sqlite3_changes(s->db) == 0) return rc; /* 0 changes: seen before */
  if (fresh_push(s, ev)) return GW_ERR(err, GW_ENOMEM, "out of memory");
  if (!(st = stmt(s, ST_DIRTY_MSG, err))) return err ? err->code : GW_EIO;
  bind_str(st, 1, ev->message_id);
  return run(s, st, err, "marking a message");
}

int gw_status_store_apply(gw_status_store *s, const gw_status_event *ev, gw_error *err) {
  if (s->in_tx) return insert_event(s, ev, err);
  int rc = gw_status_store_begin(s, err);
  if (rc) return rc;
  if ((rc = insert_event(s, ev, err))) {
    gw_status_store_rollback(s);
    return rc;
  }
  return gw_status_store_commit(s, err);
}

int gw_status_store_apply_batch(gw_status_store *s, const gw_status_event *evs, size_t n, const char *topic,
                                int32_t partition, int64_t next_offset, gw_error *err) {
  int rc = gw_status_store_begin(s, err);
  for (size_t i = 0; i < n && !rc; i++) rc = insert_event(s, &evs[i], err);
  if (!rc && topic) rc = gw_status_store_offset_set(s, topic, partition, next_offset, err);
  if (!rc) return gw_status_store_commit(s, err);
  if (s->in_tx) gw_status_store_rollback(s);
  return rc;
}

int gw_status_store_offset_get(gw_status_store *s, const char *topic, int32_t partition, int64_t *offset,
                               gw_error *err) {
  *offset = -1;
  sqlite3_stmt *st = stmt(s, ST_OFF_GET, err);
  if (!st) return err ? err->code : GW_EIO;
  bind_str(st, 1, topic);
  sqlite3_bind_int(st, 2, partition);
  int r = sqlite3_step(st);
  if (r == SQLITE_ROW) *offset = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : dberr(s, err, "reading an offset");
}

int gw_status_store_offset_set(gw_status_store *s, const char *topic, int32_t partition, int64_t offset,
                               gw_error *err) {
  sqlite3_stmt *st = stmt(s, ST_OFF_PUT, err);
  if (!st) return err ? err->code : GW_EIO;
  bind_str(st, 1, topic);
  sqlite3_bind_int(st, 2, partition);
  sqlite3_bind_int64(st, 3, offset);
  return run(s, st, err, "writing an offset");
}

int gw_status_store_reset(gw_status_store *s, gw_error *err) {
  if (s->in_tx) return GW_ERR(err, GW_EINVAL, "status store: reset inside a transaction");
  int rc = exec(s,
                "BEGIN IMMEDIATE; DELETE FROM events; DELETE FROM messages; DELETE FROM cites; DELETE FROM shipments;"
                " DELETE FROM shipment_submitters; DELETE FROM offsets; DELETE FROM dirty_messages;"
                " DELETE FROM dirty_shipments; COMMIT",
                err, "resetting");
  if (rc) gw_status_store_rollback(s);
  return rc;
}

/* ---- queries ---- */

/* Reads on their own see one snapshot (WAL): a commit of the consumer
 * between two SELECTs of one answer would otherwise show half of it. */
static int read_begin(gw_status_store *s, gw_error *err) {
  return s->in_tx ? 0 : exec(s, "BEGIN", err, "beginning a read");
}
static void read_end(gw_status_store *s) {
  if (!s->in_tx) sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
}

static json_t *jtime(int64_t ms) {
  char b[32];
  gw_status_time_format(ms, b, sizeof(b));
  return json_string(b);
}

static int dump(json_t *o, char **json, gw_error *err) {
  *json = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return *json ? 0 : GW_ERR(err, GW_ENOMEM, "out of memory");
}

static json_t *member(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return v ? json_incref(v) : json_null();
}

/* One message's row: 0, GW_ENOTFOUND, or a database error. */
static int msg_get(gw_status_store *s, const char *id, mrow *m, gw_error *err) {
  sqlite3_stmt *st = stmt(s, ST_MSG_GET, err);
  if (!st) return err ? err->code : GW_EIO;
  bind_str(st, 1, id);
  int r = sqlite3_step(st), rc = 0;
  if (r == SQLITE_ROW) rc = mrow_read(st, m) ? GW_ERR(err, GW_ENOMEM, "out of memory") : 0;
  else if (r == SQLITE_DONE) rc = GW_ERR(err, GW_ENOTFOUND, "no message with id %s", id);
  else rc = dberr(s, err, "reading a message");
  sqlite3_reset(st);
  return rc;
}

int gw_status_store_message(gw_status_store *s, const char *id, char **json, gw_error *err) {
  *json = NULL;
  int rc = read_begin(s, err);
  if (rc) return rc;
  mrow m = {0};
  json_t *o = NULL, *evs = NULL;
  sqlite3_stmt *st = NULL;
  int r;
  if ((rc = msg_get(s, id, &m, err))) goto out;
  evs = json_array();
  if (!(st = stmt(s, ST_EVENTS_OF, err))) {
    rc = err ? err->code : GW_EIO;
    goto out;
  }
  bind_str(st, 1, id);
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *e = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    json_array_append_new(evs, json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "stage", member(e, "stage"), "at",
                                         member(e, "at"), "gateway", member(e, "gateway"), "instance",
                                         member(e, "instance"), "detail", member(e, "detail"), "problems",
                                         member(e, "problems"), "signature", member(e, "signature")));
    json_decref(e);
  }
  sqlite3_reset(st);
  if (r != SQLITE_DONE) {
    rc = dberr(s, err, "reading events");
    goto out;
  }
  o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O}", "id", m.id, "ucr", m.ucr, "document_type", m.type,
                "document_number", m.number, "origin", m.origin, "destination", m.destination, "format", m.format,
                "source_format", m.source_format, "status", gw_status_stage_name(m.latest_stage), "events", evs);
  rc = dump(o, json, err);
out:
  json_decref(evs);
  mrow_free(&m);
  read_end(s);
  return rc;
}

typedef struct tl_entry {
  int64_t at_ms;
  int stage;
  char *event_id;
  json_t *o;
} tl_entry;

static int cmp_tl(const void *pa, const void *pb) {
  const tl_entry *a = pa, *b = pb;
  if (a->at_ms != b->at_ms) return a->at_ms < b->at_ms ? -1 : 1;
  if (a->stage != b->stage) return a->stage - b->stage;
  return strcmp(a->event_id, b->event_id);
}

static int timeline(gw_status_store *s, const ship *sh, json_t **out, gw_error *err) {
  tl_entry *v = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  for (size_t i = 0; i < sh->m.n && !rc; i++) {
    const mrow *m = &sh->m.v[i];
    sqlite3_stmt *st = stmt(s, ST_EVENTS_OF, err);
    if (!st) {
      rc = err ? err->code : GW_EIO;
      break;
    }
    bind_str(st, 1, m->id);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
      if (n == cap) {
        size_t nc = cap ? cap * 2 : 16;
        tl_entry *nv = realloc(v, nc * sizeof(*nv));
        if (!nv) break;
        v = nv;
        cap = nc;
      }
      json_t *e = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
      tl_entry *t = &v[n];
      t->at_ms = sqlite3_column_int64(st, 1);
      t->stage = sqlite3_column_int(st, 2);
      t->event_id = col_dup(st, 3);
      t->o = json_pack("{s:o,s:o,s:s,s:s,s:o,s:o}", "at", member(e, "at"), "stage", member(e, "stage"), "message_id",
                       m->id, "document_type", m->type, "gateway", member(e, "gateway"), "detail",
                       member(e, "detail"));
      json_decref(e);
      if (!t->event_id || !t->o) {
        free(t->event_id);
        json_decref(t->o);
        break;
      }
      n++;
    }
    sqlite3_reset(st);
    if (r == SQLITE_ROW)
      rc = GW_ERR(err, GW_ENOMEM, "out of memory");
    else if (r != SQLITE_DONE)
      rc = dberr(s, err, "reading events");
  }
  json_t *a = json_array();
  if (!rc && !a) rc = GW_ERR(err, GW_ENOMEM, "out of memory");
  if (!rc && n) qsort(v, n, sizeof(*v), cmp_tl);
  for (size_t i = 0; i < n; i++) {
    if (!rc) json_array_append(a, v[i].o);
    json_decref(v[i].o);
    free(v[i].event_id);
  }
  free(v);
  if (rc) {
    json_decref(a);
    return rc;
  }
  *out = a;
  return 0;
}

int gw_status_store_shipment(gw_status_store *s, const char *ucr, time_t now, char **json, gw_error *err) {
  *json = NULL;
  if (!ucr || !*ucr) return GW_ERR(err, GW_ENOTFOUND, "no shipment with an empty UCR");
  int rc = read_begin(s, err);
  if (rc) return rc;
  ship sh;
  json_t *tl = NULL, *docs = NULL;
  if ((rc = compute_shipment(s, ucr, &sh, err)) || (rc = timeline(s, &sh, &tl, err))) goto out;
  docs = json_array();
  for (size_t i = 0; docs && i < sh.n_docs; i++) {
    const mrow *m = sh.docs[i].latest;
    json_array_append_new(docs, json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:o}", "type", m->type, "number", m->number,
                                          "message_id", m->id, "status", gw_status_stage_name(m->latest_stage),
                                          "valid", m->validated && !m->rejected, "signed", m->signed_, "at",
                                          jtime(m->last_ms)));
  }
  int64_t elapsed = (int64_t)now - sh.first_ms / 1000;
  json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:s,s:o,s:o,s:I,s:O,s:O,s:O,s:O}", "ucr", ucr, "origin", sh.origin,
                        "destination", sh.destination, "perishable", sh.perishable, "status", sh.status,
                        "first_seen", jtime(sh.first_ms), "last_update", jtime(sh.last_ms), "elapsed_s",
                        (json_int_t)(elapsed > 0 ? elapsed : 0), "documents", docs, "required", sh.required,
                        "missing", sh.missing, "timeline", tl);
  rc = dump(o, json, err);
out:
  json_decref(docs);
  json_decref(tl);
  ship_free(&sh);
  read_end(s);
  return rc;
}

static const char *const ship_statuses[] = {"IN_PROGRESS", "READY_FOR_CLEARANCE", "REJECTED", "ACCEPTED",
                                            "INSPECTION_REQUIRED", "RELEASED", "REFUSED"};

/* Cursor: "<last_ms>-<hex of the UCR>" of the last row of the page. */
static int cursor_parse(const char *c, int64_t *ms, char **ucr) {
  char *end;
  if (*c < '0' || *c > '9') return -1;
  long long v = strtoll(c, &end, 10);
  if (end == c || *end != '-' || v < 0) return -1;
  const char *h = end + 1;
  size_t n = strlen(h);
  if (n % 2 || n == 0 || n > 2048) return -1;
  char *u = malloc(n / 2 + 1);
  if (!u) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned x;
    if (!strchr("0123456789abcdef", h[2 * i]) || !strchr("0123456789abcdef", h[2 * i + 1]) ||
        sscanf(h + 2 * i, "%2x", &x) != 1 || x == 0) {
      free(u);
      return -1;
    }
    u[i] = (char)x;
  }
  u[n / 2] = 0;
  *ms = v;
  *ucr = u;
  return 0;
}

static char *cursor_make(int64_t ms, const char *ucr) {
  size_t n = strlen(ucr);
  char *c = malloc(24 + 2 * n);
  if (!c) return NULL;
  int k = snprintf(c, 24, "%" PRId64 "-", ms);
  for (size_t i = 0; i < n; i++) snprintf(c + k + 2 * i, 3, "%02x", (unsigned char)ucr[i]);
  c[k + 2 * n] = 0;
  return c;
}

static int given(const char *s) { return s && *s; }

int gw_status_store_list(gw_status_store *s, const gw_status_filter *f, char **json, gw_error *err) {
  *json = NULL;
  int64_t since_ms = 0, cur_ms = 0;
  char *cur_ucr = NULL;
  if (given(f->status)) {
    size_t i;
    for (i = 0; i < sizeof(ship_statuses) / sizeof(ship_statuses[0]); i++)
      if (!strcmp(f->status, ship_statuses[i])) break;
    if (i == sizeof(ship_statuses) / sizeof(ship_statuses[0]))
      return GW_ERR(err, GW_EINVAL, "status: unknown shipment status \"%s\"", f->status);
  }
  if (given(f->since) && gw_status_time_parse(f->since, &since_ms))
    return GW_ERR(err, GW_EINVAL, "since: not an RFC 3339 time: \"%s\"", f->since);
  if (f->scope != GW_STATUS_SCOPE_ADMIN && !given(f->scope_value))
    return GW_ERR(err, GW_EINVAL, "status store: a country or submitter scope needs a value");
  if (given(f->cursor) && cursor_parse(f->cursor, &cur_ms, &cur_ucr))
    return GW_ERR(err, GW_EINVAL, "cursor: not a cursor this server gave");
  int limit = f->limit <= 0 ? 50 : f->limit > 500 ? 500 : f->limit;

  char sql[1200];
  snprintf(sql, sizeof(sql),
           "SELECT ucr, origin, destination, status, perishable, n_documents, n_missing, first_ms, last_ms"
           " FROM shipments s WHERE 1%s%s%s%s%s%s%s ORDER BY last_ms DESC, ucr LIMIT :limit",
           given(f->country) ? " AND (origin = :country OR destination = :country)" : "",
           given(f->status) ? " AND status = :status" : "", given(f->since) ? " AND last_ms >= :since" : "",
           f->perishable >= 0 ? " AND perishable = :perishable" : "",
           f->scope == GW_STATUS_SCOPE_COUNTRY ? " AND (origin = :scope OR destination = :scope)" : "",
           f->scope == GW_STATUS_SCOPE_SUBMITTER
               ? " AND EXISTS (SELECT 1 FROM shipment_submitters x WHERE x.ucr = s.ucr AND x.submitter = :scope)"
               : "",
           cur_ucr ? " AND (last_ms < :cms OR (last_ms = :cms AND ucr > :cucr))" : "");
  int rc = read_begin(s, err);
  if (rc) {
    free(cur_ucr);
    return rc;
  }
  sqlite3_stmt *st = NULL;
  json_t *arr = json_array(), *o = NULL;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
    rc = dberr(s, err, "listing shipments");
    goto out;
  }
#define BIND_S(name, v)                                                                                        \
  do {                                                                                                         \
    int ix = sqlite3_bind_parameter_index(st, name);                                                           \
    if (ix) bind_str(st, ix, v);                                                                               \
  } while (0)
#define BIND_I(name, v)                                                                                        \
  do {                                                                                                         \
    int ix = sqlite3_bind_parameter_index(st, name);                                                           \
    if (ix) sqlite3_bind_int64(st, ix, v);                                                                     \
  } while (0)
  BIND_S(":country", f->country);
  BIND_S(":status", f->status);
  BIND_I(":since", since_ms);
  BIND_I(":perishable", f->perishable ? 1 : 0);
  BIND_S(":scope", f->scope_value);
  BIND_I(":cms", cur_ms);
  BIND_S(":cucr", cur_ucr);
  BIND_I(":limit", limit + 1); /* one more tells whether there is a next page */
  int r, n = 0;
  int64_t last_ms = 0;
  const char *last_ucr = NULL;
  char *next = NULL;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == limit) {
      next = cursor_make(last_ms, last_ucr);
      if (!next) rc = GW_ERR(err, GW_ENOMEM, "out of memory");
      break;
    }
    const char *ucr = (const char *)sqlite3_column_text(st, 0);
    json_t *row = json_pack("{s:s,s:s,s:s,s:s,s:b,s:I,s:I,s:o,s:o}", "ucr", ucr, "origin",
                            (const char *)sqlite3_column_text(st, 1), "destination",
                            (const char *)sqlite3_column_text(st, 2), "status",
                            (const char *)sqlite3_column_text(st, 3), "perishable", sqlite3_column_int(st, 4),
                            "documents", (json_int_t)sqlite3_column_int64(st, 5), "missing",
                            (json_int_t)sqlite3_column_int64(st, 6), "first_seen", jtime(sqlite3_column_int64(st, 7)),
                            "last_update", jtime(sqlite3_column_int64(st, 8)));
    if (!row || json_array_append_new(arr, row)) {
      rc = GW_ERR(err, GW_ENOMEM, "out of memory");
      break;
    }
    last_ms = sqlite3_column_int64(st, 8);
    last_ucr = json_string_value(json_object_get(row, "ucr"));
    n++;
  }
  if (!rc && r != SQLITE_ROW && r != SQLITE_DONE) rc = dberr(s, err, "listing shipments");
  if (!rc) {
    o = json_pack("{s:O,s:o}", "shipments", arr, "next", next ? json_string(next) : json_null());
    rc = dump(o, json, err);
  }
  free(next);
out:
  sqlite3_finalize(st);
  json_decref(arr);
  free(cur_ucr);
  read_end(s);
  return rc;
}

static int target_fill_subs(gw_status_store *s, const char *ucr, strv *subs, gw_error *err) {
  strv got = {0};
  int rc = collect(s, ST_SUB_OF, ucr, &got, err);
  for (size_t i = 0; i < got.n && !rc; i++)
    if (!strv_has(subs, got.v[i]) && strv_push(subs, got.v[i])) rc = GW_ERR(err, GW_ENOMEM, "out of memory");
  strv_free(&got);
  return rc;
}

/* Reads a shipment's origin and destination; 1 when found. */
static int ship_countries(gw_status_store *s, const char *ucr, char **origin, char **destination, gw_error *err) {
  sqlite3_stmt *st = stmt(s, ST_SHIP_GET, err);
  if (!st) return err ? err->code : GW_EIO;
  bind_str(st, 1, ucr);
  int r = sqlite3_step(st), rc = 0;
  if (r == SQLITE_ROW) {
    *origin = col_dup(st, 0);
    *destination = col_dup(st, 1);
    rc = *origin && *destination ? 1 : GW_ERR(err, GW_ENOMEM, "out of memory");
  } else if (r != SQLITE_DONE) {
    rc = dberr(s, err, "reading a shipment");
  }
  sqlite3_reset(st);
  return rc;
}

int gw_status_store_read_target(gw_status_store *s, const char *ucr, gw_status_target *out, gw_error *err) {
  memset(out, 0, sizeof(*out));
  int rc = read_begin(s, err);
  if (rc) return rc;
  strv subs = {0};
  rc = ship_countries(s, ucr, &out->origin, &out->destination, err);
  if (rc == 0) rc = GW_ERR(err, GW_ENOTFOUND, "no shipment with UCR %s", ucr);
  if (rc == 1) rc = target_fill_subs(s, ucr, &subs, err);
  read_end(s);
  out->submitters = subs.v;
  out->n_submitters = subs.n;
  if (rc) gw_status_target_free(out);
  return rc;
}

int gw_status_store_message_target(gw_status_store *s, const char *id, gw_status_target *out, gw_error *err) {
  memset(out, 0, sizeof(*out));
  int rc = read_begin(s, err);
  if (rc) return rc;
  strv subs = {0};
  mrow m = {0};
  char *so = NULL, *sd = NULL;
  if ((rc = msg_get(s, id, &m, err))) goto out;
  if (*m.submitter && strv_push(&subs, m.submitter)) {
    rc = GW_ERR(err, GW_ENOMEM, "out of memory");
    goto out;
  }
  if (*m.ucr) {
    if ((rc = ship_countries(s, m.ucr, &so, &sd, err)) < 0) goto out;
    rc = target_fill_subs(s, m.ucr, &subs, err);
    if (rc) goto out;
  }
  out->origin = strdup(*m.origin ? m.origin : so ? so : "");
  out->destination = strdup(*m.destination ? m.destination : sd ? sd : "");
  if (!out->origin || !out->destination) rc = GW_ERR(err, GW_ENOMEM, "out of memory");
out:
  read_end(s);
  out->submitters = subs.v;
  out->n_submitters = subs.n;
  if (rc) gw_status_target_free(out);
  mrow_free(&m);
  free(so);
  free(sd);
  return rc;
}

void gw_status_target_free(gw_status_target *t) {
  if (!t) return;
  free(t->origin);
  free(t->destination);
  for (size_t i = 0; i < t->n_submitters; i++) free(t->submitters[i]);
  free(t->submitters);
  memset(t, 0, sizeof(*t));
}
