// Reading a weights file whole, whatever its format (torch.save zip or safetensors), into a state dict.

import { readFileSync } from "node:fs";
import { CheckpointError } from "./errors.js";
import { readSafetensors } from "./safetensors.js";
import { isTorchZip, readTorchStateDict } from "./torch-file.js";
import type { StateDict } from "./tensor.js";

export function readWholeFile(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(file, code === "ENOENT" ? "no such file" : `cannot read (${code ?? (e as Error).message})`);
  }
}

/** A torch.save zip (.pt, .bin, a course delta) or a .safetensors file, by its bytes and name. */
export function loadStateDict(file: string): StateDict {
  const bytes = readWholeFile(file);
  if (isTorchZip(bytes)) return readTorchStateDict(bytes, file);
  if (file.endsWith(".safetensors")) return readSafetensors(bytes, file);
  throw new CheckpointError(file, "neither a torch.save zip archive nor a .safetensors file");
}
