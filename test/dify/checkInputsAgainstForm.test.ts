import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkInputsAgainstForm, type InputFormField } from '../../src/dify/checkInputsAgainstForm.js';

const TEXT: InputFormField = { type: 'text-input', variable: 'query', required: true, maxLength: 5 };

describe('checkInputsAgainstForm', () => {
  it('answers Dify’s messages, field by field in form order', () => {
    const form: InputFormField[] = [
      TEXT,
      { type: 'select', variable: 'tone', required: false, options: ['calm', "it's"] },
      { type: 'number', variable: 'n', required: false },
      { type: 'paragraph', variable: 'p', required: false },
    ];
    expect(checkInputsAgainstForm(form, {})).toBe('query is required in input form');
    expect(checkInputsAgainstForm(form, { query: null })).toBe('query is required in input form');
    expect(checkInputsAgainstForm(form, { query: 42 })).toBe(
      "(type 'text-input') query in input form must be a string",
    );
    expect(checkInputsAgainstForm(form, { query: 'abcdef' })).toBe(
      'query in input form must be less than 5 characters',
    );
    expect(checkInputsAgainstForm(form, { query: '', tone: 'loud' })).toBe(
      `tone in input form must be one of the following: ['calm', "it's"]`,
    );
    expect(checkInputsAgainstForm(form, { query: 'a', n: 'twelve' })).toBe(
      'n in input form must be a valid number',
    );
    expect(checkInputsAgainstForm(form, { query: 'a', p: ['x'] })).toBe(
      "(type 'paragraph') p in input form must be a string",
    );
    // An empty string passes a required text input; numbers take ints, floats and numeric strings.
    for (const n of [3, 2.5, '7', ' 1.5 ', '-2', '', '1_000']) {
      expect(checkInputsAgainstForm(form, { query: '', tone: 'calm', n })).toBeUndefined();
    }
  });

  it('leaves types it cannot judge (files, JSON objects, checkboxes) to Dify', () => {
    const form: InputFormField[] = [
      { type: 'file', variable: 'doc', required: false },
      { type: 'json_object', variable: 'j', required: false },
      { type: 'checkbox', variable: 'c', required: false },
    ];
    expect(checkInputsAgainstForm(form, { doc: 'x', j: 1, c: 'maybe' })).toBeUndefined();
  });

  it('counts code points like Python’s len(): an emoji is one character, a ZWJ family several', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 12 }),
        fc.integer({ min: 1, max: 12 }),
        (s, max) => {
          const problem = checkInputsAgainstForm([{ ...TEXT, maxLength: max }], { query: s });
          expect(problem === undefined).toBe([...s].length <= max);
        },
      ),
    );
    expect(checkInputsAgainstForm([{ ...TEXT, maxLength: 2 }], { query: '😀😀' })).toBeUndefined();
  });
});
