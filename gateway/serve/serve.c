#include "serve/serve.h"

#include <jansson.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/log.h"
#include "http/http.h"
#include "kafka/producer.h"
#include "metrics/metrics.h"
#include "pipeline/check.h"
#include "pipeline/problems.h"
#include "pipeline/sign.h"
#include "pipeline/xml.h"
#include "access/access.h"
#include "adapters/registry.h"
#include "model/json.h"
#include "trust/trust.h"

#include <dirent.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

typedef struct gw_server {
  uv_loop_t loop;
  gw_config *cfg;
  const gw_serve_options *opt;
  gw_registry *formats;
  gw_access *access;   /* rate limits and replays: loop thread only */
  gw_role anon_role;
  gw_signer *signer;
  /* Trust stores by country, for incoming signatures; read-only once loaded. */
  gw_trust_store *trust[GW_MAX_COUNTRIES];
  char trust_cc[GW_MAX_COUNTRIES][3];
  size_t n_trust;
  gw_trust_crl_policy crl_policy;
  unsigned require_sig; /* bit per GW_K_* kind */
  gw_kafka_producer *kafka;
  gw_http_server *http;
  uv_signal_t sig[2];
  int signals;
  int draining;
  int forced;
  size_t inflight; /* jobs accepted for processing and not yet answered */
} gw_server;

/* One submitted message from request to answer. Loop-thread fields and
 * worker fields never overlap in time: the worker owns the job between
 * uv_queue_work and its after-callback. */
typedef struct job {
  uv_work_t work;
  gw_server *srv;
  gw_http_request *req;
  char id[37];
  char sender[420];
  char *hdr_ucr, *hdr_dest, *content_type;
  char *replay_key;          /* sender + X-Message-Id, when the client named its message */
  gw_role role;
  char received_at[64];
  uint64_t t_queued, t_produced;
  /* worker results */
  int status; /* 0: produced, waiting for the delivery report */
  gw_problems problems;
  const char *kind;          /* static */
  char *receipt;             /* signed acknowledgement (XML), for the 202 */
  char *signature;           /* verified sender signature (JSON object), or NULL */
  const char *in_format, *out_format; /* adapter names (static) */
  char *ucr, *dest;
  char topic[256];
  /* loop thread */
  int work_done, dr_done, dr_err, dr_maybe;
  char dr_errstr[160];
  int32_t partition;
  int64_t offset;
} job;

void gw_uuid4(char out[37]) {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1) {
    /* RAND_bytes failing means the CSPRNG is unusable; ids must still differ. */
    uint64_t t = uv_hrtime();
    memcpy(b, &t, 8);
    memcpy(b + 8, &b, sizeof(void *) < 8 ? sizeof(void *) : 8);
  }
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
           b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static void now_iso(char out[64]) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

/* ---- answers ------------------------------------------------------------- */

static void respond_json(gw_http_request *req, int status, json_t *body, const char *extra) {
  char *s = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  if (!s) {
    gw_http_respond(req, 500, "application/json", "{\"errors\":[{\"code\":\"internal\"}]}", 33, NULL);
    return;
  }
  gw_http_respond(req, status, "application/json", s, strlen(s), extra);
  free(s);
}

