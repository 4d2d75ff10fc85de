import { describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/Item.js';
import { buildRequest } from '../../src/pipeline/buildRequest.js';

const item = (inputs: Record<string, unknown>): Item => ({ seq: 7, id: 'r7', inputs });

describe('buildRequest', () => {
  it('sends the whole record as inputs, minus the reserved dead-letter keys', () => {
    const toRequest = buildRequest({ app: 'workflow' });
    expect(toRequest(item({ a: 1, _error: { code: 'x' }, _raw: 'y' }))).toEqual({
      app: 'workflow',
      inputs: { a: 1 },
      user: 'dify-batch',
      responseMode: 'blocking',
    });
  });

  it('keeps __proto__ and constructor keys as plain fields of the inputs (no prototype change)', () => {
    const record = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},"a":1}');
    const { inputs } = buildRequest({ app: 'workflow' })(item(record));
    expect(Object.getPrototypeOf(inputs)).toBe(Object.prototype);
    expect(Object.keys(inputs)).toEqual(['__proto__', 'constructor', 'a']);
    expect(JSON.parse(JSON.stringify(inputs))).toEqual(record);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('takes inputs, query and conversation id from the named fields', () => {
    const toRequest = buildRequest({
      app: 'chat',
      inputsField: 'vars',
      queryField: 'q',
      conversationIdField: 'c',
      user: 'u',
      responseMode: 'streaming',
    });
    expect(toRequest(item({ vars: { lang: 'en' }, q: 'hi', c: 'abc' }))).toEqual({
      app: 'chat',
      inputs: { lang: 'en' },
      query: 'hi',
      conversationId: 'abc',
      user: 'u',
      responseMode: 'streaming',
    });
  });

  it('chat defaults its query to the `query` field and keeps it out of inputs', () => {
    expect(buildRequest({ app: 'chat' })(item({ query: 'q?', lang: 'de' }))).toMatchObject({
      query: 'q?',
      inputs: { lang: 'de' },
    });
  });

  it('names the record and the field when a record does not fit', () => {
    expect(() => buildRequest({ app: 'chat' })(item({ lang: 'de' }))).toThrow(
      /record r7 \(seq 7\): field "query" \(the chat query\) is missing/,
    );
    expect(() => buildRequest({ app: 'workflow', inputsField: 'vars' })(item({ vars: 'no' }))).toThrow(
      /field "vars" must be a JSON object.*got string/,
    );
    expect(() => buildRequest({ app: 'workflow', inputsField: 'vars' })(item({}))).toThrow(
      /field "vars" \(--inputs-field\) is missing/,
    );
    expect(() => buildRequest({ app: 'completion', queryField: 'q' })(item({ q: 5 }))).toThrow(
      /must be a string, got number/,
    );
  });

  it('completion without a query field sends no query', () => {
    expect(buildRequest({ app: 'completion' })(item({ a: 1 }))).not.toHaveProperty('query');
  });
});
