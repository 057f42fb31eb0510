#!/usr/bin/python3
"""PyTorch reference for the TypeScript GPT-2 engine (Debian python3-torch, stdlib only).

GPT-2 written from the architecture, run on the course's real base.pt and a fixed text; writes the
golden numbers the engine tests compare against: token ids, logits (a slice plus per-position
logsumexp and argmax), loss, every parameter gradient (norm and samples), and one step of each
optimizer the engine implements.

    /usr/bin/python3 test/torch/gpt2_reference.py <base.pt> <out.json>
"""
import json
import math
import sys

import torch

GOLDEN_VERSION = 1
# "Q: What is 2+2\nA: 4\n" in GPT-2 BPE (the tokenizer has its own reference test).
TOKENS = [48, 25, 1867, 318, 362, 10, 17, 198, 32, 25, 604, 198]
ANSWER_FROM = 9  # predictions from position 9 on produce " 4" and "\n"
N_HEAD = 2
EPS = 1e-5
SAMPLE = 6


def forward(p, ids):
    T = len(ids)
    wte = p["transformer.wte.weight"]
    C = wte.shape[1]
    x = wte[ids] + p["transformer.wpe.weight"][:T]
    L = 0
    while f"transformer.h.{L}.ln_1.weight" in p:
        L += 1
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(L):
        h = f"transformer.h.{l}."
        a = torch.nn.functional.layer_norm(x, (C,), p[h + "ln_1.weight"], p[h + "ln_1.bias"], EPS)
        qkv = a @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"]
        q, k, v = qkv.split(C, dim=-1)
        hs = C // N_HEAD
        q, k, v = (t.view(T, N_HEAD, hs).transpose(0, 1) for t in (q, k, v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hs)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(0, 1).reshape(T, C)
        x = x + y @ p[h + "attn.c_proj.weight"] + p[h + "attn.c_proj.bias"]
        a = torch.nn.functional.layer_norm(x, (C,), p[h + "ln_2.weight"], p[h + "ln_2.bias"], EPS)
        f = a @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"]
        f = 0.5 * f * (1 + torch.tanh(math.sqrt(2 / math.pi) * (f + 0.044715 * f ** 3)))
        x = x + f @ p[h + "mlp.c_proj.weight"] + p[h + "mlp.c_proj.bias"]
    x = torch.nn.functional.layer_norm(x, (C,), p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], EPS)
    return x @ wte.T


def loss_of(logits, ids, start):
    return torch.nn.functional.cross_entropy(logits[start:-1], torch.tensor(ids[start + 1:]))


def samples(t):
    flat = t.detach().flatten()
    idx = sorted({0, 1, flat.numel() // 2, flat.numel() - 1, int(flat.abs().argmax())})[:SAMPLE]
    return {"index": idx, "value": [float(flat[i]) for i in idx]}


def fresh_params(sd):
    return {k: v.detach().clone().float().requires_grad_(True) for k, v in sd.items() if k != "lm_head.weight"}


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    sd = torch.load(sys.argv[1], map_location="cpu")
    p = fresh_params(sd)
    logits = forward(p, TOKENS)
    loss = loss_of(logits, TOKENS, 0)
    loss.backward()
    V = logits.shape[1]
    cols = sorted(set(range(8)) | set(TOKENS) | {V - 1})
    out = {
        "version": GOLDEN_VERSION,
        "torch": torch.__version__,
        "tokens": TOKENS,
        "loss_all": float(loss),
        "logits": {
            "columns": cols,
            "values": [[float(logits[t, c]) for c in cols] for t in range(len(TOKENS))],
            "logsumexp": [float(x) for x in torch.logsumexp(logits, -1)],
            "argmax": [int(x) for x in logits.argmax(-1)],
        },
        "grads": {k: {"norm": float(v.grad.norm()), **samples(v.grad)} for k, v in p.items()},
    }
    with torch.no_grad():
        out["loss_answer"] = float(loss_of(forward(p, TOKENS), TOKENS, ANSWER_FROM))

    # The course recipe: SGD lr 1e-6, clip 1.0, 5 steps, loss on all tokens.
    q = fresh_params(sd)
    opt = torch.optim.SGD(q.values(), lr=1e-6)
    for _ in range(5):
        opt.zero_grad()
        loss_of(forward(q, TOKENS), TOKENS, 0).backward()
        torch.nn.utils.clip_grad_norm_(q.values(), 1.0)
        opt.step()
    out["course_sgd_5"] = {k: {"change_norm": float((q[k] - sd[k].float()).norm()), **samples(q[k] - sd[k].float())} for k in q}

    # One Adam step (our default recipe's optimizer) on the answer tokens.
    r = fresh_params(sd)
    opt = torch.optim.Adam(r.values(), lr=0.02)
    opt.zero_grad()
    loss_of(forward(r, TOKENS), TOKENS, ANSWER_FROM).backward()
    opt.step()
    out["adam_1"] = {k: samples(r[k]) for k in r}

    with open(sys.argv[2], "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
