import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

/**
 * JSON logs (pino). Secrets never reach them: the redaction list covers every place a secret could sit
 * in what we log, and the code never logs request variables, bodies of token calls or headers whole.
 */
export type { Logger } from 'pino';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-fh-auth-user"]',
  'req.headers["router-authorization"]',
  'headers.authorization',
  'headers["x-fh-auth-user"]',
  'headers["router-authorization"]',
  '*.routerSecret',
  '*.authorization',
  '*.password',
  '*.userPassword',
  '*.clientSecret',
  '*.client_secret',
  '*.apiKey',
  '*.accessToken',
  '*.access_token',
  '*.token',
  '*.secret',
  'variables',
];

export interface LoggerOptions {
  level?: string;
  /** Where lines go (tests capture them); stdout by default. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'fleetgraph' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

/** A logger that writes nothing (library use, most tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
