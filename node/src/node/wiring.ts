// The real parts behind the node's seams (seams.ts): the engine's Model, the embedded default
// model, the UDP overlay. The only file of the node program that imports them.

import { ensureDefaultModel } from "../model/default-model.js";
import { Model } from "../model/model.js";
import { Overlay } from "../overlay/overlay.js";
import type { NodeDeps } from "./seams.js";

export const realDeps: NodeDeps = {
  loadModel: (path) => Model.load(path),
  defaultModelPath: async (preset) => ensureDefaultModel(undefined, preset),
  startOverlay: (o) => Overlay.start(o),
};
