#!/usr/bin/python3
"""Merges course deltas into a base state dict the way the course node does, and saves the result.

    /usr/bin/python3 test/torch/merge_reference.py <base.pt> <weight> <out.pt> <delta.pt>...
"""
import sys

import torch

base = torch.load(sys.argv[1], map_location="cpu")
weight = float(sys.argv[2])
sd = {k: v.detach().clone().float() for k, v in base.items() if k != "lm_head.weight"}
for path in sys.argv[4:]:
    delta = torch.load(path, map_location="cpu", weights_only=True)
    for k, d in delta.items():
        if k == "lm_head.weight":
            continue  # tied to transformer.wte.weight: applied once
        if k in sd and sd[k].shape == d.shape:
            sd[k] += weight * d.float()
torch.save(sd, sys.argv[3])
