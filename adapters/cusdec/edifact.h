/* lmcgw — UN/EDIFACT syntax (ISO 9735): a parser for interchanges, a writer,
 * and a checker of message structures given as tables. Not tied to CUSDEC:
 * any EDIFACT adapter may use it.
 *
 * The parser reads the whole interchange into flat arrays (segments ->
 * elements -> components, all text unescaped, NUL-terminated and in UTF-8) so
 * decoders index it freely. Input is bounded (GW_EDI_MAX_*), nothing recurses
 * on input, and every size computation is overflow-checked.
 *
 * Problem paths name the segment by its 1-based number in the interchange
 * (UNA is not a segment), its tag and its byte offset in the input, e.g.
 * "segment 12 (LOC) at byte 340, element 2"; lines are 1-based input lines.
 *
 * Ownership: a gw_edi_interchange owns its arrays; gw_edi_free releases them.
 * A gw_edi_writer owns its buffer until gw_edi_w_take hands it over. */
#ifndef GW_ADAPTERS_CUSDEC_EDIFACT_H
#define GW_ADAPTERS_CUSDEC_EDIFACT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/problems.h"

#define GW_EDI_MAX_INPUT ((size_t)16 << 20) /* bytes of one interchange */
#define GW_EDI_MAX_SEGMENTS 200000          /* per interchange */
#define GW_EDI_MAX_ELEMENTS 99              /* per segment */
#define GW_EDI_MAX_COMPONENTS 99            /* per element */
#define GW_EDI_MAX_VALUE 512                /* characters of one component (an..512 is the longest in use) */

typedef struct gw_edi_delims {
  char comp;    /* component data element separator, default ':' */
  char data;    /* data element separator, default '+' */
  char decimal; /* decimal mark, default '.' */
  char release; /* release (escape) character, default '?' */
  char rep;     /* repetition separator (syntax 4) or ' ' (reserved) */
  char seg;     /* segment terminator, default '\'' */
} gw_edi_delims;

extern const gw_edi_delims gw_edi_default_delims;

typedef struct gw_edi_segment {
  char tag[4];
  size_t offset;   /* byte offset of the tag in the input */
  long line;       /* 1-based input line of the tag */
  size_t first_el, n_el; /* into gw_edi_interchange.elements; element 0 is the first after the tag */
} gw_edi_segment;

typedef struct gw_edi_element {
  size_t first_comp, n_comp; /* into gw_edi_interchange.comps */
} gw_edi_element;

typedef struct gw_edi_message {
  size_t unh, unt;    /* segment indexes (0-based) of UNH and UNT */
  const char *ref;    /* 0062 message reference */
  const char *type;   /* 0065, e.g. "CUSDEC" */
  const char *version, *release, *agency; /* 0052 "D", 0054 "99B", 0051 "UN" */
} gw_edi_message;

typedef struct gw_edi_interchange {
  gw_edi_delims delims;
  int has_una;
  char syntax[5];      /* "UNOC" */
  int syntax_version;  /* 0002: 1..4 */
  const char *sender, *recipient, *date, *time, *control_ref;
  gw_edi_segment *segs;
  size_t n_segs, cap_segs;
  gw_edi_element *elements;
  size_t n_elements, cap_elements;
  size_t *comps;       /* offsets into text */
  size_t n_comps, cap_comps;
  char *text;          /* arena of NUL-terminated component texts */
  size_t text_len, text_cap;
  gw_edi_message *msgs;
  size_t n_msgs, cap_msgs;
  size_t n_packages;   /* UNO..UNP objects (syntax 4 part 8), skipped */
  gw_problems ctl;     /* control count/reference mismatches, see gw_edi_check_controls */
} gw_edi_interchange;

