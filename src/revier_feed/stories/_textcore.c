/* The story stage's per-item text work in C: words, shingle hashes, keywords, marks.
 *
 * The reference is the Python code in text.py (prepare, features, learn_boilerplate) and
 * packed.py (PackedFeatures.of); tests/test_stories_native.py checks that both give the
 * same bytes and strings. Python does the case folding (str.casefold has no C API); this
 * module reads the folded text once, as UTF-8 words joined by single spaces, and does the
 * rest on that buffer: no Python object per word, per shingle or per keyword, which is
 * where the pure-Python features spent most of their time (half a millisecond an item).
 *
 * Equalities it relies on:
 * - a word is a run of characters for which Py_UNICODE_ISALNUM holds, or "_": what the
 *   re module's \w matches in a str pattern;
 * - zlib's CRC-32 of the UTF-8 bytes (the table below is zlib's polynomial), and
 *   crc(a + b) chains as crc32(b, crc32(a));
 * - comparing UTF-8 bytes with memcmp orders strings as Python compares code points;
 * - the stemming suffixes are ASCII, so a suffix matches the same in bytes as in text.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <structmember.h>
#include <stdlib.h>
#include <string.h>

/* zlib.crc32 (the shingle hashes are stored, so it must stay that function), eight bytes
 * at a time ("slicing by 8"): crc_tables[k][b] is the CRC of byte b followed by k zero
 * bytes. A shingle is some 25 bytes; byte by byte, hashing them was a sixth of tokenize. */
static uint32_t crc_tables[8][256];

static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_tables[0][n] = c;
    }
    for (int k = 1; k < 8; k++)
        for (int n = 0; n < 256; n++)
            crc_tables[k][n] = (crc_tables[k - 1][n] >> 8) ^ crc_tables[0][crc_tables[k - 1][n] & 0xFF];
}

static uint32_t crc32_update(uint32_t crc, const unsigned char *p, Py_ssize_t n) {
    crc = ~crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint32_t low = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                              (uint32_t)p[3] << 24);
        crc = crc_tables[7][low & 0xFF] ^ crc_tables[6][(low >> 8) & 0xFF] ^
              crc_tables[5][(low >> 16) & 0xFF] ^ crc_tables[4][low >> 24] ^
              crc_tables[3][p[4]] ^ crc_tables[2][p[5]] ^ crc_tables[1][p[6]] ^
              crc_tables[0][p[7]];
    }
    while (n-- > 0) crc = crc_tables[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* ---- growable arrays -------------------------------------------------------------- */

typedef struct {
    unsigned char *data;
    Py_ssize_t len, cap;
} Bytes;

static int bytes_reserve(Bytes *b, Py_ssize_t more) {
    if (b->len + more <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) cap *= 2;
    unsigned char *data = PyMem_Realloc(b->data, (size_t)cap);
    if (!data) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

typedef struct {
    Py_ssize_t start, len; /* bytes in the buffer */
    Py_ssize_t chars;      /* code points */
} Word;

typedef struct {
    Word *data;
    Py_ssize_t len, cap;
} Words;

/* `data` with room for one more of `len` items of `size` bytes (doubling the capacity when
 * full); NULL with MemoryError set. */
static void *make_room(void *data, Py_ssize_t len, Py_ssize_t *cap, size_t size) {
    if (len < *cap) return data;
    Py_ssize_t more = *cap ? 2 * *cap : 256;
    void *bigger = PyMem_Realloc(data, (size_t)more * size);
    if (!bigger) return PyErr_NoMemory(), NULL;
    *cap = more;
    return bigger;
}

static int words_push(Words *w, Word word) {
    Word *data = make_room(w->data, w->len, &w->cap, sizeof(Word));
    if (!data) return -1;
    w->data = data;
    w->data[w->len++] = word;
    return 0;
}

typedef struct {
    uint32_t *data;
    Py_ssize_t len, cap;
} Ints;

static int ints_push(Ints *a, uint32_t v) {
    uint32_t *data = make_room(a->data, a->len, &a->cap, sizeof(uint32_t));
    if (!data) return -1;
    a->data = data;
    a->data[a->len++] = v;
    return 0;
}

/* A quicksort (median of three; insertion sort for short runs) named NAME for arrays of
 * TYPE ordered by LESS(a, b) on pointers. Its worst case is quadratic: callers sort only a
 * bounded number of values with it. */
#define DEFINE_QUICKSORT(NAME, TYPE, LESS)                                               \
    static void NAME(TYPE *v, Py_ssize_t n) {                                             \
        while (n > 16) {                                                                  \
            TYPE *a = &v[0], *b = &v[n / 2], *c = &v[n - 1], *m;                          \
            if (LESS(a, b)) m = LESS(b, c) ? b : (LESS(a, c) ? c : a);                    \
            else m = LESS(a, c) ? a : (LESS(b, c) ? c : b);                               \
            TYPE pivot = *m, t;                                                           \
            Py_ssize_t i = 0, j = n - 1;                                                  \
            for (;;) {                                                                    \
                while (LESS(&v[i], &pivot)) i++;                                          \
                while (LESS(&pivot, &v[j])) j--;                                          \
                if (i >= j) break;                                                        \
                t = v[i];                                                                 \
                v[i++] = v[j];                                                            \
                v[j--] = t;                                                               \
            }                                                                             \
            Py_ssize_t left = j + 1; /* recurse into the smaller side, loop on the other */ \
            if (left < n - left) {                                                        \
                NAME(v, left);                                                            \
                v += left;                                                                \
                n -= left;                                                                \
            } else {                                                                      \
                NAME(v + left, n - left);                                                 \
                n = left;                                                                 \
            }                                                                             \
        }                                                                                 \
        for (Py_ssize_t i = 1; i < n; i++) {                                              \
            TYPE x = v[i];                                                                \
            Py_ssize_t j = i;                                                             \
            for (; j > 0 && LESS(&x, &v[j - 1]); j--) v[j] = v[j - 1];                    \
            v[j] = x;                                                                     \
        }                                                                                 \
    }

#define U32_LESS(a, b) (*(a) < *(b))
DEFINE_QUICKSORT(quicksort_u32, uint32_t, U32_LESS)

/* Sorts in place: quicksort for a few values, an LSD radix sort (linear, so no input can
 * make it slow) from an item's few hundred shingles on, where it is already the faster. */
static int sort_u32(uint32_t *v, Py_ssize_t n) {
    if (n <= 128) {
        quicksort_u32(v, n);
        return 0;
    }
    uint32_t *tmp = PyMem_Malloc((size_t)n * sizeof(uint32_t));
    if (!tmp) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t count[4][257] = {{0}};
    for (Py_ssize_t i = 0; i < n; i++) /* the four passes' counts in one read */
        for (int d = 0; d < 4; d++) count[d][((v[i] >> (8 * d)) & 0xFF) + 1]++;
    uint32_t *from = v, *to = tmp;
    for (int d = 0; d < 4; d++) {
        Py_ssize_t *at = count[d];
        for (int b = 0; b < 256; b++) at[b + 1] += at[b];
        for (Py_ssize_t i = 0; i < n; i++) to[at[(from[i] >> (8 * d)) & 0xFF]++] = from[i];
        uint32_t *swap = from;
        from = to;
        to = swap;
    }
    /* Four passes: the sorted values are back in v. */
    PyMem_Free(tmp);
    return 0;
}

/* Sorts and removes repeats; returns the new length (-1 with an exception set). */
static Py_ssize_t sort_unique(uint32_t *v, Py_ssize_t n) {
    if (n < 2) return n;
    if (sort_u32(v, n) < 0) return -1;
    Py_ssize_t k = 1;
    for (Py_ssize_t i = 1; i < n; i++)
        if (v[i] != v[k - 1]) v[k++] = v[i];
    return k;
}

static int contains_u32(const uint32_t *sorted, Py_ssize_t n, uint32_t v) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && sorted[lo] == v;
}

/* Packed little-endian uint32 values, as struct.pack("<I...") writes them. */
static PyObject *pack_u32(const uint32_t *v, Py_ssize_t n) {
    PyObject *out = PyBytes_FromStringAndSize(NULL, n * 4);
    if (!out) return NULL;
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        p[4 * i] = (unsigned char)(v[i] & 0xFF);
        p[4 * i + 1] = (unsigned char)((v[i] >> 8) & 0xFF);
        p[4 * i + 2] = (unsigned char)((v[i] >> 16) & 0xFF);
        p[4 * i + 3] = (unsigned char)(v[i] >> 24);
    }
    return out;
}

/* Reads packed little-endian uint32 values into a new array (caller frees). */
/* A little-endian 32-bit value at p (any alignment). */
static inline uint32_t read_le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint32_t *unpack_u32(const char *data, Py_ssize_t size, Py_ssize_t *n) {
    if (size % 4) {
        PyErr_SetString(PyExc_ValueError, "packed values must be a multiple of 4 bytes");
        return NULL;
    }
    *n = size / 4;
    uint32_t *v = PyMem_Malloc((size_t)(*n ? *n : 1) * sizeof(uint32_t));
    if (!v) {
        PyErr_NoMemory();
        return NULL;
    }
    const unsigned char *p = (const unsigned char *)data;
    for (Py_ssize_t i = 0; i < *n; i++)
        v[i] = (uint32_t)p[4 * i] | ((uint32_t)p[4 * i + 1] << 8) |
               ((uint32_t)p[4 * i + 2] << 16) | ((uint32_t)p[4 * i + 3] << 24);
    return v;
}

/* ---- words ------------------------------------------------------------------------ */

/* Whether each Latin-1 character is a word character (\w); filled when the module loads. */
static unsigned char latin1_word_char[256];

static int is_word_char(Py_UCS4 c) {
    if (c < 256) return latin1_word_char[c];
    return Py_UNICODE_ISALNUM(c);
}

