/*
 * idmap.h — a string-keyed hash map (private).
 *
 * Workload: lookups of entities by id and of indexes by composite keys, far
 * more reads than writes, up to millions of keys.  Open addressing with
 * linear probing and backward-shift deletion keeps it one array, no
 * tombstones, O(1) expected.  Keys are copied; values are borrowed pointers.
 */
#ifndef FR_IDMAP_H
#define FR_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct fr__idmap_slot {
    char *key; /* NULL: empty */
    uint64_t hash;
    void *value;
} fr__idmap_slot;

/* Keys up to this length are tracked by the high-water mark. */
#define FR__IDMAP_HIGH_MAX 40

typedef struct fr__idmap {
    fr__idmap_slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t len;
    /* No key ever put sorts after high (strcmp), unless high_unknown (a
     * longer key was put).  Ids sort by creation time, so a newly minted id
     * is above all of them: checking that it is unused is one comparison,
     * not a probe of a map of millions (see fr__idmap_above_all). */
    char high[FR__IDMAP_HIGH_MAX + 1];
    unsigned char high_unknown;
} fr__idmap;

/* A zeroed fr__idmap is a valid empty map. */
void fr__idmap_free(fr__idmap *map);
/* The value of key, or NULL. */
void *fr__idmap_get(const fr__idmap *map, const char *key);
/* The hash of key, and the lookup with it: one hash for a key looked up in
 * several maps (a new id is checked against every entity map). */
uint64_t fr__idmap_hash(const char *key);
void *fr__idmap_get_hashed(const fr__idmap *map, const char *key, uint64_t hash);
/* Inserts or replaces.  FR_OK or FR_ENOMEM (then the map is unchanged). */
int fr__idmap_put(fr__idmap *map, const char *key, void *value);
/* 1 when key sorts after every key ever put (so it is absent), 0 when it
 * may be present.  O(length of key). */
int fr__idmap_above_all(const fr__idmap *map, const char *key);
/* Replaces the value of an existing key without allocating; 0 if absent. */
int fr__idmap_replace(fr__idmap *map, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *fr__idmap_del(fr__idmap *map, const char *key);
/* Iteration: *cursor starts at 0; returns 1 and sets key/value while entries remain. */
int fr__idmap_next(const fr__idmap *map, size_t *cursor, const char **key, void **value);

#endif /* FR_IDMAP_H */
