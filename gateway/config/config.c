#include "config/config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "core/log.h"
#include "delivery/client.h"
#include "delivery/delivery.h"

/* KT_AUTO: a boolean that may also be "auto" (stored as -1). */
enum key_type { KT_STR, KT_BOOL, KT_UINT, KT_SIZE, KT_PATH, KT_AUTO };

typedef struct key_def {
  const char *name;   /* section.key as written in the file */
  enum key_type type;
  const char *def;    /* default as text; NULL: none */
  size_t off;         /* into gw_config */
  unsigned long min, max;
  const char *doc;
} key_def;

#define OFF(f) offsetof(gw_config, f)
static const key_def keys[] = {
  {"gateway.country", KT_STR, NULL, OFF(country), 0, 0,
   "ISO 3166-1 alpha-2 code of the participant running this gateway (CN, KH, LA, MM, TH, VN)"},
  {"gateway.instance_id", KT_STR, "lmcgw-1", OFF(instance_id), 0, 0, "name of this instance, in logs and Kafka client.id"},
  {"gateway.state_dir", KT_PATH, "./lmcgw-state", OFF(state_dir), 0, 0, "where the gateway keeps its state"},
  {"gateway.log_level", KT_STR, "info", OFF(log_level), 0, 0, "debug, info, warn, error or off"},
  {"gateway.mock_kafka", KT_BOOL, "false", OFF(kafka_mock), 0, 0,
   "use librdkafka's in-process mock cluster instead of a broker (development only)"},
  {"http.listen", KT_STR, "0.0.0.0:8443", OFF(listen), 0, 0, "ADDR:PORT to listen on ([::]:PORT for IPv6)"},
  {"http.plain", KT_BOOL, "false", OFF(plain_http), 0, 0, "serve plain HTTP without TLS; only for local development"},
  {"http.max_body", KT_SIZE, "8MiB", OFF(max_body), 1024, 1024UL * 1024 * 1024, "largest accepted body; larger get 413"},
  {"http.max_header_bytes", KT_SIZE, "16KiB", OFF(max_header_bytes), 1024, 1024 * 1024, "largest request head; larger get 431"},
  {"http.header_timeout_ms", KT_UINT, "10000", OFF(header_timeout_ms), 100, 600000, "time allowed to send a request head"},
  {"http.body_timeout_ms", KT_UINT, "30000", OFF(body_timeout_ms), 100, 3600000, "time allowed to send a body"},
  {"http.idle_timeout_ms", KT_UINT, "60000", OFF(idle_timeout_ms), 100, 3600000, "keep-alive idle time before the gateway closes"},
  {"http.reuseport", KT_BOOL, "false", OFF(reuseport), 0, 0, "SO_REUSEPORT, to run one process per core"},
  {"tls.cert", KT_PATH, NULL, OFF(tls_cert), 0, 0, "server certificate chain (PEM)"},
  {"tls.key", KT_PATH, NULL, OFF(tls_key), 0, 0, "server private key (PEM)"},
  {"tls.client_ca", KT_PATH, NULL, OFF(tls_client_ca), 0, 0, "CA bundle for client certificates; set it to turn on mutual TLS"},
  {"tls.require_client_cert", KT_BOOL, "true", OFF(tls_require_client_cert), 0, 0,
   "with client_ca: refuse clients that present no certificate"},
  {"signing.key", KT_PATH, NULL, OFF(sign_key), 0, 0, "the gateway's XMLDSig signing key (PEM); never logged"},
  {"signing.cert", KT_PATH, NULL, OFF(sign_cert), 0, 0, "certificate of the signing key (PEM), put in KeyInfo"},
  {"signing.algorithm", KT_STR, "ecdsa-p256", OFF(sign_algorithm), 0, 0, "ecdsa-p256 or rsa-2048; must match the key"},
  {"pipeline.workers", KT_UINT, "0", OFF(workers), 0, 128,
   "threads for parse, validate and sign (libuv thread pool); 0: one per core (more only made a 2-core machine slower)"},
  {"pipeline.large_message", KT_SIZE, "64KiB", OFF(large_message), 1024, 1024UL * 1024 * 1024,
   "messages at least this big use at most workers-1 worker threads at once, so small ones never wait behind them"},
  {"pipeline.produce_timeout_ms", KT_UINT, "5000", OFF(produce_timeout_ms), 100, 600000,
   "how long Kafka may take to acknowledge before the client gets 503"},
  {"pipeline.retry_after_s", KT_UINT, "5", OFF(retry_after_s), 1, 3600, "Retry-After sent with 503"},
  {"pipeline.max_inflight", KT_UINT, "10000", OFF(max_inflight), 1, 1000000,
   "messages in processing at once; more get 503 at once"},
  {"access.anonymous_role", KT_STR, "none", OFF(anon_role), 0, 0,
   "role of a client without a certificate: none (refused with 401), customs-system, trader, inspector, admin"},
  {"access.anonymous_reader", KT_STR, "none", OFF(anon_reader), 0, 0,
   "role of a client without a certificate when it reads status (GET /v1/..., the inspector page): none (401) or a "
   "role; --dev uses admin"},
  {"access.rate_limit", KT_UINT, "200", OFF(rate_limit), 0, 1000000,
   "messages per second per identity (certificate subject, or address without one); 0 = no limit; over it: 429"},
  {"access.burst", KT_UINT, "400", OFF(rate_burst), 1, 10000000, "messages an identity may send at once before the rate applies"},
  {"access.replay_window_s", KT_UINT, "86400", OFF(replay_window_s), 1, 30 * 86400,
   "how long a client's X-Message-Id is remembered: a repeat gets the first answer, another body 409"},
  {"access.replay_entries", KT_UINT, "100000", OFF(replay_entries), 1, 100000000, "message ids remembered at most"},
  {"trust.require_signature", KT_STR, "", OFF(require_signature), 0, 0,
   "kinds of document that must carry a valid XMLDSig signature of the sending country (comma-separated: "
   "declaration, response, sps_certificate, sps_acknowledgement; or all); signed documents are always verified"},
  {"trust.crl_policy", KT_STR, "soft", OFF(crl_policy), 0, 0,
   "soft: a signer whose issuing CA has no CRL in the trust store is accepted; hard: refused"},
  {"ingest.enabled", KT_BOOL, "true", OFF(ingest_enabled), 0, 0,
   "consume <prefix>.in (national systems publish there) as the consumer group <prefix>.ingest.<country>"},
  {"ingest.topic", KT_STR, "", OFF(ingest_topic), 0, 0,
   "the topic ingest consumes (results go to <topic>.results); empty: <prefix>.in. Countries sharing one "
   "cluster and prefix each need their own (lmcgw.in.VN), or one's records would be processed by the other too"},
  {"ingest.batch", KT_UINT, "100", OFF(ingest_batch), 1, 10000,
   "records per Kafka transaction (routed messages, dead letters, results and offsets commit together)"},
  {"routing.topic_prefix", KT_STR, "lmcgw", OFF(topic_prefix), 0, 0, "prefix of every Kafka topic"},
  {"delivery.enabled", KT_AUTO, "auto", OFF(delivery_enabled), 0, 0,
   "deliver what arrives for this country (<prefix>.<country>.<type>) to countries.<country>.endpoint; "
   "auto: when that endpoint is set"},
  {"delivery.cert", KT_PATH, NULL, OFF(delivery_cert), 0, 0,
   "client certificate chain (PEM) presented to the national endpoint; default tls.cert"},
  {"delivery.key", KT_PATH, NULL, OFF(delivery_key), 0, 0, "key of delivery.cert (PEM); default tls.key"},
  {"delivery.ca", KT_PATH, NULL, OFF(delivery_ca), 0, 0, "CA bundle verifying the national endpoint; required for https"},
  {"delivery.allow_http", KT_BOOL, "false", OFF(delivery_allow_http), 0, 0,
   "accept an http:// endpoint (documents travel unencrypted: test setups only)"},
  {"delivery.timeout_ms", KT_UINT, "10000", OFF(delivery_timeout_ms), 100, 300000,
   "time one delivery attempt may take: connect, TLS, send, answer"},
  {"delivery.retry_initial_ms", KT_UINT, "500", OFF(delivery_retry_initial_ms), 1, 600000,
   "backoff before the first retry (exponential, full jitter)"},
  {"delivery.retry_max_ms", KT_UINT, "30000", OFF(delivery_retry_max_ms), 1, 600000, "largest backoff between retries"},
  {"delivery.deadline_s", KT_UINT, "3600", OFF(delivery_deadline_s), 1, 30 * 86400,
   "a record not delivered this long after its first attempt goes to <prefix>.dlq"},
  {"delivery.breaker_failures", KT_UINT, "5", OFF(delivery_breaker_failures), 1, 1000,
   "consecutive failed attempts that open the circuit breaker (no requests while open)"},
  {"delivery.breaker_open_ms", KT_UINT, "30000", OFF(delivery_breaker_open_ms), 1, 3600000,
   "how long the breaker stays open before one trial request"},
  {"delivery.workers", KT_UINT, "1", OFF(delivery_workers), 1, 64,
   "consumers (threads) delivering in parallel; each keeps partition order"},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(N_KEYS <= sizeof(((gw_config *)0)->key_line) / sizeof(long), "grow gw_config.key_line");

/* ---- diagnostics -------------------------------------------------------- */

static void diag(gw_config_diags *d, long line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void diag(gw_config_diags *d, long line, const char *key, const char *fmt, ...) {
  if (!d) return;
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 8;
    gw_config_diag *n = realloc(d->items, cap * sizeof(*n));
    if (!n) return;
    d->items = n;
    d->cap = cap;
  }
  gw_config_diag *x = &d->items[d->n++];
  x->line = line;
  snprintf(x->key, sizeof(x->key), "%s", key ? key : "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->msg, sizeof(x->msg), fmt, ap);
  va_end(ap);
}

void gw_config_diags_free(gw_config_diags *d) {
  free(d->items);
  memset(d, 0, sizeof(*d));
}

/* ---- values ------------------------------------------------------------- */

static char **str_at(gw_config *c, size_t off) { return (char **)((char *)c + off); }

static int parse_bool(const char *s, int *out) {
  if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "on") || !strcmp(s, "1")) {
    *out = 1;
    return 0;
  }
  if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcasecmp(s, "off") || !strcmp(s, "0")) {
    *out = 0;
    return 0;
  }
  return -1;
}

