/* lmcgw — configuration: one YAML file, every key documented with its default
 * in examples/lmcgw.yaml, plus LMCGW_* environment overrides.
 *
 * Keys are declared once in a table (name, type, default, offset into
 * gw_config), the way Fluent Bit declares plugin config maps, so loading,
 * checking, defaults and `lmcgw config check` all come from one place.
 *
 * Ownership: gw_config_load()/gw_config_dev() fill a caller-provided gw_config
 * whose strings are heap copies; release them with gw_config_free(). */
#ifndef GW_CONFIG_CONFIG_H
#define GW_CONFIG_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

typedef struct gw_kv {
  char *key;
  char *value;
} gw_kv;

/* Which XSD validates a document, told by its root element and namespace, and
 * where the routing facts sit in it. */
typedef struct gw_schema_cfg {
  char *root;        /* root element local name */
  char *ns;          /* root element namespace URI */
  char *xsd;         /* path of the XSD (resolved to absolute at load) */
  char *doctype;     /* routing document type: "declaration", "sps"... */
  char *format;      /* wire format name: "wco-dec"... */
  char *ucr_xpath;   /* XPath to the consignment reference (UCR) */
  char *dest_xpath;  /* XPath to the destination country code, may be NULL */
  gw_kv *ns_map;     /* XPath prefixes: key = prefix, value = URI */
  size_t n_ns;
  long line;         /* where it was configured, for messages */
} gw_schema_cfg;

/* A format added without rebuilding: a shared object (plugin set), or an XML
 * format declared as a pair of XSLT stylesheets to and from the canonical
 * XML form (the other fields). */
typedef struct gw_adapter_cfg {
  char *name;
  char *plugin;      /* path of the .so */
  char *kind;        /* GW_KIND_* the stylesheets carry */
  char *root, *ns;   /* root element of the national format */
  char *xsd;         /* its XSD, may be NULL */
  char *to_canonical, *from_canonical; /* XSLT paths */
  char *media_type;  /* default application/xml */
  long line;
} gw_adapter_cfg;

/* Document kinds, in the order of gw_country_profile's arrays. */
enum { GW_K_DECLARATION, GW_K_RESPONSE, GW_K_SPS, GW_K_SPS_ACK, GW_K_CO, GW_K_COUNT };
extern const char *const gw_kind_names[GW_K_COUNT];
int gw_kind_index(const char *kind); /* -1 when unknown */

/* What a participant's national systems speak. Built-in defaults exist for the
 * six countries; each participant sets its own in `countries:`. */
typedef struct gw_country_profile {
  char code[3];
  char *sends[GW_K_COUNT];    /* comma-separated formats its systems send */
  char *receives[GW_K_COUNT]; /* the one format its systems accept */
  char *endpoint;             /* delivery URL (HTTPS), may be NULL */
  char *trust_store;          /* certs/CC directory */
  long line;
} gw_country_profile;

#define GW_MAX_COUNTRIES 32

