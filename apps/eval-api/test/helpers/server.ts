/** Starts the real server on a free loopback port with quiet logs, for supertest. */
import { ServerConfigSchema, startServer, type RunningServer, type ServerConfig } from '../../src/index';

export function testConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return ServerConfigSchema.parse({ port: 0, host: '127.0.0.1', logLevel: 'silent', rateLimit: 0, concurrency: 2, viewer: '/nonexistent-viewer', ...overrides });
}

export function startTestServer(overrides: Partial<ServerConfig> = {}): Promise<RunningServer> {
  return startServer(testConfig(overrides));
}
