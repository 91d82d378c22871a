/*
 * queue.c — the pending-request queue: an order-statistic treap.
 *
 * Workload.  One queue per (fleet_id, resource_type) holds the pending
 * requests.  The engine inserts on create/requeue, removes on fulfilment,
 * cancellation or expiry, walks the queue from the front on every dispatch
 * (first, next, next, ...), and asks for the 1-based position of a request on
 * every read of it (`queue_position`).  The key never changes with time (see
 * queue.h), so no rebuild is ever needed.
 *
 * Why a treap.  A balanced search tree gives O(log n) insert, remove and
 * successor; keeping the subtree size in every node also gives the position
 * in O(log n) (an order-statistic tree).  A treap is the simplest balanced
 * tree that is still deterministic here: node priorities come from a
 * fixed-seed xorshift generator owned by the queue, so the tree shape depends
 * only on the sequence of operations.  Every loop below walks one root-to-leaf
 * path, whose length is the tree height (expected about 3 ln n); nothing is
 * recursive.
 *
 * Memory.  Nodes live in one array addressed by uint32 indices, never by
 * pointers, so growing the array with realloc cannot invalidate anything.
 * Index 0 is a sentinel meaning "none"; its size is 0, which makes the size
 * arithmetic need no special case.  Removed nodes go on a free list (linked
 * through `right`, marked by size 0) and are reused last-in first-out.
 */
#include "queue.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fleetres.h"

/* The sentinel index: "no node". */
#define QUEUE_NIL UINT32_C(0)
/* Initial array capacity (nodes, sentinel included). */
#define QUEUE_CAPACITY_INITIAL UINT32_C(16)
/* The largest number of array slots: indices must fit in a uint32. */
#define QUEUE_CAPACITY_MAX UINT32_C(0x80000000)
/* A treap of any size we can address is far shallower than this; deeper means
 * a broken tree (or a broken generator), so it is asserted. */
#define QUEUE_DEPTH_MAX 200
/* The fixed seed of the priority generator (any non-zero value). */
#define QUEUE_SEED UINT64_C(0x9E3779B97F4A7C15)

typedef struct queue_node {
    fr__queue_key key;  /* key.id is borrowed from the caller */
    void *payload;      /* the caller's, never dereferenced */
    uint32_t left;      /* QUEUE_NIL when absent */
    uint32_t right;     /* QUEUE_NIL when absent; next free node when free */
    uint32_t parent;    /* QUEUE_NIL at the root */
    uint32_t size;      /* nodes in this subtree, itself included; 0 when free */
    uint32_t priority;  /* treap heap order: a parent's is >= its children's */
} queue_node;

struct fr__queue {
    queue_node *nodes;     /* nodes[0] is the sentinel */
    uint32_t capacity;     /* slots allocated in nodes */
    uint32_t used;         /* slots ever handed out, sentinel included */
    uint32_t free_head;    /* first free node, or QUEUE_NIL */
    uint32_t root;         /* QUEUE_NIL when empty */
    uint64_t prng_state;   /* xorshift64 state, never 0 */
};

/* ---------------------------------------------------------------------------
 * Pure helpers.
 * ------------------------------------------------------------------------- */

/* xorshift64 (Marsaglia): full period over non-zero states, deterministic. */
static uint32_t queue_next_priority(fr__queue *queue) {
    uint64_t x = queue->prng_state;
    assert(x != 0);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    queue->prng_state = x;
    return (uint32_t)(x >> 32);
}

/* True when key a comes strictly before key b in queue order. */
static bool queue_key_before(const fr__queue_key *a, const fr__queue_key *b) {
    if (a->rank != b->rank) {
        return a->rank > b->rank;
    }
    if (a->created_at_ms != b->created_at_ms) {
        return a->created_at_ms < b->created_at_ms;
    }
    return strcmp(a->id, b->id) < 0;
}

#ifndef NDEBUG
/* True when ref names a node in the tree (only asserts use it). */
static bool queue_is_live(const fr__queue *queue, fr__queue_ref ref) {
    return ref != QUEUE_NIL && ref < queue->used && queue->nodes[ref].size != 0;
}
#endif

static uint32_t queue_size_of(const fr__queue *queue, uint32_t index) {
    assert(index < queue->used);
    return queue->nodes[index].size;
}

