/* lmcgw — the canonical model: one tree of C structs for a consignment and
 * its documents (customs declaration, its response, SPS certificate and its
 * acknowledgement). Adapters only convert between a wire format and this
 * model, so N formats need N adapters, not N x N.
 *
 * Alignment: names follow the WCO Data Model 3.x classes (Declaration,
 * GoodsShipment, GovernmentAgencyGoodsItem, Party roles, TransportMeans) and
 * the UN/CEFACT SPS Certificate (SPSExchangedDocument, SPSConsignment,
 * SPSTradeLineItem, AppliedSPSTreatment, IncludedSPSNote).
 *
 * Every scalar is a string (char *, NULL when absent) exactly as the wire
 * format carried it after whitespace trimming: decimals stay decimal text so
 * that no value changes through a round trip, and business rules parse what
 * they need. Dates are ISO 8601 text (YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[Z]).
 * Repeated parts are (pointer, count) pairs.
 *
 * The layout is described once, in the field tables of model.c; JSON,
 * canonical XML, comparison, freeing and random generation all walk those
 * tables, so adding a field here and one line there is all a new field needs.
 *
 * Ownership: a gw_consignment and everything it points to is heap memory owned
 * by whoever holds the struct; gw_model_free releases it all. Setters
 * (gw_model_set) take a copy. */
#ifndef GW_MODEL_MODEL_H
#define GW_MODEL_MODEL_H

#include <stddef.h>

#include "core/error.h"

typedef struct gw_address {
  char *line;          /* street and number */
  char *city;
  char *postcode;
  char *subdivision;   /* country subdivision (province) */
  char *country;       /* ISO 3166-1 alpha-2 */
} gw_address;

/* Roles: the WCO party roles plus the SPS ones. */
#define GW_ROLE_EXPORTER "exporter"
#define GW_ROLE_IMPORTER "importer"
#define GW_ROLE_CONSIGNOR "consignor"
#define GW_ROLE_CONSIGNEE "consignee"
#define GW_ROLE_DECLARANT "declarant"
#define GW_ROLE_CARRIER "carrier"
#define GW_ROLE_AUTHORITY "authority" /* issuing authority of a certificate */

typedef struct gw_party {
  char *role;          /* one of GW_ROLE_* */
  char *id;            /* e.g. EORI, TIN, business number */
  char *id_scheme;     /* who issued id (free text or scheme code) */
  char *name;
  gw_address address;
  char *contact;       /* person or phone, free text */
} gw_party;

typedef struct gw_measure {
  char *value;         /* decimal text */
  char *unit;          /* UN/ECE Recommendation 20 code (KGM, LTR, ...) */
} gw_measure;

typedef struct gw_amount {
  char *value;         /* decimal text */
  char *currency;      /* ISO 4217 */
} gw_amount;

/* A referenced document: previous document, licence, invoice, certificate. */
typedef struct gw_docref {
  char *type;          /* UN/EDIFACT 1001 document name code or national code */
  char *id;
  char *issued;        /* date */
  char *issuer;        /* issuing country or authority */
} gw_docref;

typedef struct gw_location {
  char *code;          /* UN/LOCODE (CC + 3) or customs office code */
  char *name;
  char *country;       /* ISO 3166-1 alpha-2 */
} gw_location;

typedef struct gw_transport {
  char *mode;          /* UN/ECE Recommendation 19 (1 sea, 2 rail, 3 road, 4 air...) */
  char *means_type;    /* e.g. 31 truck, vessel type */
  char *means_id;      /* registration plate, IMO number, flight */
  char *nationality;   /* ISO 3166-1 alpha-2 */
  char *journey_id;    /* conveyance reference / voyage */
  char *container;     /* "1" in containers, "0" not, NULL unknown */
} gw_transport;

typedef struct gw_equipment {
  char *id;            /* container number (ISO 6346) */
  char *size_type;     /* ISO 6346 size and type code */
  char *seal;          /* seal number */
} gw_equipment;

typedef struct gw_treatment {
  char *type;          /* e.g. fumigation, cold treatment */
  char *chemical;      /* active ingredient */
  char *concentration; /* text with unit */
  char *duration;
  char *temperature;
  char *date;
} gw_treatment;

typedef struct gw_note {
  char *subject;       /* SPS note subject code / declaration type */
  char *text;
} gw_note;

typedef struct gw_item {
  char *sequence;      /* 1-based, decimal text */
  char *hs_code;       /* 6 to 10 digits */
  char *description;
  gw_measure quantity; /* supplementary quantity */
  gw_measure gross_weight;
  gw_measure net_weight;
  gw_amount value;     /* statistical / customs value */
  char *origin_country;
  char *package_type;  /* UN/ECE Recommendation 21 */
  char *package_count;
  char *package_marks;
  /* SPS facts, per trade line item */
  char *commodity;     /* common name */
  char *scientific_name; /* botanical or zoological name */
  char *intended_use;
  char *production_place;
  gw_treatment *treatments;
  size_t n_treatments;
  gw_docref *documents;
  size_t n_documents;
} gw_item;

/* The SPS certificate's own facts (document level). */
typedef struct gw_sps {
  char *cert_type;     /* UN/EDIFACT 1001: 851 phytosanitary, 852 sanitary, 853 veterinary... */
  char *status;        /* UN/EDIFACT 1373: 70 original, 39 approved... */
  char *issued_at;
  char *issue_place;
  char *signatory;     /* name of the authorised officer */
  char *signed_at;
  char *inspection;    /* inspection summary (date, place, result) */
  gw_note *declarations; /* additional declarations and other notes */
  size_t n_declarations;
} gw_sps;

