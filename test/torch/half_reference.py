#!/usr/bin/python3
"""torch's float32 -> float16 -> float32 of the float32 values in a .pt, saved for comparison.

    /usr/bin/python3 test/torch/half_reference.py <in.pt> <out.pt>
"""
import sys

import torch

sd = torch.load(sys.argv[1], weights_only=True)
torch.save({k: v.half() for k, v in sd.items()}, sys.argv[2])
