/* german.fold and german.folded_words in C: a text folded, and its folded words, each
 * between single spaces; and tag._Places's search for place names in folded words
 * (PlaceFinder, below; the regular expression in tag.py is its reference).
 *
 * The reference is the Python in german.py (fold_python, folded_words_python):
 *     " " + " ".join(re.findall(r"\w+", fold(text))) + " "
 * where fold is str.casefold() followed by replacing "ä", "ö" and "ü" with "ae", "oe"
 * and "ue". Tagging reads every item's title, teaser and body this way; in Python the
 * words became a list of str objects only to be joined again, a sixth of the worker
 * processes' time in a first cycle. Here a text of Latin-1 characters and punctuation
 * beyond it (most German news: „“ and – are not Latin-1) is folded by a table in one pass;
 * any other text is casefolded by str.casefold (through the C API) and then read once. The
 * result is written once.
 *
 * Equalities it relies on:
 * - a word is a run of characters for which Py_UNICODE_ISALNUM holds, or "_": what the
 *   re module's \w matches in a str pattern;
 * - "ä", "ö", "ü" and their replacements are all word characters, so replacing them
 *   before or after splitting the words gives the same words;
 * - str.casefold maps A-Z and U+00C0-U+00DE (but for U+00D7) 0x20 up, "ß" to "ss",
 *   "µ" to Greek mu, and no other Latin-1 character; no Latin-1 character changes from
 *   a word character to another kind or back by folding.
 * tests/test_german.py compares the two on chosen and random texts.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static PyObject *name_casefold;

static int is_word_char(Py_UCS4 c) { return c == '_' || Py_UNICODE_ISALNUM(c); }

/* For texts of Latin-1 characters, the folding is a table: what each character folds to
 * (one or two characters), and whether it is a word character. Only "µ" folds to a
 * character beyond Latin-1 (Greek mu); a text with it takes the general path. */
static unsigned char fold_len[256];
static unsigned char fold_to[256][2];
#define MICRO 0xB5

static unsigned char word_char[256];

static void fold_table_init(void) {
    for (int c = 0; c < 256; c++) {
        word_char[c] = (unsigned char)is_word_char((Py_UCS4)c);
        if (!word_char[c]) {
            fold_len[c] = 1;
            fold_to[c][0] = (unsigned char)c;
            continue;
        }
        int lower = c;
        if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7)) lower = c + 0x20;
        fold_len[c] = 1;
        fold_to[c][0] = (unsigned char)lower;
        if (c == 0xDF) { /* ß */
            fold_len[c] = 2;
            fold_to[c][0] = fold_to[c][1] = 's';
        } else if (lower == 0xE4 || lower == 0xF6 || lower == 0xFC) { /* ä ö ü */
            fold_len[c] = 2;
            fold_to[c][0] = lower == 0xE4 ? 'a' : lower == 0xF6 ? 'o' : 'u';
            fold_to[c][1] = 'e';
        }
    }
}

/* Characters beyond Latin-1 that the table path passes over as they are: General
 * Punctuation (dashes, the quotes „“, the ellipsis) and the currency signs. None of them is
 * a word character and str.casefold leaves each as it is (tests/test_german.py checks both
 * on the running Python), so a German text with „“ and – still takes the table. */
static int passed_over(Py_UCS4 c) {
    return (c >= 0x2000 && c <= 0x206F) || (c >= 0x20A0 && c <= 0x20CF);
}

/* Whether the table folds `text`: Latin-1 characters but "µ", and characters passed over. */
static int table_folds(PyObject *text) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (PyUnicode_KIND(text) == PyUnicode_1BYTE_KIND)
        return !memchr(PyUnicode_1BYTE_DATA(text), MICRO, (size_t)n);
    if (PyUnicode_KIND(text) != PyUnicode_2BYTE_KIND) return 0;
    const Py_UCS2 *p = PyUnicode_2BYTE_DATA(text);
    for (Py_ssize_t i = 0; i < n; i++)
        if (p[i] > 0xFF ? !passed_over(p[i]) : p[i] == MICRO) return 0;
    return 1;
}

/* A casefolded character written at `len` of `out` (of `kind`), "ä", "ö", "ü" spelled
 * out; the length after it. */