static void respond_error(gw_http_request *req, int status, const char *code, const char *extra, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void respond_error(gw_http_request *req, int status, const char *code, const char *extra, const char *fmt, ...) {
  gw_problems p = {0};
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  gw_problems_add(&p, code, "error", 0, NULL, "%s", msg);
  char *s = gw_problems_json(&p, NULL);
  gw_problems_free(&p);
  gw_http_respond(req, status, "application/json", s ? s : "{}", s ? strlen(s) : 2, extra);
  free(s);
}

static void retry_after(const gw_server *srv, char *buf, size_t n) {
  snprintf(buf, n, "Retry-After: %u\r\n", srv->cfg->retry_after_s);
}

/* ---- the pipeline, on a worker thread ------------------------------------ */

static int country_ok(const char *s) { return gw_country_code_ok(s); }

/* Rejected messages go to the dead-letter topic with their error report, so a
 * rejection is on record; never to a routing topic. Best effort: the client
 * already gets the reason in the answer. */
static void dead_letter(job *j, const char *body, size_t len) {
  gw_server *srv = j->srv;
  char topic[160];
  snprintf(topic, sizeof(topic), "%s.dlq", srv->cfg->topic_prefix);
  char *report = gw_problems_json(&j->problems, j->id);
  char status[8];
  snprintf(status, sizeof(status), "%d", j->status);
  gw_kafka_header h[] = {
      {"lmcgw-message-id", j->id},        {"lmcgw-sender", j->sender}, {"lmcgw-received-at", j->received_at},
      {"lmcgw-http-status", status},      {"lmcgw-errors", report},
  };
  gw_kafka_produce(srv->kafka, topic, j->id, strlen(j->id), body, len, h, sizeof(h) / sizeof(h[0]), NULL, NULL);
  free(report);
}

/* A signed receipt for what was received: an SPS acknowledgement for SPS
 * documents, a RES-DMS:2 response (function 02, received, as HMRC's DMSRCV)
 * for the others, carrying the SHA-256 of the exact bytes received, so
 * neither side can later deny the exchange. NULL when it cannot be made
 * (the message is still accepted; the log says why). */
static char *make_receipt(gw_server *srv, job *j, const gw_consignment *m, const char *kind, const char *body,
                          size_t len) {
  int sps = !strcmp(kind, GW_KIND_SPS) || !strcmp(kind, GW_KIND_SPS_ACK);
  const gw_adapter *a = gw_registry_find(srv->formats, sps ? "sps" : "wco-dec");
  if (!a) return NULL;
  unsigned char d[32];
  char hex[80] = "sha256:";
  EVP_Digest(body, len, d, NULL, EVP_sha256(), NULL);
  for (int i = 0; i < 32; i++) snprintf(hex + 7 + 2 * i, 3, "%02x", d[i]);
  char when[32];
  snprintf(when, sizeof(when), "%.19sZ", j->received_at); /* no milliseconds: 304 has none */
  gw_consignment r = {0};
  gw_model_set(&r.kind, sps ? GW_KIND_SPS_ACK : GW_KIND_RESPONSE, -1);
  gw_model_set(&r.response.status, sps ? "39" : "02", -1);
  gw_model_set(&r.response.issued_at, when, -1);
  gw_model_set(&r.response.ref_id, m->cert_id ? m->cert_id : m->lrn ? m->lrn : m->ucr, -1);
  gw_model_set(&r.response.digest, hex, -1);
  if (!sps) gw_model_set(&r.lrn, m->lrn, -1);
  gw_encoded e = {0};
  gw_problems p = {0};
  gw_error err = {0};
  char *out = NULL;
  size_t out_len = 0;
  if (gw_registry_encode(srv->formats, a, &r, 0, &e, &p) || !e.out.doc || gw_signer_sign(srv->signer, e.out.doc, &err) ||
      gw_xml_serialise(e.out.doc, &out, &out_len))
    gw_log_msg(GW_LOG_WARN, "receipt", j->id, j->ucr, "no receipt: %s", p.n ? p.items[0].message : err.msg);
  gw_encoded_free(&e);
  gw_problems_free(&p);
  gw_model_free(&r);
  return out;
}

/* Where a document goes when no X-Destination header says: declarations and
 * certificates to the importing country, responses and acknowledgements back
 * to the exporting one; failing both, this participant's own customs. */
static const char *model_destination(const gw_consignment *m, const char *kind) {
  int back = !strcmp(kind, GW_KIND_RESPONSE) || !strcmp(kind, GW_KIND_SPS_ACK);
  const char *a = back ? m->export_country : m->destination_country;
  const char *b = back ? m->dispatch_country : m->import_country;
  return a ? a : b;
}

/* ---- incoming signatures ------------------------------------------------- */

static const gw_trust_store *trust_for(const gw_server *srv, const char *cc) {
  for (size_t i = 0; cc && i < srv->n_trust; i++)
    if (!strcmp(srv->trust_cc[i], cc)) return srv->trust[i];
  return NULL;
}

/* The country a document says it comes from, whose trust store must vouch for
 * its signer: the exporting side for declarations and certificates, the
 * importing side for responses and acknowledgements (as the submit policy
 * reads it), else the sender's certificate, else this gateway's country. */
static const char *claimed_country(const gw_server *srv, const job *j, const gw_consignment *m, const char *kind) {
  int back = !strcmp(kind, GW_KIND_RESPONSE) || !strcmp(kind, GW_KIND_SPS_ACK);
  const char *c = back ? m->import_country : m->export_country;
  if (!c) c = back ? m->destination_country : m->dispatch_country;
  if (!c && j->req->identity->authenticated && j->req->identity->country[0]) c = j->req->identity->country;
  return c ? c : srv->cfg->country;
}

/* Verifies the sender's XMLDSig signature when the document has one, and
 * demands one where trust.require_signature says so. Problems go to the
 * job (code signature_<reason>); a verified signature is described in
 * j->signature for the answer and the envelope. Returns 1 when the document
 * carries a verified signature. */
static int verify_incoming(gw_server *srv, job *j, const gw_decoded *dec, const gw_consignment *m) {
  int ki = gw_kind_index(dec->kind);
  int required = ki >= 0 && (srv->require_sig & (1u << ki));
  xmlNodePtr root = dec->doc ? xmlDocGetRootElement(dec->doc) : NULL;
  int is_signed = root && xmlSecFindNode(root, xmlSecNodeSignature, xmlSecDSigNs);
  if (!is_signed) {
    if (required && dec->doc)
      gw_problems_add(&j->problems, "signature_required", "error", 0, NULL,
                      "a %s must carry its sender's XMLDSig signature (trust.require_signature)", dec->kind);
    else if (required)
      gw_problems_add(&j->problems, "signature_required", "error", 0, NULL,
                      "a %s must carry its sender's XMLDSig signature (trust.require_signature), and the %s format "
                      "cannot hold one: send the signed XML form",
                      dec->kind, dec->adapter->name);
    return 0;
  }
  const char *cc = claimed_country(srv, j, m, dec->kind);
  const gw_trust_store *ts = trust_for(srv, cc);
  if (!ts) {
    gw_problems_add(&j->problems, "signature_untrusted", "error", 0, "Signature",
                    "the document is signed, but this gateway has no trust store for %s (countries.%s.trust_store), "
                    "so the signer cannot be trusted",
                    cc, cc);
    return 0;
  }
  gw_trust_opts o = {.country = cc, .crl_policy = srv->crl_policy};
  gw_trust_result r;
  gw_error e = {0};
  int rc = gw_trust_verify_doc(ts, dec->doc, &o, &r, &e);
  if (rc == GW_ECRYPTO || (rc == 0 && r.status != GW_TRUST_OK)) {
    char code[64];
    snprintf(code, sizeof(code), "signature_%s", gw_trust_status_code(r.status));
    gw_problems_add(&j->problems, code, "error", 0, "Signature", "%s%s%s", r.message,
                    r.signer[0] ? "; signer: " : "", r.signer);
    return 0;
  }
  if (rc) {
    gw_problems_add(&j->problems, "internal", "error", 0, "Signature", "signature verification failed: %s", e.msg);
    return 0;
  }
  json_t *o2 = json_object(), *chain = json_array();
  json_object_set_new(o2, "status", json_string("valid"));
  json_object_set_new(o2, "signer", json_string(r.signer));
  json_object_set_new(o2, "country", json_string(r.signer_country));
  for (size_t i = 0; i < r.chain_len; i++) json_array_append_new(chain, json_string(r.chain[i]));
  json_object_set_new(o2, "chain", chain);
  json_object_set_new(o2, "algorithm", json_string(r.sig_alg));
  json_object_set_new(o2, "digest", json_string(r.digest_alg));
  json_object_set_new(o2, "c14n", json_string(r.c14n_alg));
  free(j->signature);
  j->signature = json_dumps(o2, JSON_COMPACT);
  json_decref(o2);
  return 1;
}

/* Moves the problems from index `from` on ahead of the earlier ones. */
static void problems_to_front(gw_problems *p, size_t from) {
  size_t k = p->n - from;
  if (!k || !from) return;
  gw_problem *tmp = malloc(k * sizeof(*tmp));
  if (!tmp) return;
  memcpy(tmp, p->items + from, k * sizeof(*tmp));
  memmove(p->items + k, p->items, from * sizeof(*tmp));
  memcpy(p->items, tmp, k * sizeof(*tmp));
  free(tmp);
}

static void work_cb(uv_work_t *w) {
  job *j = w->data;
  gw_server *srv = j->srv;
  gw_metrics_queue_depth_add(-1);
  uint64_t t0 = uv_hrtime();
  gw_metrics_stage(GW_STAGE_QUEUE, t0 - j->t_queued);
  const char *body = j->req->body;
  size_t len = j->req->body_len;
  gw_decoded dec = {0};
  gw_encoded enc = {0};
  const char *payload = NULL;
  size_t payload_len = 0;
  char *xml_out = NULL;

  int dr = gw_registry_decode(srv->formats, body, len, j->content_type, &dec, &j->problems);
  uint64_t t1 = uv_hrtime();
  gw_metrics_stage(GW_STAGE_VALIDATE, t1 - t0);
  if (dr) {
    j->status = dr == GW_EPARSE ? 400 : dr == GW_ENOMEM ? 500 : 422;
    goto reject;
  }
  j->kind = dec.kind;
  j->in_format = dec.adapter->name;
  gw_consignment *m = &dec.model;
  gw_check_message(m, &j->problems); /* code lists and business rules; errors reject below */
  if (m->ucr && j->hdr_ucr && strcmp(m->ucr, j->hdr_ucr)) {
    gw_problems_add(&j->problems, "ucr_mismatch", "error", 0, "ucr", "X-UCR '%s' differs from the document's UCR '%s'",
                    j->hdr_ucr, m->ucr);
  } else if (!m->ucr && j->hdr_ucr) {
    gw_model_set(&m->ucr, j->hdr_ucr, -1);
  } else if (!m->ucr) {
    gw_problems_add(&j->problems, "ucr_missing", "error", 0, "ucr",
                    "no consignment reference (UCR): the %s document has none and there is no X-UCR header",
                    dec.adapter->name);
  }
  if (m->ucr && (strlen(m->ucr) > 128 || strpbrk(m->ucr, "\r\n")))
    gw_problems_add(&j->problems, "ucr_invalid", "error", 0, "ucr", "the UCR must be one line of at most 128 characters");
  j->ucr = m->ucr ? strdup(m->ucr) : NULL;
  const char *doc_dest = model_destination(m, dec.kind);
  j->dest = strdup(j->hdr_dest ? j->hdr_dest : doc_dest ? doc_dest : srv->cfg->country);
  if (!country_ok(j->dest))
    gw_problems_add(&j->problems, "destination_invalid", "error", 0, j->hdr_dest ? "X-Destination" : "destination_country",
                    "destination '%s' is not an ISO 3166-1 alpha-2 country code", j->dest);
  char why[300];
  int deny = gw_access_may_submit(j->req->identity, j->role, srv->cfg->country, dec.kind, m, why, sizeof(why));
  if (deny) {
    j->problems.n = 0; /* who may send it comes before what is wrong with it */
    gw_problems_add(&j->problems, deny == 401 ? "unauthenticated" : "forbidden", "error", 0, NULL, "%s", why);
    j->status = deny;
    goto reject;
  }
  size_t before_sig = j->problems.n;
  int sender_signed = verify_incoming(srv, j, &dec, m);
  problems_to_front(&j->problems, before_sig); /* whether it is authentic comes before what it says */
  for (size_t i = 0; i < j->problems.n; i++)
    if (!strcmp(j->problems.items[i].severity, "error")) {
      j->status = 422;
      goto reject;
    }

  /* The destination's national systems get the document in their format;
   * without a profile for it, the document travels as it came. */
  const gw_country_profile *prof = gw_config_country(srv->cfg, j->dest);
  int ki = gw_kind_index(dec.kind);
  const char *want = prof && ki >= 0 ? prof->receives[ki] : NULL;
  const gw_adapter *out_ad = want ? gw_registry_find(srv->formats, want) : dec.adapter;
  if (!out_ad) out_ad = dec.adapter;
  j->out_format = out_ad->name;
  xmlDocPtr to_sign = NULL;
  if (out_ad == dec.adapter) {
    /* Same format: forward what was received, untouched, so nothing can be
     * lost. A document its sender signed keeps that signature alone (a
     * second enveloped one would break the one-signature rule receivers
     * verify by); the gateway's own signature then travels as a JWS. */
    if (dec.doc && !sender_signed) to_sign = dec.doc;
    else payload = body, payload_len = len;
  } else {
    int er = gw_registry_encode(srv->formats, out_ad, m, 0, &enc, &j->problems);
    if (er) {
      j->status = er == GW_ENOMEM ? 500 : 422;
      goto reject;
    }
    if (enc.out.doc) to_sign = enc.out.doc;
    else payload = enc.bytes, payload_len = enc.len;
  }
  uint64_t t2 = uv_hrtime();
  gw_metrics_stage(GW_STAGE_PARSE, t2 - t1); /* translation */
  if (to_sign) {
    gw_error err = {0};
    if (gw_signer_sign(srv->signer, to_sign, &err)) {
      gw_problems_add(&j->problems, "internal", "error", 0, NULL, "signing failed: %s", err.msg);
      j->status = 500;
      goto done;
    }
    uint64_t t3 = uv_hrtime();
    gw_metrics_stage(GW_STAGE_SIGN, t3 - t2);
    if (gw_xml_serialise(to_sign, &xml_out, &payload_len)) {
      gw_problems_add(&j->problems, "internal", "error", 0, NULL, "serialisation failed");
      j->status = 500;
      goto done;
    }
    payload = xml_out;
    gw_metrics_stage(GW_STAGE_SERIALIZE, uv_hrtime() - t3);
  }
  char *jws = NULL;
  if (!to_sign) {
    gw_error err = {0};
    if (gw_signer_jws_detached(srv->signer, payload, payload_len, &jws, &err)) {
      gw_problems_add(&j->problems, "internal", "error", 0, NULL, "signing failed: %s", err.msg);
      j->status = 500;
      goto done;
    }
    gw_metrics_stage(GW_STAGE_SIGN, uv_hrtime() - t2);
  }
  snprintf(j->topic, sizeof(j->topic), "%s.%s.%s", srv->cfg->topic_prefix, j->dest, dec.kind);
  char *warnings = j->problems.n ? gw_problems_json(&j->problems, NULL) : NULL;
  gw_kafka_header h[] = {
      {"lmcgw-message-id", j->id},
      {"lmcgw-ucr", j->ucr},
      {"lmcgw-sender", j->sender},
      {"lmcgw-origin", srv->cfg->country},
      {"lmcgw-destination", j->dest},
      {"lmcgw-document-type", dec.kind},
      {"lmcgw-format", out_ad->name},
      {"lmcgw-source-format", dec.adapter->name},
      {"lmcgw-received-at", j->received_at},
      {"content-type", out_ad->media_type},
      {"lmcgw-signature", j->signature}, /* the sender's verified signature, when there was one */
      {"lmcgw-jws", jws},
      {"lmcgw-warnings", warnings},
  };
  /* Optional headers last; drop the unset ones. */
  size_t nh = 10;
  if (j->signature) h[nh++] = h[10];
  if (jws) h[nh++] = h[11];
  if (warnings) h[nh++] = h[12];
  j->t_produced = uv_hrtime();
  gw_error err = {0};
  int pr = gw_kafka_produce(srv->kafka, j->topic, j->ucr, strlen(j->ucr), payload, payload_len, h, nh, j, &err);
  free(warnings);
  free(jws);
  if (pr) {
    gw_problems_add(&j->problems, "kafka_unavailable", "error", 0, NULL, "%s", err.msg);
    j->status = 503;
    goto done;
  }
  j->receipt = make_receipt(srv, j, m, dec.kind, body, len);
  j->status = 0;
  goto done;
reject:
  dead_letter(j, body, len);
done:
  free(xml_out);
  gw_encoded_free(&enc);
  gw_decoded_free(&dec);
}

/* ---- back on the loop ---------------------------------------------------- */

static void check_drain(gw_server *srv);

static void job_free(job *j) {
  gw_problems_free(&j->problems);
  free(j->hdr_ucr);
  free(j->hdr_dest);
  free(j->content_type);
  free(j->replay_key);
  free(j->receipt);
  free(j->signature);
  free(j->ucr);
  free(j->dest);
  free(j);
}

static enum gw_outcome outcome_of(int status) {
  switch (status) {
  case 202: return GW_OUT_ACCEPTED;
  case 400: return GW_OUT_NOT_WELL_FORMED;
  case 422: return GW_OUT_INVALID;
  case 503: return GW_OUT_UNAVAILABLE;
  default: return GW_OUT_INTERNAL;
  }
}

static void job_finish(job *j) {
  gw_server *srv = j->srv;
  gw_http_request *req = j->req;
  int status = j->status;
  if (status == 0) {
    if (j->dr_err) {
      status = 503;
      gw_problems_add(&j->problems, "kafka_unavailable", "error", 0, NULL,
                      "Kafka did not acknowledge the message in time (%s)%s; it was not accepted, send it again",
                      j->dr_errstr, j->dr_maybe ? " — it may still arrive, receivers deduplicate by message id" : "");
    } else {
      status = 202;
    }
  }
  if (status == 202) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(j->id));
    json_object_set_new(o, "ucr", json_string(j->ucr));
    json_object_set_new(o, "topic", json_string(j->topic));
    json_object_set_new(o, "partition", json_integer(j->partition));
    json_object_set_new(o, "offset", json_integer(j->offset));
    json_object_set_new(o, "destination", json_string(j->dest));
    json_object_set_new(o, "document_type", json_string(j->kind));
    json_object_set_new(o, "format", json_string(j->out_format));
    json_object_set_new(o, "source_format", json_string(j->in_format));
    if (j->receipt) json_object_set_new(o, "receipt", json_string(j->receipt));
    json_t *sig = j->signature ? json_loads(j->signature, 0, NULL) : NULL;
    if (sig) json_object_set_new(o, "signature", sig);
    if (j->problems.n) {
      /* Warnings (lossy fields, rule warnings) travel with the acceptance. */
      char *w = gw_problems_json(&j->problems, NULL);
      json_t *wj = w ? json_loads(w, 0, NULL) : NULL;
      if (wj) json_object_set(o, "warnings", json_object_get(wj, "errors"));
      json_decref(wj);
      free(w);
    }
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (body) gw_http_respond(req, 202, "application/json", body, strlen(body), NULL);
    else gw_http_respond(req, 500, "application/json", "{\"errors\":[{\"code\":\"internal\"}]}", 33, NULL);
    if (j->replay_key) gw_access_replay_done(srv->access, j->replay_key, body ? 202 : 0, body);
    free(body);
    gw_log_msg(GW_LOG_DEBUG, "accepted", j->id, j->ucr, "%s [%d] @%lld", j->topic, (int)j->partition,
               (long long)j->offset);
  } else {
    char extra[64] = "";
    if (status == 503) retry_after(srv, extra, sizeof(extra));
    char *s = gw_problems_json(&j->problems, j->id);
    gw_http_respond(req, status, "application/json", s ? s : "{}", s ? strlen(s) : 2, *extra ? extra : NULL);
    /* A final refusal is the answer to every repeat; a passing failure is not. */
    if (j->replay_key) gw_access_replay_done(srv->access, j->replay_key, status < 500 ? status : 0, s);
    gw_log_msg(status >= 500 ? GW_LOG_WARN : GW_LOG_INFO, "rejected", j->id, j->ucr, "%d %s: %s", status,
               j->problems.n ? j->problems.items[0].code : "", j->problems.n ? j->problems.items[0].message : "");
    free(s);
  }
  gw_metrics_outcome(outcome_of(status));
  gw_metrics_stage(GW_STAGE_TOTAL, uv_hrtime() - j->t_queued);
  job_free(j);
  srv->inflight--;
  check_drain(srv);
}

