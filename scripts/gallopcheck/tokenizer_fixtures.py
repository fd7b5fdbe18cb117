"""Writes Tests/GallopLearnedTests/Fixtures/tokens.json: open_clip's CLIP token ids for every prompt text of
prompts/gallop-core.yaml, for hostile texts and for 60 seeded random mixtures: the reference that
GallopLearnedTests.TokenizerTests holds the Swift tokenizer (Sources/GallopLearned/Tokenizer.swift) to, entry by entry.

Pinned peer (install into a throwaway venv, not .cache/venv):
  python3 -m venv /tmp/tokvenv
  /tmp/tokvenv/bin/pip install torch==2.13.0+cpu open_clip_torch==3.3.0 ftfy==6.3.1 regex==2026.11.19 pyyaml==6.0.4
Usage (from scripts/):
  /tmp/tokvenv/bin/python -m gallopcheck.tokenizer_fixtures ../prompts/gallop-core.yaml \
      ../Tests/GallopLearnedTests/Fixtures/tokens.json

Each entry: name, text, tokens (open_clip's `SimpleTokenizer()(text)[0]`, 77 ids) and tokens_no_fix_encoding (the
same with ftfy's `fix_encoding` step turned off, the one step the Swift side leaves out: equal to `tokens` except on
mojibake).
"""
import importlib.metadata
import importlib.util
import json
import os
import sys

import ftfy
import regex
import yaml

# open_clip/tokenizer.py imports nothing from its package, so it is loaded on its own: the package's __init__
# imports torchvision, whose PyPI build does not load against the +cpu torch wheel.
_spec = importlib.util.find_spec("open_clip")
_path = os.path.join(_spec.submodule_search_locations[0], "tokenizer.py")
_module_spec = importlib.util.spec_from_file_location("open_clip_tokenizer", _path)
open_clip_tokenizer = importlib.util.module_from_spec(_module_spec)
_module_spec.loader.exec_module(open_clip_tokenizer)
SimpleTokenizer = open_clip_tokenizer.SimpleTokenizer
OPEN_CLIP_VERSION = importlib.metadata.version("open_clip_torch")

PINS = {"open_clip_torch": "3.3.0", "ftfy": "6.3.1"}


def hostile():
    words = ("the quick brown fox jumps over a lazy dog while cameras pan slowly across misty valleys at golden "
             "hour ").split()
    long_text = " ".join(words[i % len(words)] for i in range(500))
    return [
        ("empty", ""),
        ("spaces-only", "   \t\n  "),
        ("emoji", "A cat 🐱 riding a skateboard 🛹 at sunset 🌅, 👩‍👩‍👧‍👦 family, 👍🏽 thumbs"),
        ("accents", "Crème brûlée at a café in São Paulo, naïve façade, Ångström, Øresund, Dvořák"),
        ("combining", "Cafe\u0301 e\u0301te\u0301 n\u0303 a\u0308\u0304 q\u0323\u0307 x\u0301"),
        ("greek-final-sigma", "ΟΔΟΣ ΣΑ ΟΔΟΣ. Σ ΑΣ'Σ ὈΔΥΣΣΕΎΣ καλῶς ΣΟΦΟΣ ΕΊΝΑΙ"),
        ("turkish-dotted-i", "İSTANBUL İzmir ıi I"),
        ("cjk", "東京の夜景、雨に濡れた街を歩く猫。서울의 밤거리 中文测试"),
        ("html-entities", "Tom &amp; Jerry &lt;3 &quot;quoted&quot; &eacute;t&eacute; &NTILDE; &amp;amp;lt; &#233; &#x41;&#X42; &copy &notit; &#0; &#128; &#x110000; &#55296; &#1; &bogus;"),
        ("html-with-angle", "a < b &amp; c &eacute;"),
        ("html-angle-second-line", "first &eacute;\nsecond < &amp; &eacute;\nthird &eacute;"),
        ("html-nested", "&amp;amp;amp;amp;quot;x&amp;amp;amp;amp;amp;amp;lt; &AMP;EACUTE; &amp;NTILDE;"),
        ("html-angle-upper", "a < &EACUTE; &amp;amp;lt; &amp;amp;amp;quot;"),
        ("start-of-text-literal", "<start_of_text> a dog <end_of_text> x<start_of_text>y !!<end_of_text> <START_OF_TEXT>"),
        ("openai-specials-literal", "<|startoftext|> a dog <|endoftext|>"),
        ("numbers", "1234567890 3.14159 1,000,000 -42 2nd 4K 60fps ½ ² ٣ Ⅻ ⑦"),
        ("punctuation-runs", "Wait... what?!?! --- *** (((nested))) [x] {y} @#$%^&*_+=|\\/~` ''' \"\"\" ;;; :::"),
        ("contractions", "it's don't we're they've I'm we'll he'd IT'S DON'T 's 't"),
        ("whitespace-kinds", "a\tb\nc\rd\x0be\x0cf\x1cg\x1dh\x1ei\x1fj\x85k\xa0l\u1680m\u2000n\u2005o\u200ap\u2028q\u2029r\u202fs\u205ft\u3000u\u200bv\ufeffw"),
        ("curly-quotes-ligatures", "\u201cSmart\u201d quotes \u2018here\u2019 \u02bcn \ufb01ne \ufb02ow \ufb03ce \u0133s \u01c4"),
        ("fullwidth", "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ！ １２３ ｶﾀｶﾅ"),
        ("controls", "bell\x07 esc\x1b[31mred\x1b[0m del\x7f nul\x00 c1\x80\x93\x9d zwnbsp\ufeff"),
        ("mixed-case", "HeLLo WoRLD, McDONALD's GoPro iPhone"),
        ("mojibake", "CafÃ© crÃ¨me, donâ€™t"),
        ("long-500-words", long_text),
        ("long-word", "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis"),
        ("regex-ignorecase", "x'ſ it'ſ <ſtart_of_text> aͅb ᾳ K İ 'ͅs"),
        ("urls", "https://example.com/path?q=1&x=2 user@mail.org #hashtag @handle"),
    ]