static Py_ssize_t write_folded(int kind, void *out, Py_ssize_t len, Py_UCS4 c) {
    if (c == 0xE4 || c == 0xF6 || c == 0xFC) { /* ä ö ü */
        PyUnicode_WRITE(kind, out, len++, c == 0xE4 ? 'a' : c == 0xF6 ? 'o' : 'u');
        PyUnicode_WRITE(kind, out, len++, 'e');
    } else {
        PyUnicode_WRITE(kind, out, len++, c);
    }
    return len;
}

/* folded_words for a text the table folds: one pass over its characters. Only Latin-1
 * characters are written (the others are no word characters). */
static PyObject *folded_by_table(PyObject *text) {
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), cap = 2 * n + 2, len = 0;
    int in_word = 0, words = 0;
    unsigned char *out = PyMem_Malloc((size_t)cap);
    if (!out) return PyErr_NoMemory();
    out[len++] = ' ';
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c > 0xFF || !word_char[c]) {
            if (in_word) out[len++] = ' ';
            in_word = 0;
            continue;
        }
        words |= 1;
        in_word = 1;
        out[len++] = fold_to[c][0];
        if (fold_len[c] == 2) out[len++] = fold_to[c][1];
    }
    if (in_word || !words) out[len++] = ' ';
    PyObject *result = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, out, len);
    PyMem_Free(out);
    return result;
}

PyDoc_STRVAR(folded_words_doc,
"folded_words(text) -> str\n\n"
"The words of `text` casefolded, with ä, ö, ü as ae, oe, ue, each between single\n"
"spaces: \" laendliche raeume \" (two spaces for a text without words).");

static PyObject *folded_words(PyObject *Py_UNUSED(module), PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "folded_words() needs a str");
        return NULL;
    }
    if (table_folds(text)) return folded_by_table(text);
    PyObject *folded = PyObject_CallMethodNoArgs(text, name_casefold);
    if (!folded) return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(folded);
    int kind = PyUnicode_KIND(folded);
    const void *data = PyUnicode_DATA(folded);
    /* At most: a space, then every character twice (an umlaut spelled out, or a
     * one-letter word and its space), then the space of a text without words. */
    Py_ssize_t cap = 2 * n + 2;
    void *out = PyMem_Malloc((size_t)cap * (size_t)kind);
    if (!out) {
        Py_DECREF(folded);
        return PyErr_NoMemory();
    }
    Py_ssize_t len = 0, words = 0;
    int in_word = 0;
    PyUnicode_WRITE(kind, out, len++, ' ');
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (!is_word_char(c)) {
            if (in_word) PyUnicode_WRITE(kind, out, len++, ' ');
            in_word = 0;
            continue;
        }
        words += !in_word;
        in_word = 1;
        len = write_folded(kind, out, len, c);
    }
    if (in_word || words == 0) PyUnicode_WRITE(kind, out, len++, ' ');
    /* The folded text's kind fits every character written; the result is made compact. */
    PyObject *result = PyUnicode_FromKindAndData(kind, out, len);
    PyMem_Free(out);
    Py_DECREF(folded);
    return result;
}

PyDoc_STRVAR(fold_doc,
"fold(text) -> str\n\n"
"`text` casefolded, with ä, ö, ü as ae, oe, ue: \"Ländliche RÄUME, Straße\" ->\n"
"\"laendliche raeume, strasse\".");

static PyObject *fold(PyObject *Py_UNUSED(module), PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "fold() needs a str");
        return NULL;
    }
    PyObject *source = NULL;
    if (!table_folds(text)) {
        source = PyObject_CallMethodNoArgs(text, name_casefold);
        if (!source) return NULL;
    }
    PyObject *from = source ? source : text;
    Py_ssize_t n = PyUnicode_GET_LENGTH(from), len = 0;
    int kind = PyUnicode_KIND(from);
    const void *data = PyUnicode_DATA(from);
    void *out = PyMem_Malloc((size_t)(2 * n + 1) * (size_t)kind);
    if (!out) {
        Py_XDECREF(source);
        return PyErr_NoMemory();
    }
    if (!source) { /* the table; characters beyond Latin-1 are passed over */
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (c > 0xFF) {
                PyUnicode_WRITE(kind, out, len++, c);
                continue;
            }
            PyUnicode_WRITE(kind, out, len++, fold_to[c][0]);
            if (fold_len[c] == 2) PyUnicode_WRITE(kind, out, len++, fold_to[c][1]);
        }
    } else { /* casefolded already: spell out the umlauts */
        for (Py_ssize_t i = 0; i < n; i++) {
            len = write_folded(kind, out, len, PyUnicode_READ(kind, data, i));
        }
    }
    PyObject *result = PyUnicode_FromKindAndData(kind, out, len);
    PyMem_Free(out);
    Py_XDECREF(source);
    return result;
}

