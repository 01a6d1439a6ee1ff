/* lmcgw — who may do what: roles from the mutual-TLS identity, the submit
 * policy, a rate limit per identity and the replay cache.
 *
 * Roles come from the client certificate's OU (organisational unit), which
 * each country's issuing CA sets: customs-system, trader, inspector, admin.
 * Anything else has no role and gets 403. Without a client certificate the
 * configured anonymous role applies (none in production, trader for --dev).
 *
 * The rate limiter and the replay cache belong to the loop thread (no locks);
 * gw_access_may_submit is pure and runs anywhere.
 *
 * Ownership: gw_access_new returns a state freed with gw_access_free. */
#ifndef GW_ACCESS_ACCESS_H
#define GW_ACCESS_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "model/model.h"

typedef enum gw_role {
  GW_ROLE_NONE = 0,
  GW_ROLE_CUSTOMS,   /* a national customs system (or SPS agency system) */
  GW_ROLE_TRADER,    /* a trader's portal or software */
  GW_ROLE_INSPECTOR, /* reads shipments to or from its country */
  GW_ROLE_ADMIN,     /* reads everything */
} gw_role;

/* The role of an identity; anonymous (unauthenticated) gets anon_role. */
gw_role gw_access_role(const gw_identity *id, gw_role anon_role);
const char *gw_role_name(gw_role r);
/* "customs-system", "trader", "inspector", "admin" or "none"; -1 otherwise. */
int gw_role_parse(const char *s);

/* May this identity submit this document to the gateway of gateway_country?
 * - customs systems submit any kind, for their own country: the country the
 *   document comes from (export country of a declaration or certificate,
 *   import country of a response or acknowledgement; the gateway's country
 *   when the document names none) must be the certificate's C;
 * - traders submit declarations, SPS certificates and certificates of origin;
 * - inspectors and admins read, they do not submit.
 * Returns 0 when allowed; otherwise 401 or 403 with the reason in why. */
int gw_access_may_submit(const gw_identity *id, gw_role role, const char *gateway_country, const char *kind,
                         const gw_consignment *m, char *why, size_t why_len);

/* What a read decision needs to know of a shipment (or one message): the
 * countries it travels between and who submitted its documents, each as
 * "CC/Organisation" (the submitting certificate's C and O). Borrowed. */
typedef struct gw_read_target {
  const char *origin_country;      /* country of export/dispatch, may be NULL */
  const char *destination_country; /* country of destination/import, may be NULL */
  const char *const *submitters;
  size_t n_submitters;
} gw_read_target;

/* May this identity read this shipment's documents and status?
 * - admins read everything;
 * - inspectors and customs systems read shipments to or from their country
 *   (the certificate's C);
 * - traders read only their own: shipments one of whose documents was
 *   submitted by their organisation (same C and O);
 * - without a role: 401 (no certificate) or 403.
 * Returns 0 when allowed; otherwise 401 or 403 with the reason in why. */
int gw_access_may_read(const gw_identity *id, gw_role role, const gw_read_target *t, char *why, size_t why_len);

typedef struct gw_access gw_access;

/* rate: messages per second per identity (0 = unlimited); burst: bucket size. */
gw_access *gw_access_new(double rate, double burst, size_t replay_entries, uint64_t replay_ttl_ms);
void gw_access_free(gw_access *a);

/* Takes one token for key (identity subject, or peer address). Returns 0, or
 * the milliseconds until a token is due (answer 429 with Retry-After). */
uint64_t gw_access_rate_take(gw_access *a, const char *key, uint64_t now_ms);

/* Replays: a client may name its message (X-Message-Id). */
typedef enum gw_replay_verdict {
  GW_REPLAY_NEW,         /* first time: go on, then gw_access_replay_done */
  GW_REPLAY_SAME,        /* same id, same digest, answered: status and body hold the first answer */
  GW_REPLAY_CONFLICT,    /* same id, another digest: 409 */
  GW_REPLAY_IN_PROGRESS, /* same id still being processed: 409 */
} gw_replay_verdict;

/* key = sender + client message id; digest = SHA-256 of the body (32 bytes).
 * For GW_REPLAY_SAME, *body points into the cache (valid until the next call). */
gw_replay_verdict gw_access_replay_check(gw_access *a, const char *key, const unsigned char digest[32], uint64_t now_ms,
                                         int *status, const char **body);
/* Records the answer of a message checked as NEW (status 0: forget it, so
 * that a message that failed for a passing reason can be sent again). */
void gw_access_replay_done(gw_access *a, const char *key, int status, const char *body);

#endif
