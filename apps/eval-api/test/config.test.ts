import { describe, expect, it } from 'vitest';
import { ConfigError } from '@mrlseg/types';
import { parseServerArgs } from '../src/index';

describe('parseServerArgs', () => {
  it('reads every flag', () => {
    const cfg = parseServerArgs(['--port', '9000', '--store', 's', '--model', 'm.onnx', '--max-upload-mb', '5', '--rate-limit', '0', '--cors', 'http://a.example', '--concurrency', '3'], {});
    expect(cfg).toMatchObject({ port: 9000, store: 's', model: 'm.onnx', maxUploadMb: 5, rateLimit: 0, cors: 'http://a.example', concurrency: 3, host: '127.0.0.1' });
  });

  it.each([
    [[], {}, 8080],
    [[], { PORT: '7001' }, 7001],
    [['--port', '7002'], { PORT: '7001' }, 7002],
  ])('port from %j with env %j is %i (PORT honoured, --port wins)', (argv, env, port) => {
    const cfg = parseServerArgs(argv as string[], env);
    expect(cfg !== 'help' && cfg.port).toBe(port);
  });

  it('defaults: 20 MB uploads, CORS off, a generous rate limit', () => {
    const cfg = parseServerArgs([], {});
    expect(cfg).toMatchObject({ maxUploadMb: 20, rateLimit: 1200 });
    expect(cfg !== 'help' && cfg.cors).toBeUndefined();
  });

  it.each([
    [['--port', '70000'], /port/],
    [['--port', 'abc'], /port/],
    [['--max-upload-mb', '0'], /maxUploadMb/],
    [['--concurrency', '0'], /concurrency/],
    [['--log-level', 'loud'], /logLevel/],
  ])('%j -> ConfigError naming the field', (argv, field) => {
    expect(() => parseServerArgs(argv, {})).toThrow(ConfigError);
    expect(() => parseServerArgs(argv, {})).toThrow(field);
  });

  it('rejects unknown flags and accepts --help', () => {
    expect(() => parseServerArgs(['--frobnicate'], {})).toThrow(/frobnicate/);
    expect(parseServerArgs(['--help'], {})).toBe('help');
  });
});