/* Writes `c` as UTF-8 at the end of `b`, which has room for it. */
static void put_utf8(Bytes *b, Py_UCS4 c) {
    unsigned char *p = b->data + b->len;
    if (c < 0x80) {
        p[0] = (unsigned char)c;
        b->len += 1;
    } else if (c < 0x800) {
        p[0] = (unsigned char)(0xC0 | (c >> 6));
        p[1] = (unsigned char)(0x80 | (c & 0x3F));
        b->len += 2;
    } else if (c < 0x10000) {
        p[0] = (unsigned char)(0xE0 | (c >> 12));
        p[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        p[2] = (unsigned char)(0x80 | (c & 0x3F));
        b->len += 3;
    } else {
        p[0] = (unsigned char)(0xF0 | (c >> 18));
        p[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
        p[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        p[3] = (unsigned char)(0x80 | (c & 0x3F));
        b->len += 4;
    }
}

/* Appends the words of `text` to `buf` (space-separated), at most `limit` of them (-1: all).
 * With `markup`, what lies between "<" and the next ">" is no text (the regex <[^>]*>); a
 * "<" with no ">" after it is an ordinary non-word character. Returns the count or -1. */
static Py_ssize_t read_words(PyObject *text, int markup, Py_ssize_t limit, Bytes *buf) {
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), i = 0, count = 0;
    Py_ssize_t close = -1; /* position of the next ">" at or after i; n if there is none */
    /* Room for every character in four bytes and a space before each: no check per byte. */
    if (bytes_reserve(buf, 5 * n + 1) < 0) return -1;
    while (i < n && count != limit) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (markup && c == '<') {
            if (close < i) {
                close = i + 1;
                while (close < n && PyUnicode_READ(kind, data, close) != '>') close++;
            }
            i = close < n ? close + 1 : i + 1;
            continue;
        }
        if (!is_word_char(c)) {
            i++;
            continue;
        }
        if (buf->len) buf->data[buf->len++] = ' '; /* words are joined by one space */
        while (i < n && is_word_char(c = PyUnicode_READ(kind, data, i))) {
            put_utf8(buf, c);
            i++;
        }
        count++;
    }
    return count;
}

/* The words of a buffer made by read_words. */
static int split_words(const unsigned char *p, Py_ssize_t n, Words *out) {
    Py_ssize_t i = 0;
    while (i < n) {
        Word w = {i, 0, 0};
        while (i < n && p[i] != ' ') {
            if ((p[i] & 0xC0) != 0x80) w.chars++;
            i++;
        }
        w.len = i - w.start;
        if (words_push(out, w) < 0) return -1;
        i++;
    }
    return 0;
}

/* ---- the Featurizer type ---------------------------------------------------------- */

typedef struct {
    const unsigned char *p;
    Py_ssize_t len;
} Slice;

static int cmp_slice(const Slice *x, const Slice *y) {
    Py_ssize_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, (size_t)n);
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

static uint64_t hash_slice(Slice s) { /* FNV-1a */
    uint64_t h = 14695981039346656037ULL;
    for (Py_ssize_t i = 0; i < s.len; i++) h = (h ^ s.p[i]) * 1099511628211ULL;
    return h;
}

/* A set of byte strings: open addressing over a power-of-two table. */
typedef struct {
    Slice *slots; /* p == NULL: empty */
    size_t mask;
} SliceSet;

static int sliceset_init(SliceSet *set, Py_ssize_t n) {
    size_t size = 16;
    while (size < 2 * (size_t)n) size *= 2;
    set->slots = PyMem_Calloc(size, sizeof(Slice));
    set->mask = size - 1;
    if (!set->slots) PyErr_NoMemory();
    return set->slots ? 0 : -1;
}

/* Adds s; returns 1 if it was new, 0 if it was there. */
static int sliceset_add(SliceSet *set, Slice s) {
    for (size_t i = hash_slice(s) & set->mask;; i = (i + 1) & set->mask) {
        Slice *slot = &set->slots[i];
        if (!slot->p) {
            *slot = s;
            return 1;
        }
        if (slot->len == s.len && memcmp(slot->p, s.p, (size_t)s.len) == 0) return 0;
    }
}

static int sliceset_has(const SliceSet *set, Slice s) {
    if (!set->slots) return 0;
    for (size_t i = hash_slice(s) & set->mask;; i = (i + 1) & set->mask) {
        const Slice *slot = &set->slots[i];
        if (!slot->p) return 0;
        if (slot->len == s.len && memcmp(slot->p, s.p, (size_t)s.len) == 0) return 1;
    }
}

/* A slice with its first 8 bytes as a big-endian number, zero-padded: comparing the keys
 * orders as memcmp does (words hold no NUL bytes), so most comparisons are one. */
typedef struct {
    uint64_t key;
    Slice s;
} Keyed;

static int keyed_less(const Keyed *a, const Keyed *b) {
    if (a->key != b->key) return a->key < b->key;
    return cmp_slice(&a->s, &b->s) < 0;
}

static int cmp_keyed(const void *a, const void *b) {
    return keyed_less(a, b) ? -1 : keyed_less(b, a) ? 1 : 0;
}

DEFINE_QUICKSORT(quicksort_keyed, Keyed, keyed_less)

static void sort_keyed(Keyed *v, Py_ssize_t n) {
    /* An item has a few hundred keywords; a 40,000-character title has thousands, and a
     * crafted order of them would make quicksort quadratic: the C library's sort (a merge
     * sort) takes those. */
    if (n > 1024) qsort(v, (size_t)n, sizeof(Keyed), cmp_keyed);
    else quicksort_keyed(v, n);
}

/* Sorts and removes repeats; returns the new length (-1 with an exception set). */
static Py_ssize_t sort_unique_slices(Slice *v, Py_ssize_t n) {
    if (n < 2) return n;
    Keyed *keyed = PyMem_Malloc((size_t)n * sizeof(Keyed));
    if (!keyed) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t key = 0;
        for (Py_ssize_t b = 0; b < 8; b++) key = (key << 8) | (b < v[i].len ? v[i].p[b] : 0);
        keyed[i] = (Keyed){key, v[i]};
    }
    sort_keyed(keyed, n);
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (k == 0 || cmp_slice(&keyed[i].s, &v[k - 1])) v[k++] = keyed[i].s;
    PyMem_Free(keyed);
    return k;
}

typedef struct {
    PyObject_HEAD
    Bytes text;   /* the stop words' and suffixes' bytes */
    Slice *stop;
    Py_ssize_t n_stop;
    SliceSet stop_set;
    Slice *suffixes; /* in the order they are tried */
    Py_ssize_t n_suffixes;
    Py_ssize_t min_word, min_stem, shingle, max_words, keyword_words;
    uint32_t sample_mask;
    Slice *months;     /* the names of months (ASCII), in self->text, by first byte */
    int *month_of;     /* the number of each */
    Py_ssize_t n_months;
    Py_ssize_t month_at[257]; /* the names starting with byte b: month_at[b] to [b + 1] */
    int ready; /* __init__ succeeded */
} Featurizer;

static void Featurizer_dealloc(Featurizer *self) {
    PyMem_Free(self->text.data);
    PyMem_Free(self->stop);
    PyMem_Free(self->stop_set.slots);
    PyMem_Free(self->suffixes);
    PyMem_Free(self->months);
    PyMem_Free(self->month_of);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Copies each str of `seq` into self->text; their slices are fixed up once it stops moving. */
static Py_ssize_t copy_strings(Featurizer *self, PyObject *seq, Slice **out, int ascii_only) {
    PyObject *fast = PySequence_Fast(seq, "expected a sequence of str");
    if (!fast) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    Slice *slices = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(Slice));
    if (!slices) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PySequence_Fast_GET_ITEM(fast, i);
        Py_ssize_t size;
        const char *utf8 = PyUnicode_Check(s) ? PyUnicode_AsUTF8AndSize(s, &size) : NULL;
        if (!utf8 || (ascii_only && (!PyUnicode_IS_ASCII(s) || size == 0))) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, ascii_only ? "suffixes must be non-empty ASCII str"
                                                             : "stop words must be str");
            PyMem_Free(slices);
            Py_DECREF(fast);
            return -1;
        }
        if (bytes_reserve(&self->text, size) < 0) {
            PyMem_Free(slices);
            Py_DECREF(fast);
            return -1;
        }
        if (size) memcpy(self->text.data + self->text.len, utf8, (size_t)size);
        /* An offset for now: the buffer may still move. */
        slices[i].p = (const unsigned char *)(uintptr_t)self->text.len;
        slices[i].len = size;
        self->text.len += size;
    }
    Py_DECREF(fast);
    *out = slices;
    return n;
}

static int Featurizer_init(Featurizer *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"stop_words", "suffixes", "min_word", "min_stem", "shingle",
                             "max_words", "keyword_words", "sample_mod", "months", NULL};
    PyObject *stop, *suffixes, *months = NULL;
    Py_ssize_t min_word, min_stem, shingle, max_words, keyword_words, sample_mod;
    if (self->ready || self->stop || self->suffixes) {
        PyErr_SetString(PyExc_TypeError, "a Featurizer is initialised once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOnnnnnn|O!", kwlist, &stop, &suffixes,
                                     &min_word, &min_stem, &shingle, &max_words,
                                     &keyword_words, &sample_mod, &PyDict_Type, &months))
        return -1;
    if (shingle < 1 || min_word < 0 || min_stem < 0 || max_words < 0 || keyword_words < 0 ||
        sample_mod < 1 || (sample_mod & (sample_mod - 1)) || sample_mod > (Py_ssize_t)1 << 31) {
        PyErr_SetString(PyExc_ValueError, "bad parameters (sample_mod: a power of two)");
        return -1;
    }
    if (bytes_reserve(&self->text, 1) < 0) return -1; /* slices never point into NULL */
    PyObject *stop_list = PySequence_List(stop); /* a set has no order: listed first */
    if (!stop_list) return -1;
    self->n_stop = copy_strings(self, stop_list, &self->stop, 0);
    Py_DECREF(stop_list);
    if (self->n_stop < 0) return -1;
    self->n_suffixes = copy_strings(self, suffixes, &self->suffixes, 1);
    if (self->n_suffixes < 0) return -1;
    if (months) {
        PyObject *names = PyDict_Keys(months), *numbers = PyDict_Values(months);
        self->n_months = names && numbers ? copy_strings(self, names, &self->months, 1) : -1;
        if (self->n_months >= 0 &&
            !(self->month_of = PyMem_Malloc((size_t)(self->n_months + 1) * sizeof(int)))) {
            PyErr_NoMemory();
            self->n_months = -1;
        }
        for (Py_ssize_t i = 0; i < self->n_months; i++) {
            long month = PyLong_AsLong(PyList_GET_ITEM(numbers, i));
            if (month < 1 || month > 12) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "a month's number must be 1 to 12");
                self->n_months = -1;
                break;
            }
            self->month_of[i] = (int)month;
        }
        Py_XDECREF(names);
        Py_XDECREF(numbers);
        if (self->n_months < 0) {
            self->n_months = 0;
            return -1;
        }
    }
    for (Py_ssize_t i = 0; i < self->n_stop; i++)
        self->stop[i].p = self->text.data + (uintptr_t)self->stop[i].p;
    for (Py_ssize_t i = 0; i < self->n_suffixes; i++)
        self->suffixes[i].p = self->text.data + (uintptr_t)self->suffixes[i].p;
    for (Py_ssize_t i = 0; i < self->n_months; i++)
        self->months[i].p = self->text.data + (uintptr_t)self->months[i].p;
    /* By first byte (a stable insertion sort of a few dozen names), and where each starts. */
    for (Py_ssize_t i = 1; i < self->n_months; i++)
        for (Py_ssize_t j = i; j > 0 && self->months[j].p[0] < self->months[j - 1].p[0]; j--) {
            Slice name = self->months[j];
            int month = self->month_of[j];
            self->months[j] = self->months[j - 1];
            self->month_of[j] = self->month_of[j - 1];
            self->months[j - 1] = name;
            self->month_of[j - 1] = month;
        }
    for (int b = 0, i = 0; b <= 256; b++) {
        while (i < self->n_months && self->months[i].p[0] < b) i++;
        self->month_at[b] = i;
    }
    if (sliceset_init(&self->stop_set, self->n_stop) < 0) return -1;
    for (Py_ssize_t i = 0; i < self->n_stop; i++) sliceset_add(&self->stop_set, self->stop[i]);
    self->min_word = min_word;
    self->min_stem = min_stem;
    self->shingle = shingle;
    self->max_words = max_words;
    self->keyword_words = keyword_words;
    self->sample_mask = (uint32_t)(sample_mod - 1);
    self->ready = 1;
    return 0;
}

static uint32_t *read_hashes(Py_buffer *view, Py_ssize_t *n) {
    return unpack_u32(view->buf, view->len, n);
}

static int check_ready(Featurizer *self) {
    if (self->ready) return 0;
    PyErr_SetString(PyExc_TypeError, "Featurizer.__init__ was not called");
    return -1;
}

PyDoc_STRVAR(tokenize_doc,
"tokenize(lead, body) -> (words, lead_count, hashes)\n\n"
"The words of the folded title-and-teaser text `lead` (all of them), then of the folded\n"
"HTML `body` (tags skipped) up to max_words in all, as UTF-8 joined by spaces; how many\n"
"are the lead's; and the packed CRC-32 of the shingle starting at each of the first\n"
"max_words words (one hash of them all for fewer words than a shingle).");