/* ---- place names in folded words (tag._Places; its regular expression is the reference) */

/* One word of a place name, in PlaceFinder.chars. */
typedef struct {
    Py_ssize_t offset, len;
} NameWord;

/* A place name: its words (consecutive in PlaceFinder.words) and its wildcards. */
typedef struct {
    Py_ssize_t first, count;
    int leading, trailing;
} PlaceName;

/* Indexes of names, ascending (the rank order). */
typedef struct {
    Py_ssize_t *v, n, cap;
} IndexList;

/* The names whose first word is one exact word, in rank order. */
typedef struct {
    uint64_t hash;
    Py_ssize_t word; /* a NameWord of the first of them */
    IndexList names;
} FirstWord;

typedef struct {
    PyObject_HEAD
    Py_UCS4 *chars;
    NameWord *words;
    PlaceName *names;
    Py_ssize_t n_names;
    FirstWord *table; /* open addressing; names == NULL: empty */
    size_t mask;
    /* Names whose only word may go on, by its first character (beyond Latin-1: 256), and
     * names whose first word may have more in front (tried at every word); rank order. */
    IndexList by_first_char[257], anywhere;
    int ready; /* __init__ succeeded: a failed one leaves an object that refuses to work */
} PlaceFinder;

static uint64_t hash_ucs4(const Py_UCS4 *s, Py_ssize_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (Py_ssize_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

static int same_chars(const Py_UCS4 *a, const Py_UCS4 *b, Py_ssize_t n) {
    return memcmp(a, b, (size_t)n * sizeof(Py_UCS4)) == 0;
}

static void PlaceFinder_dealloc(PlaceFinder *self) {
    if (self->table)
        for (size_t i = 0; i <= self->mask; i++) PyMem_Free(self->table[i].names.v);
    for (int c = 0; c < 257; c++) PyMem_Free(self->by_first_char[c].v);
    PyMem_Free(self->anywhere.v);
    PyMem_Free(self->table);
    PyMem_Free(self->chars);
    PyMem_Free(self->words);
    PyMem_Free(self->names);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int push_index(IndexList *list, Py_ssize_t value) {
    if (list->n == list->cap) {
        Py_ssize_t grown = list->cap ? 2 * list->cap : 4;
        Py_ssize_t *more = PyMem_Realloc(list->v, (size_t)grown * sizeof(Py_ssize_t));
        if (!more) {
            PyErr_NoMemory();
            return -1;
        }
        list->v = more;
        list->cap = grown;
    }
    list->v[list->n++] = value;
    return 0;
}

/* Lists name `index` under its first word (an exact word). */
static int index_first_word(PlaceFinder *self, Py_ssize_t index) {
    const NameWord *w = &self->words[self->names[index].first];
    const Py_UCS4 *chars = self->chars + w->offset;
    uint64_t h = hash_ucs4(chars, w->len);
    size_t i = (size_t)h & self->mask;
    for (;; i = (i + 1) & self->mask) {
        FirstWord *e = &self->table[i];
        if (!e->names.n) {
            e->hash = h;
            e->word = self->names[index].first;
            break;
        }
        const NameWord *other = &self->words[e->word];
        if (e->hash == h && other->len == w->len &&
            same_chars(self->chars + other->offset, chars, w->len))
            break;
    }
    return push_index(&self->table[i].names, index);
}

PyDoc_STRVAR(PlaceFinder_doc,
"PlaceFinder(names)\n\n"
"Place names to find in folded words: `names` is a sequence of (words, leading, trailing),\n"
"best first, `words` a tuple of folded words (\\w characters only), `leading`: the first\n"
"word may have more in front, `trailing`: the last word may go on.");

static int PlaceFinder_init(PlaceFinder *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"names", NULL};
    PyObject *names;
    if (self->names) {
        PyErr_SetString(PyExc_TypeError, "PlaceFinder is initialized once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:PlaceFinder", kwlist, &names)) return -1;
    PyObject *seq = PySequence_Fast(names, "names must be a sequence");
    if (!seq) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), n_words = 0, n_chars = 0;
    int ok = -1;
    for (Py_ssize_t i = 0; i < n; i++) { /* sizes first, and the types */
        PyObject *name = PySequence_Fast_GET_ITEM(seq, i), *words;
        int leading, trailing;
        if (!PyTuple_Check(name) ||
            !PyArg_ParseTuple(name, "O!pp", &PyTuple_Type, &words, &leading, &trailing)) {
            if (!PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_TypeError)) {
                PyErr_Clear();
                PyErr_SetString(PyExc_TypeError,
                                "a name must be (tuple of words, leading, trailing)");
            }
            goto done;
        }
        if (PyTuple_GET_SIZE(words) == 0) {
            PyErr_SetString(PyExc_ValueError, "a name needs at least one word");
            goto done;
        }
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(words); k++) {
            PyObject *word = PyTuple_GET_ITEM(words, k);
            if (!PyUnicode_Check(word) || PyUnicode_GET_LENGTH(word) == 0) {
                PyErr_SetString(PyExc_ValueError, "a name's words must be non-empty str");
                goto done;
            }
            n_chars += PyUnicode_GET_LENGTH(word);
        }
        n_words += PyTuple_GET_SIZE(words);
    }
    self->chars = PyMem_Malloc((size_t)(n_chars + 1) * sizeof(Py_UCS4));
    self->words = PyMem_Malloc((size_t)(n_words + 1) * sizeof(NameWord));
    self->names = PyMem_Calloc((size_t)(n + 1), sizeof(PlaceName));
    size_t size = 16;
    while (size < (size_t)n * 2) size *= 2;
    self->table = PyMem_Calloc(size, sizeof(FirstWord));
    self->mask = size - 1;
    if (!self->chars || !self->words || !self->names || !self->table) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t at_char = 0, at_word = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PySequence_Fast_GET_ITEM(seq, i), *words;
        int leading, trailing;
        if (!PyArg_ParseTuple(name, "O!pp", &PyTuple_Type, &words, &leading, &trailing))
            goto done;
        PlaceName *p = &self->names[i];
        *p = (PlaceName){at_word, PyTuple_GET_SIZE(words), leading, trailing};
        for (Py_ssize_t k = 0; k < p->count; k++) {
            PyObject *word = PyTuple_GET_ITEM(words, k);
            Py_ssize_t len = PyUnicode_GET_LENGTH(word);
            if (!PyUnicode_AsUCS4(word, self->chars + at_char, len, 0)) goto done;
            self->words[at_word++] = (NameWord){at_char, len};
            at_char += len;
        }
        self->n_names = i + 1;
        IndexList *list = NULL;
        if (leading) {
            list = &self->anywhere;
        } else if (trailing && p->count == 1) {
            Py_UCS4 first = self->chars[self->words[p->first].offset];
            list = &self->by_first_char[first < 256 ? first : 256];
        }
        if (list ? push_index(list, i) < 0 : index_first_word(self, i) < 0) goto done;
    }
    ok = 0;
    self->ready = 1;
