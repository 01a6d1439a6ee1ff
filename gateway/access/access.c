/* lmcgw — roles, submit policy, rate limit, replay cache (see access.h). */
#include "access/access.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <stdio.h>

static const char *const role_names[] = {"none", "customs-system", "trader", "inspector", "admin"};

const char *gw_role_name(gw_role r) { return r <= GW_ROLE_ADMIN ? role_names[r] : "none"; }

int gw_role_parse(const char *s) {
  for (int i = 0; s && i <= GW_ROLE_ADMIN; i++)
    if (!strcasecmp(s, role_names[i])) return i;
  return -1;
}

gw_role gw_access_role(const gw_identity *id, gw_role anon_role) {
  if (!id || !id->authenticated) return anon_role;
  int r = gw_role_parse(id->org_unit);
  return r > 0 ? (gw_role)r : GW_ROLE_NONE;
}

/* 401 without a certificate, 403 with one that names no role. */
static int no_role(const gw_identity *id, char *why, size_t why_len) {
  if (!id || !id->authenticated) {
    snprintf(why, why_len, "a client certificate is required");
    return 401;
  }
  snprintf(why, why_len, "the certificate's OU '%s' names no role (customs-system, trader, inspector, admin)",
           id->org_unit);
  return 403;
}

int gw_access_may_submit(const gw_identity *id, gw_role role, const char *gateway_country, const char *kind,
                         const gw_consignment *m, char *why, size_t why_len) {
  int authenticated = id && id->authenticated;
  switch (role) {
  case GW_ROLE_CUSTOMS: {
    int back = !strcmp(kind, GW_KIND_RESPONSE) || !strcmp(kind, GW_KIND_SPS_ACK);
    const char *from = back ? m->import_country : m->export_country;
    if (!from) from = back ? m->destination_country : m->dispatch_country;
    if (!from) from = gateway_country;
    if (!authenticated || strcmp(id->country, from)) {
      snprintf(why, why_len, "a customs system of %s submits for its own country; this %s comes from %s",
               authenticated && id->country[0] ? id->country : "(no country)", kind, from);
      return 403;
    }
    return 0;
  }
  case GW_ROLE_TRADER:
    if (!strcmp(kind, GW_KIND_DECLARATION) || !strcmp(kind, GW_KIND_SPS) || !strcmp(kind, GW_KIND_CO)) return 0;
    snprintf(why, why_len, "traders submit declarations, SPS certificates and certificates of origin, not a %s", kind);
    return 403;
  case GW_ROLE_INSPECTOR:
  case GW_ROLE_ADMIN:
    snprintf(why, why_len, "the %s role reads shipments; it does not submit messages", gw_role_name(role));
    return 403;
  case GW_ROLE_NONE:
  default:
    return no_role(id, why, why_len);
  }
}

static int same_country(const char *a, const char *b) { return a && b && *a && !strcmp(a, b); }

int gw_access_may_read(const gw_identity *id, gw_role role, const gw_read_target *t, char *why, size_t why_len) {
  int authenticated = id && id->authenticated;
  switch (role) {
  case GW_ROLE_ADMIN: return 0;
  case GW_ROLE_INSPECTOR:
  case GW_ROLE_CUSTOMS:
    /* A client without a certificate has no country, so nothing to read. */
    if (authenticated && (same_country(id->country, t->origin_country) || same_country(id->country, t->destination_country)))
      return 0;
    if (!authenticated || !id->country[0])
      snprintf(why, why_len, "the %s role reads shipments of its certificate's country, and this client has none",
               gw_role_name(role));
    else
      snprintf(why, why_len, "the %s role of %s reads shipments to or from %s only; this one goes from %s to %s",
               gw_role_name(role), id->country, id->country, t->origin_country ? t->origin_country : "?",
               t->destination_country ? t->destination_country : "?");
    return 403;
  case GW_ROLE_TRADER:
    if (authenticated && id->country[0] && id->org[0]) {
      size_t cl = strlen(id->country);
      for (size_t i = 0; i < t->n_submitters; i++) {
        const char *s = t->submitters[i];
        if (s && !strncmp(s, id->country, cl) && s[cl] == '/' && !strcmp(s + cl + 1, id->org)) return 0;
      }
    }
    snprintf(why, why_len, "a trader reads only the shipments its organisation submitted documents for");
    return 403;
  case GW_ROLE_NONE:
  default:
    return no_role(id, why, why_len);
  }
}

/* ---- state: a small chained hash of rate buckets and replay entries ----------- */

#define NBUCKETS 4096
#define RATE_MAX 65536 /* identities tracked; idle ones are dropped beyond it */

typedef struct rate_entry {
  struct rate_entry *next;
  double tokens;
  uint64_t last_ms;
  char key[];
} rate_entry;

typedef struct replay_entry {
  struct replay_entry *next;             /* hash chain */
  struct replay_entry *older, *newer;    /* age order, for eviction */
  unsigned char digest[32];
  int status;                            /* 0: in progress */
  char *body;
  uint64_t expires_ms;
  char key[];
} replay_entry;

struct gw_access {
  double rate, burst;
  rate_entry *rate_tab[NBUCKETS];
  size_t n_rate;
  replay_entry *replay_tab[NBUCKETS];
  replay_entry *oldest, *newest;
  size_t n_replay, max_replay;
  uint64_t ttl_ms;
};