/* Recomputes a node's size from its children's. */
static void queue_update_size(fr__queue *queue, uint32_t index) {
    assert(index != QUEUE_NIL);
    queue_node *node = &queue->nodes[index];
    node->size = 1 + queue_size_of(queue, node->left) + queue_size_of(queue, node->right);
}

/* Asserts the local invariants of one live node: links both ways, size sum,
 * heap order and key order against its children. */
static void queue_check_node(const fr__queue *queue, uint32_t index) {
#ifdef NDEBUG
    (void)queue;
    (void)index;
#else
    assert(queue_is_live(queue, index));
    const queue_node *node = &queue->nodes[index];
    assert(node->size == 1 + queue_size_of(queue, node->left) +
                             queue_size_of(queue, node->right));
    if (node->parent == QUEUE_NIL) {
        assert(queue->root == index);
    } else {
        const queue_node *parent = &queue->nodes[node->parent];
        assert(parent->left == index || parent->right == index);
        assert(parent->priority >= node->priority);
    }
    if (node->left != QUEUE_NIL) {
        assert(queue->nodes[node->left].parent == index);
        assert(!queue_key_before(&node->key, &queue->nodes[node->left].key));
    }
    if (node->right != QUEUE_NIL) {
        assert(queue->nodes[node->right].parent == index);
        assert(!queue_key_before(&queue->nodes[node->right].key, &node->key));
    }
#endif
}

/* Replaces child `old_child` of `parent` (or the root) by `new_child`. */
static void queue_replace_child(fr__queue *queue, uint32_t parent, uint32_t old_child,
                                uint32_t new_child) {
    if (parent == QUEUE_NIL) {
        assert(queue->root == old_child);
        queue->root = new_child;
    } else if (queue->nodes[parent].left == old_child) {
        queue->nodes[parent].left = new_child;
    } else {
        assert(queue->nodes[parent].right == old_child);
        queue->nodes[parent].right = new_child;
    }
    if (new_child != QUEUE_NIL) {
        queue->nodes[new_child].parent = parent;
    }
}

/* Rotates `child` above its parent, keeping in-order and sizes.  Only the two
 * nodes involved change size (the subtree they span keeps its node set). */
static void queue_rotate_up(fr__queue *queue, uint32_t child) {
    assert(child != QUEUE_NIL);
    const uint32_t parent = queue->nodes[child].parent;
    assert(parent != QUEUE_NIL);
    const uint32_t grand = queue->nodes[parent].parent;
    const uint32_t size_before = queue->nodes[parent].size;

    if (queue->nodes[parent].left == child) {
        const uint32_t moved = queue->nodes[child].right;
        queue->nodes[parent].left = moved;
        if (moved != QUEUE_NIL) {
            queue->nodes[moved].parent = parent;
        }
        queue->nodes[child].right = parent;
    } else {
        assert(queue->nodes[parent].right == child);
        const uint32_t moved = queue->nodes[child].left;
        queue->nodes[parent].right = moved;
        if (moved != QUEUE_NIL) {
            queue->nodes[moved].parent = parent;
        }
        queue->nodes[child].left = parent;
    }
    queue->nodes[parent].parent = child;
    queue_replace_child(queue, grand, parent, child);
    queue_update_size(queue, parent);
    queue_update_size(queue, child);
    assert(queue->nodes[child].size == size_before);
    (void)size_before;
}

/* Makes sure one more node fits; FR_OK or FR_ENOMEM (then nothing changed). */
static int queue_reserve_one(fr__queue *queue) {
    if (queue->free_head != QUEUE_NIL || queue->used < queue->capacity) {
        return FR_OK;
    }
    if (queue->capacity >= QUEUE_CAPACITY_MAX) {
        return FR_ENOMEM;
    }
    const uint32_t capacity_new = queue->capacity * 2;
    assert(capacity_new > queue->capacity && capacity_new <= QUEUE_CAPACITY_MAX);
    const size_t capacity_addressable = SIZE_MAX / sizeof(queue_node);
    if ((size_t)capacity_new > capacity_addressable) {
        return FR_ENOMEM;
    }
    queue_node *nodes = realloc(queue->nodes, (size_t)capacity_new * sizeof(queue_node));
    if (nodes == NULL) {
        return FR_ENOMEM;
    }
    queue->nodes = nodes;
    queue->capacity = capacity_new;
    return FR_OK;
}

