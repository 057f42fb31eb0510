// GPT-2 hyper-parameters, named as Hugging Face's config.json names them.

export interface Gpt2Config {
  vocab_size: number;
  n_positions: number;
  n_embd: number;
  n_layer: number;
  n_head: number;
  layer_norm_epsilon: number;
  tie_word_embeddings: boolean;
}

/** sshleifer/tiny-gpt2: the model every Pi of the course runs. */
export const TINY_GPT2: Readonly<Gpt2Config> = Object.freeze({
  vocab_size: 50257,
  n_positions: 1024,
  n_embd: 2,
  n_layer: 2,
  n_head: 2,
  layer_norm_epsilon: 1e-5,
  tie_word_embeddings: true,
});

/**
 * The `classroom` preset: GPT-2 wide enough to hold a class's lessons (issue 12), same tokenizer
 * and vocabulary as tiny-gpt2. Its teaches train the blocks only (the embeddings stay frozen), so a
 * delta carries the blocks' tensors and nothing else. Width and depth chosen by measurement
 * (bench/engine/lessons.ts, README "Lessons").
 */
export const CLASSROOM: Readonly<Gpt2Config> = Object.freeze({
  vocab_size: 50257,
  n_positions: 1024,
  n_embd: 64,
  n_layer: 1,
  n_head: 2,
  layer_norm_epsilon: 1e-5,
  tie_word_embeddings: true,
});
