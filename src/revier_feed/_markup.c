/* normalize.strip_control and normalize.sanitized_text in C, and the feed reader's test for
 * C1 control characters (parse/fastfeed.py).
 *
 * The references are the Python functions in normalize.py:
 *     strip_control_python(text) = _CONTROL.sub("", text)
 *     sanitized_text_python(fragment) =
 *         " ".join(html.unescape(_MARKUP.sub("", _BLOCK_BOUNDARY.sub(" <", fragment))).split())
 * Every item's teaser and body pass through both (a cleaned fragment several times), and
 * the regular expressions' scans were a sixth of normalizing a 2 KB teaser.
 *
 * sanitized_text reads the output of nh3, which escapes every "&" and "<" of text, so the
 * only character references it meets are &amp; &lt; &gt; &quot; &nbsp; and &#39;. Any other
 * reference that html.unescape would decode makes markup_text return None, and the caller
 * takes the Python path: the result is always the reference's.
 *
 * Equalities it relies on:
 * - _MARKUP (<(?:[^>"]|"[^"]*")*>) matches at a "<" exactly when, scanning on, an unquoted
 *   ">" comes before the end, every '"' on the way having a closing one; the match ends
 *   there. Backtracking finds no other match: what the loop consumes holds no unquoted ">".
 * - _BLOCK_BOUNDARY puts a space before every "<" followed by an optional "/" and a run of
 *   word characters that is one of the names (case-insensitively as the re module compares:
 *   "i" also matches U+0130 and U+0131, "k" also U+212A). The spaces it adds change no tag
 *   match, and a space inside a removed tag is removed with it.
 * - str.split() splits at the characters for which Py_UNICODE_ISSPACE holds.
 * tests/test_normalize_native.py compares the two on chosen and random fragments.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* ---- control characters ----------------------------------------------------------- */

/* The characters XML 1.0 forbids (normalize._CONTROL): C0 controls but tab, newline and
 * carriage return; DEL; U+FFFE and U+FFFF. */
static int is_control(Py_UCS4 c) {
    if (c < 0x20) return c != '\t' && c != '\n' && c != '\r';
    return c == 0x7F || c == 0xFFFE || c == 0xFFFF;
}

PyDoc_STRVAR(strip_control_doc,
"strip_control(text) -> str\n\n"
"`text` without the characters XML 1.0 forbids (C0 controls but tab, newline and carriage\n"
"return, DEL, U+FFFE, U+FFFF); `text` itself when it has none.");

static PyObject *strip_control(PyObject *Py_UNUSED(module), PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "strip_control() needs a str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), first = 0;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    if (kind == PyUnicode_1BYTE_KIND) {
        const unsigned char *p = data;
        while (first < n && (p[first] >= 0x20 ? p[first] != 0x7F : !is_control(p[first])))
            first++;
    } else {
        while (first < n && !is_control(PyUnicode_READ(kind, data, first))) first++;
    }
    if (first == n) return Py_NewRef(text);
    void *out = PyMem_Malloc((size_t)n * (size_t)kind);
    if (!out) return PyErr_NoMemory();
    memcpy(out, data, (size_t)first * (size_t)kind);
    Py_ssize_t len = first;
    for (Py_ssize_t i = first; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (!is_control(c)) PyUnicode_WRITE(kind, out, len++, c);
    }
    PyObject *result = PyUnicode_FromKindAndData(kind, out, len);
    PyMem_Free(out);
    return result;
}

PyDoc_STRVAR(has_c1_doc,
"has_c1(text) -> bool\n\n"
"Whether `text` holds a C1 control character (U+0080-U+009F): re.search(\"[\\x80-\\x9f]\")\n"
"in one pass without the regex engine (the feed reader maps them to windows-1252).");

static int is_c1(Py_UCS4 c) { return c >= 0x80 && c <= 0x9F; }

static int is_bidi(Py_UCS4 c) {
    return is_c1(c) || c == 0x061C || c == 0x200E || c == 0x200F ||
           (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

/* Whether `text` (a str, else TypeError naming `name`) holds a character `wanted` picks:
 * 1 or 0, -1 with the error set. */
static int holds(PyObject *text, const char *name, int (*wanted)(Py_UCS4)) {
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "%s() needs a str", name);
        return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c >= 0x80 && wanted(c)) return 1;
    }
    return 0;
}

