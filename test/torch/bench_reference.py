#!/usr/bin/python3
"""Times PyTorch (CPU, 1 thread) on the engine benchmark's two jobs, with the real base.pt:
one course fine-tune step (fwd + bwd + clip + SGD, 12 tokens) and greedy generation with a KV
cache. Prints JSON: median milliseconds.

    /usr/bin/python3 test/torch/bench_reference.py <base.pt> <repeats>
"""
import json
import statistics
import sys
import time

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from gpt2_reference import TOKENS, forward, fresh_params, loss_of  # noqa: E402

torch.set_num_threads(1)
sd = torch.load(sys.argv[1], map_location="cpu")
repeats = int(sys.argv[2])
p = fresh_params(sd)
opt = torch.optim.SGD(p.values(), lr=1e-6)


def step():
    opt.zero_grad()
    loss_of(forward(p, TOKENS), TOKENS, 0).backward()
    torch.nn.utils.clip_grad_norm_(p.values(), 1.0)
    opt.step()


def timed(fn):
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def generate(n=6):
    # Greedy with a KV cache: the prompt once, then one position at a time.
    with torch.no_grad():
        ids = list(TOKENS[:10])
        wte, wpe = p["transformer.wte.weight"], p["transformer.wpe.weight"]
        C = wte.shape[1]
        cache = {}
        out = []
        for pos in range(len(ids) + n - 1):
            tok = ids[pos] if pos < len(ids) else out[-1]
            x = (wte[tok] + wpe[pos]).view(1, C)
            l = 0
            while f"transformer.h.{l}.ln_1.weight" in p:
                h = f"transformer.h.{l}."
                a = torch.nn.functional.layer_norm(x, (C,), p[h + "ln_1.weight"], p[h + "ln_1.bias"], 1e-5)
                q, k, v = (a @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"]).split(C, -1)
                K, V = cache.get(l, (torch.empty(0, C), torch.empty(0, C)))
                K, V = torch.cat([K, k]), torch.cat([V, v])
                cache[l] = (K, V)
                hs = C // 2
                qh, Kh, Vh = q.view(1, 2, hs).transpose(0, 1), K.view(-1, 2, hs).transpose(0, 1), V.view(-1, 2, hs).transpose(0, 1)
                y = ((qh @ Kh.transpose(-1, -2)) / hs ** 0.5).softmax(-1) @ Vh
                x = x + y.transpose(0, 1).reshape(1, C) @ p[h + "attn.c_proj.weight"] + p[h + "attn.c_proj.bias"]
                a = torch.nn.functional.layer_norm(x, (C,), p[h + "ln_2.weight"], p[h + "ln_2.bias"], 1e-5)
                f = a @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"]
                f = 0.5 * f * (1 + torch.tanh(0.7978845608028654 * (f + 0.044715 * f ** 3)))
                x = x + f @ p[h + "mlp.c_proj.weight"] + p[h + "mlp.c_proj.bias"]
                l += 1
            if pos >= len(ids) - 1:
                x = torch.nn.functional.layer_norm(x, (C,), p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], 1e-5)
                out.append(int((x @ wte.T).argmax()))
        return out


print(json.dumps({"finetune_step_ms": timed(step), "generate6_ms": timed(generate)}))