/* Sizes accept B, KiB, MiB, GiB (and K/M/G, KB/MB/GB as the same binary units). */
static int parse_size(const char *s, unsigned long long *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *s == '-') return -1;
  while (*end == ' ') end++;
  unsigned long long mul = 1;
  if (!*end || !strcasecmp(end, "b")) mul = 1;
  else if (!strcasecmp(end, "k") || !strcasecmp(end, "kb") || !strcasecmp(end, "kib")) mul = 1024ULL;
  else if (!strcasecmp(end, "m") || !strcasecmp(end, "mb") || !strcasecmp(end, "mib")) mul = 1024ULL * 1024;
  else if (!strcasecmp(end, "g") || !strcasecmp(end, "gb") || !strcasecmp(end, "gib")) mul = 1024ULL * 1024 * 1024;
  else return -1;
  if (v > ULLONG_MAX / mul) return -1;
  *out = v * mul;
  return 0;
}

static char *resolve_path(const char *base, const char *p) {
  if (!p) return NULL;
  if (p[0] == '/' || !base || !*base) return strdup(p);
  size_t n = strlen(base) + strlen(p) + 2;
  char *r = malloc(n);
  if (r) snprintf(r, n, "%s/%s", base, p);
  return r;
}

/* Sets one table key from text; reports a diag and leaves the value alone when
 * the text is not of the key's type. */
