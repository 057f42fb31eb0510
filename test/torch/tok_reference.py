#!/usr/bin/python3
"""GPT-2 byte-level BPE as OpenAI published it (encoder.py), over the same encoder.json and
vocab.bpe our tokenizer is built from. Reads a JSON list of strings on stdin, prints their ids.
Needs Debian's python3-regex for the \\p{L}/\\p{N} classes of GPT-2's pattern.

    /usr/bin/python3 test/torch/tok_reference.py <encoder.json> <vocab.bpe> < strings.json
"""
import json
import sys

import regex as re


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def get_pairs(word):
    return {(word[i], word[i + 1]) for i in range(len(word) - 1)}


def main():
    encoder = json.load(open(sys.argv[1], encoding="utf-8"))
    merges = [tuple(line.split()) for line in open(sys.argv[2], encoding="utf-8").read().split("\n")[1:] if line]
    ranks = dict(zip(merges, range(len(merges))))
    byte_encoder = bytes_to_unicode()
    pat = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    def bpe(token):
        word = tuple(token)
        pairs = get_pairs(word)
        while pairs:
            bigram = min(pairs, key=lambda p: ranks.get(p, float("inf")))
            if bigram not in ranks:
                break
            first, second = bigram
            new, i = [], 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new.extend(word[i:])
                    break
                new.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new.append(first + second)
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = tuple(new)
            pairs = get_pairs(word)
        return word

    out = []
    for text in json.load(sys.stdin):
        ids = []
        for token in re.findall(pat, text):
            token = "".join(byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(encoder[t] for t in bpe(token))
        out.append(ids)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