static void after_work_cb(uv_work_t *w, int status) {
  job *j = w->data;
  (void)status;
  j->work_done = 1;
  /* The delivery report may have come first: both arrive on this loop. */
  if (j->status != 0 || j->dr_done) job_finish(j);
}

static void on_delivery(void *opaque, int err, const char *errstr, int maybe, int32_t partition, int64_t offset) {
  job *j = opaque;
  j->dr_done = 1;
  j->dr_err = err;
  j->dr_maybe = maybe;
  if (errstr) snprintf(j->dr_errstr, sizeof(j->dr_errstr), "%s", errstr);
  j->partition = partition;
  j->offset = offset;
  gw_metrics_stage(GW_STAGE_KAFKA_ACK, uv_hrtime() - j->t_produced);
  if (j->work_done) job_finish(j);
}

/* ---- routing of requests ------------------------------------------------- */

/* The media types a message may come with: a format's own, generic XML, or
 * none / octet-stream, in which case the format is sniffed. */
static int media_ok(const gw_registry *r, const char *ct) {
  if (!ct) return 1;
  size_t n = strcspn(ct, ";");
  while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
  if ((n == 15 && !strncasecmp(ct, "application/xml", 15)) || (n == 8 && !strncasecmp(ct, "text/xml", 8)) ||
      (n == 24 && !strncasecmp(ct, "application/octet-stream", 24)) || (n == 10 && !strncasecmp(ct, "text/plain", 10)))
    return 1;
  if (n > 16 && !strncasecmp(ct, "application/", 12) && !strncasecmp(ct + n - 4, "+xml", 4)) return 1;
  for (size_t i = 0; i < gw_registry_count(r); i++) {
    const char *mt = gw_registry_at(r, i)->media_type;
    if (strlen(mt) == n && !strncasecmp(ct, mt, n)) return 1;
  }
  return 0;
}