/* Takes a node from the free list or the unused tail; space was reserved. */
static uint32_t queue_take_node(fr__queue *queue) {
    uint32_t index;
    if (queue->free_head != QUEUE_NIL) {
        index = queue->free_head;
        assert(index < queue->used && queue->nodes[index].size == 0);
        queue->free_head = queue->nodes[index].right;
    } else {
        assert(queue->used < queue->capacity);
        index = queue->used;
        queue->used += 1;
    }
    assert(index != QUEUE_NIL);
    return index;
}

/* ---------------------------------------------------------------------------
 * Public (library-private) API.
 * ------------------------------------------------------------------------- */

fr__queue *fr__queue_new(void) {
    fr__queue *queue = calloc(1, sizeof(*queue));
    if (queue == NULL) {
        return NULL;
    }
    queue->nodes = calloc(QUEUE_CAPACITY_INITIAL, sizeof(queue_node));
    if (queue->nodes == NULL) {
        free(queue);
        return NULL;
    }
    /* nodes[0], the sentinel, stays all-zero: size 0, no links. */
    queue->capacity = QUEUE_CAPACITY_INITIAL;
    queue->used = 1;
    queue->free_head = QUEUE_NIL;
    queue->root = QUEUE_NIL;
    queue->prng_state = QUEUE_SEED;
    return queue;
}

void fr__queue_free(fr__queue *queue) {
    if (queue == NULL) {
        return;
    }
    free(queue->nodes);
    free(queue);
}

/* Descends to the leaf position of the new node (equal keys go after the
 * existing ones), counting it in every subtree on the way, attaches it, then
 * rotates it up until its parent's priority is at least its own. */
int fr__queue_insert(fr__queue *queue, const fr__queue_key *key, void *payload,
                     fr__queue_ref *out) {
    assert(queue != NULL && key != NULL && key->id != NULL && out != NULL);
    assert(queue->nodes[QUEUE_NIL].size == 0);
    if (queue_reserve_one(queue) != FR_OK) {
        return FR_ENOMEM;
    }
    const uint32_t index = queue_take_node(queue);
    queue_node *node = &queue->nodes[index];
    node->key = *key;
    node->payload = payload;
    node->left = QUEUE_NIL;
    node->right = QUEUE_NIL;
    node->parent = QUEUE_NIL;
    node->size = 1;
    node->priority = queue_next_priority(queue);

    uint32_t parent = QUEUE_NIL;
    uint32_t cursor = queue->root;
    bool go_left = false;
    for (int depth = 0; cursor != QUEUE_NIL; depth++) {
        assert(depth < QUEUE_DEPTH_MAX);
        queue->nodes[cursor].size += 1;
        parent = cursor;
        go_left = queue_key_before(key, &queue->nodes[cursor].key);
        cursor = go_left ? queue->nodes[cursor].left : queue->nodes[cursor].right;
    }
    node->parent = parent;
    if (parent == QUEUE_NIL) {
        queue->root = index;
    } else if (go_left) {
        queue->nodes[parent].left = index;
    } else {
        queue->nodes[parent].right = index;
    }

    for (int depth = 0; queue->nodes[index].parent != QUEUE_NIL; depth++) {
        assert(depth < QUEUE_DEPTH_MAX);
        const uint32_t up = queue->nodes[index].parent;
        if (queue->nodes[up].priority >= queue->nodes[index].priority) {
            break;
        }
        queue_rotate_up(queue, index);
    }
    queue_check_node(queue, index);
    *out = index;
    return FR_OK;
}

/* Rotates the node down (its higher-priority child up) until it has at most
 * one child, splices it out, then uncounts it on the path to the root. */
