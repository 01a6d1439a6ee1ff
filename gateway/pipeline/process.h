/* lmcgw — one message through the pipeline, whatever brought it (HTTPS or
 * the <prefix>.in topic): detect, parse, validate (schema, code lists,
 * rules), check who may send it, verify the sender's signature, translate for
 * the destination, sign. What is left to the caller is the hand-off: produce
 * the result (or the dead letter) and answer.
 *
 * gw_pipeline holds what every message needs and is shared, read-only, by
 * worker threads once gw_pipeline_open returned. gw_process runs on any
 * thread; its gw_processed is owned by the caller and released with
 * gw_processed_free. */
#ifndef GW_PIPELINE_PROCESS_H
#define GW_PIPELINE_PROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "access/access.h"
#include "adapters/registry.h"
#include "config/config.h"
#include "core/error.h"
#include "kafka/producer.h"
#include "pipeline/problems.h"
#include "pipeline/sign.h"
#include "trust/trust.h"

typedef struct gw_pipeline {
  const gw_config *cfg;
  gw_registry *formats;
  gw_signer *signer;
  gw_trust_store *trust[GW_MAX_COUNTRIES]; /* by country, for incoming signatures */
  char trust_cc[GW_MAX_COUNTRIES][3];
  size_t n_trust;
  gw_trust_crl_policy crl_policy;
  unsigned require_sig; /* bit per GW_K_* kind */
} gw_pipeline;

/* Loads formats, the signing key and the trust stores named by the config.
 * schema_dir: where the project's schemas are. On failure nothing is left
 * to free. */
int gw_pipeline_open(gw_pipeline *p, const gw_config *cfg, const char *schema_dir, gw_error *err);
void gw_pipeline_close(gw_pipeline *p);

/* One message as it came. All borrowed for the duration of gw_process. */
typedef struct gw_submission {
  const char *id;           /* the gateway's message id */
  const char *body;
  size_t len;
  const char *format_hint;  /* a format's media type, or NULL to sniff */
  const char *hdr_ucr;      /* X-UCR, may be NULL */
  const char *hdr_dest;     /* X-Destination, may be NULL */
  const gw_identity *identity;
  gw_role role;
  const char *sender;       /* "C/O/CN" or "anonymous@…": the envelope's lmcgw-sender */
  const char *received_at;  /* RFC 3339 */
  int perishable;           /* the sender flagged it perishable (X-Priority: perishable) */
} gw_submission;

#define GW_PROCESSED_MAX_HEADERS 16
#define GW_PROCESSED_MAX_HS 64
#define GW_PROCESSED_MAX_CITES 16

typedef struct gw_processed {
  /* 0: ready to route (topic, key, payload, headers below); otherwise the
   * HTTP status of the refusal (400, 401, 403, 415, 422, 500), with problems. */
  int status;
  gw_problems problems;     /* errors, or the warnings that travel with an accepted message */
  const char *kind;         /* GW_KIND_* (static), NULL when not decoded */
  const char *in_format, *out_format; /* adapter names (static) */
  char *ucr, *dest;
  char *signature;          /* the sender's verified signature (JSON object), or NULL */
  char topic[256];
  const char *payload;      /* points into the fields below or the submission */
  size_t payload_len;
  gw_kafka_header headers[GW_PROCESSED_MAX_HEADERS];
  size_t n_headers;
  char *receipt;            /* signed acknowledgement (XML), made by gw_process_receipt */
  /* For status events. */
  char *document_number;    /* LRN, certificate number or the response's reference */
  char *origin;             /* country the document comes from */
  char *decision;           /* a response's customs decision, or NULL */
  char *hs_codes[GW_PROCESSED_MAX_HS];
  size_t n_hs;
  char *cites[GW_PROCESSED_MAX_CITES][2]; /* {document type (UN/EDIFACT 1001), number} */
  size_t n_cites;
  int perishable;           /* goes through the priority lane: <prefix>.<CC>.<kind>.priority */
  /* owned storage */
  char *xml_out, *jws, *warnings, *enc_bytes;
  char *digest;             /* sha256:<hex> of the bytes received */
  /* Between gw_process_begin and gw_process_end. */
  gw_decoded dec;
  int sender_signed;
  uint64_t t_decoded;
} gw_processed;

/* Runs the pipeline. Always fills out (free it with gw_processed_free). */
void gw_process(const gw_pipeline *p, const gw_submission *in, gw_processed *out);

/* The same in two halves, so a caller can queue the second by what the
 * first found (out->perishable): begin detects, parses, validates, checks
 * the sender and its signature (out->status set on refusal); end
 * translates and signs (nothing when begin refused). */
void gw_process_begin(const gw_pipeline *p, const gw_submission *in, gw_processed *out);
void gw_process_end(const gw_pipeline *p, const gw_submission *in, gw_processed *out);

/* The signed receipt of an accepted message (see README: receipts); sets
 * out->receipt, or leaves it NULL and logs why. Call after the broker has
 * the message. */
void gw_process_receipt(const gw_pipeline *p, const gw_submission *in, gw_processed *out);

void gw_processed_free(gw_processed *out);

/* A quick look at a message's bytes, before any parsing, for goods of HS
 * chapters 01-24 (WCO Classification/ID, ASYCUDA Commodity_code, portal
 * JSON hs_code, EDIFACT CST) or an SPS certificate: 1 when it finds one.
 * The work queue uses it to put perishable goods first from the start. A
 * miss costs only queue position in the first pass; a false hit only gives a
 * bulk message an early place. Reads at most the first 64 KiB. */
int gw_sniff_perishable(const char *data, size_t len);

#endif
