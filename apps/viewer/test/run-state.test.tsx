import { cleanup, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { RunsView } from '../src/components/RunsView';
import { parseViewState } from '../src/lib/url-state';
import { EXPERIMENT, makeRun } from './fixtures';

afterEach(cleanup);

describe('queued and running runs (mrlseg cv --queue)', () => {
  it('shows queued runs, running ones with their worker host and epoch, finished ones as before, and the author', () => {
    const config = { training: { epochs: 10, rlEpochs: 4 } };
    const runs = [
      makeRun('q', 'rl-seg', { status: 'pending', host: null, config }),
      makeRun('p', 'onlyseg', { status: 'running', host: 'gpu-2', lastEpoch: { phase: 'pretrain', epoch: 2 }, config }),
      makeRun('r', 'rl-fb-seg', { status: 'running', host: 'gpu-3', lastEpoch: { phase: 'rl', epoch: 0 }, config }),
      makeRun('s', 'unet', { status: 'running', host: 'gpu-1', lastEpoch: null, config }),
      makeRun('c', 'resunet'),
    ];
    render(<RunsView experiments={[EXPERIMENT]} runs={runs} state={parseViewState('')} navigate={() => {}} />);
    const rows = within(screen.getByRole('table', { name: 'runs' })).getAllByRole('row').slice(1);
    expect(rows.map((r) => within(r).getAllByRole('cell')[2].textContent)).toEqual([
      'queued',
      'running on gpu-2 · pretrain epoch 3/10 done',
      'running on gpu-3 · rl epoch 1/4 done',
      'running on gpu-1 · starting',
      'completed',
    ]);
    const exp = screen.getAllByRole('table')[0];
    expect(within(exp).getAllByRole('columnheader').map((h) => h.textContent)).toContain('Author');
    expect(within(exp).getAllByRole('row')[1].textContent).toContain('ada');
  });
});