static int set_key(gw_config *c, const key_def *k, const char *v, long line, gw_config_diags *d) {
  c->key_line[k - keys] = line;
  switch (k->type) {
  case KT_STR:
  case KT_PATH: {
    char *n = k->type == KT_PATH ? resolve_path(c->base_dir, v) : strdup(v);
    if (!n) return GW_ENOMEM;
    free(*str_at(c, k->off));
    *str_at(c, k->off) = n;
    return 0;
  }
  case KT_AUTO:
    if (!strcasecmp(v, "auto")) {
      *(int *)((char *)c + k->off) = -1;
      return 0;
    }
    /* fall through */
  case KT_BOOL: {
    int b;
    if (parse_bool(v, &b)) {
      diag(d, line, k->name, "'%s' is not a boolean (true or false%s)", v, k->type == KT_AUTO ? " or auto" : "");
      return GW_ECONFIG;
    }
    *(int *)((char *)c + k->off) = b;
    return 0;
  }
  case KT_UINT:
  case KT_SIZE: {
    unsigned long long x;
    char *end = NULL;
    int bad;
    if (k->type == KT_SIZE) {
      bad = parse_size(v, &x);
    } else {
      errno = 0;
      x = strtoull(v, &end, 10);
      bad = errno || end == v || *end || *v == '-';
    }
    if (bad) {
      diag(d, line, k->name, "'%s' is not a %s", v,
           k->type == KT_SIZE ? "size (a number with an optional KiB, MiB or GiB)" : "whole number");
      return GW_ECONFIG;
    }
    if (x < k->min || x > k->max) {
      diag(d, line, k->name, "%llu is out of range (%lu to %lu)", x, k->min, k->max);
      return GW_ECONFIG;
    }
    if (k->type == KT_SIZE) *(size_t *)((char *)c + k->off) = (size_t)x;
    else *(unsigned *)((char *)c + k->off) = (unsigned)x;
    return 0;
  }
  }
  return GW_EINVAL;
}

static const key_def *find_key(const char *name) {
  for (size_t i = 0; i < N_KEYS; i++)
    if (!strcmp(keys[i].name, name)) return &keys[i];
  return NULL;
}

static int kv_set(gw_kv **arr, size_t *n, const char *k, const char *v) {
  for (size_t i = 0; i < *n; i++) {
    if (!strcmp((*arr)[i].key, k)) {
      char *nv = strdup(v);
      if (!nv) return GW_ENOMEM;
      free((*arr)[i].value);
      (*arr)[i].value = nv;
      return 0;
    }
  }
  gw_kv *na = realloc(*arr, (*n + 1) * sizeof(**arr));
  if (!na) return GW_ENOMEM;
  *arr = na;
  na[*n].key = strdup(k);
  na[*n].value = strdup(v);
  if (!na[*n].key || !na[*n].value) return GW_ENOMEM;
  (*n)++;
  return 0;
}

const char *const gw_kind_names[GW_K_COUNT] = {"declaration", "response", "sps_certificate", "sps_acknowledgement",
                                                "certificate_of_origin"};

int gw_kind_index(const char *kind) {
  for (int i = 0; kind && i < GW_K_COUNT; i++)
    if (!strcmp(kind, gw_kind_names[i])) return i;
  return -1;
}

int gw_format_listed(const char *list, const char *format) {
  size_t k = strlen(format);
  for (const char *s = list; s && *s;) {
    while (*s == ' ' || *s == ',') s++;
    size_t l = strcspn(s, ", ");
    if (l == k && !strncmp(s, format, k)) return 1;
    s += l;
  }
  return 0;
}

/* The built-in country profiles: an illustration of what each participant's
 * national systems speak, not a statement about any agency. KH and LA run
 * ASYCUDA World; MM and VN exchange UN/EDIFACT; TH and CN WCO XML; SPS
 * certificates travel as the UN/CEFACT SPS Certificate (ePhyto) everywhere.
 * Responses go out in a format that carries them (ASYCUDA XML does not).
 * Certificates of origin (Form E) have no national XML format here: the
 * portal JSON carries them. */
static const struct {
  const char *code, *sends[GW_K_COUNT], *receives[GW_K_COUNT];
} default_profiles[] = {
    {"CN", {"wco-dec,json", "wco-dec,json", "sps,json", "sps", "json"}, {"wco-dec", "wco-dec", "sps", "sps", "json"}},
    {"KH", {"asycuda,json", "cusdec", "sps", "sps", "json"}, {"asycuda", "cusdec", "sps", "sps", "json"}},
    {"LA", {"asycuda,json", "cusdec", "sps", "sps", "json"}, {"asycuda", "cusdec", "sps", "sps", "json"}},
    {"MM", {"cusdec,json", "cusdec", "sps", "sps", "json"}, {"cusdec", "cusdec", "sps", "sps", "json"}},
    {"TH", {"wco-dec,json", "wco-dec", "sps,json", "sps", "json"}, {"wco-dec", "wco-dec", "sps", "sps", "json"}},
    {"VN", {"cusdec,json", "cusdec", "sps", "sps", "json"}, {"cusdec", "cusdec", "sps", "sps", "json"}},
};

static gw_country_profile *country_slot(gw_config *c, const char *code) {
  for (size_t i = 0; i < c->n_countries; i++)
    if (!strcmp(c->countries[i].code, code)) return &c->countries[i];
  if (c->n_countries == GW_MAX_COUNTRIES) return NULL;
  gw_country_profile *p = &c->countries[c->n_countries++];
  memset(p, 0, sizeof(*p));
  snprintf(p->code, sizeof(p->code), "%s", code);
  return p;
}

static void defaults(gw_config *c) {
  for (size_t i = 0; i < N_KEYS; i++)
    if (keys[i].def) set_key(c, &keys[i], keys[i].def, 0, NULL);
  for (size_t i = 0; i < sizeof(default_profiles) / sizeof(default_profiles[0]); i++) {
    gw_country_profile *p = country_slot(c, default_profiles[i].code);
    for (int k = 0; p && k < GW_K_COUNT; k++) {
      p->sends[k] = strdup(default_profiles[i].sends[k]);
      p->receives[k] = strdup(default_profiles[i].receives[k]);
    }
    if (p) {
      char dir[32];
      snprintf(dir, sizeof(dir), "certs/%s", p->code);
      p->trust_store = strdup(dir);
    }
  }
}

const gw_country_profile *gw_config_country(const gw_config *cfg, const char *code) {
  for (size_t i = 0; code && i < cfg->n_countries; i++)
    if (!strcmp(cfg->countries[i].code, code)) return &cfg->countries[i];
  return NULL;
}

/* ---- YAML --------------------------------------------------------------- */

