/**
 * One variable of an app's Start node, as `GET /parameters` lists it in `user_input_form`
 * (`[{"text-input": {"variable", "label", "required", "max_length", "options", …}}]`).
 */
export interface InputFormField {
  /** `text-input`, `paragraph`, `select`, `number`, `checkbox`, `file`, `file-list`, `json_object`, … */
  readonly type: string;
  readonly variable: string;
  readonly required: boolean;
  /** Text and paragraph: the longest value in characters (code points); `0`/absent = no limit. */
  readonly maxLength?: number;
  /** Select: the allowed values. */
  readonly options?: readonly string[];
}

const TEXT_TYPES = new Set(['text-input', 'paragraph', 'select']);

/** Python's `repr()` of a `str`: single quotes unless the text has one and no double quote. */
function pyStrRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else out += ch;
  }
  return out + quote;
}

/**
 * Checks `inputs` against the form the way Dify's `BaseAppGenerator._validate_inputs` does
 * (`api/core/app/apps/base_app_generator.py`, 1.13.2 and 1.15 alike) and returns the first problem as
 * Dify's own message (`query in input form must be less than 256 characters`), or `undefined`.
 *
 * @remarks
 * Fields are checked in form order, like Dify, so the message is the one the server would answer in
 * blocking mode. "Required" means missing or `null` (an empty string passes). Lengths count code
 * points (Python's `len`), so an emoji is one character. Types this client cannot judge without the
 * server (files, JSON objects, checkboxes) are left to Dify. Used by the preflight of `runBatch` and
 * by the emulator, so both speak with the server's words.
 * @category client
 */
export function checkInputsAgainstForm(
  form: readonly InputFormField[],
  inputs: Readonly<Record<string, unknown>>,
): string | undefined {
  for (const field of form) {
    const value = Object.hasOwn(inputs, field.variable) ? inputs[field.variable] : undefined;
    const problem = checkField(field, value);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function checkField(field: InputFormField, value: unknown): string | undefined {
  const name = field.variable;
  if (value === undefined || value === null) {
    return field.required ? `${name} is required in input form` : undefined;
  }
  if (TEXT_TYPES.has(field.type) && typeof value !== 'string') {
    return `(type '${field.type}') ${name} in input form must be a string`;
  }
  if (field.type === 'number') {
    // Dify parses strings with int()/float(); a blank string counts as unset.
    if (typeof value !== 'string' || value.trim() === '') return undefined;
    return isPythonNumber(value) ? undefined : `${name} in input form must be a valid number`;
  }
  if (field.type === 'select') {
    const options = field.options ?? [];
    if (!options.includes(value as string)) {
      return `${name} in input form must be one of the following: [${options.map(pyStrRepr).join(', ')}]`;
    }
  }
  if ((field.type === 'text-input' || field.type === 'paragraph') && field.maxLength) {
    let length = 0;
    for (const _ of value as string) length++;
    if (length > field.maxLength) {
      return `${name} in input form must be less than ${field.maxLength} characters`;
    }
  }
  return undefined;
}

/** Python's `float(s)` when `s` has a point, else `int(s)` (surrounding whitespace and `_` separators allowed). */
function isPythonNumber(text: string): boolean {
  const s = text.trim();
  if (s.includes('.')) {
    return /^[+-]?(\d(_?\d)*)?\.(\d(_?\d)*)?([eE][+-]?\d(_?\d)*)?$/.test(s) && /\d/.test(s);
  }
  return /^[+-]?\d(_?\d)*$/.test(s);
}