done:
    Py_DECREF(seq);
    return ok;
}

/* Whether text[from, to) holds only word characters. */
static int all_word_chars(const Py_UCS4 *text, Py_ssize_t from, Py_ssize_t to) {
    for (Py_ssize_t i = from; i < to; i++)
        if (!is_word_char(text[i])) return 0;
    return 1;
}

/* Whether the text word text[start, start + len) is what the name's word `w` matches, with
 * more in front (`more_before`) or after it (`more_after`) allowed. */
static int word_matches(const PlaceFinder *self, const Py_UCS4 *text, Py_ssize_t start,
                        Py_ssize_t len, const NameWord *w, int more_before, int more_after) {
    const Py_UCS4 *want = self->chars + w->offset;
    if (!more_before && !more_after) return len == w->len && same_chars(text + start, want, len);
    if (len < w->len) return 0;
    /* The comparison first: most words fail it at their first character. */
    if (!more_before) {
        if (!same_chars(text + start, want, w->len)) return 0;
    } else if (!more_after) {
        if (!same_chars(text + start + len - w->len, want, w->len)) return 0;
    } else {
        Py_ssize_t i = 0;
        while (i + w->len <= len && !same_chars(text + start + i, want, w->len)) i++;
        if (i + w->len > len) return 0;
    }
    return all_word_chars(text, start, start + len);
}

