import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** A key sealed with AES-256-GCM: what job.json keeps instead of the key itself. */
export interface SealedKey {
  readonly iv: string;
  readonly tag: string;
  readonly data: string;
}

/**
 * The owner of a job: SHA-256 of the caller's bearer key, so job.json never holds the key and another
 * key's hash never matches.
 */
export function ownerOf(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Seals and opens job keys with a secret (`--secret-file` or `DIFY_BATCH_JOBS_SECRET`): the gateway can
 * then resume its callers' jobs after a restart without them. The AES key is SHA-256 of the secret.
 */
export class JobKeys {
  readonly #key: Buffer;

  constructor(secret: string) {
    this.#key = createHash('sha256').update(secret, 'utf8').digest();
  }

  seal(apiKey: string): SealedKey {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const data = Buffer.concat([cipher.update(apiKey, 'utf8'), cipher.final()]);
    return {
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
  }

  /** The key, or `undefined` when it was sealed with another secret (or tampered with). */
  open(sealed: SealedKey): string | undefined {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(sealed.iv, 'base64'));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      return undefined;
    }
  }
}