static PyObject *Featurizer_tokenize(Featurizer *self, PyObject *args) {
    PyObject *lead, *body;
    if (check_ready(self) < 0 || !PyArg_ParseTuple(args, "UU", &lead, &body)) return NULL;
    Bytes buf = {0};
    PyObject *result = NULL, *words = NULL, *hashes = NULL;
    Words ws = {0};
    Ints hs = {0};
    Py_ssize_t n_lead = read_words(lead, 0, -1, &buf);
    if (n_lead < 0) goto done;
    if (n_lead < self->max_words &&
        read_words(body, 1, self->max_words - n_lead, &buf) < 0)
        goto done;
    if (split_words(buf.data, buf.len, &ws) < 0) goto done;
    Py_ssize_t n = ws.len < self->max_words ? ws.len : self->max_words;
    if (n > 0 && n < self->shingle) {
        Word last = ws.data[n - 1];
        if (ints_push(&hs, crc32_update(0, buf.data, last.start + last.len)) < 0) goto done;
    }
    for (Py_ssize_t i = 0; i + self->shingle <= n; i++) {
        Word first = ws.data[i], last = ws.data[i + self->shingle - 1];
        uint32_t h = crc32_update(0, buf.data + first.start, last.start + last.len - first.start);
        if (ints_push(&hs, h) < 0) goto done;
    }
    words = PyBytes_FromStringAndSize((const char *)buf.data, buf.len);
    hashes = words ? pack_u32(hs.data, hs.len) : NULL;
    if (words && hashes) result = Py_BuildValue("(OnO)", words, n_lead, hashes);
done:
    Py_XDECREF(words);
    Py_XDECREF(hashes);
    PyMem_Free(buf.data);
    PyMem_Free(ws.data);
    PyMem_Free(hs.data);
    return result;
}


/* The stem of a word, or a slice of length 0 for a word that is no keyword. */
static Slice stem_of(Featurizer *self, Slice word, Py_ssize_t chars) {
    Slice none = {word.p, 0};
    if (chars < self->min_word || sliceset_has(&self->stop_set, word)) return none;
    for (Py_ssize_t i = 0; i < self->n_suffixes; i++) {
        Slice suffix = self->suffixes[i];
        if (chars - suffix.len >= self->min_stem && word.len >= suffix.len &&
            word.p[word.len - 1] == suffix.p[suffix.len - 1] &&
            memcmp(word.p + word.len - suffix.len, suffix.p, (size_t)suffix.len) == 0) {
            word.len -= suffix.len;
            return word;
        }
    }
    return word;
}

/* Appends the stems of words [from, to) that are keywords and not excluded. */
static void add_stems(Featurizer *self, const unsigned char *p, const Word *ws, Py_ssize_t from,
                      Py_ssize_t to, const SliceSet *excluded, Slice *out, Py_ssize_t *n_out) {
    for (Py_ssize_t i = from; i < to; i++) {
        Slice word = {p + ws[i].start, ws[i].len};
        if (sliceset_has(excluded, word)) continue;
        Slice stem = stem_of(self, word, ws[i].chars);
        if (stem.len) out[(*n_out)++] = stem;
    }
}

static PyObject *join_slices(const Slice *v, Py_ssize_t n) {
    Py_ssize_t size = 0;
    for (Py_ssize_t i = 0; i < n; i++) size += v[i].len + (i > 0);
    char *tmp = PyMem_Malloc((size_t)(size ? size : 1));
    if (!tmp) return PyErr_NoMemory();
    char *q = tmp;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i) *q++ = ' ';
        memcpy(q, v[i].p, (size_t)v[i].len);
        q += v[i].len;
    }
    PyObject *out = PyUnicode_DecodeUTF8(tmp, size, "strict");
    PyMem_Free(tmp);
    return out;
}

PyDoc_STRVAR(features_doc,
"features(words, lead_count, hashes, boilerplate, url_mark) ->\n"
"    (shingles, sampled, marks, keywords, lead)\n\n"
"An item's packed features from what tokenize() gave, without the shingles in the packed\n"
"sorted `boilerplate` (nor, for keywords, the words of the opening's boilerplate\n"
"shingles): shingles, the sampled ones and the marks packed and sorted; keywords and lead\n"
"keywords sorted and space-separated. `url_mark` (or None) is one more mark.");

static PyObject *Featurizer_features(Featurizer *self, PyObject *args) {
    Py_buffer words_view, hashes_view, boiler_view;
    Py_ssize_t n_lead;
    PyObject *url_mark;
    if (check_ready(self) < 0) return NULL;
    if (!PyArg_ParseTuple(args, "y*ny*y*O", &words_view, &n_lead, &hashes_view, &boiler_view,
                          &url_mark))
        return NULL;
    PyObject *result = NULL;
    Words ws = {0};
    uint32_t *hashes = NULL, *boiler = NULL, *shingles = NULL, *marks = NULL;
    SliceSet excluded = {NULL, 0};
    Slice *stems = NULL;
    Py_ssize_t n_hashes = 0, n_boiler = 0;
    const unsigned char *p = words_view.buf;
    if (split_words(p, words_view.len, &ws) < 0) goto done;
    if (n_lead < 0 || n_lead > ws.len) {
        PyErr_SetString(PyExc_ValueError, "lead_count out of range");
        goto done;
    }
    if (!(hashes = read_hashes(&hashes_view, &n_hashes))) goto done;
    if (!(boiler = read_hashes(&boiler_view, &n_boiler))) goto done;
    Py_ssize_t n = ws.len < self->max_words ? ws.len : self->max_words;
    Py_ssize_t opening = n < self->keyword_words ? n : self->keyword_words;

    /* Shingles without the boilerplate: sorted, once each. */
    if (!(shingles = PyMem_Malloc((size_t)(n_hashes ? n_hashes : 1) * sizeof(uint32_t)))) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(shingles, hashes, (size_t)n_hashes * sizeof(uint32_t));
    Py_ssize_t n_unique = sort_unique(shingles, n_hashes), n_shingles = 0;
    if (n_unique < 0) goto done;
    int boiler_found = 0;
    for (Py_ssize_t i = 0; i < n_unique; i++) {
        if (n_boiler && contains_u32(boiler, n_boiler, shingles[i])) boiler_found = 1;
        else shingles[n_shingles++] = shingles[i];
    }

    /* The words of the opening's boilerplate shingles are no keywords anywhere. */
    if (boiler_found) {
        if (sliceset_init(&excluded, opening) < 0) goto done;
        for (Py_ssize_t i = 0; i + self->shingle <= opening && i < n_hashes; i++)
            if (contains_u32(boiler, n_boiler, hashes[i]))
                for (Py_ssize_t j = i; j < i + self->shingle; j++)
                    sliceset_add(&excluded, (Slice){p + ws.data[j].start, ws.data[j].len});
    }

    /* Keywords: title, teaser and the rest of the opening; lead: title and teaser. The
     * words both have (the opening's start) are in the first part of `stems`. */
    Py_ssize_t both = n_lead < self->keyword_words ? n_lead : self->keyword_words;
    Py_ssize_t cap = opening + (n_lead > both ? n_lead - both : 0) + both + 1;
    if (!(stems = PyMem_Malloc((size_t)(2 * cap) * sizeof(Slice)))) {
        PyErr_NoMemory();
        goto done;
    }
    Slice *keywords = stems, *lead = stems + cap;
    Py_ssize_t n_keywords = 0, n_lead_kw = 0;
    add_stems(self, p, ws.data, 0, both, &excluded, keywords, &n_keywords);
    memcpy(lead, keywords, (size_t)n_keywords * sizeof(Slice));
    n_lead_kw = n_keywords;
    add_stems(self, p, ws.data, both, opening, &excluded, keywords, &n_keywords);
    add_stems(self, p, ws.data, both, n_lead, &excluded, lead, &n_lead_kw);
    n_keywords = sort_unique_slices(keywords, n_keywords);
    n_lead_kw = sort_unique_slices(lead, n_lead_kw);
    if (n_keywords < 0 || n_lead_kw < 0) goto done;

    /* Marks: the sampled shingles, the lead keywords' and the URL's. */
    if (!(marks = PyMem_Malloc((size_t)(n_shingles + n_lead_kw + 1) * sizeof(uint32_t)))) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t n_sampled = 0;
    for (Py_ssize_t i = 0; i < n_shingles; i++)
        if (!(shingles[i] & self->sample_mask)) marks[n_sampled++] = shingles[i];
    PyObject *sampled = pack_u32(marks, n_sampled);
    if (!sampled) goto done;
    Py_ssize_t n_marks = n_sampled;
    static const unsigned char prefix[] = "k:";
    uint32_t seed = crc32_update(0, prefix, 2);
    for (Py_ssize_t i = 0; i < n_lead_kw; i++)
        marks[n_marks++] = crc32_update(seed, lead[i].p, lead[i].len);
    if (url_mark != Py_None) {
        unsigned long v = PyLong_AsUnsignedLong(url_mark);
        if (v > 0xFFFFFFFFul && !PyErr_Occurred())
            PyErr_SetString(PyExc_OverflowError, "url_mark must fit in 32 bits");
        if (PyErr_Occurred()) {
            Py_DECREF(sampled);
            goto done;
        }
        marks[n_marks++] = (uint32_t)v;
    }
    n_marks = sort_unique(marks, n_marks);
    if (n_marks < 0) {
        Py_DECREF(sampled);
        goto done;
    }
    /* One at a time: no C API call may run while an earlier one's error is pending. */
    PyObject *packed = pack_u32(shingles, n_shingles);
    PyObject *all_marks = packed ? pack_u32(marks, n_marks) : NULL;
    PyObject *keyword_text = all_marks ? join_slices(keywords, n_keywords) : NULL;
    PyObject *lead_text = keyword_text ? join_slices(lead, n_lead_kw) : NULL;
    if (lead_text)
        result = PyTuple_Pack(5, packed, sampled, all_marks, keyword_text, lead_text);
    Py_XDECREF(packed);
    Py_DECREF(sampled);
    Py_XDECREF(all_marks);
    Py_XDECREF(keyword_text);
    Py_XDECREF(lead_text);
done:
    PyBuffer_Release(&words_view);
    PyBuffer_Release(&hashes_view);
    PyBuffer_Release(&boiler_view);
    PyMem_Free(ws.data);
    PyMem_Free(hashes);
    PyMem_Free(boiler);
    PyMem_Free(shingles);
    PyMem_Free(marks);
    PyMem_Free(excluded.slots);
    PyMem_Free(stems);
    return result;
}

/* ---- event dates (phase.py: mentions is the reference) ----------------------------- */

/* Whether phase.py may read a word as a number of at most `digits` characters (`exact`:
 * of exactly that many) that C cannot: not ASCII (int() reads the digits of every
 * script), and of such a length in characters (UTF-8 continuation bytes start none). */
static int python_number(Slice w, Py_ssize_t digits, int exact) {
    Py_ssize_t chars = 0;
    int ascii = 1;
    for (Py_ssize_t i = 0; i < w.len; i++) {
        if (w.p[i] >= 0x80) ascii = 0;
        if ((w.p[i] & 0xC0) != 0x80) chars++;
    }
    return !ascii && (exact ? chars == digits : chars <= digits);
}

/* The number an ASCII word of digits of at most `digits` spells, or -1. */
static long ascii_number(Slice w, Py_ssize_t digits) {
    if (w.len == 0 || w.len > digits) return -1;
    long n = 0;
    for (Py_ssize_t i = 0; i < w.len; i++) {
        if (w.p[i] < '0' || w.p[i] > '9') return -1;
        n = n * 10 + (w.p[i] - '0');
    }
    return n;
}

/* phase._day of an ASCII word: 1 to 31, else 0. */
static long day_of(Slice w) {
    long n = ascii_number(w, 2);
    return n >= 1 && n <= 31 ? n : 0;
}

static int month_of(const Featurizer *self, Slice w) {
    for (Py_ssize_t i = self->month_at[w.p[0]]; i < self->month_at[w.p[0] + 1]; i++)
        if (self->months[i].len == w.len && memcmp(self->months[i].p, w.p, (size_t)w.len) == 0)
            return self->month_of[i];
    return 0;
}

/* phase.WEEKDAYS, phase.DATE_WORDS (after one of these, two numbers are a day and a month)
 * and phase.START_WORDS (before a date that starts a period). */