/* Only a format's own media type names it; generic ones are sniffed. */
static char *format_hint(const char *ct) {
  if (!ct) return NULL;
  size_t n = strcspn(ct, ";");
  while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t')) n--;
  if ((n == 24 && !strncasecmp(ct, "application/octet-stream", 24)) || (n == 10 && !strncasecmp(ct, "text/plain", 10)))
    return NULL;
  return strndup(ct, n);
}

static char *header_copy(const gw_http_request *req, const char *name) {
  const char *v = gw_http_header_get(req, name);
  if (!v) return NULL;
  while (*v == ' ') v++;
  return *v ? strdup(v) : NULL;
}

static void post_message(gw_server *srv, gw_http_request *req) {
  char extra[64];
  if (srv->draining) {
    retry_after(srv, extra, sizeof(extra));
    respond_error(req, 503, "shutting_down", extra, "the gateway is shutting down; send it to another instance or later");
    gw_metrics_outcome(GW_OUT_UNAVAILABLE);
    return;
  }
  const char *ct = gw_http_header_get(req, "content-type");
  if (!media_ok(srv->formats, ct)) {
    respond_error(req, 415, "unsupported_media_type", "Accept: application/xml, application/json, application/edifact\r\n",
                  "content type '%s' is not accepted; send application/xml, application/json or application/edifact",
                  ct ? ct : "(none)");
    gw_metrics_outcome(GW_OUT_UNSUPPORTED_MEDIA);
    return;
  }
  const gw_identity *ident = req->identity;
  gw_role role = gw_access_role(ident, srv->anon_role);
  if (role == GW_ROLE_NONE || role == GW_ROLE_INSPECTOR || role == GW_ROLE_ADMIN) {
    char why[300];
    gw_consignment none = {0};
    int st = gw_access_may_submit(ident, role, srv->cfg->country, GW_KIND_DECLARATION, &none, why, sizeof(why));
    respond_error(req, st, st == 401 ? "unauthenticated" : "forbidden", NULL, "%s", why);
    gw_metrics_outcome(GW_OUT_INVALID);
    return;
  }
  char who[600];
  if (ident->authenticated) snprintf(who, sizeof(who), "%s", ident->subject);
  else snprintf(who, sizeof(who), "anonymous@%s", req->peer);
  /* The port changes per connection; the limit is per client. */
  if (!ident->authenticated) {
    char *colon = strrchr(who, ':');
    if (colon && strchr(who, '.')) *colon = 0;
  }
  uint64_t wait_ms = gw_access_rate_take(srv->access, who, uv_now(&srv->loop));
  if (wait_ms) {
    snprintf(extra, sizeof(extra), "Retry-After: %llu\r\n", (unsigned long long)(wait_ms + 999) / 1000);
    respond_error(req, 429, "rate_limited", extra, "more than %u messages a second from %s; slow down", srv->cfg->rate_limit,
                  ident->authenticated ? ident->cn : "this address");
    gw_metrics_outcome(GW_OUT_UNAVAILABLE);
    return;
  }
  char *replay_key = NULL;
  const char *mid = gw_http_header_get(req, "x-message-id");
  if (mid) {
    while (*mid == ' ') mid++;
    size_t ml = strlen(mid);
    int ok = ml > 0 && ml <= 64;
    for (size_t i = 0; ok && i < ml; i++)
      ok = (mid[i] >= 'a' && mid[i] <= 'z') || (mid[i] >= 'A' && mid[i] <= 'Z') || (mid[i] >= '0' && mid[i] <= '9') ||
           strchr("._:-", mid[i]);
    if (!ok) {
      respond_error(req, 400, "bad_message_id", NULL,
                    "X-Message-Id must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'");
      gw_metrics_outcome(GW_OUT_INVALID);
      return;
    }
    unsigned char digest[32];
    EVP_Digest(req->body, req->body_len, digest, NULL, EVP_sha256(), NULL);
    size_t kl = strlen(who) + ml + 2;
    replay_key = malloc(kl);
    if (replay_key) snprintf(replay_key, kl, "%s|%s", who, mid);
    int st = 0;
    const char *prev = NULL;
    gw_replay_verdict v =
        replay_key ? gw_access_replay_check(srv->access, replay_key, digest, uv_now(&srv->loop), &st, &prev) : GW_REPLAY_NEW;
    if (v != GW_REPLAY_NEW) {
      if (v == GW_REPLAY_SAME)
        gw_http_respond(req, st, "application/json", prev ? prev : "{}", prev ? strlen(prev) : 2, "X-Replay: true\r\n");
      else
        respond_error(req, 409, v == GW_REPLAY_CONFLICT ? "replay_conflict" : "replay_in_progress", NULL,
                      v == GW_REPLAY_CONFLICT ? "message id '%s' was already used for a different message"
                                              : "message id '%s' is still being processed; ask again shortly",
                      mid);
      free(replay_key);
      gw_metrics_outcome(GW_OUT_INVALID);
      return;
    }
  }
  if (srv->inflight >= srv->cfg->max_inflight) {
    if (replay_key) gw_access_replay_done(srv->access, replay_key, 0, NULL);
    free(replay_key);
    retry_after(srv, extra, sizeof(extra));
    respond_error(req, 503, "overloaded", extra, "%zu messages are in processing; try again shortly", srv->inflight);
    gw_metrics_outcome(GW_OUT_UNAVAILABLE);
    return;
  }
  job *j = calloc(1, sizeof(*j));
  if (!j) {
    if (replay_key) gw_access_replay_done(srv->access, replay_key, 0, NULL);
    free(replay_key);
    respond_error(req, 500, "internal", NULL, "out of memory");
    return;
  }
  j->srv = srv;
  j->req = req;
  j->work.data = j;
  j->role = role;
  j->replay_key = replay_key;
  gw_uuid4(j->id);
  now_iso(j->received_at);
  j->hdr_ucr = header_copy(req, "x-ucr");
  j->hdr_dest = header_copy(req, "x-destination");
  j->content_type = format_hint(ct);
  const gw_identity *id = req->identity;
  if (id->authenticated)
    snprintf(j->sender, sizeof(j->sender), "%s/%s/%s", id->country, id->org, id->cn);
  else
    snprintf(j->sender, sizeof(j->sender), "anonymous@%s", req->peer);
  j->t_queued = req->received_ns ? req->received_ns : uv_hrtime();
  srv->inflight++;
  gw_metrics_queue_depth_add(1);
  int rc = uv_queue_work(&srv->loop, &j->work, work_cb, after_work_cb);
  if (rc) {
    gw_metrics_queue_depth_add(-1);
    srv->inflight--;
    if (j->replay_key) gw_access_replay_done(srv->access, j->replay_key, 0, NULL);
    respond_error(req, 500, "internal", NULL, "cannot queue work: %s", uv_strerror(rc));
    job_free(j);
  }
}