/* A response to a declaration (RES-DMS, CUSRES) or an acknowledgement. */
typedef struct gw_response {
  char *status;        /* function/status code, e.g. WCO 01 accepted, 09 rejected */
  char *decision;      /* ACCEPTED, INSPECTION_REQUIRED, RELEASED, REFUSED (lmcgw) */
  char *issued_at;
  char *ref_id;        /* the declaration or certificate responded to */
  char *digest;        /* "sha256:" + hex of the exact bytes acknowledged (receipts) */
  gw_note *errors;     /* subject = error code, text = description */
  size_t n_errors;
} gw_response;

/* What kind of document the consignment record carries. */
#define GW_KIND_DECLARATION "declaration"
#define GW_KIND_RESPONSE "response"
#define GW_KIND_SPS "sps_certificate"
#define GW_KIND_SPS_ACK "sps_acknowledgement"
#define GW_KIND_CO "certificate_of_origin" /* e.g. ASEAN-China Form E */

typedef struct gw_consignment {
  char *kind;          /* GW_KIND_* */
  char *type_code;     /* declaration type (WCO 1 IM/EX/CO) or certificate type */
  char *type_extra;    /* additional declaration type (A, B, D, ...) */
  char *function_code; /* UN/EDIFACT 1225: 9 original, 5 replace, 1 cancel... */
  char *lrn;           /* functional reference of the sender */
  char *ucr;           /* unique consignment reference (WCO) */
  char *mrn;           /* movement reference number given by customs */
  char *cert_id;       /* certificate number (SPS) */
  char *issued_at;
  char *declaration_office; /* customs office code */
  char *exit_office;
  char *export_country;
  char *import_country;
  char *dispatch_country;
  char *destination_country;
  gw_location loading;
  gw_location unloading;
  gw_location entry_point;
  gw_transport border_transport;
  gw_transport departure_transport;
  char *incoterm;
  gw_amount invoice;
  char *total_packages;
  char *declared_items;  /* the item count the declaration states */
  gw_measure total_gross_weight;
  gw_party *parties;
  size_t n_parties;
  gw_item *items;
  size_t n_items;
  gw_docref *documents;
  size_t n_documents;
  gw_equipment *equipment; /* transport equipment (containers) */
  size_t n_equipment;
  gw_sps sps;
  gw_response response;
  gw_note *remarks;    /* free-text remarks, AI statements */
  size_t n_remarks;
} gw_consignment;

/* ---- field tables ---------------------------------------------------------- */

typedef enum gw_field_type { GW_FT_STR, GW_FT_STRUCT, GW_FT_ARRAY } gw_field_type;

typedef struct gw_struct_desc gw_struct_desc;

typedef struct gw_field {
  const char *name;        /* JSON key and canonical XML element name */
  gw_field_type type;
  size_t offset;           /* of the char *, the struct, or the array pointer */
  size_t count_offset;     /* GW_FT_ARRAY: of the size_t count */
  const gw_struct_desc *sub; /* GW_FT_STRUCT / GW_FT_ARRAY: element layout */
  const char *doc;         /* one line for `lmcgw formats --fields` and the JSON Schema */
} gw_field;

struct gw_struct_desc {
  const char *name;        /* "consignment", "party", ... */
  size_t size;
  const gw_field *fields;  /* terminated by {NULL} */
};

extern const gw_struct_desc gw_consignment_desc;

/* ---- operations ------------------------------------------------------------ */

void gw_model_free(gw_consignment *c);

/* Frees any struct described by d (not the struct's own storage). */
void gw_model_free_struct(const gw_struct_desc *d, void *obj);

/* Sets *slot to a trimmed copy of the n bytes at s (n < 0: strlen). Empty or
 * whitespace-only input leaves NULL. Returns 0 or GW_ENOMEM. */
int gw_model_set(char **slot, const char *s, long n);

/* Appends a zeroed element to an array field and returns it, NULL on ENOMEM. */
void *gw_model_push(void **arr, size_t *n, size_t elem_size);
#define GW_MODEL_PUSH(arr, n) ((__typeof__(*(arr)) *)gw_model_push((void **)&(arr), &(n), sizeof(*(arr))))

/* Deep comparison. Returns 0 when equal; otherwise 1 and writes the path of
 * the first difference ("items[2].net_weight.value") to where. */
int gw_model_compare(const gw_consignment *a, const gw_consignment *b, char *where, size_t where_len);

/* Puts the model in canonical order: parties by role (exporter, importer,
 * consignor, consignee, declarant, carrier, authority, others), stable.
 * Formats order parties differently; their meaning is in the role. The
 * registry applies it to every decoded message. */
void gw_model_normalize(gw_consignment *c);

/* The party with this role (first one), NULL when none. */
gw_party *gw_model_party(const gw_consignment *c, const char *role);

/* Number of set scalar fields (a measure of how much a decode captured). */
size_t gw_model_count_fields(const gw_consignment *c);

/* Visits every set scalar with its path ("parties[1].address.city"). */
typedef void (*gw_model_visit_fn)(const char *path, const char *value, void *ud);
void gw_model_visit(const gw_consignment *c, gw_model_visit_fn fn, void *ud);

#endif
