#!/usr/bin/python3
"""The word2vec quality check against gensim, for tests/test_word2vec.c and
bench/word2vec_bench.sh.

Usage: word2vec_reference.py CORPUS PAIRS OURS DIM WINDOW NEGATIVE EPOCHS MIN_COUNT SAMPLE SEED

CORPUS holds the tokenized corpus as pg_lm's engine wrote it (one sentence a
line, words joined by single spaces), so that both sides train on the very
same tokens.  gensim's Word2Vec is trained on it with the same
hyperparameters (skip-gram, negative sampling, no hierarchical softmax, one
worker thread).  OURS holds pg_lm's vectors in word2vec text format ("" to
score gensim alone).  Both sets of vectors are scored by the same code on the
analogy questions of PAIRS (tests/data/word2vec_pairs.txt: every ordered
couple of distinct pairs of one relation; the answer is the word nearest
unit(b) - unit(a) + unit(c) by cosine, a, b and c left out, as gensim's
most_similar).

Prints "key value" lines: gensim_score, ours_score (share of questions
answered right), questions, per-relation scores, gensim_seconds (the train()
call), gensim_words_per_second (corpus words x epochs / seconds, the measure
pg_lm reports), gensim_vocabulary, gensim_effective_words.
"""
import sys
import time

import numpy as np
from gensim.models import KeyedVectors, Word2Vec
from gensim.models.word2vec import LineSentence


def read_pairs(path):
    relations = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(": "):
            relations.append((line[2:], []))
        else:
            a, b = line.split()
            relations[-1][1].append((a, b))
    return relations


def questions(relations):
    for name, pairs in relations:
        for i, (a, b) in enumerate(pairs):
            for j, (c, d) in enumerate(pairs):
                if i != j:
                    yield name, a, b, c, d


def score(kv, relations):
    """Top-1 accuracy of 3CosAdd over unit vectors; unknown words count as wrong."""
    unit = kv.get_normed_vectors()
    index = kv.key_to_index
    right, total, per = 0, 0, {}
    for name, a, b, c, d in questions(relations):
        total += 1
        per.setdefault(name, [0, 0])
        per[name][1] += 1
        if any(w not in index for w in (a, b, c, d)):
            continue
        q = unit[index[b]] - unit[index[a]] + unit[index[c]]
        sims = unit @ q
        for w in (a, b, c):
            sims[index[w]] = -np.inf
        if int(np.argmax(sims)) == index[d]:
            right += 1
            per[name][0] += 1
    return right / max(total, 1), total, {k: v[0] / v[1] for k, v in per.items()}


def main():
    corpus, pairs, ours = sys.argv[1:4]
    dim, window, negative, epochs, min_count = (int(x) for x in sys.argv[4:9])
    sample = float(sys.argv[9])
    seed = int(sys.argv[10])
    relations = read_pairs(pairs)

    sentences = LineSentence(corpus)
    model = Word2Vec(vector_size=dim, window=window, negative=negative, hs=0, sg=1, epochs=epochs,
                     min_count=min_count, sample=sample, seed=seed, workers=1,
                     alpha=0.025, min_alpha=0.0001)
    model.build_vocab(sentences)
    start = time.perf_counter()
    effective, raw = model.train(sentences, total_examples=model.corpus_count, epochs=model.epochs)
    seconds = time.perf_counter() - start

    g, total, g_per = score(model.wv, relations)
    print("gensim_score %.6f" % g)
    print("questions %d" % total)
    for k, v in g_per.items():
        print("gensim_score_%s %.6f" % (k, v))
    print("gensim_seconds %.3f" % seconds)
    print("gensim_words_per_second %.0f" % (raw / seconds))
    print("gensim_vocabulary %d" % len(model.wv))
    print("gensim_effective_words %d" % effective)
    if ours:
        o, _, o_per = score(KeyedVectors.load_word2vec_format(ours, binary=False), relations)
        print("ours_score %.6f" % o)
        for k, v in o_per.items():
            print("ours_score_%s %.6f" % (k, v))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