/* A word of the searched text: [start, end). */
typedef struct {
    Py_ssize_t start, end;
} Span;

/* Where name `index` ends when it starts at the text's word `at` (the index after it), or -1
 * when it does not match there. */
static Py_ssize_t name_end(const PlaceFinder *self, Py_ssize_t index, const Py_UCS4 *text,
                           Py_ssize_t n, const Span *spans, Py_ssize_t n_spans, Py_ssize_t at) {
    const PlaceName *p = &self->names[index];
    if (at + p->count > n_spans) return -1;
    for (Py_ssize_t k = 0; k < p->count; k++) {
        const Span *s = &spans[at + k];
        if (k > 0 && s->start != spans[at + k - 1].end + 1) return -1; /* one space apart */
        if (!word_matches(self, text, s->start, s->end - s->start, &self->words[p->first + k],
                          k == 0 && p->leading, k == p->count - 1 && p->trailing))
            return -1;
    }
    Py_ssize_t end = spans[at + p->count - 1].end;
    return end < n ? end : -1; /* a space follows: it is the next word's separator */
}

PyDoc_STRVAR(PlaceFinder_find_doc,
"find(joined) -> list of (name, start, end)\n\n"
"The place names in `joined` (words between single spaces, as folded_words writes them),\n"
"left to right without overlaps: at each word, the first name (in the order given) that\n"
"starts there, as the regular expression \" (?:name1|name2|...)(?= )\" finds them; each\n"
"as its index, and where its text starts and ends in `joined`.");

static PyObject *PlaceFinder_find(PlaceFinder *self, PyObject *joined) {
    if (!self->ready) {
        PyErr_SetString(PyExc_TypeError, "PlaceFinder.__init__ did not succeed");
        return NULL;
    }
    if (!PyUnicode_Check(joined)) {
        PyErr_SetString(PyExc_TypeError, "find() needs a str");
        return NULL;
    }
    Py_UCS4 *text = PyUnicode_AsUCS4Copy(joined);
    if (!text) return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(joined), n_spans = 0;
    /* Words are runs of anything but a space: a name matches whole runs only. */
    Span *spans = PyMem_Malloc((size_t)(n / 2 + 1) * sizeof(Span));
    PyObject *found = PyList_New(0);
    if (!spans || !found) {
        if (!spans) PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n;) {
        if (text[i] == ' ') {
            i++;
            continue;
        }
        Span s = {i, i};
        while (s.end < n && text[s.end] != ' ') s.end++;
        spans[n_spans++] = s;
        i = s.end;
    }
    for (Py_ssize_t at = 0; at < n_spans;) {
        Py_ssize_t start = spans[at].start;
        if (start == 0) { /* no space in front */
            at++;
            continue;
        }
        /* The names that may start at this word, merged in rank order: those listed under
         * it, those whose only word may go on and starts with its first character, and
         * those with more in front. The first that matches is the one the expression
         * takes. */
        const IndexList *lists[4] = {NULL, &self->by_first_char[256], &self->anywhere, NULL};
        Py_ssize_t len = spans[at].end - start;
        uint64_t h = hash_ucs4(text + start, len);
        for (size_t i = (size_t)h & self->mask; self->table[i].names.n; i = (i + 1) & self->mask) {
            const FirstWord *e = &self->table[i];
            const NameWord *w = &self->words[e->word];
            if (e->hash == h && w->len == len &&
                same_chars(self->chars + w->offset, text + start, len)) {
                lists[0] = &e->names;
                break;
            }
        }
        if (text[start] < 256) lists[3] = &self->by_first_char[text[start]];
        Py_ssize_t heads[4] = {0, 0, 0, 0}, matched = -1, end = -1;
        for (;;) {
            int best = -1;
            for (int k = 0; k < 4; k++)
                if (lists[k] && heads[k] < lists[k]->n &&
                    (best < 0 || lists[k]->v[heads[k]] < lists[best]->v[heads[best]]))
                    best = k;
            if (best < 0) break;
            Py_ssize_t index = lists[best]->v[heads[best]++];
            end = name_end(self, index, text, n, spans, n_spans, at);
            if (end >= 0) {
                matched = index;
                break;
            }
        }
        if (matched < 0) {
            at++;
            continue;
        }
        PyObject *hit = Py_BuildValue("(nnn)", matched, start, end);
        if (!hit || PyList_Append(found, hit) < 0) {
            Py_XDECREF(hit);
            goto fail;
        }
        Py_DECREF(hit);
        at += self->names[matched].count;
    }
    PyMem_Free(text);
    PyMem_Free(spans);
    return found;
fail:
    PyMem_Free(text);
    PyMem_Free(spans);
    Py_XDECREF(found);
    return NULL;
}

