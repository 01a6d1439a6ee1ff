#include "pipeline/process.h"

#include <dirent.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>

#include "core/log.h"
#include "metrics/metrics.h"
#include "pipeline/check.h"
#include "pipeline/xml.h"
#include "status/event.h"

/* ---- opening: formats, key, trust stores ---------------------------------- */

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

static int load_trust(gw_pipeline *p, gw_error *err) {
  const gw_config *cfg = p->cfg;
  if (gw_trust_crl_policy_parse(cfg->crl_policy, &p->crl_policy))
    return GW_ERR(err, GW_ECONFIG, "trust.crl_policy: '%s' is neither soft nor hard", cfg->crl_policy);
  for (const char *s = cfg->require_signature; s && *s;) {
    while (*s == ' ' || *s == ',') s++;
    size_t l = strcspn(s, ", ");
    for (int k = 0; k < GW_K_COUNT; k++)
      if ((l == 3 && !strncmp(s, "all", 3)) || (strlen(gw_kind_names[k]) == l && !strncmp(s, gw_kind_names[k], l)))
        p->require_sig |= 1u << k;
    s += l;
  }
  for (size_t i = 0; i < cfg->n_countries; i++) {
    const gw_country_profile *c = &cfg->countries[i];
    if (!c->trust_store) continue;
    char path[4096];
    if (c->trust_store[0] == '/') snprintf(path, sizeof(path), "%s", c->trust_store);
    else snprintf(path, sizeof(path), "%s/%s", gw_config_data_dir(), c->trust_store);
    if (!has_trust_files(path)) {
      gw_log(GW_LOG_INFO, "trust", "%s: no trust store (%s holds no certificates): documents signed in %s are refused",
             c->code, path, c->code);
      continue;
    }
    gw_error e = {0};
    if (gw_trust_store_load(&p->trust[p->n_trust], path, &e))
      return GW_ERR(err, GW_ECONFIG, "countries.%s.trust_store: %s", c->code, e.msg);
    size_t a, o, n;
    gw_trust_store_counts(p->trust[p->n_trust], &a, &o, &n);
    gw_log(GW_LOG_INFO, "trust", "%s: %zu anchor(s), %zu other certificate(s), %zu CRL(s) from %s", c->code, a, o, n,
           path);
    snprintf(p->trust_cc[p->n_trust], sizeof(p->trust_cc[0]), "%s", c->code);
    p->n_trust++;
  }
  return 0;
}

int gw_pipeline_open(gw_pipeline *p, const gw_config *cfg, const char *schema_dir, gw_error *err) {
  memset(p, 0, sizeof(*p));
  p->cfg = cfg;
  int rc = gw_registry_new(schema_dir, cfg, &p->formats, err);
  if (!rc) rc = gw_registry_check_profiles(p->formats, cfg, err);
  if (!rc) rc = gw_signer_load(&p->signer, cfg->sign_key, cfg->sign_cert, cfg->sign_algorithm, err);
  if (!rc) rc = load_trust(p, err);
  if (rc) gw_pipeline_close(p);
  return rc;
}

void gw_pipeline_close(gw_pipeline *p) {
  gw_signer_free(p->signer);
  for (size_t i = 0; i < p->n_trust; i++) gw_trust_store_free(p->trust[i]);
  gw_registry_free(p->formats);
  memset(p, 0, sizeof(*p));
}

/* ---- where a document comes from and goes to ------------------------------ */

static int is_back(const char *kind) { return !strcmp(kind, GW_KIND_RESPONSE) || !strcmp(kind, GW_KIND_SPS_ACK); }

/* Where a document goes when no X-Destination header says: declarations and
 * certificates to the importing country, responses and acknowledgements back
 * to the exporting one; failing both, this participant's own customs. */
static const char *model_destination(const gw_consignment *m, const char *kind) {
  int back = is_back(kind);
  const char *a = back ? m->export_country : m->destination_country;
  const char *b = back ? m->dispatch_country : m->import_country;
  return a ? a : b;
}

/* The country a document says it comes from, whose trust store must vouch for
 * its signer: the exporting side for declarations and certificates, the
 * importing side for responses and acknowledgements (as the submit policy
 * reads it), else the sender's certificate, else this gateway's country. */
static const char *claimed_country(const gw_pipeline *p, const gw_submission *in, const gw_consignment *m,
                                   const char *kind) {
  int back = is_back(kind);
  const char *c = back ? m->import_country : m->export_country;
  if (!c) c = back ? m->destination_country : m->dispatch_country;
  if (!c && in->identity && in->identity->authenticated && in->identity->country[0]) c = in->identity->country;
  return c ? c : p->cfg->country;
}

