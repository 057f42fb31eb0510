// Ask and teach: the course's prompt loop as a form. An answer is checked against the fleet's
// lessons (the page's copy of /lessons) so the page can say when the question was taught; a teach
// shows its stages while the node fine-tunes and sends, then the result.

import { postJson } from "./api.js";
import { $, setText, ms, bytes } from "./dom.js";

const norm = (s) => s.trim().toLowerCase().replace(/[?.!\s]+$/, "").replace(/\s+/g, " ");

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
      setText("taught-note", taughtNote(question, state.lessons));
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

/** What the page says about a question the fleet was taught (or that it was not). */
export function taughtNote(question, lessons) {
  const hit = [...(lessons ?? [])].reverse().find((l) => norm(l.question) === norm(question));
  if (!hit) return "The fleet has not been taught this question.";
  return `The fleet was taught this question by ${hit.author}: "${hit.answer}".`;
}