static PyMethodDef PlaceFinder_methods[] = {
    {"find", (PyCFunction)PlaceFinder_find, METH_O, PlaceFinder_find_doc},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject PlaceFinderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "revier_feed._words.PlaceFinder",
    .tp_basicsize = sizeof(PlaceFinder),
    .tp_dealloc = (destructor)PlaceFinder_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = PlaceFinder_doc,
    .tp_methods = PlaceFinder_methods,
    .tp_init = (initproc)PlaceFinder_init,
    .tp_new = PyType_GenericNew,
};

/* ---- topic terms in folded words (tag.Term.needle; `needle in joined` is the reference) */

/* Which of many strings occur in a text, in one pass over it: an Aho-Corasick automaton
 * over the UTF-8 bytes of the needles, as a complete transition table. A byte of UTF-8 text
 * is the start of a character or inside one, never both, so a needle's bytes occur in the
 * text's bytes exactly where the needle occurs in the text. Bytes that are in no needle
 * share one column of the table (they send every state back to the start). */
typedef struct {
    PyObject_HEAD
    unsigned char column[256]; /* the byte's column; 0: in no needle */
    int32_t columns;
    int32_t states;
    int32_t *next;   /* states x columns */
    int32_t *output; /* the first state on the suffix chain that ends needles (0: none) */
    int32_t *chain;  /* the next such state after this one's needles (0: none) */
    int32_t *ends_at, *ends; /* needles ending in each state: ends[ends_at[s] .. ends_at[s+1]) */
    uint32_t *seen;  /* the scan in which a state's needles were last taken */
    uint32_t scan;
    Py_ssize_t n_needles;
    int ready;
} NeedleSet;

/* The UTF-8 bytes of `text`; a lone surrogate (a JSON feed's "\ud800") is written as
 * UTF-8 would write any other code point, in `*holder` (the caller releases it). */
