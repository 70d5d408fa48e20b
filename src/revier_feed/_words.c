/* german.fold and german.folded_words in C: a text folded, and its folded words, each
 * between single spaces.
 *
 * The reference is the Python in german.py (fold_python, folded_words_python):
 *     " " + " ".join(re.findall(r"\w+", fold(text))) + " "
 * where fold is str.casefold() followed by replacing "ä", "ö" and "ü" with "ae", "oe"
 * and "ue". Tagging reads every item's title, teaser and body this way; in Python the
 * words became a list of str objects only to be joined again, a sixth of the worker
 * processes' time in a first cycle. Here a text of Latin-1 characters (most German news)
 * is folded by a table in one pass; any other text is casefolded by str.casefold (through
 * the C API) and then read once. The result is written once.
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

/* Whether the table folds `text`: Latin-1 characters only, and no "µ". */
static int table_folds(PyObject *text) {
    return PyUnicode_KIND(text) == PyUnicode_1BYTE_KIND &&
           !memchr(PyUnicode_1BYTE_DATA(text), MICRO, (size_t)PyUnicode_GET_LENGTH(text));
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

/* folded_words for a Latin-1 text without "µ": one pass over its bytes. */
static PyObject *folded_latin1(const unsigned char *p, Py_ssize_t n) {
    Py_ssize_t cap = 2 * n + 2, len = 0;
    int in_word = 0, words = 0;
    unsigned char *out = PyMem_Malloc((size_t)cap);
    if (!out) return PyErr_NoMemory();
    out[len++] = ' ';
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!word_char[p[i]]) {
            if (in_word) out[len++] = ' ';
            in_word = 0;
            continue;
        }
        words |= 1;
        in_word = 1;
        out[len++] = fold_to[p[i]][0];
        if (fold_len[p[i]] == 2) out[len++] = fold_to[p[i]][1];
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
    if (table_folds(text))
        return folded_latin1(PyUnicode_1BYTE_DATA(text), PyUnicode_GET_LENGTH(text));
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
    if (!source) { /* Latin-1 without "µ": the table */
        const unsigned char *p = data;
        unsigned char *o = out;
        for (Py_ssize_t i = 0; i < n; i++) {
            o[len++] = fold_to[p[i]][0];
            if (fold_len[p[i]] == 2) o[len++] = fold_to[p[i]][1];
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
    return PyModule_Create(&words_module);
}
