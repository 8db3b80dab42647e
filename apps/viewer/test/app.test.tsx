import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GreyImage } from '../src/lib/overlay';
import { App } from '../src/App';
import { EXPERIMENT, makeCase, makeEpoch, makeRun } from './fixtures';

// Decoding PNGs needs a real canvas; the API's images are replaced by 2 x 2 arrays in which pixel 0
// is prediction only, 1 ground truth only, 2 overlap and 3 masked by the agent.
vi.mock('../src/lib/png', async (orig) => {
  const real = await orig<typeof import('../src/lib/png')>();
  const g = (values: number[]): GreyImage => ({ width: 2, height: 2, data: Uint8ClampedArray.from(values) });
  return {
    ...real,
    decodeToGrey: vi.fn(async (_data: unknown, what: string) => {
      if (what.startsWith('image.png')) return g([10, 20, 30, 40]);
      if (what.startsWith('prediction.png')) return g([255, 0, 255, 0]);
      if (what.startsWith('groundTruth.png')) return g([0, 255, 255, 0]);
      if (what.startsWith('actions.png')) return g([0, 0, 0, 255]);
      return g([0, 128, 255, 64]); // an uploaded file
    }),
  };
});
vi.mock('../src/lib/onnx', () => ({
  loadModel: vi.fn(async () => ({ session: { release: async () => {} }, inputName: 'image', layout: 'NHWC', width: 2, height: 2, probabilitiesName: 'probabilities', actionsName: 'actions', loadMs: 12 })),
  segmentInBrowser: vi.fn(async () => ({
    input: { width: 2, height: 2, data: Uint8ClampedArray.from([0, 128, 255, 64]) },
    mask: { width: 2, height: 2, data: Uint8ClampedArray.from([255, 0, 255, 0]) },
    actions: { width: 2, height: 2, data: Uint8ClampedArray.from([0, 0, 0, 255]) },
    foregroundPixels: 2,
    inferenceMs: 3,
  })),
}));

// Summaries as the store computes them from CASES below: r-only Dice (0.5+0.6+0.7+0.8)/4, HD (5+6+3+3)/4;
// r-ours Dice (0.6+0.7+0.8+0.9)/4, HD (4+4+2+2)/4, masked (0.5+0.25+0.125+0)/4.
const only = makeRun('r-only', 'onlyseg', { summary: { cases: 4, meanDice: 0.65, diceCases: 4, meanHd: 4.25, hdCases: 4, maskedFraction: null, maskedCases: 0 } });
const ours = makeRun('r-ours', 'rl-fb-adp-seg', { durationMs: 3_723_000, summary: { cases: 4, meanDice: 0.75, diceCases: 4, meanHd: 3, hdCases: 4, maskedFraction: 0.21875, maskedCases: 4 } });
const failed = makeRun('r-fail', 'rl-seg', { status: 'failed', durationMs: null, error: 'out of memory' });
const ids = ['a', 'b', 'c', 'd'];
const fb = [0.01, 0.01, 0.03, 0.03];
const CASES: Record<string, ReturnType<typeof makeCase>[]> = {
  'r-only': ids.map((id, i) => ({ ...makeCase('r-only', id, fb[i], [0.5, 0.6, 0.7, 0.8][i], [5, 6, 3, 3][i]), interval: i < 2 ? '0-2%' : '2-4%' })),
  'r-ours': ids.map((id, i) => ({
    ...makeCase('r-ours', id, fb[i], [0.6, 0.7, 0.8, 0.9][i], [4, 4, 2, 2][i], { maskedFraction: [0.5, 0.25, 0.125, 0][i], lesionMaskedFraction: [null, 1, 0.5, 0][i] }),
    interval: i < 2 ? '0-2%' : '2-4%',
  })),
  'r-fail': [],
};

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
let requests: string[] = [];
let failWith: { status: number; body: unknown } | null = null;