static size_t hash(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return (size_t)(h % NBUCKETS);
}

gw_access *gw_access_new(double rate, double burst, size_t replay_entries, uint64_t replay_ttl_ms) {
  gw_access *a = calloc(1, sizeof(*a));
  if (!a) return NULL;
  a->rate = rate;
  a->burst = burst < 1 ? 1 : burst;
  a->max_replay = replay_entries ? replay_entries : 1;
  a->ttl_ms = replay_ttl_ms;
  return a;
}

static void replay_unlink(gw_access *a, replay_entry *e) {
  replay_entry **pp = &a->replay_tab[hash(e->key)];
  while (*pp && *pp != e) pp = &(*pp)->next;
  if (*pp) *pp = e->next;
  if (e->older) e->older->newer = e->newer;
  else a->oldest = e->newer;
  if (e->newer) e->newer->older = e->older;
  else a->newest = e->older;
  a->n_replay--;
  free(e->body);
  free(e);
}

void gw_access_free(gw_access *a) {
  if (!a) return;
  for (size_t i = 0; i < NBUCKETS; i++)
    for (rate_entry *e = a->rate_tab[i], *n; e; e = n) {
      n = e->next;
      free(e);
    }
  while (a->oldest) replay_unlink(a, a->oldest);
  free(a);
}

static void rate_sweep(gw_access *a, uint64_t now_ms) {
  /* A bucket idle long enough to be full again carries no state worth keeping. */
  uint64_t full_after = a->rate > 0 ? (uint64_t)(a->burst / a->rate * 1000.0) + 1000 : 0;
  for (size_t i = 0; i < NBUCKETS; i++)
    for (rate_entry **pp = &a->rate_tab[i]; *pp;) {
      rate_entry *e = *pp;
      if (now_ms - e->last_ms > full_after) {
        *pp = e->next;
        free(e);
        a->n_rate--;
      } else {
        pp = &e->next;
      }
    }
}

uint64_t gw_access_rate_take(gw_access *a, const char *key, uint64_t now_ms) {
  if (a->rate <= 0) return 0;
  size_t h = hash(key);
  rate_entry *e = a->rate_tab[h];
  while (e && strcmp(e->key, key)) e = e->next;
  if (!e) {
    if (a->n_rate >= RATE_MAX) rate_sweep(a, now_ms);
    size_t kl = strlen(key);
    e = malloc(sizeof(*e) + kl + 1);
    if (!e) return 0; /* out of memory: do not turn it into a refusal */
    memcpy(e->key, key, kl + 1);
    e->tokens = a->burst;
    e->last_ms = now_ms;
    e->next = a->rate_tab[h];
    a->rate_tab[h] = e;
    a->n_rate++;
  }
  double add = (double)(now_ms - e->last_ms) / 1000.0 * a->rate;
  e->tokens = e->tokens + add > a->burst ? a->burst : e->tokens + add;
  e->last_ms = now_ms;
  if (e->tokens >= 1.0) {
    e->tokens -= 1.0;
    return 0;
  }
  return (uint64_t)((1.0 - e->tokens) / a->rate * 1000.0) + 1;
}

static replay_entry *replay_find(gw_access *a, const char *key) {
  for (replay_entry *e = a->replay_tab[hash(key)]; e; e = e->next)
    if (!strcmp(e->key, key)) return e;
  return NULL;
}

gw_replay_verdict gw_access_replay_check(gw_access *a, const char *key, const unsigned char digest[32], uint64_t now_ms,
                                         int *status, const char **body) {
  while (a->oldest && a->oldest->expires_ms < now_ms && a->oldest->status) replay_unlink(a, a->oldest);
  replay_entry *e = replay_find(a, key);
  if (e && e->expires_ms >= now_ms) {
    if (memcmp(e->digest, digest, 32)) return GW_REPLAY_CONFLICT;
    if (!e->status) return GW_REPLAY_IN_PROGRESS;
    *status = e->status;
    *body = e->body;
    return GW_REPLAY_SAME;
  }
  if (e) replay_unlink(a, e);
  /* Full: the oldest answered entry goes first; ones in progress stay. */
  for (replay_entry *o = a->oldest; a->n_replay >= a->max_replay && o;) {
    replay_entry *n = o->newer;
    if (o->status) replay_unlink(a, o);
    o = n;
  }
  size_t kl = strlen(key);
  e = calloc(1, sizeof(*e) + kl + 1);
  if (!e) return GW_REPLAY_NEW;
  memcpy(e->key, key, kl + 1);
  memcpy(e->digest, digest, 32);
  e->expires_ms = now_ms + a->ttl_ms;
  size_t h = hash(key);
  e->next = a->replay_tab[h];
  a->replay_tab[h] = e;
  e->older = a->newest;
  if (a->newest) a->newest->newer = e;
  else a->oldest = e;
  a->newest = e;
  a->n_replay++;
  return GW_REPLAY_NEW;
}

void gw_access_replay_done(gw_access *a, const char *key, int status, const char *body) {
  replay_entry *e = replay_find(a, key);
  if (!e) return;
  if (!status) {
    replay_unlink(a, e);
    return;
  }
  e->status = status;
  e->body = body ? strdup(body) : NULL;
}
