/**
 * UTF-8 checks for parsers that must hand bytes to a strict decoder (parseJsonArray): they find the
 * bytes that are not UTF-8 so that only the records holding them fail, instead of the whole stream.
 */

/**
 * How many bytes at the end of `buf` start a multi-byte sequence that the chunk does not complete
 * (0 to 3): they belong with the next chunk.
 */
export function incompleteUtf8Tail(buf: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, buf.length); back++) {
    const byte = buf[buf.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back for its lead
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/**
 * A copy of `buf` with every byte that is not part of a valid UTF-8 sequence replaced by `?` (one
 * byte for one, so offsets do not move); the position of each, plus `base`, is appended to `found`.
 */
export function replaceInvalidUtf8(buf: Uint8Array, base: number, found: number[]): Buffer {
  const out = Buffer.from(buf);
  for (let i = 0; i < out.length; ) {
    if (out[i]! < 0x80) {
      i++;
      continue;
    }
    const length = sequenceLength(out, i);
    if (length > 0) {
      i += length;
      continue;
    }
    out[i] = 0x3f;
    found.push(base + i);
    i++;
  }
  return out;
}

/** The length of the valid sequence starting at `i` (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF), or 0. */
function sequenceLength(buf: Uint8Array, i: number): number {
  const lead = buf[i]!;
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead === 0xe0) low = 0xa0;
    if (lead === 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead === 0xf0) low = 0x90;
    if (lead === 0xf4) high = 0x8f;
  } else return 0;
  if (i + length > buf.length) return 0;
  const second = buf[i + 1]!;
  if (second < low || second > high) return 0;
  for (let k = 2; k < length; k++) if ((buf[i + k]! & 0xc0) !== 0x80) return 0;
  return length;
}