static const char *scalar(yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}
static long line_of(yaml_node_t *n) { return n ? (long)n->start_mark.line + 1 : 0; }

static void load_schema(gw_config *c, yaml_document_t *doc, yaml_node_t *item, gw_config_diags *d) {
  if (item->type != YAML_MAPPING_NODE) {
    diag(d, line_of(item), "schemas", "each schema must be a mapping (root, namespace, xsd)");
    return;
  }
  gw_schema_cfg *na = realloc(c->schemas, (c->n_schemas + 1) * sizeof(*na));
  if (!na) return;
  c->schemas = na;
  gw_schema_cfg *s = &na[c->n_schemas++];
  memset(s, 0, sizeof(*s));
  s->line = line_of(item);
  for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
    yaml_node_t *kn = yaml_document_get_node(doc, p->key), *vn = yaml_document_get_node(doc, p->value);
    const char *k = scalar(kn);
    const char *v = scalar(vn);
    if (!k || !v) {
      diag(d, line_of(kn), "schemas", "keys and values of a schema entry must be plain text");
      continue;
    }
    char **dst = NULL;
    if (!strcmp(k, "root")) dst = &s->root;
    else if (!strcmp(k, "namespace")) dst = &s->ns;
    else if (!strcmp(k, "xsd")) {
      free(s->xsd);
      s->xsd = resolve_path(c->base_dir, v);
      continue;
    } else {
      diag(d, line_of(kn), "schemas", "unknown key '%s' (root, namespace, xsd; where the UCR and destination are comes from the adapter)", k);
      continue;
    }
    free(*dst);
    *dst = strdup(v);
  }
}

static void load_adapter(gw_config *c, yaml_document_t *doc, yaml_node_t *item, gw_config_diags *d) {
  if (item->type != YAML_MAPPING_NODE) {
    diag(d, line_of(item), "adapters", "each adapter must be a mapping (name, plugin | root, namespace, ...)");
    return;
  }
  gw_adapter_cfg *na = realloc(c->adapters, (c->n_adapters + 1) * sizeof(*na));
  if (!na) return;
  c->adapters = na;
  gw_adapter_cfg *a = &na[c->n_adapters++];
  memset(a, 0, sizeof(*a));
  a->line = line_of(item);
  for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
    yaml_node_t *kn = yaml_document_get_node(doc, p->key), *vn = yaml_document_get_node(doc, p->value);
    const char *k = scalar(kn), *v = scalar(vn);
    if (!k || !v) {
      diag(d, line_of(kn), "adapters", "keys and values of an adapter entry must be plain text");
      continue;
    }
    char **dst = NULL;
    int path = 0;
    if (!strcmp(k, "name")) dst = &a->name;
    else if (!strcmp(k, "plugin")) dst = &a->plugin, path = 1;
    else if (!strcmp(k, "kind")) dst = &a->kind;
    else if (!strcmp(k, "root")) dst = &a->root;
    else if (!strcmp(k, "namespace")) dst = &a->ns;
    else if (!strcmp(k, "xsd")) dst = &a->xsd, path = 1;
    else if (!strcmp(k, "to_canonical")) dst = &a->to_canonical, path = 1;
    else if (!strcmp(k, "from_canonical")) dst = &a->from_canonical, path = 1;
    else if (!strcmp(k, "media_type")) dst = &a->media_type;
    else {
      diag(d, line_of(kn), "adapters",
           "unknown key '%s' (name, plugin, kind, root, namespace, xsd, to_canonical, from_canonical, media_type)", k);
      continue;
    }
    free(*dst);
    *dst = path ? resolve_path(c->base_dir, v) : strdup(v);
  }
}

static void load_country(gw_config *c, yaml_document_t *doc, const char *code, yaml_node_t *vn, gw_config_diags *d) {
  if (!gw_country_code_ok(code)) {
    diag(d, line_of(vn), "countries", "'%s' is not an ISO 3166-1 alpha-2 code", code);
    return;
  }
  if (!vn || vn->type != YAML_MAPPING_NODE) {
    diag(d, line_of(vn), "countries", "%s must be a mapping (sends, receives, endpoint, trust_store)", code);
    return;
  }
  gw_country_profile *pr = country_slot(c, code);
  if (!pr) {
    diag(d, line_of(vn), "countries", "more than %d countries", GW_MAX_COUNTRIES);
    return;
  }
  pr->line = line_of(vn);
  for (yaml_node_pair_t *p = vn->data.mapping.pairs.start; p < vn->data.mapping.pairs.top; p++) {
    yaml_node_t *kn = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);
    const char *k = scalar(kn);
    char key[64];
    snprintf(key, sizeof(key), "countries.%s.%s", code, k ? k : "?");
    if (k && (!strcmp(k, "sends") || !strcmp(k, "receives"))) {
      int sends = !strcmp(k, "sends");
      if (!v || v->type != YAML_MAPPING_NODE) {
        diag(d, line_of(v), key, "must map document kinds (declaration, response, sps_certificate, sps_acknowledgement) to formats");
        continue;
      }
      for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
        yaml_node_t *kk = yaml_document_get_node(doc, q->key), *vv = yaml_document_get_node(doc, q->value);
        int ki = gw_kind_index(scalar(kk));
        if (ki < 0) {
          diag(d, line_of(kk), key, "unknown document kind '%s' (declaration, response, sps_certificate, sps_acknowledgement)",
               scalar(kk) ? scalar(kk) : "?");
          continue;
        }
        char list[256] = "";
        if (vv && vv->type == YAML_SEQUENCE_NODE && sends) {
          for (yaml_node_item_t *it = vv->data.sequence.items.start; it < vv->data.sequence.items.top; it++) {
            const char *f = scalar(yaml_document_get_node(doc, *it));
            if (f) snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", *list ? "," : "", f);
          }
        } else if (scalar(vv)) {
          snprintf(list, sizeof(list), "%s", scalar(vv));
        } else {
          diag(d, line_of(vv), key, "%s", sends ? "expected a format or a list of formats" : "expected one format");
          continue;
        }
        char **slot = sends ? &pr->sends[ki] : &pr->receives[ki];
        free(*slot);
        *slot = strdup(list);
      }
      continue;
    }
    const char *val = scalar(v);
    if (!k || !val) {
      diag(d, line_of(kn), key, "expected a plain value");
    } else if (!strcmp(k, "endpoint")) {
      free(pr->endpoint);
      pr->endpoint = strdup(val);
    } else if (!strcmp(k, "trust_store")) {
      free(pr->trust_store);
      pr->trust_store = resolve_path(c->base_dir, val);
    } else {
      diag(d, line_of(kn), key, "unknown key '%s' (sends, receives, endpoint, trust_store)", k);
    }
  }
}

