/* lmcgw — code lists and value shapes the business rules check against:
 * ISO 3166-1 alpha-2, ISO 4217, UN/ECE Recommendation 20 (full tables with
 * binary search), and shape checks for HS codes, UN/LOCODE, Rec 21 package
 * types, UN/EDIFACT 1225/1001 codes, ISO 8601 dates and decimal text.
 * All functions are pure and reentrant; tables are static and constant.
 * Predicates return 1 when the value is acceptable, 0 otherwise (NULL: 0). */
#ifndef GW_RULES_CODES_H
#define GW_RULES_CODES_H

#include <stddef.h>

typedef enum gw_code_list {
  GW_CODES_COUNTRY,  /* ISO 3166-1 alpha-2, officially assigned */
  GW_CODES_CURRENCY, /* ISO 4217 active codes (List One) */
  GW_CODES_UNIT,     /* UN/ECE Recommendation 20 common codes */
} gw_code_list;

/* The sorted table behind a list (for self-tests and docs); *n gets its size. */
const char *const *gw_codes_table(gw_code_list which, size_t *n);

int gw_codes_country(const char *s);
int gw_codes_currency(const char *s);
int gw_codes_unit(const char *s);

/* Rec 20 units of mass this gateway converts: KGM, GRM, TNE, LBR, MGM, DTN,
 * ONZ, STN, LTN, 2U (megagram), KTN. Returns 1 and the factor to kilograms in
 * *to_kg (may be NULL), 0 when the unit is not a known mass unit. */
int gw_codes_mass_unit(const char *s, double *to_kg);

/* UN/ECE Recommendation 21 package type: shape only, two characters [0-9A-Z]. */
int gw_codes_package_type(const char *s);

/* HS chapter (1..97) of an HS code of 6 to 10 digits, or -1 when the text is
 * not such a code or its chapter is not in use (00, 77, 98, 99). */
int gw_codes_hs_chapter(const char *s);
int gw_codes_hs(const char *s); /* gw_codes_hs_chapter(s) > 0 */

/* UN/LOCODE: ISO 3166 country + 3 characters from [A-Z2-9], 5 in all. */
int gw_codes_locode(const char *s);

/* UN/EDIFACT 1225 message function code (D16A: 1..69). */
int gw_codes_msg_function(const char *s);
/* UN/EDIFACT 1001 document name code: shape only, 1 to 3 digits. */
int gw_codes_doc_name(const char *s);

/* ISO 8601 calendar date "YYYY-MM-DD" or date-time
 * "YYYY-MM-DDThh:mm[:ss[.f+]][Z|+hh:mm|-hh:mm]" (real calendar dates, 24h
 * clock, years 1900..2999). Returns 1 and the instant as seconds since the
 * Unix epoch (UTC; a bare date or a time without zone counts as UTC) in
 * *epoch (may be NULL); 0 when malformed or not a real date. */
int gw_codes_datetime(const char *s, long long *epoch);
/* As gw_codes_datetime, but a bare date only. */
int gw_codes_date(const char *s);

/* Strict decimal text: optional '-', digits, optional '.' followed by digits
 * (no '+', exponent, spaces, leading/trailing dot, or thousands separators). */
int gw_codes_decimal(const char *s);

#endif