static const char *const weekdays[] = {"montag", "dienstag", "mittwoch", "donnerstag",
                                       "freitag", "samstag",  "sonnabend", "sonntag",
                                       "mo",      "di",       "mi",       "do",
                                       "fr",      "sa",       "so"};
static const char *const date_words[] = {"am", "bis", "den", "seit"};
static const char *const start_words[] = {"vom", "von", "ab"};

static int is_word(Slice w, const char *text) {
    return (Py_ssize_t)strlen(text) == w.len && memcmp(text, w.p, (size_t)w.len) == 0;
}

static int is_one_of(Slice w, const char *const *words, size_t count) {
    for (size_t k = 0; k < count; k++)
        if (is_word(w, words[k])) return 1;
    return 0;
}

#define IS_ONE_OF(w, words) is_one_of((w), (words), sizeof(words) / sizeof((words)[0]))

static int is_date_word(Slice w) { return IS_ONE_OF(w, date_words) || IS_ONE_OF(w, weekdays); }

/* phase._starts_period: whether the day at ws[at] starts a period. */
static int starts_period(const Slice *ws, Py_ssize_t at) {
    if (at == 0) return 0;
    Slice before = ws[at - 1];
    if (is_word(before, "dem") || IS_ONE_OF(before, weekdays)) {
        if (at < 2) return 0;
        before = ws[at - 2];
    }
    return IS_ONE_OF(before, start_words);
}


/* Whether phase.py reads `w` as a number of at most `digits` digits that C does not: a
 * word of decimal digits (str.isdecimal, any script) that is not ASCII. */
static int python_decimal(Slice w, Py_ssize_t digits) {
    Py_ssize_t chars = 0;
    int ascii = 1;
    for (Py_ssize_t i = 0; i < w.len;) {
        unsigned char b = w.p[i];
        Py_UCS4 c;
        Py_ssize_t size = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        if (i + size > w.len) return 0;
        if (size == 1) c = b;
        else if (size == 2) c = (Py_UCS4)(b & 0x1F) << 6 | (w.p[i + 1] & 0x3F);
        else if (size == 3)
            c = (Py_UCS4)(b & 0x0F) << 12 | (Py_UCS4)(w.p[i + 1] & 0x3F) << 6 | (w.p[i + 2] & 0x3F);
        else
            c = (Py_UCS4)(b & 0x07) << 18 | (Py_UCS4)(w.p[i + 1] & 0x3F) << 12 |
                (Py_UCS4)(w.p[i + 2] & 0x3F) << 6 | (w.p[i + 3] & 0x3F);
        if (!Py_UNICODE_ISDECIMAL(c)) return 0;
        ascii &= size == 1;
        chars++;
        i += size;
    }
    return !ascii && chars <= digits;
}

/* Whether `w` is a word of decimal digits for phase.py (str.isdecimal): 1 for ASCII
 * digits, -1 for digits of another script (phase.py decides), 0 for no number. */
static int decimal_word(Slice w) {
    if (python_decimal(w, w.len)) return -1;
    if (w.len == 0) return 0;
    for (Py_ssize_t i = 0; i < w.len; i++)
        if (w.p[i] < '0' || w.p[i] > '9') return 0;
    return 1;
}

/* phase._numeric at ws[i]: 1 with `*month`, `*day`, `*year` (-1 for none) set, 0 for no
 * date, -1 where phase.py must decide (a word it may read as a number that is not ASCII). */
static int numeric_date(const Slice *ws, Py_ssize_t n, Py_ssize_t i, long *month, long *day,
                        long *year) {
    if (i + 1 >= n) return 0;
    /* Most numbers are followed by a word that is none: decided without the first. */
    int later = python_decimal(ws[i + 1], 2);
    *month = later ? 0 : day_of(ws[i + 1]);
    if (!later && (!*month || *month > 12)) return 0;
    int first = python_decimal(ws[i], 2);
    *day = first ? 0 : day_of(ws[i]);
    if (!first && !*day) return 0;
    if (first || later) return -1;
    if (starts_period(ws, i)) return 0;
    *year = -1;
    if (i + 2 < n) {
        Slice f = ws[i + 2];
        if (python_decimal(f, 4)) return -1;
        long y = ascii_number(f, 4);
        if (f.len == 4 && y > 1900 && y < 2200) {
            *year = y;
            return 1;
        }
    }
    if (i == 0 || !is_date_word(ws[i - 1]) || i + 2 >= n) return i > 0 && is_date_word(ws[i - 1]);
    Slice following = ws[i + 2];
    if (is_word(following, "uhr")) return 0; /* "bis 10-12 Uhr" */
    if (is_word(following, "und") && i + 3 < n) { /* "Mo-Fr 8-12 und 13-16 Uhr" */
        int after = decimal_word(ws[i + 3]);
        if (after < 0) return -1;
        if (after && i + 5 < n && is_word(ws[i + 5], "uhr")) return 0;
    }
    long yy = ascii_number(following, 2);
    if (following.len == 2 && yy >= 0) { /* "24.11.26", not "25.08., 18 Uhr" */
        int after = 0;
        if (i + 3 < n) {
            if (is_word(ws[i + 3], "uhr")) return 1;
            if ((after = decimal_word(ws[i + 3])) < 0) return -1;
        }
        if (!after) *year = 2000 + yy;
    }
    return 1;
}

/* Append (month, day, year or None) to `list`; -1 on an error (with the exception set). */
static int append_mention(PyObject *list, long month, long day, long year) {
    PyObject *found = year < 0 ? Py_BuildValue("(llO)", month, day, Py_None)
                               : Py_BuildValue("(lll)", month, day, year);
    int failed = !found || PyList_Append(list, found) < 0;
    Py_XDECREF(found);
    return failed ? -1 : 0;
}

PyDoc_STRVAR(dates_doc,
"dates(words) -> [(month, day, year or None), ...] | None\n\n"
"phase.mentions of the first keyword_words words of `words` (UTF-8, joined by spaces, as\n"
"tokenize gives them; split at every space, as str.split(' ') does), by the month names\n"
"given to __init__. None where a word it would read as a day or a year is not ASCII but\n"
"of a day's or a year's length: phase.py reads those (int() reads every script's digits).");

