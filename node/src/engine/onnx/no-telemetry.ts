// ONNX Runtime's Linux builds (1.30) send usage telemetry to Microsoft: every process that loads
// onnxruntime-node looks up mobile.events.data.microsoft.com (seen with strace). A classroom node
// has no business phoning home, and an offline LAN only gets DNS timeouts for it. The library reads
// ORT_DISABLE_TELEMETRY from the environment when it starts, so this module must be evaluated
// before onnxruntime-node is imported (session.ts imports it first). An operator's own setting wins.

process.env.ORT_DISABLE_TELEMETRY ??= "1";

export {};
