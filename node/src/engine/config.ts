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