/* Parses and checks the syntax and the envelope nesting (UNA, UNB..UNZ,
 * UNG..UNE, UNH..UNT, UNO/UNP objects, character set). ix must be zeroed;
 * free it with gw_edi_free also on failure. Returns 0, GW_EPARSE (not
 * well-formed), GW_ESCHEMA (envelope misnested), GW_ETOOBIG or GW_ENOMEM,
 * with problems. Control counts and references are checked too, but reported
 * only by gw_edi_check_controls, so that a reader of third-party files can
 * tell a malformed interchange from one whose trailer numbers are wrong. */
int gw_edi_parse(const char *data, size_t len, gw_edi_interchange *ix, gw_problems *p);

/* Adds the control problems found by gw_edi_parse (unt_count, unt_reference,
 * unz_count, unz_reference, une_count, une_reference) to p. Returns 0 when
 * there are none, GW_ESCHEMA otherwise. */
int gw_edi_check_controls(const gw_edi_interchange *ix, gw_problems *p);
void gw_edi_free(gw_edi_interchange *ix);

/* Component comp of element el of segment seg (all 0-based), NULL when absent
 * or empty. */
const char *gw_edi_get(const gw_edi_interchange *ix, size_t seg, size_t el, size_t comp);

/* Writes "segment N (TAG) at byte B" (+ ", element E" when el > 0, 1-based)
 * into buf. */
void gw_edi_path(const gw_edi_interchange *ix, size_t seg, size_t el, char *buf, size_t cap);

/* 0..100: how sure we are that data is an EDIFACT interchange (UNA or UNB at
 * the start after an optional UTF-8 BOM and whitespace). */
int gw_edi_sniff(const char *data, size_t len);

/* ---- structure tables ------------------------------------------------------ */

/* One node of a message structure in pre-order: a segment, or a segment group
 * (tag "" and name "SGn") whose children follow it with depth + 1. The first
 * child of a group is its trigger segment. */
typedef struct gw_edi_node {
  const char *tag;     /* segment tag, or "SGn" for a group */
  uint8_t depth;       /* 0 = message level */
  uint8_t group;       /* 1 when this is a group */
  uint8_t mandatory;
  uint32_t max;        /* maximum repetitions */
} gw_edi_node;

typedef struct gw_edi_structure {
  const char *name;    /* "CUSDEC D99B" */
  const gw_edi_node *nodes;
  size_t n_nodes;
} gw_edi_structure;

/* Checks message m of ix (UNH..UNT inclusive) against st: order, groups,
 * mandatory segments, repetitions, unknown segments. Problem codes:
 * structure_missing, structure_repeat, structure_unknown, structure_order.
 * Returns 0 or GW_ESCHEMA. */
int gw_edi_check_structure(const gw_edi_interchange *ix, size_t m, const gw_edi_structure *st, gw_problems *p);

/* ---- writer ---------------------------------------------------------------- */

typedef struct gw_edi_writer {
  char *buf;
  size_t len, cap;
  gw_edi_delims d;
  int newline;        /* '\n' after each segment terminator (readability) */
  int err;            /* first error (GW_ENOMEM, GW_ETOOBIG); later calls do nothing */
  size_t n_segs;      /* segments written so far (UNA not counted) */
  size_t pend_data, pend_comp; /* separators owed before the next non-empty value */
  int in_seg;
} gw_edi_writer;

/* d NULL: the defaults. Writes a UNA when una is set. */
void gw_edi_w_init(gw_edi_writer *w, const gw_edi_delims *d, int una, int newline);
void gw_edi_w_seg(gw_edi_writer *w, const char *tag);  /* starts a segment */
void gw_edi_w_el(gw_edi_writer *w, const char *v);     /* next element, first component v (NULL: empty) */
void gw_edi_w_comp(gw_edi_writer *w, const char *v);   /* next component of the current element */
void gw_edi_w_end(gw_edi_writer *w);                   /* trailing empties dropped, terminator added */
/* Returns 0 and hands over the malloc'd bytes (NUL-terminated), or the first
 * error. The writer is empty afterwards. */
int gw_edi_w_take(gw_edi_writer *w, char **out, size_t *len);
void gw_edi_w_free(gw_edi_writer *w);

#endif