static void get_readyz(gw_server *srv, gw_http_request *req) {
  int kafka = gw_kafka_ready(srv->kafka);
  int ok = kafka && !srv->draining;
  json_t *o = json_object();
  json_object_set_new(o, "status", json_string(ok ? "ready" : "not_ready"));
  json_object_set_new(o, "kafka", json_boolean(kafka));
  json_object_set_new(o, "formats", json_integer((json_int_t)gw_registry_count(srv->formats)));
  json_object_set_new(o, "draining", json_boolean(srv->draining));
  respond_json(req, ok ? 200 : 503, o, NULL);
}

static void get_metrics(gw_server *srv, gw_http_request *req) {
  static gw_http_stats st; /* large; only the loop thread renders */
  gw_http_stats_get(srv->http, &st);
  gw_metrics_extra x = {st.responses_by_status, gw_http_server_connections(srv->http), gw_kafka_inflight(srv->kafka),
                        gw_kafka_ready(srv->kafka)};
  size_t len = 0;
  char *s = gw_metrics_render(&x, &len);
  if (!s) {
    respond_error(req, 500, "internal", NULL, "out of memory");
    return;
  }
  gw_http_respond(req, 200, "text/plain; version=0.0.4", s, len, NULL);
  free(s);
}

static void on_request(gw_http_request *req, void *ud) {
  gw_server *srv = ud;
  const char *p = req->path;
  int get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
  if (!strcmp(p, "/v1/messages")) {
    if (!strcmp(req->method, "POST")) post_message(srv, req);
    else respond_error(req, 405, "method_not_allowed", "Allow: POST\r\n", "use POST to submit a message");
  } else if (!strcmp(p, "/healthz") || !strcmp(p, "/readyz") || !strcmp(p, "/metrics")) {
    if (!get) respond_error(req, 405, "method_not_allowed", "Allow: GET\r\n", "use GET");
    else if (!strcmp(p, "/healthz")) gw_http_respond(req, 200, "application/json", "{\"status\":\"alive\"}", 18, NULL);
    else if (!strcmp(p, "/readyz")) get_readyz(srv, req);
    else get_metrics(srv, req);
  } else {
    respond_error(req, 404, "not_found", NULL, "no resource at %s", p);
  }
}

