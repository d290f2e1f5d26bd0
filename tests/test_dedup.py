"""Exact dedup after whitespace normalisation and MinHash near-duplicate removal."""

import numpy as np

from codelaw.data import dedup

BASE = '''
public final class StringUtils {
    public static boolean isEmpty(final CharSequence cs) {
        return cs == null || cs.length() == 0;
    }

    public static boolean isBlank(final CharSequence cs) {
        final int strLen = length(cs);
        if (strLen == 0) {
            return true;
        }
        for (int i = 0; i < strLen; i++) {
            if (!Character.isWhitespace(cs.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    public static String trim(final String str) {
        return str == null ? null : str.trim();
    }

    public static int length(final CharSequence cs) {
        return cs == null ? 0 : cs.length();
    }

    public static String reverse(final String str) {
        if (str == null) {
            return null;
        }
        return new StringBuilder(str).reverse().toString();
    }
}
'''

OTHER = '''
func (b *Buffer) Grow(n int) {
\tif n < 0 {
\t\tpanic("bytes.Buffer.Grow: negative count")
\t}
\tm := b.grow(n)
\tb.buf = b.buf[:m]
}

func (b *Buffer) Write(p []byte) (n int, err error) {
\tb.lastRead = opInvalid
\tm, ok := b.tryGrowByReslice(len(p))
\tif !ok {
\t\tm = b.grow(len(p))
\t}
\treturn copy(b.buf[m:], p), nil
}
'''


def test_exact_dedup_ignores_whitespace():
  reindented = BASE.replace("    ", "\t").replace("\n\n", "\n")
  assert dedup.normalized_hash(BASE) == dedup.normalized_hash(reindented)
  assert dedup.normalized_hash(BASE) != dedup.normalized_hash(BASE.replace("trim()", "strip()"))
  reasons = [r for _, r in dedup.dedup([BASE, reindented, OTHER], near=False)]
  assert reasons == [None, "duplicate", None]


def test_near_duplicate_fork_is_removed_but_different_code_kept():
  # the same file in a fork: a package rename and one edited method (lucene-solr vs lucene8 style)
  fork = "// forked copy\npackage org.apache.lucene8.util;\n" + BASE.replace(
    "return str == null ? null : str.trim();", "return str == null ? \"\" : str.trim();"
  )
  assert dedup.normalized_hash(fork) != dedup.normalized_hash(BASE)
  h = dedup.MinHasher()
  assert dedup.jaccard_estimate(h.signature(BASE), h.signature(fork)) > 0.8
  assert dedup.jaccard_estimate(h.signature(BASE), h.signature(OTHER)) < 0.2
  reasons = [r for _, r in dedup.dedup([BASE, OTHER, fork])]
  assert reasons == [None, None, "near_duplicate"]


def test_minhash_estimate_tracks_true_jaccard():
  rng = np.random.default_rng(0)
  words = [f"w{i}" for i in range(3000)]
  a = " ".join(rng.choice(words, 2000))
  b = a[: len(a) // 2] + " " + " ".join(rng.choice(words, 1000))
  h = dedup.MinHasher(num_perm=256, sample=1)
  sa, sb = set(h.shingles(a).tolist()), set(h.shingles(b).tolist())
  true = len(sa & sb) / len(sa | sb)
  est = dedup.jaccard_estimate(h.signature(a), h.signature(b))
  assert abs(est - true) < 0.08, (est, true)


def test_short_and_empty_texts_do_not_crash():
  assert dedup.keep_mask(["", "x", "x", "a b"]) == [True, True, False, True]