/** A stand-in for the eval API: the same routes and JSON shapes ({ items }, pages, { error }). */
async function mockFetch(input: string | URL | Request): Promise<Response> {
  const url = new URL(String(input), 'http://viewer.test');
  requests.push(url.pathname + url.search);
  if (failWith) return json(failWith.body, failWith.status);
  const p = url.pathname;
  if (p === '/api/v1/experiments') return json({ items: [EXPERIMENT] });
  if (p === '/api/v1/runs') return json({ items: [only, ours, failed] });
  let m = /^\/api\/v1\/runs\/([^/]+)\/cases$/.exec(p);
  if (m) {
    const q = url.searchParams;
    const key = (q.get('sort') ?? 'caseId') as 'caseId' | 'dice';
    const sign = q.get('order') === 'desc' ? -1 : 1;
    let items = [...(CASES[decodeURIComponent(m[1])] ?? [])].filter((c) => !q.get('interval') || c.interval === q.get('interval'));
    items.sort((a, b) => sign * (key === 'caseId' ? a.caseId.localeCompare(b.caseId) : (a[key] ?? 0) - (b[key] ?? 0)));
    const page = Number(q.get('page') ?? 1);
    const size = Number(q.get('pageSize') ?? 50);
    const total = items.length;
    items = items.slice((page - 1) * size, page * size);
    return json({ items, total, page, pageSize: size });
  }
  m = /^\/api\/v1\/runs\/([^/]+)\/epochs$/.exec(p);
  if (m) return json({ items: [makeEpoch(m[1], 'pretrain', 0, 0.9, 0.3), makeEpoch(m[1], 'pretrain', 1, 0.6, 0.5), { ...makeEpoch(m[1], 'rl', 0, 1.2, null, 0.01), stats: { maskedLesion: 0, maskedDistractor: 0.2, maskedOther: 0.5, entropy: 0.6, gradientCosine: 0.9, advantageMean: -3, advantageStd: 40 } }, { ...makeEpoch(m[1], 'rl', 1, 1.0, 0.55, 0.05), stats: { maskedLesion: 0.01, maskedDistractor: 0.6, maskedOther: null, entropy: 0.5, gradientCosine: null, advantageMean: -2, advantageStd: 30 } }] });
  if (/\/cases\/[^/]+\/\w+\.png$/.test(p)) return new Response(new Uint8Array([137, 80, 78, 71]), { status: 200, headers: { 'Content-Type': 'image/png' } });
  if (p.endsWith('/model.onnx')) return new Response(new Uint8Array([8, 1]), { status: 200 });
  return json({ error: { status: 404, code: 'not_found', message: `no route ${p}` } }, 404);
}

function open(search: string) {
  window.history.replaceState(null, '', `/${search}`);
  return render(<App />);
}