/* ---- start and stop ------------------------------------------------------ */

static void on_http_closed(void *ud) {
  gw_server *srv = ud;
  srv->http = NULL;
  for (int i = 0; i < 2; i++) uv_close((uv_handle_t *)&srv->sig[i], NULL);
  /* Everything answered: flush what is left (dead letters) and let go. */
  gw_kafka_producer_close(srv->kafka, (int)srv->cfg->produce_timeout_ms + 1000);
  srv->kafka = NULL;
  gw_log(GW_LOG_INFO, "stopped", "all requests answered, producer flushed");
}

static void check_drain(gw_server *srv) {
  if (srv->draining && srv->inflight == 0 && srv->http) {
    gw_http_server *h = srv->http;
    srv->draining = 2; /* closing: don't close twice */
    gw_http_server_close(h, on_http_closed, srv);
  }
}

static void on_signal(uv_signal_t *h, int signum) {
  gw_server *srv = h->data;
  if (++srv->signals > 1) {
    gw_log(GW_LOG_WARN, "signal", "second signal (%d): stopping at once", signum);
    srv->forced = 1;
    uv_stop(&srv->loop);
    return;
  }
  gw_log(GW_LOG_INFO, "signal", "signal %d: no new connections, finishing %zu message(s) in flight", signum,
         srv->inflight);
  srv->draining = 1;
  if (srv->http) gw_http_server_stop_accepting(srv->http);
  check_drain(srv);
}