def random_texts(count=60, seed=25):
    """Seeded random mixtures of the pieces the cleaning and the scanner treat specially (all assigned by Unicode
    6.0, so older than every Unicode version involved)."""
    import random
    rng = random.Random(seed)
    pool = (list("abcXYZ019 '.,!?-_<>&;#\"") + ["'s", "'LL", "&amp;", "&lt;", "&#233;", "&#x1F600;", "&eacute", "&AMP;",
            "<start_of_text>", "<end_of_text>", "\r\n", "\t", "\x1b[1m", "\u00a0", "\u2003", "\u3000", "\u0085",
            "\u200b", "\ufeff", "\x00", "\x7f", "\x9c", "\u0301", "\u0308", "\u0345", "\u017f", "\u0130", "\u03a3",
            "\u03c3", "\u0391", "\u0416", "\u05d0", "\u0627", "\u0663", "\u0939\u093f", "\u4e2d", "\u3042", "\uac00",
            "\uff21", "\uff71", "\ufb01", "\u01c4", "\u2018", "\u201d", "\u00bd", "\u2163", "\u2460", "\U0001F600",
            "\U0001F44D\U0001F3FD", "\u2764\ufe0f", "\u00df", "\u1e9e", "\u0149", "\u00e9", "e\u0301", "\u212b"])
    return [("random-%02d" % i, "".join(rng.choice(pool) for _ in range(rng.randint(1, 40)))) for i in range(count)]


def main(prompts, out):
    assert OPEN_CLIP_VERSION == PINS["open_clip_torch"], OPEN_CLIP_VERSION
    assert ftfy.__version__ == PINS["ftfy"], ftfy.__version__
    with open(prompts, encoding="utf-8") as f:
        suite = yaml.safe_load(f)
    entries = [("prompt:" + p["id"], p["text"]) for p in suite["prompts"]] + hostile() + random_texts()
    tok = SimpleTokenizer()
    with_fix = [tok(t)[0].tolist() for _, t in entries]
    original = ftfy.fix_text
    ftfy.fix_text = lambda text, *a, **k: original(text, fix_encoding=False)
    tok2 = SimpleTokenizer()
    without = [tok2(t)[0].tolist() for _, t in entries]
    ftfy.fix_text = original
    doc = {
        "peer": "open_clip_torch %s SimpleTokenizer (ftfy %s, regex %s, Python %s)" % (
            OPEN_CLIP_VERSION, ftfy.__version__, regex.__version__, sys.version.split()[0]),
        "entries": [{"name": n, "text": t, "tokens": a, "tokens_no_fix_encoding": b}
                    for (n, t), a, b in zip(entries, with_fix, without)],
    }
    with open(out, "w", encoding="utf-8") as f:
        # One entry a line, so a change shows as the entries that changed.
        f.write('{"peer": %s, "entries": [\n' % json.dumps(doc["peer"]))
        f.write(",\n".join(json.dumps(e, ensure_ascii=False) for e in doc["entries"]))
        f.write("\n]}\n")
    print("%d entries, %d differ without fix_encoding: %s" % (
        len(entries), sum(a != b for a, b in zip(with_fix, without)),
        [n for (n, _), a, b in zip(entries, with_fix, without) if a != b]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
