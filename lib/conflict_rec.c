/*
 * conflict_rec.c — conflict records whose allocation ids are held in binary.
 *
 * Over-capacity detection lists, for each conflict, every live booking over
 * its interval: a cut over weeks records thousands of conflicts and
 * hundreds of thousands of ids at once.  The ledger keeps each booking's id
 * in binary (its key), so the engine keeps those 16 bytes (ids_bin) instead
 * of 37 bytes of text, and writes the text only where it is read: into the
 * events' JSON, the copies handed to callers, and — for a store that keeps
 * entities — into the record itself when it is stored.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "entity.h"
#include "fr_int.h"

/* The text of n binary ids (malloc'd, at least one element), or NULL. */
static char (*ids_text(const unsigned char (*ids)[16], size_t n))[FR_ID_SIZE]
{
    char(*text)[FR_ID_SIZE] = malloc((n > 0 ? n : 1) * sizeof *text);
    if (text == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        fr__uuid_format(ids[i], text[i]);
    }
    return text;
}

int fr__conflict_rec_copy(fr_conflict *dst, const fr__conflict_rec *rec)
{
    int rc = fr__conflict_copy(dst, &rec->c);
    if (rc != FR_OK || rec->ids_bin == NULL) {
        return rc;
    }
    char(*text)[FR_ID_SIZE] = ids_text((const unsigned char(*)[16])rec->ids_bin,
                                       rec->ids_bin_len);
    if (text == NULL) {
        fr_conflict_clear(dst);
        return FR_ENOMEM;
    }
    free(dst->allocation_ids);
    dst->allocation_ids = text;
    dst->allocation_ids_len = rec->ids_bin_len;
    return FR_OK;
}

char *fr__conflict_rec_json(const fr__conflict_rec *rec)
{
    if (rec->ids_bin == NULL) {
        return fr__conflict_to_json_text(&rec->c);
    }
    return fr__conflict_to_json_text_bin(&rec->c, (const unsigned char(*)[16])rec->ids_bin,
                                         rec->ids_bin_len);
}

int fr__conflict_rec_ids_text(fr__conflict_rec *rec)
{
    if (rec->ids_bin == NULL) {
        return FR_OK;
    }
    char(*text)[FR_ID_SIZE] = ids_text((const unsigned char(*)[16])rec->ids_bin,
                                       rec->ids_bin_len);
    if (text == NULL) {
        return FR_ENOMEM;
    }
    size_t n = rec->ids_bin_len;
    fr__conflict_rec_clear_ids(rec);
    rec->c.allocation_ids = text;
    rec->c.allocation_ids_len = n;
    return FR_OK;
}

void fr__conflict_rec_clear_ids(fr__conflict_rec *rec)
{
    free(rec->c.allocation_ids);
    rec->c.allocation_ids = NULL;
    rec->c.allocation_ids_len = 0;
    free(rec->ids_bin);
    rec->ids_bin = NULL;
    rec->ids_bin_len = 0;
}

void fr__conflict_rec_set_ids_bin(fr__conflict_rec *rec, unsigned char (*ids)[16], size_t n)
{
    assert(ids != NULL);
    fr__conflict_rec_clear_ids(rec);
    rec->ids_bin = ids;
    rec->ids_bin_len = n;
}

void fr__conflict_rec_clear(fr__conflict_rec *rec)
{
    fr__conflict_rec_clear_ids(rec);
    fr_conflict_clear(&rec->c);
}