/* A directory holds trust material when it has a certificate or CRL file;
 * an absent or empty one (like the repository's certs/CC placeholders) means
 * no trust store for that country: its signed documents are refused. */
static int has_trust_files(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int found = 0;
  for (struct dirent *e; !found && (e = readdir(d));) {
    const char *dot = strrchr(e->d_name, '.');
    found = dot && (!strcmp(dot, ".pem") || !strcmp(dot, ".crt") || !strcmp(dot, ".cer") || !strcmp(dot, ".der") ||
                    !strcmp(dot, ".crl"));
  }
  closedir(d);
  return found;
}

static int load_trust(gw_server *srv, gw_error *err) {
  gw_config *cfg = srv->cfg;
  if (gw_trust_crl_policy_parse(cfg->crl_policy, &srv->crl_policy))
    return GW_ERR(err, GW_ECONFIG, "trust.crl_policy: '%s' is neither soft nor hard", cfg->crl_policy);
  for (const char *s = cfg->require_signature; s && *s;) {
    while (*s == ' ' || *s == ',') s++;
    size_t l = strcspn(s, ", ");
    for (int k = 0; k < GW_K_COUNT; k++)
      if ((l == 3 && !strncmp(s, "all", 3)) || (strlen(gw_kind_names[k]) == l && !strncmp(s, gw_kind_names[k], l)))
        srv->require_sig |= 1u << k;
    s += l;
  }
  for (size_t i = 0; i < cfg->n_countries; i++) {
    const gw_country_profile *p = &cfg->countries[i];
    if (!p->trust_store) continue;
    char path[4096];
    if (p->trust_store[0] == '/') snprintf(path, sizeof(path), "%s", p->trust_store);
    else snprintf(path, sizeof(path), "%s/%s", gw_config_data_dir(), p->trust_store);
    if (!has_trust_files(path)) {
      gw_log(GW_LOG_INFO, "trust", "%s: no trust store (%s holds no certificates): documents signed in %s are refused",
             p->code, path, p->code);
      continue;
    }
    gw_error e = {0};
    if (gw_trust_store_load(&srv->trust[srv->n_trust], path, &e))
      return GW_ERR(err, GW_ECONFIG, "countries.%s.trust_store: %s", p->code, e.msg);
    size_t a, o, c;
    gw_trust_store_counts(srv->trust[srv->n_trust], &a, &o, &c);
    gw_log(GW_LOG_INFO, "trust", "%s: %zu anchor(s), %zu other certificate(s), %zu CRL(s) from %s", p->code, a, o, c,
           path);
    snprintf(srv->trust_cc[srv->n_trust], sizeof(srv->trust_cc[0]), "%s", p->code);
    srv->n_trust++;
  }
  return 0;
}