static PyObject *Featurizer_dates(Featurizer *self, PyObject *arg) {
    Py_buffer view;
    if (check_ready(self) < 0 || PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    const unsigned char *p = view.buf;
    PyObject *result = PyList_New(0);
    Slice *ws = NULL;
    Py_ssize_t n = 0;
    if (!result) goto done;
    if (view.len) { /* "".split(" ") is [""], but an empty text has no words (batch.py) */
        Py_ssize_t cap = self->keyword_words < view.len + 1 ? self->keyword_words : view.len + 1;
        if (!(ws = PyMem_Malloc((size_t)(cap ? cap : 1) * sizeof(Slice)))) {
            PyErr_NoMemory();
            Py_CLEAR(result);
            goto done;
        }
        Py_ssize_t start = 0;
        for (Py_ssize_t i = 0; i <= view.len && n < cap; i++)
            if (i == view.len || p[i] == ' ') {
                ws[n++] = (Slice){p + start, i - start};
                start = i + 1;
            }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (ws[i].len == 0) continue;
        int month = month_of(self, ws[i]);
        if (!month) {
            long m, d, y;
            int numeric = numeric_date(ws, n, i, &m, &d, &y);
            if (numeric < 0) goto in_python;
            if (numeric && append_mention(result, m, d, y) < 0) {
                Py_CLEAR(result);
                goto done;
            }
            continue;
        }
        long day = 0;
        Py_ssize_t year_at = i + 1;
        if (i > 0) {
            if (python_number(ws[i - 1], 2, 0)) goto in_python;
            day = day_of(ws[i - 1]); /* "25. august" */
            if (day && starts_period(ws, i - 1)) continue;
        }
        if (!day && i + 1 < n) { /* "august 25" */
            if (python_number(ws[i + 1], 2, 0)) goto in_python;
            day = day_of(ws[i + 1]);
            year_at = i + 2;
        }
        if (!day) continue;
        long year = -1;
        if (year_at < n) {
            if (python_number(ws[year_at], 4, 1)) goto in_python;
            year = ascii_number(ws[year_at], 4);
            if (ws[year_at].len != 4 || year <= 1900 || year >= 2200) year = -1;
        }
        if (append_mention(result, month, day, year) < 0) {
            Py_CLEAR(result);
            goto done;
        }
    }
    goto done;
in_python:
    Py_CLEAR(result);
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(ws);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef Featurizer_methods[] = {
    {"tokenize", (PyCFunction)Featurizer_tokenize, METH_VARARGS, tokenize_doc},
    {"features", (PyCFunction)Featurizer_features, METH_VARARGS, features_doc},
    {"dates", (PyCFunction)Featurizer_dates, METH_O, dates_doc},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject FeaturizerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "revier_feed.stories._textcore.Featurizer",
    .tp_basicsize = sizeof(Featurizer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = PyDoc_STR("Words, shingles and keywords of items (see text.py for the rules)."),
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Featurizer_init,
    .tp_dealloc = (destructor)Featurizer_dealloc,
    .tp_methods = Featurizer_methods,
};

/* ---- the MarkIndex type ----------------------------------------------------------- */

/* A mark's postings: the slots of the items listed under it, in the order added. */
typedef struct {
    uint32_t mark;
    uint32_t n;   /* 0: an empty table entry */
    uint32_t cap; /* of `many`; 0 while the single slot is in `one` */
    uint32_t one;
    uint32_t *many;
} Posting;

typedef struct {
    PyObject_HEAD
    double window;
    Py_ssize_t max_postings, min_shared, max_candidates;
    Posting *table;
    size_t size, used; /* size: a power of two */
    double *published;
    int64_t *item_ids;
    Py_ssize_t n_items, cap_items;
    int ready; /* __init__ succeeded */
} MarkIndex;

static size_t mark_hash(uint32_t mark) { /* marks are CRCs already; mixed for the low bits */
    uint64_t h = (uint64_t)mark * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32);
}

static Posting *posting_get(const MarkIndex *self, uint32_t mark) {
    if (!self->table) return NULL;
    for (size_t i = mark_hash(mark) & (self->size - 1);; i = (i + 1) & (self->size - 1)) {
        Posting *p = &self->table[i];
        if (!p->n) return NULL;
        if (p->mark == mark) return p;
    }
}

static int table_grow(MarkIndex *self) {
    size_t size = self->size ? 2 * self->size : 1024;
    Posting *table = PyMem_Calloc(size, sizeof(Posting));
    if (!table) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t k = 0; k < self->size; k++) {
        Posting *p = &self->table[k];
        if (!p->n) continue;
        size_t i = mark_hash(p->mark) & (size - 1);
        while (table[i].n) i = (i + 1) & (size - 1);
        table[i] = *p;
    }
    PyMem_Free(self->table);
    self->table = table;
    self->size = size;
    return 0;
}

static int posting_add(MarkIndex *self, uint32_t mark, uint32_t slot) {
    if (4 * (self->used + 1) > 3 * self->size && table_grow(self) < 0) return -1;
    size_t i = mark_hash(mark) & (self->size - 1);
    for (;; i = (i + 1) & (self->size - 1)) {
        Posting *p = &self->table[i];
        if (!p->n) {
            *p = (Posting){mark, 1, 0, slot, NULL};
            self->used++;
            return 0;
        }
        if (p->mark != mark) continue;
        if (p->n == p->cap || !p->cap) {
            uint32_t cap = p->cap ? 2 * p->cap : 4;
            uint32_t *many = PyMem_Realloc(p->many, cap * sizeof(uint32_t));
            if (!many) {
                PyErr_NoMemory();
                return -1;
            }
            if (!p->cap) many[0] = p->one;
            p->many = many;
            p->cap = cap;
        }
        p->many[p->n++] = slot;
        return 0;
    }
}

static const uint32_t *posting_slots(const Posting *p) { return p->cap ? p->many : &p->one; }

static void MarkIndex_dealloc(MarkIndex *self) {
    for (size_t i = 0; i < self->size; i++) PyMem_Free(self->table[i].many);
    PyMem_Free(self->table);
    PyMem_Free(self->published);
    PyMem_Free(self->item_ids);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int MarkIndex_init(MarkIndex *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"window", "max_postings", "min_shared", "max_candidates", NULL};
    double window;
    Py_ssize_t max_postings, min_shared, max_candidates;
    if (self->ready || self->n_items || self->table) {
        PyErr_SetString(PyExc_TypeError, "a MarkIndex is initialised once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "dnnn", kwlist, &window, &max_postings,
                                     &min_shared, &max_candidates))
        return -1;
    if (!(window >= 0) || min_shared < 1 || max_postings < 1 || max_candidates < 0) {
        PyErr_SetString(PyExc_ValueError, "bad parameters");
        return -1;
    }
    self->window = window;
    self->max_postings = max_postings;
    self->min_shared = min_shared;
    self->max_candidates = max_candidates;
    self->ready = 1;
    return 0;
}

static int mark_index_ready(MarkIndex *self) {
    if (self->ready) return 0;
    PyErr_SetString(PyExc_TypeError, "MarkIndex.__init__ was not called");
    return -1;
}

static Py_ssize_t MarkIndex_len(MarkIndex *self) { return self->n_items; }

/* The values of packed bytes or of an iterable of ints, into `out`. */
static int read_marks(PyObject *marks, Ints *out) {
    if (PyBytes_Check(marks)) {
        Py_ssize_t n;
        uint32_t *v = unpack_u32(PyBytes_AS_STRING(marks), PyBytes_GET_SIZE(marks), &n);
        if (!v) return -1;
        for (Py_ssize_t i = 0; i < n; i++)
            if (ints_push(out, v[i]) < 0) {
                PyMem_Free(v);
                return -1;
            }
        PyMem_Free(v);
        return 0;
    }
    PyObject *it = PyObject_GetIter(marks), *item;
    if (!it) return -1;
    while ((item = PyIter_Next(it))) {
        unsigned long v = PyLong_AsUnsignedLong(item);
        Py_DECREF(item);
        if (v > 0xFFFFFFFFul && !PyErr_Occurred())
            PyErr_SetString(PyExc_OverflowError, "marks must fit in 32 bits");
        if (PyErr_Occurred() || ints_push(out, (uint32_t)v) < 0) {
            Py_DECREF(it);
            return -1;
        }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

static int add_item(MarkIndex *self, int64_t item_id, double published) {
    if (self->n_items == self->cap_items) {
        Py_ssize_t cap = self->cap_items ? 2 * self->cap_items : 1024;
        double *times = PyMem_Realloc(self->published, (size_t)cap * sizeof(double));
        if (!times) return PyErr_NoMemory(), -1;
        self->published = times;
        int64_t *ids = PyMem_Realloc(self->item_ids, (size_t)cap * sizeof(int64_t));
        if (!ids) return PyErr_NoMemory(), -1;
        self->item_ids = ids;
        self->cap_items = cap;
    }
    if (self->n_items >= (Py_ssize_t)UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "too many items for a MarkIndex");
        return -1;
    }
    self->published[self->n_items] = published;
    self->item_ids[self->n_items] = item_id;
    self->n_items++;
    return 0;
}

PyDoc_STRVAR(MarkIndex_add_doc,
"add(item_id, published, marks)\n\n"
"List the next slot's item (published: a POSIX timestamp) under its marks (packed bytes\n"
"or ints).");

static PyObject *MarkIndex_add(MarkIndex *self, PyObject *args) {
    long long item_id;
    double published;
    PyObject *marks;
    if (mark_index_ready(self) < 0 || !PyArg_ParseTuple(args, "LdO", &item_id, &published, &marks))
        return NULL;
    Ints values = {0};
    if (read_marks(marks, &values) < 0 || add_item(self, item_id, published) < 0) {
        PyMem_Free(values.data);
        return NULL;
    }
    uint32_t slot = (uint32_t)(self->n_items - 1);
    for (Py_ssize_t i = 0; i < values.len; i++)
        if (posting_add(self, values.data[i], slot) < 0) {
            PyMem_Free(values.data);
            return NULL;
        }
    PyMem_Free(values.data);
    Py_RETURN_NONE;
}

typedef struct {
    uint32_t slot;
    uint32_t shared; /* marks found */
    int same_url;
    int64_t item_id;
} Candidate;

static int candidate_before(const Candidate *a, const Candidate *b) {
    if (a->same_url != b->same_url) return a->same_url;
    if (a->shared != b->shared) return a->shared > b->shared;
    if (a->item_id != b->item_id) return a->item_id < b->item_id;
    return a->slot < b->slot;
}

static int cmp_candidate(const void *a, const void *b) {
    return candidate_before(a, b) ? -1 : candidate_before(b, a) ? 1 : 0;
}

PyDoc_STRVAR(MarkIndex_find_doc,
"find_marks(marks, url_mark, published) -> [(slot, same_url), ...]\n\n"
"The slots of items published within the window that are listed under at least\n"
"min_shared of `marks` (a mark listed under more than max_postings items does not\n"
"count) or under `url_mark` (None: no URL), most shared marks first (those with the\n"
"URL before all), then by item id; at most max_candidates.");

static PyObject *MarkIndex_find(MarkIndex *self, PyObject *args) {
    PyObject *marks, *url_mark;
    double published;
    if (mark_index_ready(self) < 0 || !PyArg_ParseTuple(args, "OOd", &marks, &url_mark, &published))
        return NULL;
    PyObject *result = NULL;
    Ints query = {0}, found = {0}, urls = {0};
    Candidate *candidates = NULL;
    if (read_marks(marks, &query) < 0) goto done;
    for (Py_ssize_t i = 0; i < query.len; i++) {
        const Posting *p = posting_get(self, query.data[i]);
        if (!p || p->n > self->max_postings) continue;
        const uint32_t *slots = posting_slots(p);
        for (uint32_t k = 0; k < p->n; k++)
            if (ints_push(&found, slots[k]) < 0) goto done;
    }
    if (url_mark != Py_None) {
        unsigned long v = PyLong_AsUnsignedLong(url_mark);
        if (v > 0xFFFFFFFFul && !PyErr_Occurred())
            PyErr_SetString(PyExc_OverflowError, "url_mark must fit in 32 bits");
        if (PyErr_Occurred()) goto done;
        const Posting *p = posting_get(self, (uint32_t)v);
        if (p) { /* every item with the URL, however many */
            const uint32_t *slots = posting_slots(p);
            for (uint32_t k = 0; k < p->n; k++)
                if (ints_push(&urls, slots[k]) < 0) goto done;
        }
    }
    if (sort_u32(found.data, found.len) < 0) goto done;
    Py_ssize_t n_urls = sort_unique(urls.data, urls.len);
    if (n_urls < 0) goto done;
    candidates = PyMem_Malloc((size_t)(found.len + n_urls + 1) * sizeof(Candidate));
    if (!candidates) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t n = 0, u = 0;
    for (Py_ssize_t i = 0; i < found.len;) {
        Py_ssize_t j = i;
        while (j < found.len && found.data[j] == found.data[i]) j++;
        uint32_t slot = found.data[i];
        while (u < n_urls && urls.data[u] < slot) /* a URL's slot found by no mark */
            candidates[n++] = (Candidate){urls.data[u++], 0, 1, 0};
        int same_url = u < n_urls && urls.data[u] == slot;
        u += same_url;
        if (same_url || j - i >= self->min_shared)
            candidates[n++] = (Candidate){slot, (uint32_t)(j - i), same_url, 0};
        i = j;
    }
    while (u < n_urls) candidates[n++] = (Candidate){urls.data[u++], 0, 1, 0};
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Candidate c = candidates[i];
        if (c.slot >= (uint32_t)self->n_items) continue; /* a mark from a bad pickle */
        /* As Python's abs(a - b) <= window: a NaN time is never within the window. */
        if (!(fabs(self->published[c.slot] - published) <= self->window)) continue;
        c.item_id = self->item_ids[c.slot];
        candidates[k++] = c;
    }
    if (k > 1) qsort(candidates, (size_t)k, sizeof(Candidate), cmp_candidate);
    if (k > self->max_candidates) k = self->max_candidates;
    if (!(result = PyList_New(k))) goto done;
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *pair = Py_BuildValue("(kO)", (unsigned long)candidates[i].slot,
                                       candidates[i].same_url ? Py_True : Py_False);
        if (!pair) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, i, pair);
    }
done:
    PyMem_Free(query.data);
    PyMem_Free(found.data);
    PyMem_Free(urls.data);
    PyMem_Free(candidates);
    return result;
}

/* Pickling (a large batch's marks go to the candidate finder process): the items' times
 * and ids, and each posting as mark, count, slots; in this machine's byte order, for a
 * process on the same machine. */
static PyObject *MarkIndex_reduce(MarkIndex *self, PyObject *Py_UNUSED(ignored)) {
    if (mark_index_ready(self) < 0) return NULL;
    Py_ssize_t words = 0;
    for (size_t i = 0; i < self->size; i++)
        if (self->table[i].n) words += 2 + self->table[i].n;
    PyObject *postings = PyBytes_FromStringAndSize(NULL, words * 4);
    if (!postings) return NULL;
    uint32_t *out = (uint32_t *)PyBytes_AS_STRING(postings);
    for (size_t i = 0; i < self->size; i++) {
        const Posting *p = &self->table[i];
        if (!p->n) continue;
        *out++ = p->mark;
        *out++ = p->n;
        memcpy(out, posting_slots(p), p->n * sizeof(uint32_t));
        out += p->n;
    }
    /* An empty index has no arrays yet; "y#" would make None of a NULL pointer. */
    const char *times = self->published ? (const char *)self->published : "";
    const char *ids = self->item_ids ? (const char *)self->item_ids : "";
    return Py_BuildValue("(O(dnnn)(y#y#N))", (PyObject *)Py_TYPE(self), self->window,
                         self->max_postings, self->min_shared, self->max_candidates, times,
                         self->n_items * (Py_ssize_t)sizeof(double), ids,
                         self->n_items * (Py_ssize_t)sizeof(int64_t), postings);
}

static PyObject *MarkIndex_setstate(MarkIndex *self, PyObject *state) {
    Py_buffer times, ids, postings;
    if (mark_index_ready(self) < 0) return NULL;
    if (!PyArg_ParseTuple(state, "y*y*y*", &times, &ids, &postings)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = times.len / (Py_ssize_t)sizeof(double);
    if (self->n_items || times.len % sizeof(double) || ids.len != n * (Py_ssize_t)sizeof(int64_t) ||
        postings.len % 4) {
        PyErr_SetString(PyExc_ValueError, "not the state of an empty MarkIndex");
        goto done;
    }
    /* Read with memcpy: a buffer need not be aligned for doubles or ints. */
    const char *t = times.buf, *d = ids.buf, *p = postings.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        double when;
        int64_t id;
        memcpy(&when, t + i * (Py_ssize_t)sizeof(double), sizeof(double));
        memcpy(&id, d + i * (Py_ssize_t)sizeof(int64_t), sizeof(int64_t));
        if (add_item(self, id, when) < 0) goto done;
    }
    Py_ssize_t at = 0, words = postings.len / 4;
    while (at < words) {
        uint32_t head[2];
        if (words - at < 2) goto truncated;
        memcpy(head, p + 4 * at, sizeof(head));
        at += 2;
        if ((Py_ssize_t)head[1] > words - at) goto truncated;
        for (uint32_t k = 0; k < head[1]; k++, at++) {
            uint32_t slot;
            memcpy(&slot, p + 4 * at, sizeof(slot));
            if (posting_add(self, head[0], slot) < 0) goto done;
        }
    }
    result = Py_NewRef(Py_None);
    goto done;
truncated:
    PyErr_SetString(PyExc_ValueError, "truncated MarkIndex state");
done:
    PyBuffer_Release(&times);
    PyBuffer_Release(&ids);
    PyBuffer_Release(&postings);
    return result;
}

