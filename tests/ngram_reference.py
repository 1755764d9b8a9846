#!/usr/bin/python3
"""Reference numbers for tests/test_ngram.c, computed by NLTK's nltk.lm.

Usage: ngram_reference.py ORDER SENTENCES QUERIES

SENTENCES holds one pre-tokenized training sentence per line, tokens joined
by single spaces (the C side tokenizes, so both sides count the same tokens).
MLE, Laplace and KneserNeyInterpolated (discount 0.1) models of order ORDER
are trained with padded_everygram_pipeline.  QUERIES holds tab-separated
lines, answered one output line each, in order:

  score<TAB>WORD<TAB>CONTEXT       -> score<TAB>mle<TAB>laplace<TAB>kneser_ney
  perplexity<TAB>TOKENS            -> perplexity<TAB>mle<TAB>laplace<TAB>kneser_ney
  next<TAB>CONTEXT<TAB>K           -> next<TAB>MODEL<TAB>word<TAB>p<TAB>word<TAB>p ...
                                      (one line for mle, one for laplace)

CONTEXT and TOKENS are space-separated and may be empty.  Probabilities are
printed with repr() so that no digit is lost.  perplexity is NLTK's
model.perplexity(ngrams(pad_both_ends(tokens, n=ORDER), ORDER)).  next ranks
every vocabulary word except <s> and <UNK> by score, dropping zeros, ties in
vocabulary (first-seen) order.
"""
import sys

from nltk.lm import MLE, KneserNeyInterpolated, Laplace
from nltk.lm.preprocessing import pad_both_ends, padded_everygram_pipeline
from nltk.util import ngrams

BOS, UNK = "<s>", "<UNK>"


def read_lines(path):
    with open(path, encoding="utf-8", newline="\n") as f:
        return [line[:-1] if line.endswith("\n") else line for line in f]


def split_tokens(field):
    return field.split(" ") if field else []


def train(model_cls, order, sentences):
    ngram_text, vocabulary_text = padded_everygram_pipeline(order, sentences)
    model = model_cls(order)
    model.fit(ngram_text, vocabulary_text)
    return model


def next_words(model, context, k):
    scored = []
    for index, word in enumerate(model.vocab.counts):
        if word in (BOS, UNK):
            continue
        p = model.score(word, context)
        if p > 0:
            scored.append((-p, index, word, p))
    scored.sort()
    return [(word, p) for _, _, word, p in scored[:k]]


def main():
    order = int(sys.argv[1])
    sentences = [split_tokens(line) for line in read_lines(sys.argv[2])]
    models = {
        "mle": train(MLE, order, sentences),
        "laplace": train(Laplace, order, sentences),
        "kneser_ney": train(KneserNeyInterpolated, order, sentences),
    }
    names = ("mle", "laplace", "kneser_ney")
    out = sys.stdout
    for query in read_lines(sys.argv[3]):
        fields = query.split("\t")
        kind = fields[0]
        if kind == "score":
            word, context = fields[1], tuple(split_tokens(fields[2]))
            values = [models[n].score(word, context) for n in names]
            out.write("score\t" + "\t".join(repr(v) for v in values) + "\n")
        elif kind == "perplexity":
            tokens = split_tokens(fields[1])
            values = [
                models[n].perplexity(ngrams(pad_both_ends(tokens, n=order), order))
                for n in names
            ]
            out.write("perplexity\t" + "\t".join(repr(v) for v in values) + "\n")
        elif kind == "next":
            context, k = tuple(split_tokens(fields[1])), int(fields[2])
            for n in ("mle", "laplace"):
                pairs = next_words(models[n], context, k)
                cells = [f"{w}\t{p!r}" for w, p in pairs]
                out.write("\t".join(["next", n] + cells) + "\n")
        else:
            raise SystemExit(f"unknown query kind {kind!r}")
        out.flush()


if __name__ == "__main__":
    main()