typedef struct gw_config {
  char *source;            /* file path, or "(dev defaults)" */
  char *base_dir;          /* relative paths resolve against this */
  /* gateway */
  char *country;           /* ISO 3166-1 alpha-2 of this participant */
  char *instance_id;
  char *state_dir;
  char *log_level;
  /* http */
  char *listen;
  int plain_http;          /* 1: no TLS (only when explicitly configured) */
  size_t max_body;
  size_t max_header_bytes;
  unsigned header_timeout_ms, body_timeout_ms, idle_timeout_ms;
  int reuseport;
  /* tls */
  char *tls_cert, *tls_key, *tls_client_ca;
  int tls_require_client_cert;
  /* signing */
  char *sign_key, *sign_cert, *sign_algorithm;
  /* pipeline */
  unsigned workers;
  size_t large_message;
  unsigned produce_timeout_ms;
  unsigned retry_after_s;
  unsigned max_inflight;
  /* access */
  char *anon_role;         /* role of clients without a certificate: none, trader, ... */
  char *anon_reader;       /* their role when reading status: none, inspector, admin, ... */
  unsigned rate_limit;     /* messages per second per identity, 0 = unlimited */
  unsigned rate_burst;
  unsigned replay_window_s;
  unsigned replay_entries;
  /* trust */
  char *require_signature; /* comma-separated kinds that must arrive signed, "all", or "" */
  char *crl_policy;        /* "soft" or "hard" */
  /* ingest from <prefix>.in */
  int ingest_enabled;
  char *ingest_topic;      /* "" or NULL: <prefix>.in */
  unsigned ingest_batch;
  /* kafka */
  char *topic_prefix;
  int kafka_mock;          /* librdkafka's in-process mock cluster (dev only) */
  gw_kv *kafka;            /* passed through to librdkafka as they are */
  size_t n_kafka;
  gw_schema_cfg *schemas;  /* XSD overrides (official schemas) by root */
  size_t n_schemas;
  gw_adapter_cfg *adapters;
  size_t n_adapters;
  /* delivery (gateway/delivery) */
  int delivery_enabled;    /* 1, 0, or -1: "auto", on when the own country has an endpoint */
  int delivery_allow_http; /* accept an http:// endpoint (tests only) */
  char *delivery_cert, *delivery_key; /* client certificate; NULL: tls.cert/tls.key */
  char *delivery_ca;       /* CA bundle verifying the endpoint */
  unsigned delivery_timeout_ms, delivery_retry_initial_ms, delivery_retry_max_ms, delivery_deadline_s;
  unsigned delivery_breaker_failures, delivery_breaker_open_ms, delivery_workers;
  gw_country_profile countries[GW_MAX_COUNTRIES];
  size_t n_countries;
  long key_line[64];       /* where each table key was set in the file, 0: not there */
} gw_config;

/* One problem found while loading; `lmcgw config check` prints them all. */
typedef struct gw_config_diag {
  long line;
  char key[128];
  char msg[256];
} gw_config_diag;

typedef struct gw_config_diags {
  gw_config_diag *items;
  size_t n, cap;
} gw_config_diags;

void gw_config_diags_free(gw_config_diags *d);

/* Loads FILE over the defaults, applies LMCGW_* environment overrides and checks
 * the result. Every problem is appended to diags (may be NULL); returns 0 when
 * there are none, else GW_ECONFIG with the first one in err. */
int gw_config_load(gw_config *cfg, const char *path, gw_config_diags *diags, gw_error *err);

/* The embedded defaults of `lmcgw serve --dev`: plain HTTP on 127.0.0.1:8080,
 * mock Kafka, dev signing key in state_dir, the project's schemas from data_dir. */
int gw_config_dev(gw_config *cfg, const char *data_dir, const char *state_dir, gw_error *err);

/* Only the built-in defaults (country profiles, limits), for the offline
 * commands (validate, translate, ...) when no file is given. */
int gw_config_defaults(gw_config *cfg, const char *data_dir, gw_error *err);

/* Checks a configuration again, e.g. after the dev key was created. */
int gw_config_check(gw_config *cfg, gw_config_diags *diags, gw_error *err);

void gw_config_free(gw_config *cfg);

/* Prints every key with its default, for `lmcgw config defaults` and docs. */
void gw_config_print_keys(FILE *out);

/* Where the project's schemas and examples live: $LMCGW_DATA_DIR, else the
 * source tree the binary was built from. Static string. */
const char *gw_config_data_dir(void);

/* The profile of a country, NULL when none. */
const gw_country_profile *gw_config_country(const gw_config *cfg, const char *code);

/* 1 when format is in the comma-separated list. */
int gw_format_listed(const char *list, const char *format);

/* ISO 3166-1 alpha-2 shape check (two upper-case letters). */
int gw_country_code_ok(const char *s);

#endif