static PyMethodDef MarkIndex_methods[] = {
    {"add", (PyCFunction)MarkIndex_add, METH_VARARGS, MarkIndex_add_doc},
    {"find_marks", (PyCFunction)MarkIndex_find, METH_VARARGS, MarkIndex_find_doc},
    {"__reduce__", (PyCFunction)MarkIndex_reduce, METH_NOARGS, NULL},
    {"__setstate__", (PyCFunction)MarkIndex_setstate, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef MarkIndex_members[] = {
    {"window", T_DOUBLE, offsetof(MarkIndex, window), READONLY, "seconds"},
    {NULL, 0, 0, 0, NULL},
};

static PySequenceMethods MarkIndex_as_sequence = {
    .sq_length = (lenfunc)MarkIndex_len,
};

static PyTypeObject MarkIndexType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "revier_feed.stories._textcore.MarkIndex",
    .tp_basicsize = sizeof(MarkIndex),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = PyDoc_STR("Placed items by their marks (see index.MarkIndex, its reference)."),
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)MarkIndex_init,
    .tp_dealloc = (destructor)MarkIndex_dealloc,
    .tp_methods = MarkIndex_methods,
    .tp_members = MarkIndex_members,
    .tp_as_sequence = &MarkIndex_as_sequence,
};

/* ---- module functions ------------------------------------------------------------- */

PyDoc_STRVAR(recurring_doc,
"recurring(packed_sets, needed) -> bytes\n\n"
"The values in at least `needed` of the packed value sets (each counted once per set),\n"
"packed and sorted.");

static PyObject *recurring(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *sets;
    Py_ssize_t needed;
    if (!PyArg_ParseTuple(args, "On", &sets, &needed)) return NULL;
    PyObject *fast = PySequence_Fast(sets, "expected a sequence of bytes");
    if (!fast) return NULL;
    Ints all = {0};
    PyObject *result = NULL;
    Py_ssize_t n_sets = PySequence_Fast_GET_SIZE(fast);
    for (Py_ssize_t s = 0; s < n_sets; s++) {
        Py_buffer view;
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(fast, s), &view, PyBUF_SIMPLE) < 0)
            goto done;
        Py_ssize_t n;
        uint32_t *v = unpack_u32(view.buf, view.len, &n);
        PyBuffer_Release(&view);
        if (!v) goto done;
        n = sort_unique(v, n);
        if (n < 0) {
            PyMem_Free(v);
            goto done;
        }
        for (Py_ssize_t i = 0; i < n; i++)
            if (ints_push(&all, v[i]) < 0) {
                PyMem_Free(v);
                goto done;
            }
        PyMem_Free(v);
    }
    if (sort_u32(all.data, all.len) < 0) goto done;
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < all.len;) {
        Py_ssize_t j = i;
        while (j < all.len && all.data[j] == all.data[i]) j++;
        if (j - i >= needed) all.data[k++] = all.data[i];
        i = j;
    }
    result = pack_u32(all.data, k);
done:
    Py_DECREF(fast);
    PyMem_Free(all.data);
    return result;
}

/* How many values two packed sorted value sets (little-endian, n and m values) share.
 * Branch-free steps: which side advances is data the processor cannot predict. */
static Py_ssize_t common_values(const unsigned char *p, Py_ssize_t n, const unsigned char *q,
                                Py_ssize_t m) {
    Py_ssize_t i = 0, j = 0, common = 0;
    while (i < n && j < m) {
        uint32_t x = read_le32(p + 4 * i), y = read_le32(q + 4 * j);
        common += x == y;
        i += x <= y;
        j += y <= x;
    }
    return common;
}

/* The next word of a space-separated string at *at (skipping spaces), with its hash
 * (hash_slice's); 0 at the end. */
static int next_word(const char *s, Py_ssize_t n, Py_ssize_t *at, Slice *word, uint64_t *hash) {
    Py_ssize_t i = *at;
    while (i < n && s[i] == ' ') i++;
    if (i == n) return 0;
    Py_ssize_t start = i;
    uint64_t h = 14695981039346656037ULL;
    for (; i < n && s[i] != ' '; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    *word = (Slice){(const unsigned char *)s + start, i - start};
    *hash = h;
    *at = i;
    return 1;
}

/* ---- the KeywordCounts type (keywords.py: KeywordCounts is its reference) ----------- */

/* A keyword's count; its word is at `offset` in the arena. */
typedef struct {
    uint64_t hash;
    Py_ssize_t offset, len, count;
    int changed; /* since the changes were last taken */
} KeywordEntry;

typedef struct {
    PyObject_HEAD
    KeywordEntry *entries; /* in the order first counted */
    Py_ssize_t n_entries, entries_cap;
    Py_ssize_t *table; /* index into entries, -1 for an empty slot; a power of two long */
    size_t mask;
    char *arena; /* the words, one after another */
    Py_ssize_t arena_len, arena_cap;
    int ready;
} KeywordCounts;

static void KeywordCounts_dealloc(KeywordCounts *self) {
    PyMem_Free(self->entries);
    PyMem_Free(self->table);
    PyMem_Free(self->arena);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int keyword_counts_ready(KeywordCounts *self) {
    if (!self->ready) {
        PyErr_SetString(PyExc_TypeError, "KeywordCounts.__init__ was not called or failed");
        return -1;
    }
    return 0;
}

/* The entry of a word, or -1; *slot_out: its slot in the table, or the empty slot where it
 * would go. */
static Py_ssize_t kc_find(const KeywordCounts *self, const char *word, Py_ssize_t len,
                          uint64_t hash, size_t *slot_out) {
    size_t i = (size_t)hash & self->mask;
    for (;;) {
        Py_ssize_t e = self->table[i];
        if (e < 0) break;
        const KeywordEntry *entry = &self->entries[e];
        if (entry->hash == hash && entry->len == len &&
            memcmp(self->arena + entry->offset, word, (size_t)len) == 0) {
            if (slot_out) *slot_out = i;
            return e;
        }
        i = (i + 1) & self->mask;
    }
    if (slot_out) *slot_out = i;
    return -1;
}

static int kc_grow_table(KeywordCounts *self) {
    size_t size = self->table ? (self->mask + 1) * 2 : 1024;
    Py_ssize_t *table = PyMem_Malloc(size * sizeof(Py_ssize_t));
    if (!table) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < size; i++) table[i] = -1;
    PyMem_Free(self->table);
    self->table = table;
    self->mask = size - 1;
    for (Py_ssize_t e = 0; e < self->n_entries; e++) {
        size_t i = (size_t)self->entries[e].hash & self->mask;
        while (table[i] >= 0) i = (i + 1) & self->mask;
        table[i] = e;
    }
    return 0;
}

/* The entry of a word (`hash`: hash_slice's), added with a count of 0 if it was not
 * counted yet; -1 on error. */
static Py_ssize_t kc_entry(KeywordCounts *self, const char *word, Py_ssize_t len,
                           uint64_t hash) {
    size_t slot;
    Py_ssize_t e = kc_find(self, word, len, hash, &slot);
    if (e >= 0) return e;
    /* A table at most half full keeps probes short. */
    if ((size_t)(self->n_entries + 1) * 2 > self->mask + 1) {
        if (kc_grow_table(self) < 0) return -1;
        kc_find(self, word, len, hash, &slot);
    }
    void *entries = make_room(self->entries, self->n_entries, &self->entries_cap,
                              sizeof(KeywordEntry));
    if (!entries) return -1;
    self->entries = entries;
    if (self->arena_len + len > self->arena_cap) {
        Py_ssize_t cap = self->arena_cap ? self->arena_cap : 4096;
        while (cap < self->arena_len + len) cap *= 2;
        char *arena = PyMem_Realloc(self->arena, (size_t)cap);
        if (!arena) {
            PyErr_NoMemory();
            return -1;
        }
        self->arena = arena;
        self->arena_cap = cap;
    }
    memcpy(self->arena + self->arena_len, word, (size_t)len);
    e = self->n_entries++;
    self->entries[e] = (KeywordEntry){hash, self->arena_len, len, 0, 0};
    self->arena_len += len;
    self->table[slot] = e;
    return e;
}

/* A word's count (0 if it was never counted); `hash`: hash_slice's. */
static Py_ssize_t kc_count(const KeywordCounts *self, Slice word, uint64_t hash) {
    if (!self->table) return 0;
    Py_ssize_t e = kc_find(self, (const char *)word.p, word.len, hash, NULL);
    return e < 0 ? 0 : self->entries[e].count;
}

static int KeywordCounts_init(KeywordCounts *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"counts", NULL};
    PyObject *counts = NULL;
    if (self->ready || self->table) {
        PyErr_SetString(PyExc_TypeError, "a KeywordCounts is initialised once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O", kwlist, &counts)) return -1;
    if (kc_grow_table(self) < 0) return -1;
    if (counts && counts != Py_None) {
        PyObject *items = PyMapping_Items(counts);
        if (!items) return -1;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
            PyObject *word, *count;
            Py_ssize_t len;
            if (!PyArg_ParseTuple(PyList_GET_ITEM(items, i), "UO!", &word, &PyLong_Type,
                                  &count)) {
                Py_DECREF(items);
                return -1;
            }
            const char *s = PyUnicode_AsUTF8AndSize(word, &len);
            Py_ssize_t n = PyLong_AsSsize_t(count);
            if (!s || (n == -1 && PyErr_Occurred())) {
                Py_DECREF(items);
                return -1;
            }
            if (n < 0 || len == 0 || memchr(s, ' ', (size_t)len)) {
                PyErr_SetString(PyExc_ValueError,
                                "counts must be of words without spaces, at least 0");
                Py_DECREF(items);
                return -1;
            }
            Py_ssize_t e =
                kc_entry(self, s, len, hash_slice((Slice){(const unsigned char *)s, len}));
            if (e < 0) {
                Py_DECREF(items);
                return -1;
            }
            self->entries[e].count = n;
        }
        Py_DECREF(items);
    }
    self->ready = 1;
    return 0;
}

static Py_ssize_t KeywordCounts_len(KeywordCounts *self) {
    return self->ready ? self->n_entries : 0;
}

PyDoc_STRVAR(KeywordCounts_get_doc,
"get(keyword, default=0) -> int\n\n"
"How many items were counted with `keyword`, or `default` if none was.");

static PyObject *KeywordCounts_get(KeywordCounts *self, PyObject *const *args,
                                   Py_ssize_t nargs) {
    if (keyword_counts_ready(self) < 0) return NULL;
    if (nargs < 1 || nargs > 2 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "get(keyword: str, default=0)");
        return NULL;
    }
    Py_ssize_t len;
    const char *s = PyUnicode_AsUTF8AndSize(args[0], &len);
    if (!s) return NULL;
    Py_ssize_t e = kc_find(self, s, len, hash_slice((Slice){(const unsigned char *)s, len}),
                           NULL);
    if (e >= 0) return PyLong_FromSsize_t(self->entries[e].count);
    return nargs == 2 ? Py_NewRef(args[1]) : PyLong_FromLong(0);
}

PyDoc_STRVAR(KeywordCounts_add_doc,
"add(keywords) -> None\n\n"
"Count one more item with each of the space-separated `keywords`.");

