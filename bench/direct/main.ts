import { startDirectService } from './direct-service.js';

const service = await startDirectService(Number(process.env.PORT ?? 0));
console.log(`direct service at ${service.url}`);
process.once('SIGTERM', () => void service.close().then(() => process.exit(0)));