static void load_yaml(gw_config *c, yaml_document_t *doc, gw_config_diags *d) {
  yaml_node_t *root = yaml_document_get_root_node(doc);
  if (!root) return; /* empty file: all defaults */
  if (root->type != YAML_MAPPING_NODE) {
    diag(d, line_of(root), "", "the file must be a mapping of sections (gateway, http, tls, ...)");
    return;
  }
  for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
    yaml_node_t *kn = yaml_document_get_node(doc, p->key), *vn = yaml_document_get_node(doc, p->value);
    const char *sec = scalar(kn);
    if (!sec) {
      diag(d, line_of(kn), "", "section names must be plain text");
      continue;
    }
    if (!strcmp(sec, "schemas")) {
      if (!vn || vn->type != YAML_SEQUENCE_NODE) {
        diag(d, line_of(vn), "schemas", "must be a list");
        continue;
      }
      for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top; it++)
        load_schema(c, doc, yaml_document_get_node(doc, *it), d);
      continue;
    }
    if (!strcmp(sec, "adapters")) {
      if (!vn || vn->type != YAML_SEQUENCE_NODE) {
        diag(d, line_of(vn), "adapters", "must be a list");
        continue;
      }
      for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top; it++)
        load_adapter(c, doc, yaml_document_get_node(doc, *it), d);
      continue;
    }
    if (!vn || vn->type != YAML_MAPPING_NODE) {
      diag(d, line_of(vn), sec, "section '%s' must be a mapping of keys", sec);
      continue;
    }
    if (!strcmp(sec, "countries")) {
      for (yaml_node_pair_t *q = vn->data.mapping.pairs.start; q < vn->data.mapping.pairs.top; q++) {
        const char *code = scalar(yaml_document_get_node(doc, q->key));
        load_country(c, doc, code ? code : "?", yaml_document_get_node(doc, q->value), d);
      }
      continue;
    }
    int is_kafka = !strcmp(sec, "kafka");
    int known_section = is_kafka;
    for (size_t i = 0; i < N_KEYS && !known_section; i++)
      if (!strncmp(keys[i].name, sec, strlen(sec)) && keys[i].name[strlen(sec)] == '.') known_section = 1;
    if (!known_section) {
      diag(d, line_of(kn), sec, "unknown section '%s' (gateway, http, tls, signing, pipeline, access, trust, routing, delivery, kafka, schemas, adapters, countries)", sec);
      continue;
    }
    for (yaml_node_pair_t *q = vn->data.mapping.pairs.start; q < vn->data.mapping.pairs.top; q++) {
      yaml_node_t *kk = yaml_document_get_node(doc, q->key), *vv = yaml_document_get_node(doc, q->value);
      const char *k = scalar(kk), *v = scalar(vv);
      char full[160];
      snprintf(full, sizeof(full), "%s.%s", sec, k ? k : "?");
      if (!k || !v) {
        diag(d, line_of(kk), full, "expected a plain value");
        continue;
      }
      if (is_kafka) {
        kv_set(&c->kafka, &c->n_kafka, k, v);
        continue;
      }
      const key_def *kd = find_key(full);
      if (!kd) {
        diag(d, line_of(kk), full, "unknown key '%s'", full);
        continue;
      }
      set_key(c, kd, v, line_of(vv), d);
    }
  }
}

/* LMCGW_HTTP_LISTEN=... overrides http.listen; LMCGW_KAFKA_BOOTSTRAP_SERVERS=...
 * sets kafka bootstrap.servers (underscores become dots). */
static void env_overrides(gw_config *c, gw_config_diags *d) {
  for (size_t i = 0; i < N_KEYS; i++) {
    char env[96] = "LMCGW_";
    size_t n = 6;
    for (const char *s = keys[i].name; *s && n + 1 < sizeof(env); s++)
      env[n++] = *s == '.' ? '_' : (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
    env[n] = 0;
    const char *v = getenv(env);
    if (v) set_key(c, &keys[i], v, 0, d);
  }
  extern char **environ;
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "LMCGW_KAFKA_", 12)) continue;
    const char *eq = strchr(*e, '=');
    if (!eq) continue;
    char k[128];
    size_t n = 0;
    for (const char *s = *e + 12; s < eq && n + 1 < sizeof(k); s++)
      k[n++] = *s == '_' ? '.' : (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
    k[n] = 0;
    kv_set(&c->kafka, &c->n_kafka, k, eq + 1);
  }
}