static PyObject *KeywordCounts_add(KeywordCounts *self, PyObject *keywords) {
    if (keyword_counts_ready(self) < 0) return NULL;
    if (!PyUnicode_Check(keywords)) {
        PyErr_SetString(PyExc_TypeError, "keywords must be a str");
        return NULL;
    }
    Py_ssize_t n, at = 0;
    const char *s = PyUnicode_AsUTF8AndSize(keywords, &n);
    if (!s) return NULL;
    Slice w;
    uint64_t hash;
    while (next_word(s, n, &at, &w, &hash)) {
        Py_ssize_t e = kc_entry(self, (const char *)w.p, w.len, hash);
        if (e < 0) return NULL;
        self->entries[e].count++;
        self->entries[e].changed = 1;
    }
    Py_RETURN_NONE;
}

static PyObject *kc_word(const KeywordCounts *self, const KeywordEntry *e) {
    return PyUnicode_DecodeUTF8(self->arena + e->offset, e->len, "strict");
}

/* A dict of every counted word (changed_only: of those changed), as in `counts`. */
static PyObject *kc_dict(KeywordCounts *self, int changed_only) {
    PyObject *out = PyDict_New();
    if (!out) return NULL;
    for (Py_ssize_t i = 0; i < self->n_entries; i++) {
        const KeywordEntry *e = &self->entries[i];
        if (changed_only && !e->changed) continue;
        PyObject *word = kc_word(self, e), *count = PyLong_FromSsize_t(e->count);
        if (!word || !count || PyDict_SetItem(out, word, count) < 0) {
            Py_XDECREF(word);
            Py_XDECREF(count);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(word);
        Py_DECREF(count);
    }
    return out;
}

PyDoc_STRVAR(KeywordCounts_take_changed_doc,
"take_changed() -> dict[str, int]\n\n"
"The counts that changed since they were last taken, by keyword; none has changed after.");

static PyObject *KeywordCounts_take_changed(KeywordCounts *self, PyObject *Py_UNUSED(ignored)) {
    if (keyword_counts_ready(self) < 0) return NULL;
    PyObject *out = kc_dict(self, 1);
    if (!out) return NULL;
    for (Py_ssize_t i = 0; i < self->n_entries; i++) self->entries[i].changed = 0;
    return out;
}

static PyObject *KeywordCounts_reduce(KeywordCounts *self, PyObject *Py_UNUSED(ignored)) {
    if (keyword_counts_ready(self) < 0) return NULL;
    PyObject *all = kc_dict(self, 0), *changed = all ? PyList_New(0) : NULL;
    if (!changed) {
        Py_XDECREF(all);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < self->n_entries; i++) {
        if (!self->entries[i].changed) continue;
        PyObject *word = kc_word(self, &self->entries[i]);
        if (!word || PyList_Append(changed, word) < 0) {
            Py_XDECREF(word);
            Py_DECREF(all);
            Py_DECREF(changed);
            return NULL;
        }
        Py_DECREF(word);
    }
    return Py_BuildValue("(O(N)N)", (PyObject *)Py_TYPE(self), all, changed);
}

static PyObject *KeywordCounts_setstate(KeywordCounts *self, PyObject *changed) {
    if (keyword_counts_ready(self) < 0) return NULL;
    if (!PyList_Check(changed)) {
        PyErr_SetString(PyExc_TypeError, "the changed keywords must be a list");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(changed); i++) {
        PyObject *word = PyList_GET_ITEM(changed, i);
        Py_ssize_t len;
        const char *s = PyUnicode_Check(word) ? PyUnicode_AsUTF8AndSize(word, &len) : NULL;
        if (!s) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "keywords must be str");
            return NULL;
        }
        Py_ssize_t e =
            kc_find(self, s, len, hash_slice((Slice){(const unsigned char *)s, len}), NULL);
        if (e < 0) {
            PyErr_SetString(PyExc_ValueError, "a changed keyword that was never counted");
            return NULL;
        }
        self->entries[e].changed = 1;
    }
    Py_RETURN_NONE;
}

static PyMethodDef KeywordCounts_methods[] = {
    {"get", (PyCFunction)(void (*)(void))KeywordCounts_get, METH_FASTCALL, KeywordCounts_get_doc},
    {"add", (PyCFunction)KeywordCounts_add, METH_O, KeywordCounts_add_doc},
    {"take_changed", (PyCFunction)KeywordCounts_take_changed, METH_NOARGS,
     KeywordCounts_take_changed_doc},
    {"__reduce__", (PyCFunction)KeywordCounts_reduce, METH_NOARGS, NULL},
    {"__setstate__", (PyCFunction)KeywordCounts_setstate, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods KeywordCounts_as_sequence = {
    .sq_length = (lenfunc)KeywordCounts_len,
};

static PyTypeObject KeywordCountsType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "revier_feed.stories._textcore.KeywordCounts",
    .tp_basicsize = sizeof(KeywordCounts),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = PyDoc_STR("In how many items each keyword occurs (see keywords.KeywordCounts)."),
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)KeywordCounts_init,
    .tp_dealloc = (destructor)KeywordCounts_dealloc,
    .tp_methods = KeywordCounts_methods,
    .tp_as_sequence = &KeywordCounts_as_sequence,
};

/* ---- the marks a new item is looked up by (packed.py: PackedFeatures.query_marks) --- */

typedef struct {
    Slice word;
    Py_ssize_t rank; /* the keyword's count, an uncounted one ranked after all others */
} RankedWord;

static int ranked_before(const RankedWord *a, const RankedWord *b) {
    if (a->rank != b->rank) return a->rank < b->rank;
    return cmp_slice(&a->word, &b->word) < 0;
}

static int cmp_ranked(const void *a, const void *b) {
    const RankedWord *x = a, *y = b;
    return ranked_before(x, y) ? -1 : ranked_before(y, x) ? 1 : 0;
}

PyDoc_STRVAR(query_marks_doc,
"query_marks(sampled, lead, url_mark, counts, limit, rarest) -> bytes\n\n"
"PackedFeatures.query_marks: the packed sampled shingles and the marks of the lead\n"
"keywords (space-separated) counted in at most `limit` items, the `rarest` of them if\n"
"there are more (uncounted ones last, then by keyword), without `url_mark`; packed,\n"
"sorted, each once.");

static PyObject *query_marks(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer sampled;
    PyObject *lead, *url_mark, *counts;
    Py_ssize_t limit, rarest;
    if (!PyArg_ParseTuple(args, "y*UOO!nn:query_marks", &sampled, &lead, &url_mark,
                          &KeywordCountsType, &counts, &limit, &rarest))
        return NULL;
    PyObject *result = NULL;
    RankedWord *words = NULL;
    uint32_t *marks = NULL;
    Py_ssize_t n, at = 0, n_words = 0, n_sampled;
    long long url = -1;
    const char *s = PyUnicode_AsUTF8AndSize(lead, &n);
    if (!s || keyword_counts_ready((KeywordCounts *)counts) < 0) goto done;
    if (url_mark != Py_None) {
        url = PyLong_AsLongLong(url_mark);
        if (url == -1 && PyErr_Occurred()) goto done;
    }
    if (limit < 0 || rarest < 0) {
        PyErr_SetString(PyExc_ValueError, "limit and rarest must be at least 0");
        goto done;
    }
    uint32_t *values = unpack_u32(sampled.buf, sampled.len, &n_sampled);
    if (!values) goto done;
    /* Room for the sampled marks and every lead word (one per two bytes at most). */
    marks = PyMem_Realloc(values, sizeof(uint32_t) * (size_t)(n_sampled + n / 2 + 1));
    if (!marks) {
        PyMem_Free(values);
        PyErr_NoMemory();
        goto done;
    }
    words = PyMem_Malloc(sizeof(RankedWord) * (size_t)(n / 2 + 1));
    if (!words) {
        PyErr_NoMemory();
        goto done;
    }
    Slice w;
    uint64_t hash;
    while (next_word(s, n, &at, &w, &hash)) {
        Py_ssize_t count = kc_count((KeywordCounts *)counts, w, hash);
        if (count <= limit) words[n_words++] = (RankedWord){w, count ? count : limit + 1};
    }
    if (n_words > rarest) {
        qsort(words, (size_t)n_words, sizeof(RankedWord), cmp_ranked);
        n_words = rarest;
    }
    static const unsigned char prefix[] = "k:";
    uint32_t seed = crc32_update(0, prefix, 2);
    Py_ssize_t n_marks = n_sampled;
    for (Py_ssize_t i = 0; i < n_words; i++)
        marks[n_marks++] = crc32_update(seed, words[i].word.p, words[i].word.len);
    n_marks = sort_unique(marks, n_marks);
    if (n_marks < 0) goto done;
    if (url >= 0) {
        Py_ssize_t k = 0;
        for (Py_ssize_t i = 0; i < n_marks; i++)
            if ((long long)marks[i] != url) marks[k++] = marks[i];
        n_marks = k;
    }
    result = pack_u32(marks, n_marks);
done:
    PyMem_Free(words);
    PyMem_Free(marks);
    PyBuffer_Release(&sampled);
    return result;
}

/* ---- confirming candidates (index.py: StoryIndex.confirm, text.py: decide) --------- */

static PyObject *name_shingles, *name_keywords, *name_districts, *name_day, *name_upcoming;

/* The thresholds of text.decide. */
typedef struct {
    double verbatim, across_districts, containment, keyword_containment;
    Py_ssize_t min_shingles, min_keywords;
} Rules;

/* text.decide, from what it reads of the similarity and of the two items. */
static int decide(const Rules *r, int same_url, double copied, double keywords,
                  Py_ssize_t shingle_count, Py_ssize_t keyword_count, int districts_disjoint,
                  int phases_differ) {
    if (same_url) return 1;
    if (phases_differ) return copied >= r->verbatim;
    if (districts_disjoint)
        return copied >= r->verbatim ||
               (keyword_count >= r->min_keywords && keywords >= r->across_districts);
    if (shingle_count >= r->min_shingles && copied >= r->containment) return 1;
    return keyword_count >= r->min_keywords && keywords >= r->keyword_containment;
}

/* text.keyword_share */
static double keyword_share(double common, double a_weight, double b_weight) {
    double smaller = b_weight < a_weight ? b_weight : a_weight;
    return smaller > 0 ? common / smaller : 0.0;
}

/* Whether a day of `upcoming` (a tuple of day numbers) is before `day`: 1, 0, or -1. */
static int any_before(PyObject *upcoming, long long day) {
    if (!PyTuple_Check(upcoming)) {
        PyErr_SetString(PyExc_TypeError, "upcoming days must be a tuple");
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(upcoming); i++) {
        long long d = PyLong_AsLongLong(PyTuple_GET_ITEM(upcoming, i));
        if (d == -1 && PyErr_Occurred()) return -1;
        if (d < day) return 1;
    }
    return 0;
}

/* `a and b and a.isdisjoint(b)` for two sets of districts: 1, 0, or -1. */
static int districts_disjoint(PyObject *a, PyObject *b) {
    if (!PyAnySet_Check(a) || !PyAnySet_Check(b)) {
        PyErr_SetString(PyExc_TypeError, "districts must be sets");
        return -1;
    }
    if (PySet_GET_SIZE(a) == 0 || PySet_GET_SIZE(b) == 0) return 0;
    if (a == b) return 0; /* the index keeps one object per distinct set */
    if (PySet_GET_SIZE(a) > PySet_GET_SIZE(b)) {
        PyObject *t = a;
        a = b;
        b = t;
    }
    PyObject *it = PyObject_GetIter(a), *key;
    if (!it) return -1;
    int disjoint = 1;
    while ((key = PyIter_Next(it))) {
        int has = PySet_Contains(b, key);
        Py_DECREF(key);
        if (has != 0) {
            disjoint = has < 0 ? -1 : 0;
            break;
        }
    }
    Py_DECREF(it);
    if (disjoint == 1 && PyErr_Occurred()) return -1;
    return disjoint;
}

