// Ask and teach: the course's prompt loop as a form. /ask labels a question the fleet was taught
// (node/src/node/taught.ts), and the page shows that label under the model's answer; a teach
// shows its stages while the node fine-tunes and sends, then the result.

import { postJson } from "./api.js";
import { $, setText, ms, bytes } from "./dom.js";

export function setupAsk(state) {
  let asked = null;
  $("ask-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const question = $("question").value.trim();
    if (!question) return;
    setText("answer-status", "Asking this node…");
    setText("taught-note", "");
    try {
      const r = await postJson("/ask", { question });
      asked = question;
      $("answer").textContent = r.answer || "(no answer)";
      setText("answer-status", `Answered in ${ms(r.ms)} (${r.tokens} tokens).`);
      setText("taught-note", taughtNote(r.taught));
      $("correction").disabled = false;
      $("teach-button").disabled = false;
    } catch (e) {
      setText("answer-status", `Could not ask: ${e.message}`);
    }
  });

  $("teach-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const answer = $("correction").value.trim();
    if (!asked || !answer) return;
    $("teach-button").disabled = true;
    const t0 = Date.now();
    const tick = setInterval(() => setText("teach-status", `Teaching: fine-tuning on this node, then sending the lesson to the fleet… ${Math.round((Date.now() - t0) / 1000)} s`), 500);
    setText("teach-status", "Teaching: fine-tuning on this node, then sending the lesson to the fleet…");
    try {
      const r = await postJson("/teach", { question: asked, answer });
      clearInterval(tick);
      state.taughtVersion = r.version;
      setText("teach-status", `Taught in ${ms(r.ms)}: ${r.learned ? "learned" : "not yet learned"} (now answers "${r.answer}", loss ${r.loss.toFixed(3)}, ${r.steps} steps); sent ${bytes(r.bytes)} in ${r.chunks} fragments. The fleet table shows who has it.`);
      $("answer").textContent = r.answer;
      state.refreshLessons();
    } catch (e) {
      clearInterval(tick);
      setText("teach-status", `Teach failed: ${e.message}`);
    } finally {
      $("teach-button").disabled = false;
    }
  });
}

/** What the page says under an answer, from /ask's label: who taught the question, or that nobody did. */
export function taughtNote(taught) {
  if (!taught) return "The fleet has not been taught this question.";
  return `The fleet was taught this question by ${taught.author}: "${taught.answer}".`;
}