int gw_country_code_ok(const char *s) {
  return s && strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

static const key_def *find_key(const char *name);

/* The line a key was set on, so whole-configuration checks point at it too. */
static long L(const gw_config *c, const char *name) {
  const key_def *k = find_key(name);
  return k ? c->key_line[k - keys] : 0;
}

static void need_file(const gw_config *c, gw_config_diags *d, const char *key, const char *path) {
  if (path && access(path, R_OK) != 0)
    diag(d, L(c, key), key, "cannot read '%s': %s", path, strerror(errno));
}

static const char *kafka_get(const gw_config *c, const char *k) {
  for (size_t i = 0; i < c->n_kafka; i++)
    if (!strcmp(c->kafka[i].key, k)) return c->kafka[i].value;
  return NULL;
}

/* Checks that need the whole configuration. Lines are not known here; the key
 * names the place. */
static void check_adapters(gw_config *c, gw_config_diags *d);
static void check_countries(gw_config *c, gw_config_diags *d);
static void check_delivery(gw_config *c, gw_config_diags *d);

static void check(gw_config *c, gw_config_diags *d) {
  if (!gw_country_code_ok(c->country))
    diag(d, L(c, "gateway.country"), "gateway.country", c->country ? "'%s' is not an ISO 3166-1 alpha-2 code" : "is required%s",
         c->country ? c->country : "");
  if (gw_log_level_parse(c->log_level) < 0)
    diag(d, L(c, "gateway.log_level"), "gateway.log_level", "'%s' is not one of debug, info, warn, error, off", c->log_level);
  const char *colon = c->listen ? strrchr(c->listen, ':') : NULL;
  if (!colon || colon == c->listen || !colon[1] || atoi(colon + 1) < 0 || atoi(colon + 1) > 65535)
    diag(d, L(c, "http.listen"), "http.listen", "'%s' is not ADDR:PORT", c->listen ? c->listen : "");
  if (!c->plain_http) {
    if (!c->tls_cert) diag(d, L(c, "tls.cert"), "tls.cert", "is required unless http.plain is true");
    if (!c->tls_key) diag(d, L(c, "tls.key"), "tls.key", "is required unless http.plain is true");
    need_file(c, d, "tls.cert", c->tls_cert);
    need_file(c, d, "tls.key", c->tls_key);
    need_file(c, d, "tls.client_ca", c->tls_client_ca);
  } else if (c->tls_client_ca) {
    diag(d, L(c, "tls.client_ca"), "tls.client_ca", "mutual TLS needs TLS: http.plain must be false");
  }
  if (!c->sign_key) diag(d, L(c, "signing.key"), "signing.key", "is required");
  if (!c->sign_cert) diag(d, L(c, "signing.cert"), "signing.cert", "is required");
  need_file(c, d, "signing.key", c->sign_key);
  need_file(c, d, "signing.cert", c->sign_cert);
  if (strcmp(c->sign_algorithm, "ecdsa-p256") && strcmp(c->sign_algorithm, "rsa-2048"))
    diag(d, L(c, "signing.algorithm"), "signing.algorithm", "'%s' is not ecdsa-p256 or rsa-2048", c->sign_algorithm);
  if (!c->kafka_mock && !kafka_get(c, "bootstrap.servers"))
    diag(d, L(c, "kafka.bootstrap.servers"), "kafka.bootstrap.servers", "is required (or gateway.mock_kafka: true for development)");
  for (const char *s = c->topic_prefix; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
          *s == '_' || *s == '-')) {
      diag(d, L(c, "routing.topic_prefix"), "routing.topic_prefix", "'%s' has a character Kafka topic names cannot carry", c->topic_prefix);
      break;
    }
  {
    static const char *const roles[] = {"none", "customs-system", "trader", "inspector", "admin"};
    int ok = 0;
    int ok2 = 0;
    for (size_t i = 0; i < 5; i++) ok |= !strcmp(c->anon_role, roles[i]), ok2 |= !strcmp(c->anon_reader, roles[i]);
    if (!ok)
      diag(d, L(c, "access.anonymous_role"), "access.anonymous_role",
           "'%s' is not none, customs-system, trader, inspector or admin", c->anon_role);
    if (!ok2)
      diag(d, L(c, "access.anonymous_reader"), "access.anonymous_reader",
           "'%s' is not none, customs-system, trader, inspector or admin", c->anon_reader);
  }
  if (strcmp(c->crl_policy, "soft") && strcmp(c->crl_policy, "hard"))
    diag(d, L(c, "trust.crl_policy"), "trust.crl_policy", "'%s' is neither soft nor hard", c->crl_policy);
  for (const char *s = c->require_signature; *s;) {
    while (*s == ' ' || *s == ',') s++;
    size_t l = strcspn(s, ", ");
    if (!l) break;
    int ok = l == 3 && !strncmp(s, "all", 3);
    for (int k = 0; k < GW_K_COUNT; k++) ok |= strlen(gw_kind_names[k]) == l && !strncmp(s, gw_kind_names[k], l);
    if (!ok)
      diag(d, L(c, "trust.require_signature"), "trust.require_signature",
           "'%.*s' is not a kind of document (declaration, response, sps_certificate, sps_acknowledgement) nor all", (int)l, s);
    s += l;
  }
  for (size_t i = 0; i < c->n_schemas; i++) {
    gw_schema_cfg *s = &c->schemas[i];
    const char *miss = !s->root ? "root" : !s->ns ? "namespace" : !s->xsd ? "xsd" : NULL;
    if (miss) diag(d, s->line, "schemas", "entry is missing '%s'", miss);
    else if (access(s->xsd, R_OK) != 0)
      diag(d, s->line, "schemas.xsd", "cannot read '%s': %s", s->xsd, strerror(errno));
    for (size_t j = 0; j < i; j++)
      if (s->root && s->ns && c->schemas[j].root && c->schemas[j].ns && !strcmp(s->root, c->schemas[j].root) &&
          !strcmp(s->ns, c->schemas[j].ns))
        diag(d, s->line, "schemas", "{%s}%s is configured twice (first at line %ld)", s->ns, s->root,
             c->schemas[j].line);
  }
  check_adapters(c, d);
  check_countries(c, d);
  check_delivery(c, d);
}

/* The formats the binary has built in; configured adapters add theirs. */
static const char *const builtin_formats[] = {"wco-dec", "sps", "cusdec", "asycuda", "json", NULL};

static int format_known(const gw_config *c, const char *f) {
  for (const char *const *b = builtin_formats; *b; b++)
    if (!strcmp(*b, f)) return 1;
  for (size_t i = 0; i < c->n_adapters; i++)
    if (c->adapters[i].name && !strcmp(c->adapters[i].name, f)) return 1;
  return 0;
}

