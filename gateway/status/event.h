/* lmcgw — status events: one step of one message, as carried (JSON) on the
 * <prefix>.status topic and applied to the status store (status/store.h).
 * The JSON shape is the shared contract of issue 5 (status-api.md).
 *
 * Ownership: every pointer in a gw_status_event filled by
 * gw_status_event_parse is malloc'd and released by gw_status_event_free. A
 * producer may instead fill one with borrowed pointers (string literals,
 * fields of its own structs) to print it with gw_status_event_json; it then
 * must not call gw_status_event_free on it. NULL strings print as "". */
#ifndef GW_STATUS_EVENT_H
#define GW_STATUS_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Larger records are refused (GW_ETOOBIG): an event carries at most a
 * problem list, never a document. */
#define GW_STATUS_EVENT_MAX (1u << 20)

/* In pipeline order, which is also the tie-break when two events of one
 * message carry the same timestamp. */
typedef enum gw_status_stage {
  GW_STATUS_RECEIVED = 0,
  GW_STATUS_VALIDATED,
  GW_STATUS_REJECTED,
  GW_STATUS_SIGNED,
  GW_STATUS_ROUTED,
  GW_STATUS_DELIVERED,
  GW_STATUS_DELIVERY_FAILED,
  GW_STATUS_ACKNOWLEDGED,
  GW_STATUS_ACCEPTED,            /* the four customs decisions */
  GW_STATUS_INSPECTION_REQUIRED,
  GW_STATUS_RELEASED,
  GW_STATUS_REFUSED,
  GW_STATUS_COUNT
} gw_status_stage;

/* "RECEIVED"... ; NULL for a value out of range. */
const char *gw_status_stage_name(int stage);
/* The stage named s (exact, upper case); -1 when unknown. */
int gw_status_stage_parse(const char *s);
/* 1 for ACCEPTED, INSPECTION_REQUIRED, RELEASED, REFUSED. */
int gw_status_stage_is_decision(int stage);

/* The contract's document types. */
#define GW_STATUS_DOC_DECLARATION "declaration"
#define GW_STATUS_DOC_RESPONSE "response"
#define GW_STATUS_DOC_SPS "sps_certificate"
#define GW_STATUS_DOC_SPS_ACK "sps_acknowledgement"
#define GW_STATUS_DOC_CO "certificate_of_origin"
/* 1 when s is one of the five (or "", an undetected document). */
int gw_status_doctype_valid(const char *s);

typedef struct gw_status_cite {
  char *type;   /* UN/EDIFACT 1001: 851, 852, 853 (SPS), 861 (certificate of origin), others kept */
  char *number;
} gw_status_cite;

typedef struct gw_status_signature {
  char *status, *signer, *country, *algorithm;
  char **chain;
  size_t n_chain;
} gw_status_signature;

typedef struct gw_status_problem {
  char *code, *severity, *path, *message;
  long line;
} gw_status_problem;

typedef struct gw_status_event {
  char *event_id;    /* required, non-empty */
  char *message_id;  /* required, non-empty */
  char *ucr;         /* "" when the message could not be read far enough */
  int64_t at_ms;     /* milliseconds since the epoch, UTC; printed RFC 3339 with ms */
  gw_status_stage stage;
  char *gateway, *instance;
  char *document_type; /* one of GW_STATUS_DOC_* or "" */
  char *document_number, *format, *source_format, *origin, *destination, *submitter;
  char **hs_codes;
  size_t n_hs_codes;
  gw_status_cite *cites;
  size_t n_cites;
  int perishable;                 /* 0/1 */
  gw_status_signature *signature; /* NULL: "signature": null */
  gw_status_problem *problems;
  size_t n_problems;
  char *detail;
  int decision;                   /* -1: null; else a decision stage */
} gw_status_event;

/* Parses one event (json need not be NUL-terminated). Strict on types: a
 * field of the wrong JSON type, an unknown stage, document type or decision,
 * a bad timestamp or a duplicate key is an error naming the field (in
 * err->path and err->msg); null and absent optional fields read as empty;
 * unknown fields are ignored. Returns 0, GW_EPARSE (not JSON), GW_ESCHEMA
 * (JSON, not an event), GW_ETOOBIG or GW_ENOMEM; on error *out is left empty
 * (nothing to free). */
int gw_status_event_parse(const char *json, size_t len, gw_status_event *out, gw_error *err);

/* The event as compact JSON in the contract's field order; malloc'd, NULL on
 * allocation failure. */
char *gw_status_event_json(const gw_status_event *ev);

/* Frees what gw_status_event_parse allocated and zeroes *ev. */
void gw_status_event_free(gw_status_event *ev);

/* The record key "<UCR>|<message_id>|<stage>"; malloc'd, NULL on allocation failure. */
char *gw_status_event_key(const gw_status_event *ev);

/* RFC 3339 (date 'T' time, optional fraction, 'Z' or ±hh:mm) to ms since
 * the epoch; 0 or GW_EINVAL. */
int gw_status_time_parse(const char *s, int64_t *ms);
/* "2026-11-29T04:30:00.123Z" into buf (at least 32 bytes). */
void gw_status_time_format(int64_t ms, char *buf, size_t len);

/* HS chapter (1..97) of an HS code ("081060", "0810.60"), 0 when it does not
 * start with two digits. */
int gw_status_hs_chapter(const char *hs);
/* 1 when an item's HS chapter is 01–24 (perishable agricultural goods). */
int gw_status_perishable(const char *const *hs_codes, size_t n);
/* 1 when an SPS certificate is required: chapter 01–05, 16 (animals and
 * animal products) or 06–14 (plants and plant products). */
int gw_status_needs_sps(const char *const *hs_codes, size_t n);
/* The SPS certificate an HS chapter calls for, as a 1001 code: "851"
 * (phytosanitary, 06–14), "852" (sanitary, 02–05, 16), "853" (veterinary,
 * 01 live animals); NULL when none. */
const char *gw_status_sps_code(int chapter);

#endif