beforeEach(() => {
  requests = [];
  failWith = null;
  vi.stubGlobal('fetch', vi.fn(mockFetch));
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('runs list', () => {
  it('shows a loading state, then each run with its mean Dice, HD and masked fraction first, best Dice on top', async () => {
    open('');
    expect(screen.getByRole('status').textContent).toMatch(/Loading experiments and runs/);
    const table = await screen.findByRole('table', { name: 'runs' });
    const rows = () => within(table).getAllByRole('row').slice(1);
    expect(rows().map((r) => within(r).getAllByRole('cell').slice(1, 11).map((c) => c.textContent))).toEqual([
      ['RL+FB+ADP+Seg', '0.7500 n=4', '3.00 n=4', '21.9% n=4', 'completed', 'synthetic', '0', '1', 'wasm', '1 h 2 min'],
      ['OnlySeg', '0.6500 n=4', '4.25 n=4', '–', 'completed', 'synthetic', '0', '1', 'wasm', '1 min 5 s'],
      ['RL+Seg', '–', '–', '–', 'failed', 'synthetic', '0', '1', 'wasm', '–'],
    ]);
    const variants = () => rows().map((r) => within(r).getAllByRole('cell')[1].textContent);
    fireEvent.click(within(table).getByRole('button', { name: /Dice/ }));
    expect(variants()).toEqual(['OnlySeg', 'RL+FB+ADP+Seg', 'RL+Seg']); // ascending; no result stays last
    fireEvent.click(within(table).getByRole('button', { name: /HD/ }));
    expect(variants()).toEqual(['RL+FB+ADP+Seg', 'OnlySeg', 'RL+Seg']); // smallest HD first
    fireEvent.click(within(table).getByRole('button', { name: /Masked/ }));
    expect(variants()).toEqual(['RL+FB+ADP+Seg', 'OnlySeg', 'RL+Seg']);
  });

  it("opens Cases and Training on the latest experiment's best run (Try it shares that choice), and Compare on all its runs", async () => {
    open('?view=cases');
    const canvas = await screen.findByTestId('case-canvas');
    expect(canvas).toBeTruthy();
    expect((screen.getByLabelText('run') as HTMLSelectElement).value).toBe('r-ours');
    expect(screen.getByRole('heading', { name: /^Case a patient a/ })).toBeTruthy(); // the first case of the page
    cleanup();
    open('?view=curves');
    expect(await screen.findByRole('img', { name: 'Training loss per epoch' })).toBeTruthy();
    expect(requests).toContain('/api/v1/runs/r-ours/epochs');
    cleanup();
    open('?view=compare');
    const cmp = await screen.findByRole('table', { name: 'run comparison' });
    expect(within(cmp).getAllByRole('columnheader').map((h) => h.textContent)).toEqual(['', 'OnlySeg · fold 0 · seed 1', 'RL+FB+ADP+Seg · fold 0 · seed 1', 'RL+Seg · fold 0 · seed 1']);
  });

  it('asks for no action mask for a run without an agent (nothing to 404)', async () => {
    open('?view=cases&run=r-only');
    await screen.findByTestId('case-canvas');
    expect(requests.filter((r) => r.startsWith('/api/v1/runs/r-only/cases/a/'))).toEqual(['/api/v1/runs/r-only/cases/a/image.png', '/api/v1/runs/r-only/cases/a/prediction.png', '/api/v1/runs/r-only/cases/a/groundTruth.png']);
  });

  it('shows the API error message when the API fails', async () => {
    failWith = { status: 500, body: { error: { status: 500, code: 'internal', message: 'store is locked' } } };
    open('?view=runs');
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Could not load experiments and runs.');
    expect(alert.textContent).toContain('/api/v1/experiments: HTTP 500 - store is locked');
  });

  it('selects runs to compare and opens the comparison with them in the URL', async () => {
    open('?view=runs');
    fireEvent.click(await screen.findByLabelText('compare r-only'));
    fireEvent.click(screen.getByLabelText('compare r-ours'));
    fireEvent.click(screen.getByRole('button', { name: /Compare 2 selected/ }));
    expect(window.location.search).toBe('?view=compare&compare=r-only%2Cr-ours');
    const cmp = await screen.findByRole('table', { name: 'run comparison' });
    expect(within(cmp).getAllByRole('columnheader').map((h) => h.textContent)).toEqual(['', 'OnlySeg · fold 0 · seed 1', 'RL+FB+ADP+Seg · fold 0 · seed 1']);
    const dice = await screen.findByRole('table', { name: /Dice/ });
    expect(within(dice).getAllByRole('row')[2].textContent).toContain('85.00±7.07*'); // tested against the first run
  });
});

describe('tables view', () => {
  it('shows Dice per interval with asterisks, completed runs only, sortable', async () => {
    open('?view=tables&exp=exp1');
    const table = await screen.findByRole('table', { name: /Dice \(%\)/ });
    const body = () => within(table).getAllByRole('row').slice(1);
    expect(body().map((r) => within(r).getByRole('rowheader').textContent)).toEqual(['OnlySeg', 'RL+FB+ADP+Seg']);
    expect(within(body()[0]).getAllByRole('cell')[0].textContent).toBe('55.00±7.07*');
    expect(within(body()[1]).getAllByRole('cell')[5].className).toBe('best');
    fireEvent.click(within(table).getByRole('button', { name: /Avg/ }));
    expect(body().map((r) => within(r).getByRole('rowheader').textContent)).toEqual(['RL+FB+ADP+Seg', 'OnlySeg']);
    expect(screen.getByRole('table', { name: 'ablation' })).toBeTruthy();
    expect(screen.getAllByTestId('scatter-point')).toHaveLength(8);
    expect(screen.getAllByTestId('bar').length).toBe(12); // Dice and HD charts x 2 variants x (2 filled intervals + Avg)
    expect(requests.filter((r) => r.startsWith('/api/v1/runs/r-fail/cases'))).toEqual([]);
  });
});

describe('case browser', () => {
  it('opens the case of the URL with its three overlays, and moves with the keyboard', async () => {
    open('?view=cases&exp=exp1&run=r-ours&sort=dice&order=desc&case=c');
    const canvas = await screen.findByTestId('case-canvas');
    expect([canvas.dataset.predictionOnly, canvas.dataset.groundTruthOnly, canvas.dataset.overlap]).toEqual(['1', '1', '1']);
    expect(screen.getByRole('heading', { name: /^Case c patient c/ })).toBeTruthy();
    expect(screen.getByTestId('represented-canvas')).toBeTruthy();
    expect(screen.getByText('Masked by agent').nextElementSibling?.textContent).toBe('12.50% of pixels · 50.00% of lesion pixels');
    // sorted by Dice descending: d (0.9), c (0.8), b, a
    await act(async () => {
      fireEvent.keyDown(window, { key: 'ArrowRight' });
    });
    await waitFor(() => expect(new URLSearchParams(window.location.search).get('case')).toBe('b'));
    for (const expected of ['c', 'd']) {
      await act(async () => {
        fireEvent.keyDown(window, { key: 'k' });
      });
      await waitFor(() => expect(new URLSearchParams(window.location.search).get('case')).toBe(expected));
    }
  });

  it('filters by interval through the API and keeps the filter in the URL', async () => {
    open('?view=cases&exp=exp1&run=r-ours');
    const select = await screen.findByLabelText('interval filter');
    fireEvent.change(select, { target: { value: '2-4%' } });
    await waitFor(() => expect(requests).toContain('/api/v1/runs/r-ours/cases?page=1&pageSize=25&sort=caseId&order=asc&interval=2-4%25'));
    const table = await screen.findByRole('table', { name: 'cases' });
    await waitFor(() => expect(within(table).getAllByRole('rowheader').map((h) => h.textContent)).toEqual(['c', 'd']));
    expect(new URLSearchParams(window.location.search).get('interval')).toBe('2-4%');
  });

  it('toggles a layer off, and the setting stays when moving to the next case', async () => {
    open('?view=cases&exp=exp1&run=r-ours&case=a');
    const box = async () => (await screen.findByText('Prediction')).closest('label')!.querySelector('input')!;
    expect((await box()).checked).toBe(true);
    fireEvent.click(await box());
    expect((await box()).checked).toBe(false);
    await act(async () => {
      fireEvent.keyDown(window, { key: 'j' });
    });
    await screen.findByRole('heading', { name: /^Case b/ });
    await waitFor(async () => expect((await box()).checked).toBe(false));
  });

  it('says so when the run of the link does not exist', async () => {
    open('?view=cases&run=nope');
    expect((await screen.findByRole('alert')).textContent).toContain('Run nope is not in this store.');
  });
});

describe('training curves', () => {
  it('plots loss, reward and validation Dice per epoch, one line per phase', async () => {
    open('?view=curves&exp=exp1&run=r-ours');
    await screen.findByRole('img', { name: 'Training loss per epoch' });
    expect(within(screen.getByRole('img', { name: 'Training loss per epoch' })).getAllByTestId('line-series')).toHaveLength(2);
    expect(within(screen.getByRole('img', { name: 'Mean RL reward per epoch' })).getAllByTestId('line-series')).toHaveLength(1);
    expect(within(screen.getByRole('img', { name: 'Validation Dice per epoch' })).getAllByTestId('line-series')).toHaveLength(2);
  });

  it("plots the agent's instruments per RL epoch (issue 15), skipping missing values", async () => {
    const { agentSeries, AGENT_CHARTS } = await import('../src/components/CurvesView');
    open('?view=curves&exp=exp1&run=r-ours');
    const chart = await screen.findByRole('img', { name: 'What the greedy policy masks per RL epoch' });
    expect(within(chart).getAllByTestId('line-series')).toHaveLength(3);
    const epochs = [
      { ...makeEpoch('r', 'rl', 0, 1, null), stats: { maskedLesion: 0, maskedDistractor: 0.2, maskedOther: 0.5 } },
      { ...makeEpoch('r', 'rl', 1, 1, null), stats: { maskedLesion: 0.01, maskedDistractor: 0.6, maskedOther: null, maskLabelShare: 0.4 } },
      makeEpoch('r', 'pretrain', 0, 1, null),
    ];
    const series = agentSeries(epochs, AGENT_CHARTS[0].keys);
    expect(series.map((x) => x.points)).toEqual([
      [{ x: 1, y: 0 }, { x: 2, y: 1 }],
      [{ x: 1, y: 20 }, { x: 2, y: 60 }],
      [{ x: 1, y: 50 }],
      [{ x: 2, y: 40 }],
    ]);
  });
});

describe('try it', () => {
  it('segments an upload in the browser and shows the mask and the action mask', async () => {
    open('?view=try&exp=exp1&run=r-ours');
    const input = await screen.findByLabelText('image to segment');
    fireEvent.change(input, { target: { files: [new File([new Uint8Array([1])], 'slice.png', { type: 'image/png' })] } });
    const result = await screen.findByTestId('try-result');
    expect(result.dataset.foreground).toBe('2');
    expect(screen.getByTestId('try-mask')).toBeTruthy();
    expect(screen.getByTestId('try-actions')).toBeTruthy();
    expect(result.textContent).toContain('(model loaded in 12 ms)');
    expect(result.textContent).toContain('The agent masked 1 pixels.');
    expect(requests).toContain('/api/v1/runs/r-ours/model.onnx');
    expect(requests.some((r) => r.includes('segment'))).toBe(false);
  });
});

describe('API token', () => {
  afterEach(() => sessionStorage.clear());

  it('asks for a token once the API answers 401, keeps it for the session and sends it on every request', async () => {
    const seen: [string, string | null][] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn(async (input: string, init?: RequestInit) => {
        const auth = new Headers(init?.headers).get('Authorization');
        seen.push([String(input), auth]);
        if (auth !== 'Bearer good') return json({ error: { status: 401, code: 'unauthorized', message: 'this API requires a bearer token' } }, 401);
        return mockFetch(input);
      }),
    );
    open('?view=tables&exp=exp1');
    const form = await screen.findByRole('form', { name: 'API token' });
    expect(within(form).queryByRole('alert')).toBeNull();
    fireEvent.change(within(form).getByLabelText('token'), { target: { value: 'bad' } });
    fireEvent.submit(form);
    expect((await screen.findByRole('alert')).textContent).toMatch(/refused/);
    expect(sessionStorage.getItem('mrlseg.apiToken')).toBeNull();
    const from = seen.length;
    fireEvent.change(screen.getByLabelText('token'), { target: { value: ' good ' } });
    fireEvent.submit(screen.getByRole('form', { name: 'API token' }));
    await screen.findByRole('table', { name: /Dice \(%\)/ });
    expect(sessionStorage.getItem('mrlseg.apiToken')).toBe('good');
    expect(seen.slice(from).length).toBeGreaterThan(2);
    expect(seen.slice(from).filter(([, a]) => a !== 'Bearer good')).toEqual([]);

    // A new page in the same session: no prompt, the case images are fetched with the token too.
    cleanup();
    const before = seen.length;
    open('?view=cases&exp=exp1&run=r-ours&case=a');
    await waitFor(() => expect(seen.slice(before).some(([u]) => u.endsWith('/cases/a/image.png'))).toBe(true));
    expect(screen.queryByRole('form', { name: 'API token' })).toBeNull();
    expect(seen.slice(before).filter(([, a]) => a !== 'Bearer good')).toEqual([]);
  });
});
