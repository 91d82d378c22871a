/*
 * idmap.c — open-addressing string hash map (see idmap.h for the workload).
 */
#include "idmap.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fleetres.h"

/* FNV-1a: keys are short ids; good enough spread and no dependencies. */
static uint64_t hash_key(const char *key)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (const unsigned char *p = (const unsigned char *)key; *p != 0; p++) {
        h ^= *p;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static size_t find_slot(const fr__idmap *map, const char *key, uint64_t hash)
{
    size_t mask = map->cap - 1;
    size_t i = (size_t)hash & mask;
    for (size_t probes = 0; probes < map->cap; probes++) {
        const fr__idmap_slot *s = &map->slots[i];
        if (s->key == NULL || (s->hash == hash && strcmp(s->key, key) == 0)) {
            return i;
        }
        i = (i + 1) & mask;
    }
    assert(0 && "idmap full");
    return 0;
}

static int grow(fr__idmap *map)
{
    size_t cap = map->cap == 0 ? 16 : map->cap * 2;
    fr__idmap_slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL) {
        return FR_ENOMEM;
    }
    fr__idmap old = *map;
    map->slots = slots;
    map->cap = cap;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slots[i].key != NULL) {
            size_t j = find_slot(map, old.slots[i].key, old.slots[i].hash);
            map->slots[j] = old.slots[i];
        }
    }
    free(old.slots);
    return FR_OK;
}

void fr__idmap_free(fr__idmap *map)
{
    if (map == NULL) {
        return;
    }
    for (size_t i = 0; i < map->cap; i++) {
        free(map->slots[i].key);
    }
    free(map->slots);
    memset(map, 0, sizeof *map);
}

uint64_t fr__idmap_hash(const char *key)
{
    return hash_key(key);
}

void *fr__idmap_get_hashed(const fr__idmap *map, const char *key, uint64_t hash)
{
    assert(hash == hash_key(key));
    if (map->cap == 0) {
        return NULL;
    }
    size_t i = find_slot(map, key, hash);
    return map->slots[i].key == NULL ? NULL : map->slots[i].value;
}

void *fr__idmap_get(const fr__idmap *map, const char *key)
{
    return fr__idmap_get_hashed(map, key, hash_key(key));
}

/* Keeps high at or above every key put (deletions leave it: it is a bound,
 * not the maximum). */
static void raise_high(fr__idmap *map, const char *key)
{
    size_t n = strlen(key);
    if (n > FR__IDMAP_HIGH_MAX) {
        map->high_unknown = 1;
    } else if (strcmp(key, map->high) > 0) {
        memcpy(map->high, key, n + 1);
    }
}

int fr__idmap_put(fr__idmap *map, const char *key, void *value)
{
    /* Keep the load factor under 3/4 so probes stay short. */
    if ((map->len + 1) * 4 > map->cap * 3) {
        int rc = grow(map);
        if (rc != FR_OK) {
            return rc;
        }
    }
    uint64_t hash = hash_key(key);
    size_t i = find_slot(map, key, hash);
    if (map->slots[i].key != NULL) {
        map->slots[i].value = value;
        return FR_OK;
    }
    char *copy = strdup(key);
    if (copy == NULL) {
        return FR_ENOMEM;
    }
    map->slots[i].key = copy;
    map->slots[i].hash = hash;
    map->slots[i].value = value;
    map->len++;
    raise_high(map, key);
    return FR_OK;
}

int fr__idmap_above_all(const fr__idmap *map, const char *key)
{
    return !map->high_unknown && strcmp(key, map->high) > 0;
}

int fr__idmap_replace(fr__idmap *map, const char *key, void *value)
{
    if (map->cap == 0) {
        return 0;
    }
    size_t i = find_slot(map, key, hash_key(key));
    if (map->slots[i].key == NULL) {
        return 0;
    }
    map->slots[i].value = value;
    return 1;
}

void *fr__idmap_del(fr__idmap *map, const char *key)
{
    if (map->cap == 0) {
        return NULL;
    }
    size_t mask = map->cap - 1;
    size_t i = find_slot(map, key, hash_key(key));
    if (map->slots[i].key == NULL) {
        return NULL;
    }
    void *value = map->slots[i].value;
    free(map->slots[i].key);
    map->slots[i].key = NULL;
    map->len--;
    /* Backward-shift: move later members of the probe run into the hole. */
    size_t hole = i;
    size_t j = (i + 1) & mask;
    while (map->slots[j].key != NULL) {
        size_t home = (size_t)map->slots[j].hash & mask;
        int movable = (hole <= j) ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            map->slots[hole] = map->slots[j];
            map->slots[j].key = NULL;
            hole = j;
        }
        j = (j + 1) & mask;
    }
    return value;
}

int fr__idmap_next(const fr__idmap *map, size_t *cursor, const char **key, void **value)
{
    while (*cursor < map->cap) {
        const fr__idmap_slot *s = &map->slots[(*cursor)++];
        if (s->key != NULL) {
            *key = s->key;
            *value = s->value;
            return 1;
        }
    }
    return 0;
}
