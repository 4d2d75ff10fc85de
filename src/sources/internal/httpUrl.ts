import { InvalidOptionError } from '../../core/InvalidOptionError.js';

/** Parses an http(s) URL or throws InvalidOptionError (user:password never quoted); used by fromHttp and toHttp. */
export function checkHttpUrl(option: string, url: unknown): URL {
  if (typeof url !== 'string' || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new InvalidOptionError(option, 'an http(s) URL', typeof url === 'string' ? showUrlText(url) : url);
  }
  return new URL(url);
}

/** The URL without user:password, for messages. */
export function showUrl(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

function showUrlText(text: string): string {
  return text.replace(/\/\/[^/@]*@/, '//');
}