static PyObject *has_c1(PyObject *Py_UNUSED(module), PyObject *text) {
    int found = holds(text, "has_c1", is_c1);
    return found < 0 ? NULL : PyBool_FromLong(found);
}

PyDoc_STRVAR(has_bidi_doc,
"has_bidi(text) -> bool\n\n"
"Whether `text` holds a character that reorders text or a C1 control (what\n"
"_utils.without_bidi removes): its regular expression's search in one pass, ten times\n"
"faster over a teaser.");

static PyObject *has_bidi(PyObject *Py_UNUSED(module), PyObject *text) {
    int found = holds(text, "has_bidi", is_bidi);
    return found < 0 ? NULL : PyBool_FromLong(found);
}

PyDoc_STRVAR(mixed_scripts_doc,
"mixed_scripts(text) -> bool\n\n"
"Whether `text` has a letter of U+0500-U+07FF beside a Latin one ([A-Za-z\\u00c0-\\u024f])\n"
"and no two letters of U+0500-U+07FF side by side: what a false repair of UTF-8 read as\n"
"Latin-1 leaves (parse/feed.py, _unrepaired), in one pass without the regex engine.");

static int is_script_letter(Py_UCS4 c) { return c >= 0x500 && c <= 0x7FF; }

static int is_latin_letter(Py_UCS4 c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= 0xC0 && c <= 0x24F);
}

static PyObject *mixed_scripts(PyObject *Py_UNUSED(module), PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "mixed_scripts() needs a str");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    /* One byte per character: nothing above U+00FF. */
    if (kind == PyUnicode_1BYTE_KIND) Py_RETURN_FALSE;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const void *data = PyUnicode_DATA(text);
    int mixed = 0;
    Py_UCS4 before = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (is_script_letter(c)) {
            if (i > 0 && is_script_letter(before)) Py_RETURN_FALSE;
            if (i > 0 && is_latin_letter(before)) mixed = 1;
            if (i + 1 < n && is_latin_letter(PyUnicode_READ(kind, data, i + 1))) mixed = 1;
        }
        before = c;
    }
    return PyBool_FromLong(mixed);
}

/* ---- the text of sanitized markup ------------------------------------------------- */

static int is_word_char(Py_UCS4 c) { return c == '_' || Py_UNICODE_ISALNUM(c); }

/* Whether `c` equals the lower-case ASCII letter or digit `want` as the re module compares
 * with IGNORECASE. */
static int same_letter(Py_UCS4 c, char want) {
    if (c < 128) return (Py_UCS4)(c >= 'A' && c <= 'Z' ? c + 32 : c) == (Py_UCS4)want;
    if (want == 'i') return c == 0x130 || c == 0x131;
    if (want == 'k') return c == 0x212A;
    return 0;
}

static const char *const block_names[] = {"p",  "div", "br", "li", "h1", "h2",
                                          "h3", "h4",  "h5", "h6", "tr", "td",
                                          "th", "blockquote", "dd", "dt"};

/* Whether the "<" at `at` starts a block boundary (normalize._BLOCK_BOUNDARY). */
static int block_boundary(int kind, const void *data, Py_ssize_t n, Py_ssize_t at) {
    Py_ssize_t start = at + 1;
    if (start < n && PyUnicode_READ(kind, data, start) == '/') start++;
    Py_ssize_t end = start;
    while (end < n && is_word_char(PyUnicode_READ(kind, data, end))) end++;
    Py_ssize_t len = end - start;
    for (size_t k = 0; k < sizeof block_names / sizeof block_names[0]; k++) {
        const char *name = block_names[k];
        if ((Py_ssize_t)strlen(name) != len) continue;
        Py_ssize_t i = 0;
        while (i < len && same_letter(PyUnicode_READ(kind, data, start + i), name[i])) i++;
        if (i == len) return 1;
    }
    return 0;
}

/* Where the tag starting with the "<" at `at` ends (the index after its ">"), or -1 when
 * normalize._MARKUP does not match there. */
static Py_ssize_t tag_end(int kind, const void *data, Py_ssize_t n, Py_ssize_t at) {
    Py_ssize_t i = at + 1;
    while (i < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c == '>') return i + 1;
        if (c == '"') {
            i++;
            while (i < n && PyUnicode_READ(kind, data, i) != '"') i++;
            if (i == n) return -1;
        }
        i++;
    }
    return -1;
}

