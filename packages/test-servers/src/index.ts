/**
 * Throwaway PostgreSQL and Redis servers for integration tests (loopback, free port, temporary
 * data folder, stopped after). Test code only: no library or app source imports this package.
 */
export {
  postgresBinDir,
  postgresUnavailable,
  redisUnavailable,
  freePort,
  startPostgres,
  startRedis,
  type PostgresServer,
  type StartPostgresOptions,
  type RedisServer,
  type StartRedisOptions,
} from './servers';