static void check_adapters(gw_config *c, gw_config_diags *d) {
  for (size_t i = 0; i < c->n_adapters; i++) {
    gw_adapter_cfg *a = &c->adapters[i];
    if (!a->name) diag(d, a->line, "adapters", "entry has no name");
    if (a->plugin) {
      if (a->root || a->to_canonical || a->from_canonical)
        diag(d, a->line, "adapters", "'%s': plugin excludes root/to_canonical/from_canonical", a->name ? a->name : "?");
      need_file(c, d, "adapters.plugin", a->plugin);
      continue;
    }
    const char *miss = !a->kind ? "kind" : !a->root ? "root" : !a->ns ? "namespace" : !a->to_canonical ? "to_canonical"
                     : !a->from_canonical ? "from_canonical" : NULL;
    if (miss) {
      diag(d, a->line, "adapters", "'%s' is missing '%s' (or 'plugin')", a->name ? a->name : "?", miss);
      continue;
    }
    if (gw_kind_index(a->kind) < 0) diag(d, a->line, "adapters.kind", "unknown document kind '%s'", a->kind);
    need_file(c, d, "adapters.to_canonical", a->to_canonical);
    need_file(c, d, "adapters.from_canonical", a->from_canonical);
    if (a->xsd) need_file(c, d, "adapters.xsd", a->xsd);
  }
}

static void check_countries(gw_config *c, gw_config_diags *d) {
  for (size_t i = 0; i < c->n_countries; i++) {
    gw_country_profile *p = &c->countries[i];
    for (int k = 0; k < GW_K_COUNT; k++) {
      char key[64];
      snprintf(key, sizeof(key), "countries.%s.sends.%s", p->code, gw_kind_names[k]);
      for (const char *s = p->sends[k]; s && *s;) {
        while (*s == ',' || *s == ' ') s++;
        size_t l = strcspn(s, ", ");
        char f[64];
        snprintf(f, sizeof(f), "%.*s", (int)l, s);
        if (l && !format_known(c, f)) diag(d, p->line, key, "unknown format '%s'", f);
        s += l;
      }
      snprintf(key, sizeof(key), "countries.%s.receives.%s", p->code, gw_kind_names[k]);
      if (p->receives[k] && !format_known(c, p->receives[k]))
        diag(d, p->line, key, "unknown format '%s'", p->receives[k]);
    }
    if (p->endpoint && strncmp(p->endpoint, "https://", 8) && strncmp(p->endpoint, "http://", 7))
      diag(d, p->line, "countries.endpoint", "%s: '%s' is not an http(s) URL", p->code, p->endpoint);
  }
}

static void check_delivery(gw_config *c, gw_config_diags *d) {
  const gw_country_profile *own = gw_config_country(c, c->country);
  const char *ep = own ? own->endpoint : NULL;
  int on = c->delivery_enabled < 0 ? ep != NULL : c->delivery_enabled;
  if (c->delivery_retry_max_ms < c->delivery_retry_initial_ms)
    diag(d, L(c, "delivery.retry_max_ms"), "delivery.retry_max_ms", "%u is less than delivery.retry_initial_ms (%u)",
         c->delivery_retry_max_ms, c->delivery_retry_initial_ms);
  if (!on) return;
  if (!ep) {
    diag(d, L(c, "delivery.enabled"), "delivery.enabled", "countries.%s.endpoint is not set: there is nowhere to deliver to",
         c->country ? c->country : "?");
    return;
  }
  char key[64];
  snprintf(key, sizeof(key), "countries.%s.endpoint", c->country);
  gw_delivery_url u;
  gw_error e = {0};
  if (gw_delivery_url_parse(ep, c->delivery_allow_http, &u, &e)) {
    diag(d, own->line, key, "%s", e.msg);
    return;
  }
  /* A consumer that does not poll within max.poll.interval.ms leaves the
   * group; the worker polls between attempts, so one attempt, one backoff
   * and one dead-letter try must fit with room to spare. */
  const char *mpi = kafka_get(c, "max.poll.interval.ms");
  unsigned long long need = 2ULL * ((unsigned long long)c->delivery_timeout_ms + c->delivery_retry_max_ms) + GW_DELIVERY_DLQ_TIMEOUT_MS;
  if (mpi && strtoull(mpi, NULL, 10) < need)
    diag(d, L(c, "kafka.max.poll.interval.ms"), "kafka.max.poll.interval.ms",
         "%s is too short for delivery: needs at least %llu (2 x (delivery.timeout_ms + delivery.retry_max_ms) + %u)", mpi,
         need, GW_DELIVERY_DLQ_TIMEOUT_MS);
  if (!u.https) return;
  if (!c->delivery_ca) diag(d, L(c, "delivery.ca"), "delivery.ca", "is required to verify %s", ep);
  need_file(c, d, "delivery.ca", c->delivery_ca);
  if (c->delivery_cert || c->delivery_key) {
    if (!c->delivery_key) diag(d, L(c, "delivery.cert"), "delivery.key", "is required with delivery.cert");
    if (!c->delivery_cert) diag(d, L(c, "delivery.key"), "delivery.cert", "is required with delivery.key");
    need_file(c, d, "delivery.cert", c->delivery_cert);
    need_file(c, d, "delivery.key", c->delivery_key);
  } else if (!c->tls_cert || !c->tls_key) {
    diag(d, L(c, "delivery.cert"), "delivery.cert",
         "the national endpoint takes mutual TLS: set delivery.cert and delivery.key (or tls.cert and tls.key)");
  }
}

/* Applies the environment, checks the whole, and turns the first problem since
 * `before` into err. */
static int finish(gw_config *c, gw_config_diags *d, size_t before, gw_error *err) {
  env_overrides(c, d);
  if (!c->workers) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    c->workers = n < 1 ? 1 : n > 128 ? 128 : (unsigned)n;
  }
  check(c, d);
  if (d->n == before) return 0;
  gw_config_diag *x = &d->items[before];
  GW_ERR(err, GW_ECONFIG, "%s:%ld: %s%s%s", c->source, x->line, x->key, *x->key ? ": " : "", x->msg);
  if (err) {
    err->line = x->line;
    snprintf(err->path, sizeof(err->path), "%s", x->key);
  }
  return GW_ECONFIG;
}

