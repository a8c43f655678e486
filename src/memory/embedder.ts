/**
 * @module memory/embedder
 * Embedders turn text into unit vectors for the vector signal of hybrid retrieval.
 *
 * - {@link HashingEmbedder} (the default) needs no model and no download: it hashes word
 *   unigrams, word bigrams and character trigrams into a fixed number of dimensions (signed
 *   feature hashing) and L2-normalises. Be clear about what that is: a fuzzy *lexical* signal —
 *   it matches shared words, word pairs, inflections and typos ("paint" ~ "painting" ~ "pianting")
 *   — not a semantic one ("car" is not near "automobile").
 * - {@link OpenAiCompatibleEmbedder} calls any `/v1/embeddings` endpoint (OpenAI, vLLM, Ollama,
 *   llama.cpp, TEI …) for semantic vectors where a model is available.
 *
 * Vectors are stored with each memory with the embedder's `id`; a search compares only vectors of
 * the same embedder, so changing embedders never mixes spaces (re-embed by export → import).
 */
import { StrataError } from '../kernel/index.ts';
import { stem, words } from './text.ts';

export interface Embedder {
  /** Names the vector space, e.g. `hashing-ngram-256` or `openai:text-embedding-3-small`. */
  readonly id: string;
  readonly dimensions: number;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

/** FNV-1a, 32-bit. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface HashingEmbedderOptions {
  /** @default 256 */
  dimensions?: number;
}

export class HashingEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;

  constructor(options: HashingEmbedderOptions = {}) {
    this.dimensions = options.dimensions ?? 256;
    this.id = `hashing-ngram-${this.dimensions}`;
  }

  embed(texts: readonly string[]): Promise<Float32Array[]> {
    return Promise.resolve(texts.map((t) => this.embedOne(t)));
  }

  embedOne(text: string): Float32Array {
    const v = new Float32Array(this.dimensions);
    const ws = words(text).map(stem);
    const add = (feature: string, weight: number): void => {
      const h = fnv1a(feature);
      const sign = (h & 0x80000000) !== 0 ? -1 : 1;
      const index = h % this.dimensions;
      v[index] = (v[index] as number) + sign * weight;
    };
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i] as string;
      if (w.length < 2) continue;
      add(`w:${w}`, 1);
      if (i + 1 < ws.length) add(`b:${w} ${ws[i + 1] as string}`, 0.5);
      const padded = `<${w}>`;
      for (let j = 0; j + 3 <= padded.length; j++) add(`c:${padded.slice(j, j + 3)}`, 0.3);
    }
    let norm = 0;
    for (const x of v) norm += x * x;
    norm = Math.sqrt(norm);
    if (norm > 0) for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / norm;
    return v;
  }
}

export interface OpenAiCompatibleEmbedderOptions {
  /** Base URL up to and including `/v1`, e.g. `http://127.0.0.1:11434/v1`. */
  baseUrl: string;
  model: string;
  dimensions: number;
  apiKey?: string;
  /** @default 30_000 */
  timeoutMs?: number;
}

/** A client for the OpenAI embeddings wire format (`POST {baseUrl}/embeddings`). */
export class OpenAiCompatibleEmbedder implements Embedder {
  readonly id: string;
  readonly dimensions: number;
  readonly #options: OpenAiCompatibleEmbedderOptions;

  constructor(options: OpenAiCompatibleEmbedderOptions) {
    this.#options = options;
    this.dimensions = options.dimensions;
    this.id = `openai:${options.model}`;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    const { baseUrl, model, apiKey, timeoutMs = 30_000 } = this.#options;
    let response: Response;
    try {
      response = await fetch(`${baseUrl.replace(/\/$/, '')}/embeddings`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }),
        },
        body: JSON.stringify({ model, input: texts, encoding_format: 'float' }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw new StrataError('E_UNAVAILABLE', `embeddings endpoint unreachable: ${baseUrl}`, undefined, {
        cause,
        retryable: true,
      });
    }
    if (!response.ok) {
      throw new StrataError('E_UNAVAILABLE', `embeddings endpoint answered HTTP ${response.status}`, {
        status: response.status,
      });
    }
    const body = (await response.json()) as { data?: { index?: number; embedding?: unknown }[] };
    const data = body.data;
    if (!Array.isArray(data) || data.length !== texts.length) {
      throw new StrataError('E_UNAVAILABLE', 'embeddings response has the wrong number of vectors');
    }
    const out: Float32Array[] = new Array<Float32Array>(texts.length);
    data.forEach((item, i) => {
      const e = item.embedding;
      if (!Array.isArray(e) || e.length !== this.dimensions || !e.every((x) => typeof x === 'number')) {
        throw new StrataError('E_UNAVAILABLE', `embedding ${i} is not ${this.dimensions} numbers`);
      }
      out[item.index ?? i] = normalised(Float32Array.from(e));
    });
    return out;
  }
}

function normalised(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / norm;
  return v;
}

export function vectorToBuffer(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function bufferToVector(b: Uint8Array): Float32Array {
  const copy = new Uint8Array(b); // aligned copy
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}