/* Whether `s` (of `len` characters) starts with the ASCII `word`. */
static int starts_with(const Py_UCS4 *s, Py_ssize_t len, const char *word) {
    Py_ssize_t k = (Py_ssize_t)strlen(word);
    if (len < k) return 0;
    for (Py_ssize_t i = 0; i < k; i++)
        if (s[i] != (Py_UCS4)(unsigned char)word[i]) return 0;
    return 1;
}

/* The character reference at s[0] == "&" decoded as html.unescape does: sets *c and
 * returns its length, or returns 0 for an "&" it leaves as it is, or -1 for a reference
 * this code does not decode (the caller falls back to Python). */
static Py_ssize_t reference(const Py_UCS4 *s, Py_ssize_t len, Py_UCS4 *c) {
    static const struct {
        const char *text;
        Py_UCS4 c;
    } known[] = {{"&amp;", '&'}, {"&lt;", '<'},    {"&gt;", '>'},
                 {"&quot;", '"'}, {"&nbsp;", 0xA0}, {"&#39;", '\''}};
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
        if (starts_with(s, len, known[k].text)) {
            *c = known[k].c;
            return (Py_ssize_t)strlen(known[k].text);
        }
    }
    if (len == 1) return 0;
    Py_UCS4 next = s[1];
    /* html.unescape's pattern: &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?) */
    if (next == '\t' || next == '\n' || next == '\f' || next == ' ' || next == '<' ||
        next == '&' || next == ';')
        return 0;
    if (next == '#') {
        if (len > 2 && s[2] < 128 && Py_ISDIGIT(s[2])) return -1;
        if (len > 3 && (s[2] == 'x' || s[2] == 'X') && s[3] < 128 && Py_ISXDIGIT(s[3]))
            return -1;
        return 0;
    }
    return -1;
}

PyDoc_STRVAR(markup_text_doc,
"markup_text(fragment) -> str | None\n\n"
"The text of sanitized markup, whitespace collapsed (normalize.sanitized_text_python),\n"
"or None when it holds a character reference beyond &amp; &lt; &gt; &quot; &nbsp; &#39;.");

static PyObject *markup_text(PyObject *Py_UNUSED(module), PyObject *fragment) {
    if (!PyUnicode_Check(fragment)) {
        PyErr_SetString(PyExc_TypeError, "markup_text() needs a str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(fragment);
    int kind = PyUnicode_KIND(fragment);
    const void *data = PyUnicode_DATA(fragment);
    /* The text without tags, a space before each block boundary: at most 2n characters. */
    Py_UCS4 *text = PyMem_Malloc((size_t)(2 * n + 1) * sizeof(Py_UCS4));
    if (!text) return PyErr_NoMemory();
    Py_ssize_t len = 0;
    for (Py_ssize_t i = 0; i < n;) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c != '<') {
            text[len++] = c;
            i++;
            continue;
        }
        if (block_boundary(kind, data, n, i)) text[len++] = ' ';
        Py_ssize_t end = tag_end(kind, data, n, i);
        if (end < 0) {
            text[len++] = '<';
            i++;
        } else {
            i = end;
        }
    }
    /* References decoded and whitespace collapsed, in place: the text only shrinks. */
    Py_ssize_t out = 0;
    int space = 0;
    for (Py_ssize_t i = 0; i < len;) {
        Py_UCS4 c = text[i];
        Py_ssize_t used = 1;
        if (c == '&') {
            used = reference(text + i, len - i, &c);
            if (used < 0) {
                PyMem_Free(text);
                Py_RETURN_NONE;
            }
            if (used == 0) used = 1;
        }
        i += used;
        if (Py_UNICODE_ISSPACE(c)) {
            space = out > 0;
            continue;
        }
        if (space) text[out++] = ' ';
        space = 0;
        text[out++] = c;
    }
    PyObject *result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, text, out);
    PyMem_Free(text);
    return result;
}

static PyMethodDef module_methods[] = {
    {"strip_control", strip_control, METH_O, strip_control_doc},
    {"markup_text", markup_text, METH_O, markup_text_doc},
    {"has_c1", has_c1, METH_O, has_c1_doc},
    {"has_bidi", has_bidi, METH_O, has_bidi_doc},
    {"mixed_scripts", mixed_scripts, METH_O, mixed_scripts_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef markup_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "revier_feed._markup",
    .m_doc = PyDoc_STR(
        "normalize.strip_control and normalize.sanitized_text in C (normalize.py is the "
        "reference)."),
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__markup(void) { return PyModule_Create(&markup_module); }
