/**
 * Python-compatible renderings, so emulated bodies match Dify byte for byte.
 *
 * Used by the emulator's response builders and its pydantic-like validation messages. Dify renders
 * JSON bodies with Python `json.dumps` (separators `", "` and `": "`, `ensure_ascii=True`) and quotes
 * request values in validation errors with Python `repr()`.
 */

// `json.dumps(ensure_ascii=True)` escapes everything outside printable ASCII (space..`~`).
const HAS_NON_ASCII = /[\u007f-\uffff]/;
const NON_ASCII = /[\u007f-\uffff]/g;

function escapeNonAscii(ch: string): string {
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** A string as Python `json.dumps` writes it (lone surrogates come out of JSON.stringify already escaped). */
export function pyString(value: string): string {
  const json = JSON.stringify(value);
  return HAS_NON_ASCII.test(json) ? json.replace(NON_ASCII, escapeNonAscii) : json;
}

/** A float as Python `repr(float)`: always a point or an exponent, exponents with a sign and two digits. */
export function pyFloat(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    // JS writes `4.5e-5`, Python `4.5e-05`: the exponent has a sign and at least two digits.
    const text = value.toExponential();
    const e = text.indexOf('e');
    const digits = text.slice(e + 2);
    return `${text.slice(0, e + 2)}${digits.length === 1 ? '0' : ''}${digits}`;
  }
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

/** Any JSON-like value as Python `json.dumps` writes it. Integral numbers are written as ints. */
export function pyJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return pyString(value);
    case 'number':
      return Number.isInteger(value) ? String(value) : pyFloat(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ', ') + pyJson(value[i] ?? null);
        return `${out}]`;
      }
      let out = '{';
      let first = true;
      for (const key in value) {
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined || typeof item === 'function') continue;
        out += `${first ? '' : ', '}${pyString(key)}: ${pyJson(item)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      return 'null';
  }
}

// Characters Python's str.isprintable() rejects (the space itself is printable).
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

function reprString(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of value) {
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && NOT_PRINTABLE.test(ch)) {
      const code = ch.codePointAt(0) ?? 0;
      if (code < 0x100) out += `\\x${code.toString(16).padStart(2, '0')}`;
      else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
      else out += `\\U${code.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return out + quote;
}

/** A parsed JSON value as Python `repr()` shows it (dicts, lists, True/False/None). */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  switch (typeof value) {
    case 'string':
      return reprString(value);
    case 'number':
      return Number.isInteger(value) ? String(value) : pyFloat(value);
    case 'boolean':
      return value ? 'True' : 'False';
    case 'object':
      if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
      return `{${Object.entries(value)
        .map(([k, v]) => `${reprString(k)}: ${pyRepr(v)}`)
        .join(', ')}}`;
    default:
      return 'None';
  }
}

/** The Python type name of a parsed JSON value, as pydantic reports it in `input_type=`. */
export function pyTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  switch (typeof value) {
    case 'string':
      return 'str';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float';
    case 'boolean':
      return 'bool';
    default:
      return 'dict';
  }
}

/**
 * A value as flask-restx writes its bodies on the real server (errors, `/parameters`, `/info`, run
 * detail, logs): compact separators, `ensure_ascii` (`\\uXXXX`) and `/` escaped as `\\/`. Blocking run
 * bodies use {@link pyJson} instead (Python separators), SSE frames compact raw UTF-8.
 */
export function restxJson(value: unknown): string {
  return compact(value);
}

function restxString(value: string): string {
  const py = pyString(value);
  return py.includes('/') ? py.replaceAll('/', '\\/') : py;
}

function compact(value: unknown): string {
  if (typeof value === 'string') return restxString(value);
  if (typeof value !== 'object' || value === null) return pyJson(value);
  if (Array.isArray(value)) return `[${value.map((item) => compact(item ?? null)).join(',')}]`;
  const parts: string[] = [];
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined || typeof item === 'function') continue;
    parts.push(`${restxString(key)}:${compact(item)}`);
  }
  return `{${parts.join(',')}}`;
}