/* ---- incoming signatures ------------------------------------------------- */

static const gw_trust_store *trust_for(const gw_pipeline *p, const char *cc) {
  for (size_t i = 0; cc && i < p->n_trust; i++)
    if (!strcmp(p->trust_cc[i], cc)) return p->trust[i];
  return NULL;
}

/* Verifies the sender's XMLDSig signature when the document has one, and
 * demands one where trust.require_signature says so. Problems go to out
 * (code signature_<reason>); a verified signature is described in
 * out->signature. Returns 1 when the document carries a verified signature. */
static int verify_incoming(const gw_pipeline *p, const gw_submission *in, const gw_decoded *dec, gw_processed *out) {
  int ki = gw_kind_index(dec->kind);
  int required = ki >= 0 && (p->require_sig & (1u << ki));
  xmlNodePtr root = dec->doc ? xmlDocGetRootElement(dec->doc) : NULL;
  int is_signed = root && xmlSecFindNode(root, xmlSecNodeSignature, xmlSecDSigNs);
  if (!is_signed) {
    if (required && dec->doc)
      gw_problems_add(&out->problems, "signature_required", "error", 0, NULL,
                      "a %s must carry its sender's XMLDSig signature (trust.require_signature)", dec->kind);
    else if (required)
      gw_problems_add(&out->problems, "signature_required", "error", 0, NULL,
                      "a %s must carry its sender's XMLDSig signature (trust.require_signature), and the %s format "
                      "cannot hold one: send the signed XML form",
                      dec->kind, dec->adapter->name);
    return 0;
  }
  const char *cc = claimed_country(p, in, &dec->model, dec->kind);
  const gw_trust_store *ts = trust_for(p, cc);
  if (!ts) {
    gw_problems_add(&out->problems, "signature_untrusted", "error", 0, "Signature",
                    "the document is signed, but this gateway has no trust store for %s (countries.%s.trust_store), "
                    "so the signer cannot be trusted",
                    cc, cc);
    return 0;
  }
  gw_trust_opts o = {.country = cc, .crl_policy = p->crl_policy};
  gw_trust_result r;
  gw_error e = {0};
  int rc = gw_trust_verify_doc(ts, dec->doc, &o, &r, &e);
  if (rc == GW_ECRYPTO || (rc == 0 && r.status != GW_TRUST_OK)) {
    char code[64];
    snprintf(code, sizeof(code), "signature_%s", gw_trust_status_code(r.status));
    gw_problems_add(&out->problems, code, "error", 0, "Signature", "%s%s%s", r.message, r.signer[0] ? "; signer: " : "",
                    r.signer);
    return 0;
  }
  if (rc) {
    gw_problems_add(&out->problems, "internal", "error", 0, "Signature", "signature verification failed: %s", e.msg);
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
  free(out->signature);
  out->signature = json_dumps(o2, JSON_COMPACT);
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

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* What the status events say about the document (see gw_processed). */
static void describe(const gw_pipeline *p, const gw_submission *in, const gw_decoded *dec, gw_processed *out) {
  const gw_consignment *m = &dec->model;
  out->document_number = dup_or_null(m->cert_id ? m->cert_id
                                     : !strcmp(dec->kind, GW_KIND_RESPONSE) || !strcmp(dec->kind, GW_KIND_SPS_ACK)
                                         ? m->response.ref_id
                                         : m->lrn);
  out->origin = dup_or_null(claimed_country(p, in, m, dec->kind));
  out->decision = dup_or_null(m->response.decision);
  for (size_t i = 0; i < m->n_items && out->n_hs < GW_PROCESSED_MAX_HS; i++)
    if (m->items[i].hs_code) out->hs_codes[out->n_hs++] = strdup(m->items[i].hs_code);
  for (size_t i = 0; i < m->n_documents && out->n_cites < GW_PROCESSED_MAX_CITES; i++)
    if (m->documents[i].type && m->documents[i].id) {
      out->cites[out->n_cites][0] = strdup(m->documents[i].type);
      out->cites[out->n_cites++][1] = strdup(m->documents[i].id);
    }
  for (size_t i = 0; i < m->n_items; i++)
    for (size_t k = 0; k < m->items[i].n_documents && out->n_cites < GW_PROCESSED_MAX_CITES; k++) {
      const gw_docref *d = &m->items[i].documents[k];
      if (d->type && d->id) {
        out->cites[out->n_cites][0] = strdup(d->type);
        out->cites[out->n_cites++][1] = strdup(d->id);
      }
    }
}

static void add_header(gw_processed *out, const char *name, const char *value) {
  if (value && out->n_headers < GW_PROCESSED_MAX_HEADERS) out->headers[out->n_headers++] = (gw_kafka_header){name, value};
}

/* ---- the pipeline ----------------------------------------------------------- */

void gw_process_begin(const gw_pipeline *p, const gw_submission *in, gw_processed *out) {
  memset(out, 0, sizeof(*out));
  uint64_t t0 = uv_hrtime();
  gw_decoded dec = {0};

  unsigned char d[32];
  char hex[80] = "sha256:";
  EVP_Digest(in->body, in->len, d, NULL, EVP_sha256(), NULL);
  for (int i = 0; i < 32; i++) snprintf(hex + 7 + 2 * i, 3, "%02x", d[i]);
  out->digest = strdup(hex);

  int dr = gw_registry_decode(p->formats, in->body, in->len, in->format_hint, &dec, &out->problems);
  uint64_t t1 = uv_hrtime();
  gw_metrics_stage(GW_STAGE_VALIDATE, t1 - t0);
  if (dr) {
    out->status = dr == GW_EPARSE ? 400 : dr == GW_ENOMEM ? 500 : 422;
    goto done;
  }
  out->kind = dec.kind;
  out->in_format = dec.adapter->name;
  gw_consignment *m = &dec.model;
  gw_check_message(m, &out->problems); /* code lists and business rules; errors reject below */
  if (m->ucr && in->hdr_ucr && strcmp(m->ucr, in->hdr_ucr)) {
    gw_problems_add(&out->problems, "ucr_mismatch", "error", 0, "ucr",
                    "X-UCR '%s' differs from the document's UCR '%s'", in->hdr_ucr, m->ucr);
  } else if (!m->ucr && in->hdr_ucr) {
    gw_model_set(&m->ucr, in->hdr_ucr, -1);
  } else if (!m->ucr) {
    gw_problems_add(&out->problems, "ucr_missing", "error", 0, "ucr",
                    "no consignment reference (UCR): the %s document has none and there is no X-UCR header",
                    dec.adapter->name);
  }
  if (m->ucr && (strlen(m->ucr) > 128 || strpbrk(m->ucr, "\r\n|")))
    gw_problems_add(&out->problems, "ucr_invalid", "error", 0, "ucr",
                    "the UCR must be one line of at most 128 characters, without '|'");
  out->ucr = dup_or_null(m->ucr);
  const char *doc_dest = model_destination(m, dec.kind);
  out->dest = strdup(in->hdr_dest ? in->hdr_dest : doc_dest ? doc_dest : p->cfg->country);
  if (!gw_country_code_ok(out->dest))
    gw_problems_add(&out->problems, "destination_invalid", "error", 0, in->hdr_dest ? "X-Destination" : "destination_country",
                    "destination '%s' is not an ISO 3166-1 alpha-2 country code", out->dest);
  describe(p, in, &dec, out);
  char why[300];
  int deny = gw_access_may_submit(in->identity, in->role, p->cfg->country, dec.kind, m, why, sizeof(why));
  if (deny) {
    out->problems.n = 0; /* who may send it comes before what is wrong with it */
    gw_problems_add(&out->problems, deny == 401 ? "unauthenticated" : "forbidden", "error", 0, NULL, "%s", why);
    out->status = deny;
    goto done;
  }
  size_t before_sig = out->problems.n;
  int sender_signed = verify_incoming(p, in, &dec, out);
  problems_to_front(&out->problems, before_sig); /* whether it is authentic comes before what it says */
  for (size_t i = 0; i < out->problems.n; i++)
    if (!strcmp(out->problems.items[i].severity, "error")) {
      out->status = 422;
      goto done;
    }
  /* Perishable goods (HS chapters 01-24, or flagged by the sender) take the
   * priority lane: ahead in the queue for the second half, and topics of
   * their own, so they never wait behind bulk. */
  out->perishable = in->perishable || gw_status_perishable((const char *const *)out->hs_codes, out->n_hs);
  out->sender_signed = sender_signed;
done:
  out->dec = dec; /* kept for gw_process_end; gw_processed_free frees it */
  out->t_decoded = uv_hrtime();
}

void gw_process_end(const gw_pipeline *p, const gw_submission *in, gw_processed *out) {
  if (out->status || !out->kind) return;
  uint64_t t1 = out->t_decoded;
  gw_decoded dec = out->dec;
  memset(&out->dec, 0, sizeof(out->dec));
  gw_consignment *m = &dec.model;
  int sender_signed = out->sender_signed;
  gw_encoded enc = {0};

  /* The destination's national systems get the document in their format;
   * without a profile for it, the document travels as it came. */
  const gw_country_profile *prof = gw_config_country(p->cfg, out->dest);
  int ki = gw_kind_index(dec.kind);
  const char *want = prof && ki >= 0 ? prof->receives[ki] : NULL;
  const gw_adapter *out_ad = want ? gw_registry_find(p->formats, want) : dec.adapter;
  if (!out_ad) out_ad = dec.adapter;
  out->out_format = out_ad->name;
  xmlDocPtr to_sign = NULL;
  if (out_ad == dec.adapter) {
    /* Same format: forward what was received, untouched, so nothing can be
     * lost. A document its sender signed keeps that signature alone (a
     * second enveloped one would break the one-signature rule receivers
     * verify by); the gateway's own signature then travels as a JWS. */
    if (dec.doc && !sender_signed) to_sign = dec.doc;
    else out->payload = in->body, out->payload_len = in->len;
  } else {
    int er = gw_registry_encode(p->formats, out_ad, m, 0, &enc, &out->problems);
    if (er) {
      out->status = er == GW_ENOMEM ? 500 : 422;
      goto done;
    }
    if (enc.out.doc) {
      to_sign = enc.out.doc;
    } else {
      out->enc_bytes = enc.bytes;
      enc.bytes = NULL;
      out->payload = out->enc_bytes, out->payload_len = enc.len;
    }
  }
  uint64_t t2 = uv_hrtime();
  gw_metrics_stage(GW_STAGE_PARSE, t2 - t1); /* translation */
  gw_error err = {0};
  if (to_sign) {
    if (gw_signer_sign(p->signer, to_sign, &err)) {
      gw_problems_add(&out->problems, "internal", "error", 0, NULL, "signing failed: %s", err.msg);
      out->status = 500;
      goto done;
    }
    uint64_t t3 = uv_hrtime();
    gw_metrics_stage(GW_STAGE_SIGN, t3 - t2);
    /* The received document goes out as received, with the signature added:
     * no second serialisation of what was parsed. */
    int sr = to_sign == dec.doc ? gw_xml_splice_last_child(to_sign, in->body, in->len, &out->xml_out, &out->payload_len)
                                : GW_ENOTFOUND;
    if (sr == GW_ENOTFOUND) sr = gw_xml_serialise(to_sign, &out->xml_out, &out->payload_len);
    if (sr) {
      gw_problems_add(&out->problems, "internal", "error", 0, NULL, "serialisation failed");
      out->status = 500;
      goto done;
    }
    out->payload = out->xml_out;
    gw_metrics_stage(GW_STAGE_SERIALIZE, uv_hrtime() - t3);
  } else {
    if (gw_signer_jws_detached(p->signer, out->payload, out->payload_len, &out->jws, &err)) {
      gw_problems_add(&out->problems, "internal", "error", 0, NULL, "signing failed: %s", err.msg);
      out->status = 500;
      goto done;
    }
    gw_metrics_stage(GW_STAGE_SIGN, uv_hrtime() - t2);
  }
  snprintf(out->topic, sizeof(out->topic), "%s.%s.%s%s", p->cfg->topic_prefix, out->dest, dec.kind,
           out->perishable ? ".priority" : "");
  out->warnings = out->problems.n ? gw_problems_json(&out->problems, NULL) : NULL;
  add_header(out, "lmcgw-message-id", in->id);
  add_header(out, "lmcgw-ucr", out->ucr);
  add_header(out, "lmcgw-sender", in->sender);
  add_header(out, "lmcgw-origin", p->cfg->country);
  add_header(out, "lmcgw-destination", out->dest);
  add_header(out, "lmcgw-document-type", out->kind);
  add_header(out, "lmcgw-format", out_ad->name);
  add_header(out, "lmcgw-source-format", dec.adapter->name);
  add_header(out, "lmcgw-received-at", in->received_at);
  add_header(out, "content-type", out_ad->media_type);
  add_header(out, "lmcgw-priority", out->perishable ? "perishable" : "normal");
  add_header(out, "lmcgw-signature", out->signature); /* the sender's verified signature, when there was one */
  add_header(out, "lmcgw-jws", out->jws);
  add_header(out, "lmcgw-warnings", out->warnings);
  out->status = 0;
done:
  gw_encoded_free(&enc);
  gw_decoded_free(&dec);
}

void gw_process(const gw_pipeline *p, const gw_submission *in, gw_processed *out) {
  gw_process_begin(p, in, out);
  gw_process_end(p, in, out);
}

/* A signed receipt for what was received: an SPS acknowledgement for SPS
 * documents, a RES-DMS:2 response (function 02, received, as HMRC's DMSRCV)
 * for the others, carrying the SHA-256 of the exact bytes received, so
 * neither side can later deny the exchange. */
void gw_process_receipt(const gw_pipeline *p, const gw_submission *in, gw_processed *out) {
  if (!out->kind) return;
  int sps = !strcmp(out->kind, GW_KIND_SPS) || !strcmp(out->kind, GW_KIND_SPS_ACK);
  const gw_adapter *a = gw_registry_find(p->formats, sps ? "sps" : "wco-dec");
  if (!a) return;
  char when[32];
  snprintf(when, sizeof(when), "%.19sZ", in->received_at); /* no milliseconds: 304 has none */
  gw_consignment r = {0};
  gw_model_set(&r.kind, sps ? GW_KIND_SPS_ACK : GW_KIND_RESPONSE, -1);
  gw_model_set(&r.response.status, sps ? "39" : "02", -1);
  gw_model_set(&r.response.issued_at, when, -1);
  gw_model_set(&r.response.ref_id, out->document_number ? out->document_number : out->ucr, -1);
  gw_model_set(&r.response.digest, out->digest, -1);
  if (!sps && out->document_number && !strcmp(out->kind, GW_KIND_DECLARATION)) gw_model_set(&r.lrn, out->document_number, -1);
  gw_encoded e = {0};
  gw_problems pr = {0};
  gw_error err = {0};
  size_t len = 0;
  if (gw_registry_encode(p->formats, a, &r, 0, &e, &pr) || !e.out.doc || gw_signer_sign(p->signer, e.out.doc, &err) ||
      gw_xml_serialise(e.out.doc, &out->receipt, &len))
    gw_log_msg(GW_LOG_WARN, "receipt", in->id, out->ucr, "no receipt: %s", pr.n ? pr.items[0].message : err.msg);
  gw_encoded_free(&e);
  gw_problems_free(&pr);
  gw_model_free(&r);
}

/* memmem without _GNU_SOURCE. */
static const char *find(const char *h, size_t hl, const char *needle, size_t nl) {
  for (size_t i = 0; nl && i + nl <= hl; i++)
    if (h[i] == needle[0] && !memcmp(h + i, needle, nl)) return h + i;
  return NULL;
}

static int chapter_perishable(const char *d, size_t n, size_t from) {
  /* The first run of at least four digits within a short distance. */
  for (size_t i = from; i < n && i < from + 80; i++) {
    size_t k = i;
    while (k < n && d[k] >= '0' && d[k] <= '9') k++;
    if (k - i >= 4) {
      int ch = (d[i] - '0') * 10 + (d[i + 1] - '0');
      return ch >= 1 && ch <= 24;
    }
    if (k > i) i = k;
  }
  return 0;
}

int gw_sniff_perishable(const char *data, size_t len) {
  size_t n = len < 65536 ? len : 65536;
  if (!data || !n) return 0;
  if (find(data, n, "SPSCertificate", 14)) return 1; /* plant and animal health */
  static const char *const keys[] = {"<Classification>", "Commodity_code>", "\"hs_code\"", "CST+", NULL};
  for (const char *const *k = keys; *k; k++) {
    size_t kl = strlen(*k);
    for (const char *p = find(data, n, *k, kl); p; p = find(p + kl, n - (size_t)(p + kl - data), *k, kl))
      if (chapter_perishable(data, n, (size_t)(p - data) + kl)) return 1;
  }
  return 0;
}

void gw_processed_free(gw_processed *out) {
  gw_decoded_free(&out->dec);
  gw_problems_free(&out->problems);
  free(out->ucr);
  free(out->dest);
  free(out->signature);
  free(out->receipt);
  free(out->document_number);
  free(out->origin);
  free(out->decision);
  for (size_t i = 0; i < out->n_hs; i++) free(out->hs_codes[i]);
  for (size_t i = 0; i < out->n_cites; i++) free(out->cites[i][0]), free(out->cites[i][1]);
  free(out->xml_out);
  free(out->jws);
  free(out->warnings);
  free(out->enc_bytes);
  free(out->digest);
  memset(out, 0, sizeof(*out));
}
