import { firstValueFrom, of, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { DifyResult } from '../../src/dify/DifyRequest.js';
import { FAILED_RUN_STATUSES, isFailedRunStatus } from '../../src/dify/isFailedRunStatus.js';
import { toDifyResult } from '../../src/dify/toDifyResult.js';
import { callDify } from '../../src/operators/callDify.js';

// Every value of Dify's workflow run status enum (dify-api.md §3), plus a missing status.
const STATUSES = ['succeeded', 'partial-succeeded', 'failed', 'stopped', 'paused', 'running', 'scheduled'];

/** Whether the client layer (blocking body → toDifyResult) fails a run with this status. */
function clientFails(status: string | undefined): boolean {
  const body = { workflow_run_id: 'R', task_id: 'T', data: { id: 'R', status, outputs: {}, error: null } };
  try {
    toDifyResult('workflow', body, (text) => text);
    return false;
  } catch (error) {
    expect(error).toMatchObject({ code: 'ERR_DIFY_RUN_FAILED', retryable: false });
    return true;
  }
}

/** Whether callDify fails a result with this status coming from any transport. */
async function operatorFails(status: string | undefined): Promise<boolean> {
  const result: DifyResult = { outputs: {}, workflowRunId: 'R', ...(status ? { status } : {}) };
  const [out] = await firstValueFrom(
    of({ seq: 0, id: '0', inputs: {} }).pipe(
      callDify(async () => result, {
        toRequest: () => ({ app: 'workflow', inputs: {}, user: 'u', responseMode: 'blocking' }),
      }),
      toArray(),
    ),
  );
  if (out!.ok) return false;
  expect(out!.error).toMatchObject({ code: 'ERR_DIFY_RUN_FAILED', retryable: false });
  expect(out!.attempts).toBe(1);
  return true;
}

describe('isFailedRunStatus', () => {
  it('fails failed, stopped and paused runs; succeeded and partial-succeeded carry outputs', () => {
    expect(STATUSES.filter(isFailedRunStatus)).toEqual(['failed', 'stopped', 'paused']);
    expect(isFailedRunStatus(undefined)).toBe(false);
    expect([...FAILED_RUN_STATUSES].sort()).toEqual(['failed', 'paused', 'stopped']);
  });

  it.each([...STATUSES, undefined])('the client and callDify agree on status %s', async (status) => {
    const expected = isFailedRunStatus(status);
    expect(clientFails(status)).toBe(expected);
    expect(await operatorFails(status)).toBe(expected);
  });
});
