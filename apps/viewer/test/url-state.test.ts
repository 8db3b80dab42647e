// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { DEFAULT_STATE, parseViewState, serializeViewState } from '../src/lib/url-state';

describe('URL state', () => {
  it('round-trips a full state', () => {
    const s = { view: 'cases' as const, experiment: 'exp 1', run: 'run-a', compare: ['a', 'b'], interval: '0-2%', sort: 'dice' as const, order: 'desc' as const, page: 3, caseId: 'p1-s4' };
    const q = serializeViewState(s);
    expect(q).toBe('?view=cases&exp=exp+1&run=run-a&compare=a%2Cb&interval=0-2%25&sort=dice&order=desc&page=3&case=p1-s4');
    expect(parseViewState(q)).toEqual(s);
  });
  it('falls back to defaults for unknown or malformed values', () => {
    expect(parseViewState('?view=nope&sort=bogus&order=up&page=-2&compare=')).toEqual(DEFAULT_STATE);
  });
  it('leaves defaults out of the link', () => {
    expect(serializeViewState(DEFAULT_STATE)).toBe('?view=runs');
  });
});