int gw_serve_run(gw_config *cfg, const gw_serve_options *opt, gw_error *err) {
  static const gw_serve_options none = {0};
  if (!opt) opt = &none;
  gw_server *srv = calloc(1, sizeof(*srv));
  if (!srv) return GW_ERR(err, GW_ENOMEM, "out of memory");
  srv->cfg = cfg;
  srv->opt = opt;
  int ll = gw_log_level_parse(cfg->log_level);
  if (ll >= 0) gw_log_set_level((enum gw_log_level)ll);
  /* libuv reads this once, at the first uv_queue_work. */
  char nthreads[16];
  snprintf(nthreads, sizeof(nthreads), "%u", cfg->workers);
  setenv("UV_THREADPOOL_SIZE", nthreads, 1);
  signal(SIGPIPE, SIG_IGN);
  int rc = uv_loop_init(&srv->loop);
  if (rc) {
    free(srv);
    return GW_ERR(err, GW_EIO, "uv_loop_init: %s", uv_strerror(rc));
  }
  char schema_dir[4096];
  snprintf(schema_dir, sizeof(schema_dir), "%s/schemas", gw_config_data_dir());
  srv->anon_role = (gw_role)(gw_role_parse(cfg->anon_role) > 0 ? gw_role_parse(cfg->anon_role) : 0);
  srv->access = gw_access_new(cfg->rate_limit, cfg->rate_burst, cfg->replay_entries, (uint64_t)cfg->replay_window_s * 1000);
  rc = srv->access ? 0 : GW_ERR(err, GW_ENOMEM, "out of memory");
  if (!rc) rc = gw_registry_new(schema_dir, cfg, &srv->formats, err);
  if (!rc) rc = gw_registry_check_profiles(srv->formats, cfg, err);
  if (!rc) rc = gw_signer_load(&srv->signer, cfg->sign_key, cfg->sign_cert, cfg->sign_algorithm, err);
  if (!rc) rc = load_trust(srv, err);
  if (!rc) rc = gw_kafka_producer_start(&srv->loop, cfg, on_delivery, &srv->kafka, err);
  gw_http_config hc = {
      .listen = opt->listen ? opt->listen : cfg->listen,
      .tls = !cfg->plain_http,
      .cert_file = cfg->tls_cert,
      .key_file = cfg->tls_key,
      .client_ca_file = cfg->tls_client_ca,
      .require_client_cert = cfg->tls_require_client_cert,
      .max_body = cfg->max_body,
      .max_header_bytes = cfg->max_header_bytes,
      .header_timeout_ms = cfg->header_timeout_ms,
      .body_timeout_ms = cfg->body_timeout_ms,
      .idle_timeout_ms = cfg->idle_timeout_ms,
      .backlog = 1024,
      .reuseport = cfg->reuseport,
  };
  if (!rc) rc = gw_http_server_start(&srv->loop, &hc, on_request, srv, &srv->http, err);
  if (!rc) {
    for (int i = 0; i < 2; i++) {
      uv_signal_init(&srv->loop, &srv->sig[i]);
      srv->sig[i].data = srv;
      uv_signal_start(&srv->sig[i], on_signal, i ? SIGINT : SIGTERM);
    }
    gw_log(GW_LOG_INFO, "listening", "%s://%s (port %d), country %s, %zu format(s), kafka %s",
           hc.tls ? "https" : "http", hc.listen, gw_http_server_port(srv->http), cfg->country,
           gw_registry_count(srv->formats), cfg->kafka_mock ? "mock cluster" : "brokers");
    if (opt->on_listening) opt->on_listening(gw_http_server_port(srv->http), opt->ud);
    uv_run(&srv->loop, UV_RUN_DEFAULT);
    if (srv->forced) return GW_ECANCELED; /* threads may still run: leave everything */
  } else {
    if (srv->kafka) gw_kafka_producer_close(srv->kafka, 0);
    uv_run(&srv->loop, UV_RUN_DEFAULT); /* let closing handles finish */
  }
  int lc = uv_loop_close(&srv->loop);
  if (lc) gw_log(GW_LOG_WARN, "loop_close", "loop still has handles: %s", uv_strerror(lc));
  gw_signer_free(srv->signer);
  for (size_t i = 0; i < srv->n_trust; i++) gw_trust_store_free(srv->trust[i]);
  gw_registry_free(srv->formats);
  gw_access_free(srv->access);
  free(srv);
  return rc;
}