void fr__queue_remove(fr__queue *queue, fr__queue_ref ref) {
    assert(queue != NULL);
    assert(queue_is_live(queue, ref));
    for (int depth = 0; queue->nodes[ref].left != QUEUE_NIL &&
                        queue->nodes[ref].right != QUEUE_NIL;
         depth++) {
        assert(depth < QUEUE_DEPTH_MAX);
        const uint32_t left = queue->nodes[ref].left;
        const uint32_t right = queue->nodes[ref].right;
        const bool left_up = queue->nodes[left].priority > queue->nodes[right].priority;
        queue_rotate_up(queue, left_up ? left : right);
    }
    const uint32_t parent = queue->nodes[ref].parent;
    const uint32_t child = queue->nodes[ref].left != QUEUE_NIL ? queue->nodes[ref].left
                                                               : queue->nodes[ref].right;
    queue_replace_child(queue, parent, ref, child);

    uint32_t cursor = parent;
    for (int depth = 0; cursor != QUEUE_NIL; depth++) {
        assert(depth < QUEUE_DEPTH_MAX);
        assert(queue->nodes[cursor].size > 1);
        queue->nodes[cursor].size -= 1;
        cursor = queue->nodes[cursor].parent;
    }
    if (child != QUEUE_NIL) {
        queue_check_node(queue, child);
    }
    if (parent != QUEUE_NIL) {
        queue_check_node(queue, parent);
    }

    queue_node *node = &queue->nodes[ref];
    memset(node, 0, sizeof(*node));  /* size 0 marks it free; drops the borrowed id */
    node->right = queue->free_head;
    queue->free_head = ref;
}

size_t fr__queue_count(const fr__queue *queue) {
    assert(queue != NULL);
    return queue_size_of(queue, queue->root);
}

fr__queue_ref fr__queue_first(const fr__queue *queue) {
    assert(queue != NULL);
    uint32_t cursor = queue->root;
    if (cursor == QUEUE_NIL) {
        return QUEUE_NIL;
    }
    for (int depth = 0; queue->nodes[cursor].left != QUEUE_NIL; depth++) {
        assert(depth < QUEUE_DEPTH_MAX);
        cursor = queue->nodes[cursor].left;
    }
    assert(queue_is_live(queue, cursor));
    return cursor;
}

/* In-order successor through parent links: the leftmost node of the right
 * subtree, else the first ancestor reached from its left side. */
fr__queue_ref fr__queue_next(const fr__queue *queue, fr__queue_ref ref) {
    assert(queue != NULL);
    assert(queue_is_live(queue, ref));
    uint32_t cursor = queue->nodes[ref].right;
    if (cursor != QUEUE_NIL) {
        for (int depth = 0; queue->nodes[cursor].left != QUEUE_NIL; depth++) {
            assert(depth < QUEUE_DEPTH_MAX);
            cursor = queue->nodes[cursor].left;
        }
        assert(!queue_key_before(&queue->nodes[cursor].key, &queue->nodes[ref].key));
        return cursor;
    }
    uint32_t from = ref;
    cursor = queue->nodes[ref].parent;
    for (int depth = 0; cursor != QUEUE_NIL && queue->nodes[cursor].right == from; depth++) {
        assert(depth < QUEUE_DEPTH_MAX);
        from = cursor;
        cursor = queue->nodes[cursor].parent;
    }
    assert(cursor == QUEUE_NIL || queue->nodes[cursor].left == from);
    return cursor;
}

void *fr__queue_payload(const fr__queue *queue, fr__queue_ref ref) {
    assert(queue != NULL);
    assert(queue_is_live(queue, ref));
    return queue->nodes[ref].payload;
}

/* Counts the nodes before ref: its left subtree, plus, for every ancestor
 * reached from the right, that ancestor and its left subtree. */
size_t fr__queue_position(const fr__queue *queue, fr__queue_ref ref) {
    assert(queue != NULL);
    assert(queue_is_live(queue, ref));
    size_t position = (size_t)queue_size_of(queue, queue->nodes[ref].left) + 1;
    uint32_t from = ref;
    uint32_t cursor = queue->nodes[ref].parent;
    for (int depth = 0; cursor != QUEUE_NIL; depth++) {
        assert(depth < QUEUE_DEPTH_MAX);
        if (queue->nodes[cursor].right == from) {
            position += (size_t)queue_size_of(queue, queue->nodes[cursor].left) + 1;
        }
        from = cursor;
        cursor = queue->nodes[cursor].parent;
    }
    assert(from == queue->root);
    assert(position >= 1 && position <= fr__queue_count(queue));
    return position;
}
