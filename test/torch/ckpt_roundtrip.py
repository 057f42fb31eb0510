#!/usr/bin/python3
"""Reads a .pt with torch.load(weights_only=True) and prints what torch sees, as JSON:
key order, dtypes, shapes, a sha256 of each tensor's bytes, and which keys share storage.

    /usr/bin/python3 test/torch/ckpt_roundtrip.py <file.pt>
"""
import hashlib
import json
import sys

import torch

sd = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
out = {"keys": list(sd.keys()), "tensors": {}, "shared": []}
ptrs = {}
for k, v in sd.items():
    out["tensors"][k] = {
        "dtype": str(v.dtype).replace("torch.", ""),
        "shape": list(v.shape),
        "sha256": hashlib.sha256(v.contiguous().numpy().tobytes() if v.dtype != torch.bfloat16 else v.contiguous().view(torch.int16).numpy().tobytes()).hexdigest(),
    }
    p = v.storage().data_ptr()
    if p in ptrs:
        out["shared"].append([ptrs[p], k])
    else:
        ptrs[p] = k
print(json.dumps(out))