int gw_config_load(gw_config *c, const char *path, gw_config_diags *diags, gw_error *err) {
  memset(c, 0, sizeof(*c));
  c->source = strdup(path);
  char *slash = strrchr(path, '/');
  c->base_dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
  if (!c->source || !c->base_dir) return GW_ERR(err, GW_ENOMEM, "out of memory");
  if (!*c->base_dir) {
    free(c->base_dir);
    c->base_dir = strdup("/");
  }
  defaults(c);
  FILE *f = fopen(path, "rb");
  if (!f) return GW_ERR(err, GW_ECONFIG, "cannot open config '%s': %s", path, strerror(errno));
  yaml_parser_t parser;
  yaml_document_t doc;
  yaml_parser_initialize(&parser);
  yaml_parser_set_input_file(&parser, f);
  int ok = yaml_parser_load(&parser, &doc);
  fclose(f);
  if (!ok) {
    long line = (long)parser.problem_mark.line + 1;
    diag(diags, line, "", "YAML: %s", parser.problem ? parser.problem : "syntax error");
    GW_ERR(err, GW_ECONFIG, "%s:%ld: YAML: %s", path, line, parser.problem ? parser.problem : "syntax error");
    if (err) err->line = line;
    yaml_parser_delete(&parser);
    return GW_ECONFIG;
  }
  gw_config_diags local = {0};
  gw_config_diags *d = diags ? diags : &local;
  size_t before = d->n;
  load_yaml(c, &doc, d);
  yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  int rc = finish(c, d, before, err);
  gw_config_diags_free(&local);
  return rc;
}

const char *gw_config_data_dir(void) {
  const char *e = getenv("LMCGW_DATA_DIR");
  return e && *e ? e : LMCGW_SOURCE_DIR;
}

int gw_config_defaults(gw_config *c, const char *data_dir, gw_error *err) {
  memset(c, 0, sizeof(*c));
  c->source = strdup("(defaults)");
  c->base_dir = strdup(data_dir);
  if (!c->source || !c->base_dir) return GW_ERR(err, GW_ENOMEM, "out of memory");
  defaults(c);
  return 0;
}

int gw_config_dev(gw_config *c, const char *data_dir, const char *state_dir, gw_error *err) {
  memset(c, 0, sizeof(*c));
  c->source = strdup("(dev defaults)");
  c->base_dir = strdup(data_dir);
  if (!c->source || !c->base_dir) return GW_ERR(err, GW_ENOMEM, "out of memory");
  defaults(c);
  c->country = strdup("TH");
  free(c->listen);
  c->listen = strdup("127.0.0.1:8080");
  c->plain_http = 1;
  c->kafka_mock = 1;
  /* The dev gateway has no client certificates: let its demo act as a trader's portal. */
  free(c->anon_role);
  c->anon_role = strdup("trader");
  free(c->anon_reader);
  c->anon_reader = strdup("admin");
  free(c->state_dir);
  c->state_dir = strdup(state_dir);
  size_t n = strlen(state_dir) + 32;
  c->sign_key = malloc(n);
  c->sign_cert = malloc(n);
  if (!c->sign_key || !c->sign_cert) return GW_ERR(err, GW_ENOMEM, "out of memory");
  snprintf(c->sign_key, n, "%s/dev-signing.key", state_dir);
  snprintf(c->sign_cert, n, "%s/dev-signing.pem", state_dir);
  /* The dev key is created by the caller before the check, so only the
   * environment and the shape are checked here. */
  gw_config_diags d = {0};
  env_overrides(c, &d);
  int rc = 0;
  if (d.n) rc = GW_ERR(err, GW_ECONFIG, "environment: %s: %s", d.items[0].key, d.items[0].msg);
  gw_config_diags_free(&d);
  return rc;
}

int gw_config_check(gw_config *c, gw_config_diags *diags, gw_error *err) {
  gw_config_diags local = {0};
  gw_config_diags *d = diags ? diags : &local;
  size_t before = d->n;
  check(c, d);
  int rc = 0;
  if (d->n > before)
    rc = GW_ERR(err, GW_ECONFIG, "%s: %s: %s", c->source, d->items[before].key, d->items[before].msg);
  gw_config_diags_free(&local);
  return rc;
}

static void free_kv(gw_kv *a, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(a[i].key);
    free(a[i].value);
  }
  free(a);
}

void gw_config_free(gw_config *c) {
  if (!c) return;
  for (size_t i = 0; i < N_KEYS; i++)
    if (keys[i].type == KT_STR || keys[i].type == KT_PATH) free(*str_at(c, keys[i].off));
  free(c->source);
  free(c->base_dir);
  free_kv(c->kafka, c->n_kafka);
  for (size_t i = 0; i < c->n_schemas; i++) {
    gw_schema_cfg *s = &c->schemas[i];
    free(s->root);
    free(s->ns);
    free(s->xsd);
    free(s->doctype);
    free(s->format);
    free(s->ucr_xpath);
    free(s->dest_xpath);
    free_kv(s->ns_map, s->n_ns);
  }
  free(c->schemas);
  for (size_t i = 0; i < c->n_adapters; i++) {
    gw_adapter_cfg *a = &c->adapters[i];
    free(a->name), free(a->plugin), free(a->kind), free(a->root), free(a->ns), free(a->xsd);
    free(a->to_canonical), free(a->from_canonical), free(a->media_type);
  }
  free(c->adapters);
  for (size_t i = 0; i < c->n_countries; i++) {
    for (int k = 0; k < GW_K_COUNT; k++) free(c->countries[i].sends[k]), free(c->countries[i].receives[k]);
    free(c->countries[i].endpoint);
    free(c->countries[i].trust_store);
  }
  memset(c, 0, sizeof(*c));
}

void gw_config_print_keys(FILE *out) {
  for (size_t i = 0; i < N_KEYS; i++)
    fprintf(out, "  %-28s default %-14s %s\n", keys[i].name, keys[i].def ? keys[i].def : "(none)", keys[i].doc);
  fprintf(out, "  %-28s default %-14s %s\n", "kafka.*", "(none)",
          "passed to librdkafka as they are (bootstrap.servers is required)");
  fprintf(out, "  %-28s default %-14s %s\n", "schemas[]", "(built in)",
          "root, namespace, xsd: validate that root with this XSD instead (e.g. official schemas)");
  fprintf(out, "  %-28s default %-14s %s\n", "adapters[]", "(none)",
          "name + plugin (.so), or name, kind, root, namespace, xsd, to_canonical, from_canonical (XSLT)");
  fprintf(out, "  %-28s default %-14s %s\n", "countries.CC", "(built in)",
          "sends {kind: [formats]}, receives {kind: format}, endpoint, trust_store");
}
