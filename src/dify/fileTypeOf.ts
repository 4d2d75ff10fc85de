/** Dify's file types (`FileType` in Dify's core/file). */
export type DifyFileType = 'document' | 'image' | 'audio' | 'video' | 'custom';

// Dify 1.13.2 api/constants/__init__.py (the default ETL: no Unstructured API); matched lower-cased,
// as Dify lower-cases the extension of every upload.
const IMAGE = new Set(['jpg', 'jpeg', 'png', 'webp', 'gif', 'svg']);
const VIDEO = new Set(['mp4', 'mov', 'mpeg', 'webm']);
const AUDIO = new Set(['mp3', 'm4a', 'wav', 'amr', 'mpga']);
const DOCUMENT = new Set([
  'txt',
  'markdown',
  'md',
  'mdx',
  'pdf',
  'html',
  'htm',
  'xlsx',
  'xls',
  'docx',
  'csv',
  'vtt',
  'properties',
]);

/**
 * The type Dify gives a file (`_standardize_file_type` in Dify's factories/file_factory.py): by
 * extension first, then by MIME type (`image`/`video`/`audio` in it, or `text`/`pdf` for a document),
 * else `custom`.
 *
 * @param extension - with or without the leading dot, any case
 * @param mimeType - the content type, when known
 * @example
 * ```ts
 * import { fileTypeOf } from 'dify-batch';
 * console.log(fileTypeOf('.PDF'), fileTypeOf('png'), fileTypeOf('bin', 'text/plain'), fileTypeOf('exe'));
 * // Output: document image document custom
 * ```
 * @category files
 */
export function fileTypeOf(extension: string, mimeType?: string): DifyFileType {
  const ext = extension.replace(/^\./, '').toLowerCase();
  if (IMAGE.has(ext)) return 'image';
  if (VIDEO.has(ext)) return 'video';
  if (AUDIO.has(ext)) return 'audio';
  if (DOCUMENT.has(ext)) return 'document';
  if (mimeType === undefined || mimeType === '') return 'custom';
  if (mimeType.includes('image')) return 'image';
  if (mimeType.includes('video')) return 'video';
  if (mimeType.includes('audio')) return 'audio';
  if (mimeType.includes('text') || mimeType.includes('pdf')) return 'document';
  return 'custom';
}

const MIME: Readonly<Record<string, string>> = {
  txt: 'text/plain',
  md: 'text/markdown',
  markdown: 'text/markdown',
  mdx: 'text/markdown',
  csv: 'text/csv',
  html: 'text/html',
  htm: 'text/html',
  pdf: 'application/pdf',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  xls: 'application/vnd.ms-excel',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  vtt: 'text/vtt',
  properties: 'text/plain',
  json: 'application/json',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  mpeg: 'video/mpeg',
  webm: 'video/webm',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  wav: 'audio/wav',
  amr: 'audio/amr',
  mpga: 'audio/mpeg',
};

/**
 * The content type sent with an upload. Dify refuses a part without one (415), so anything
 * unknown goes as `application/octet-stream`.
 */
export function mimeTypeOf(extension: string): string {
  return MIME[extension.replace(/^\./, '').toLowerCase()] ?? 'application/octet-stream';
}