static const char *utf8_of(PyObject *text, Py_ssize_t *len, PyObject **holder) {
    *holder = NULL;
    const char *bytes = PyUnicode_AsUTF8AndSize(text, len);
    if (bytes || !PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return bytes;
    PyErr_Clear();
    if (!(*holder = PyUnicode_AsEncodedString(text, "utf-8", "surrogatepass"))) return NULL;
    *len = PyBytes_GET_SIZE(*holder);
    return PyBytes_AS_STRING(*holder);
}

/* Frees the automaton: a failed __init__ leaves an empty object that may be initialized
 * again. */
static void NeedleSet_clear(NeedleSet *self) {
    PyMem_Free(self->next);
    PyMem_Free(self->output);
    PyMem_Free(self->chain);
    PyMem_Free(self->ends_at);
    PyMem_Free(self->ends);
    PyMem_Free(self->seen);
    self->next = self->output = self->chain = self->ends_at = self->ends = NULL;
    self->seen = NULL;
    memset(self->column, 0, sizeof self->column);
    self->columns = self->states = 0;
    self->n_needles = 0;
}

static void NeedleSet_dealloc(NeedleSet *self) {
    NeedleSet_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyDoc_STRVAR(NeedleSet_doc,
"NeedleSet(needles)\n\n"
"Non-empty strings to look for in texts; find(text) tells which of them occur.");

static int NeedleSet_init(NeedleSet *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"needles", NULL};
    PyObject *needles;
    if (self->ready) {
        PyErr_SetString(PyExc_TypeError, "NeedleSet is initialized once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:NeedleSet", kwlist, &needles)) return -1;
    PyObject *seq = PySequence_Fast(needles, "needles must be a sequence");
    if (!seq) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), total = 0;
    int ok = -1;
    int32_t *owner = NULL, *fail = NULL, *queue = NULL, *count = NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *needle = PySequence_Fast_GET_ITEM(seq, i), *holder;
        Py_ssize_t len;
        const char *bytes;
        if (!PyUnicode_Check(needle)) {
            PyErr_SetString(PyExc_TypeError, "a needle must be a str");
            goto done;
        }
        if (!(bytes = utf8_of(needle, &len, &holder))) goto done;
        total += len;
        for (Py_ssize_t k = 0; k < len; k++) self->column[(unsigned char)bytes[k]] = 1;
        Py_XDECREF(holder);
        if (len == 0) {
            PyErr_SetString(PyExc_ValueError, "a needle must not be empty");
            goto done;
        }
    }
    if (total >= INT32_MAX / 2) {
        PyErr_SetString(PyExc_ValueError, "too many needles");
        goto done;
    }
    self->columns = 1;
    for (int b = 0; b < 256; b++)
        if (self->column[b]) self->column[b] = (unsigned char)self->columns++;
    size_t states = (size_t)total + 1, columns = (size_t)self->columns;
    if (states > SIZE_MAX / sizeof(int32_t) / columns) {
        PyErr_NoMemory();
        goto done;
    }
    self->next = PyMem_Calloc(states * columns, sizeof(int32_t));
    self->output = PyMem_Calloc(states, sizeof(int32_t));
    self->chain = PyMem_Calloc(states, sizeof(int32_t));
    self->ends_at = PyMem_Calloc(states + 1, sizeof(int32_t));
    self->ends = PyMem_Calloc((size_t)n + 1, sizeof(int32_t));
    self->seen = PyMem_Calloc(states, sizeof(uint32_t));
    owner = PyMem_Calloc((size_t)n + 1, sizeof(int32_t));
    fail = PyMem_Calloc(states, sizeof(int32_t));
    queue = PyMem_Calloc(states, sizeof(int32_t));
    count = PyMem_Calloc(states + 1, sizeof(int32_t));
    if (!self->next || !self->output || !self->chain || !self->ends_at || !self->ends ||
        !self->seen || !owner || !fail || !queue || !count) {
        PyErr_NoMemory();
        goto done;
    }
    /* The trie: state 0 is the start; a needle ends in the state its last byte reaches. */
    int32_t used = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t len;
        PyObject *holder;
        const char *bytes = utf8_of(PySequence_Fast_GET_ITEM(seq, i), &len, &holder);
        if (!bytes) goto done;
        int32_t state = 0;
        for (Py_ssize_t k = 0; k < len; k++) {
            unsigned char column = self->column[(unsigned char)bytes[k]];
            int32_t *to = &self->next[(size_t)state * columns + column];
            if (!*to) *to = used++;
            state = *to;
        }
        Py_XDECREF(holder);
        owner[i] = state;
        count[state]++;
    }
    self->states = used;
    for (int32_t s = 0; s < used; s++) self->ends_at[s + 1] = self->ends_at[s] + count[s];
    memset(count, 0, (size_t)(used + 1) * sizeof(int32_t));
    for (Py_ssize_t i = 0; i < n; i++) /* in the order given */
        self->ends[self->ends_at[owner[i]] + count[owner[i]]++] = (int32_t)i;
    /* Breadth first: each state's failure (its longest proper suffix that is a state), its
     * missing transitions taken from there, and the chain of states that end needles. */
    int32_t head = 0, tail = 0;
    for (size_t c = 1; c < columns; c++) {
        int32_t to = self->next[c];
        if (to) queue[tail++] = to; /* fail[to] = 0 */
    }
    while (head < tail) {
        int32_t s = queue[head++];
        int32_t f = fail[s];
        self->chain[s] = self->output[f];
        self->output[s] = self->ends_at[s + 1] > self->ends_at[s] ? s : self->output[f];
        int32_t *row = &self->next[(size_t)s * columns];
        const int32_t *fail_row = &self->next[(size_t)f * columns];
        for (size_t c = 1; c < columns; c++) {
            if (row[c]) {
                fail[row[c]] = fail_row[c];
                queue[tail++] = row[c];
            } else {
                row[c] = fail_row[c];
            }
        }
    }
    self->n_needles = n;
    ok = 0;
    self->ready = 1;