/* log(count + 1) of a keyword, from `table` (a list of floats indexed by count). */
static int log_of_count(PyObject *table, Py_ssize_t count, double *out) {
    if (count >= PyList_GET_SIZE(table)) {
        PyErr_SetString(PyExc_ValueError, "a keyword's count is outside the table of logs");
        return -1;
    }
    PyObject *log_n = PyList_GET_ITEM(table, count);
    if (!PyFloat_Check(log_n)) {
        PyErr_SetString(PyExc_TypeError, "the table of logs must hold floats");
        return -1;
    }
    *out = PyFloat_AS_DOUBLE(log_n);
    return 0;
}

/* A space-separated string's words with their hashes. */
typedef struct {
    Slice word;
    uint64_t hash;
    double log; /* log(count + 1) (the new item's keywords only) */
} HashedWord;

typedef struct {
    HashedWord *words;
    Py_ssize_t n, cap;
} HashedWords;

static int read_hashed(const char *s, Py_ssize_t n, HashedWords *out) {
    Py_ssize_t at = 0;
    HashedWord w = {0};
    out->n = 0;
    while (next_word(s, n, &at, &w.word, &w.hash)) {
        void *words = make_room(out->words, out->n, &out->cap, sizeof(HashedWord));
        if (!words) return -1;
        out->words = words;
        out->words[out->n++] = w;
    }
    return 0;
}

/* The new item's keywords, findable by hash: slots of a power-of-two table, -1 empty. */
typedef struct {
    HashedWords own;
    Py_ssize_t *table;
    size_t mask;
} OwnKeywords;

static int own_keywords_read(OwnKeywords *k, const char *s, Py_ssize_t n,
                             const KeywordCounts *counts, PyObject *table) {
    if (read_hashed(s, n, &k->own) < 0) return -1;
    size_t size = 16;
    while (size < (size_t)k->own.n * 2) size *= 2;
    k->table = PyMem_Malloc(size * sizeof(Py_ssize_t));
    if (!k->table) {
        PyErr_NoMemory();
        return -1;
    }
    k->mask = size - 1;
    for (size_t i = 0; i < size; i++) k->table[i] = -1;
    for (Py_ssize_t w = 0; w < k->own.n; w++) {
        HashedWord *word = &k->own.words[w];
        if (log_of_count(table, kc_count(counts, word->word, word->hash), &word->log) < 0)
            return -1;
        size_t i = (size_t)word->hash & k->mask;
        while (k->table[i] >= 0) i = (i + 1) & k->mask;
        k->table[i] = w;
    }
    return 0;
}

/* The new item's keyword that is `w`, or NULL. */
static const HashedWord *own_keyword(const OwnKeywords *k, const HashedWord *w) {
    for (size_t i = (size_t)w->hash & k->mask; k->table[i] >= 0; i = (i + 1) & k->mask) {
        const HashedWord *own = &k->own.words[k->table[i]];
        if (own->hash == w->hash && cmp_slice(&own->word, &w->word) == 0) return own;
    }
    return NULL;
}

/* What best_candidate reads of an indexed item (new references). */
typedef struct {
    PyObject *shingles, *keywords, *districts, *day, *upcoming;
} Entry;

static void entry_clear(Entry *e) {
    Py_CLEAR(e->shingles);
    Py_CLEAR(e->keywords);
    Py_CLEAR(e->districts);
    Py_CLEAR(e->day);
    Py_CLEAR(e->upcoming);
}

static int entry_read(PyObject *item, Entry *e) {
    if (!(e->shingles = PyObject_GetAttr(item, name_shingles)) ||
        !(e->keywords = PyObject_GetAttr(item, name_keywords)) ||
        !(e->districts = PyObject_GetAttr(item, name_districts)) ||
        !(e->day = PyObject_GetAttr(item, name_day)) ||
        !(e->upcoming = PyObject_GetAttr(item, name_upcoming)))
        return -1;
    if (!PyBytes_Check(e->shingles) || PyBytes_GET_SIZE(e->shingles) % 4) {
        PyErr_SetString(PyExc_TypeError, "an item's shingles must be packed bytes");
        return -1;
    }
    if (!PyUnicode_Check(e->keywords)) {
        PyErr_SetString(PyExc_TypeError, "an item's keywords must be a str");
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(best_candidate_doc,
"best_candidate(items, found, shingles, keywords, districts, day, upcoming, counts,\n"
"               table, term, rules) -> (slot, score) | None\n\n"
"StoryIndex.confirm's loop: of the slots in `found` ((slot, same_url) pairs; `items` by\n"
"slot), the one most similar to the new item among those that are the same story by\n"
"`rules` (verbatim, across_districts, containment, keyword_containment, min_shingles,\n"
"min_keywords), with its score; the first of equals. The new item: packed sorted\n"
"`shingles`, sorted space-separated `keywords`, `districts`, publication `day`,\n"
"`upcoming` event days. Keyword counts: `counts` (a KeywordCounts), `table`\n"
"(log(n + 1) by count), and `term` = log(total + 1) + 1.");

static PyObject *best_candidate(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *items, *found, *keywords, *districts, *upcoming, *counts, *table;
    Py_buffer shingles;
    double term;
    long long day;
    Rules r;
    if (!PyArg_ParseTuple(args, "O!O!y*UOLO!O!O!d(ddddnn):best_candidate", &PyList_Type,
                          &items, &PyList_Type, &found, &shingles, &keywords, &districts, &day,
                          &PyTuple_Type, &upcoming, &KeywordCountsType, &counts, &PyList_Type,
                          &table,
                          &term, &r.verbatim, &r.across_districts, &r.containment,
                          &r.keyword_containment, &r.min_shingles, &r.min_keywords))
        return NULL;
    PyObject *result = NULL;
    Entry e = {0};
    OwnKeywords own = {0};
    HashedWords other = {0};
    Py_ssize_t own_shingles = shingles.len / 4, own_keywords, n;
    Py_ssize_t best_slot = -1;
    double best_score = 0.0, own_sum = 0.0;
    const char *s = PyUnicode_AsUTF8AndSize(keywords, &n);
    if (!s) goto done;
    if (shingles.len % 4) {
        PyErr_SetString(PyExc_ValueError, "packed values must be a multiple of 4 bytes");
        goto done;
    }
    if (keyword_counts_ready((KeywordCounts *)counts) < 0 ||
        own_keywords_read(&own, s, n, (KeywordCounts *)counts, table) < 0)
        goto done;
    own_keywords = own.own.n;
    for (Py_ssize_t w = 0; w < own_keywords; w++) own_sum += own.own.words[w].log;
    double weight = (double)own_keywords * term - own_sum;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(found); i++) {
        PyObject *pair = PyList_GET_ITEM(found, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "found must hold (slot, same_url) pairs");
            goto done;
        }
        Py_ssize_t slot = PyLong_AsSsize_t(PyTuple_GET_ITEM(pair, 0));
        if (slot == -1 && PyErr_Occurred()) goto done;
        int same_url = PyObject_IsTrue(PyTuple_GET_ITEM(pair, 1));
        if (same_url < 0) goto done;
        if (slot < 0 || slot >= PyList_GET_SIZE(items)) {
            PyErr_SetString(PyExc_IndexError, "a slot beyond the index's items");
            goto done;
        }
        entry_clear(&e);
        if (entry_read(PyList_GET_ITEM(items, slot), &e) < 0) goto done;
        Py_ssize_t e_len;
        const char *e_keywords = PyUnicode_AsUTF8AndSize(e.keywords, &e_len);
        if (!e_keywords) goto done;
        long long e_day = PyLong_AsLongLong(e.day);
        if (e_day == -1 && PyErr_Occurred()) goto done;

        Py_ssize_t other_shingles = PyBytes_GET_SIZE(e.shingles) / 4;
        Py_ssize_t shorter = own_shingles < other_shingles ? own_shingles : other_shingles;
        double copied = shorter ? (double)common_values(shingles.buf, own_shingles,
                                                        (const unsigned char *)PyBytes_AS_STRING(
                                                            e.shingles),
                                                        other_shingles) /
                                      (double)shorter
                                : 0.0;
        /* The logs of the keywords both have, added in their (sorted) order. */
        if (read_hashed(e_keywords, e_len, &other) < 0) goto done;
        double shared_logs = 0.0;
        Py_ssize_t shared = 0, other_count = other.n;
        for (Py_ssize_t w = 0; w < other.n; w++) {
            const HashedWord *found_word = own_keyword(&own, &other.words[w]);
            if (found_word) {
                shared_logs += found_word->log;
                shared++;
            }
        }
        double common = (double)shared * term - shared_logs;
        int phases_differ =
            day <= e_day ? any_before(upcoming, e_day) : any_before(e.upcoming, day);
        if (phases_differ < 0) goto done;
        int disjoint = districts_disjoint(districts, e.districts);
        if (disjoint < 0) goto done;
        Py_ssize_t keyword_count = own_keywords < other_count ? own_keywords : other_count;
        /* As in confirm: decided on a floor of the other item's keyword weight first. */
        double floor = (common + (double)other_count - (double)shared) * (1 - 1e-9);
        double bound = keyword_share(common, weight, floor);
        if (!decide(&r, same_url, copied, bound, shorter, keyword_count, disjoint,
                    phases_differ))
            continue;
        double score = same_url ? 1.0 : copied;
        if (!decide(&r, same_url, copied, 0.0, shorter, keyword_count, disjoint,
                    phases_differ) ||
            bound > score) {
            double other_weight = floor;
            if (weight > floor) {
                double sum = 0.0, log_n;
                for (Py_ssize_t w = 0; w < other.n; w++) {
                    Py_ssize_t count =
                        kc_count((KeywordCounts *)counts, other.words[w].word, other.words[w].hash);
                    if (log_of_count(table, count, &log_n) < 0) goto done;
                    sum += log_n;
                }
                other_weight = (double)other.n * term - sum;
            }
            double share = keyword_share(common, weight, other_weight);
            if (!decide(&r, same_url, copied, share, shorter, keyword_count, disjoint,
                        phases_differ))
                continue;
            score = same_url ? 1.0 : (share > copied ? share : copied);
        }
        if (best_slot < 0 || score > best_score) {
            best_slot = slot;
            best_score = score;
        }
    }
    result = best_slot < 0 ? Py_NewRef(Py_None) : Py_BuildValue("(nd)", best_slot, best_score);
done:
    entry_clear(&e);
    PyMem_Free(own.own.words);
    PyMem_Free(own.table);
    PyMem_Free(other.words);
    PyBuffer_Release(&shingles);
    return result;
}

static PyMethodDef module_methods[] = {
    {"recurring", recurring, METH_VARARGS, recurring_doc},
    {"best_candidate", best_candidate, METH_VARARGS, best_candidate_doc},
    {"query_marks", query_marks, METH_VARARGS, query_marks_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef textcore_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "revier_feed.stories._textcore",
    .m_doc = PyDoc_STR("The story stage's per-item text work in C (text.py is the reference)."),
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__textcore(void) {
    crc_init();
    for (Py_UCS4 c = 0; c < 256; c++) latin1_word_char[c] = c == '_' || Py_UNICODE_ISALNUM(c);
    if (!(name_shingles = PyUnicode_InternFromString("shingles")) ||
        !(name_keywords = PyUnicode_InternFromString("keywords")) ||
        !(name_districts = PyUnicode_InternFromString("districts")) ||
        !(name_day = PyUnicode_InternFromString("day")) ||
        !(name_upcoming = PyUnicode_InternFromString("upcoming")))
        return NULL;
    if (PyType_Ready(&FeaturizerType) < 0 || PyType_Ready(&MarkIndexType) < 0 ||
        PyType_Ready(&KeywordCountsType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&textcore_module);
    if (!m) return NULL;
    if (PyModule_AddObjectRef(m, "Featurizer", (PyObject *)&FeaturizerType) < 0 ||
        PyModule_AddObjectRef(m, "MarkIndex", (PyObject *)&MarkIndexType) < 0 ||
        PyModule_AddObjectRef(m, "KeywordCounts", (PyObject *)&KeywordCountsType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
