// The course's own behaviour as a reference point: the Python course peer (test/course-peer) as
// sender and receivers, V=1, broadcast, NAK timings as the instructor's node has them.

import { evName, startCoursePeer } from "../../test/support/procs.js";
import { measureJson, type TrialResult, type TrialSpec } from "./trial.js";

const PORT = 5000;

export function runCourse(spec: TrialSpec): Promise<TrialResult> {
  const { lan } = spec;
  return measureJson(spec, {
    receiver: (s, i, out) => startCoursePeer({ id: `r${i}`, port: PORT, broadcast: lan.broadcast, out },
      (c, a) => lan.spawn(i, c, a)),
    ready: (p) => p.waitEv("listening"),
    sender: (s) => startCoursePeer({ id: "s0", port: PORT, broadcast: lan.broadcast, send: s.file,
      ver: `bench${Date.now()}`, sendAfterS: 0.2 }, (c, a) => lan.spawn(0, c, a)),
    isAnnounce: (e) => evName(e) === "send_start",
    isComplete: (e, sha) => evName(e) === "complete" && e.sha256 === sha,
  });
}