done:
    if (ok < 0) NeedleSet_clear(self);
    PyMem_Free(owner);
    PyMem_Free(fail);
    PyMem_Free(queue);
    PyMem_Free(count);
    Py_DECREF(seq);
    return ok;
}

/* find() marks the states it passed in `seen`: a set is shared by threads only because
 * the scan holds the GIL throughout (and the module declares no Py_mod_gil support, so a
 * free-threaded build turns the GIL on when it is imported). */
PyDoc_STRVAR(NeedleSet_find_doc,
"find(text) -> frozenset of int\n\n"
"The indexes (in the order given) of the needles that occur in `text`: those for which\n"
"`needle in text` is true.");

static PyObject *NeedleSet_find(NeedleSet *self, PyObject *text) {
    if (!self->ready) {
        PyErr_SetString(PyExc_TypeError, "NeedleSet.__init__ did not succeed");
        return NULL;
    }
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "find() needs a str");
        return NULL;
    }
    Py_ssize_t len;
    PyObject *holder;
    const unsigned char *bytes = (const unsigned char *)utf8_of(text, &len, &holder);
    if (!bytes) return NULL;
    PyObject *found = PySet_New(NULL);
    if (!found) {
        Py_XDECREF(holder);
        return NULL;
    }
    if (++self->scan == 0) { /* wrapped: no state may look seen in this scan */
        memset(self->seen, 0, (size_t)self->states * sizeof(uint32_t));
        self->scan = 1;
    }
    const size_t columns = (size_t)self->columns;
    const uint32_t scan = self->scan;
    int32_t state = 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        state = self->next[(size_t)state * columns + self->column[bytes[i]]];
        /* A state seen in this scan had its whole chain taken then. */
        for (int32_t s = self->output[state]; s && self->seen[s] != scan; s = self->chain[s]) {
            self->seen[s] = scan;
            for (int32_t k = self->ends_at[s]; k < self->ends_at[s + 1]; k++) {
                PyObject *index = PyLong_FromLong(self->ends[k]);
                if (!index || PySet_Add(found, index) < 0) {
                    Py_XDECREF(index);
                    Py_DECREF(found);
                    Py_XDECREF(holder);
                    return NULL;
                }
                Py_DECREF(index);
            }
        }
    }
    Py_XDECREF(holder);
    PyObject *frozen = PyFrozenSet_New(found);
    Py_DECREF(found);
    return frozen;
}

static PyMethodDef NeedleSet_methods[] = {
    {"find", (PyCFunction)NeedleSet_find, METH_O, NeedleSet_find_doc},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject NeedleSetType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "revier_feed._words.NeedleSet",
    .tp_basicsize = sizeof(NeedleSet),
    .tp_dealloc = (destructor)NeedleSet_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = NeedleSet_doc,
    .tp_methods = NeedleSet_methods,
    .tp_init = (initproc)NeedleSet_init,
    .tp_new = PyType_GenericNew,
};

static PyMethodDef module_methods[] = {
    {"fold", fold, METH_O, fold_doc},
    {"folded_words", folded_words, METH_O, folded_words_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef words_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "revier_feed._words",
    .m_doc = PyDoc_STR("german.fold and german.folded_words in C (german.py is the reference)."),
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__words(void) {
    if (!(name_casefold = PyUnicode_InternFromString("casefold"))) return NULL;
    fold_table_init();
    if (PyType_Ready(&PlaceFinderType) < 0 || PyType_Ready(&NeedleSetType) < 0) return NULL;
    PyObject *module = PyModule_Create(&words_module);
    if (!module) return NULL;
    if (PyModule_AddObjectRef(module, "PlaceFinder", (PyObject *)&PlaceFinderType) < 0 ||
        PyModule_AddObjectRef(module, "NeedleSet", (PyObject *)&NeedleSetType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
